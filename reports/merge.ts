// `archbench merge DIR... --out DIR`: join shard directories into one run. Records are de-duplicated by
// unit (suite|arch|seed: the first directory that holds a unit wins, a differing duplicate is reported),
// put back in the unsharded run's unit order, and the manifests are merged (shards listed). Shards of
// different presets or commits, or with a torn records file, are refused (exit 2) before anything is written.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../harness/errors.ts';
import { prepareDir, readManifest, readRecordsStrict, unitKey, writeCsv, writeFileAtomic, writeJsonAtomic, type Manifest, type ResultRecord } from '../harness/store.ts';
import { metricInfo } from './metrics.ts';

export interface MergeResult {
  out: string;
  units: number;
  records: number;
  duplicates: string[];
  conflicts: string[];
  warnings: string[];
}

/** Fields that legitimately differ between two runs of the same unit. */
export const TIMING_FIELDS = ['elapsed_s', 'time'] as const;

/**
 * Measurements whose values vary between two runs of the same unit: times, rates, process RSS, and the
 * harness's process-wide peaks per unit (peak_tensor_bytes counts whatever else the process holds).
 */
export function isTimingMeasurement(r: Pick<ResultRecord, 'suite' | 'metric' | 'unit'>): boolean {
  const kind = metricInfo(r.suite, r.metric, r.unit).kind;
  return kind === 'latency' || kind === 'throughput' || kind === 'bookkeeping' || /(^|_)rss(_|$)/.test(r.metric) || r.metric === 'peak_tensor_bytes';
}

const union = <T>(lists: (T[] | undefined)[]): T[] => [...new Set(lists.flatMap((l) => l ?? []))];

export function mergeRuns(dirs: string[], out: string): MergeResult {
  if (!dirs.length) throw new UsageError('merge needs at least one run directory');
  const outAbs = resolve(out);
  for (const d of dirs) {
    if (!existsSync(join(d, 'records.jsonl')) && !existsSync(join(d, 'manifest.json'))) throw new UsageError(`'${d}' is not a run directory (no records.jsonl or manifest.json)`);
    if (resolve(d) === outAbs) throw new UsageError(`--out '${out}' is one of the inputs; merge into a new directory`);
  }
  if (existsSync(join(out, 'records.jsonl'))) throw new UsageError(`--out '${out}' already holds records; merge into a new directory`);
  const manifests = dirs.map((d) => readManifest(d, 'shard'));
  const presets = [...new Set(manifests.map((m) => m?.preset?.name).filter(Boolean))];
  const recordsByDir = dirs.map((d) => (existsSync(join(d, 'records.jsonl')) ? readRecordsStrict(d, 'shard') : []));
  const recordPresets = [...new Set(recordsByDir.flat().map((r) => r.preset))];
  const allPresets = [...new Set([...presets, ...recordPresets])];
  if (allPresets.length > 1) throw new UsageError(`cannot merge runs of different presets: ${allPresets.join(', ')}`);
  const shas = [...new Set(manifests.map((m) => m?.git_sha).filter(Boolean))];
  if (shas.length > 1) throw new UsageError(`cannot merge runs of different commits: ${shas.join(', ')}`);
  prepareDir('--out', out);
  const warnings: string[] = [];
  const backends = [...new Set(recordsByDir.flat().map((r) => r.backend))];
  if (backends.length > 1) warnings.push(`shards ran different backends: ${backends.join(', ')}`);

  // Units: first directory wins; a duplicate that differs beyond timing is a conflict.
  const units = new Map<string, { dir: string; records: ResultRecord[] }>();
  const duplicates: string[] = [];
  const conflicts: string[] = [];
  const strip = (rs: ResultRecord[]) => JSON.stringify(rs.map((r) => {
    const c: Record<string, unknown> = { ...r };
    for (const f of TIMING_FIELDS) delete c[f];
    if (isTimingMeasurement(r)) delete c.value, delete c.ci95;
    return c;
  }));
  dirs.forEach((dir, i) => {
    const byUnit = new Map<string, ResultRecord[]>();
    for (const r of recordsByDir[i]!) byUnit.set(unitKey(r), [...(byUnit.get(unitKey(r)) ?? []), r]);
    for (const [k, rs] of byUnit) {
      const have = units.get(k);
      if (!have) {
        units.set(k, { dir, records: rs });
        continue;
      }
      duplicates.push(`${k} (in ${have.dir} and ${dir}; kept ${have.dir})`);
      if (strip(have.records) !== strip(rs)) conflicts.push(`${k}: ${have.dir} and ${dir} differ beyond timing fields`);
    }
  });

  // Unit order: the unsharded run's (suites x archs x seeds from the manifests), then anything else.
  const suites = union<string>(manifests.map((m) => m?.config?.suites));
  const archs = union<string>(manifests.map((m) => m?.config?.archs));
  const seeds = union<number>(manifests.map((m) => m?.seeds)).sort((a, b) => a - b);
  const planned: string[] = [];
  for (const suite of suites) for (const arch of archs) for (const seed of seeds) planned.push(unitKey({ suite, arch, seed }));
  const rank = new Map(planned.map((k, i) => [k, i]));
  const keys = [...units.keys()];
  const firstSeen = new Map(keys.map((k, i) => [k, i]));
  keys.sort((a, b) => (rank.get(a) ?? planned.length + firstSeen.get(a)!) - (rank.get(b) ?? planned.length + firstSeen.get(b)!));
  const records = keys.flatMap((k) => units.get(k)!.records);
  const missing = planned.filter((k) => !units.has(k));
  if (missing.length) warnings.push(`${missing.length} planned unit(s) absent from every shard: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}`);

  writeFileAtomic(join(out, 'records.jsonl'), records.map((r) => JSON.stringify(r)).join('\n') + (records.length ? '\n' : ''));
  writeCsv(out, records);

  const first = manifests.find(Boolean) ?? {};
  const starts = manifests.map((m) => m?.start_time).filter(Boolean).sort();
  const ends = manifests.map((m) => m?.end_time);
  const manifest: Manifest = {
    ...first,
    command: `merge ${dirs.join(' ')} --out ${out}`,
    config: { ...(first.config ?? {}), suites, archs, shard: null, units: units.size },
    seeds,
    backend: backends.length === 1 ? backends[0] : first.backend,
    backends,
    start_time: starts[0] ?? null,
    end_time: ends.every(Boolean) ? ends.sort().at(-1) : null,
    merged_from: dirs.map((d, i) => {
      const m = manifests[i];
      return {
        dir: d, shard: m?.config?.shard ?? null, command: m?.command ?? null, units: new Set(recordsByDir[i]!.map(unitKey)).size, git_sha: m?.git_sha ?? null,
        backend: m?.backend ?? null, machine: m?.machine ?? null, start_time: m?.start_time ?? null, end_time: m?.end_time ?? null,
      };
    }),
    merge_warnings: [...warnings, ...conflicts],
  };
  writeJsonAtomic(join(out, 'manifest.json'), manifest);
  return { out, units: units.size, records: records.length, duplicates, conflicts, warnings };
}

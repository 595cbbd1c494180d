// Runs units (suite x architecture x seed) into a run directory, skipping units already recorded.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { getArchitecture } from '../architectures/index.ts';
import { getSuite } from '../suites/index.ts';
import type { SuiteContext } from '../suites/interface.ts';
import { currentBackend } from '../harness/backend.ts';
import { adapterLabel } from '../harness/webgpu.ts';
import { ModelCache } from '../harness/cache.ts';
import { loadCorpus } from '../harness/data/corpus.ts';
import { gitSha } from '../harness/hash.ts';
import { PeakMeter, machineInfo } from '../harness/measure.ts';
import { DivergedError, corpusStream, matchedConfig, trainedModel, type TrainedModel } from '../harness/models.ts';
import { PRESETS } from '../harness/presets.ts';
import { log } from '../harness/progress.ts';
import { RECORDS_SCHEMA, RunStore, writeJsonAtomic, type ResultRecord } from '../harness/store.ts';

export interface RunOptions {
  suites: string[];
  archs: string[];
  preset: string;
  seeds: number;
  out: string;
  corpus: string;
  cacheDir: string;
  match: 'params' | 'none';
  shard?: { index: number; count: number };
  command: string;
}

export interface Unit {
  suite: string;
  arch: string;
  seed: number;
}

/** All units in a fixed order; a shard i/n takes every n-th one starting at i-1. */
export function planUnits(o: Pick<RunOptions, 'suites' | 'archs' | 'seeds' | 'shard'>): Unit[] {
  const all: Unit[] = [];
  for (const suite of o.suites) for (const arch of o.archs) for (let seed = 0; seed < o.seeds; seed++) all.push({ suite, arch, seed });
  return o.shard ? all.filter((_, i) => i % o.shard!.count === o.shard!.index - 1) : all;
}

async function writeManifest(store: RunStore, o: RunOptions, units: Unit[]): Promise<void> {
  const path = join(store.dir, 'manifest.json');
  const previous = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>) : null;
  const backend = currentBackend();
  const manifest = {
    ...(previous ?? {}),
    schema: RECORDS_SCHEMA,
    command: o.command,
    config: { suites: o.suites, archs: o.archs, match: o.match, corpus: o.corpus, shard: o.shard ?? null, units: units.length },
    preset: PRESETS[o.preset],
    suite_settings: Object.fromEntries(o.suites.map((n) => [n, getSuite(n)!.settings?.[o.preset] ?? {}])),
    seeds: Array.from({ length: o.seeds }, (_, i) => i),
    git_sha: gitSha(),
    versions: { node: process.version, tfjs: tf.version.tfjs },
    backend: backend.name,
    backend_provider: backend.provider,
    backend_passed_over: backend.skipped,
    adapter: backend.adapter ?? null,
    machine: await machineInfo(),
    start_time: (previous?.start_time as string | undefined) ?? new Date().toISOString(),
    resumed: previous ? [...((previous.resumed as string[] | undefined) ?? []), new Date().toISOString()] : [],
    end_time: null as string | null,
  };
  writeJsonAtomic(path, manifest);
}

function finishManifest(store: RunStore): void {
  const path = join(store.dir, 'manifest.json');
  const m = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  writeJsonAtomic(path, { ...m, end_time: new Date().toISOString() });
}

export async function run(o: RunOptions): Promise<{ ran: number; skipped: number; records: ResultRecord[] }> {
  const preset = PRESETS[o.preset]!;
  const corpus = loadCorpus(o.corpus);
  const cache = new ModelCache(o.cacheDir);
  const store = new RunStore(o.out);
  const units = planUnits(o);
  await writeManifest(store, o, units);
  const backend = currentBackend().name;
  const adapter = currentBackend().adapter;
  let ran = 0, skipped = 0;
  for (const unit of units) {
    if (store.isDone(unit)) {
      skipped++;
      continue;
    }
    log(`unit ${unit.suite} / ${unit.arch} / seed ${unit.seed}`);
    const spec = getArchitecture(unit.arch)!;
    const matched = matchedConfig(spec, preset, o.match);
    const meter = new PeakMeter();
    let text: Promise<TrainedModel> | undefined;
    const ctx: SuiteContext = {
      preset, seed: unit.seed, spec, matched, corpus, cache, meter,
      textModel: () => (text ??= trainedModel(cache, {
        spec, config: matched.config, seed: unit.seed, stream: corpusStream(corpus), train: preset.train, purpose: 'text', meter,
      })),
    };
    const t0 = performance.now();
    let measurements;
    try {
      measurements = await getSuite(unit.suite)!.run(ctx);
    } catch (e) {
      if (!(e instanceof DivergedError)) throw e;
      measurements = [{ metric: 'diverged', value: e.step, unit: 'step', flag: 'diverged', note: e.message }];
    } finally {
      if (text) await text.then((t) => t.model.params.dispose(), () => undefined);
    }
    meter.sample();
    const elapsed = (performance.now() - t0) / 1000;
    const common = { suite: unit.suite, arch: unit.arch, seed: unit.seed, preset: o.preset, params: matched.nonEmbedding, backend,
      ...(adapter ? { adapter: adapterLabel(adapter) } : {}), elapsed_s: +elapsed.toFixed(3) };
    const time = new Date().toISOString();
    const unitRecords: ResultRecord[] = [
      ...measurements.map((m) => ({ ...common, ...m, dims: m.dims ?? {}, ci95: m.ci95 ?? null, time })),
      { ...common, metric: 'nonembedding_params', value: matched.nonEmbedding, unit: 'count', dims: { target: matched.target, matched_by: matched.matchedBy }, ci95: null, time },
      { ...common, metric: 'wall_time', value: elapsed, unit: 's', dims: {}, ci95: null, time },
      { ...common, metric: 'peak_tensor_bytes', value: meter.tensorBytes, unit: 'bytes', dims: {}, ci95: null, time },
      { ...common, metric: 'peak_rss_bytes', value: meter.rssBytes, unit: 'bytes', dims: {}, ci95: null, time },
    ];
    store.appendUnit(unitRecords);
    ran++;
  }
  finishManifest(store);
  return { ran, skipped, records: store.records };
}

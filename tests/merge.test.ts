// `archbench merge`: shard 1/2 + shard 2/2, merged, give the same records as the unsharded run, up to
// the timing fields (elapsed_s, time, and the values of time / rate / process-RSS measurements, which
// no two runs share); duplicates are de-duplicated by unit; bad input exits 2 with nothing written.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readRecords, type ResultRecord } from '../harness/store.ts';
import { canonicalJson } from '../harness/hash.ts';
import { TIMING_FIELDS, isTimingMeasurement } from '../reports/merge.ts';
import { cli, tempDir, useBackend } from './helpers.ts';
import { syntheticManifest, syntheticRecords, writeRun } from './report-fixtures.ts';

beforeAll(async () => {
  await useBackend();
});

/** A record without its timing fields, as canonical JSON (timing measurements keep all but their value). */
function comparable(r: ResultRecord): string {
  const c: Record<string, unknown> = { ...r };
  for (const f of TIMING_FIELDS) delete c[f];
  if (isTimingMeasurement(r)) delete c.value, delete c.ci95;
  return canonicalJson(c);
}

describe('merge', () => {
  it('shard 1/2 + 2/2 merged equals the unsharded run (tiny preset, perplexity, 2 architectures)', async () => {
    // separate model caches, so every run trains its models (a cache hit would change what a unit measures)
    const base = ['perplexity', '--preset', 'tiny', '--arch', 'transformer,retnet', '--seeds', '1', '--backend', 'wasm'];
    const whole = tempDir(), s1 = tempDir(), s2 = tempDir(), merged = join(tempDir(), 'merged');
    expect((await cli(['run', ...base, '--cache', tempDir(), '--out', whole])).code).toBe(0);
    expect((await cli(['run', ...base, '--cache', tempDir(), '--shard', '1/2', '--out', s1])).code).toBe(0);
    expect((await cli(['run', ...base, '--cache', tempDir(), '--shard', '2/2', '--out', s2])).code).toBe(0);
    // the shards really split the work
    expect(new Set(readRecords(s1).map((r) => r.arch))).toEqual(new Set(['transformer']));
    expect(new Set(readRecords(s2).map((r) => r.arch))).toEqual(new Set(['retnet']));
    const m = await cli(['merge', s2, s1, '--out', merged, '--json']);
    expect(m.code, m.err).toBe(0);
    expect(JSON.parse(m.out)).toMatchObject({ units: 2, duplicates: [] });
    const a = readRecords(whole).map(comparable);
    const b = readRecords(merged).map(comparable);
    expect(b).toEqual(a); // same records, same order (the unsharded run's unit order)
    expect(a.length).toBe(readRecords(whole).length);
    expect(readRecords(merged).find((r) => r.metric === 'test_bpb')!.dims).toHaveProperty('seq'); // dims really compared
    expect(existsSync(join(merged, 'results.csv'))).toBe(true);
    const manifest = JSON.parse(readFileSync(join(merged, 'manifest.json'), 'utf8'));
    expect(manifest.merged_from.map((x: { shard: unknown }) => x.shard)).toEqual([{ index: 2, count: 2 }, { index: 1, count: 2 }]);
    expect(manifest.config).toMatchObject({ shard: null, units: 2, suites: ['perplexity'] });
    expect(manifest.preset.name).toBe('tiny');
    // compare: bpb identical; only timing may move (judged by its threshold, so left out here)
    const c = JSON.parse((await cli(['compare', whole, merged, '--json'])).out);
    const quality = c.comparisons.filter((x: { kind: string }) => x.kind === 'quality');
    expect(quality.length).toBeGreaterThan(0);
    expect(quality.every((x: { verdict: string; change: number }) => x.verdict === 'ok' && x.change === 0)).toBe(true);
  }, 240_000);

  it('de-duplicates units present in two directories (first wins) and reports a differing duplicate', async () => {
    const recs = syntheticRecords({ archs: ['transformer', 'retnet'], seeds: 2 });
    const a = writeRun(tempDir(), recs.filter((r) => r.seed === 0));
    const b = writeRun(tempDir(), recs); // seed 0 again, plus seed 1
    const changed = writeRun(tempDir(), recs.map((r) => (r.seed === 1 && r.metric === 'test_bpb' ? { ...r, value: r.value + 1 } : r)));
    const out = join(tempDir(), 'm');
    const m = await cli(['merge', a, b, changed, '--out', out, '--json']);
    expect(m.code).toBe(0);
    const res = JSON.parse(m.out);
    expect(res.units).toBe(new Set(recs.map((r) => `${r.suite}|${r.arch}|${r.seed}`)).size);
    expect(res.records).toBe(recs.length);
    expect(res.duplicates.length).toBeGreaterThan(0);
    expect(res.conflicts.some((c: string) => c.includes('|1') || c.includes('seed'))).toBe(true);
    expect(m.err).toContain('differ beyond timing');
  });

  it('bad input: no --out, an input that is not a run, mixed presets, an --out with records: exit 2, nothing written', async () => {
    const recs = syntheticRecords({ archs: ['transformer'], seeds: 1 });
    const a = writeRun(tempDir(), recs);
    expect((await cli(['merge', a])).code).toBe(2);
    const out1 = join(tempDir(), 'o1');
    const r1 = await cli(['merge', a, tempDir(), '--out', out1]);
    expect(r1.code).toBe(2);
    expect(r1.err).toMatch(/not a run directory/);
    expect(existsSync(out1)).toBe(false);
    const small = writeRun(tempDir(), recs.map((r) => ({ ...r, preset: 'small' })), syntheticManifest([], { preset: { name: 'small' } }));
    const out2 = join(tempDir(), 'o2');
    const r2 = await cli(['merge', a, small, '--out', out2]);
    expect(r2.code).toBe(2);
    expect(r2.err).toMatch(/different presets: tiny, small/);
    expect(existsSync(out2)).toBe(false);
    const r3 = await cli(['merge', a, '--out', a]);
    expect(r3.code).toBe(2);
  });
});

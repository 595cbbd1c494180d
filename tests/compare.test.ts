// `archbench compare BASELINE CURRENT`: an identical rerun passes (exit 0); one architecture's accuracy
// lowered beyond its interval, or one latency raised by 50%, exits 1; noise within the bands passes.
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareRuns } from '../reports/compare.ts';
import { inferMetric } from '../reports/metrics.ts';
import { cli, tempDir } from './helpers.ts';
import { syntheticRecords, writeRun } from './report-fixtures.ts';

const archs = ['transformer', 'retnet'];
const run = (o: Parameters<typeof syntheticRecords>[0] = {}) => writeRun(tempDir(), syntheticRecords({ archs, ...o }));

describe('compare', () => {
  it('an identical rerun (a copy of the run) passes with exit 0', async () => {
    const a = run();
    const b = join(tempDir(), 'copy');
    cpSync(a, b, { recursive: true });
    const r = await cli(['compare', a, b]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/0 regression\(s\)/);
  });

  it("one architecture's accuracy lowered beyond its interval: exit 1, and --json names it", async () => {
    const base = run();
    const cur = run({ accuracyScale: { retnet: 0.6 } });
    const r = await cli(['compare', base, cur]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/REGRESSION\s+needle\s+accuracy \(fraction\)\s+retnet/);
    const j = await cli(['compare', base, cur, '--json']);
    expect(j.code).toBe(1);
    const res = JSON.parse(j.out);
    expect(res.regression).toBe(true);
    const regs = res.comparisons.filter((c: { verdict: string }) => c.verdict === 'regression');
    expect(regs.length).toBeGreaterThan(0);
    expect(regs.every((c: { arch: string; metric: string; kind: string }) => c.arch === 'retnet' && c.metric === 'accuracy' && c.kind === 'quality')).toBe(true);
  });

  it('accuracy lowered within its interval is noise: exit 0', async () => {
    const r = await cli(['compare', run(), run({ accuracyScale: { retnet: 0.97 } })]);
    expect(r.code).toBe(0);
  });

  it('one latency raised by 50%: exit 1; by 5%: exit 0; --threshold 60% lets 50% pass', async () => {
    const base = run();
    const slow = run({ latencyScale: { transformer: 1.5 } });
    const r = await cli(['compare', base, slow]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/REGRESSION\s+efficiency\s+decode_latency \(s\)\s+transformer/);
    expect(r.out).toContain('+50%');
    expect((await cli(['compare', base, run({ latencyScale: { transformer: 1.05 } })])).code).toBe(0);
    expect((await cli(['compare', base, slow, '--threshold', '60%'])).code).toBe(0);
    // faster is an improvement, never a failure
    const fast = await cli(['compare', base, run({ latencyScale: { transformer: 0.5 } }), '--json']);
    expect(fast.code).toBe(0);
    expect(JSON.parse(fast.out).improvements).toBeGreaterThan(0);
  });

  it('one seed, no interval: quality metrics use the relative band', () => {
    const one = syntheticRecords({ archs, seeds: 1 }).filter((r) => r.suite === 'perplexity');
    const worse = one.map((r) => (r.metric === 'test_bpb' && r.arch === 'retnet' ? { ...r, value: r.value * 1.05 } : r));
    const res = compareRuns(one, worse);
    const c = res.comparisons.find((x) => x.metric === 'test_bpb' && x.arch === 'retnet')!;
    expect(c.verdict).toBe('regression');
    expect(c.rule).toMatch(/relative band/);
    expect(compareRuns(one, worse, { band: 0.1 }).regressions).toBe(0);
  });

  it('missing measurements are reported, not failed; bad input exits 2', async () => {
    const base = run();
    const partial = writeRun(tempDir(), syntheticRecords({ archs }).filter((r) => r.suite !== 'efficiency'));
    const r = await cli(['compare', base, partial]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/MISSING/);
    expect((await cli(['compare', base, tempDir()])).code).toBe(2);
    expect((await cli(['compare', base, partial, '--threshold', 'ten'])).code).toBe(2);
  });

  it('directions come from one table: unit and name', () => {
    const d = (m: string, u: string) => `${inferMetric(m, u).direction}/${inferMetric(m, u).kind}`;
    expect(d('test_bpb', 'bpb')).toBe('lower/quality');
    expect(d('accuracy', 'fraction')).toBe('higher/quality');
    expect(d('decode_latency', 's')).toBe('lower/latency');
    expect(d('state_bytes', 'bytes')).toBe('lower/memory');
    expect(d('decode_tokens_per_s', 'tokens/s')).toBe('higher/throughput');
    expect(d('accuracy_std', 'fraction')).toBe('lower/quality');
    expect(d('unigram_bpb', 'bpb')).toBe('none/info');
    expect(d('nonembedding_params', 'count')).toBe('none/count');
    expect(d('wall_time', 's')).toBe('lower/bookkeeping');
    expect(d('mfu', 'fraction')).toBe('higher/throughput');
  });
});

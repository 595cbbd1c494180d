// The scaling suite: its L-shaped grid, the per-axis power laws and the fraction to match the reference
// on exact synthetic points, and the suite end to end on tiny.
import { beforeAll, describe, expect, it } from 'vitest';
import { readRecords } from '../harness/store.ts';
import { axisFit, fractionToMatch, gridOf } from '../suites/scaling/suite.ts';
import { SCALING_SETTINGS } from '../suites/scaling/settings.ts';
import { timeTable } from '../reports/time-table.ts';
import { cli, tempDir, useBackend } from './helpers.ts';

beforeAll(async () => {
  await useBackend();
});

describe('scaling fits', () => {
  it('the grid: every width at the largest budget, the largest width at the smaller ones', () => {
    expect(gridOf({ widths: [16, 24, 32], steps: [10, 20, 30], warmup: 5, evalTokens: 1 })).toEqual([
      { d: 16, steps: 30 }, { d: 24, steps: 30 }, { d: 32, steps: 30 }, { d: 32, steps: 10 }, { d: 32, steps: 20 },
    ]);
  });

  it('recovers L = c x^k on each axis and the fraction at which it reaches a target', () => {
    // L = 10 N^-0.5 at the largest budget; L = 20 D^-0.25 at the largest width
    const pts = [
      ...[100, 400, 1600].map((params, i) => ({ d: [16, 24, 32][i]!, steps: 30, params, tokens: 3000, bpb: 10 * params ** -0.5 })),
      ...[1000, 2000].map((tokens, i) => ({ d: 32, steps: [10, 20][i]!, params: 1600, tokens, bpb: 20 * tokens ** -0.25 })),
    ];
    // the largest width's point sits on both axes: give it the value both laws agree on
    pts[2]!.bpb = 10 * 1600 ** -0.5;
    const byParams = axisFit(pts, 'params');
    expect(byParams.exponent).toBeCloseTo(-0.5, 10);
    expect(byParams.coefficient).toBeCloseTo(10, 8);
    // target: the loss at N = 400 reached with a quarter of 1600 parameters
    expect(fractionToMatch(byParams, 10 * 400 ** -0.5, 1600).value).toBeCloseTo(0.25, 8);
    expect(fractionToMatch(byParams, 10 * 400 ** -0.5, 1600).flag).toBeUndefined();
    expect(fractionToMatch(byParams, 10 * 10 ** -0.5, 1600).flag).toBe('extrapolated');
    expect(fractionToMatch({ ...byParams, exponent: 0.1 }, 1, 1600)).toEqual({ value: NaN, flag: 'no_fit' });
    expect([...axisFit(pts, 'tokens').xs].sort((a, b) => a - b)).toEqual([1000, 2000, 3000]);
  });
});

describe('the scaling suite', () => {
  it('runs on tiny: a bpb per grid point, both fits, fractions against the Transformer', async () => {
    const out = tempDir();
    const r = await cli(['run', 'scaling', '--preset', 'tiny', '--arch', 'transformer,diff', '--out', out, '--cache', tempDir(), '--backend', 'wasm']);
    expect(r.code, r.err).toBe(0);
    const recs = readRecords(out);
    const n = gridOf(SCALING_SETTINGS.tiny!).length;
    for (const arch of ['transformer', 'diff']) {
      const bpb = recs.filter((x) => x.arch === arch && x.metric === 'scaling_bpb');
      expect(bpb.length).toBe(n);
      expect(bpb.every((x) => x.value > 0 && x.value < 9)).toBe(true);
      expect(recs.filter((x) => x.arch === arch && x.metric === 'scaling_fit_exponent').map((x) => x.dims.axis).sort()).toEqual(['params', 'tokens']);
    }
    // params per width are matched across architectures (within 3%)
    const params = (arch: string) => recs.filter((x) => x.arch === arch && x.metric === 'scaling_bpb' && x.dims.steps === 30).map((x) => Number(x.dims.params));
    params('diff').forEach((p, i) => expect(Math.abs(p / params('transformer')[i]! - 1)).toBeLessThan(0.03));
    expect(recs.some((x) => x.arch === 'transformer' && x.metric === 'param_fraction_to_match')).toBe(false);
    for (const m of ['param_fraction_to_match', 'token_fraction_to_match']) expect(recs.filter((x) => x.arch === 'diff' && x.metric === m).length).toBe(1);
    // every grid model's training is recorded: the Transformer's grid is trained in its own unit and read
    // from the cache in diff's, so `analyze time` counts 2n models trained and n loaded
    const trained = (arch: string, model: string) => recs.filter((x) => x.arch === arch && x.metric === 'train_seconds' && x.dims.model === model).map((x) => x.dims.cache);
    expect(trained('transformer', 'own')).toEqual(Array(n).fill('trained'));
    expect(trained('diff', 'own')).toEqual(Array(n).fill('trained'));
    expect(trained('diff', 'transformer')).toEqual(Array(n).fill('hit'));
    const row = timeTable(recs).rows.find((x) => x.suite === 'scaling')!;
    expect([row.trained, row.loaded]).toEqual([2 * n, n]);
    expect(row.training).toBeGreaterThan(0);
    expect(row.training).toBeLessThan(row.wall);
  }, 300_000);
});

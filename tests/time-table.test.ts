import { beforeAll, describe, expect, it } from 'vitest';
import { readRecords, type ResultRecord } from '../harness/store.ts';
import { timeMarkdown, timeTable } from '../reports/time-table.ts';
import { cli, tempDir, useBackend } from './helpers.ts';

const rec = (suite: string, metric: string, value: number, extra: Partial<ResultRecord> = {}): ResultRecord => ({
  suite, arch: 'a', seed: 0, preset: 'tiny', metric, value, unit: 's', dims: {}, params: 1, backend: 'wasm', elapsed_s: 0, time: '', ...extra,
});

describe('time table', () => {
  const records = [
    rec('perplexity', 'wall_time', 100), rec('perplexity', 'train_seconds', 80, { dims: { cache: 'trained' } }),
    rec('perplexity', 'wall_time', 30), rec('perplexity', 'train_seconds', 75, { dims: { cache: 'hit' } }),
    rec('needle', 'wall_time', 200),
    rec('needle', 'task_train_seconds', 120, { note: 'init scratch, 100 steps at batch 8, lr preset, cache trained' }),
    rec('needle', 'task_train_seconds', 50, { note: 'init scratch, 100 steps at batch 8, lr preset, cache hit' }),
    rec('needle', 'test_bpb', 3),
  ];

  it('counts training only for models trained in the run, and the rest of the wall time as evaluation', () => {
    const t = timeTable(records, 12);
    expect(t.rows.map((r) => [r.suite, r.units, r.wall, r.training, r.trained, r.loaded, r.other])).toEqual([
      ['perplexity', 2, 130, 80, 1, 1, 50],
      ['needle', 1, 200, 120, 1, 1, 80],
    ]);
    expect([t.total.units, t.total.wall, t.total.training, t.total.other]).toEqual([3, 330, 200, 130]);
    expect(t.report).toBe(12);
  });

  it('prints seconds under two minutes and minutes above', () => {
    const md = timeMarkdown(timeTable(records, null));
    expect(md).toContain('| needle | 1 | 3.3 min | 2.0 min | 1 / 1 | 80.0 s |');
    expect(md).toContain('| total | 3 | 5.5 min | 3.3 min | 2 / 2 | 2.2 min |');
    expect(md).toContain('report: not recorded');
    expect(md).toContain('on the clock: not known');
    expect(timeMarkdown(timeTable(records, null, { seconds: 200, jobs: 2 }))).toContain('on the clock: 3.3 min for the units, 2 at a time');
  });
});

describe("the text model's training in the records", () => {
  beforeAll(async () => {
    await useBackend();
  });

  it('is recorded by every unit that uses it: trained in the first, read from the cache in the next', async () => {
    const out = tempDir();
    const r = await cli(['run', 'perplexity', 'extrapolation', '--preset', 'tiny', '--arch', 'transformer', '--out', out, '--cache', tempDir(), '--backend', 'wasm', '--jobs', '1']); // plan order
    expect(r.code, r.err).toBe(0);
    const recs = readRecords(out);
    const text = recs.filter((x) => x.metric === 'train_seconds').map((x) => [x.suite, x.dims.model, x.dims.cache]);
    expect(text).toEqual([['perplexity', 'text', 'trained'], ['extrapolation', 'text', 'hit']]);
    const t = timeTable(recs);
    expect(t.rows.map((x) => [x.suite, x.trained, x.loaded])).toEqual([['perplexity', 1, 0], ['extrapolation', 0, 1]]);
    expect(t.rows[0]!.training).toBeGreaterThan(0);
    expect(t.rows[1]!.training).toBe(0);
  }, 180_000);
});

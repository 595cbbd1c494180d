// The leaderboard's rules, without a browser: competition ranks, floor / shortcut / ceiling cells out of
// every rank and badge, equal values equal badges, a metric some architectures cannot measure still
// shown, the smoke-run banner and "no verdict" on tiny, claims.md as plain Markdown, results.csv dims.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { groupRecords, rankSuite, ranks } from '../reports/aggregate.ts';
import { buildReport } from '../reports/build.ts';
import { ledgerMarkdown, shownVerdict, type PaperResult } from '../reports/claims.ts';
import { shortNote, smokeReason } from '../reports/leaderboard.ts';
import { writeCsv, type ResultRecord } from '../harness/store.ts';
import { tempDir } from './helpers.ts';
import { syntheticManifest, syntheticRecords, writeRun } from './report-fixtures.ts';

const rec = (arch: string, seed: number, metric: string, value: number, extra: Partial<ResultRecord> = {}): ResultRecord => ({
  suite: 'needle', arch, seed, preset: 'small', metric, value, unit: 'fraction', dims: {}, params: 1, backend: 'wasm', elapsed_s: 1, time: '2026-12-04T00:00:00Z', ...extra,
});

describe('ranks and badges', () => {
  it('competition ranking: equal values share the best rank and the next rank skips (1, 1, 1, 4)', () => {
    const r = ranks(new Map([['a', 0.125], ['b', 0.125], ['c', 0.125], ['d', 0.09]]), 'higher');
    expect([...r.values()]).toEqual([1, 1, 1, 4]);
    expect(ranks(new Map([['x', 2], ['y', 1], ['z', 2]]), 'lower')).toEqual(new Map([['y', 1], ['x', 2], ['z', 2]]));
  });

  it('floor / shortcut / ceiling cells get no rank and no badge; equal values equal badges', () => {
    const records = [0, 1, 2].flatMap((seed) => [
      rec('a', seed, 'accuracy', 0.6 + 0.01 * seed),
      rec('b', seed, 'accuracy', 0.6 + 0.01 * seed), // equal to a: both leaders
      rec('c', seed, 'accuracy', 0.3 + 0.01 * seed),
      rec('d', seed, 'accuracy', 0.125, { flag: 'shortcut' }),
      rec('e', seed, 'accuracy', 0.1, { flag: 'floor' }),
    ]);
    const r = rankSuite('needle', groupRecords(records));
    const st = (a: string) => r.standings.find((s) => s.arch === a)!;
    expect(st('a').vsLeader.accuracy!.verdict).toBe('leader');
    expect(st('b').vsLeader.accuracy!.verdict).toBe('leader');
    expect([st('a').rank, st('b').rank, st('c').rank]).toEqual([1, 1, 3]);
    expect(st('c').vsLeader.accuracy!.verdict).toBe('worse');
    for (const a of ['d', 'e']) {
      expect(st(a).rank, a).toBeNaN();
      expect(st(a).vsLeader.accuracy, a).toBeUndefined();
    }
    expect(st('d').flagged.accuracy).toEqual(['shortcut']);
    expect(st('e').flagged.accuracy).toEqual(['floor']);
  });

  it('every architecture flagged: the metric is left out of the rank, nobody leads', () => {
    const records = [0, 1].flatMap((seed) => ['a', 'b', 'c'].map((a) => rec(a, seed, 'accuracy', 0.125, { flag: 'shortcut' })));
    const r = rankSuite('needle', groupRecords(records));
    expect(r.headline).toEqual([]);
    expect(r.excluded[0]!.why).toMatch(/floor, shortcut or ceiling/);
    expect(r.standings.every((s) => Number.isNaN(s.rank) && !s.vsLeader.accuracy)).toBe(true);
  });

  it('a metric some architectures cannot measure is shown for the others', async () => {
    const records = syntheticRecords({ archs: ['transformer', 'retnet'] });
    for (const seed of [0, 1, 2]) {
      for (const length of [32, 64]) records.push({ ...records[0]!, suite: 'perplexity', seed, metric: 'attention_resolution', value: 0.001 * (1 + seed) / length, unit: 'ratio', dims: { length, layer: 'mean' } });
      records.push({ ...records[0]!, suite: 'perplexity', arch: 'retnet', seed, metric: 'attention_resolution', value: NaN, unit: 'ratio', dims: { length: 32, layer: 'mean' }, flag: 'not_applicable' });
    }
    const { index } = await buildReport(writeRun(tempDir(), records));
    const html = readFileSync(index, 'utf8');
    const table = html.slice(html.indexOf('id="table-perplexity"'), html.indexOf('</table>', html.indexOf('id="table-perplexity"')));
    const heads = [...table.matchAll(/<th[^>]*>(.*?)<\/th>/g)].map((m) => m[1]!);
    const col = heads.findIndex((h) => h.startsWith('attention resolution'));
    expect(col).toBeGreaterThan(1);
    const cell = (arch: string) => [...table.matchAll(/<tr>(.*?)<\/tr>/g)].map((m) => [...m[1]!.matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((c) => c[1]!)).find((cells) => cells[1] === arch)![col]!;
    expect(cell('transformer')).toMatch(/^\d[\d.]*(e-\d+)? /); // the mean over its measured lengths, not "—"
    expect(cell('retnet')).toMatch(/n\/a.*not applicable/);
  });
});

describe('smoke runs', () => {
  it('tiny or one seed: a banner; tiny: no verdict in the ledger', async () => {
    expect(smokeReason('tiny', 3)).toMatch(/smoke/);
    expect(smokeReason('small', 1)).toMatch(/one seed/);
    expect(smokeReason('small', 3)).toBeNull();
    expect(shownVerdict('holds', 'tiny')).toBe('smoke run: no verdict');
    expect(shownVerdict('not yet measurable', 'tiny')).toBe('not yet measurable');
    expect(shownVerdict('fails', 'small')).toBe('fails');
    const tiny = readFileSync((await buildReport(writeRun(tempDir(), syntheticRecords()))).index, 'utf8');
    expect(tiny).toContain('id="banner"');
    const small = syntheticRecords().map((r) => ({ ...r, preset: 'small' }));
    const html = readFileSync((await buildReport(writeRun(tempDir(), small, syntheticManifest(small, { preset: { name: 'small' } })))).index, 'utf8');
    expect(html).not.toContain('id="banner"');
    // verdict first: the summary comes before provenance, which comes before the suites
    expect(html.indexOf('id="verdict"')).toBeLessThan(html.indexOf('id="run"'));
    expect(html.indexOf('id="run"')).toBeLessThan(html.indexOf('id="suite-'));
  });

  it('claims.md is plain Markdown: no HTML entities, bounds as ≤ / ≥, "smoke run: no verdict" on tiny', () => {
    const result = {
      paper: { id: 'p', title: 'P', short: 'P', sources: ['s'], summary: 'x', tables: [], claims: [] },
      status: 'measured', missing: [], tables: [],
      claims: [{ paper: 'p', claim: 'c', text: 'a < b', verdict: 'holds', why: 'ratio 0.5 [0.4, 0.6]', expected: 'a/b <= 1.1 and >= 0' }],
    } as unknown as PaperResult;
    const md = ledgerMarkdown([result], { preset: 'tiny', seeds: 1, backend: 'wasm', commit: 'abc' });
    expect(md).not.toMatch(/&lt;|&gt;|&amp;/);
    expect(md).toContain('a/b ≤ 1.1 and ≥ 0');
    expect(md).toContain('a \\< b');
    expect(md).toContain('**smoke run: no verdict**');
    expect(md).toMatch(/Preset tiny, 1 seed\(s\), backend wasm, commit abc\. smoke run: no verdict/);
    expect(ledgerMarkdown([result], { preset: 'small', seeds: 3 })).toContain('**holds**');
  });
});

describe('results.csv', () => {
  it('flattens dims into dim_<name> columns (sorted; empty where a record lacks the key)', () => {
    const dir = tempDir();
    writeCsv(dir, [rec('a', 0, 'accuracy', 0.5, { dims: { length: 64, depth: 0.5 }, ci95: [0.4, 0.6] }), rec('b', 0, 'accuracy', 0.25, { dims: { length: 32, fused: true } })]);
    const [head, a, b] = readFileSync(join(dir, 'results.csv'), 'utf8').trim().split('\n');
    expect(head).toBe('suite,arch,seed,preset,metric,value,unit,ci_low,ci_high,params,backend,adapter,elapsed_s,time,flag,note,dim_depth,dim_fused,dim_length');
    expect(a).toMatch(/^needle,a,0,small,accuracy,0\.5,fraction,0\.4,0\.6,.*,0\.5,,64$/);
    expect(b).toMatch(/,,true,32$/);
  });

  it('a long note (a data payload) is cut in the page, saying where the whole is; a short one is kept', () => {
    expect(shortNote('k/n 3/4')).toBe('k/n 3/4');
    const payload = 'ab'.repeat(1000);
    expect(shortNote(payload)).toBe(`${payload.slice(0, 80)}… (2,000 characters; whole in records.jsonl)`);
  });
});

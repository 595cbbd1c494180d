// Reports: figures (Vega-Lite -> SVG -> PNG) from records, the suite figure contract, the leaderboard
// HTML (self-contained, escaped), paired statistics, the claims ledger and `archbench reproduce`.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { registerSuite } from '../suites/index.ts';
import { pairedCompare } from '../reports/aggregate.ts';
import { buildReport } from '../reports/build.ts';
import { evaluatePaper } from '../reports/claims.ts';
import { figuresFor } from '../reports/figures.ts';
import { esc } from '../reports/html.ts';
import { loadPapers } from '../reports/papers.ts';
import { cli, tempDir } from './helpers.ts';
import { XSS_ARCH, syntheticRecords, writeRun } from './report-fixtures.ts';

const series = (xs: number[], ci?: [number, number][]) => ({ values: new Map(xs.map((x, i) => [i, x])), ci: ci ? new Map(ci.map((c, i) => [i, c])) : undefined });

describe('paired statistics', () => {
  it('one seed without intervals is tied; consistent differences over seeds separate; noise does not', () => {
    expect(pairedCompare(series([2.4]), series([2.6]), 'lower').verdict).toBe('tied');
    const sep = pairedCompare(series([2.40, 2.41, 2.39, 2.42]), series([2.60, 2.62, 2.58, 2.61]), 'lower');
    expect(sep.method).toBe('paired-t');
    expect(sep.verdict).toBe('a');
    expect(pairedCompare(series([0.8, 0.81, 0.79]), series([0.6, 0.62, 0.6]), 'higher').verdict).toBe('a');
    expect(pairedCompare(series([0.8, 0.81, 0.79]), series([0.6, 0.62, 0.6]), 'lower').verdict).toBe('b');
    expect(pairedCompare(series([2.4, 2.9, 2.1]), series([2.5, 2.3, 2.6]), 'lower').verdict).toBe('tied');
    // one seed with item intervals: separated only when the combined interval excludes 0
    expect(pairedCompare(series([0.9], [[0.85, 0.94]]), series([0.5], [[0.42, 0.58]]), 'higher').verdict).toBe('a');
    expect(pairedCompare(series([0.6], [[0.45, 0.74]]), series([0.5], [[0.35, 0.65]]), 'higher').verdict).toBe('tied');
    // 10+ seeds: the paired bootstrap
    const many = Array.from({ length: 12 }, (_, i) => i);
    expect(pairedCompare(series(many.map((i) => 1 + i * 0.001)), series(many.map((i) => 1.1 + i * 0.001)), 'lower').method).toBe('paired-bootstrap');
  });
});

describe('figures', () => {
  it('choose bars, lines (log-log with fits) and heatmaps from the records, and render SVG + PNG', async () => {
    const dir = writeRun(tempDir(), syntheticRecords());
    const r = await buildReport(dir);
    expect(r.errors).toEqual([]);
    const files = readdirSync(join(dir, 'report', 'figures'));
    const stems = [...new Set(files.map((f) => f.replace(/\.(vl\.json|svg|png)$/, '')))];
    for (const s of stems) for (const ext of ['.vl.json', '.svg', '.png']) expect(files).toContain(`${s}${ext}`);
    expect(stems).toEqual(expect.arrayContaining(['perplexity-test_bpb-bars', 'needle-accuracy-heatmap-length-depth', 'efficiency-decode_latency-vs-context', 'efficiency-state_bytes-vs-context']));
    expect(stems.some((s) => s.includes('wall_time') || s.includes('nonembedding'))).toBe(false); // bookkeeping: tables only
    const lat = JSON.parse(readFileSync(join(dir, 'report/figures/efficiency-decode_latency-vs-context.vl.json'), 'utf8'));
    expect(JSON.stringify(lat)).toContain('"type":"log"');
    expect(JSON.stringify(lat.title.subtitle)).toMatch(/power-law fits/);
    const heat = JSON.parse(readFileSync(join(dir, 'report/figures/needle-accuracy-heatmap-length-depth.vl.json'), 'utf8'));
    expect(heat.facet.field).toBe('arch');
    const meta = await sharp(join(dir, 'report/figures/needle-accuracy-heatmap-length-depth.png')).metadata();
    expect(meta.format).toBe('png');
    expect(meta.width).toBeGreaterThan(300);
    const svg = readFileSync(join(dir, 'report/figures/perplexity-test_bpb-bars.svg'), 'utf8');
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain('&lt;img src=x onerror=alert(1)&gt;'); // names are text in the SVG too
    expect(r.textMeasure).toBe('canvas');
  });

  it('a suite may declare figures (covering metrics) and a broken figures() falls back to the generic ones', () => {
    registerSuite({
      name: 'declares-figures', description: 'test suite', run: () => [],
      figures: (records, kit) => [{ ...kit.lines(records, 'accuracy', 'length', { where: { depth: 0.5 } }), name: 'acc-at-mid-depth', title: 'accuracy at depth 0.5' }],
    });
    registerSuite({ name: 'broken-figures', description: 'test suite', run: () => [], figures: () => { throw new Error('boom'); } });
    const recs = syntheticRecords().filter((r) => r.suite === 'needle');
    const ok = figuresFor('declares-figures', recs.map((r) => ({ ...r, suite: 'declares-figures' })));
    expect(ok.errors).toEqual([]);
    expect(ok.figures.map((f) => `${f.origin}:${f.file}`)).toEqual(['declared:declares-figures-acc-at-mid-depth']);
    expect(JSON.stringify(ok.figures[0]!.vegaLite)).toContain('DejaVu Sans'); // the theme is merged in
    const bad = figuresFor('broken-figures', recs.map((r) => ({ ...r, suite: 'broken-figures' })));
    expect(bad.errors[0]).toMatch(/figures\(\) failed: boom/);
    expect(bad.figures.map((f) => f.origin)).toEqual(['generic']);
  });
});

describe('leaderboard html', () => {
  it('is one self-contained file: no external reference, every string escaped, manifest and tables present', async () => {
    const dir = writeRun(tempDir(), syntheticRecords());
    const { index, bytes } = await buildReport(dir);
    const html = readFileSync(index, 'utf8');
    expect(bytes).toBe(Buffer.byteLength(html));
    expect(html).not.toContain(XSS_ARCH);
    expect(html).toContain(esc(XSS_ARCH));
    expect(html).not.toContain('<script>alert(2)</script>');
    expect(html.match(/<script>/g)!.length).toBe(1);
    // every src / href is data: or a fragment; no url() but to a fragment, no @import or protocol-relative reference
    for (const m of html.matchAll(/\s(?:src|href|action|poster|srcset)\s*=\s*"([^"]*)"/g)) expect(m[1]).toMatch(/^(data:|#)/);
    expect(html).not.toMatch(/url\((?!#)|@import|\/\/[a-z0-9.-]+\.[a-z]{2,}\//i);
    expect(html).toContain("default-src 'none'");
    for (const id of ['table-overall', 'table-perplexity', 'table-needle', 'table-efficiency', 'manifest']) expect(html).toContain(`id="${id}"`);
    expect(html).toMatch(/data-field="commit">abc1234&lt;script&gt;/);
    expect(html).toContain('floor'); // the floor flag is shown
  });

  it('`archbench report` on a folder without records exits 2 and writes nothing', async () => {
    const empty = tempDir();
    const r = await cli(['report', empty]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/holds no records/);
    expect(existsSync(join(empty, 'report'))).toBe(false);
  });
});

describe('claims', () => {
  it('fixtures: every paper of CLAIMS.md, each with sources, claims and checks or reasons', () => {
    const ids = loadPapers().map((p) => p.id);
    expect(ids.sort()).toEqual(['crescent', 'diff', 'icl-momentum', 'latentlm', 'lex', 'retnet', 'self-decompression', 'structured-prompting', 'yoco']);
    const yoco = loadPapers().find((p) => p.id === 'yoco')!;
    expect(yoco.tables[0]!.paper!.rows[0]!.values).toEqual({ 1: 0.98, 2: 0.98, 4: 0.84, 8: 0.56 });
  });

  it('holds / fails / inconclusive / not yet measurable, from the records', () => {
    const recs = syntheticRecords({ archs: ['transformer', 'retnet'] });
    const retnet = evaluatePaper(loadPapers().find((p) => p.id === 'retnet')!, recs, { layers: 2 });
    const v = Object.fromEntries(retnet.claims.map((c) => [c.claim, c.verdict]));
    expect(v['state-flat']).toBe('by construction'); // constant bytes: exponent 0, as the design guarantees
    expect(v['memory-below']).toBe('by construction'); // 8192 vs 65536 at the longest context
    expect(v['latency-flat']).toBe('holds');
    expect(v['bpb-competitive']).toBe('fails'); // retnet's synthetic bpb is ~6% worse, beyond the 5% margin
    expect(v['throughput-above']).toBe('not yet measurable'); // no decode_tokens_per_s in these records
    expect(retnet.claims.find((c) => c.claim === 'throughput-above')!.why).toMatch(/recorded no metric 'decode_tokens_per_s'/);
    const table = retnet.tables.find((t) => t.id === 'memory')!;
    expect(table.columns).toEqual(['16', '32', '64', '128']);
    // a paper whose suite has no records here: every claim listed, none skipped
    const latent = evaluatePaper(loadPapers().find((p) => p.id === 'latentlm')!, recs);
    expect(latent.claims.length).toBe(5);
    expect(latent.claims.every((c) => c.verdict === 'not yet measurable' && /suite 'latent' has no records/.test(c.why))).toBe(true);
    expect(latent.status).toBe('not yet measurable');
  });

  it('inconclusive when the intervals overlap', () => {
    const recs = syntheticRecords({ archs: ['transformer', 'retnet'] }).map((r) => (r.metric === 'test_bpb' ? { ...r, value: 2.5 + (r.seed === 1 ? 0.3 : 0) * (r.arch === 'retnet' ? 1 : -1) } : r));
    const retnet = evaluatePaper(loadPapers().find((p) => p.id === 'retnet')!, recs);
    expect(retnet.claims.find((c) => c.claim === 'bpb-competitive')!.verdict).toBe('inconclusive');
  });

  it('a claim whose suite is not registered is not yet measurable, and says why', () => {
    const crescent = loadPapers().find((p) => p.id === 'crescent')!;
    const unregistered = { ...crescent, claims: crescent.claims.map((c) => (c.check ? { ...c, check: { ...c.check, suite: 'nonesuch' } } : c)) };
    const claims = evaluatePaper(unregistered, []).claims;
    expect(claims.length).toBeGreaterThan(0);
    for (const c of claims) {
      expect(c.verdict).toBe('not yet measurable');
      expect(c.why).toMatch(/suite 'nonesuch' is not registered/);
    }
  });

  it('`archbench reproduce PAPER` writes its ledger, tables and report; an unknown paper exits 2', async () => {
    const out = join(tempDir(), 'rep');
    const r = await cli(['reproduce', 'crescent', '--preset', 'tiny', '--out', out]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/crescent \(measured\)/);
    const ledger = readFileSync(join(out, 'report', 'claims.md'), 'utf8');
    expect(ledger).toMatch(/smoke run: no verdict/);
    expect(ledger).toMatch(/Crescent/);
    for (const f of ['index.html', 'claims.json', 'papers/crescent.md', 'papers/crescent.html']) expect(existsSync(join(out, 'report', f)), f).toBe(true);
    expect(readFileSync(join(out, 'report', 'index.html'), 'utf8')).toContain('id="table-claims"');
    const bad = await cli(['reproduce', 'nope', '--preset', 'tiny', '--out', join(tempDir(), 'x')]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/unknown paper 'nope'; valid: crescent, diff/);
    const list = await cli(['list', 'papers']);
    expect(list.out.split('\n').filter(Boolean).length).toBe(9);
  });
});

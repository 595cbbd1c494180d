// The leaderboard of a whole tiny reproduce run (fixtures/tiny-run: all nine suites' records, ~80
// figures) stays one self-contained file under 1 MB, and nothing is lost on the way: every figure and
// every measurement table is in the page, the collapsed ones stored compressed (inflated on opening).
import { copyFileSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { buildReport } from '../reports/build.ts';
import { unfold } from '../reports/html.ts';
import { pageBytes, pageBytesText } from '../reports/page-bytes.ts';
import { tempDir } from './helpers.ts';

const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'tiny-run');
const LIMIT = 1_000_000;

describe('the leaderboard of a tiny reproduce run', () => {
  it(`is under ${LIMIT.toLocaleString('en-US')} B with every figure and measurement table in it`, async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'records.jsonl'), gunzipSync(readFileSync(join(FIXTURE, 'records.jsonl.gz'))));
    for (const f of ['manifest.json', 'reproduce.json']) copyFileSync(join(FIXTURE, f), join(dir, f));
    const r = await buildReport(dir);
    expect(r.errors).toEqual([]);
    const html = readFileSync(r.index, 'utf8');
    const suites = [...html.matchAll(/<section id="suite-([^"]+)"/g)].map((m) => m[1]);
    expect(suites).toHaveLength(9);
    expect(r.bytes, `index.html is ${r.bytes} B:\n${pageBytesText(pageBytes(html))}`).toBeLessThan(LIMIT);
    // nothing lost: every rendered figure is in the page once unfolded, and every suite's measurements
    const whole = unfold(html);
    const figures = readdirSync(join(dir, 'report', 'figures')).filter((f) => f.endsWith('.svg')).map((f) => f.slice(0, -4));
    expect(figures.length).toBe(r.figures.length);
    for (const f of figures) expect(whole, f).toContain(`data-file="${f}"`);
    expect(whole.match(/<svg class="chart"/g)!.length).toBe(figures.length);
    for (const s of suites) expect(whole).toContain(`id="all-${s}-0"`);
    expect(html).not.toContain('id="all-perplexity-0"'); // collapsed: stored compressed
    expect(Buffer.byteLength(whole)).toBeGreaterThan(2 * r.bytes);
  });
});

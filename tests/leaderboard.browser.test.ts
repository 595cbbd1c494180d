// The leaderboard in a real browser (Debian's chromium via playwright-core): no console error, no
// network request of any kind, every chart renders (not blank), sorting sorts, an architecture named
// <img src=x onerror=alert(1)> stays text, no horizontal overflow at 1,400 px nor at phone width, the
// not-evidence banner on tiny and no rank on flagged cells; folded (compressed) sections inflate on opening, their
// tables sort and a link into one opens it. Skips only when /usr/bin/chromium is absent.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReport } from '../reports/build.ts';
import { unfold } from '../reports/html.ts';
import { XSS_ARCH, syntheticRecords, writeRun } from './report-fixtures.ts';

const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) console.warn(`leaderboard browser test SKIPPED: ${CHROMIUM} not found (apt-get install -y chromium)`);

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

type Ctx = Awaited<ReturnType<typeof import('playwright-core')['chromium']['launchPersistentContext']>>;

interface Watch {
  consoleErrors: string[];
  requests: string[];
  dialogs: string[];
}

/** Open a file in a fresh browser profile, recording console errors, requests (aborted) and dialogs. */
async function open(ctx: Ctx, file: string, w: Watch) {
  const url = pathToFileURL(file).href;
  const page = await ctx.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') w.consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => w.consoleErrors.push(`pageerror: ${e.message}`));
  page.on('dialog', (d) => {
    w.dialogs.push(d.message());
    void d.dismiss();
  });
  // Every request but the page itself is recorded and aborted: nothing leaves the machine.
  await page.route('**/*', (route) => {
    const u = route.request().url();
    if (u === url) return route.continue();
    w.requests.push(u);
    return route.abort();
  });
  page.on('request', (r) => {
    const u = r.url();
    if (u !== url && !u.startsWith('data:') && !w.requests.includes(u)) w.requests.push(u);
  });
  await page.goto(url, { waitUntil: 'load' });
  return page;
}

/** Open every <details> and wait until the folded (compressed) ones are inflated. */
async function openAll(page: Awaited<ReturnType<typeof open>>) {
  await page.$$eval('details', (ds) => ds.forEach((d) => ((d as HTMLDetailsElement).open = true)));
  await page.waitForFunction(() => !document.querySelector('details[data-gz]'));
}

describe.skipIf(!HAVE_CHROMIUM)('leaderboard in chromium', () => {
  let ctx: Ctx;
  let index: string;
  const screenshot = process.env.ARCHBENCH_SCREENSHOT ?? join(tmpdir(), 'archbench-leaderboard.png');

  beforeAll(async () => {
    const dir = writeRun(mkdtempSync(join(tmpdir(), 'archbench-lb-')), syntheticRecords());
    index = (await buildReport(dir)).index;
    const { chromium } = await import('playwright-core');
    ctx = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'archbench-chromium-')), {
      executablePath: CHROMIUM, headless: true, args: FLAGS, bypassCSP: true, viewport: { width: 1280, height: 900 },
    });
  });

  afterAll(async () => {
    await ctx?.close();
  });

  it('loads with no console error, no request, no dialog; every chart renders; names stay text', async () => {
    const w: Watch = { consoleErrors: [], requests: [], dialogs: [] };
    const page = await open(ctx, index, w);
    await page.waitForFunction(() => document.documentElement.getAttribute('data-sort-ready') === '1');
    // charts: every inline SVG laid out with a size (collapsed sections opened, the folded ones inflated), and its pixels are not blank
    await openAll(page);
    const charts = await page.$$('svg.chart');
    const html = readFileSync(index, 'utf8');
    const count = (h: string) => h.match(/<svg class="chart"/g)?.length ?? 0;
    expect(count(html)).toBeGreaterThanOrEqual(3);
    expect(count(unfold(html))).toBeGreaterThan(count(html)); // most figures sit in folded sections
    expect(charts.length).toBe(count(unfold(html)));
    const { default: sharp } = await import('sharp');
    for (const c of charts) {
      const ok = await c.evaluate((svg: SVGSVGElement) => { const r = svg.getBoundingClientRect(); return r.width > 50 && r.height > 50; });
      expect(ok, `chart ${await c.getAttribute('data-file')} has no size`).toBe(true);
      await c.scrollIntoViewIfNeeded();
      const png = await c.screenshot();
      const stats = await sharp(png).stats();
      const spread = stats.channels.slice(0, 3).reduce((s, ch) => s + ch.stdev, 0);
      expect(spread, `chart ${await c.getAttribute('data-file')} looks blank`).toBeGreaterThan(10);
    }
    // the hostile architecture name is text everywhere, never an element
    const text = await page.evaluate(() => document.body.innerText);
    expect(text).toContain(XSS_ARCH);
    expect(text).toContain('abc1234<script>alert(2)</script>');
    expect(await page.$$eval('img', (els) => els.length)).toBe(0);
    expect(await page.$$eval('script', (els) => els.length)).toBe(1);
    // only data: and fragment URLs in the document
    const urls = await page.$$eval('[src],[href]', (els) => els.map((e) => e.getAttribute('src') ?? e.getAttribute('href') ?? ''));
    expect(urls.filter((u) => !u.startsWith('data:') && !u.startsWith('#'))).toEqual([]);
    // the manifest is visible
    for (const field of ['backend', 'hardware', 'commit', 'preset', 'seeds']) {
      expect(await page.isVisible(`dd[data-field="${field}"]`), field).toBe(true);
    }
    await page.screenshot({ path: screenshot, fullPage: true });
    expect(w.consoleErrors).toEqual([]);
    expect(w.requests).toEqual([]);
    expect(w.dialogs).toEqual([]);
    await page.close();
  });

  it('sorts: a numeric column both ways, a text column, blanks last', async () => {
    const w: Watch = { consoleErrors: [], requests: [], dialogs: [] };
    const page = await open(ctx, index, w);
    const table = '#table-perplexity';
    const col = async (i: number) => page.$$eval(`${table} tbody tr`, (rows, i) => rows.map((r) => (r as HTMLTableRowElement).cells[i]!.getAttribute('data-sort') ?? ''), i);
    const heads = await page.$$eval(`${table} thead th`, (ths) => ths.map((t) => t.textContent ?? ''));
    const tps = heads.findIndex((h) => h.startsWith('train tokens per s'));
    expect(tps).toBeGreaterThan(1);
    const before = (await col(tps)).map(Number);
    await page.click(`${table} thead th:nth-child(${tps + 1})`);
    const asc = (await col(tps)).map(Number);
    expect(asc).toEqual([...before].sort((a, b) => a - b));
    expect(asc).not.toEqual(before); // the initial order (by rank) is not ascending throughput
    await page.click(`${table} thead th:nth-child(${tps + 1})`);
    expect((await col(tps)).map(Number)).toEqual([...before].sort((a, b) => b - a));
    expect(await page.getAttribute(`${table} thead th:nth-child(${tps + 1})`, 'aria-sort')).toBe('descending');
    // text column (architecture): localeCompare order
    await page.click(`${table} thead th:nth-child(2)`);
    const names = await col(1);
    expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b, undefined, { numeric: true })));
    // keyboard: Enter on a header sorts too
    await page.focus(`${table} thead th:nth-child(1)`);
    await page.keyboard.press('Enter');
    expect(await page.getAttribute(`${table} thead th:nth-child(1)`, 'aria-sort')).toBe('ascending');
    // a table inflated from a folded section sorts too: the needle's accuracy cells by mean
    await page.$eval('#suite-needle details.all-measurements', (d) => ((d as HTMLDetailsElement).open = true));
    await page.waitForSelector('#all-needle-0');
    const mean = (await page.$$eval('#all-needle-0 thead th', (ths) => ths.map((t) => t.textContent))).indexOf('mean');
    expect(mean).toBeGreaterThan(1);
    const means = async () => page.$$eval('#all-needle-0 tbody tr', (rows, i) => rows.map((r) => Number((r as HTMLTableRowElement).cells[i]!.textContent)), mean);
    const unsorted = await means();
    await page.click(`#all-needle-0 thead th:nth-child(${mean + 1})`);
    expect(await means()).toEqual([...unsorted].sort((a, b) => a - b));
    expect(await means()).not.toEqual(unsorted);
    expect(w.consoleErrors).toEqual([]);
    expect(w.requests).toEqual([]);
    await page.close();
  });

  it('no horizontal overflow at 1,400 px; the phone width (390 px) renders with the navigation whole', async () => {
    for (const width of [1400, 390]) {
      const w: Watch = { consoleErrors: [], requests: [], dialogs: [] };
      const page = await open(ctx, index, w);
      await page.setViewportSize({ width, height: 900 });
      const m = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
      expect(m.scroll, `page ${m.scroll} px wide in a ${width} px window`).toBeLessThanOrEqual(m.client);
      // the navigation fits (wraps, nothing cut off) and the first screen shows the verdict
      const nav = await page.$eval('nav', (n) => ({ right: Math.max(...[...n.querySelectorAll('a')].map((a) => a.getBoundingClientRect().right)), width: document.documentElement.clientWidth }));
      expect(nav.right).toBeLessThanOrEqual(nav.width);
      const verdictTop = await page.$eval('#verdict', (e) => e.getBoundingClientRect().top);
      expect(verdictTop).toBeLessThan(900);
      // the manifest JSON wraps, and the folded tables and figures scroll inside their sections, rather than widening the page
      await openAll(page);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(m.client);
      expect(w.consoleErrors).toEqual([]);
      await page.close();
    }
  });

  it('a tiny run carries the not-evidence banner above the verdict; flagged cells carry no rank or badge', async () => {
    const w: Watch = { consoleErrors: [], requests: [], dialogs: [] };
    const page = await open(ctx, index, w);
    expect(await page.isVisible('#banner')).toBe(true);
    expect(await page.$eval('#banner', (b) => b.textContent ?? '')).toMatch(/Not evidence.*tiny/);
    const order = await page.evaluate(() => ['banner', 'verdict', 'run', 'overall'].map((id) => document.getElementById(id)!.getBoundingClientRect().top));
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // the needle table: the third architecture is at the floor everywhere
    const rows = await page.$$eval('#table-needle tbody tr', (trs) => trs.map((tr) => {
      const cells = [...(tr as HTMLTableRowElement).cells];
      return { rank: cells[0]!.textContent!.trim(), arch: cells[1]!.textContent!, flagged: cells.slice(2).some((c) => c.querySelector('.flagged')), badges: cells.slice(2).flatMap((c) => [...c.querySelectorAll('.flagged .badge')].map((b) => b.textContent)) };
    }));
    const floor = rows.find((r) => r.arch === XSS_ARCH)!;
    expect(floor.flagged).toBe(true);
    expect(floor.rank).toBe('—');
    expect(floor.badges).toEqual([]);
    expect(rows.filter((r) => r.arch !== XSS_ARCH).map((r) => r.rank).sort()).toEqual(['1', '2']);
    expect(w.consoleErrors).toEqual([]);
    await page.close();
  });

  it('a link to a figure in a folded section inflates it and opens it', async () => {
    const html = readFileSync(index, 'utf8');
    const folded = [...unfold(html).matchAll(/<figure id="([^"]+)"/g)].map((m) => m[1]!).find((id) => !html.includes(`id="${id}"`))!;
    expect(folded).toBeDefined();
    const w: Watch = { consoleErrors: [], requests: [], dialogs: [] };
    const page = await open(ctx, index, w);
    await page.evaluate((id) => { location.hash = id; }, folded);
    await page.waitForSelector(`[id="${folded}"]`, { state: 'visible' });
    expect(await page.$eval(`[id="${folded}"] svg.chart`, (svg) => svg.getBoundingClientRect().width)).toBeGreaterThan(50);
    expect(w.consoleErrors).toEqual([]);
    await page.close();
  });

  it('the watchers catch what they are for (a page with an external image, a console error and an alert)', async () => {
    const bad = join(mkdtempSync(join(tmpdir(), 'archbench-bad-')), 'bad.html');
    writeFileSync(bad, '<!doctype html><img src="http://127.0.0.1:9/x.png"><script>console.error("boom"); alert(1)</script>');
    const w: Watch = { consoleErrors: [], requests: [], dialogs: [] };
    const page = await open(ctx, bad, w);
    await page.waitForTimeout(200);
    expect(w.requests.some((u) => u.startsWith('http://127.0.0.1:9/'))).toBe(true);
    expect(w.consoleErrors.some((e) => e.includes('boom'))).toBe(true);
    expect(w.dialogs).toEqual(['1']);
    await page.close();
  });
});

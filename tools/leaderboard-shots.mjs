#!/usr/bin/env node
// Screenshots of a run's leaderboard in headless Chromium (Debian's /usr/bin/chromium via playwright-core):
// at 1,400 px and at 390 px (a phone), the first screen and one suite's section, as PNGs; then, per width,
// what the first screen shows (its headings, the banner, the top of the verdict).
//   node tools/leaderboard-shots.mjs RUN_DIR [--suite perplexity] [--out DIR] [--build]
// Builds RUN_DIR/report/index.html first when it is missing (or with --build). Default --out:
// RUN_DIR/report/shots. Files: first-screen-1400.png, suite-<name>-1400.png, first-screen-390.png, ...
// Every request but the page itself is refused: the page must need nothing from outside.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { register } from 'tsx/esm/api';

register();
const CHROMIUM = '/usr/bin/chromium';
const WIDTHS = [1400, 390];
const HEIGHT = { 1400: 900, 390: 844 };
const args = process.argv.slice(2);
const arg = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const fail = (msg) => { process.stderr.write(`leaderboard-shots: ${msg}\n`); process.exit(2); };
const dir = args.find((a, i) => !a.startsWith('--') && !['--suite', '--out'].includes(args[i - 1]));
if (!dir || !existsSync(dir) || !statSync(dir).isDirectory()) fail(`give a run directory (one holding records.jsonl), got '${dir ?? ''}'`);
if (!existsSync(CHROMIUM)) fail(`${CHROMIUM} not found (apt-get install -y chromium)`);
const index = join(dir, 'report', 'index.html');
if (args.includes('--build') || !existsSync(index)) {
  const { buildReport } = await import('../reports/build.ts');
  const r = await buildReport(dir, { log: (s) => process.stderr.write(`${s}\n`) });
  process.stderr.write(`built ${r.index} (${r.bytes.toLocaleString('en-US')} B)\n`);
}
const suite = arg('--suite', 'perplexity');
const suites = [...readFileSync(index, 'utf8').matchAll(/<section id="suite-([^"]+)"/g)].map((m) => m[1]);
if (!suites.includes(suite)) fail(`no suite '${suite}' in ${index}: valid are ${suites.join(', ')}`);
const out = resolve(arg('--out', join(dir, 'report', 'shots')));
mkdirSync(out, { recursive: true });

const { chromium } = await import('playwright-core');
const ctx = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'archbench-shots-')), {
  executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const url = pathToFileURL(resolve(index)).href;
try {
  for (const width of WIDTHS) {
    const page = await ctx.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await page.route('**/*', (route) => (route.request().url() === url ? route.continue() : route.abort()));
    await page.setViewportSize({ width, height: HEIGHT[width] });
    await page.goto(url, { waitUntil: 'load' });
    const first = join(out, `first-screen-${width}.png`);
    await page.screenshot({ path: first });
    // what the first screen shows: headings, the banner, list items and table rows whose top is within it
    const seen = await page.evaluate((h) => [...document.querySelectorAll('h1, h2, h3, #banner, .ledger-counts, .papers-summary li, #table-winners tbody tr')]
      .filter((e) => { const r = e.getBoundingClientRect(); return r.top < h && r.bottom > 0 && r.height > 0; })
      .map((e) => `${e.tagName.toLowerCase()}: ${(e.tagName === 'TR' ? [...e.cells].map((c) => c.innerText).join(' | ') : e.innerText).replace(/\s+/g, ' ').trim().slice(0, 120)}`), HEIGHT[width]);
    const section = await page.$(`#suite-${suite}`);
    const shot = join(out, `suite-${suite}-${width}.png`);
    await section.screenshot({ path: shot });
    const wide = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    process.stdout.write(`\n${width} px: ${first}, ${shot}${wide > 0 ? `; the page is ${wide} px wider than the window` : ''}${errors.length ? `; page errors: ${errors.join(' | ')}` : ''}\nfirst screen:\n${seen.map((s) => `  ${s}`).join('\n')}\n`);
    await page.close();
  }
} finally {
  await ctx.close();
}

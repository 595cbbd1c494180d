#!/usr/bin/env node
// Where the bytes of a leaderboard page go, per part (head, header, each section): visible inline SVG,
// visible tables, folded (compressed) sections and the rest, in KiB, largest part first.
//   node tools/leaderboard-bytes.mjs RUN_DIR|INDEX_HTML [--unfolded]
// --unfolded: the same with every folded section inflated (what the page would weigh uncompressed).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { register } from 'tsx/esm/api';

register();
const args = process.argv.slice(2);
const target = args.find((a) => !a.startsWith('--'));
const fail = (msg) => { process.stderr.write(`leaderboard-bytes: ${msg}\n`); process.exit(2); };
if (!target) fail('give a run directory (with report/index.html) or an index.html');
const file = existsSync(target) && statSync(target).isDirectory() ? join(target, 'report', 'index.html') : target;
if (!existsSync(file)) fail(`no page at '${file}': build it with \`archbench report DIR\``);
const { pageBytes, pageBytesText } = await import('../reports/page-bytes.ts');
const { unfold } = await import('../reports/html.ts');
const html = readFileSync(file, 'utf8');
process.stdout.write(`${file}\n${pageBytesText(pageBytes(args.includes('--unfolded') ? unfold(html) : html))}\n`);

// `archbench report [DIR]`: (re)builds DIR/report/: index.html (self-contained), figures/*.vl.json,
// *.svg, *.png and, for a reproduce run, the papers' tables and the claims ledger.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { readRecordsStrict } from '../../harness/store.ts';
import { UsageError } from '../../harness/errors.ts';
import { buildReport } from '../../reports/build.ts';

/** The most recently modified run directory under runs/ (for `archbench report` with no argument). */
export function latestRun(root = 'runs'): string | undefined {
  if (!existsSync(root)) return undefined;
  return readdirSync(root)
    .map((d) => join(root, d))
    .filter((d) => existsSync(join(d, 'records.jsonl')))
    .sort((a, b) => statSync(join(b, 'records.jsonl')).mtimeMs - statSync(join(a, 'records.jsonl')).mtimeMs)[0];
}

/** A run directory given by the user: it must hold whole records of this schema (none torn). */
export function checkRunDir(dir: string, what = 'run directory'): string {
  if (!existsSync(dir)) throw new UsageError(`${what} '${dir}' does not exist`);
  if (!existsSync(join(dir, 'records.jsonl')) || readRecordsStrict(dir, what).length === 0) throw new UsageError(`${what} '${dir}' holds no records (records.jsonl)`);
  return dir;
}

export function register(program: Command, out: (s: string) => void): void {
  program.command('report')
    .description('(re)build DIR/report/: index.html, figures/*.vl.json, *.svg, *.png (and paper tables for a reproduce run)')
    .argument('[dir]', 'run directory (default: the latest under runs/)')
    .option('--json', 'print {index, bytes, figures, errors} as JSON')
    .action(async (dirArg: string | undefined, opts: { json?: boolean }) => {
      const dir = dirArg ?? latestRun();
      if (!dir) throw new UsageError('no run directory given and none under runs/');
      checkRunDir(dir);
      const r = await buildReport(dir, { log: (s) => process.stderr.write(`${s}\n`) });
      if (opts.json) out(`${JSON.stringify({ index: r.index, bytes: r.bytes, figures: r.figures, errors: r.errors, text_measure: r.textMeasure })}\n`);
      else {
        for (const e of r.errors) process.stderr.write(`warning: ${e}\n`);
        out(`${r.index} (${(r.bytes / 1024).toFixed(0)} KiB, ${r.figures.length} figures in ${join(dir, 'report', 'figures')})\n`);
      }
    });
}

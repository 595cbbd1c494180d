// `archbench compare BASELINE CURRENT`: per-metric change judged against noise; exit 1 on a regression.
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../harness/errors.ts';
import { prepareDir, readRecords } from '../../harness/store.ts';
import { compareRuns, compareText, DEFAULT_COMPARE } from '../../reports/compare.ts';
import { checkRunDir } from './report.ts';

function fraction(option: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(v.trim());
  if (!m) throw new UsageError(`${option} must be a fraction (0.1) or a percentage (10%), got '${v}'`);
  const x = m[2] ? Number(m[1]) / 100 : Number(m[1]);
  if (!(x > 0 && x < 10)) throw new UsageError(`${option} must be above 0, got '${v}'`);
  return x;
}

export function register(program: Command, out: (s: string) => void): void {
  program.command('compare')
    .description('per-metric comparison of two runs with noise-aware bands; exit 1 on a regression')
    .argument('<baseline>', 'baseline run directory')
    .argument('<current>', 'current run directory')
    .option('--threshold <x>', 'relative threshold for latency, memory and throughput (0.1 or 10%)', String(DEFAULT_COMPARE.threshold))
    .option('--band <x>', 'relative band for accuracy/bpb-type metrics when neither run has an interval (one seed)', String(DEFAULT_COMPARE.band))
    .option('--all', 'list every measurement, not only the changes')
    .option('--json', 'print the verdicts as one JSON object')
    .option('--save <file>', 'also write the verdicts as JSON to this file')
    .action((baseline: string, current: string, opts: { threshold: string; band: string; all?: boolean; json?: boolean; save?: string }) => {
      const threshold = fraction('--threshold', opts.threshold);
      const band = fraction('--band', opts.band);
      checkRunDir(baseline, 'baseline');
      checkRunDir(current, 'current run');
      if (opts.save) {
        if (existsSync(opts.save) && statSync(opts.save).isDirectory()) throw new UsageError(`--save '${opts.save}' is a folder; give a file name`);
        prepareDir('--save', dirname(opts.save));
      }
      const r = compareRuns(readRecords(baseline), readRecords(current), { threshold, band });
      const json = `${JSON.stringify({ baseline, current, regression: r.regressions > 0, ...r }, null, 1)}\n`;
      if (opts.save) writeFileSync(opts.save, json);
      if (opts.json) out(json);
      else out(compareText(r, opts.all));
      process.exitCode = r.regressions > 0 ? 1 : 0;
    });
}

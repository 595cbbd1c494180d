// `archbench analyze icl RUN_DIR [archA archB]`: the icl suite's tables from a run's records (order
// robustness, the paired spread comparison of two architectures, structured against conventional ICL).
// `archbench analyze time RUN_DIR`: where the run's wall time went, per suite (training vs the rest).
// `archbench analyze SUITE RUN_DIR` for a suite that declares methods (Suite.methods: forgetting,
// selfimprove): the metric by method per architecture, and the declared pairs compared over seeds.
// As markdown or, with --json, as one JSON object.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { UsageError, invalid } from '../../harness/errors.ts';
import { readRecords } from '../../harness/store.ts';
import { iclAnalysis, markdown } from '../../reports/icl-analysis.ts';
import { methodAnalysis, methodMarkdown } from '../../reports/method-analysis.ts';
import { type RunClock, timeMarkdown, timeTable } from '../../reports/time-table.ts';
import { getSuite, suiteNames } from '../../suites/index.ts';
import { checkRunDir } from './report.ts';

/** icl, time, and every suite that declares the methods it compares. */
const analyses = (): string[] => ['icl', 'time', ...suiteNames().filter((s) => getSuite(s)?.methods)];

/** The report's build time, which reproduce writes into reproduce.json; null when absent. */
function reportSeconds(dir: string): number | null {
  const path = join(dir, 'reproduce.json');
  if (!existsSync(path)) return null;
  const v = (JSON.parse(readFileSync(path, 'utf8')) as { report_seconds?: unknown }).report_seconds;
  return typeof v === 'number' ? v : null;
}

/** The run's time on the clock (manifest start to end) and its jobs; null while it is unfinished or when it was resumed (the pauses are unknown). */
function runClock(dir: string): RunClock | null {
  const path = join(dir, 'manifest.json');
  if (!existsSync(path)) return null;
  const m = JSON.parse(readFileSync(path, 'utf8')) as { start_time?: string; end_time?: string | null; resumed?: unknown[]; config?: { jobs?: number } };
  if (!m.start_time || !m.end_time || (m.resumed?.length ?? 0) > 0) return null;
  return { seconds: (Date.parse(m.end_time) - Date.parse(m.start_time)) / 1000, jobs: m.config?.jobs ?? 1 };
}

export function register(program: Command, out: (s: string) => void): void {
  program.command('analyze')
    .description(`analysis tables from a run's records (icl: order robustness, paired spread comparison, structured vs conventional; time: wall time per suite, training vs the rest; ${analyses().slice(2).join(', ')}: methods by architecture, paired over seeds)`)
    .argument('<suite>', `one of ${analyses().join(', ')}`)
    .argument('<dir>', 'run directory')
    .argument('[archs...]', 'two architectures whose order spread to compare (archA archB)')
    .option('--json', 'print the tables as one JSON object')
    .action((suite: string, dir: string, archs: string[], opts: { json?: boolean }) => {
      if (!analyses().includes(suite)) invalid('analysis', suite, analyses());
      if (suite !== 'icl' && archs.length) throw new UsageError(`analyze ${suite} takes no architectures, got: ${archs.join(' ')}`);
      const methods = getSuite(suite)?.methods;
      if (methods) {
        const records = readRecords(checkRunDir(dir)).filter((r) => r.suite === suite);
        if (!records.some((r) => r.metric === methods.metric)) throw new UsageError(`run directory '${dir}' holds no ${suite} records`);
        const analysis = methodAnalysis(records, suite, methods);
        out(opts.json ? `${JSON.stringify(analysis)}\n` : `${methodMarkdown(analysis)}\n`);
        return;
      }
      if (suite === 'time') {
        const all = readRecords(checkRunDir(dir));
        if (!all.some((r) => r.metric === 'wall_time')) throw new UsageError(`run directory '${dir}' holds no finished unit`);
        const table = timeTable(all, reportSeconds(dir), runClock(dir));
        out(opts.json ? `${JSON.stringify(table)}\n` : `${timeMarkdown(table)}\n`);
        return;
      }
      if (archs.length !== 0 && archs.length !== 2) throw new UsageError(`analyze ${suite} compares two architectures (archA archB), got ${archs.length}: ${archs.join(' ')}`);
      const records = readRecords(checkRunDir(dir)).filter((r) => r.suite === suite);
      const present = [...new Set(records.map((r) => r.arch))].sort();
      if (present.length === 0) throw new UsageError(`run directory '${dir}' holds no ${suite} records`);
      for (const a of archs) if (!present.includes(a)) throw new UsageError(`architecture '${a}' has no ${suite} records in '${dir}'; valid: ${present.join(', ')}`);
      const analysis = iclAnalysis(records, archs.length === 2 ? [archs[0]!, archs[1]!] : undefined);
      out(opts.json ? `${JSON.stringify(analysis)}\n` : `${markdown(analysis)}\n`);
    });
}

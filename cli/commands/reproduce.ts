// `archbench reproduce [paper...]`: runs the suites each paper's tables need (all papers when none is
// named), then writes the papers' tables (Markdown and HTML), the claims ledger and the report. A paper
// whose suite or architecture does not exist yet is listed as "not yet measurable", never skipped.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { architectureNames } from '../../architectures/index.ts';
import { buildReport, type ReproduceInfo } from '../../reports/build.ts';
import { shownVerdict, verdictCounts } from '../../reports/claims.ts';
import { loadPapers, paperNames, paperNeeds, type Paper } from '../../reports/papers.ts';
import { suiteNames } from '../../suites/index.ts';
import { backendLine, selectBackend } from '../../harness/backend.ts';
import { loadCorpus } from '../../harness/data/corpus.ts';
import { invalid, parsePositiveInt, plural } from '../../harness/errors.ts';
import { PRESET_NAMES } from '../../harness/presets.ts';
import { run } from '../runner.ts';
import { writeJsonAtomic } from '../../harness/store.ts';
import { JOBS_HELP, backendOption, checkPreset, prepareOutput } from './run.ts';
import { defaultJobs } from '../jobs.ts';

/** Default seeds: 3 (paired comparisons need more than one); 1 on tiny, which is for tests and CI. */
export const defaultSeeds = (preset: string): number => (preset === 'tiny' ? 1 : 3);

export interface Plan {
  suites: string[];
  archs: string[];
  /** Per suite, the architectures some paper needs it on (the units reproduce runs). */
  pairs: Record<string, string[]>;
  perPaper: { paper: Paper; suites: string[]; archs: string[]; missingSuites: string[]; missingArchs: string[] }[];
}

/** What to run for these papers: each registered suite on the registered architectures some paper needs it on (registry order). */
export function plan(papers: Paper[]): Plan {
  const registeredSuites = suiteNames(), registeredArchs = architectureNames();
  const pairs: Record<string, string[]> = {};
  const perPaper = papers.map((paper) => {
    const needs = paperNeeds(paper);
    for (const [suite, archs] of Object.entries(needs.pairs)) {
      if (!registeredSuites.includes(suite)) continue;
      pairs[suite] = registeredArchs.filter((a) => pairs[suite]?.includes(a) || archs.includes(a));
    }
    return {
      paper,
      suites: needs.suites.filter((s) => registeredSuites.includes(s)),
      archs: needs.archs.filter((a) => registeredArchs.includes(a)),
      missingSuites: needs.suites.filter((s) => !registeredSuites.includes(s)),
      missingArchs: needs.archs.filter((a) => !registeredArchs.includes(a)),
    };
  });
  const runnable = perPaper.filter((p) => p.suites.length && p.archs.length);
  const suites = registeredSuites.filter((s) => runnable.some((p) => p.suites.includes(s)));
  const archs = registeredArchs.filter((a) => runnable.some((p) => p.archs.includes(a)));
  return { suites, archs, pairs: Object.fromEntries(suites.map((s) => [s, (pairs[s] ?? []).filter((a) => archs.includes(a))])), perPaper };
}

/** One line of paper coverage: how many papers are fully measurable, and what the others lack. */
export function coverageLine(p: Plan): string {
  const partial = p.perPaper.filter((pp) => pp.missingSuites.length || pp.missingArchs.length);
  const lacks = partial.map((pp) => `${pp.paper.id} (${[...pp.missingSuites.map((s) => `suite ${s}`), ...pp.missingArchs.map((a) => `architecture ${a}`)].join(', ')})`);
  return `papers: ${p.perPaper.length - partial.length} of ${p.perPaper.length} fully measurable${partial.length ? `; not yet measurable in part: ${lacks.join(', ')}` : ''}`;
}

export function register(program: Command, out: (s: string) => void): void {
  program.command('reproduce')
    .description("runs what each paper's tables need, writes the tables, the claims ledger and the report")
    .argument('[paper...]', `papers (all when none named): ${paperNames().join(', ')}`)
    .option('--preset <name>', `one of ${PRESET_NAMES.join(', ')}`, 'small')
    .option('--seeds <n>', 'number of seeds (default: 3; 1 on the tiny preset)')
    .addOption(backendOption())
    .option('--out <dir>', 'run directory (default runs/reproduce-<preset>-<time>); resumes in an existing one')
    .option('--corpus <path>', "text file or folder, or 'default'", 'default')
    .option('--cache <dir>', 'model cache directory', process.env.ARCHBENCH_CACHE ?? '.cache/archbench')
    .option('--jobs <n>', JOBS_HELP)
    .option('--json', 'print the claims ledger as JSON lines when done')
    .action(async (names: string[], opts: Record<string, string | boolean | undefined>) => {
      const all = loadPapers();
      for (const n of names) if (!all.some((p) => p.id === n)) invalid('paper', n, all.map((p) => p.id));
      const papers = names.length ? all.filter((p) => names.includes(p.id)) : all;
      const preset = checkPreset(opts.preset as string);
      const seeds = opts.seeds === undefined ? defaultSeeds(preset) : parsePositiveInt('--seeds', opts.seeds as string);
      const jobsAsked = opts.jobs === undefined ? undefined : parsePositiveInt('--jobs', opts.jobs as string);
      loadCorpus(opts.corpus as string);
      const p = plan(papers);
      const outDir = (opts.out as string) || join('runs', `reproduce-${preset}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
      prepareOutput(outDir, opts.cache as string, preset);
      const log = (s: string) => process.stderr.write(`${s}\n`);
      log(coverageLine(p));
      const t0 = performance.now();
      if (p.suites.length && p.archs.length) {
        const backend = await selectBackend(opts.backend as string);
        log(`${backendLine(backend)}; running what the papers need, ${plural(seeds, 'seed')}, preset ${preset}: ${p.suites.map((s) => `${s} on ${p.pairs[s]!.join(', ')}`).join('; ')}`);
        const result = await run({
          suites: p.suites, archs: p.archs, pairs: p.pairs, preset, seeds, out: outDir, corpus: opts.corpus as string, cacheDir: opts.cache as string,
          match: 'params', command: process.argv.slice(2).join(' '), jobs: jobsAsked ?? defaultJobs(),
        });
        if (result.interrupted) {
          process.exitCode = 130; // the report is built when the run completes
          return;
        }
      } else {
        log('nothing runnable yet: every paper is not yet measurable');
      }
      mkdirSync(outDir, { recursive: true });
      const info: ReproduceInfo = { papers: papers.map((x) => x.id), preset, seeds, time: new Date().toISOString() };
      writeJsonAtomic(join(outDir, 'reproduce.json'), info);
      const tReport = performance.now();
      const r = await buildReport(outDir, { log });
      writeJsonAtomic(join(outDir, 'reproduce.json'), { ...info, report_seconds: +((performance.now() - tReport) / 1000).toFixed(1) });
      for (const e of r.errors) log(`warning: ${e}`);
      const claims = r.papers.flatMap((x) => x.claims);
      if (opts.json) for (const c of claims) out(`${JSON.stringify(c)}\n`);
      else {
        for (const x of r.papers) {
          out(`${x.paper.id} (${x.status})\n`);
          for (const c of x.claims) out(`  ${shownVerdict(c.verdict, preset).padEnd(21)} ${c.text}\n${' '.repeat(24)}${c.why}\n`);
        }
        out(`${verdictCounts(r.papers, preset)}\n`);
        out(`report ${r.index}; ledger ${join(outDir, 'report', 'claims.md')}; tables ${join(outDir, 'report', 'papers')}/ (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
      }
      if (!existsSync(r.index)) throw new Error('report was not written');
    });
}

// `archbench run [suite...]`: suites x architectures x seeds into a run directory (resumable).
import { join } from 'node:path';
import { type Command, Option } from 'commander';
import { architectureNames, mainArchitectureNames } from '../../architectures/index.ts';
import { suiteNames } from '../../suites/index.ts';
import { BACKENDS, backendLine, selectBackend } from '../../harness/backend.ts';
import { loadCorpus } from '../../harness/data/corpus.ts';
import { UsageError, parseNames, parsePositiveInt, plural } from '../../harness/errors.ts';
import { PRESETS, PRESET_NAMES } from '../../harness/presets.ts';
import { checkResumable, prepareDir } from '../../harness/store.ts';
import { run } from '../runner.ts';
import { defaultJobs } from '../jobs.ts';

export const JOBS_HELP = 'units run at once, each in its own process with the cores shared out (default: one per core, at most 8, on CPU backends; 1 on webgpu)';

export function parseShard(v: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(v);
  if (!m || Number(m[1]) < 1 || Number(m[1]) > Number(m[2])) throw new UsageError(`--shard must be i/n with 1 <= i <= n, got '${v}'`);
  return { index: Number(m[1]), count: Number(m[2]) };
}

export function checkPreset(p: string): string {
  if (!PRESETS[p]) throw new UsageError(`unknown preset '${p}'; valid: ${PRESET_NAMES.join(', ')}`);
  return p;
}

/** Before any work: the run and cache folders can be written, and a run resumed in --out is of this preset. */
export function prepareOutput(out: string, cache: string, preset: string): void {
  const undo = prepareDir('--out', out);
  try {
    checkResumable(out, preset);
    prepareDir('--cache', cache);
  } catch (e) {
    undo(); // bad input writes nothing
    throw e;
  }
}

export const backendOption = (): Option => new Option('--backend <name>', 'tfjs backend').choices(BACKENDS as unknown as string[]).default('auto');

export function register(program: Command, out: (s: string) => void): void {
  program.command('run')
    .description('run suites (all when none named) on architectures (all when none named); resumes in an existing --out')
    .argument('[suite...]', `suites: ${suiteNames().join(', ')}`)
    .option('--arch <list>', `comma-separated architectures: ${mainArchitectureNames().join(', ')}; ablation rows (run only when named): ${architectureNames().filter((a) => !mainArchitectureNames().includes(a)).join(', ')}`)
    .option('--preset <name>', `one of ${PRESET_NAMES.join(', ')}`, 'small')
    .option('--seeds <n>', 'number of seeds (0..n-1)', '1')
    .addOption(backendOption())
    .option('--out <dir>', 'run directory', '')
    .option('--shard <i/n>', 'run the i-th of n deterministic slices of the units')
    .option('--jobs <n>', JOBS_HELP)
    .option('--corpus <path>', "text file or folder, or 'default' (the embedded public-domain corpus)", 'default')
    .option('--cache <dir>', 'model cache directory', process.env.ARCHBENCH_CACHE ?? '.cache/archbench')
    .addOption(new Option('--match <how>', 'parameter matching').choices(['params', 'none']).default('params'))
    .option('--json', 'print the records as JSON lines when done')
    .action(async (suitesArg: string[], opts: Record<string, string | boolean | undefined>) => {
      const suites = parseNames('suite', suitesArg.length ? suitesArg.join(',') : undefined, suiteNames());
      const archs = parseNames('architecture', opts.arch as string | undefined, architectureNames(), mainArchitectureNames());
      const preset = checkPreset(opts.preset as string);
      const seeds = parsePositiveInt('--seeds', opts.seeds as string);
      const shard = opts.shard ? parseShard(opts.shard as string) : undefined;
      const jobsAsked = opts.jobs === undefined ? undefined : parsePositiveInt('--jobs', opts.jobs as string);
      loadCorpus(opts.corpus as string); // validates the corpus before anything is written
      const backend = await selectBackend(opts.backend as string);
      const outDir = (opts.out as string) || join('runs', `${preset}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
      prepareOutput(outDir, opts.cache as string, preset);
      process.stderr.write(`${backendLine(backend)}\n`);
      const result = await run({
        suites, archs, preset, seeds, out: outDir, shard, corpus: opts.corpus as string, cacheDir: opts.cache as string,
        match: opts.match as 'params' | 'none', command: process.argv.slice(2).join(' '), jobs: jobsAsked ?? defaultJobs(),
      });
      if (result.interrupted) {
        process.exitCode = 130; // 128 + SIGINT, as a shell reports a run stopped by Ctrl-C
        return;
      }
      if (opts.json) for (const r of result.records) out(`${JSON.stringify(r)}\n`);
      process.stderr.write(`done: ${plural(result.ran, 'unit')} run, ${result.skipped} already recorded, in ${outDir}\n`);
      process.stderr.write(`next: archbench report ${outDir} (the leaderboard), archbench compare BASELINE ${outDir} (against an earlier run)\n`);
    });

}

// The archbench command line (commander). Bad input: one line naming the bad value and the valid ones, exit 2.
import { join } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { architectureNames, getArchitecture } from '../architectures/index.ts';
import { getSuite, suiteNames } from '../suites/index.ts';
import { BACKENDS, selectBackend } from './backend.ts';
import { loadCorpus } from './data/corpus.ts';
import { UsageError, parseNames, parsePositiveInt } from './errors.ts';
import { PRESETS, PRESET_NAMES } from './presets.ts';
import { run } from './runner.ts';

const LISTABLE = ['archs', 'suites', 'presets'] as const;

function parseShard(v: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(v);
  if (!m || Number(m[1]) < 1 || Number(m[1]) > Number(m[2])) throw new UsageError(`--shard must be i/n with 1 <= i <= n, got '${v}'`);
  return { index: Number(m[1]), count: Number(m[2]) };
}

function checkPreset(p: string): string {
  if (!PRESETS[p]) throw new UsageError(`unknown preset '${p}'; valid: ${PRESET_NAMES.join(', ')}`);
  return p;
}

function listing(what: string): { name: string; description: string }[] {
  switch (what) {
    case 'archs': return architectureNames().map((n) => ({ name: n, description: getArchitecture(n)!.description }));
    case 'suites': return suiteNames().map((n) => ({ name: n, description: getSuite(n)!.description }));
    case 'presets': return PRESET_NAMES.map((n) => ({ name: n, description: PRESETS[n]!.description }));
    default: throw new UsageError(`unknown list '${what}'; valid: ${LISTABLE.join(', ')}`);
  }
}

export function buildProgram(out: (s: string) => void): Command {
  const program = new Command('archbench')
    .description('Train and evaluate sequence-model architectures under identical settings')
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: (s) => process.stderr.write(s), outputError: () => {} })
    .showSuggestionAfterError(false);

  program.command('list')
    .description('what is registered, one line each')
    .argument('[what]', `one of ${LISTABLE.join(', ')} (all when omitted)`)
    .option('--json', 'one JSON object per line')
    .action((what: string | undefined, opts: { json?: boolean }) => {
      for (const w of what ? [what] : LISTABLE) {
        for (const item of listing(w)) {
          out(opts.json ? `${JSON.stringify({ kind: w, ...item })}\n` : `${w.padEnd(8)} ${item.name.padEnd(14)} ${item.description}\n`);
        }
      }
    });

  program.command('run')
    .description('run suites (all when none named) on architectures (all when none named); resumes in an existing --out')
    .argument('[suite...]', `suites: ${suiteNames().join(', ')}`)
    .option('--arch <list>', `comma-separated architectures: ${architectureNames().join(', ')}`)
    .option('--preset <name>', `one of ${PRESET_NAMES.join(', ')}`, 'small')
    .option('--seeds <n>', 'number of seeds (0..n-1)', '1')
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(BACKENDS as unknown as string[]).default('auto'))
    .option('--out <dir>', 'run directory', '')
    .option('--shard <i/n>', 'run the i-th of n deterministic slices of the units')
    .option('--corpus <path>', "text file or folder, or 'default' (the embedded public-domain corpus)", 'default')
    .option('--cache <dir>', 'model cache directory', process.env.ARCHBENCH_CACHE ?? '.cache/archbench')
    .addOption(new Option('--match <how>', 'parameter matching').choices(['params', 'none']).default('params'))
    .option('--json', 'print the records as JSON lines when done')
    .action(async (suitesArg: string[], opts: Record<string, string | boolean | undefined>) => {
      const suites = parseNames('suite', suitesArg.length ? suitesArg.join(',') : undefined, suiteNames());
      const archs = parseNames('architecture', opts.arch as string | undefined, architectureNames());
      const preset = checkPreset(opts.preset as string);
      const seeds = parsePositiveInt('--seeds', opts.seeds as string);
      const shard = opts.shard ? parseShard(opts.shard as string) : undefined;
      loadCorpus(opts.corpus as string); // validates the corpus before anything is written
      const backend = await selectBackend(opts.backend as string);
      process.stderr.write(`backend ${backend.name} (${backend.provider})\n`);
      const outDir = (opts.out as string) || join('runs', `${preset}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
      const result = await run({
        suites, archs, preset, seeds, out: outDir, shard, corpus: opts.corpus as string, cacheDir: opts.cache as string,
        match: opts.match as 'params' | 'none', command: process.argv.slice(2).join(' '),
      });
      if (opts.json) for (const r of result.records) out(`${JSON.stringify(r)}\n`);
      process.stderr.write(`done: ${result.ran} units run, ${result.skipped} already recorded, ${outDir}\n`);
    });

  return program;
}

/** Runs the CLI; returns the exit code (0 ok, 1 a check failed, 2 bad input). */
export async function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const program = buildProgram(out);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      process.stderr.write(`archbench: ${e.message.replace(/^error: /, '').split('\n')[0]}\n`);
      return 2;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`archbench: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

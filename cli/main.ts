// The archbench command line (commander). Each command lives in cli/commands/; bad input is one
// line naming the bad value and the valid ones, exit 2. A disk that fills up or turns read-only is one
// line too, exit 1: the stores write whole records or nothing, so the same command rerun resumes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { COMMANDS } from './commands/index.ts';
import { UsageError } from '../harness/errors.ts';
import { ROOT } from '../harness/hash.ts';

/** The package's version (package.json), for `--version`. */
export const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

export function buildProgram(out: (s: string) => void): Command {
  const program = new Command('archbench')
    .description('Train and evaluate sequence-model architectures under identical settings')
    .version(VERSION, '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: (s) => process.stderr.write(s), outputError: () => {} })
    .showSuggestionAfterError(false);
  for (const register of COMMANDS) register(program, out);
  return program;
}

/** Write failures that come from the disk, not from a bug: no space, quota, read-only. */
const DISK_ERRORS = ['ENOSPC', 'EDQUOT', 'EROFS'];

/** Runs the CLI; returns the exit code (0 ok, 1 a check failed, 2 bad input). */
export async function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const program = buildProgram(out);
  try {
    process.exitCode = undefined; // commands signal a failed check through it; start clean for in-process calls
    await program.parseAsync(argv);
    const code = typeof process.exitCode === 'number' ? process.exitCode : 0;
    process.exitCode = undefined;
    return code;
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
    const code = (e as NodeJS.ErrnoException).code;
    if (code && DISK_ERRORS.includes(code)) {
      process.stderr.write(`archbench: cannot write: ${(e as Error).message}; nothing half-written is kept: make room and run the same command again to resume\n`);
      return 1;
    }
    throw e;
  }
}

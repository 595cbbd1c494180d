// Every CLI command, in the order `--help` lists them. Adding one: a file here and one line below.
import type { Command } from 'commander';
import { register as list } from './list.ts';
import { register as run } from './run.ts';

export const COMMANDS: ((program: Command, out: (s: string) => void) => void)[] = [list, run];

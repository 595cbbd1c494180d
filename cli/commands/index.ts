// Every CLI command, in the order `--help` lists them. Adding one: a file here and one line below.
import type { Command } from 'commander';
import { register as list } from './list.ts';
import { register as run } from './run.ts';
import { register as verify } from './verify.ts';
import { register as reproduce } from './reproduce.ts';
import { register as report } from './report.ts';
import { register as compare } from './compare.ts';
import { register as merge } from './merge.ts';
import { register as bench } from './bench.ts';
import { register as analyze } from './analyze.ts';
import { register as calibrate } from './calibrate.ts';

export const COMMANDS: ((program: Command, out: (s: string) => void) => void)[] = [list, run, verify, reproduce, report, compare, merge, bench, analyze, calibrate];

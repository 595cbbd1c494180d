// Units in parallel processes (`run` / `reproduce --jobs N`). At small sizes one training process does not
// fill two cores (a data-parallel step waits at its barriers, and evaluation and decoding run on one
// thread), while two one-thread processes do: on 2 cores, 7,000 tokens/s each against 10,100 for one
// two-worker process (small-transformer, `archbench bench`). Each job is a child process (cli/job.mjs) that
// runs its share of the units, the k-th of every N in plan order, so that which units share a process,
// and in what order, does not depend on timing; it sends each unit's records here, and this process alone
// appends them (records.jsonl is then in the order units finish). Jobs share the model cache, whose
// entries are made under a lock (harness/cache.ts). Ctrl-C reaches every job: one training checkpoints
// and stops, as in one process. A job that fails stops the others; a job whose parent is gone exits.
import { type ChildProcess, fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import * as tf from '@tensorflow/tfjs';
import { currentBackend } from '../harness/backend.ts';
import { CPU_BACKENDS } from '../harness/train/parallel.ts';
import type { ResultRecord } from '../harness/store.ts';
import type { RunOptions, Unit } from './plan.ts';

/** What the runner does when a unit starts and when its records are in (in this, the parent, process). */
export interface UnitHooks {
  /** A unit for people: `unit 2/4 (perplexity / transformer / seed 1)`. */
  name(index: number): string;
  start(index: number): void;
  done(index: number, records: ResultRecord[], elapsed: number): void;
}

export interface PlannedUnit {
  /** Index in the run's plan. */
  index: number;
  unit: Unit;
}

/** Parent to job: the units to run (once), or stop. */
export type ToJob = { type: 'run'; options: RunOptions; backend: string; units: PlannedUnit[] } | { type: 'stop' };
/** Job to parent. */
export type FromJob =
  | { type: 'start'; index: number }
  | { type: 'done'; index: number; records: ResultRecord[]; elapsed: number }
  | { type: 'stopped'; where: string }
  | { type: 'failed'; error: { name: string; message: string; code?: string; stack?: string } };

/** The default number of jobs: one per core on the CPU backends the trainer shares out (at most 8); 1 on a GPU. */
export function defaultJobs(): number {
  return CPU_BACKENDS.includes(tf.getBackend()) ? Math.min(8, availableParallelism()) : 1;
}

/** Data-parallel training threads of each of `jobs` jobs: the cores shared out, at least one. */
export function workersPerJob(jobs: number): number {
  return Math.max(1, Math.floor(availableParallelism() / jobs));
}

const ENTRY = new URL('./job.mjs', import.meta.url);

/**
 * Runs `todo` in `jobs` child processes; returns where the run was stopped (Ctrl-C), or null when every
 * unit is done. A failed unit (or an append that fails here: a full disk) stops the others and is thrown.
 */
export function runInJobs(o: RunOptions, todo: PlannedUnit[], jobs: number, hooks: UnitHooks): Promise<string | null> {
  const shares = Array.from({ length: jobs }, (_, k) => todo.filter((_, i) => i % jobs === k));
  const inFlight = new Map<number, number>(); // job -> plan index
  const children: ChildProcess[] = [];
  const stoppedIn: string[] = [];
  let failure: unknown = null, stopping = false, live = jobs;
  const stopAll = () => {
    stopping = true;
    for (const c of children) if (c.connected) c.send({ type: 'stop' } satisfies ToJob, () => undefined);
  };
  const fail = (e: unknown) => {
    failure ??= e;
    stopAll();
  };
  // Ctrl-C on a terminal reaches the jobs too; from a pipe (kill -INT) it is passed on. A second one ends them at once.
  const onSigint = () => {
    if (stopping) for (const c of children) c.kill('SIGKILL');
    else stopAll();
  };
  process.on('SIGINT', onSigint);
  const env = { ...process.env, ARCHBENCH_WORKERS: process.env.ARCHBENCH_WORKERS ?? String(workersPerJob(jobs)) };
  return new Promise<string | null>((resolve, reject) => {
    shares.forEach((share, k) => {
      const child = fork(ENTRY, [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env, execArgv: [] });
      children.push(child);
      forwardLines(child.stdout!, process.stderr); // stdout is the command's own (--json)
      forwardLines(child.stderr!, process.stderr);
      child.on('message', (m: FromJob) => {
        try {
          if (m.type === 'start') {
            inFlight.set(k, m.index);
            hooks.start(m.index);
          } else if (m.type === 'done') {
            inFlight.delete(k);
            if (failure === null) hooks.done(m.index, m.records, m.elapsed);
          } else if (m.type === 'stopped') {
            const index = inFlight.get(k);
            if (index !== undefined) stoppedIn.push(`${hooks.name(index)} ${m.where}`);
            stopping = true;
          } else fail(Object.assign(new Error(m.error.message), m.error));
        } catch (e) {
          fail(e); // e.g. the append hit a full disk
        }
      });
      // 'close', not 'exit': it comes after the last message the job sent (its stdio and IPC channel are closed)
      child.on('close', (code, signal) => {
        const index = inFlight.get(k);
        if (code === 130 || signal === 'SIGINT') { // stopped outside training, or Ctrl-C reached the job first
          if (index !== undefined && !stoppedIn.some((s) => s.startsWith(hooks.name(index)))) stoppedIn.push(hooks.name(index));
          stopping = true;
        }
        else if (code !== 0 && !stopping) fail(new Error(`job ${k + 1} of ${jobs} ended (${signal ?? `exit code ${code}`}) before its units were done`));
        if (--live > 0) return;
        process.off('SIGINT', onSigint);
        if (failure !== null) reject(failure);
        else resolve(stopping ? (stoppedIn.length ? `in ${stoppedIn.join(' and ')}` : 'between units') : null);
      });
      child.send({ type: 'run', options: o, backend: currentBackend().name, units: share } satisfies ToJob);
    });
  });
}

/** Copy a child's output to `out` line by line, so that two jobs' lines never mix within a line. */
function forwardLines(from: Readable, out: NodeJS.WriteStream): void {
  createInterface({ input: from, crlfDelay: Infinity }).on('line', (line) => out.write(`${line}\n`));
}

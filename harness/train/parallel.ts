// The data-parallel trainer over worker_threads: every participant (this thread, rank 0, and n-1 workers,
// each with its own tfjs backend and model replica) computes the gradient of its rows of the batch,
// scaled by the whole batch's mask sum, so the participants' gradients add up to the one-thread gradient.
// Shared memory and Atomics barriers carry everything, so the caller's thread stays synchronous. Opening
// a trainer posts a job to every worker and waits until each has built its replica and checked that it
// holds rank 0's parameters (barrier R); then four barriers per step:
//   D  rank 0 has staged the batch and its learning rate, or ended the job: the workers read which, and
//      start the step or return;
//   A  each participant has written its gradient to its slot and its part of the loss; then each sums the
//      slots over its own slice of the parameters only (a reduce-scatter, in rank order) and the squares of
//      that slice;
//   B  every slice's sum of squares is posted: each adds them in rank order (so every participant gets the
//      same global norm, whatever the timing), clips, and applies AdamW to its slice, writing new weights;
//   C  all new weights are written: each participant loads them.
// Results differ from the one-thread run only by float summation order. Workers are started once per
// process and reused by every trainer, one trainer at a time.
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { dryParamSignature } from '../../architectures/dry-build.ts';
import type { LanguageModel, ModelConfig } from '../../architectures/interface.ts';
import { Params } from '../../architectures/layers.ts';
import { fastPathEnabled, setFastPath } from '../../architectures/ops/fast-path.ts';
import { readFloats } from '../../architectures/ops/wasm-backend.ts';
import { getArchitecture } from '../../architectures/registry.ts';
import { selectedBackendName } from '../backend.ts';
import type { Batch } from '../data/streams.ts';
import type { PeakMeter } from '../measure.ts';
import type { TrainConfig } from '../presets.ts';
import { FlatAdamW, FlatLayout, type OptimizerState, clipScale, sumSquares } from './optim.ts';
import { type Trainer, lossAndGradients, maskSum } from './step.ts';

// Control words (Int32Array over a SharedArrayBuffer).
const COUNT = 0, GEN = 1, RUN = 2, ERR = 3; // RUN: 1 when rank 0 has staged a step, 0 when the job is over
/** Spin this many checks before sleeping in a barrier (a futex wake-up costs far more on a busy machine). */
const SPINS = 2000;
const ERR_BYTES = 2048;

/** Everything a worker needs for one trainer's job (posted to it; the buffers are shared). */
interface Job {
  rank: number;
  n: number;
  arch: string;
  config: ModelConfig;
  seed: number;
  train: TrainConfig;
  backend: string;
  fast: boolean;
  signature: string;
  batch: number;
  seq: number;
  ctrl: SharedArrayBuffer;
  nums: SharedArrayBuffer;
  tokens: SharedArrayBuffer;
  mask: SharedArrayBuffer;
  grads: SharedArrayBuffer;
  weights: SharedArrayBuffer;
  /** AdamW's two moments over the whole flat vector ([m | v]); each participant updates its slice of them. */
  moments: SharedArrayBuffer;
  /** AdamW steps already taken (0, or the step of the checkpoint resumed from). */
  t0: number;
  error: SharedArrayBuffer;
}

class Aborted extends Error {}

/** Shared views of a job's buffers. */
class Shared {
  readonly ctrl: Int32Array;
  /**
   * [0, n): loss parts; n: the learning rate; n + 1: the loss denominator; [n + 2, 2n + 2): each slice's
   * sum of squared gradients.
   */
  readonly nums: Float64Array;
  readonly tokens: Int32Array;
  readonly mask: Float32Array;
  readonly grads: Float32Array;
  readonly weights: Float32Array;
  readonly moments: { m: Float32Array; v: Float32Array };
  readonly error: Uint8Array;
  constructor(readonly job: Job, readonly stallMs = STALL_MS) {
    this.ctrl = new Int32Array(job.ctrl);
    this.nums = new Float64Array(job.nums);
    this.tokens = new Int32Array(job.tokens);
    this.mask = new Float32Array(job.mask);
    this.grads = new Float32Array(job.grads);
    this.weights = new Float32Array(job.weights);
    const P = this.weights.length;
    this.moments = { m: new Float32Array(job.moments, 0, P), v: new Float32Array(job.moments, 4 * P, P) };
    this.error = new Uint8Array(job.error);
  }

  /** Wait until all n participants arrive. Throws Aborted when a participant has failed. */
  barrier(): void {
    const { ctrl } = this;
    const gen = Atomics.load(ctrl, GEN);
    if (Atomics.add(ctrl, COUNT, 1) === this.job.n - 1) {
      Atomics.store(ctrl, COUNT, 0);
      Atomics.add(ctrl, GEN, 1);
      Atomics.notify(ctrl, GEN);
      return;
    }
    for (let i = 0; i < SPINS; i++) if (Atomics.load(ctrl, GEN) !== gen) return;
    const t0 = Date.now();
    while (Atomics.load(ctrl, GEN) === gen) {
      if (Atomics.load(ctrl, ERR) !== 0) throw new Aborted(this.errorMessage());
      Atomics.wait(ctrl, GEN, gen, 100);
      if (Date.now() - t0 > this.stallMs) {
        this.fail(`rank ${this.job.rank}: no progress for ${this.stallMs / 1000} s`);
        throw new Aborted(this.errorMessage());
      }
    }
  }

  /** Record a failure (the first one wins) and wake everyone. */
  fail(message: string): void {
    if (Atomics.compareExchange(this.ctrl, ERR, 0, this.job.rank + 1) === 0) {
      const bytes = new TextEncoder().encode(message).subarray(0, ERR_BYTES);
      this.error.set(bytes);
    }
    Atomics.notify(this.ctrl, GEN);
  }

  errorMessage(): string {
    const end = this.error.indexOf(0);
    return new TextDecoder().decode(this.error.slice(0, end < 0 ? undefined : end)) || 'a data-parallel worker failed';
  }

  /** Rows [lo, hi) of the batch that `rank` computes. */
  rows(rank: number): [number, number] {
    const { batch, n } = this.job;
    return [Math.floor((rank * batch) / n), Math.floor(((rank + 1) * batch) / n)];
  }

  /** Elements [lo, hi) of the flat parameter vector whose AdamW update `rank` computes. */
  slice(rank: number): [number, number] {
    const total = this.weights.length, n = this.job.n;
    return [Math.floor((rank * total) / n), Math.floor(((rank + 1) * total) / n)];
  }

  /**
   * Stage batch `b` and its learning rate (rank 0). The workers have read the previous batch: each takes
   * its shard before barrier A, and rank 0 stages only after the step's barrier C.
   */
  stage(b: Batch, lr: number): void {
    const { batch, seq, n } = this.job;
    if (b.batch !== batch || b.seq !== seq) throw new Error(`batch shape ${b.batch}x${b.seq} (this trainer takes ${batch}x${seq})`);
    this.tokens.set(b.tokens);
    this.mask.set(b.mask);
    this.nums[n] = lr;
    this.nums[n + 1] = Math.max(1, maskSum(b));
  }

  /** This participant's rows of the staged batch. */
  shard(): Batch | null {
    const [lo, hi] = this.rows(this.job.rank);
    if (hi <= lo) return null;
    const { seq } = this.job;
    return {
      batch: hi - lo, seq,
      tokens: this.tokens.slice(lo * (seq + 1), hi * (seq + 1)),
      mask: this.mask.slice(lo * seq, hi * seq),
    };
  }

  /**
   * One step for this participant on the staged batch: gradients of its shard, barrier A, the sum of all
   * slots over its slice, barrier B, clipping by the global norm and AdamW on its slice, barrier C, then
   * all the new weights into `model`. Returns the whole batch's loss; when it is not finite, every
   * participant returns before B without updating anything. `sum` holds this slice's summed gradient.
   */
  step(model: LanguageModel, layout: FlatLayout, opt: FlatAdamW, sum: Float32Array): number {
    const { rank, n } = this.job;
    const P = layout.total;
    const lr = this.nums[n]!, denom = this.nums[n + 1]!;
    const shard = this.shard();
    const mine = this.grads.subarray(rank * P, (rank + 1) * P);
    if (shard) {
      // the gradients of this rank's rows, scaled by the whole batch's mask sum; read synchronously (CPU only)
      const { value, grads } = lossAndGradients(model, shard, denom);
      layout.write(grads, mine);
      this.nums[rank] = readFloats(value)[0]!;
      tf.dispose([value, ...Object.values(grads)]);
    } else {
      mine.fill(0);
      this.nums[rank] = 0;
    }
    this.barrier(); // A
    let loss = 0;
    for (let r = 0; r < n; r++) loss += this.nums[r]!;
    if (!Number.isFinite(loss)) return loss;
    const [lo, hi] = this.slice(rank);
    sum.set(this.grads.subarray(lo, hi));
    for (let r = 1; r < n; r++) {
      const src = this.grads.subarray(r * P + lo, r * P + hi);
      for (let i = 0; i < src.length; i++) sum[i]! += src[i]!;
    }
    this.nums[n + 2 + rank] = sumSquares(sum);
    this.barrier(); // B
    let squares = 0;
    for (let r = 0; r < n; r++) squares += this.nums[n + 2 + r]!;
    opt.apply(sum, this.weights, lr, clipScale(Math.sqrt(squares), this.job.train.clip));
    this.barrier(); // C
    layout.assign(model.params.vars, this.weights);
    return loss;
  }
}

/** A participant gives up after this long without reaching a barrier (a crashed peer, say). */
const STALL_MS = 15 * 60 * 1000;

// ---------------------------------------------------------------------------------------------------
// Rank 0: the pool and the trainer

interface PoolWorker {
  worker: Worker;
  ready: Int32Array;
}

let pool: { backend: string; workers: PoolWorker[] } | null = null;

/** Start (or reuse) `count` workers on `backend`; waits until each has its backend up. */
function workersFor(backend: string, count: number): PoolWorker[] | { problem: string } {
  if (pool && pool.backend !== backend) {
    for (const w of pool.workers) void w.worker.terminate();
    pool = null;
  }
  pool ??= { backend, workers: [] };
  while (pool.workers.length < count) {
    const ready = new Int32Array(new SharedArrayBuffer(4 + ERR_BYTES));
    const worker = new Worker(new URL('./worker.mjs', import.meta.url), {
      workerData: { backend, ready: ready.buffer },
      stdout: false, stderr: false,
    });
    worker.unref();
    pool.workers.push({ worker, ready });
  }
  const t0 = Date.now();
  for (const w of pool.workers.slice(0, count)) {
    while (Atomics.load(w.ready, 0) === 0) {
      Atomics.wait(w.ready, 0, 0, 100);
      if (Date.now() - t0 > 120_000) return { problem: 'the workers did not start within 120 s' };
    }
    if (Atomics.load(w.ready, 0) < 0) {
      const msg = new TextDecoder().decode(new Uint8Array(w.ready.buffer, 4).filter((b) => b !== 0));
      pool.workers = pool.workers.filter((x) => x !== w);
      return { problem: `a worker failed to start: ${msg}` };
    }
  }
  return pool.workers.slice(0, count);
}

/** Stop the pool's workers (tests; the workers are unref'd, so a process exits without this). */
export async function stopWorkers(): Promise<void> {
  const p = pool;
  pool = null;
  if (p) await Promise.all(p.workers.map((w) => w.worker.terminate()));
}

/** Why the model cannot be replicated in a worker, or null when it can. */
function replicationProblem(model: LanguageModel, layout: FlatLayout): string | null {
  const spec = getArchitecture(model.config.arch);
  if (!spec) return `architecture '${model.config.arch}' is not registered`;
  return dryParamSignature(spec, model.config) === layout.signature() ? null : 'a fresh build has different parameters';
}

/** Rank 0's side of a job: stages each batch, takes part in the step, and ends the job on close(). */
class ParallelTrainer implements Trainer {
  private readonly opt: FlatAdamW;
  private readonly sum: Float32Array;
  private closed = false;

  constructor(private readonly model: LanguageModel, private readonly layout: FlatLayout, private readonly shared: Shared,
              private readonly meter?: PeakMeter) {
    const [lo, hi] = shared.slice(0);
    this.opt = new FlatAdamW(shared.job.train, layout, lo, hi, shared.moments, shared.job.t0);
    this.sum = new Float32Array(hi - lo);
  }

  get workers(): number {
    return this.shared.job.n;
  }

  /** Between steps every participant has updated its slice of the shared moments: rank 0 reads them all. */
  async optimizerState(): Promise<OptimizerState> {
    return { m: this.shared.moments.m.slice(), v: this.shared.moments.v.slice(), t: this.opt.steps };
  }

  /** The weights and AdamW's two moments (shared by all participants, each updating its slice). */
  readonly parameterCopies = 3;

  /** Synchronous inside (Atomics barriers); asynchronous only to fulfil the Trainer contract. */
  async step(batch: Batch, lr: number): Promise<number> {
    if (this.closed) throw new Error('this data-parallel trainer is closed');
    const { shared } = this;
    shared.stage(batch, lr);
    try {
      Atomics.store(shared.ctrl, RUN, 1);
      shared.barrier(); // D
      this.meter?.sample();
      const loss = shared.step(this.model, this.layout, this.opt, this.sum);
      this.meter?.sample();
      return loss;
    } catch (e) {
      this.closed = true;
      if (e instanceof Aborted) throw new Error(`data-parallel training failed: ${e.message}`);
      shared.fail(`rank 0: ${e instanceof Error ? e.message : String(e)}`);
      throw e;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.shared.ctrl, RUN, 0);
    try {
      this.shared.barrier(); // D: the workers return from the job
    } catch (e) {
      throw e instanceof Aborted ? new Error(`data-parallel training failed: ${e.message}`) : e;
    }
  }
}

/** tf's backends the data-parallel trainer runs on (wasm+openblas is tf's wasm with a native GEMM). */
export const CPU_BACKENDS: readonly string[] = ['wasm', 'cpu'];

/**
 * A trainer with n participants (this thread and n-1 workers) for batches of cfg.batch rows of `seq`
 * tokens: the workers are started, have built their replicas and checked their parameters before it is
 * returned. When they cannot be used (unregistered architecture, workers failing to start or to build
 * their replica) it says why instead, having changed nothing.
 */
export function openParallelTrainer(model: LanguageModel, cfg: TrainConfig, opts: { workers: number; seq: number; meter?: PeakMeter; resume?: OptimizerState }): Trainer | { problem: string } {
  const n = opts.workers;
  // the workers share the batch through host memory and read gradients synchronously: CPU backends only
  if (!CPU_BACKENDS.includes(tf.getBackend())) return { problem: `it runs on CPU backends only, not ${tf.getBackend()}` };
  const layout = new FlatLayout(model.params.vars);
  const problem = replicationProblem(model, layout);
  if (problem) return { problem };
  const backend = selectedBackendName();
  const workers = workersFor(backend, n - 1);
  if ('problem' in workers) return workers;

  const { seq } = opts, batch = cfg.batch, P = layout.total;
  const buf = (bytes: number) => new SharedArrayBuffer(Math.max(8, bytes));
  const base: Omit<Job, 'rank'> = {
    n, arch: model.config.arch, config: model.config, seed: 0, train: cfg, backend, fast: fastPathEnabled(),
    signature: layout.signature(), batch, seq,
    ctrl: buf(64), nums: buf(8 * (2 * n + 2)), tokens: buf(4 * batch * (seq + 1)), mask: buf(4 * batch * seq),
    grads: buf(4 * n * P), weights: buf(4 * P), moments: buf(8 * P), t0: opts.resume?.t ?? 0, error: buf(ERR_BYTES),
  };
  const shared = new Shared({ ...base, rank: 0 });
  layout.read(model.params.vars, shared.weights);
  if (opts.resume) {
    shared.moments.m.set(opts.resume.m);
    shared.moments.v.set(opts.resume.v);
  }
  workers.forEach((w, i) => w.worker.postMessage({ ...base, rank: i + 1 } satisfies Job));
  try {
    shared.barrier(); // R: every replica is built and loaded
  } catch (e) {
    if (e instanceof Aborted) return { problem: `the workers could not set up (${e.message})` };
    throw e;
  }
  return new ParallelTrainer(model, layout, shared, opts.meter);
}

// ---------------------------------------------------------------------------------------------------
// Ranks 1..n-1: the worker side (started by worker.mjs)

/** Runs in a worker thread: bring up the backend, then serve jobs posted by rank 0. */
export async function workerMain(): Promise<void> {
  const { parentPort, workerData } = await import('node:worker_threads');
  const { backend, ready: readyBuf } = workerData as { backend: string; ready: SharedArrayBuffer };
  const ready = new Int32Array(readyBuf);
  try {
    const { selectBackend } = await import('../backend.ts');
    await import('../../architectures/index.ts');
    await selectBackend(backend);
  } catch (e) {
    new Uint8Array(readyBuf, 4).set(new TextEncoder().encode(e instanceof Error ? e.message : String(e)).subarray(0, ERR_BYTES - 1));
    Atomics.store(ready, 0, -1);
    Atomics.notify(ready, 0);
    return;
  }
  let current: Shared | null = null;
  process.on('exit', () => current?.fail(`rank ${current.job.rank}: worker thread exited`));
  parentPort!.on('message', (job: Job) => {
    current = new Shared(job);
    try {
      runJob(current);
    } catch (e) {
      if (!(e instanceof Aborted)) current.fail(`rank ${job.rank}: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    } finally {
      current = null;
    }
  });
  Atomics.store(ready, 0, 1);
  Atomics.notify(ready, 0);
}

function runJob(shared: Shared): void {
  const { job } = shared;
  const spec = getArchitecture(job.arch);
  if (!spec) throw new Error(`architecture '${job.arch}' is not registered in the worker`);
  const prevFast = setFastPath(job.fast);
  const model = spec.build(job.config, new Params(job.seed));
  try {
    const layout = new FlatLayout(model.params.vars);
    if (layout.signature() !== job.signature) throw new Error('the replica has different parameters');
    layout.assign(model.params.vars, shared.weights);
    const [lo, hi] = shared.slice(job.rank);
    const opt = new FlatAdamW(job.train, layout, lo, hi, shared.moments, job.t0);
    const sum = new Float32Array(hi - lo);
    shared.barrier(); // R: replicas ready
    for (;;) {
      shared.barrier(); // D: rank 0 stores RUN before it arrives here, and again only after this step's C
      if (Atomics.load(shared.ctrl, RUN) === 0) return;
      shared.step(model, layout, opt, sum);
    }
  } finally {
    model.params.dispose();
    setFastPath(prevFast);
  }
}

// Test helpers: a backend, temporary folders, and the CLI in-process or as a child process.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getArchitecture } from '../architectures/index.ts';
import { selectBackend } from '../harness/backend.ts';
import { ModelCache } from '../harness/cache.ts';
import { loadCorpus } from '../harness/data/corpus.ts';
import { evalWindows } from '../harness/data/streams.ts';
import { evaluateBpb } from '../harness/evaluate.ts';
import { ROOT } from '../harness/hash.ts';
import { corpusStream, matchedConfig, trainedModel, type TrainedModel } from '../harness/models.ts';
import { loadNativeGemm } from '../harness/native.ts';
import { PRESETS } from '../harness/presets.ts';
import { readRecords } from '../harness/store.ts';

export const useBackend = (name = 'wasm') => selectBackend(name);

/** A runIf condition that, when false, says in the test output what is skipped and why. */
export function onlyIf(ok: boolean, what: string, why: string): boolean {
  if (!ok) process.stderr.write(`skipped: ${what}: ${why}\n`);
  return ok;
}

/** The native GEMM, or why it does not load here (CI installs OpenBLAS, so there it must load). */
export const NATIVE_GEMM = loadNativeGemm();
if ('problem' in NATIVE_GEMM) process.stderr.write(`wasm+openblas is not tested here: ${NATIVE_GEMM.problem}\n`);

/** The CPU backends to hold to the same results: wasm, and wasm+openblas where its GEMM loads. */
export const CPU_BACKENDS = 'problem' in NATIVE_GEMM ? ['wasm'] : ['wasm', 'wasm+openblas'];

/** What `--backend auto` picks on these CPUs. */
export const AUTO_CPU_BACKEND = CPU_BACKENDS.at(-1)!;

export const tempDir = (prefix = 'archbench-'): string => mkdtempSync(join(tmpdir(), prefix));

/** The tiny preset's Transformer text model trained for 8 steps (or loaded) through a cache in cacheDir. */
export function tinyTextModel(cacheDir: string, seed = 0): Promise<TrainedModel> {
  const spec = getArchitecture('transformer')!;
  const { config } = matchedConfig(spec, PRESETS.tiny!, 'params');
  return trainedModel(new ModelCache(cacheDir), { spec, config, seed, stream: corpusStream(loadCorpus('default')), train: { ...PRESETS.tiny!.train, steps: 8 }, purpose: 'text' });
}

/** A model's bits per byte on the default corpus's test split (1024 tokens). */
export function testBpb(model: TrainedModel['model']): Promise<number> {
  return evaluateBpb(model, evalWindows(loadCorpus('default').splits.test, model.config.seq, 1024), 8);
}

/** Run the CLI in this process; returns the exit code and what it printed. */
export async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
  try {
    const { main } = await import('../cli/main.ts'); // loaded on first use: kernel tests need no CLI
    const code = await main(['node', 'archbench', ...args], (s) => (out += s));
    return { code, out, err };
  } finally {
    process.stderr.write = write;
  }
}

/** Start the CLI as a child process (for kill -9 tests). */
export function cliProcess(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawn(process.execPath, [join(ROOT, 'bin/archbench.js'), ...args], { cwd: ROOT, env: { ...process.env, CI: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * Run the CLI as a child process that kill -9s itself once its first unit's records are written (resume
 * tests): harness/faults.ts kill-after-append:1, so the kill lands between units however loaded the machine.
 */
export async function killAfterFirstUnit(args: string[], out: string): Promise<void> {
  const child = cliProcess(args, { ARCHBENCH_FAULT: 'kill-after-append:1' });
  child.stdout.resume();
  child.stderr.resume();
  const signal = await new Promise((r) => child.on('exit', (_code, sig) => r(sig)));
  if (signal !== 'SIGKILL' || readRecords(out).length === 0) throw new Error(`killAfterFirstUnit: the run ended by ${String(signal)} with ${readRecords(out).length} records`);
}

/** Largest absolute difference relative to the largest magnitude of b. */
export function relMax(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

// Backend choice. `auto` tries them in DESIGN.md's order; a forced backend that fails is bad input.
// `wasm+openblas` is tfjs-wasm with every matrix product of the fast paths on the system's OpenBLAS
// (harness/native.ts); it comes before plain `wasm`, and records name whichever ran. `webgpu` runs on Dawn
// (harness/webgpu.ts); `auto` takes it only on a hardware adapter, and says why when it passes one over.
import * as tf from '@tensorflow/tfjs';
import { setNativeGemm } from '../architectures/ops/wasm-backend.ts';
import { UsageError } from './errors.ts';
import { loadNativeGemm } from './native.ts';
import './quiet-cpu.ts'; // no tfjs 'install our node backend' banner
import { adapterLabel, startDawn, type AdapterFacts } from './webgpu.ts';

export const BACKENDS = ['auto', 'tensorflow', 'webgpu', 'wasm+openblas', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** Brings a backend up; returns its provider, or null when it cannot start (why goes to problems). */
type Loader = (forced: boolean) => Promise<string | null>;

/** Why backends tried before the chosen one did not start (where a loader can tell). */
let problems: string[] = [];

async function tryImport(mod: string): Promise<boolean> {
  try {
    await import(mod);
    return true;
  } catch {
    return false;
  }
}

/** setBackend's own answer counts: tf.getBackend() can name a backend that failed to start (why goes to problems). */
async function activate(name: string): Promise<boolean> {
  if (!tf.findBackend(name) && !tf.engine().registryFactory[name]) return false;
  try {
    const ok = await tf.setBackend(name);
    await tf.ready();
    if (ok && tf.getBackend() === name) return true;
    problems.push(`${name}: setBackend answered ${ok}, active ${tf.getBackend()}`);
  } catch (e) {
    problems.push(`${name}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return false;
}

const loaders: Record<Exclude<BackendName, 'auto'>, Loader> = {
  tensorflow: async () => {
    for (const mod of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
      if ((await tryImport(mod)) && (await activate('tensorflow'))) return mod;
    }
    return null;
  },
  webgpu: async (forced) => {
    try {
      adapter = await startDawn();
    } catch (e) {
      problems.push(`webgpu: ${e instanceof Error ? e.message : String(e)}`);
      return null;
    }
    if (adapter.software && !forced) {
      problems.push(`webgpu: ${adapterLabel(adapter)} is a CPU implementation (--backend webgpu forces it)`);
      return null;
    }
    return (await tryImport('@tensorflow/tfjs-backend-webgpu')) && (await activate('webgpu')) ? `@tensorflow/tfjs-backend-webgpu on Dawn: ${adapterLabel(adapter)}` : null;
  },
  'wasm+openblas': async () => {
    const gemm = loadNativeGemm();
    if ('problem' in gemm) {
      problems.push(`wasm+openblas: ${gemm.problem}`);
      return null;
    }
    if (!(await tryImport('@tensorflow/tfjs-backend-wasm')) || !(await activate('wasm'))) return null;
    setNativeGemm(gemm);
    return `@tensorflow/tfjs-backend-wasm + ${gemm.library}`;
  },
  wasm: async () => {
    setNativeGemm(null);
    return (await tryImport('@tensorflow/tfjs-backend-wasm')) && (await activate('wasm')) ? 'wasm' : null;
  },
  cpu: async () => ((await activate('cpu')) ? 'cpu' : null),
};

export interface BackendInfo {
  name: string;
  /** The package that provided it (e.g. @tensorflow/tfjs-node-gpu). */
  provider: string;
  tried: string[];
  /** Why the backends tried before it were passed over, where known (e.g. no OpenBLAS). */
  skipped: string[];
  /** The WebGPU adapter (webgpu only). */
  adapter?: AdapterFacts;
}

/** The adapter Dawn offered, once started. */
let adapter: AdapterFacts | undefined;

let current: BackendInfo | null = null;

export async function selectBackend(requested: string): Promise<BackendInfo> {
  if (!(BACKENDS as readonly string[]).includes(requested)) {
    throw new UsageError(`unknown backend '${requested}'; valid: ${BACKENDS.join(', ')}`);
  }
  const order = requested === 'auto' ? BACKENDS.slice(1) : [requested as Exclude<BackendName, 'auto'>];
  const tried: string[] = [];
  problems = [];
  for (const name of order as Exclude<BackendName, 'auto'>[]) {
    tried.push(name);
    const provider = await loaders[name](requested !== 'auto');
    if (provider) {
      current = { name, provider, tried, skipped: problems, ...(name === 'webgpu' ? { adapter } : {}) };
      return current;
    }
  }
  throw new UsageError(`backend '${requested}' is not available on this machine; tried: ${tried.join(', ')}${problems.length ? ` (${problems.join('; ')})` : ''}`);
}

export function currentBackend(): BackendInfo {
  if (!current) throw new Error('no backend selected');
  return current;
}

/** "backend NAME (PROVIDER)", and why earlier backends were passed over: one line for logs. */
export function backendLine(b: BackendInfo): string {
  return `backend ${b.name} (${b.provider})${b.skipped.length ? `; passed over ${b.skipped.join('; ')}` : ''}`;
}

/** The selected backend's name (e.g. wasm+openblas), or tf's own when none was selected through here. */
export function selectedBackendName(): string {
  return current?.name ?? tf.getBackend();
}

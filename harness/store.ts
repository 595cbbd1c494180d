// The result store: DIR/manifest.json, DIR/records.jsonl (appended atomically, one write per unit),
// DIR/results.csv (the same records flattened). A torn write from a killed run is cut back to the last
// whole unit when the run resumes; the commands that only read a run (report, compare, merge) refuse it. A write
// that fails (a full disk) leaves no half-written record, manifest or csv behind.
import { accessSync, closeSync, constants, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { UsageError, namingPath } from './errors.ts';
import { appendWithFaults } from './faults.ts';

/** The version of the record format (above) and of manifest.json, written into the manifest as `schema`. */
export const RECORDS_SCHEMA = 1;

export type Dims = Record<string, number | string | boolean>;

export interface ResultRecord {
  suite: string;
  arch: string;
  seed: number;
  preset: string;
  metric: string;
  value: number;
  unit: string;
  ci95?: [number, number] | null;
  dims: Dims;
  params: number;
  backend: string;
  /** The WebGPU adapter the unit ran on ('vendor device (driver)'), on webgpu only. */
  adapter?: string;
  elapsed_s: number;
  time: string;
  /** 'floor' / 'ceiling' when an accuracy cannot discriminate; 'diverged' / 'skipped' for units that did not finish. */
  flag?: string;
  note?: string;
}

export const unitKey = (r: { suite: string; arch: string; seed: number }): string => `${r.suite}|${r.arch}|${r.seed}`;

export function readRecords(dir: string): ResultRecord[] {
  const path = join(dir, 'records.jsonl');
  if (!existsSync(path)) return [];
  const out: ResultRecord[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as ResultRecord);
    } catch {
      break; // a torn tail from a killed run: everything after it belongs to an unfinished unit
    }
  }
  return out;
}

/** The fields every record has, with their JSON types. */
const RECORD_FIELDS: [keyof ResultRecord, string][] = [
  ['suite', 'string'], ['arch', 'string'], ['seed', 'number'], ['preset', 'string'], ['metric', 'string'], ['unit', 'string'],
];

/**
 * The records of a run given to a command that only reads it: every line must be a whole record of this
 * schema, so a torn last line (a run killed mid-write, not resumed) or another format is a UsageError.
 */
export function readRecordsStrict(dir: string, what = 'run directory'): ResultRecord[] {
  const path = join(dir, 'records.jsonl');
  const manifest = readManifest(dir, what);
  const schema = manifest?.schema ?? RECORDS_SCHEMA; // runs from before the field existed wrote schema 1
  if (schema !== RECORDS_SCHEMA) throw new UsageError(`${what} '${dir}' holds records of schema ${JSON.stringify(schema)}; this archbench reads schema ${RECORDS_SCHEMA}`);
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n');
  if (lines.at(-1) !== '') throw new UsageError(`'${path}' line ${lines.length} is truncated (a run killed mid-write); resume the run with the same --out to repair it`);
  return lines.slice(0, -1).filter((l) => l.trim()).map((line, i) => {
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new UsageError(`'${path}' line ${i + 1} is not JSON`);
    }
    for (const [field, type] of RECORD_FIELDS) {
      if (typeof r?.[field] !== type) throw new UsageError(`'${path}' line ${i + 1}: '${field}' must be a ${type} (records of schema ${RECORDS_SCHEMA}), got ${JSON.stringify(r?.[field])}`);
    }
    // JSON has no NaN: a measurement that could not be taken (flagged) is written as null
    if (typeof r.value !== 'number' && r.value !== null) throw new UsageError(`'${path}' line ${i + 1}: 'value' must be a number or null (records of schema ${RECORDS_SCHEMA}), got ${JSON.stringify(r.value)}`);
    return r as unknown as ResultRecord;
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- manifests are plain JSON read back
export type Manifest = Record<string, any>;

/** DIR/manifest.json, or null when there is none; a UsageError when it is not a JSON object. */
export function readManifest(dir: string, what = 'run directory'): Manifest | null {
  const path = join(dir, 'manifest.json');
  if (!existsSync(path)) return null;
  let m: unknown;
  try {
    m = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`${what} '${dir}': manifest.json is not valid JSON (${(e as Error).message})`);
  }
  if (!m || typeof m !== 'object' || Array.isArray(m)) throw new UsageError(`${what} '${dir}': manifest.json is not a JSON object`);
  return m as Manifest;
}

/**
 * Check, before any work, that `dir` can take output: create it folder by folder (a recursive mkdirSync
 * loops forever under /proc) and see that it is a writable folder. A UsageError names the option and path.
 * Returns a function that removes the folders it created (for a later check that fails).
 */
export function prepareDir(option: string, dir: string): () => void {
  const missing: string[] = [];
  let at = resolve(dir);
  while (!existsSync(at)) {
    missing.unshift(at);
    if (dirname(at) === at) break;
    at = dirname(at);
  }
  const bad = (why: string): never => {
    throw new UsageError(`${option} '${dir}' cannot be used: ${why}; give a writable folder`);
  };
  if (!statSync(at).isDirectory()) bad(`'${at}' is not a folder`);
  try {
    accessSync(at, constants.W_OK);
  } catch {
    bad(`'${at}' is not writable`);
  }
  const undo = () => missing.length && rmSync(missing[0]!, { recursive: true, force: true });
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (e) {
      undo();
      bad((e as NodeJS.ErrnoException).code ?? (e as Error).message);
    }
  }
  return undo;
}

/**
 * Check, before any work, that a run directory about to be resumed is one of this preset: resuming a run
 * under another preset would mix them (units already recorded would be skipped).
 */
export function checkResumable(dir: string, preset: string): void {
  const m = readManifest(dir, '--out');
  const had = new Set([m?.preset?.name, ...readRecords(dir).map((r) => r.preset)].filter((p) => p !== undefined));
  for (const p of had) if (p !== preset) throw new UsageError(`--out '${dir}' holds a run of preset '${p}'; resume it with --preset ${p}, or give another --out`);
}

/** Write a file through a temporary one renamed into place; on failure the temporary file is removed. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = join(dirname(path), `.${path.split('/').at(-1)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw namingPath(e, path);
  }
}

const CSV_COLUMNS = ['suite', 'arch', 'seed', 'preset', 'metric', 'value', 'unit', 'ci_low', 'ci_high', 'params', 'backend', 'adapter', 'elapsed_s', 'time', 'flag', 'note'];

/** Every dims key of the rows, as CSV columns dim_<name> (sorted), and each row's values in that order ('' where absent). */
export function dimColumns(dims: (Dims | undefined)[]): { columns: string[]; values: (d: Dims | undefined) => (string | number)[] } {
  const names = [...new Set(dims.flatMap((d) => Object.keys(d ?? {})))].sort();
  return { columns: names.map((n) => `dim_${n}`), values: (d) => names.map((n) => (d?.[n] === undefined ? '' : typeof d[n] === 'boolean' ? String(d[n]) : d[n] as string | number)) };
}

/** results.csv: one row per record, dims flattened into dim_<name> columns (README: "What a run writes"). */
export function writeCsv(dir: string, records: ResultRecord[]): void {
  const dims = dimColumns(records.map((r) => r.dims));
  const rows = records.map((r) => [r.suite, r.arch, r.seed, r.preset, r.metric, r.value, r.unit, r.ci95?.[0] ?? '', r.ci95?.[1] ?? '',
    r.params, r.backend, r.adapter ?? '', r.elapsed_s, r.time, r.flag ?? '', r.note ?? '', ...dims.values(r.dims)]);
  writeFileAtomic(join(dir, 'results.csv'), stringify(rows, { header: true, columns: [...CSV_COLUMNS, ...dims.columns] }));
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

export class RunStore {
  readonly records: ResultRecord[];
  private readonly done: Set<string>;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.repairTail();
    this.records = readRecords(dir);
    this.done = new Set(this.records.map(unitKey));
  }

  /**
   * Cut a torn write (the file does not end with a newline: a kill or a full disk during appendUnit) back
   * to the last whole unit: a unit's records are one write, so the torn line goes, and so do the whole
   * lines of its unit before it. When the torn line is too short to name its unit, the last unit goes too
   * (it reruns: work repeated, never a record lost or written twice).
   */
  private repairTail(): void {
    const path = join(this.dir, 'records.jsonl');
    if (!existsSync(path)) return;
    const text = readFileSync(path, 'utf8');
    if (text === '' || text.endsWith('\n')) return;
    let cut = text.lastIndexOf('\n') + 1; // start of the torn line
    const torn = /^\{"suite":("(?:[^"\\]|\\.)*"),"arch":("(?:[^"\\]|\\.)*"),"seed":(\d+)[,}]/.exec(text.slice(cut));
    let unit = torn ? unitKey({ suite: JSON.parse(torn[1]!), arch: JSON.parse(torn[2]!), seed: Number(torn[3]) }) : undefined;
    while (cut > 0) {
      const start = text.lastIndexOf('\n', cut - 2) + 1;
      const key = unitKey(JSON.parse(text.slice(start, cut - 1)) as ResultRecord);
      unit ??= key;
      if (key !== unit) break;
      cut = start;
    }
    const fd = openSync(path, 'r+');
    ftruncateSync(fd, Buffer.byteLength(text.slice(0, cut)));
    closeSync(fd);
  }

  isDone(unit: { suite: string; arch: string; seed: number }): boolean {
    return this.done.has(unitKey(unit));
  }

  /** Append one unit's records in a single write, fsync, then refresh results.csv. A failed write is cut off. */
  appendUnit(records: ResultRecord[]): void {
    if (records.length === 0) return;
    const path = join(this.dir, 'records.jsonl');
    const fd = openSync(path, 'a');
    const size = fstatSync(fd).size;
    try {
      appendWithFaults(fd, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
      fsyncSync(fd);
    } catch (e) {
      ftruncateSync(fd, size); // no half-written unit: it reruns on resume
      throw namingPath(e, path);
    } finally {
      closeSync(fd);
    }
    this.records.push(...records);
    for (const r of records) this.done.add(unitKey(r));
    writeCsv(this.dir, this.records);
  }
}

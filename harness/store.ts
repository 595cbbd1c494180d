// The result store: DIR/manifest.json, DIR/records.jsonl (appended atomically, one write per unit),
// DIR/results.csv (the same records flattened). A truncated last line from a killed run is dropped.
import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';

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
  const tmp = join(dir, `.results.csv.${process.pid}`);
  writeFileSync(tmp, stringify(rows, { header: true, columns: [...CSV_COLUMNS, ...dims.columns] }));
  renameSync(tmp, join(dir, 'results.csv'));
}

export function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(tmp, path);
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

  /** Cut a torn last line (no trailing newline) left by a kill during a write. */
  private repairTail(): void {
    const path = join(this.dir, 'records.jsonl');
    if (!existsSync(path)) return;
    const text = readFileSync(path);
    const lastNl = text.lastIndexOf(10);
    if (lastNl === text.length - 1) return;
    const fd = openSync(path, 'r+');
    ftruncateSync(fd, lastNl + 1);
    closeSync(fd);
  }

  isDone(unit: { suite: string; arch: string; seed: number }): boolean {
    return this.done.has(unitKey(unit));
  }

  /** Append one unit's records in a single write, fsync, then refresh results.csv. */
  appendUnit(records: ResultRecord[]): void {
    if (records.length === 0) return;
    const fd = openSync(join(this.dir, 'records.jsonl'), 'a');
    try {
      writeSync(fd, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.records.push(...records);
    for (const r of records) this.done.add(unitKey(r));
    writeCsv(this.dir, this.records);
  }
}

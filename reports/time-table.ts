// Where a run's wall time went, from its records: per suite, the units' wall time split into model
// training (text and task models trained in this run; a model loaded from the cache costs nothing here)
// and everything else (evaluation, scoring, greedy decoding, loading), plus the report's build time
// from reproduce.json. For sizing presets and for the README's timings. It reads train_seconds (dims.cache
// 'hit' for a model loaded: the runner's record of the unit's text model, the scaling grid's models, latent's)
// and task_train_seconds ('cache hit' in the note: task models).
// From the command line: `archbench analyze time RUN_DIR [--json]` (cli/commands/analyze.ts).
import type { ResultRecord } from '../harness/store.ts';

export interface TimeRow {
  suite: string;
  units: number;
  /** Sum of the units' wall time (s). */
  wall: number;
  /** Seconds spent training models in this run (cache misses and rebuilds only). */
  training: number;
  /** Models trained in this run, and models loaded from the cache. */
  trained: number;
  loaded: number;
  /** wall - training: evaluation, decoding, loading and bookkeeping. */
  other: number;
}

/** A run's time on the clock, start to end, and how many units it ran at once. */
export interface RunClock {
  seconds: number;
  jobs: number;
}

export interface TimeTable {
  rows: TimeRow[];
  total: TimeRow;
  /** Seconds to build the report (reproduce only), or null when the run did not record it. */
  report: number | null;
  /** The run (units, without the report) on the clock; null when not known (unfinished or resumed). */
  clock: RunClock | null;
}

/** A training record's seconds count when its model was trained in this run, not loaded from the cache. */
function trainedHere(r: ResultRecord): boolean | null {
  if (r.metric === 'train_seconds') return r.dims.cache !== 'hit';
  if (r.metric === 'task_train_seconds') return !/cache hit\b/.test(r.note ?? '');
  return null;
}

export function timeTable(records: ResultRecord[], reportSeconds: number | null = null, clock: RunClock | null = null): TimeTable {
  const rows = new Map<string, TimeRow>();
  const row = (suite: string) => rows.get(suite) ?? rows.set(suite, { suite, units: 0, wall: 0, training: 0, trained: 0, loaded: 0, other: 0 }).get(suite)!;
  for (const r of records) {
    if (r.metric === 'wall_time') {
      const x = row(r.suite);
      x.units++;
      x.wall += r.value;
      continue;
    }
    const here = trainedHere(r);
    if (here === null) continue;
    const x = row(r.suite);
    if (here) {
      x.training += r.value;
      x.trained++;
    } else x.loaded++;
  }
  const list = [...rows.values()];
  for (const x of list) x.other = x.wall - x.training;
  const total: TimeRow = { suite: 'total', units: 0, wall: 0, training: 0, trained: 0, loaded: 0, other: 0 };
  for (const x of list) for (const k of ['units', 'wall', 'training', 'trained', 'loaded', 'other'] as const) total[k] += x[k];
  return { rows: list, total, report: reportSeconds, clock };
}

/** Seconds under two minutes, minutes above. */
const duration = (s: number): string => (s < 120 ? `${s.toFixed(1)} s` : `${(s / 60).toFixed(1)} min`);

export function timeMarkdown(t: TimeTable): string {
  const line = (x: TimeRow) => `| ${x.suite} | ${x.units} | ${duration(x.wall)} | ${duration(x.training)} | ${x.trained} / ${x.loaded} | ${duration(x.other)} |`;
  return [
    '| suite | units | wall | training | models trained / loaded | evaluation and the rest |',
    '|---|---|---|---|---|---|',
    ...t.rows.map(line),
    line(t.total),
    '',
    t.report === null ? 'report: not recorded (reproduce records its build time in reproduce.json)' : `report: ${duration(t.report)}`,
    t.clock === null ? 'on the clock: not known (the run is unfinished or was resumed)'
      : `on the clock: ${duration(t.clock.seconds)} for the units${t.clock.jobs > 1 ? `, ${t.clock.jobs} at a time (the wall column adds up each unit's own time)` : ''}`,
  ].join('\n');
}

// The dated calibration history of a suite's presets: what was measured on the reference architecture while
// a task budget was being fixed. Lab notes, kept as data in the suite's calibration.json (per preset: a note
// on how to read the figures, then the figures, newest first); the suite attaches each preset's figures to
// its settings as `calibration`, so the runner writes them into the manifest beside the settings it used.
import { readFileSync } from 'node:fs';

/** One measurement that fixed (or ruled out) a task budget. */
export interface CalibrationFigure {
  /** What was measured, on which architecture, seed and machine, and when. */
  measured: string;
  /** The task, setting and length measured, where the suite has several. */
  task?: string;
  setting?: string;
  length?: string;
  steps: number;
  batch: number;
  init: string;
  /** The reference Transformer's accuracy at the middle setting, with its Wilson interval and n. */
  accuracy: number | null;
  ci95: [number, number] | null;
  n: number | null;
  shortcut: number;
  chance: number;
  /** Other points of the learning curve or alternatives tried, as measured. */
  curve?: string;
}

export type CalibrationHistory = Record<string, { note: string; figures: CalibrationFigure[] }>;

/** A suite's calibration.json. */
export const readCalibration = (file: URL): CalibrationHistory => JSON.parse(readFileSync(file, 'utf8')) as CalibrationHistory;

/** The settings as the manifest records them: each preset's settings with its calibration figures (none: an empty list). */
export function withCalibration(settings: Record<string, object>, history: CalibrationHistory): Record<string, Record<string, unknown>> {
  return Object.fromEntries(Object.entries(settings).map(([preset, s]) => [preset, { ...s, calibration: history[preset]?.figures ?? [] }]));
}

// Records of two runs of the same units, made comparable: what depends on the clock, or on what the
// process ran before, taken out (the reliability battery's kills and determinism, and the jobs test).
import { canonicalJson } from '../harness/hash.ts';
import type { ResultRecord } from '../harness/store.ts';
import { TIMING_FIELDS, isTimingMeasurement } from '../reports/merge.ts';

/** Measured over a time budget (as many samples or decode steps as fit), so what they are differs per run. */
const TIME_BUDGETED = new Set(['machine_load_avg', 'state_bytes_after_decode', 'state_bytes_after_decode_analytic']);

/**
 * The records as canonical JSON without what depends on the clock, which no two runs share:
 * - the fields elapsed_s and time (TIMING_FIELDS: wall clock);
 * - the value, ci95 and note (sample counts, interval coverage) of timing measurements (isTimingMeasurement:
 *   latencies, rates, wall time, process RSS, process-wide tensor peaks);
 * - whole records about timings or taken over a time budget: statistics and fits of a timing measurement
 *   (dims.of names one: timing_samples, timing_rel_margin, timing_cpu_share, power_law_*) and TIME_BUDGETED;
 * - durations quoted in notes ('; 0.1 s').
 * With `afterKills`, also what depends on the process's history, since every rerun is a new process:
 * - the cache status (dims.cache, 'cache hit' in notes): a killed attempt may have trained and cached a
 *   model whose unit it did not record, and the rerun reads it as a cache hit where an uninterrupted run
 *   trained it;
 * - the values of live-tensor measurements (metrics ending in tensor_bytes: cached_tensor_bytes,
 *   unit_leaked_tensor_bytes, prefill_peak_tensor_bytes, ...): shared layers keep caches (masks, rotation
 *   tables) per process, so they count what earlier units of the same process built.
 */
export function comparable(records: ResultRecord[], afterKills = false): string[] {
  const aboutTime = (r: ResultRecord) => TIME_BUDGETED.has(r.metric) || (typeof r.dims.of === 'string' && isTimingMeasurement({ suite: r.suite, metric: r.dims.of, unit: 's' }));
  return records.filter((r) => !aboutTime(r)).map((r) => {
    const c: Record<string, unknown> = { ...r, note: r.note?.replace(/\b\d+(\.\d+)? s\b/g, '<duration>') };
    for (const f of TIMING_FIELDS) delete c[f];
    if (isTimingMeasurement(r)) delete c.value, delete c.ci95, delete c.note;
    if (afterKills) {
      c.dims = { ...r.dims, cache: undefined };
      c.note = (c.note as string | undefined)?.replace(/\bcache (trained|hit)\b/g, 'cache <status>');
      if (r.metric.endsWith('tensor_bytes')) delete c.value;
    }
    return canonicalJson(c);
  });
}

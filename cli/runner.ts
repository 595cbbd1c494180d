// Runs units (suite x architecture x seed) into a run directory, skipping units already recorded.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { getArchitecture } from '../architectures/index.ts';
import { getSuite } from '../suites/index.ts';
import type { SuiteContext } from '../suites/interface.ts';
import { type BackendInfo, currentBackend } from '../harness/backend.ts';
import { adapterLabel } from '../harness/webgpu.ts';
import { ModelCache } from '../harness/cache.ts';
import { type Corpus, loadCorpus } from '../harness/data/corpus.ts';
import { gitSha } from '../harness/hash.ts';
import { PeakMeter, machineInfo } from '../harness/measure.ts';
import { DivergedError, matchedConfig, textModelOf, type TrainedModel } from '../harness/models.ts';
import { InterruptedError, clearInterrupt, interruptRequested, requestInterrupt, trainingInFlight, yieldToEvents } from '../harness/interrupt.ts';
import { PRESETS, type Preset } from '../harness/presets.ts';
import { RunProgress, log } from '../harness/progress.ts';
import { plural } from '../harness/errors.ts';
import { RECORDS_SCHEMA, RunStore, writeJsonAtomic, type ResultRecord } from '../harness/store.ts';
import { type UnitHooks, runInJobs, workersPerJob } from './jobs.ts';
import { type RunOptions, type Unit, planUnits } from './plan.ts';
import { metricInfo } from '../reports/metrics.ts';

async function writeManifest(store: RunStore, o: RunOptions, units: Unit[], jobs: number): Promise<void> {
  const path = join(store.dir, 'manifest.json');
  const previous = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>) : null;
  const backend = currentBackend();
  const manifest = {
    ...(previous ?? {}),
    schema: RECORDS_SCHEMA,
    command: o.command,
    config: { suites: o.suites, archs: o.archs, ...(o.pairs ? { pairs: o.pairs } : {}), match: o.match, corpus: o.corpus, shard: o.shard ?? null, units: units.length,
      jobs, ...(jobs > 1 ? { training_threads_per_job: workersPerJob(jobs) } : {}) },
    preset: PRESETS[o.preset],
    suite_settings: Object.fromEntries(o.suites.map((n) => [n, getSuite(n)!.settings?.[o.preset] ?? {}])),
    seeds: Array.from({ length: o.seeds }, (_, i) => i),
    git_sha: gitSha(),
    versions: { node: process.version, tfjs: tf.version.tfjs },
    backend: backend.name,
    backend_provider: backend.provider,
    backend_passed_over: backend.skipped,
    adapter: backend.adapter ?? null,
    machine: await machineInfo(),
    start_time: (previous?.start_time as string | undefined) ?? new Date().toISOString(),
    resumed: previous ? [...((previous.resumed as string[] | undefined) ?? []), new Date().toISOString()] : [],
    end_time: null as string | null,
  };
  writeJsonAtomic(path, manifest);
}

function finishManifest(store: RunStore): void {
  const path = join(store.dir, 'manifest.json');
  const m = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  writeJsonAtomic(path, { ...m, end_time: new Date().toISOString() });
}

/** The command that resumes this run: the same one, in the same run directory. */
const resumeCommand = (o: RunOptions): string => `archbench ${o.command}${/(^| )--out[ =]/.test(o.command) ? '' : ` --out ${o.out}`}`;

export interface RunResult {
  ran: number;
  skipped: number;
  records: ResultRecord[];
  /** Stopped by SIGINT before every unit was recorded (the units run so far are). */
  interrupted: boolean;
}

export async function run(o: RunOptions): Promise<RunResult> {
  const store = new RunStore(o.out);
  const units = planUnits(o);
  const recorded = units.map((u) => store.isDone(u));
  const todo = units.flatMap((_, i) => (recorded[i] ? [] : [i]));
  const jobs = Math.max(1, Math.min(o.jobs ?? 1, todo.length));
  await writeManifest(store, o, units, jobs);
  const skipped = units.length - todo.length;
  if (skipped > 0) log(`${o.out}: ${plural(skipped, 'unit')} of ${units.length} already recorded; running the other ${todo.length}`);
  let ran = 0;
  const label = (i: number) => `${units[i]!.suite} / ${units[i]!.arch} / seed ${units[i]!.seed}`;
  const stopped = (where: string) => `stopped cleanly ${where}: ${plural(skipped + ran, 'unit')} of ${units.length} recorded in ${o.out}; resume with: ${resumeCommand(o)}`;
  const hooks: UnitHooks = {
    name: (i) => `unit ${i + 1}/${units.length} (${label(i)})`,
    start: (i) => progress.start(i, label(i)),
    done: (i, records, elapsed) => {
      store.appendUnit(records);
      progress.finished(i, elapsed);
      ran++;
    },
  };
  // with several jobs, the units of suites that run alone (they time the machine, or train on every core)
  // run here first, one at a time; then the others, N at a time
  const alone = jobs > 1 ? todo.filter((i) => getSuite(units[i]!.suite)!.alone) : todo;
  const beside = todo.filter((i) => !alone.includes(i));
  const progress = new RunProgress(units, [...recorded], process.stderr, units.map((_, i) => (beside.includes(i) ? jobs : 1)));
  if (jobs > 1) {
    log(`${alone.length ? `${plural(alone.length, 'unit')} of suites that run alone first (${[...new Set(alone.map((i) => units[i]!.suite))].join(', ')}), then ` : ''}`
      + `${plural(beside.length, 'unit')} ${jobs} at a time, each in its own process with ${plural(workersPerJob(jobs), 'training thread')}`);
  }
  const where = await runHere(o, alone, units, hooks, stopped)
    ?? (beside.length ? await runInJobs(o, beside.map((i) => ({ index: i, unit: units[i]! })), Math.min(jobs, beside.length), sharedHooks(hooks, jobs)) : null);
  if (where !== null) {
    if (process.stderr.isTTY && !process.env.CI) log(''); // end the training bar's line
    log(stopped(where));
    return { ran, skipped, records: store.records, interrupted: true };
  }
  finishManifest(store);
  return { ran, skipped, records: store.records, interrupted: false };
}

/** Hooks for units run beside others: their latency and throughput records say so in their note. */
function sharedHooks(hooks: UnitHooks, jobs: number): UnitHooks {
  const beside = `measured while ${jobs} units ran at once (--jobs ${jobs})`;
  return {
    ...hooks,
    done: (i, records, elapsed) => hooks.done(i, records.map((r) => (['latency', 'throughput'].includes(metricInfo(r.suite, r.metric, r.unit).kind)
      ? { ...r, note: r.note ? `${r.note}; ${beside}` : beside } : r)), elapsed),
  };
}

/** Runs the units `todo` (plan indices) one after another in this process; returns where it was stopped by Ctrl-C, or null. */
async function runHere(o: RunOptions, todo: number[], units: Unit[], hooks: UnitHooks, stopped: (where: string) => string): Promise<string | null> {
  const env = unitEnv(o);
  let current = 'before the first unit';
  // Ctrl-C: a training loop in flight checkpoints and stops at its next step (a second Ctrl-C stops at
  // once); otherwise the run stops at once. Either way no record or cache entry is half-written.
  const onSigint = () => {
    if (trainingInFlight() && !interruptRequested()) return requestInterrupt();
    log(stopped(current));
    process.exit(130);
  };
  clearInterrupt();
  process.on('SIGINT', onSigint);
  try {
    for (const index of todo) {
      const unit = units[index]!;
      await yieldToEvents(); // a Ctrl-C during the last unit's evaluation is handled here at the latest
      if (interruptRequested()) throw new InterruptedError('(asked to stop while a training loop was ending)');
      current = `in ${hooks.name(index)}`;
      hooks.start(index);
      const { records, elapsed } = await measureUnit(o, unit, env);
      hooks.done(index, records, elapsed);
      current = `after unit ${index + 1}/${units.length}`;
    }
    return null;
  } catch (e) {
    if (!(e instanceof InterruptedError)) throw e;
    return `${current} ${e.where}`;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

export interface UnitEnv {
  preset: Preset;
  corpus: Corpus;
  cache: ModelCache;
  backend: string;
  adapter: BackendInfo['adapter'];
}

/** What a process needs to run units of `o`: the data and cache opened, the backend selected. */
export function unitEnv(o: RunOptions): UnitEnv {
  return { preset: PRESETS[o.preset]!, corpus: loadCorpus(o.corpus), cache: new ModelCache(o.cacheDir), backend: currentBackend().name, adapter: currentBackend().adapter };
}

/** Run one unit: its records (the measurements and the unit's bookkeeping) and its wall time in seconds. */
export async function measureUnit(o: RunOptions, unit: Unit, { preset, corpus, cache, backend, adapter }: UnitEnv): Promise<{ records: ResultRecord[]; elapsed: number }> {
  const spec = getArchitecture(unit.arch)!;
  const matched = matchedConfig(spec, preset, o.match);
  const meter = new PeakMeter();
  let text: Promise<TrainedModel> | undefined;
  const ctx: SuiteContext = {
    preset, seed: unit.seed, spec, matched, corpus, cache, meter,
    textModel: () => (text ??= textModelOf(cache, { spec, config: matched.config, seed: unit.seed, corpus, preset, meter })),
  };
  const t0 = performance.now();
  let measurements;
  try {
    measurements = await getSuite(unit.suite)!.run(ctx);
  } catch (e) {
    if (!(e instanceof DivergedError)) throw e;
    measurements = [{ metric: 'diverged', value: e.step, unit: 'step', flag: 'diverged', note: e.message }];
  } finally {
    if (text) await text.then((t) => t.model.params.dispose(), () => undefined);
  }
  meter.sample();
  const elapsed = (performance.now() - t0) / 1000;
  // the text model's training, in every unit that used it (a cache hit was trained by an earlier unit or run)
  const textInfo = text ? await text.then((t) => t.info, () => null) : null;
  const common = { suite: unit.suite, arch: unit.arch, seed: unit.seed, preset: o.preset, params: matched.nonEmbedding, backend,
    ...(adapter ? { adapter: adapterLabel(adapter) } : {}), elapsed_s: +elapsed.toFixed(3) };
  const time = new Date().toISOString();
  const unitRecords: ResultRecord[] = [
    ...measurements.map((m) => ({ ...common, ...m, dims: m.dims ?? {}, ci95: m.ci95 ?? null, time })),
    ...(textInfo ? [{ ...common, metric: 'train_seconds', value: textInfo.seconds, unit: 's', dims: { model: 'text', cache: textInfo.cache }, ci95: null, time }] : []),
    { ...common, metric: 'nonembedding_params', value: matched.nonEmbedding, unit: 'count', dims: { target: matched.target, matched_by: matched.matchedBy }, ci95: null, time },
    { ...common, metric: 'wall_time', value: elapsed, unit: 's', dims: {}, ci95: null, time },
    { ...common, metric: 'peak_tensor_bytes', value: meter.tensorBytes, unit: 'bytes', dims: {}, ci95: null, time },
    { ...common, metric: 'peak_rss_bytes', value: meter.rssBytes, unit: 'bytes', dims: {}, ci95: null, time },
  ];
  return { records: unitRecords, elapsed };
}

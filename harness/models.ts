// Building models under identical settings: configs from the preset's size, FFN width matched to the
// Transformer's non-embedding parameter count, text models trained once and cached by content hash.
import type { ArchitectureSpec, LanguageModel, ModelConfig } from '../architectures/interface.ts';
import { countParams } from '../architectures/dry-build.ts';
import { Params, type InitScheme } from '../architectures/layers.ts';
import { getArchitecture } from '../architectures/registry.ts';
import { selectedBackendName } from './backend.ts';
import { ModelCache } from './cache.ts';
import { faultKey } from './faults.ts';
import type { Corpus } from './data/corpus.ts';
import { batches, textStream, type WindowStream } from './data/streams.ts';
import { codeVersion } from './hash.ts';
import type { PeakMeter } from './measure.ts';
import type { Preset, TrainConfig } from './presets.ts';
import { Progress, log } from './progress.ts';
import { type TrainProgress, train } from './train/index.ts';

/** The architecture every other one is matched against. */
export const REFERENCE_ARCH = 'transformer';
export const MATCH_TOLERANCE = 0.03;

export interface MatchedConfig {
  config: ModelConfig;
  nonEmbedding: number;
  target: number;
  /** How the count was matched, for the records. */
  matchedBy: string;
}

/** Size the FFN width so the non-embedding count is as close as possible to the reference's. */
export function matchedConfig(spec: ArchitectureSpec, preset: Preset, match: 'params' | 'none', overrides: Record<string, number | string | boolean> = {}): MatchedConfig {
  const ref = getArchitecture(REFERENCE_ARCH)!;
  const target = countParams(ref, ref.configure(preset.size)).nonEmbedding;
  const base = spec.configure(preset.size, overrides);
  const baseCount = countParams(spec, base).nonEmbedding;
  if (match === 'none' || spec.name === REFERENCE_ARCH) {
    return { config: base, nonEmbedding: baseCount, target, matchedBy: match === 'none' ? 'not matched' : 'reference' };
  }
  // non-embedding count is affine in ffn width: count(f) = a + b f
  const other = countParams(spec, { ...base, ffn: base.ffn + 8 }).nonEmbedding;
  const perUnit = (other - baseCount) / 8;
  const ideal = base.ffn + (target - baseCount) / perUnit;
  let best = { ffn: base.ffn, count: baseCount };
  for (const ffn of [Math.floor(ideal), Math.ceil(ideal)].filter((f) => f >= 1)) {
    const count = countParams(spec, { ...base, ffn }).nonEmbedding;
    if (Math.abs(count - target) < Math.abs(best.count - target)) best = { ffn, count };
  }
  const config = { ...base, ffn: best.ffn };
  const rel = (best.count - target) / target;
  return { config, nonEmbedding: best.count, target, matchedBy: `ffn ${base.ffn}->${best.ffn} (${(rel * 100).toFixed(2)}% vs reference)` };
}

export function buildModel(spec: ArchitectureSpec, cfg: ModelConfig, seed: number, scheme: InitScheme = 'native'): LanguageModel {
  return spec.build(cfg, new Params(seed, false, scheme));
}

export interface TrainedModel {
  model: LanguageModel;
  /** Training facts: steps, tokens, seconds, tokens/s, final loss, cache status. */
  info: { steps: number; tokens: number; seconds: number; tokensPerS: number; finalLoss: number; divergedAt?: number; cache: string; workers?: number; stop?: string };
}

export class DivergedError extends Error {
  constructor(readonly step: number) {
    super(`loss became non-finite at step ${step}`);
  }
}

export interface TrainRequest {
  spec: ArchitectureSpec;
  config: ModelConfig;
  seed: number;
  stream: WindowStream;
  train: TrainConfig;
  /** What this model is for ('text', 'task:needle', ...): part of the key. */
  purpose: string;
  /** Start from these weights (e.g. a text checkpoint) instead of the seeded init. */
  init?: LanguageModel;
  /** The seeded init's scheme (architectures/layers.ts InitScheme; default 'native'). */
  scheme?: InitScheme;
  meter?: PeakMeter;
  /** End training before train.steps when this rule says so (train.steps is then a cap). */
  stop?: StopRule;
  /** Also checkpoint every this many steps (tests; the periodic rule is checkpointSeconds()). */
  checkpointEverySteps?: number;
}

/**
 * Seconds of training between checkpoints: ARCHBENCH_CHECKPOINT_S when set, else 60, so that a unit which
 * trains for more than a minute resumes, after an interrupt, from its last checkpoint instead of step 1.
 */
export function checkpointSeconds(): number {
  const env = Number(process.env.ARCHBENCH_CHECKPOINT_S);
  return Number.isFinite(env) && env > 0 ? env : 60;
}

/** A rule that ends training early, e.g. once a probe accuracy is reached. */
export interface StopRule {
  /** What the rule is (plain data): part of the cache key. */
  spec: Record<string, unknown>;
  /** True to end training after `stepsDone` steps; `model` holds the weights of that point. */
  after(model: LanguageModel, stepsDone: number): boolean | Promise<boolean>;
  /** What the rule saw last, kept with the trained model's info. */
  summary(): string;
  /** Take up what the rule had seen (its summary) when training resumes from a checkpoint. */
  restore?(summary: string): void;
}

/** Train (or load from the cache) a model. A diverged run is cached as such and raises DivergedError. */
export async function trainedModel(cache: ModelCache, req: TrainRequest): Promise<TrainedModel> {
  const key = ModelCache.key({
    purpose: req.purpose, config: req.config, train: req.train, data: req.stream.spec, seed: req.seed, ...(req.stop ? { stop: req.stop.spec } : {}),
    init: req.init ? 'from-text' : !req.scheme || req.scheme === 'native' ? 'scratch' : `scratch-${req.scheme}`, code: codeVersion(),
    // Weights differ across backends in float rounding (and wasm+openblas sums in another order than XNNPACK),
    // so a model is reused only by runs on the backend that trained it: a record's backend is then true of both.
    backend: selectedBackendName(),
    fault: faultKey(), // only under the reliability battery's fault injection (harness/faults.ts); absent otherwise
  });
  const model = buildModel(req.spec, req.config, req.seed, req.scheme);
  return cache.withLock(key, () => loadOrTrain(cache, key, model, req));
}

/** The cached model of `key` loaded into `model`, or `model` trained as `req` says and saved there. */
async function loadOrTrain(cache: ModelCache, key: string, model: LanguageModel, req: TrainRequest): Promise<TrainedModel> {
  const found = cache.load(key, model.params);
  if (found.status === 'hit') {
    const info = found.info as TrainedModel['info'];
    if (info.divergedAt !== undefined) throw new DivergedError(info.divergedAt);
    return { model, info: { ...info, cache: 'hit' } };
  }
  if (found.status === 'corrupt') log(`cache entry ${key} is corrupt (${found.reason}); retraining`);
  if (req.init) for (const [n, v] of model.params.vars) v.assign(req.init.params.get(n));
  const label = `train ${req.config.arch} ${req.purpose} seed ${req.seed}`;
  const resume = resumeFrom(cache, key, model, req);
  if (resume) log(`${label}: resuming from its checkpoint at step ${resume.step} of ${req.train.steps}`);
  const progress = new Progress(label, req.train.steps, process.stderr, resume?.step);
  const result = await train(model, batches(req.stream, { batch: req.train.batch, seq: req.config.seq, seed: req.seed }), req.train, {
    meter: req.meter,
    onStep: (step, loss, tps) => progress.update(step + 1, { loss, 'tok/s': tps }),
    ...(req.stop ? { stop: (done: number) => req.stop!.after(model, done) } : {}),
    ...(resume ? { resume } : {}),
    checkpoint: {
      everySeconds: checkpointSeconds(), everySteps: req.checkpointEverySteps,
      save: (p) => cache.saveCheckpoint(key, p.step, model.params, [p.optimizer.m, p.optimizer.v], {
        step: p.step, losses: p.losses, tokens: p.tokens, seconds: p.seconds, t: p.optimizer.t, ...(req.stop ? { stop: req.stop.summary() } : {}),
      }),
    },
  });
  if (req.stop && result.divergedAt === undefined) progress.end(`${result.steps < req.train.steps ? 'stopped' : 'ran to the cap'} at step ${result.steps} (${req.stop.summary()})`);
  const info: TrainedModel['info'] = {
    steps: result.steps, tokens: result.tokens, seconds: result.seconds, tokensPerS: result.tokensPerS,
    finalLoss: result.losses.at(-1) ?? NaN, divergedAt: result.divergedAt, cache: found.status === 'corrupt' ? 'rebuilt' : 'trained',
    // data-parallel participants (harness/train/parallel.ts); results match one thread's within float tolerance
    workers: result.workers,
    ...(req.stop ? { stop: req.stop.summary() } : {}),
  };
  await cache.save(key, model.params, info);
  cache.removeCheckpoints(key);
  if (result.divergedAt !== undefined) throw new DivergedError(result.divergedAt);
  return { model, info };
}

/** The training checkpoint of `key`, its weights loaded into `model`, as train() continues from it; null when none. */
function resumeFrom(cache: ModelCache, key: string, model: LanguageModel, req: TrainRequest): TrainProgress | null {
  const found = cache.loadCheckpoint(key, model.params);
  if (!found) return null;
  const info = found.info as { step: number; losses: number[]; tokens: number; seconds: number; t: number; stop?: string };
  const total = [...model.params.vars.values()].reduce((n, v) => n + v.size, 0);
  if (found.extra.length !== 2 || found.extra.some((a) => a.length !== total)) throw new Error(`checkpoint of ${key} at step ${found.step} does not hold AdamW's two moments`);
  if (info.stop !== undefined) req.stop?.restore?.(info.stop);
  return { step: found.step, losses: info.losses, tokens: info.tokens, seconds: info.seconds, optimizer: { m: found.extra[0]!, v: found.extra[1]!, t: info.t } };
}

/** Where a text model comes from: the preset's text recipe on the corpus, for one architecture and seed. */
export interface TextModelRequest {
  spec: ArchitectureSpec;
  config: ModelConfig;
  seed: number;
  corpus: Corpus;
  preset: Preset;
  meter?: PeakMeter;
}

/** The (architecture, preset, seed) text model: trained once, then served from the cache. */
export function textModelOf(cache: ModelCache, r: TextModelRequest): Promise<TrainedModel> {
  return trainedModel(cache, { spec: r.spec, config: r.config, seed: r.seed, stream: corpusStream(r.corpus), train: r.preset.train, purpose: 'text', meter: r.meter });
}

/** The preset's text stream over the corpus's training split. */
export function corpusStream(corpus: Corpus): WindowStream {
  return textStream(corpus.splits.train, { corpus: corpus.sha256, split: 'train' });
}

export function disposeModel(m: LanguageModel): void {
  m.params.dispose();
}

// `archbench calibrate <needle|mqar|retrieval|icl|addition> <preset> <scratch|text> <steps> <every> [batch] [lr] [key=value ...]`:
// the learning curve of one task model (suites/tasks/calibrate.ts learningCurve), for sizing a preset's task
// budget: trains on the task's stream and prints one JSON line per probe point (every `every` steps).
import * as tf from '@tensorflow/tfjs';
import type { Command } from 'commander';
import { architectureNames, getArchitecture } from '../../architectures/index.ts';
import { BACKENDS, selectBackend } from '../../harness/backend.ts';
import { ModelCache } from '../../harness/cache.ts';
import { loadCorpus } from '../../harness/data/corpus.ts';
import { mixture } from '../../harness/data/streams.ts';
import { UsageError, invalid, parsePositiveInt } from '../../harness/errors.ts';
import * as models from '../../harness/models.ts';
import { PRESETS, PRESET_NAMES, type TrainConfig } from '../../harness/presets.ts';
import { iclTask } from '../../suites/icl/episodes.ts';
import { ICL_SETTINGS } from '../../suites/icl/settings.ts';
import { baseMixture, probeEpisodes } from '../../suites/selfimprove/addition.ts';
import { SELFIMPROVE_SETTINGS } from '../../suites/selfimprove/settings.ts';
import { learningCurve, sideEpisodes, type CurvePoint } from '../../suites/tasks/calibrate.ts';
import { taskStream, type Episode, type Side } from '../../suites/tasks/episodes.ts';
import { mqarTrainingStream } from '../../suites/tasks/mqar.ts';
import * as retrieval from '../../suites/tasks/retrieval.ts';

const TASKS = ['needle', 'mqar', 'retrieval', 'icl', 'addition'];
const INITS = ['scratch', 'text'];

/** The key=value settings: valid values (a list), 'number', or 'text' (lists such as 4,8,16 and 4/2). */
const KEYS: Record<string, readonly string[] | 'number' | 'text'> = {
  arch: architectureNames(), seed: 'number', backend: BACKENDS, seq: 'number', layers: 'number', init: ['native', 'torch'], embScale: 'number',
  cache: 'text', textKey: 'text', textOnly: 'number', warmup: 'number', beta2: 'number', minLrFrac: 'number', weightDecay: 'number',
  probe: 'number', side: ['train', 'test'],
  keys: 'number', values: 'number', filler: ['pad', 'text'], format: ['compact', 'natural'], needleKeys: 'number', train: 'text',
  trainNeedles: 'text', extra: 'number', extraNeedles: 'number', fill: 'number', middle: 'text', middlePairs: 'text', middleNeedles: 'text', probeNeedles: 'number',
  inputs: 'number', labels: 'number', inputPool: 'number', labelPool: 'number', trainDemos: 'text', mix: ['mqar'],
  digits: 'number', rate: 'number',
};

const HELP = `
Settings (key=value; defaults in brackets):
  model:     arch [transformer], seed [0] (model init, training data and the text checkpoint, as the suites use it), seq (episode length) and layers [the preset's],
             init=torch (PyTorch's init scheme) [native], embScale (multiplies the initial embedding table), backend [wasm]
  text init: cache [.cache/archbench], textKey (pins the text checkpoint under this name), textOnly=1 (stop after it)
  optimizer: warmup [20], beta2, minLrFrac, weightDecay [the preset's]
  probes:    probe (episodes per probe) [32], side (train|test) [test]
  needle, mqar, retrieval (both streams 1:1, both probes):
             keys, values [64] (MQAR symbols), filler (pad|text) [pad], format (compact|natural) [compact], needleKeys,
             train (pairs, or needles) [4,8,16,32 / 1,2,4,6,8], trainNeedles, extra, extraNeedles (repeated queries), fill=1,
             middle (probe: pairs, or needles/queried) [8 / 4/2], middlePairs, middleNeedles, probeNeedles
  icl:       the preset's ICL task (inputs, labels, inputPool, labelPool override it), trainDemos [the preset's],
             middle (demonstrations of the probe) [the preset's], mix=mqar (interleave the preset's MQAR stream 1:1)
  addition:  selfimprove's base: the text stream with a share rate [the preset's taskRate] of digits-digit addition
             lines [the preset's]; probe: the suite's budget probe, test-side problems outside the held-out test set
             (use init text)
Example: npx archbench calibrate mqar small scratch 800 100 16 1e-3 seq=64 layers=2 keys=16 values=16 train=4 middle=4 extra=28 fill=1 probe=64
`;

type Extra = Record<string, string | number>;

/** key=value settings, checked against KEYS (numbers as numbers, the rest as given). */
function parseSettings(items: string[]): Extra {
  const extra: Extra = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq < 1) throw new UsageError(`setting '${item}' must be key=value; keys: ${Object.keys(KEYS).join(', ')}`);
    const key = item.slice(0, eq), value = item.slice(eq + 1);
    const kind = KEYS[key];
    if (!kind) invalid('setting', key, Object.keys(KEYS));
    if (kind === 'number' && (value === '' || !Number.isFinite(Number(value)))) throw new UsageError(`setting ${key} must be a number, got '${value}'`);
    if (Array.isArray(kind) && !kind.includes(value)) invalid(key, value, kind);
    extra[key] = value !== '' && Number.isFinite(Number(value)) ? Number(value) : value;
  }
  return extra;
}

function positiveNumber(what: string, v: string): number {
  if (!(Number(v) > 0)) throw new UsageError(`${what} must be a positive number, got '${v}'`);
  return Number(v);
}

interface CalibrateArgs {
  task: string;
  preset: string;
  init: string;
  steps: number;
  every: number;
  batch: number;
  lr: number;
  extra: Extra;
}

/** The task's stream and probes (fixed test-side episode sets) at episode length `seq`. */
function taskProbes(a: CalibrateArgs, corpus: ReturnType<typeof loadCorpus>, seq: number) {
  const { extra } = a;
  const probeCount = Number(extra.probe ?? 32);
  const side = (extra.side as Side) ?? 'test';
  const probes: Record<string, Episode[]> = {};
  if (a.task === 'addition') {
    const s = SELFIMPROVE_SETTINGS[a.preset]!;
    const digits = Number(extra.digits ?? s.digits);
    // the suite's own probe (suites/selfimprove/suite.ts budgetProbe): test-side problems outside the held-out test set
    const episodes = probeEpisodes(probeCount, digits, s.testSize);
    if (episodes.length < probeCount) throw new UsageError(`addition: ${digits}-digit problems leave ${episodes.length} test-side problems beside the ${s.testSize}-problem test set of preset ${a.preset}, fewer than probe=${probeCount}; valid: digits=2 or more, or a smaller probe`);
    probes[`addition${digits}`] = episodes;
    return { stream: baseMixture(models.corpusStream(corpus), digits, Number(extra.rate ?? s.taskRate)), probes };
  }
  if (a.task === 'icl') {
    const icl = ICL_SETTINGS[a.preset]!;
    const task = iclTask({ format: icl.format, ...icl.task, ...Object.fromEntries(['inputs', 'labels', 'inputPool', 'labelPool'].filter((k) => extra[k] !== undefined).map((k) => [k, Number(extra[k])])) });
    const demos = String(extra.trainDemos ?? icl.trainDemos.join(',')).split(',').map((d) => ({ demos: Number(d), layout: 'stream' as const }));
    probes[`icl${extra.middle ?? icl.middle}`] = sideEpisodes(task, { demos: Number(extra.middle ?? icl.middle) }, seq, probeCount, 1000, side, 'calibration');
    // mix=mqar: the ICL stream 1:1 with the preset's MQAR training stream (as the icl suite's withMqar)
    const stream = extra.mix === 'mqar'
      ? mixture([{ stream: taskStream(task, demos), rate: 1 }, { stream: mqarTrainingStream(corpus, a.preset), rate: 1 }])
      : taskStream(task, demos);
    return { stream, probes };
  }
  const extraQ = extra.extra ? Number(extra.extra) : undefined;
  const mq = retrieval.mqarTask(corpus, { keySymbols: Number(extra.keys ?? 64), valueSymbols: Number(extra.values ?? 64), filler: (extra.filler as 'pad' | 'text') ?? 'pad' });
  const nd = retrieval.needleTask(corpus, { format: (extra.format as 'compact' | 'natural') ?? 'compact', ...(extra.needleKeys ? { keySymbols: Number(extra.needleKeys) } : {}) });
  const mqTrain = String(extra.train ?? '4,8,16,32').split(',').map((p) => ({ pairs: Number(p), extra: extraQ, fill: Boolean(extra.fill) }));
  const ndTrain = String(extra.trainNeedles ?? extra.train ?? '1,2,4,6,8').split(',').map((n) => ({ needles: Number(n), queried: Number(n), extra: extra.extraNeedles ? Number(extra.extraNeedles) : extraQ }));
  const pairsProbe = String(a.task === 'mqar' ? extra.middle ?? 8 : extra.middlePairs ?? 8).split(',').map(Number);
  const needleProbe = String(extra.middleNeedles ?? (a.task === 'needle' ? extra.middle : undefined) ?? '4/2').split(',').map((x) => x.split('/').map(Number));
  if (a.task !== 'mqar') for (const [n, r] of needleProbe) probes[`needle${n}/${r}`] = sideEpisodes(nd, { needles: n!, queried: r! }, seq, Number(extra.probeNeedles ?? probeCount), 1000, side, 'calibration');
  if (a.task !== 'needle') for (const k of pairsProbe) probes[`mqar${k}`] = sideEpisodes(mq, { pairs: k }, seq, probeCount, 1000, side, 'calibration');
  const stream = a.task === 'mqar' ? taskStream(mq, mqTrain) : a.task === 'needle' ? taskStream(nd, ndTrain)
    : mixture([{ stream: taskStream(nd, ndTrain), rate: 1 }, { stream: taskStream(mq, mqTrain), rate: 1 }]);
  return { stream, probes };
}

async function calibrate(a: CalibrateArgs, out: (s: string) => void): Promise<void> {
  const { extra } = a;
  await selectBackend(String(extra.backend ?? 'wasm'));
  const preset = PRESETS[a.preset]!;
  const spec = getArchitecture(String(extra.arch ?? 'transformer'))!;
  const corpus = loadCorpus();
  const matched = models.matchedConfig(spec, preset, 'params').config;
  const config = { ...matched, ...(extra.seq ? { seq: Number(extra.seq) } : {}), ...(extra.layers ? { layers: Number(extra.layers) } : {}) };
  // init=torch: PyTorch's module defaults (architectures/layers.ts InitScheme)
  const model = models.buildModel(spec, config, Number(extra.seed ?? 0), extra.init === 'torch' ? 'torch' : 'native');
  // embScale=X multiplies the initial embedding table (an init experiment: PyTorch's default is N(0, 1))
  if (extra.embScale) model.params.get('embed').assign(tf.mul(model.params.get('embed'), Number(extra.embScale)));
  if (a.init === 'text') {
    // textKey=NAME pins the text checkpoint under a fixed name in the cache (immune to code-version churn).
    const cache = new ModelCache(String(extra.cache ?? '.cache/archbench'));
    const pinned = extra.textKey ? String(extra.textKey) : undefined;
    if (!pinned || cache.load(pinned, model.params).status !== 'hit') {
      const text = await models.trainedModel(cache, { spec, config, seed: Number(extra.seed ?? 0), stream: models.corpusStream(corpus), train: preset.train, purpose: 'text' });
      for (const [n, v] of model.params.vars) v.assign(text.model.params.get(n));
      if (pinned) await cache.save(pinned, model.params, text.info);
      text.model.params.dispose();
    }
    if (extra.textOnly) return;
  }
  const cfg: TrainConfig = { ...preset.train, batch: a.batch, steps: a.steps, lr: a.lr, warmup: Number(extra.warmup ?? 20),
    ...(extra.beta2 ? { beta2: Number(extra.beta2) } : {}), ...(extra.minLrFrac ? { minLrFrac: Number(extra.minLrFrac) } : {}),
    ...(extra.weightDecay !== undefined ? { weightDecay: Number(extra.weightDecay) } : {}) };
  const { stream, probes } = taskProbes(a, corpus, config.seq);
  const log = (p: CurvePoint) => out(`${JSON.stringify({ ...p, seconds: +p.seconds.toFixed(1), loss: +p.loss.toFixed(4) })}\n`);
  await learningCurve(model, stream, cfg, probes, { seed: Number(extra.seed ?? 0), every: a.every, evalBatch: 16, onPoint: log });
}

export function register(program: Command, out: (s: string) => void): void {
  program.command('calibrate')
    .description("learning curve of a task model on the reference (for sizing a preset's task budget): one JSON line per probe point")
    .argument('<task>', TASKS.join('|'))
    .argument('<preset>', PRESET_NAMES.join('|'))
    .argument('<init>', `${INITS.join('|')} (text: from the preset's text checkpoint)`)
    .argument('<steps>', 'training steps')
    .argument('<every>', 'probe every this many steps')
    .argument('[batch]', 'batch size', '16')
    .argument('[lr]', 'learning rate', '1e-3')
    .argument('[settings...]', 'key=value settings (below)')
    .addHelpText('after', HELP)
    .action(async (task: string, preset: string, init: string, steps: string, every: string, batch: string, lr: string, settings: string[]) => {
      if (!TASKS.includes(task)) invalid('task', task, TASKS);
      if (!PRESETS[preset]) invalid('preset', preset, PRESET_NAMES);
      if (!INITS.includes(init)) invalid('init', init, INITS);
      await calibrate({
        task, preset, init, steps: parsePositiveInt('steps', steps), every: parsePositiveInt('every', every),
        batch: parsePositiveInt('batch', batch), lr: positiveNumber('lr', lr), extra: parseSettings(settings),
      }, out);
    });
}

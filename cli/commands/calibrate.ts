// Learning curves of a task model (calibrate.ts learningCurve), for sizing a preset's task budget.
import * as tf from '@tensorflow/tfjs';
import type { ArchitectureSpec } from '../../architectures/interface.ts';
import { getArchitecture } from '../../architectures/index.ts';
import { selectBackend } from '../../harness/backend.ts';
import { ModelCache } from '../../harness/cache.ts';
import { loadCorpus } from '../../harness/data/corpus.ts';
import { mixture } from '../../harness/data/streams.ts';
import * as models from '../../harness/models.ts';
import { PRESETS, type TrainConfig } from '../../harness/presets.ts';
import { iclTask } from '../../suites/icl/episodes.ts';
import { ICL_SETTINGS } from '../../suites/icl/settings.ts';
import { mqarTrainingStream } from '../../suites/tasks/mqar.ts';
import { learningCurve, sideEpisodes, type CurvePoint } from '../../suites/tasks/calibrate.ts';
import { taskStream, type Episode, type Side } from '../../suites/tasks/episodes.ts';
import * as retrieval from '../../suites/tasks/retrieval.ts';

// By hand: node --import tsx suites/tasks/calibrate-cli.ts <needle|mqar|retrieval|icl> <preset> <scratch|text> <steps> <every> [batch] [lr] [key=value ...]
// keys: arch, seed (model init and training data), seq (episode length), layers, keys, values, filler, train (pairs), middle, extra, fill, probe, side, warmup, beta2, minLrFrac,
// weightDecay, embScale, init=torch, ...
// (retrieval: both streams 1:1, both probes; icl: the preset's ICL task (keys inputs, labels, inputPool, labelPool),
// trainDemos, middle = demonstrations of the probe)
const [taskName = 'mqar', presetName = 'small', init = 'scratch', stepsArg = '200', everyArg = '25', batchArg = '16', lrArg = '1e-3', ...rest] = process.argv.slice(2);
const extra = Object.fromEntries(rest.map((kv) => kv.split('=')).map(([k, v]) => [k!, Number.isNaN(Number(v)) ? v! : Number(v)]));
await selectBackend(String(extra.backend ?? 'wasm'));
const preset = PRESETS[presetName]!;
const spec = getArchitecture(String(extra.arch ?? 'transformer')) as ArchitectureSpec;
const corpus = loadCorpus();
const matched = models.matchedConfig(spec, preset, 'params').config;
const config = { ...matched, ...(extra.seq ? { seq: Number(extra.seq) } : {}), ...(extra.layers ? { layers: Number(extra.layers) } : {}) };
const seq = config.seq;
// init=torch: PyTorch's module defaults (architectures/layers.ts InitScheme)
const model = models.buildModel(spec, config, Number(extra.seed ?? 0), extra.init === 'torch' ? 'torch' : 'native');
// embScale=X multiplies the initial embedding table (an init experiment: PyTorch's default is N(0, 1))
if (extra.embScale) model.params.get('embed').assign(tf.mul(model.params.get('embed'), Number(extra.embScale)));
if (init === 'text') {
  // textKey=NAME pins the text checkpoint under a fixed name in the cache (immune to code-version churn).
  const cache = new ModelCache(String(extra.cache ?? '.cache/archbench'));
  const pinned = extra.textKey ? String(extra.textKey) : undefined;
  if (!pinned || cache.load(pinned, model.params).status !== 'hit') {
    const text = models.trainedModel(cache, { spec, config, seed: 0, stream: models.corpusStream(corpus), train: preset.train, purpose: 'text' });
    for (const [n, v] of model.params.vars) v.assign(text.model.params.get(n));
    if (pinned) cache.save(pinned, model.params, text.info);
    text.model.params.dispose();
  }
  if (extra.textOnly) process.exit(0);
}
const cfg: TrainConfig = { ...preset.train, batch: Number(batchArg), steps: Number(stepsArg), lr: Number(lrArg), warmup: Number(extra.warmup ?? 20),
  ...(extra.beta2 ? { beta2: Number(extra.beta2) } : {}), ...(extra.minLrFrac ? { minLrFrac: Number(extra.minLrFrac) } : {}),
  ...(extra.weightDecay !== undefined ? { weightDecay: Number(extra.weightDecay) } : {}) };
const probeCount = Number(extra.probe ?? 32);
const log = (p: CurvePoint) => process.stdout.write(`${JSON.stringify({ ...p, seconds: +p.seconds.toFixed(1), loss: +p.loss.toFixed(4) })}\n`);
const side = (extra.side as Side) ?? 'test';
if (taskName === 'icl') {
  const icl = ICL_SETTINGS[presetName]!;
  const task = iclTask({ format: icl.format, ...icl.task, ...Object.fromEntries(['inputs', 'labels', 'inputPool', 'labelPool'].filter((k) => extra[k] !== undefined).map((k) => [k, Number(extra[k])])) });
  const demos = String(extra.trainDemos ?? icl.trainDemos.join(',')).split(',').map((d) => ({ demos: Number(d), layout: 'stream' as const }));
  const probes: Record<string, Episode[]> = {};
  probes[`icl${extra.middle ?? icl.middle}`] = sideEpisodes(task, { demos: Number(extra.middle ?? icl.middle) }, seq, probeCount, 1000, side, 'calibration');
  // mix=mqar: the ICL stream 1:1 with the preset's MQAR training stream (as the icl suite's withMqar)
  const stream = extra.mix === 'mqar'
    ? mixture([{ stream: taskStream(task, demos), rate: 1 }, { stream: mqarTrainingStream(corpus, presetName), rate: 1 }])
    : taskStream(task, demos);
  learningCurve(model, stream, cfg, probes, { seed: Number(extra.seed ?? 0), every: Number(everyArg), evalBatch: 16, onPoint: log });
  process.exit(0);
}
const extraQ = extra.extra ? Number(extra.extra) : undefined;
const mq = retrieval.mqarTask(corpus, { keySymbols: Number(extra.keys ?? 64), valueSymbols: Number(extra.values ?? 64), filler: (extra.filler as 'pad' | 'text') ?? 'pad' });
const nd = retrieval.needleTask(corpus, { format: (extra.format as 'compact' | 'natural') ?? 'compact', ...(extra.needleKeys ? { keySymbols: Number(extra.needleKeys) } : {}) });
const mqTrain = String(extra.train ?? '4,8,16,32').split(',').map((p) => ({ pairs: Number(p), extra: extraQ, fill: Boolean(extra.fill) }));
const ndTrain = String(extra.trainNeedles ?? extra.train ?? '1,2,4,6,8').split(',').map((n) => ({ needles: Number(n), queried: Number(n), extra: extra.extraNeedles ? Number(extra.extraNeedles) : extraQ }));
const pairsProbe = String(taskName === 'mqar' ? extra.middle ?? 8 : extra.middlePairs ?? 8).split(',').map(Number);
const needleProbe = String(extra.middleNeedles ?? (taskName === 'needle' ? extra.middle : undefined) ?? '4/2').split(',').map((x) => x.split('/').map(Number));
const probes: Record<string, Episode[]> = {};
if (taskName !== 'mqar') for (const [n, r] of needleProbe) probes[`needle${n}/${r}`] = sideEpisodes(nd, { needles: n!, queried: r! }, seq, Number(extra.probeNeedles ?? probeCount), 1000, side, 'calibration');
if (taskName !== 'needle') for (const k of pairsProbe) probes[`mqar${k}`] = sideEpisodes(mq, { pairs: k }, seq, probeCount, 1000, side, 'calibration');
const stream = taskName === 'mqar' ? taskStream(mq, mqTrain) : taskName === 'needle' ? taskStream(nd, ndTrain)
  : mixture([{ stream: taskStream(nd, ndTrain), rate: 1 }, { stream: taskStream(mq, mqTrain), rate: 1 }]);
learningCurve(model, stream, cfg, probes, { seed: Number(extra.seed ?? 0), every: Number(everyArg), evalBatch: 16, onPoint: log });

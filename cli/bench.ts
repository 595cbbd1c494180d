// `archbench bench`: training and decoding throughput of the reference configs (the peer scripts'
// Transformers, ../shared/peer/; peer-d768-l12, the paper shape, is for GPUs) and of every registered
// architecture at the small preset.
//   training: tokens/s of train() (the data-parallel trainer by default), median of timed steps after
//             warm-up steps; model FLOP/s = tokens/s x flopsPerToken(T) (the peer's 6 N + 6 d V + 12 L T d);
//             MFU against the machine's peak, whose assumptions are printed;
//   decoding: tokens/s of step() after a prefill of 1024 tokens (batch 1), median of timed steps.
// A correctness gate runs first: the fast paths must agree with the plain ops on a small model.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { getArchitecture, mainArchitectureNames } from '../architectures/index.ts';
import { disposeReplaced, disposeState } from '../architectures/decode-state.ts';
import type { LanguageModel, ModelConfig } from '../architectures/interface.ts';
import { Params } from '../architectures/layers.ts';
import { setFastPath } from '../architectures/ops/fast-path.ts';
import { tokenNll } from '../architectures/ops/loss/index.ts';
import { readAndDispose } from '../architectures/ops/read.ts';
import type { Corpus } from '../harness/data/corpus.ts';
import { batches, textStream } from '../harness/data/streams.ts';
import type { MachineInfo } from '../harness/measure.ts';
import { adapterLabel, type AdapterFacts } from '../harness/webgpu.ts';
import { matchedConfig } from '../harness/models.ts';
import { PRESETS, type TrainConfig } from '../harness/presets.ts';
import { defaultWorkers, train } from '../harness/train/index.ts';

export interface BenchConfig {
  name: string;
  config: ModelConfig;
  batch: number;
  /** Run only when named with --configs (the paper shape: hours on a CPU). */
  onlyWhenNamed?: boolean;
}

export interface BenchRow {
  name: string;
  config: { arch: string; d: number; layers: number; heads: number; seq: number; batch: number };
  train_tokens_per_s: number;
  model_gflops_per_s: number;
  mfu: number;
  decode_tokens_per_s: number;
  backend: string;
}

/** Extra facts about a row that the --json line leaves out (it has a fixed shape). */
export interface BenchDetail {
  workers: number;
  stepS: number[];
  flopsPerToken: number;
  decodeStepS: number[];
  params: number;
}

/**
 * The peer scripts' configs (../shared/peer/README.md: torch_lm.py's two CPU configs, torch_lm_cuda.py's
 * paper-preset shape, for GPUs), then every architecture at the small preset.
 */
export function benchConfigs(): BenchConfig[] {
  const tr = getArchitecture('transformer')!;
  const ref = (name: string, d: number, layers: number, seq: number, heads = 4): BenchConfig => ({
    name, batch: 8, config: tr.configure({ vocab: 256, d, layers, heads, seq }),
  });
  const small = PRESETS.small!;
  return [
    ref('peer-d128-l2', 128, 2, 128),
    ref('peer-d256-l4', 256, 4, 256),
    { ...ref('peer-d768-l12', 768, 12, 2048, 12), onlyWhenNamed: true },
    ...mainArchitectureNames().map((a) => ({ name: `small-${a}`, batch: small.train.batch, config: matchedConfig(getArchitecture(a)!, small, 'params').config })),
  ];
}

/** The peak MFU is read against (0 where none is known: MFU is then reported as 0), and how it was reckoned. */
export interface Peak {
  gflops: number;
  assumptions: string;
}

/** fp32 peaks of the GPUs we have facts for, dense, without tensor cores (../shared/gpu/README.md). */
const GPU_FP32_PEAK_GFLOPS: Record<string, number> = { 'nvidia-h200': 67_000 };

/** On webgpu the adapter's fp32 peak; on CPU backends the machine's (machinePeak). */
export function devicePeak(m: MachineInfo, adapter: AdapterFacts | undefined): Peak {
  if (!adapter) return machinePeak(m);
  const gflops = GPU_FP32_PEAK_GFLOPS[adapter.device] ?? 0;
  return {
    gflops,
    assumptions: gflops > 0
      ? `peak ${gflops} GFLOP/s fp32 of ${adapter.device} (dense, no tensor cores: ../shared/gpu/README.md)`
      : `no fp32 peak known for ${adapterLabel(adapter)}: MFU is reported as 0`,
  };
}

/** Peak fp32 FLOP/s of the machine: cores x clock x vector lanes x FMA units x 2. */
export function machinePeak(m: MachineInfo): Peak {
  const flags = ` ${m.cpu.flags} `;
  const cores = m.cpu.physicalCores || m.cpu.cores || cpus().length;
  let ghz = m.cpu.speedGHz, clockFrom = 'systeminformation';
  if (!(ghz > 0)) {
    ghz = (cpus()[0]?.speed ?? 0) / 1000;
    clockFrom = 'os.cpus(); no rated clock reported, it may boost higher';
  }
  if (!(ghz > 0)) {
    try {
      const mhz = /cpu MHz\s*:\s*([\d.]+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
      if (mhz) ghz = Number(mhz[1]) / 1000;
      clockFrom = '/proc/cpuinfo cpu MHz; no rated clock reported, it may boost higher';
    } catch {
      // no clock known: MFU is reported as 0
    }
  }
  const [lanes, isa] = flags.includes(' avx512f ') ? [16, 'avx512f'] : flags.includes(' avx2 ') || flags.includes(' avx ') ? [8, 'avx/avx2'] : [4, flags.includes(' asimd ') ? 'neon' : 'sse'];
  const hasFma = flags.includes(' fma ') || flags.includes(' asimd ');
  const fmaUnits = hasFma ? 2 : 1;
  const gflops = cores * ghz * lanes * fmaUnits * 2;
  const assumptions = `peak ${gflops.toFixed(1)} GFLOP/s fp32 = ${cores} cores x ${ghz.toFixed(2)} GHz (${clockFrom}) x ${lanes} lanes (${isa}) x ${fmaUnits} FMA units/core (assumed${hasFma ? '' : '; no fma flag, so 1 mul+add'}) x 2 flops/FMA`;
  return { gflops, assumptions };
}

/**
 * The gate: a small Transformer's logits and gradients with the fast paths agree with the plain ops
 * within 1e-5 relative. Returns the worst relative error.
 */
export async function correctnessGate(): Promise<{ ok: boolean; worst: number; what: string }> {
  const spec = getArchitecture('transformer')!;
  const cfg = spec.configure({ vocab: 256, d: 32, layers: 2, heads: 2, seq: 16 });
  const model = spec.build(cfg, new Params(7));
  const tokens = tf.tensor2d(Array.from({ length: 2 * 16 }, (_, i) => (i * 131 + 3) % 256), [2, 16], 'int32');
  const vars = [...model.params.vars.values()];
  const run = (fast: boolean): Promise<Float32Array[]> => {
    const prev = setFastPath(fast);
    try {
      const outputs = tf.tidy(() => {
        const logits = model.forward(tokens);
        const { grads } = tf.variableGrads(() => tf.mean(tokenNll(model.forward(tokens), tokens)) as tf.Scalar, vars);
        return [logits, ...vars.map((v) => grads[v.name]!)];
      });
      return Promise.all(outputs.map(async (t) => (await readAndDispose(t)) as Float32Array));
    } finally {
      setFastPath(prev);
    }
  };
  const fast = await run(true), plain = await run(false);
  tokens.dispose();
  model.params.dispose();
  let worst = 0, what = '';
  const names = ['logits', ...model.params.vars.keys()];
  fast.forEach((a, i) => {
    const b = plain[i]!;
    let diff = 0, scale = 0;
    for (let j = 0; j < a.length; j++) {
      diff = Math.max(diff, Math.abs(a[j]! - b[j]!));
      scale = Math.max(scale, Math.abs(b[j]!));
    }
    const rel = scale > 0 ? diff / scale : diff;
    if (!(rel <= worst)) {
      worst = rel;
      what = names[i] ?? `#${i}`;
    }
  });
  return { ok: worst <= 1e-5, worst, what };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Training throughput: `warmup` untimed steps, then `steps` timed ones; per-step seconds. */
export async function benchTrain(cfg: BenchConfig, corpus: Corpus, opts: { steps: number; warmup: number; workers?: number }): Promise<{ stepS: number[]; workers: number; model: LanguageModel }> {
  const spec = getArchitecture(cfg.config.arch)!;
  const model = spec.build(cfg.config, new Params(0));
  const trainCfg: TrainConfig = { ...PRESETS.small!.train, batch: cfg.batch, steps: opts.warmup + opts.steps };
  // the workers a real run of this config would get (a preset's step count, not the few timed here)
  const workers = opts.workers ?? defaultWorkers(model, { ...trainCfg, steps: PRESETS.small!.train.steps });
  const stream = textStream(corpus.splits.train, { corpus: corpus.sha256, split: 'train' });
  const stepS: number[] = [];
  let last = 0;
  const result = await train(model, batches(stream, { batch: cfg.batch, seq: cfg.config.seq, seed: 0 }), trainCfg, {
    workers,
    onStep: (step) => {
      const now = performance.now();
      if (step >= opts.warmup) stepS.push((now - last) / 1000);
      last = now;
    },
  });
  // the first timed step's start is the end of the last warm-up step
  return { stepS, workers: result.workers, model };
}

/**
 * Decoding throughput at `context` tokens of context (batch 1): prefill, then `steps` timed steps, each
 * timed until its logits are read (on a GPU: until its work is done).
 */
export async function benchDecode(model: LanguageModel, context: number, opts: { steps: number; warmup: number }): Promise<number[]> {
  const prompt = tf.tensor2d(Array.from({ length: context }, (_, i) => (i * 89 + 11) % model.config.vocab), [1, context], 'int32');
  let { logits, state } = model.prefill(prompt);
  prompt.dispose();
  const times: number[] = [];
  for (let i = 0; i < opts.warmup + opts.steps; i++) {
    const token = tf.tidy(() => tf.argMax(logits.reshape([1, -1]), -1).cast('int32')) as tf.Tensor1D;
    await token.data();
    const t0 = performance.now();
    const next = model.step(state, token);
    await next.logits.data();
    const dt = (performance.now() - t0) / 1000;
    if (i >= opts.warmup) times.push(dt);
    token.dispose();
    logits.dispose();
    disposeReplaced(state, next.state);
    logits = next.logits as unknown as tf.Tensor3D;
    state = next.state;
  }
  logits.dispose();
  disposeState(state);
  return times;
}

/** One row: train, then decode with the trained replica's weights. */
export async function benchOne(cfg: BenchConfig, corpus: Corpus, peak: Peak, backend: string,
                               opts: { steps: number; warmup: number; workers?: number; decodeContext: number; decodeSteps: number }): Promise<{ row: BenchRow; detail: BenchDetail }> {
  const { stepS, workers, model } = await benchTrain(cfg, corpus, opts);
  const tokensPerS = (cfg.batch * cfg.config.seq) / median(stepS);
  const flopsPerToken = model.flopsPerToken(cfg.config.seq);
  const gflops = (tokensPerS * flopsPerToken) / 1e9;
  let decodeStepS: number[] = [];
  try {
    decodeStepS = await benchDecode(model, opts.decodeContext, { steps: opts.decodeSteps, warmup: 2 });
  } finally {
    model.params.dispose();
  }
  const c = cfg.config;
  return {
    row: {
      name: cfg.name,
      config: { arch: c.arch, d: c.d, layers: c.layers, heads: c.heads, seq: c.seq, batch: cfg.batch },
      train_tokens_per_s: round(tokensPerS, 1),
      model_gflops_per_s: round(gflops, 3),
      mfu: peak.gflops > 0 ? round(gflops / peak.gflops, 5) : 0,
      decode_tokens_per_s: round(1 / median(decodeStepS), 2),
      backend,
    },
    detail: { workers, stepS, flopsPerToken, decodeStepS, params: model.params.count().total },
  };
}

const round = (x: number, digits: number): number => Number(x.toFixed(digits));

// Training checkpoints: a training run stopped part-way (an interrupt, or a crash after a periodic
// checkpoint) resumes from its last checkpoint and ends with exactly the weights, losses and cache entry
// of a run that was never stopped, on one thread and data-parallel.
import { existsSync, readdirSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { getArchitecture } from '../architectures/index.ts';
import { ModelCache } from '../harness/cache.ts';
import { loadCorpus } from '../harness/data/corpus.ts';
import { InterruptedError, clearInterrupt, requestInterrupt } from '../harness/interrupt.ts';
import { corpusStream, trainedModel, type StopRule, type TrainedModel } from '../harness/models.ts';
import { PRESETS } from '../harness/presets.ts';
import { FlatLayout } from '../harness/train/optim.ts';
import { stopWorkers } from '../harness/train/parallel.ts';
import { startDawn } from '../harness/webgpu.ts';
import { onlyIf, tempDir, useBackend } from './helpers.ts';

beforeAll(async () => {
  await useBackend('wasm');
});

afterAll(async () => {
  await stopWorkers();
});

afterEach(() => {
  clearInterrupt();
  delete process.env.ARCHBENCH_WORKERS;
});

const spec = getArchitecture('retnet')!;
const config = spec.configure({ vocab: 256, d: 32, layers: 2, heads: 2, seq: 16 });
const STEPS = 12, EVERY = 4;
const stream = corpusStream(loadCorpus('default'));

class Crash extends Error {}

/** A rule that never stops training (its spec is part of the key); at step `at` it interrupts or crashes. */
function rule(at?: number, how?: 'interrupt' | 'crash'): StopRule {
  return {
    spec: { never: true },
    after(_m, done) {
      if (done === at && how === 'interrupt') requestInterrupt();
      if (done === at && how === 'crash') throw new Crash(`crash at step ${done}`);
      return false;
    },
    summary: () => 'never stops',
  };
}

const request = (stop: StopRule) => ({
  spec, config, seed: 2, stream, purpose: 'text', stop, checkpointEverySteps: EVERY,
  train: { ...PRESETS.tiny!.train, batch: 4, steps: STEPS, warmup: 3 },
});

function weightsOf(m: TrainedModel): Float32Array {
  const layout = new FlatLayout(m.model.params.vars);
  const w = new Float32Array(layout.total);
  layout.read(m.model.params.vars, w);
  return w;
}

async function finished(cache: ModelCache, stop: StopRule): Promise<{ weights: Float32Array; info: TrainedModel['info']; entries: string[] }> {
  const m = await trainedModel(cache, request(stop));
  try {
    return { weights: weightsOf(m), info: m.info, entries: readdirSync(cache.dir).sort() };
  } finally {
    m.model.params.dispose();
  }
}

const STOPS = [
  ['an interrupt at step 7 saves a checkpoint there', 7, 'interrupt' as const, 7],
  ['a crash at step 6 leaves the periodic checkpoint of step 4', 6, 'crash' as const, 4],
] as const;

describe.each([['one thread', undefined], ['data-parallel (3 participants)', '3']])('training checkpoints, %s', (_name, workers) => {
  it.each(STOPS)('%s; the resumed model is bit-identical to an uninterrupted one', async (_what, at, how, resumedAt) => {
    if (workers) process.env.ARCHBENCH_WORKERS = workers;
    await resumesBitIdentical(at, how, resumedAt, workers ? Number(workers) : 1);
  });
});

async function resumesBitIdentical(at: number, how: 'interrupt' | 'crash', resumedAt: number, workers: number): Promise<void> {
  {
    const straight = await finished(new ModelCache(tempDir('ckpt-straight-')), rule());
    expect(straight.info.workers).toBe(workers);

    const cache = new ModelCache(tempDir('ckpt-stopped-'));
    const stopped = trainedModel(cache, request(rule(at, how)));
    await expect(stopped).rejects.toThrow(how === 'interrupt' ? InterruptedError : Crash);
    clearInterrupt();
    const entries = readdirSync(cache.dir);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatch(new RegExp(`^[0-9a-f]{32}\\.step-${resumedAt}$`));

    const log: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => (log.push(s), true)) as typeof process.stderr.write;
    let resumed;
    try {
      resumed = await finished(cache, rule());
    } finally {
      process.stderr.write = write;
    }
    expect(log.join('')).toContain(`resuming from its checkpoint at step ${resumedAt} of ${STEPS}`);
    expect(resumed.info.steps).toBe(STEPS);
    expect(resumed.info.finalLoss).toBe(straight.info.finalLoss);
    expect(Buffer.from(resumed.weights.buffer).equals(Buffer.from(straight.weights.buffer))).toBe(true);
    // the final model's entry has the same key as the uninterrupted run's, and the checkpoint is gone
    expect(resumed.entries).toEqual(straight.entries);
    expect(existsSync(`${cache.dir}/${entries[0]}`)).toBe(false);
  }
}

describe('a corrupt checkpoint', () => {
  it('is removed and training starts from step 1', async () => {
    const cache = new ModelCache(tempDir('ckpt-corrupt-'));
    await expect(trainedModel(cache, request(rule(5, 'crash')))).rejects.toThrow(Crash);
    const [entry] = readdirSync(cache.dir);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${cache.dir}/${entry}/weights.bin`, 'garbage');
    const straight = await finished(new ModelCache(tempDir('ckpt-straight-')), rule());
    const again = await finished(cache, rule());
    expect(Buffer.from(again.weights.buffer).equals(Buffer.from(straight.weights.buffer))).toBe(true);
    expect(again.entries).toEqual(straight.entries);
  });
});

// Last in the file: tensors the models cache move from wasm to webgpu only, never back.
const dawn = await startDawn().then(() => null, (e: Error) => e.message);
describe.runIf(onlyIf(!dawn, 'training checkpoints on webgpu', `no WebGPU adapter (${dawn})`))('training checkpoints on webgpu (AdamW on the GPU)', () => {
  beforeAll(async () => {
    await useBackend('webgpu');
  });
  it.each(STOPS)('%s; the resumed model is bit-identical to an uninterrupted one', async (_what, at, how, resumedAt) => {
    await resumesBitIdentical(at, how, resumedAt, 1);
  });
});

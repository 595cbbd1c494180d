// LeX past its training window on webgpu: forwardLong and prefill take the block rule (xPos at block-local
// positions, the fused block kernel) and agree with wasm (the plain [b x 2b] blocks) within 1e-4 relative,
// at T no multiple of the block. Where Dawn finds no adapter the test says why and skips (CI must run it).
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { getArchitecture } from '../architectures/index.ts';
import { Params } from '../architectures/layers.ts';
import { startDawn } from '../harness/webgpu.ts';
import { useBackend } from './helpers.ts';

const dawn = await startDawn().then(() => null, (e: Error) => e.message);
if (dawn) process.stderr.write(`LeX's blocks on webgpu are not tested here: ${dawn}\n`);
if (dawn && process.env.CI) throw new Error(`CI must test LeX's blocks on webgpu: ${dawn}`);

/** forwardLong logits over `long` tokens and prefill logits over the first `short`, from the given weights. */
async function logits(backend: string, init?: Map<string, Float32Array>) {
  await useBackend(backend);
  const spec = getArchitecture('lex')!;
  const m = spec.build(spec.configure({ vocab: 64, d: 32, layers: 2, heads: 2, seq: 16 }), new Params(1)); // blocks of 8
  try {
    if (init) for (const [n, v] of m.params.vars) tf.tidy(() => v.assign(tf.tensor(init.get(n)!, v.shape)));
    const weights = new Map<string, Float32Array>();
    for (const [n, v] of m.params.vars) weights.set(n, (await v.data()) as Float32Array);
    const tokens = tf.tensor2d(Array.from({ length: 2 * 53 }, (_, i) => (i * 7 + 3) % 64), [2, 53], 'int32');
    const long = m.forwardLong!(tokens), pre = m.prefill(tokens.slice([0, 0], [-1, 45]), { allLogits: true });
    const out = { long: (await long.data()) as Float32Array, prefill: (await pre.logits.data()) as Float32Array, weights };
    tf.dispose([tokens, long, pre.logits, ...pre.state.layers.flatMap((l) => Object.values(l).filter((x) => x instanceof tf.Tensor))]);
    return out;
  } finally {
    m.params.dispose();
  }
}

const relErr = (a: Float32Array, b: Float32Array): number => {
  let diff = 0, scale = 0;
  for (let i = 0; i < b.length; i++) [diff, scale] = [Math.max(diff, Math.abs(a[i]! - b[i]!)), Math.max(scale, Math.abs(b[i]!))];
  return diff / scale;
};

describe.runIf(!dawn)('LeX past its training window on webgpu', () => {
  it('forwardLong (T 53) and prefill (T 45) agree with wasm within 1e-4 relative', async () => {
    const ref = await logits('wasm');
    const gpu = await logits('webgpu', ref.weights);
    await useBackend('wasm');
    const errs = [relErr(gpu.long, ref.long), relErr(gpu.prefill, ref.prefill)];
    process.stderr.write(`lex on webgpu vs wasm: forwardLong ${errs[0]!.toExponential(1)}, prefill ${errs[1]!.toExponential(1)}\n`);
    for (const e of errs) expect(e).toBeLessThanOrEqual(1e-4);
  }, 120_000);
});

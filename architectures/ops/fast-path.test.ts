// The fast-path switch: on by default on wasm (with the native GEMM exactly on wasm+openblas), and every
// kernel at once against every reference at once: a whole Transformer's logits and parameter gradients.
import * as tf from '@tensorflow/tfjs';
import { expect, it } from 'vitest';
import { TOL, describeOnCpuBackends, relErr } from '../../tests/agreement.ts';
import { getArchitecture } from '../index.ts';
import { Params } from '../layers.ts';
import { fastPathEnabled, setFastPath } from './fast-path.ts';
import { tokenNll } from './loss/index.ts';
import { setNativeGemm } from './wasm-backend.ts';

describeOnCpuBackends('the fast paths together agree with the references (values and gradients, 1e-5 relative)', (backend) => {
  it('is on by default on wasm, with the native GEMM exactly on wasm+openblas', () => {
    expect(fastPathEnabled()).toBe(true);
    expect(tf.getBackend()).toBe('wasm');
    const gemm = setNativeGemm(null);
    setNativeGemm(gemm);
    expect(gemm !== null).toBe(backend === 'wasm+openblas');
  });

  it('a whole Transformer: logits and every parameter gradient', () => {
    const spec = getArchitecture('transformer')!;
    const cfg = spec.configure({ vocab: 256, d: 32, layers: 2, heads: 2, seq: 16 });
    const model = spec.build(cfg, new Params(3));
    const tokens = tf.tensor2d(Array.from({ length: 2 * 16 }, (_, i) => (i * 91 + 7) % 256), [2, 16], 'int32');
    const names = [...model.params.vars.keys()];
    const vars = names.map((n) => model.params.get(n));
    const run = (fast: boolean) => {
      const prev = setFastPath(fast);
      try {
        return tf.tidy(() => {
          const logits = model.forward(tokens);
          const { grads } = tf.variableGrads(() => tf.mean(tokenNll(model.forward(tokens), tokens)) as tf.Scalar, vars);
          return [logits, ...vars.map((v) => grads[v.name]!)];
        });
      } finally {
        setFastPath(prev);
      }
    };
    const fast = run(true), plain = run(false);
    fast.forEach((t, i) => expect(relErr(t, plain[i]!), i === 0 ? 'logits' : names[i - 1]).toBeLessThanOrEqual(TOL));
    model.params.dispose();
  });
});

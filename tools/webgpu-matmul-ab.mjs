#!/usr/bin/env node
// GFLOP/s of the matmul dispatcher on webgpu (the subgroup WGSL kernel where the device has subgroups,
// architectures/ops/matmul/webgpu.ts) against tfjs-webgpu's own matMul (fast paths off), alternated:
// per shape both warm up, then ROUNDS rounds of A then B, each timing REPS products and one read (the
// queue runs in order, so the read waits for all of them). Medians; indications, not a benchmark suite.
//   node tools/webgpu-matmul-ab.mjs [--shapes MxKxN[t][,...]] [--rounds 4]
// A shape's trailing 't' multiplies by B transposed (the gradient's dx = dy W^T). The default shapes are
// the paper preset's products at B x T = 16384 tokens (d 768: qkv, the FFN's gate|up and down).
// Output: a line per shape, then one JSON line (the last) with every figure and `faster` (subgroup or tfjs,
// by the geometric mean of the rates). Forces --backend webgpu.
import { register } from 'tsx/esm/api';

register();
const args = process.argv.slice(2);
const arg = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const fail = (msg) => { process.stderr.write(`webgpu-matmul-ab: ${msg}\n`); process.exit(2); };
const shapes = String(arg('--shapes', '16384x768x2304,16384x768x4096,16384x2048x768,16384x768x768t')).split(',').map((s) => {
  const m = /^(\d+)x(\d+)x(\d+)(t?)$/.exec(s.trim());
  if (!m) fail(`bad shape '${s}': valid is MxKxN with an optional trailing t (B transposed), e.g. 512x512x512t`);
  return { m: +m[1], k: +m[2], n: +m[3], transposeB: m[4] === 't', label: s.trim() };
});
const rounds = Number(arg('--rounds', '4'));
if (!Number.isInteger(rounds) || rounds < 1) fail(`--rounds must be a positive integer, got '${arg('--rounds')}'`);

const tf = await import('@tensorflow/tfjs');
const { selectBackend, backendLine } = await import('../harness/backend.ts');
const { setFastPath } = await import('../architectures/ops/fast-path.ts');
const { matMul } = await import('../architectures/ops/matmul/index.ts');
const { matmulWebgpuKernel } = await import('../architectures/ops/matmul/webgpu.ts');
const backend = await selectBackend('webgpu');
process.stdout.write(`# ${backendLine(backend)}\n# A: ${matmulWebgpuKernel()}; B: tfjs-webgpu's matMul (fast paths off)\n`);

/** Seconds per product of `reps` products then one read, fast paths on (A) or off (B). */
async function time(fast, a, b, transposeB, reps) {
  setFastPath(fast);
  const t0 = performance.now();
  let y = null;
  for (let i = 0; i < reps; i++) { y?.dispose(); y = matMul(a, b, false, transposeB); }
  await y.data();
  y.dispose();
  return (performance.now() - t0) / 1000 / reps;
}
const median = (xs) => [...xs].sort((p, q) => p - q)[xs.length >> 1];

const results = [];
for (const s of shapes) {
  const a = tf.randomNormal([s.m, s.k]), b = tf.randomNormal(s.transposeB ? [s.n, s.k] : [s.k, s.n]);
  const first = Math.max(await time(true, a, b, s.transposeB, 1), await time(false, a, b, s.transposeB, 1));
  const reps = Math.max(1, Math.min(20, Math.round(0.05 / first))); // about 50 ms a timing
  const ta = [], tb = [];
  for (let r = 0; r < rounds; r++) {
    ta.push(await time(true, a, b, s.transposeB, reps));
    tb.push(await time(false, a, b, s.transposeB, reps));
  }
  const flops = 2 * s.m * s.k * s.n, ga = flops / median(ta) / 1e9, gb = flops / median(tb) / 1e9;
  results.push({ shape: s.label, subgroup_gflops: +ga.toPrecision(4), tfjs_gflops: +gb.toPrecision(4), ratio: +(ga / gb).toPrecision(4), rounds, reps });
  process.stdout.write(`${s.label}: A ${ga.toFixed(2)} GFLOP/s, B ${gb.toFixed(2)} GFLOP/s, A/B ${(ga / gb).toFixed(2)} (median of ${rounds} alternated rounds of ${reps})\n`);
  tf.dispose([a, b]);
}
setFastPath(true);
// the faster over all shapes (geometric mean of the rates): tools/gpu-sitting.sh runs the rest of its sitting with it
const geomean = (k) => Math.exp(results.reduce((p, x) => p + Math.log(x[k]), 0) / results.length);
const faster = results.length && geomean('subgroup_gflops') >= geomean('tfjs_gflops') ? 'subgroup' : 'tfjs';
process.stdout.write(`${JSON.stringify({ matmul: matmulWebgpuKernel(), adapter: backend.adapter?.device, results, faster })}\n`);
process.exit(0);

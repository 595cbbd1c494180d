#!/usr/bin/env node
// Probe of Dawn's `chromium-experimental-subgroup-matrix` (tensor-core MMA from WGSL, behind the
// allow_unsafe_apis toggle): whether the adapter offers it, its subgroup-matrix configs, and, where it
// does, an S x S x S matmul C = A B with A, B in f16 (and bf16 where a config offers it) and f32
// accumulation through subgroup-matrix WGSL, checked against float64 sums of the same inputs and timed
// (TFLOP/s = 2 S^3 / s, median of at most --runs timed runs within TIMED_S, each waiting for the GPU). Where the feature or a
// config is absent it prints why and exits 0: the probe is a question, not a gate.
//   node tools/subgroup-matrix-probe.mjs [--size 4096] [--runs 10]
// Output: lines for people, then one JSON line (the last) with the facts and figures.
// The kernel: one subgroup per workgroup (workgroup_size = the adapter's subgroupMaxSize; should the
// device run narrower subgroups, each computes the same tile), each computing RM x RN result matrices of
// the config's M x N from RM left (M x K) and RN right (K x N) matrices loaded from storage per K step.
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);
const FEATURE = 'chromium-experimental-subgroup-matrix';
const args = process.argv.slice(2);
const option = (name, dflt) => {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(args[i + 1]);
  if (!Number.isInteger(v) || v < 1) {
    process.stderr.write(`subgroup-matrix-probe: ${name} must be a positive integer, got '${args[i + 1]}'\n`);
    process.exit(2);
  }
  return v;
};
const SIZE = option('--size', 4096), RUNS = option('--runs', 10);
/** Result matrices per subgroup: RM down, RN across. */
const RM = 2, RN = 4;
/** Entries of C checked against float64 sums. */
const CHECKED = 1024;
/** Timed runs stop after this many seconds (the GPU sitting gives the probe 15 s in all). */
const TIMED_S = 3;

const facts = { feature: FEATURE, size: SIZE, available: false, reason: '', adapter: null, configs: [], runs: [] };
const say = (s) => process.stdout.write(`${s}\n`);
const finish = (reason) => {
  if (reason) { facts.reason = reason; say(`subgroup matrix not run: ${reason}`); }
  say(JSON.stringify(facts));
  process.exit(0);
};

const gpu = create(['enable-dawn-features=allow_unsafe_apis']);
const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
if (!adapter) finish('Dawn found no WebGPU adapter (no Vulkan driver)');
const info = adapter.info;
facts.adapter = { vendor: info.vendor, device: info.device, description: info.description,
                  subgroupMinSize: info.subgroupMinSize, subgroupMaxSize: info.subgroupMaxSize };
facts.configs = [...(info.subgroupMatrixConfigs ?? [])].map((c) => ({ componentType: c.componentType, resultComponentType: c.resultComponentType, M: c.M, N: c.N, K: c.K }));
say(`adapter: ${info.vendor} ${info.device} (${info.description}); subgroups ${info.subgroupMinSize}-${info.subgroupMaxSize} wide`);
say(`features: ${[...adapter.features].filter((f) => /subgroup|f16/.test(f)).sort().join(', ') || 'no subgroup or f16 feature'}`);
say(`subgroup-matrix configs: ${facts.configs.map((c) => `${c.componentType}->${c.resultComponentType} ${c.M}x${c.N}x${c.K}`).join(', ') || 'none'}`);
if (!adapter.features.has(FEATURE)) finish(`the adapter does not offer '${FEATURE}' (with allow_unsafe_apis on)`);
for (const f of ['subgroups', 'shader-f16']) if (!adapter.features.has(f)) finish(`the adapter offers '${FEATURE}' but not '${f}'`);

const wanted = (type) => facts.configs.find((c) => c.componentType === type && c.resultComponentType === 'f32');
const device = await adapter.requestDevice({
  requiredFeatures: [FEATURE, 'subgroups', 'shader-f16'],
  requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize },
}).catch((e) => finish(`requestDevice with '${FEATURE}' failed: ${e.message}`));
facts.available = true;

/** float32 -> IEEE half bits (round to nearest even; the inputs here stay in half's normal range). */
const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
function toHalf(x) {
  f32[0] = x;
  const b = u32[0], sign = (b >>> 16) & 0x8000, exp = ((b >>> 23) & 0xff) - 127 + 15;
  if (exp <= 0) return sign; // |x| < 2^-14: flushed (never the case for the inputs here)
  let mant = b & 0x7fffff, half = (exp << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1))) half++;
  return sign | half;
}
const fromHalf = (h) => (h & 0x8000 ? -1 : 1) * (((h >>> 10) & 0x1f) === 0 ? 0 : 2 ** (((h >>> 10) & 0x1f) - 15) * (1 + (h & 0x3ff) / 1024));

/** Uniform [-1, 1) values from a fixed linear congruential sequence, as half bits and their exact values. */
function halfMatrix(seed) {
  const bits = new Uint16Array(SIZE * SIZE), values = new Float64Array(SIZE * SIZE);
  let s = seed >>> 0;
  for (let i = 0; i < bits.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    bits[i] = toHalf(s / 2 ** 31 - 1);
    values[i] = fromHalf(bits[i]);
  }
  return { bits, values };
}

function kernel(c) {
  const tiles = [];
  for (let i = 0; i < RM; i++) for (let j = 0; j < RN; j++) tiles.push([i, j]);
  const left = `subgroup_matrix_left<${c.componentType}, ${c.K}, ${c.M}>`, right = `subgroup_matrix_right<${c.componentType}, ${c.N}, ${c.K}>`;
  const result = `subgroup_matrix_result<f32, ${c.N}, ${c.M}>`;
  return `enable f16;
enable chromium_experimental_subgroup_matrix;
const S = ${SIZE}u;
@group(0) @binding(0) var<storage, read> A : array<${c.componentType}>;
@group(0) @binding(1) var<storage, read> B : array<${c.componentType}>;
@group(0) @binding(2) var<storage, read_write> C : array<f32>;
@compute @workgroup_size(${info.subgroupMaxSize})
fn main(@builtin(workgroup_id) tile : vec3u) {
  let row0 = tile.y * ${RM * c.M}u;
  let col0 = tile.x * ${RN * c.N}u;
${tiles.map(([i, j]) => `  var acc${i}${j} = ${result}();`).join('\n')}
  for (var k = 0u; k < S; k += ${c.K}u) {
${[...Array(RM).keys()].map((i) => `    let a${i} = subgroupMatrixLoad<${left}>(&A, (row0 + ${i * c.M}u) * S + k, false, S);`).join('\n')}
${[...Array(RN).keys()].map((j) => `    let b${j} = subgroupMatrixLoad<${right}>(&B, k * S + col0 + ${j * c.N}u, false, S);`).join('\n')}
${tiles.map(([i, j]) => `    acc${i}${j} = subgroupMatrixMultiplyAccumulate(a${i}, b${j}, acc${i}${j});`).join('\n')}
  }
${tiles.map(([i, j]) => `  subgroupMatrixStore(&C, (row0 + ${i * c.M}u) * S + col0 + ${j * c.N}u, acc${i}${j}, false, S);`).join('\n')}
}`;
}

function buffer(data, usage) {
  const b = device.createBuffer({ size: data.byteLength, usage, mappedAtCreation: true });
  new data.constructor(b.getMappedRange()).set(data);
  b.unmap();
  return b;
}

async function run(config) {
  const label = `${config.componentType}->f32 ${config.M}x${config.N}x${config.K}`;
  if (SIZE % (RM * config.M) || SIZE % (RN * config.N) || SIZE % config.K) {
    return { config: label, error: `size ${SIZE} is not a multiple of the tile ${RM * config.M}x${RN * config.N}x${config.K}` };
  }
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code: kernel(config) });
  const pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' } })
    .catch((e) => ({ error: e.message }));
  const scopeError = await device.popErrorScope();
  if (pipeline.error || scopeError) return { config: label, error: `pipeline: ${pipeline.error ?? scopeError.message}` };
  const a = halfMatrix(1), b = halfMatrix(2);
  const storage = GPUBufferUsage.STORAGE;
  const bufA = buffer(a.bits, storage), bufB = buffer(b.bits, storage);
  const bufC = device.createBuffer({ size: SIZE * SIZE * 4, usage: storage | GPUBufferUsage.COPY_SRC });
  const bind = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [bufA, bufB, bufC].map((buffer, binding) => ({ binding, resource: { buffer } })) });
  const dispatch = async () => {
    const enc = device.createCommandEncoder(), pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(SIZE / (RN * config.N), SIZE / (RM * config.M));
    pass.end();
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
  };
  await dispatch(); // warm-up (and the checked result)
  const read = device.createBuffer({ size: SIZE * SIZE * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(bufC, 0, read, 0, SIZE * SIZE * 4);
  device.queue.submit([enc.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const c = new Float32Array(read.getMappedRange().slice(0));
  read.unmap();
  // float64 sums of the same half inputs at CHECKED entries spread over C: max |C - ref| / max |ref|
  let worst = 0, scale = 0;
  for (let e = 0; e < CHECKED; e++) {
    const i = (e * 2654435761) % SIZE, j = (e * 40503 + 17) % SIZE;
    let ref = 0;
    for (let k = 0; k < SIZE; k++) ref += a.values[i * SIZE + k] * b.values[k * SIZE + j];
    worst = Math.max(worst, Math.abs(c[i * SIZE + j] - ref));
    scale = Math.max(scale, Math.abs(ref));
  }
  const seconds = [];
  for (let r = 0; r < RUNS && seconds.reduce((x, y) => x + y, 0) < TIMED_S; r++) {
    const t0 = performance.now();
    await dispatch();
    seconds.push((performance.now() - t0) / 1000);
  }
  seconds.sort((x, y) => x - y);
  const median = seconds[seconds.length >> 1];
  [bufA, bufB, bufC, read].forEach((x) => x.destroy());
  return { config: label, relative_error: worst / scale, checked: CHECKED, timed_runs: seconds.length, median_s: median, tflops: (2 * SIZE ** 3) / median / 1e12 };
}

for (const type of ['f16', 'bf16']) {
  const config = wanted(type);
  if (!config) { say(`${type}: no ${type}->f32 subgroup-matrix config on this adapter`); continue; }
  if (type === 'bf16') { say('bf16: a bf16 config is offered, but this probe\'s WGSL has no bf16 type: not run'); continue; }
  const r = await run(config);
  facts.runs.push(r);
  say(r.error ? `${r.config}: failed: ${r.error}`
    : `${r.config}: ${SIZE}^3 matmul, ${r.tflops.toFixed(2)} TFLOP/s (median of ${r.timed_runs}, ${(r.median_s * 1e3).toFixed(2)} ms), relative error ${r.relative_error.toExponential(1)} at ${CHECKED} entries against float64 sums of the same inputs`);
}
finish(facts.runs.some((r) => !r.error) ? '' : 'no f16->f32 config ran');

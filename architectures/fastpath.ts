// Fast paths for the wasm backend. Each one computes exactly what a plain composition of tf ops computes
// (the plain versions live next to their callers in layers.ts, attention.ts and harness/train.ts; tests
// in tests/fastpath.test.ts hold them to 1e-5 relative), but in a form that runs fast on tfjs-wasm:
//   - every matrix product goes to XNNPACK's 2-D path (no transpose flags, batch 1): the wasm backend
//     runs anything else through a naive loop at 1-2 GFLOP/s;
//   - data movement (transposes, head split/merge, gather/scatter, slicing) is done by JS loops over the
//     wasm heap: the backend's Transpose is a naive strided loop, and its Slice copies the whole input
//     once per slice;
//   - one op per layer function (one tape node, one gradient) instead of a dozen small kernels, because
//     the engine costs ~15-30 us per op;
//   - attention runs per head on XNNPACK by calling the backend's own BatchMatMul and Softmax entry
//     points on sub-ranges of the heap (registered as temporary tensor ids), inside one custom op.
// Transcendentals (sigmoid, softmax's exp) stay in wasm kernels: V8's Math.exp is ~10x slower.
// With a native GEMM installed (backend wasm+openblas, see harness/native.ts) every matrix product goes to
// it instead, transpose flags and batch included, so no operand is transposed by JS first.
// On any other backend (or with setFastPath(false)) callers take the plain path.
import * as tf from '@tensorflow/tfjs';

/** The function type tf.customGrad takes (its inputs and a save callback). */
type GradFunc = Parameters<typeof tf.customGrad>[0];

interface WasmModule {
  HEAPF32: Float32Array;
  HEAP32: Int32Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  _BatchMatMul(aId: number, aShape: number, aRank: number, bId: number, bShape: number, bRank: number,
               transposeA: number, transposeB: number, outId: number): void;
  _Softmax(xId: number, outId: number, channels: number, batch: number): void;
  tfjs: { registerTensor(id: number, size: number, offset: number): void; disposeData(id: number): void };
}

interface WasmBackend {
  wasm: WasmModule;
  dataIdNextNumber: number;
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number; dtype: string } | undefined; has(dataId: object): boolean };
  makeOutput(shape: number[], dtype: string): tf.TensorInfo;
}

let enabled = true;

/** A native row-major sgemm on heap byte offsets (harness/native/gemm.c documents the arguments). */
export interface NativeGemm {
  gemm(heap: ArrayBufferLike, transA: number, transB: number, m: number, n: number, k: number, a: number, lda: number,
       b: number, ldb: number, c: number, ldc: number, beta: number, batch: number, strideA: number, strideB: number,
       strideC: number): void;
  /** The library and its configuration, for the record. */
  library: string;
}

let native: NativeGemm | null = null;

/** Send the fast paths' matrix products to a native GEMM (null: XNNPACK). Returns the previous one. */
export function setNativeGemm(g: NativeGemm | null): NativeGemm | null {
  const prev = native;
  native = g;
  return prev;
}

/** Turn the fast paths on or off (tests compare both); returns the previous setting. */
export function setFastPath(on: boolean): boolean {
  const prev = enabled;
  enabled = on;
  if (!on) restoreKernels();
  return prev;
}

export function fastPathEnabled(): boolean {
  return enabled;
}

/** The wasm backend when the fast paths apply to these tensors, else null (take the plain path). */
export function fastBackend(...tensors: tf.Tensor[]): WasmBackend | null {
  if (!enabled || tf.getBackend() !== 'wasm') return null;
  const be = tf.backend() as unknown as WasmBackend;
  if (typeof be.wasm?._BatchMatMul !== 'function') return null;
  if (!patched) patchKernels();
  for (const t of tensors) {
    if (t.dtype !== 'float32' && t.dtype !== 'int32') return null;
    if (!be.dataIdMap.has(t.dataId)) return null;
  }
  return be;
}

/**
 * True when gradients may flow into t in the gradient computation now being recorded (t is a trainable
 * variable or the output of a recorded op). Fast paths treat tables (rotations, masks) as constants and
 * take the plain path when they are not.
 */
export function mayNeedGradient(t: tf.Tensor): boolean {
  if (t instanceof tf.Variable) return t.trainable;
  const engine = tf.engine() as unknown as { state: { activeTape: { outputs: tf.Tensor[] }[] | null; gradientDepth: number } };
  const tape = engine.state.activeTape;
  if (!tape || engine.state.gradientDepth === 0) return false;
  for (let i = tape.length - 1; i >= 0; i--) {
    for (const o of tape[i]!.outputs) if (o.id === t.id) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------
// Heap helpers

/** True when `t` has shape [..., rows, cols] with every leading axis of size 1 (broadcasts as [rows, cols]). */
export function isTable(t: tf.Tensor, rows: number, cols: number): boolean {
  const r = t.rank;
  if (r < 2 || t.shape[r - 2] !== rows || t.shape[r - 1] !== cols) return false;
  for (let i = 0; i < r - 2; i++) if (t.shape[i] !== 1) return false;
  return true;
}

/** Float offset (index into HEAPF32) of a tensor's data. */
function off(be: WasmBackend, t: tf.Tensor): number {
  return be.dataIdMap.get(t.dataId)!.memoryOffset >>> 2;
}

/** A new float32 tensor of `shape` whose data the caller fills; returns it and its float offset. */
function alloc(be: WasmBackend, shape: number[]): { t: tf.Tensor; o: number } {
  const info = be.makeOutput(shape, 'float32');
  const t = tf.engine().makeTensorFromTensorInfo(info);
  return { t, o: be.dataIdMap.get(info.dataId)!.memoryOffset >>> 2 };
}

/** Scratch heap memory (float offset); free with be.wasm._free(o << 2). */
function scratch(be: WasmBackend, floats: number): number {
  return (be.wasm._malloc(Math.max(4, floats * 4)) >>> 0) >>> 2;
}

const shapeBuffers = new WeakMap<WasmBackend, number>();
function shapeBuffer(be: WasmBackend): number {
  let p = shapeBuffers.get(be);
  if (p === undefined) {
    p = be.wasm._malloc(32) >>> 0;
    shapeBuffers.set(be, p);
  }
  return p;
}

/**
 * out[M,N] = a[M,K] @ b[K,N] on XNNPACK's 2-D path, for row-major matrices at float offsets of the heap.
 * The backend caches a packed copy of b per tensor id; the ids here are fresh and disposed at once.
 */
function gemm(be: WasmBackend, a: number, m: number, k: number, b: number, n: number, out: number): void {
  const w = be.wasm;
  const sp = shapeBuffer(be);
  const h = w.HEAP32, s = sp >>> 2;
  h[s] = 1; h[s + 1] = m; h[s + 2] = k;
  h[s + 3] = 1; h[s + 4] = k; h[s + 5] = n;
  const ia = be.dataIdNextNumber++, ib = be.dataIdNextNumber++, io = be.dataIdNextNumber++;
  w.tfjs.registerTensor(ia, m * k, a << 2);
  w.tfjs.registerTensor(ib, k * n, b << 2);
  w.tfjs.registerTensor(io, m * n, out << 2);
  w._BatchMatMul(ia, sp, 3, ib, sp + 12, 3, 0, 0, io);
  w.tfjs.disposeData(ia);
  w.tfjs.disposeData(ib);
  w.tfjs.disposeData(io);
}

/**
 * `batch` products out_i (+)= op(a_i) op(b_i) on the native GEMM, contiguous row-major operands at float offsets
 * (a_i = a + i * strideA, b_i likewise; a stride of 0 broadcasts, out_i = out + i * M * N). Byte offsets are
 * * 4, not << 2: a heap past 2 GiB would turn negative in a 32-bit shift.
 */
function nativeProducts(g: NativeGemm, be: WasmBackend, a: number, transA: boolean, b: number, transB: boolean, m: number,
                        k: number, n: number, out: number, accumulate: boolean, batch: number, strideA: number, strideB: number): void {
  g.gemm(be.wasm.HEAPF32.buffer, +transA, +transB, m, n, k, a * 4, transA ? m : k, b * 4, transB ? k : n, out * 4, n,
         accumulate ? 1 : 0, batch, strideA, strideB, m * n);
}

/**
 * out[M,N] = op(a) op(b), or out += op(a) op(b) with `accumulate`, for row-major matrices at float offsets of
 * the heap, where op(x) = x^T when its flag is set (a is then stored [K,M], b [N,K]). A native GEMM takes the
 * flags and the sum as they are; on XNNPACK, transposed operands are transposed into scratch first and the
 * sum goes through scratch. The heap may grow: read be.wasm.HEAPF32 again afterwards.
 */
function product(be: WasmBackend, a: number, transA: boolean, b: number, transB: boolean, m: number, k: number, n: number,
                 out: number, accumulate = false): void {
  if (native) {
    nativeProducts(native, be, a, transA, b, transB, m, k, n, out, accumulate, 1, 0, 0);
    return;
  }
  const at = transA ? scratch(be, m * k) : a, bt = transB ? scratch(be, k * n) : b;
  const dst = accumulate ? scratch(be, m * n) : out;
  if (transA) transposeInto(be.wasm.HEAPF32, a, k, m, at);
  if (transB) transposeInto(be.wasm.HEAPF32, b, n, k, bt);
  gemm(be, at, m, k, bt, n, dst);
  const h = be.wasm.HEAPF32;
  if (accumulate) for (let j = 0; j < m * n; j++) h[out + j]! += h[dst + j]!;
  for (const [x, own] of [[at, transA], [bt, transB], [dst, accumulate]] as const) if (own) be.wasm._free(x << 2);
}

/** Row softmax of `rows` rows of length `channels` from float offset x to float offset out (XNNPACK). */
function softmaxRows(be: WasmBackend, x: number, out: number, rows: number, channels: number): void {
  const w = be.wasm;
  const ix = be.dataIdNextNumber++, io = be.dataIdNextNumber++;
  w.tfjs.registerTensor(ix, rows * channels, x << 2);
  w.tfjs.registerTensor(io, rows * channels, out << 2);
  w._Softmax(ix, io, channels, rows);
  w.tfjs.disposeData(ix);
  w.tfjs.disposeData(io);
}

/** dst[c, r] = src[r, c] for an R x C row-major matrix (write-contiguous, tiled reads). */
function transposeInto(h: Float32Array, src: number, rows: number, cols: number, dst: number): void {
  const B = 16;
  for (let c0 = 0; c0 < cols; c0 += B) {
    const c1 = Math.min(c0 + B, cols);
    for (let r0 = 0; r0 < rows; r0 += B) {
      const r1 = Math.min(r0 + B, rows);
      for (let c = c0; c < c1; c++) {
        let d = dst + c * rows + r0, s = src + r0 * cols + c;
        for (let r = r0; r < r1; r++, d++, s += cols) h[d] = h[s]!;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Replacements for slow wasm kernels (data movement only, so results are bit-identical):
//   Identity (the engine clones every tensor it saves for a gradient): share the data, as the cpu backend
//     does, instead of copying it;
//   Slice / SplitV: copy the slice from a view of the heap, not from a full copy of the input per slice;
//   Transpose: JS loops that move contiguous runs (or a tiled 2-D transpose) instead of a strided loop.
// Installed on the first fast-path call; setFastPath(false) puts the originals back.

let patched = false;
const originals = new Map<string, tf.KernelConfig>();

interface HeapBackend extends WasmBackend {
  incRef(dataId: object): void;
}

const is4Bytes = (dtype: string): boolean => dtype === 'float32' || dtype === 'int32';

/** Copy the box [begin, begin+size) of x (shape `shape`) into a new tensor info, moving runs of the last axis. */
function sliceInfo(be: HeapBackend, x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
  const out = be.makeOutput(size, x.dtype);
  const h = be.wasm.HEAPF32;
  const xo = be.dataIdMap.get(x.dataId)!.memoryOffset >>> 2, oo = be.dataIdMap.get(out.dataId)!.memoryOffset >>> 2;
  const rank = x.shape.length;
  const total = size.reduce((a, b) => a * b, 1);
  if (total === 0) return out;
  const strides = new Array<number>(rank);
  strides[rank - 1] = 1;
  for (let i = rank - 2; i >= 0; i--) strides[i] = strides[i + 1]! * x.shape[i + 1]!;
  // Merge trailing axes that are taken whole into one contiguous run.
  let inner = rank - 1;
  let run = size[rank - 1]!;
  while (inner > 0 && size[inner] === x.shape[inner] && begin[inner] === 0) {
    inner--;
    run *= size[inner]!;
  }
  let base = 0;
  for (let i = 0; i < rank; i++) base += begin[i]! * strides[i]!;
  const outer = total / run;
  const idx = new Array<number>(inner).fill(0);
  let dst = oo;
  for (let r = 0; r < outer; r++) {
    let src = xo + base;
    for (let i = 0; i < inner; i++) src += idx[i]! * strides[i]!;
    if (run < 16) for (let j = 0; j < run; j++) h[dst + j] = h[src + j]!;
    else h.copyWithin(dst, src, src + run);
    dst += run;
    for (let i = inner - 1; i >= 0; i--) {
      if (++idx[i]! < size[i]!) break;
      idx[i] = 0;
    }
  }
  return out;
}

function patchKernels(): void {
  patched = true;
  const install = (config: tf.KernelConfig): void => {
    const prev = tf.getKernel(config.kernelName, 'wasm');
    if (!prev) return;
    if (!originals.has(config.kernelName)) originals.set(config.kernelName, prev);
    tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel(config);
  };
  const fallback = (name: string, args: Parameters<tf.KernelFunc>[0]) => originals.get(name)!.kernelFunc(args);
  install({
    kernelName: 'Identity', backendName: 'wasm',
    kernelFunc: (args) => {
      const x = args.inputs.x as tf.TensorInfo;
      if (x.dtype === 'string') return fallback('Identity', args);
      (args.backend as unknown as HeapBackend).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  });
  install({
    kernelName: 'Slice', backendName: 'wasm',
    kernelFunc: (args) => {
      const x = args.inputs.x as tf.TensorInfo;
      if (!is4Bytes(x.dtype)) return fallback('Slice', args);
      const { begin, size } = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
      const [b, sz] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, begin, size);
      return sliceInfo(args.backend as unknown as HeapBackend, x, b, sz);
    },
  });
  install({
    kernelName: 'SplitV', backendName: 'wasm',
    kernelFunc: (args) => {
      const x = args.inputs.x as tf.TensorInfo;
      if (!is4Bytes(x.dtype)) return fallback('SplitV', args);
      const { numOrSizeSplits, axis } = args.attrs as unknown as { numOrSizeSplits: number | number[]; axis: number };
      const ax = tf.util.parseAxisParam(axis, x.shape)[0]!;
      const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, numOrSizeSplits, ax);
      const begin = new Array<number>(x.shape.length).fill(0);
      return sizes.map((n) => {
        const size = [...x.shape];
        size[ax] = n;
        const out = sliceInfo(args.backend as unknown as HeapBackend, x, [...begin], size);
        begin[ax]! += n;
        return out;
      });
    },
  });
  install({
    kernelName: 'BatchMatMul', backendName: 'wasm',
    kernelFunc: (args) => {
      const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
      const fast = batchMatMulInfo(args.backend as unknown as HeapBackend, a, b, transposeA, transposeB);
      return fast ?? fallback('BatchMatMul', args);
    },
  });
  install({
    kernelName: 'Transpose', backendName: 'wasm',
    kernelFunc: (args) => {
      const x = args.inputs.x as tf.TensorInfo;
      const perm = (args.attrs as unknown as { perm: number[] }).perm;
      const fast = is4Bytes(x.dtype) ? transposeInfo(args.backend as unknown as HeapBackend, x, perm) : null;
      return fast ?? fallback('Transpose', args);
    },
  });
}

/**
 * Batched and transposed matMul. With a native GEMM: every product, one call with the flags and batch
 * strides. On XNNPACK: per batch element, transposed operands are transposed by JS first, then one 2-D
 * product (the backend sends anything but a plain 2-D product to a naive loop at 1-2 GFLOP/s); plain 2-D
 * products stay with the backend, which caches the packed right operand per tensor (the weights). Batch
 * dims broadcast when one side has a single batch. Else null.
 */
function batchMatMulInfo(be: HeapBackend, a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean): tf.TensorInfo | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  const ra = a.shape.length, rb = b.shape.length;
  if (ra < 2 || rb < 2) return null;
  const m = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!, k = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const kb = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!, n = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (k !== kb || m === 0 || n === 0 || k === 0) return null;
  const batchA = a.shape.slice(0, -2).reduce((x, y) => x * y, 1), batchB = b.shape.slice(0, -2).reduce((x, y) => x * y, 1);
  if (!native && batchA === 1 && batchB === 1 && !transposeA && !transposeB) return null;
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return null;
  const outerA = a.shape.slice(0, -2), outerB = b.shape.slice(0, -2);
  if (batchA !== 1 && batchB !== 1 && outerA.join() !== outerB.join()) return null;
  const batch = Math.max(batchA, batchB);
  const out = be.makeOutput([...tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB), m, n], 'float32');
  const ao = be.dataIdMap.get(a.dataId)!.memoryOffset >>> 2, bo = be.dataIdMap.get(b.dataId)!.memoryOffset >>> 2;
  const oo = be.dataIdMap.get(out.dataId)!.memoryOffset >>> 2;
  if (native) {
    nativeProducts(native, be, ao, transposeA, bo, transposeB, m, k, n, oo, false, batch, batchA === 1 ? 0 : m * k, batchB === 1 ? 0 : k * n);
    return out;
  }
  const ta = transposeA ? scratch(be, m * k) : -1, tb = transposeB ? scratch(be, k * n) : -1;
  let lastB = -1;
  for (let i = 0; i < batch; i++) {
    let ai = ao + (batchA === 1 ? 0 : i) * m * k, bi = bo + (batchB === 1 ? 0 : i) * k * n;
    if (ta >= 0) {
      transposeInto(be.wasm.HEAPF32, ai, k, m, ta);
      ai = ta;
    }
    if (tb >= 0) {
      if (bi !== lastB) transposeInto(be.wasm.HEAPF32, bi, n, k, tb);
      lastB = bi;
      bi = tb;
    }
    gemm(be, ai, m, k, bi, n, oo + i * m * n);
  }
  if (ta >= 0) be.wasm._free(ta << 2);
  if (tb >= 0) be.wasm._free(tb << 2);
  return out;
}

function restoreKernels(): void {
  if (!patched) return;
  for (const [name, config] of originals) {
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(config);
  }
  originals.clear();
  patched = false;
}

/**
 * Transpose by JS loops when the permutation, after dropping size-1 axes, keeps the last axis last (copies
 * contiguous runs) or is a batched swap of the last two axes (tiled 2-D transpose). Else null.
 */
function transposeInfo(be: HeapBackend, x: tf.TensorInfo, perm: number[]): tf.TensorInfo | null {
  const outShape = perm.map((p) => x.shape[p]!);
  const keep = x.shape.map((n, i) => (n !== 1 ? i : -1)).filter((i) => i >= 0);
  const rank = keep.length;
  const shape = keep.map((i) => x.shape[i]!);
  const rp = perm.filter((p) => x.shape[p] !== 1).map((p) => keep.indexOf(p));
  const size = shape.reduce((a, b) => a * b, 1);
  const out = be.makeOutput(outShape, x.dtype);
  const h = be.wasm.HEAPF32;
  const xo = be.dataIdMap.get(x.dataId)!.memoryOffset >>> 2, oo = be.dataIdMap.get(out.dataId)!.memoryOffset >>> 2;
  if (size === 0) return out;
  if (rp.every((p, i) => p === i)) {
    h.copyWithin(oo, xo, xo + size);
    return out;
  }
  const strides = new Array<number>(rank);
  strides[rank - 1] = 1;
  for (let i = rank - 2; i >= 0; i--) strides[i] = strides[i + 1]! * shape[i + 1]!;
  if (rp[rank - 1] === rank - 1) {
    const run = shape[rank - 1]!;
    const oshape = rp.map((p) => shape[p]!);
    const idx = new Array<number>(rank - 1).fill(0);
    const outer = size / run;
    let dst = oo;
    for (let r = 0; r < outer; r++) {
      let src = xo;
      for (let i = 0; i < rank - 1; i++) src += idx[i]! * strides[rp[i]!]!;
      if (run < 16) for (let j = 0; j < run; j++) h[dst + j] = h[src + j]!;
      else h.copyWithin(dst, src, src + run);
      dst += run;
      for (let i = rank - 2; i >= 0; i--) {
        if (++idx[i]! < oshape[i]!) break;
        idx[i] = 0;
      }
    }
    return out;
  }
  if (rank >= 2 && rp[rank - 1] === rank - 2 && rp[rank - 2] === rank - 1 && rp.slice(0, -2).every((p, i) => p === i)) {
    const m = shape[rank - 2]!, n = shape[rank - 1]!;
    const batch = size / (m * n);
    for (let b = 0; b < batch; b++) transposeInto(h, xo + b * m * n, m, n, oo + b * m * n);
    return out;
  }
  (be as unknown as { disposeData(d: object): void }).disposeData(out.dataId);
  return null;
}

// ---------------------------------------------------------------------------------------------------
// Layout ops

/** Swap the last two axes: [..., M, N] -> [..., N, M] (exact; no gradient of its own, see transposeLast). */
function transposeRaw(be: WasmBackend, x: tf.Tensor): tf.Tensor {
  const r = x.rank;
  const m = x.shape[r - 2]!, n = x.shape[r - 1]!;
  const batch = x.size / (m * n);
  const shape = [...x.shape.slice(0, -2), n, m];
  const { t, o } = alloc(be, shape);
  const xo = off(be, x), h = be.wasm.HEAPF32;
  for (let b = 0; b < batch; b++) transposeInto(h, xo + b * m * n, m, n, o + b * m * n);
  return t;
}

/** Swap the last two axes (rank >= 2). Fast on wasm; tf.transpose elsewhere. Differentiable. */
export function transposeLast(x: tf.Tensor): tf.Tensor {
  const be = fastBackend(x);
  if (!be || x.rank < 2 || x.dtype !== 'float32') {
    const perm = [...Array(x.rank).keys()];
    [perm[x.rank - 2], perm[x.rank - 1]] = [perm[x.rank - 1]!, perm[x.rank - 2]!];
    return tf.transpose(x, perm);
  }
  const f = tf.customGrad(((a: tf.Tensor) => ({
    value: transposeRaw(be, a),
    gradFunc: (dy: tf.Tensor) => transposeLast(dy),
  })) as unknown as GradFunc);
  return f(x) as tf.Tensor;
}

/** [B, T, H*Dh] <-> [B, H, T, Dh] by JS copies. `toHeads` chooses the direction. */
function headsRaw(be: WasmBackend, x: tf.Tensor, heads: number, toHeads: boolean): tf.Tensor {
  let b: number, t: number, dh: number;
  if (toHeads) {
    [b, t] = x.shape as [number, number, number];
    dh = x.shape[2]! / heads;
  } else {
    [b, , t, dh] = x.shape as [number, number, number, number];
  }
  const d = heads * dh;
  const { t: out, o } = alloc(be, toHeads ? [b, heads, t, dh] : [b, t, d]);
  const xo = off(be, x), hp = be.wasm.HEAPF32;
  for (let bi = 0; bi < b; bi++) {
    for (let hi = 0; hi < heads; hi++) {
      for (let ti = 0; ti < t; ti++) {
        const flat = (bi * t + ti) * d + hi * dh; // [B, T, H*Dh]
        const split = ((bi * heads + hi) * t + ti) * dh; // [B, H, T, Dh]
        if (toHeads) hp.copyWithin(o + split, xo + flat, xo + flat + dh);
        else hp.copyWithin(o + flat, xo + split, xo + split + dh);
      }
    }
  }
  return out;
}

/** Split heads [B, T, H*Dh] -> [B, H, T, Dh] (fast path; gradient: merge). */
export function splitHeadsFast(x: tf.Tensor, heads: number): tf.Tensor4D | null {
  const be = fastBackend(x);
  if (!be || x.rank !== 3 || x.dtype !== 'float32' || x.shape[2]! % heads !== 0) return null;
  const f = tf.customGrad(((a: tf.Tensor) => ({
    value: headsRaw(be, a, heads, true),
    gradFunc: (dy: tf.Tensor) => mergeHeadsFast(dy) ?? tf.transpose(dy, [0, 2, 1, 3]).reshape(a.shape),
  })) as unknown as GradFunc);
  return f(x) as tf.Tensor4D;
}

/** Merge heads [B, H, T, Dh] -> [B, T, H*Dh] (fast path; gradient: split). */
export function mergeHeadsFast(x: tf.Tensor): tf.Tensor3D | null {
  const be = fastBackend(x);
  if (!be || x.rank !== 4 || x.dtype !== 'float32') return null;
  const heads = x.shape[1]!;
  const f = tf.customGrad(((a: tf.Tensor) => ({
    value: headsRaw(be, a, heads, false),
    gradFunc: (dy: tf.Tensor) => splitHeadsFast(dy, heads) ?? tf.transpose(dy.reshape([a.shape[0]!, a.shape[2]!, heads, a.shape[3]!]), [0, 2, 1, 3]),
  })) as unknown as GradFunc);
  return f(x) as tf.Tensor3D;
}

// ---------------------------------------------------------------------------------------------------
// Dense layers

/**
 * y = x W on XNNPACK (or the native GEMM); the gradient's products too: dx = dy W^T, dW = x^T dy, with
 * explicit JS transposes on XNNPACK and transpose flags on the native GEMM.
 */
export function matMul2dFast(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D | null {
  const be = fastBackend(x, w);
  if (!be || x.rank !== 2 || w.rank !== 2 || x.dtype !== 'float32' || w.dtype !== 'float32') return null;
  const f = tf.customGrad(((a: tf.Tensor2D, b: tf.Tensor2D, save: tf.GradSaveFunc) => {
    save([a, b]);
    return {
      value: tf.matMul(a, b),
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
        const bb = be;
        if (!bb) return [tf.matMul(dy, tf.transpose(ws)), tf.matMul(tf.transpose(xs), dy)];
        if (native) return [tf.matMul(dy, ws, false, true), tf.matMul(xs, dy, true, false)];
        return [tf.matMul(dy, transposeRaw(bb, ws) as tf.Tensor2D), tf.matMul(transposeRaw(bb, xs) as tf.Tensor2D, dy)];
      },
    };
  }) as unknown as GradFunc);
  return f(x, w) as tf.Tensor2D;
}

/** RMSNorm over the last axis, one op forward and one backward. weight: [D] or null. */
export function rmsNormFast(x: tf.Tensor, weight: tf.Tensor | null, eps: number): tf.Tensor | null {
  const d = x.shape[x.rank - 1]!;
  const be = weight ? fastBackend(x, weight) : fastBackend(x);
  if (!be || x.dtype !== 'float32' || (weight && (weight.rank !== 1 || weight.size !== d))) return null;
  const rows = x.size / d;
  const forward = (xs: tf.Tensor, ws: tf.Tensor | null): { y: tf.Tensor; r: tf.Tensor } => {
    const { t: y, o: yo } = alloc(be, x.shape);
    const { t: r, o: ro } = alloc(be, [rows]);
    const h = be.wasm.HEAPF32, xo = off(be, xs), wo = ws ? off(be, ws) : -1;
    for (let i = 0; i < rows; i++) {
      const base = xo + i * d;
      let ss = 0;
      for (let j = 0; j < d; j++) { const v = h[base + j]!; ss += v * v; }
      const rr = 1 / Math.sqrt(ss / d + eps);
      h[ro + i] = rr;
      const yb = yo + i * d;
      if (wo >= 0) for (let j = 0; j < d; j++) h[yb + j] = h[base + j]! * rr * h[wo + j]!;
      else for (let j = 0; j < d; j++) h[yb + j] = h[base + j]! * rr;
    }
    return { y, r };
  };
  const backward = (dy: tf.Tensor, xs: tf.Tensor, ws: tf.Tensor | null, r: tf.Tensor): tf.Tensor[] => {
    const bb = be;
    const { t: dx, o: dxo } = alloc(bb, x.shape);
    const dw = ws ? alloc(bb, [d]) : null;
    const h = bb.wasm.HEAPF32, xo = off(bb, xs), go = off(bb, dy), ro = off(bb, r), wo = ws ? off(bb, ws) : -1;
    const acc = new Float64Array(d);
    for (let i = 0; i < rows; i++) {
      const xb = xo + i * d, gb = go + i * d, rr = h[ro + i]!;
      let dot = 0;
      if (wo >= 0) {
        for (let j = 0; j < d; j++) {
          const n = h[xb + j]! * rr, g = h[gb + j]!;
          dot += g * h[wo + j]! * n;
          acc[j]! += g * n;
        }
      } else {
        for (let j = 0; j < d; j++) dot += h[gb + j]! * h[xb + j]! * rr;
      }
      const mean = dot / d, db = dxo + i * d;
      if (wo >= 0) for (let j = 0; j < d; j++) h[db + j] = rr * (h[gb + j]! * h[wo + j]! - h[xb + j]! * rr * mean);
      else for (let j = 0; j < d; j++) h[db + j] = rr * (h[gb + j]! - h[xb + j]! * rr * mean);
    }
    if (dw) for (let j = 0; j < d; j++) h[dw.o + j] = acc[j]!;
    return dw ? [dx, dw.t] : [dx];
  };
  if (weight) {
    const f = tf.customGrad(((xs: tf.Tensor, ws: tf.Tensor, save: tf.GradSaveFunc) => {
      const { y, r } = forward(xs, ws);
      save([xs, ws, r]);
      return { value: y, gradFunc: (dy: tf.Tensor, s: tf.Tensor[]) => backward(dy, s[0]!, s[1]!, s[2]!) };
    }) as unknown as GradFunc);
    return f(x, weight) as tf.Tensor;
  }
  const f = tf.customGrad(((xs: tf.Tensor, save: tf.GradSaveFunc) => {
    const { y, r } = forward(xs, null);
    save([xs, r]);
    return { value: y, gradFunc: (dy: tf.Tensor, s: tf.Tensor[]) => backward(dy, s[0]!, null, s[1]!) };
  }) as unknown as GradFunc);
  return f(x) as tf.Tensor;
}

/** silu(g) * u for gu = [g | u] on the last axis (halves of width f): one sigmoid in wasm, the rest in JS. */
export function siluGateFast(gu: tf.Tensor): tf.Tensor | null {
  const be = fastBackend(gu);
  const w2 = gu.shape[gu.rank - 1]!;
  if (!be || gu.dtype !== 'float32' || w2 % 2 !== 0) return null;
  const f = w2 / 2, rows = gu.size / w2;
  const outShape = [...gu.shape.slice(0, -1), f];
  const fn = tf.customGrad(((a: tf.Tensor, save: tf.GradSaveFunc) => {
    const s = tf.sigmoid(a);
    const { t: y, o: yo } = alloc(be, outShape);
    const h = be.wasm.HEAPF32, ao = off(be, a), so = off(be, s);
    for (let i = 0; i < rows; i++) {
      const ab = ao + i * w2, sb = so + i * w2, yb = yo + i * f;
      for (let j = 0; j < f; j++) h[yb + j] = h[ab + j]! * h[sb + j]! * h[ab + f + j]!;
    }
    save([a, s]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [as, ss] = saved as [tf.Tensor, tf.Tensor];
        const bb = be;
        const { t: dgu, o: d } = alloc(bb, gu.shape);
        const hh = bb.wasm.HEAPF32, ao2 = off(bb, as), so2 = off(bb, ss), go = off(bb, dy);
        for (let i = 0; i < rows; i++) {
          const ab = ao2 + i * w2, sb = so2 + i * w2, gb = go + i * f, db = d + i * w2;
          for (let j = 0; j < f; j++) {
            const g = hh[ab + j]!, u = hh[ab + f + j]!, sg = hh[sb + j]!, dyv = hh[gb + j]!;
            hh[db + j] = dyv * u * sg * (1 + g * (1 - sg));
            hh[db + f + j] = dyv * g * sg;
          }
        }
        return [dgu];
      },
    };
  }) as unknown as GradFunc);
  return fn(gu) as tf.Tensor;
}

// ---------------------------------------------------------------------------------------------------
// Embedding

/** Rows of table [V, D] at ids (int32, any shape) -> [N, D]; gradient by JS scatter-add into [V, D]. */
export function gatherRowsFast(table: tf.Tensor2D, ids: tf.Tensor): tf.Tensor2D | null {
  const be = fastBackend(table, ids);
  if (!be || ids.dtype !== 'int32' || table.dtype !== 'float32') return null;
  const [vocab, dim] = table.shape;
  const flat = ids.reshape([-1]);
  const n = flat.size;
  const io = off(be, flat), idv = be.wasm.HEAP32;
  for (let i = 0; i < n; i++) {
    const v = idv[io + i]!;
    if (v < 0 || v >= vocab) return null;
  }
  const f = tf.customGrad(((t: tf.Tensor2D, save: tf.GradSaveFunc) => {
    save([flat]);
    const { t: out, o } = alloc(be, [n, dim]);
    const h = be.wasm.HEAPF32, to = off(be, t), ip = off(be, flat), iv = be.wasm.HEAP32;
    for (let i = 0; i < n; i++) {
      const src = to + iv[ip + i]! * dim;
      h.copyWithin(o + i * dim, src, src + dim);
    }
    return {
      value: out,
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const bb = be;
        const { t: g, o: go } = alloc(bb, [vocab, dim]);
        const hh = bb.wasm.HEAPF32, dyo = off(bb, dy), ip2 = off(bb, saved[0]!), iv2 = bb.wasm.HEAP32;
        hh.fill(0, go, go + vocab * dim);
        for (let i = 0; i < n; i++) {
          const dst = go + iv2[ip2 + i]! * dim, src = dyo + i * dim;
          for (let j = 0; j < dim; j++) hh[dst + j]! += hh[src + j]!;
        }
        return [g];
      },
    };
  }) as unknown as GradFunc);
  return f(table) as tf.Tensor2D;
}

// ---------------------------------------------------------------------------------------------------
// Rotations

/**
 * out = x * cos + rotate_every_two(x) * sin with tables [T, D] over x [..., T, D] (the plain formula, pair
 * by pair: out[2i] = x[2i] c[2i] - x[2i+1] s[2i], out[2i+1] = x[2i+1] c[2i+1] + x[2i] s[2i+1]).
 * The tables are constants here: callers check mayNeedGradient first.
 */
export function rotateFast(x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor | null {
  const be = fastBackend(x, cos, sin);
  if (!be || x.rank < 2 || x.dtype !== 'float32') return null;
  const d = x.shape[x.rank - 1]!, t = x.shape[x.rank - 2]!;
  if (d % 2 !== 0 || !isTable(cos, t, d) || !isTable(sin, t, d) || cos.dtype !== 'float32' || sin.dtype !== 'float32') return null;
  const outer = x.size / (t * d);
  const run = (src: tf.Tensor, c: tf.Tensor, sn: tf.Tensor, sign: 1 | -1): tf.Tensor => {
    const { t: out, o } = alloc(be, x.shape);
    const h = be.wasm.HEAPF32, xo = off(be, src), co = off(be, c), so = off(be, sn);
    for (let b = 0; b < outer; b++) {
      for (let ti = 0; ti < t; ti++) {
        const xb = xo + (b * t + ti) * d, ob = o + (b * t + ti) * d, tb = ti * d;
        if (sign === 1) {
          for (let j = 0; j < d; j += 2) {
            const x0 = h[xb + j]!, x1 = h[xb + j + 1]!;
            h[ob + j] = x0 * h[co + tb + j]! - x1 * h[so + tb + j]!;
            h[ob + j + 1] = x1 * h[co + tb + j + 1]! + x0 * h[so + tb + j + 1]!;
          }
        } else { // transpose of the rotation: the gradient
          for (let j = 0; j < d; j += 2) {
            const g0 = h[xb + j]!, g1 = h[xb + j + 1]!;
            h[ob + j] = g0 * h[co + tb + j]! + g1 * h[so + tb + j + 1]!;
            h[ob + j + 1] = g1 * h[co + tb + j + 1]! - g0 * h[so + tb + j]!;
          }
        }
      }
    }
    return out;
  };
  const f = tf.customGrad(((a: tf.Tensor, save: tf.GradSaveFunc) => {
    save([cos, sin]);
    return { value: run(a, cos, sin, 1), gradFunc: (dy: tf.Tensor, s: tf.Tensor[]) => run(dy, s[0]!, s[1]!, -1) };
  }) as unknown as GradFunc);
  return f(x) as tf.Tensor;
}

// ---------------------------------------------------------------------------------------------------
// Attention

/**
 * For each query row of an additive mask [T, S], one past the last key it can see: keys beyond it get
 * exactly zero probability (their logits are <= -1e8, so exp underflows to 0 in float32), so they can be
 * skipped. A row that sees no key keeps all of them (the plain softmax is then uniform). Cached per mask.
 */
const visibleEnds = new WeakMap<tf.Tensor, Int32Array>();
function keyEnds(be: WasmBackend, mask: tf.Tensor | null, t: number, s: number): Int32Array {
  if (!mask) return new Int32Array(t).fill(s);
  let ends = visibleEnds.get(mask);
  if (ends) return ends;
  ends = new Int32Array(t);
  const h = be.wasm.HEAPF32, mo = off(be, mask);
  for (let i = 0; i < t; i++) {
    let e = s;
    while (e > 0 && h[mo + i * s + e - 1]! <= -1e8) e--;
    ends[i] = e === 0 ? s : e;
  }
  visibleEnds.set(mask, ends);
  return ends;
}

/** Query rows [r0, r1) and the keys [0, keys) they need; blocks of about a quarter of T (>= 32 rows). */
interface Chunk { r0: number; r1: number; keys: number; p: number }
function planChunks(ends: Int32Array, t: number): { chunks: Chunk[]; pSize: number } {
  const rows = t <= 32 ? t : Math.max(32, Math.ceil(t / 4));
  const chunks: Chunk[] = [];
  let p = 0;
  for (let r0 = 0; r0 < t; r0 += rows) {
    const r1 = Math.min(t, r0 + rows);
    let keys = 0;
    for (let i = r0; i < r1; i++) keys = Math.max(keys, ends[i]!);
    chunks.push({ r0, r1, keys, p });
    p += (r1 - r0) * keys;
  }
  return { chunks, pSize: p };
}

/**
 * softmax(q k^T * scale + mask) v per (batch, head) on XNNPACK, as one op with one gradient op.
 * q [B,H,T,Dh], k [B,H,S,Dh], v [B,H,S,Dv], mask [T,S] (constant) or null. Query rows go in blocks, each
 * against only the keys its rows can see (with a causal mask about 3/8 of the products are skipped); the
 * probabilities are kept per block for the gradient.
 */
export function attendFast(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, scale: number, mask: tf.Tensor | null): tf.Tensor4D | null {
  const be = mask ? fastBackend(q, k, v, mask) : fastBackend(q, k, v);
  if (!be || q.rank !== 4 || k.rank !== 4 || v.rank !== 4) return null;
  const [b, hq, t, dh] = q.shape as [number, number, number, number];
  const [bk, hk, s, dk] = k.shape as [number, number, number, number];
  const [bv, hv, sv, dv] = v.shape as [number, number, number, number];
  if (bk !== b || bv !== b || hk !== hq || hv !== hq || dk !== dh || sv !== s || t === 0 || s === 0) return null;
  if (mask && (!isTable(mask, t, s) || mask.dtype !== 'float32')) return null;
  if (q.dtype !== 'float32' || k.dtype !== 'float32' || v.dtype !== 'float32') return null;
  const bh = b * hq;
  const { chunks, pSize } = planChunks(keyEnds(be, mask, t, s), t);
  const maxRows = chunks[0]!.r1 - chunks[0]!.r0;

  const forward = (qs: tf.Tensor, ks: tf.Tensor, vs: tf.Tensor): { o: tf.Tensor; p: tf.Tensor } => {
    const out = alloc(be, [b, hq, t, dv]);
    const p = alloc(be, [bh * pSize]);
    const sc = scratch(be, maxRows * s);
    const qo = off(be, qs), ko = off(be, ks), vo = off(be, vs), mo = mask ? off(be, mask) : -1;
    for (let i = 0; i < bh; i++) {
      const qi = qo + i * t * dh, ki = ko + i * s * dh, vi = vo + i * s * dv, oi = out.o + i * t * dv, pi = p.o + i * pSize;
      for (const c of chunks) {
        const rows = c.r1 - c.r0, n = c.keys;
        if (rows === 1) product(be, ki, false, qi + c.r0 * dh, false, n, dh, 1, sc); // scores as a column: K q^T
        else product(be, qi + c.r0 * dh, false, ki, true, rows, dh, n, sc); // Q K^T
        const h = be.wasm.HEAPF32;
        for (let r = 0; r < rows; r++) {
          const row = sc + r * n;
          if (mo >= 0) {
            const mrow = mo + (c.r0 + r) * s;
            for (let j = 0; j < n; j++) h[row + j] = Math.fround(h[row + j]! * scale) + h[mrow + j]!;
          } else {
            for (let j = 0; j < n; j++) h[row + j] = h[row + j]! * scale;
          }
        }
        softmaxRows(be, sc, pi + c.p, rows, n);
        product(be, pi + c.p, false, vi, false, rows, n, dv, oi + c.r0 * dv); // P V
      }
    }
    be.wasm._free(sc << 2);
    return { o: out.t, p: p.t };
  };

  const backward = (dO: tf.Tensor, qs: tf.Tensor, ks: tf.Tensor, vs: tf.Tensor, ps: tf.Tensor): tf.Tensor[] => {
    const dq = alloc(be, qs.shape), dkk = alloc(be, ks.shape), dvv = alloc(be, vs.shape);
    const dp = scratch(be, maxRows * s);
    const qo = off(be, qs), ko = off(be, ks), vo = off(be, vs), po = off(be, ps), go = off(be, dO);
    be.wasm.HEAPF32.fill(0, dkk.o, dkk.o + bh * s * dh);
    be.wasm.HEAPF32.fill(0, dvv.o, dvv.o + bh * s * dv);
    for (let i = 0; i < bh; i++) {
      const qi = qo + i * t * dh, ki = ko + i * s * dh, vi = vo + i * s * dv, gi = go + i * t * dv, pi = po + i * pSize;
      const dqi = dq.o + i * t * dh, dki = dkk.o + i * s * dh, dvi = dvv.o + i * s * dv;
      for (const c of chunks) {
        const rows = c.r1 - c.r0, n = c.keys, pc = pi + c.p;
        product(be, gi + c.r0 * dv, false, vi, true, rows, dv, n, dp); // dP = dO V^T
        const h = be.wasm.HEAPF32;
        for (let r = 0; r < rows; r++) { // dS = (P*dP - rowsum(P*dP) * P) * scale (the softmax and scale gradients)
          const pr = pc + r * n, dr = dp + r * n;
          let sum = 0;
          for (let j = 0; j < n; j++) sum += Math.fround(h[pr + j]! * h[dr + j]!);
          const fs = Math.fround(sum);
          for (let j = 0; j < n; j++) {
            const pv = h[pr + j]!;
            h[dr + j] = Math.fround(Math.fround(pv * h[dr + j]!) - Math.fround(fs * pv)) * scale;
          }
        }
        product(be, dp, false, ki, false, rows, n, dh, dqi + c.r0 * dh); // dQ = dS K
        product(be, dp, true, qi + c.r0 * dh, false, n, rows, dh, dki, true); // dK += dS^T Q
        product(be, pc, true, gi + c.r0 * dv, false, n, rows, dv, dvi, true); // dV += P^T dO
      }
    }
    be.wasm._free(dp << 2);
    return [dq.t, dkk.t, dvv.t];
  };

  const f = tf.customGrad(((qs: tf.Tensor, ks: tf.Tensor, vs: tf.Tensor, save: tf.GradSaveFunc) => {
    const { o, p } = forward(qs, ks, vs);
    save([qs, ks, vs, p]);
    return { value: o, gradFunc: (dy: tf.Tensor, sv2: tf.Tensor[]) => backward(dy, sv2[0]!, sv2[1]!, sv2[2]!, sv2[3]!) };
  }) as unknown as GradFunc);
  return f(q, k, v) as tf.Tensor4D;
}

// ---------------------------------------------------------------------------------------------------
// Host access

/**
 * A Float32Array view of a float32 tensor's data without copying (wasm heap), or a copy (dataSync)
 * elsewhere. The view is only valid until the next allocation on the backend.
 */
export function readFloats(t: tf.Tensor): Float32Array {
  if (tf.getBackend() === 'wasm' && t.dtype === 'float32') {
    const be = tf.backend() as unknown as WasmBackend;
    const info = be.dataIdMap.get(t.dataId);
    if (info) return new Float32Array(be.wasm.HEAPF32.buffer, info.memoryOffset, t.size);
  }
  return t.dataSync() as Float32Array;
}

// ---------------------------------------------------------------------------------------------------
// Loss

/**
 * Per-row negative log-likelihood of logits [N, V] at targets [N] (int32) -> [N]. Forward: one wasm
 * softmax, then -log p[target] in JS (rows whose p underflows are redone exactly as logsumexp - z).
 * Gradient: (softmax - onehot) * dnll, in JS.
 */
export function crossEntropyFast(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D | null {
  const be = fastBackend(logits, targets);
  if (!be || logits.dtype !== 'float32' || targets.dtype !== 'int32') return null;
  const [n, v] = logits.shape;
  if (targets.size !== n) return null;
  const f = tf.customGrad(((z: tf.Tensor2D, save: tf.GradSaveFunc) => {
    const p = tf.softmax(z);
    save([p, targets]);
    const { t: nll, o } = alloc(be, [n]);
    const h = be.wasm.HEAPF32, po = off(be, p), zo = off(be, z), io = off(be, targets), iv = be.wasm.HEAP32;
    for (let i = 0; i < n; i++) {
      const tgt = iv[io + i]!;
      if (tgt < 0 || tgt >= v) { h[o + i] = NaN; continue; }
      const pt = h[po + i * v + tgt]!;
      if (pt > 1e-30) {
        h[o + i] = -Math.log(pt);
      } else {
        const zb = zo + i * v;
        let mx = -Infinity;
        for (let j = 0; j < v; j++) mx = Math.max(mx, h[zb + j]!);
        let sum = 0;
        for (let j = 0; j < v; j++) sum += Math.exp(h[zb + j]! - mx);
        h[o + i] = mx + Math.log(sum) - h[zb + tgt]!;
      }
    }
    return {
      value: nll,
      gradFunc: (dy: tf.Tensor1D, saved: tf.Tensor[]) => {
        const [ps, tg] = saved as [tf.Tensor, tf.Tensor];
        const bb = be;
        const { t: dz, o: dzo } = alloc(bb, [n, v]);
        const hh = bb.wasm.HEAPF32, pso = off(bb, ps), gyo = off(bb, dy), io2 = off(bb, tg), iv2 = bb.wasm.HEAP32;
        for (let i = 0; i < n; i++) {
          const g = hh[gyo + i]!, pb = pso + i * v, db = dzo + i * v;
          for (let j = 0; j < v; j++) hh[db + j] = hh[pb + j]! * g;
          const tgt = iv2[io2 + i]!;
          if (tgt >= 0 && tgt < v) hh[db + tgt] = (hh[pb + tgt]! - 1) * g;
        }
        return [dz];
      },
    };
  }) as unknown as GradFunc);
  return f(logits) as tf.Tensor1D;
}

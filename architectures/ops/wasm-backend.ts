// The machinery the wasm kernels (ops/<family>/wasm.ts) share. Each kernel computes exactly what its
// family's reference.ts computes (the family's test holds them to 1e-5 relative), in a form that runs
// fast on tfjs-wasm:
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
// With the native addon installed (backend wasm+openblas, see harness/native.ts) every matrix product goes to
// its GEMM instead, transpose flags and batch included, so no operand is transposed by JS first, and the
// hottest elementwise loops (RMSNorm, attention's scale/mask and softmax gradient, rotation, the SwiGLU gate)
// run in its C, bit-identical to the JS loops that remain for plain wasm.
// Here: the backend's internals as the kernels see them, heap tensors and scratch, the products, row
// softmax, a tiled transpose, zero-copy reads. Whether a kernel applies at all: fast-path.ts.
import * as tf from '@tensorflow/tfjs';

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

export interface WasmBackend {
  wasm: WasmModule;
  dataIdNextNumber: number;
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number; dtype: string } | undefined; has(dataId: object): boolean };
  makeOutput(shape: number[], dtype: string): tf.TensorInfo;
}

/**
 * The native addon: a row-major sgemm on heap byte offsets (harness/native/gemm.c documents the arguments),
 * and the kernels' elementwise loops on heap float offsets, -1 for an absent operand (harness/native/kernels.c;
 * bit-identical to the JS loops they replace, which run where the addon is absent).
 */
export interface NativeGemm {
  gemm(heap: ArrayBufferLike, transA: number, transB: number, m: number, n: number, k: number, a: number, lda: number,
       b: number, ldb: number, c: number, ldc: number, beta: number, batch: number, strideA: number, strideB: number,
       strideC: number): void;
  rmsNormForward(heap: ArrayBufferLike, x: number, w: number, y: number, r: number, rows: number, d: number, eps: number): void;
  rmsNormBackward(heap: ArrayBufferLike, x: number, w: number, dy: number, r: number, dx: number, dw: number, rows: number, d: number): void;
  scaleMaskRows(heap: ArrayBufferLike, s: number, mask: number, rows: number, n: number, maskStride: number, scale: number): void;
  softmaxGradRows(heap: ArrayBufferLike, p: number, dp: number, rows: number, n: number, scale: number): void;
  rotate(heap: ArrayBufferLike, x: number, cos: number, sin: number, out: number, outer: number, t: number, d: number, sign: 1 | -1): void;
  siluGateForward(heap: ArrayBufferLike, gu: number, sig: number, y: number, rows: number, f: number): void;
  siluGateBackward(heap: ArrayBufferLike, gu: number, sig: number, dy: number, dgu: number, rows: number, f: number): void;
  adamw(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, gradScale: number, beta1: number, beta2: number,
        c1: number, c2: number, lrOverBc1: number, invBc2: number, keep: number): void;
  /** The library and its configuration, for the record. */
  library: string;
}

/** The addon's kernels by name: an addon built from older sources lacks some (harness/native.ts refuses it). */
export const NATIVE_KERNELS = ['gemm', 'rmsNormForward', 'rmsNormBackward', 'scaleMaskRows', 'softmaxGradRows', 'rotate',
  'siluGateForward', 'siluGateBackward', 'adamw'] as const satisfies readonly (keyof NativeGemm)[];

let native: NativeGemm | null = null;

/** Send the fast paths' matrix products to a native GEMM (null: XNNPACK). Returns the previous one. */
export function setNativeGemm(g: NativeGemm | null): NativeGemm | null {
  const prev = native;
  native = g;
  return prev;
}

/** The native GEMM the products go to, or null (XNNPACK). */
export function nativeGemm(): NativeGemm | null {
  return native;
}

/** True when `t` has shape [..., rows, cols] with every leading axis of size 1 (broadcasts as [rows, cols]). */
export function isTable(t: tf.Tensor, rows: number, cols: number): boolean {
  const r = t.rank;
  if (r < 2 || t.shape[r - 2] !== rows || t.shape[r - 1] !== cols) return false;
  for (let i = 0; i < r - 2; i++) if (t.shape[i] !== 1) return false;
  return true;
}

/** Float offset (index into HEAPF32) of a tensor's data. */
export function off(be: WasmBackend, t: tf.Tensor): number {
  return be.dataIdMap.get(t.dataId)!.memoryOffset >>> 2;
}

/** A new float32 tensor of `shape` whose data the caller fills; returns it and its float offset. */
export function alloc(be: WasmBackend, shape: number[]): { t: tf.Tensor; o: number } {
  const info = be.makeOutput(shape, 'float32');
  const t = tf.engine().makeTensorFromTensorInfo(info);
  return { t, o: be.dataIdMap.get(info.dataId)!.memoryOffset >>> 2 };
}

/** Scratch heap memory (float offset); free with be.wasm._free(o << 2). */
export function scratch(be: WasmBackend, floats: number): number {
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
export function gemm(be: WasmBackend, a: number, m: number, k: number, b: number, n: number, out: number): void {
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
export function nativeProducts(g: NativeGemm, be: WasmBackend, a: number, transA: boolean, b: number, transB: boolean, m: number,
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
export function product(be: WasmBackend, a: number, transA: boolean, b: number, transB: boolean, m: number, k: number, n: number,
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
export function softmaxRows(be: WasmBackend, x: number, out: number, rows: number, channels: number): void {
  const w = be.wasm;
  const ix = be.dataIdNextNumber++, io = be.dataIdNextNumber++;
  w.tfjs.registerTensor(ix, rows * channels, x << 2);
  w.tfjs.registerTensor(io, rows * channels, out << 2);
  w._Softmax(ix, io, channels, rows);
  w.tfjs.disposeData(ix);
  w.tfjs.disposeData(io);
}

/** dst[c, r] = src[r, c] for an R x C row-major matrix (write-contiguous, tiled reads). */
export function transposeInto(h: Float32Array, src: number, rows: number, cols: number, dst: number): void {
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

/**
 * A Float32Array view of a float32 tensor's data without copying (wasm heap), or a copy (dataSync)
 * elsewhere: for CPU backends (dataSync fails on webgpu). The view is only valid until the next
 * allocation on the backend.
 */
export function readFloats(t: tf.Tensor): Float32Array {
  return wasmView(t) ?? (t.dataSync() as Float32Array);
}

/** readFloats on any backend: the same view on wasm, else an asynchronous read (the only kind webgpu has). */
export async function readFloatsAsync(t: tf.Tensor): Promise<Float32Array> {
  return wasmView(t) ?? ((await t.data()) as Float32Array);
}

function wasmView(t: tf.Tensor): Float32Array | null {
  if (tf.getBackend() !== 'wasm' || t.dtype !== 'float32') return null;
  const be = tf.backend() as unknown as WasmBackend;
  const info = be.dataIdMap.get(t.dataId);
  return info ? new Float32Array(be.wasm.HEAPF32.buffer, info.memoryOffset, t.size) : null;
}

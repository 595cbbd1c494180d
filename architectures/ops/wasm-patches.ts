// Replacements for slow tfjs-wasm kernels, registered in place of the backend's own:
//   Identity (the engine clones every tensor it saves for a gradient): share the data, as the cpu backend
//     does, instead of copying it;
//   Slice / SplitV: copy the slice from a view of the heap, not from a full copy of the input per slice;
//   Transpose: JS loops that move contiguous runs (or a tiled 2-D transpose) instead of a strided loop;
//   (these move data only, so results are bit-identical)
//   BatchMatMul: batched and transposed products on the native GEMM, or per batch element on XNNPACK's
//     2-D path (within 1e-5 of the backend's naive loop).
// Installed on the first fast-path call (fast-path.ts); setFastPath(false) puts the originals back.
import * as tf from '@tensorflow/tfjs';
import { type WasmBackend, gemm, nativeGemm, nativeProducts, scratch, transposeInto } from './wasm-backend.ts';

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

/** Register the replacements (once; later calls do nothing until restoreKernels). */
export function patchKernels(): void {
  if (patched) return;
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
  const native = nativeGemm();
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

/** Put the backend's own kernels back. */
export function restoreKernels(): void {
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

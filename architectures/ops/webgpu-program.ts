// What the WGSL kernels (ops/<family>/webgpu.ts) share: the gate (fast paths on, backend webgpu, every
// buffer a kernel binds within the device's maxStorageBufferBindingSize: larger inputs are refused, and
// the family's dispatcher takes the reference), the row kernels' split of their rows into dispatches that
// each bind within that limit, one program -> one output tensor through tfjs-webgpu's runWebGPUProgram,
// and the workgroup reduction of the one-workgroup-per-row kernels.
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend, WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import { fastPathEnabled } from './fast-path.ts';

/** A WGSL uniform value and its type, as runWebGPUProgram takes it. */
export type ProgramUniform = { type: 'float32' | 'int32'; data: number[] };

let lowerBindingLimit: number | null = null;

/**
 * Bind at most `bytes` per buffer, below the device's maxStorageBufferBindingSize (tests make the kernels
 * split small shapes); null: the device's limit again. Returns the previous setting.
 */
export function setBindingLimit(bytes: number | null): number | null {
  const prev = lowerBindingLimit;
  lowerBindingLimit = bytes;
  return prev;
}

/** The most bytes one binding may hold: the device's maxStorageBufferBindingSize, or the lower test limit. */
export function bindingLimit(be: WebGPUBackend): number {
  return Math.min(be.device.limits.maxStorageBufferBindingSize, lowerBindingLimit ?? Infinity);
}

/** The webgpu backend when fast paths are on and tfjs runs on webgpu, and every input is float32 or int32. */
function activeWebgpu(inputs: tf.Tensor[]): WebGPUBackend | null {
  if (!fastPathEnabled() || tf.getBackend() !== 'webgpu') return null;
  return inputs.every((t) => t.dtype === 'float32' || t.dtype === 'int32') ? (tf.backend() as unknown as WebGPUBackend) : null;
}

/**
 * The webgpu backend when a kernel applies: fast paths on, backend webgpu, inputs float32 or int32, and
 * every bound buffer (the inputs, and outputs of `outputElements` float32 elements) within the binding
 * limit. Else null: the dispatcher takes the reference.
 */
export function webgpuBackend(inputs: tf.Tensor[], outputElements: number[]): WebGPUBackend | null {
  const be = activeWebgpu(inputs);
  if (!be) return null;
  const limit = bindingLimit(be);
  return [...inputs.map((t) => t.size), ...outputElements].every((n) => n * 4 <= limit) ? be : null;
}

/** The largest float32 element count one binding may hold on the active webgpu device. */
export function maxBoundElements(be: WebGPUBackend): number {
  return Math.floor(bindingLimit(be) / 4);
}

/**
 * The row kernels' gate and plan: the webgpu backend and the rows per dispatch such that no buffer a
 * dispatch binds exceeds the binding limit, its largest holding `rowElements` float32 per row (all row
 * kernels bind [rows, width] blocks and small per-row or per-column vectors). Null when not even one
 * row fits, or the kernel does not apply (see webgpuBackend).
 */
export function webgpuRows(inputs: tf.Tensor[], rowElements: number): { be: WebGPUBackend; rowsPerDispatch: number } | null {
  const be = activeWebgpu(inputs);
  if (!be) return null;
  const rowsPerDispatch = Math.floor(maxBoundElements(be) / rowElements);
  return rowsPerDispatch >= 1 ? { be, rowsPerDispatch } : null;
}

/**
 * kernel over consecutive blocks of at most rowsPerDispatch rows: each of `rowed` ([N, ...]) sliced along
 * its first axis, each output block too, the blocks' outputs concatenated along their first axis. One
 * block (no slicing) when all rows fit.
 */
export function overRowBlocks(rowsPerDispatch: number, rowed: tf.Tensor[], kernel: (...blocks: tf.Tensor[]) => tf.Tensor[]): tf.Tensor[] {
  const n = rowed[0]!.shape[0]!;
  if (n <= rowsPerDispatch) return kernel(...rowed);
  const parts: tf.Tensor[][] = [];
  for (let first = 0; first < n; first += rowsPerDispatch) {
    const count = Math.min(rowsPerDispatch, n - first);
    const blocks = rowed.map((t) => t.slice(first, count));
    parts.push(kernel(...blocks));
    tf.dispose(blocks);
  }
  return parts[0]!.map((_, i) => {
    const out = tf.concat(parts.map((p) => p[i]!), 0);
    tf.dispose(parts.map((p) => p[i]!));
    return out;
  });
}

export interface KernelSpec {
  /** Names the pipeline cache: must change whenever `code` does (constants baked into it included). */
  key: string;
  /** The input bindings, in the order of the tensors given to runKernel (array<f32> or array<i32>). */
  inputs: string[];
  outputShape: number[];
  /** Workgroups along x (tfjs-webgpu folds counts above the per-dimension limit into y and z). */
  workgroups: number;
  workgroupSize: number;
  /** Extra uniform fields, e.g. 'eps : f32,'; their values go to runKernel in the same order. */
  uniforms?: string;
  /** WGSL: the body of `main(index)`, index being the global invocation index; write to `result`. */
  body: string;
  /** WGSL declared before main (helper functions, workgroup memory). */
  prelude?: string;
  /**
   * WGSL extensions the program enables, e.g. ['subgroups'] (the device must have the feature). A subgroup
   * kernel's main is exempt from WGSL's subgroup uniformity analysis: it derives its lane and subgroup
   * width from subgroup operations, which the analysis cannot prove uniform.
   */
  enable?: string[];
}

const hoisting = new WeakSet<GPUDevice>();

/**
 * tfjs-webgpu writes its own declarations before a program's code, and WGSL wants `enable` directives
 * before any declaration: the device's createShaderModule moves them to the top.
 */
function hoistEnableDirectives(device: GPUDevice): void {
  if (hoisting.has(device)) return;
  hoisting.add(device);
  const create = device.createShaderModule.bind(device);
  device.createShaderModule = (d: GPUShaderModuleDescriptor) => {
    const lines = d.code.split('\n'), enable = (l: string) => /^\s*enable\s+[\w,\s]+;\s*$/.test(l);
    return create({ ...d, code: [...lines.filter(enable), ...lines.filter((l) => !enable(l))].join('\n') });
  };
}

/** Run one WGSL program over `inputs`, giving a new float32 tensor of spec.outputShape. */
export function runKernel(be: WebGPUBackend, spec: KernelSpec, inputs: tf.Tensor[], uniforms: ProgramUniform[] = []): tf.Tensor {
  const enable = spec.enable ?? [];
  if (enable.length) hoistEnableDirectives(be.device);
  const directives = enable.map((e) => `enable ${e};\n`).join('');
  const exempt = enable.includes('subgroups') ? '@diagnostic(off, subgroup_uniformity)\n' : '';
  const program: WebGPUProgram = {
    shaderKey: spec.key,
    variableNames: spec.inputs,
    outputShape: spec.outputShape,
    dispatchLayout: { x: spec.outputShape.map((_, i) => i) },
    dispatch: [spec.workgroups, 1, 1],
    workgroupSize: [spec.workgroupSize, 1, 1],
    uniforms: spec.uniforms,
    getUserCode: () => `${directives}${spec.prelude ?? ''}\n${exempt}fn main(index : i32) {\n${spec.body}\n}`,
  };
  const info = be.runWebGPUProgram(program, inputs, 'float32', uniforms);
  return tf.engine().makeTensorFromTensorInfo(info);
}

/**
 * WGSL opening a one-workgroup-per-row kernel over input `name` ([N, W]): n, width (W), this workgroup's
 * row, the invocation's tid in it, the row's base index, and cols (W, or 0 past the last row: loops over
 * cols then do nothing there, and every invocation still reaches the workgroup barriers).
 */
export const rowHeaderWgsl = (name: string, workgroupSize: number): string => `
  let n = uniforms.${name}Shape[0];
  let width = uniforms.${name}Shape[1];
  let row = index / ${workgroupSize};
  let tid = index % ${workgroupSize};
  let cols = select(0, width, row < n);
  let base = row * width;`;

/** Workgroup size for a kernel with one workgroup per row of `width` elements. */
export const rowWorkgroupSize = (width: number): number => (width >= 4096 ? 256 : 64);

/**
 * WGSL: `workgroupSum(v)` and `workgroupMax(v)` combine one value from each of the `size` invocations of
 * the workgroup (a power of two) and give every invocation the result. Call them in uniform control flow.
 */
export function workgroupReduceWgsl(size: number): string {
  const reduce = (name: string, combine: string) => `
fn ${name}(value : f32) -> f32 {
  reduceScratch[localIndex] = value;
  workgroupBarrier();
  for (var stride = ${size / 2}u; stride > 0u; stride = stride >> 1u) {
    if (localIndex < stride) {
      let a = reduceScratch[localIndex];
      let b = reduceScratch[localIndex + stride];
      reduceScratch[localIndex] = ${combine};
    }
    workgroupBarrier();
  }
  let total = reduceScratch[0];
  workgroupBarrier();
  return total;
}`;
  return `var<workgroup> reduceScratch : array<f32, ${size}>;${reduce('workgroupSum', 'a + b')}${reduce('workgroupMax', 'max(a, b)')}`;
}

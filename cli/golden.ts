// Golden checks: run the architectures' own layers (the same mixer code the models train with) on the
// reference vectors of ../shared/golden (format: its README.md) and report the max abs error per form.
// Every shape and hyperparameter comes from the case file. A malformed file or an unknown case type is a
// GoldenFormatError (the CLI exits 2); a numerical mismatch is a failed check (exit 1).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { lambdaInit, differentialAttention } from '../architectures/diff.ts';
import type { LayerState, ModelConfig } from '../architectures/interface.ts';
import { Params } from '../architectures/layers.ts';
import { multiScaleRetention } from '../architectures/retnet.ts';
import type { Mixer } from '../architectures/stack.ts';
import { Xpos } from '../architectures/xpos.ts';
import { gatedRetention } from '../architectures/yoco.ts';
import { UsageError } from '../harness/errors.ts';

export class GoldenFormatError extends UsageError {
  override name = 'GoldenFormatError';
}

/** Default absolute tolerance when the case file names none. */
export const DEFAULT_TOLERANCE = 1e-4;

interface GoldenArray {
  shape: number[];
  data: number[];
}

export interface GoldenCase {
  file: string;
  case: string;
  config: Record<string, unknown>;
  weights: Record<string, GoldenArray>;
  inputs: Record<string, GoldenArray>;
  outputs: Record<string, GoldenArray>;
  /** Absolute tolerance from the file (top-level or config `tolerance`): a number, or one per output. */
  tolerance?: number | Record<string, number>;
}

export interface GoldenCheck {
  file: string;
  case: string;
  /** The output checked (the form that produced it, in the file's naming). */
  form: string;
  maxAbsErr: number;
  tolerance: number;
  pass: boolean;
  /** max |ref|, and the README's validation rule 2e-5 * max(1, max|ref|) with its verdict (informative). */
  maxAbsRef: number;
  readmeTolerance: number;
  readmePass: boolean;
  note?: string;
}

// ------------------------------------------------------------------ reading and validating a case file

const fail = (file: string, msg: string): never => {
  throw new GoldenFormatError(`malformed golden file ${file}: ${msg}`);
};

function checkArrays(file: string, section: string, v: unknown): Record<string, GoldenArray> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(file, `'${section}' must be an object`);
  for (const [name, a] of Object.entries(v as Record<string, unknown>)) {
    const arr = a as Partial<GoldenArray>;
    if (typeof a !== 'object' || a === null || !Array.isArray(arr.shape) || !Array.isArray(arr.data)) {
      fail(file, `${section}.${name} must be {shape, data}`);
    }
    if (!arr.shape!.every((n) => Number.isInteger(n) && n >= 0)) fail(file, `${section}.${name}.shape is not a list of sizes`);
    const size = arr.shape!.reduce((x, y) => x * y, 1);
    if (arr.data!.length !== size) fail(file, `${section}.${name} has ${arr.data!.length} values for shape [${arr.shape!.join(',')}]`);
    if (!arr.data!.every((x) => typeof x === 'number')) fail(file, `${section}.${name}.data holds non-numbers`);
  }
  return v as Record<string, GoldenArray>;
}

export function readCase(path: string): GoldenCase {
  const file = basename(path);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    return fail(file, `not JSON (${(e as Error).message.split('\n')[0]})`);
  }
  const o = raw as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return fail(file, 'not a JSON object');
  if (typeof o.case !== 'string') fail(file, "no 'case' name");
  if (typeof o.config !== 'object' || o.config === null) fail(file, "no 'config' object");
  const tol = o.tolerance ?? (o.config as Record<string, unknown>).tolerance;
  if (tol !== undefined && typeof tol !== 'number' && (typeof tol !== 'object' || tol === null)) fail(file, "'tolerance' must be a number or an object of numbers");
  return {
    file, case: o.case as string, config: o.config as Record<string, unknown>,
    weights: checkArrays(file, 'weights', o.weights ?? {}), inputs: checkArrays(file, 'inputs', o.inputs), outputs: checkArrays(file, 'outputs', o.outputs),
    tolerance: tol as GoldenCase['tolerance'],
  };
}

// ------------------------------------------------------------------ helpers for the case runners

/** What a case runner hands back per output: the tensor our code computed for that output. */
type Computed = Record<string, () => tf.Tensor | Float32Array>;

class CaseReader {
  constructor(readonly c: GoldenCase) {}
  num(key: string): number {
    const v = this.c.config[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(this.c.file, `config.${key} must be a number`);
    return v as number;
  }
  optionalNum(key: string): number | undefined {
    return this.c.config[key] === undefined ? undefined : this.num(key);
  }
  int(key: string): number {
    const v = this.num(key);
    if (!Number.isInteger(v) || v < 1) fail(this.c.file, `config.${key} must be a positive integer`);
    return v;
  }
  array(section: 'weights' | 'inputs', name: string): GoldenArray {
    const a = this.c[section][name];
    if (!a) return fail(this.c.file, `missing ${section}.${name}`);
    return a;
  }
  tensor(section: 'weights' | 'inputs', name: string, rank?: number): tf.Tensor {
    const a = this.array(section, name);
    if (rank !== undefined && a.shape.length !== rank) fail(this.c.file, `${section}.${name} must have rank ${rank}, has [${a.shape.join(',')}]`);
    return tf.tensor(Float32Array.from(a.data), a.shape);
  }
  /** An nn.Linear weight [out, in] as our [in, out] (several fused along the output axis). */
  linear(...names: string[]): tf.Tensor {
    return tf.concat(names.map((n) => this.tensor('weights', n, 2).transpose()), 1);
  }
  /** The 'x' input [B, L, E]. */
  x(width: number): tf.Tensor3D {
    const x = this.tensor('inputs', 'x', 3) as tf.Tensor3D;
    if (x.shape[2] !== width) fail(this.c.file, `inputs.x has width ${x.shape[2]}, config says ${width}`);
    return x;
  }
  require(cond: boolean, msg: string): void {
    if (!cond) fail(this.c.file, msg);
  }
}

/** Copy golden weights into the parameters the architecture's mixer created. */
function load(file: string, p: Params, name: string, value: tf.Tensor): void {
  const v = p.get(name);
  if (v.shape.join(',') !== value.shape.join(',')) fail(file, `weight for ${name} has shape [${value.shape.join(',')}], the layer needs [${v.shape.join(',')}]`);
  v.assign(value);
}

/** A layer config built from the file's numbers (every architecture-specific option in `mixer`). */
const layerConfig = (arch: string, d: number, heads: number, seq: number, mixer: ModelConfig['mixer']): ModelConfig => ({
  arch, vocab: 1, d, layers: 1, heads, ffn: 1, seq, mixer,
});

/** The real inference path: prefill the first n tokens, then one step per token; outputs concatenated. */
function prefillThenStep(m: Mixer, x: tf.Tensor3D, n: number): tf.Tensor3D {
  const t = x.shape[1];
  const first = m.prefill(x.slice([0, 0, 0], [-1, n, -1]));
  const ys = [first.y];
  let state: LayerState = first.state;
  for (let i = n; i < t; i++) {
    const r = m.step(x.slice([0, i, 0], [-1, 1, -1]), state, i);
    ys.push(r.y);
    state = r.state;
  }
  return tf.concat(ys, 1);
}

// ------------------------------------------------------------------ case types

interface CaseType {
  /** Case names this type serves: the name or the name followed by '_' and a suffix. */
  name: string;
  describe: string;
  run(r: CaseReader): Computed;
}

const retnetMsr: CaseType = {
  name: 'retnet_msr',
  describe: 'RetNet MultiScaleRetention (architectures/retnet.ts multiScaleRetention)',
  run(r) {
    const e = r.int('embed_dim'), dv = r.int('value_dim'), h = r.int('num_heads');
    r.require(e % h === 0 && dv % h === 0 && (e / h) % 2 === 0, `embed_dim ${e} and value_dim ${dv} must split into ${h} heads (even key dim)`);
    const kd = r.optionalNum('key_dim'), hd = r.optionalNum('head_dim');
    r.require(kd === undefined || kd === e / h, `key_dim ${kd} is not embed_dim/num_heads; MultiScaleRetention derives it`);
    r.require(hd === undefined || hd === dv / h, `head_dim ${hd} is not value_dim/num_heads`);
    const chunk = r.int('recurrent_chunk_size');
    const x = r.x(e);
    const p = new Params(0);
    const m = multiScaleRetention(p, 'msr', 0, layerConfig('retnet', e, h, x.shape[1], { valueDim: dv, normEps: r.num('layernorm_eps'), chunk }));
    load(r.c.file, p, 'msr.qkvg', r.linear('q_proj.weight', 'k_proj.weight', 'v_proj.weight', 'g_proj.weight'));
    load(r.c.file, p, 'msr.out', r.linear('out_proj.weight'));
    return {
      parallel_output: () => m.forms.parallel(x),
      recurrent_output: () => m.forms.recurrent(x),
      chunkwise_output: () => m.forms.chunkwise(x, chunk),
    };
  },
};

const xposCase: CaseType = {
  name: 'xpos',
  describe: 'torchscale XPOS (architectures/xpos.ts, used by LeX)',
  run(r) {
    const dim = r.int('head_dim');
    const xpos = new Xpos(dim, r.num('scale_base'));
    const q = r.tensor('inputs', 'q', 3), k = r.tensor('inputs', 'k', 3);
    r.require(q.shape[2] === dim && k.shape[2] === dim, `inputs q, k must end in head_dim ${dim}`);
    const len = q.shape[1]!;
    const computed: Computed = {
      q_upscale: () => xpos.apply(q, 0, false),
      k_downscale: () => xpos.apply(k, 0, true),
      q_downscale: () => xpos.apply(q, 0, true),
      k_upscale: () => xpos.apply(k, 0, false),
      'qk_logits(q_upscale@k_downscale^T)': () => tf.matMul(xpos.apply(q, 0, false) as tf.Tensor3D, xpos.apply(k, 0, true) as tf.Tensor3D, false, true),
      'table.scale_pow[L,D/2]': () => xpos.tables(len, 0).scale,
      'table.sin[L,D/2]': () => xpos.tables(len, 0).sin,
      'table.cos[L,D/2]': () => xpos.tables(len, 0).cos,
    };
    if (r.c.outputs['decode.q_last_upscale_offset']) {
      const last = r.tensor('inputs', 'decode.q_last', 3);
      const offset = r.array('inputs', 'decode.offset');
      r.require(offset.shape.length === 0 && Number.isInteger(offset.data[0]) && offset.data[0]! >= 0, 'inputs.decode.offset must be a non-negative integer scalar');
      computed['decode.q_last_upscale_offset'] = () => xpos.apply(last, offset.data[0]!, false);
    }
    return computed;
  },
};

const diffAttn: CaseType = {
  name: 'diffattn',
  describe: 'Differential attention MultiheadDiffAttn (architectures/diff.ts differentialAttention)',
  run(r) {
    const e = r.int('embed_dim'), h = r.int('num_heads');
    const kvh = r.optionalNum('num_kv_heads') ?? h;
    const depth = r.num('depth');
    r.require(Number.isInteger(depth) && depth >= 0, 'config.depth must be a non-negative integer');
    r.require(e % (2 * h) === 0 && (e / h / 2) % 2 === 0 && h % kvh === 0, `embed_dim ${e}, num_heads ${h}, num_kv_heads ${kvh} give no even head dim`);
    const hd = r.optionalNum('head_dim');
    r.require(hd === undefined || hd === e / h / 2, `head_dim ${hd} is not embed_dim/num_heads/2`);
    const x = r.x(e);
    const p = new Params(0);
    const m = differentialAttention(p, 'diff', depth, layerConfig('diff', e, h, x.shape[1], {
      kvHeads: kvh, normEps: r.num('subln_eps'), ropeTheta: r.optionalNum('rope_theta') ?? 10000,
    }));
    load(r.c.file, p, 'diff.qkv', r.linear('q_proj.weight', 'k_proj.weight', 'v_proj.weight'));
    load(r.c.file, p, 'diff.out', r.linear('out_proj.weight'));
    for (const n of ['lambda_q1', 'lambda_k1', 'lambda_q2', 'lambda_k2', 'subln.weight']) load(r.c.file, p, `diff.${n.replace('.weight', '')}`, r.tensor('weights', n, 1));
    const computed: Computed = {
      output: () => m.forward(x),
      // our decoding path (KV cache) against the same reference output
      'output[prefill+step]': () => prefillThenStep(m, x, Math.ceil(x.shape[1] / 2)),
    };
    const init = r.optionalNum('lambda_init');
    if (init !== undefined) computed['lambda_init'] = () => Float32Array.of(lambdaInit(depth));
    return computed;
  },
};

const yocoGret: CaseType = {
  name: 'yoco_gate_retention',
  describe: 'YOCO GateRetention (architectures/yoco.ts gatedRetention)',
  run(r) {
    const dim = r.int('dim'), h = r.int('n_self_heads');
    r.require(dim % h === 0 && (dim / h) % 2 === 0, `dim ${dim} must split into ${h} heads of even size`);
    const hd = r.optionalNum('head_dim');
    r.require(hd === undefined || hd === dim / h, `head_dim ${hd} is not dim/n_self_heads`);
    const x = r.x(dim);
    const chunk = r.int('chunk_size_module');
    const make = (c: number) => {
      const p = new Params(0);
      const g = gatedRetention(p, 'gret', 0, layerConfig('yoco', dim, h, x.shape[1], {
        gateNormalizer: r.num('gate_logit_normalizer'), normEps: r.num('norm_eps'), ropeTheta: r.optionalNum('rope_theta') ?? 10000, chunk: c,
      }));
      load(r.c.file, p, 'gret.qkvg', r.linear('q_proj.weight', 'k_proj.weight', 'v_proj.weight', 'g_proj.weight'));
      load(r.c.file, p, 'gret.gt', r.linear('gt_proj.weight'));
      load(r.c.file, p, 'gret.out', r.linear('out_proj.weight'));
      return g;
    };
    const m = make(chunk);
    const computed: Computed = {
      output: () => m.forms.chunkwise(x, chunk),
      output_parallel: () => m.forms.parallel(x),
      output_recurrent: () => m.forms.recurrent(x),
    };
    if (r.c.outputs.output_chunk4) {
      const small = r.int('chunk_size_small_check');
      computed.output_chunk4 = () => m.forms.chunkwise(x, small);
    }
    if (r.c.outputs.output_prefill_then_recurrent) {
      const n = r.int('prefill_len');
      r.require(n <= x.shape[1], `prefill_len ${n} exceeds seq_len ${x.shape[1]}`);
      computed.output_prefill_then_recurrent = () => prefillThenStep(m, x, n);
      if (r.c.outputs.output_chunk4) {
        // our prefill of a prompt longer than the chunk runs chunkwise (last chunk partial, no padding mask)
        const small = r.int('chunk_size_small_check');
        if (n > small) computed[`output_prefill_then_recurrent[chunk ${small}]`] = () => prefillThenStep(make(small), x, n);
      }
    }
    return computed;
  },
};

export const CASE_TYPES: CaseType[] = [retnetMsr, xposCase, diffAttn, yocoGret];

export function caseType(c: GoldenCase): CaseType {
  const t = CASE_TYPES.find((k) => c.case === k.name || c.case.startsWith(`${k.name}_`));
  if (!t) throw new GoldenFormatError(`unknown case type '${c.case}' in ${c.file}; known: ${CASE_TYPES.map((k) => k.name).join(', ')}`);
  return t;
}

// ------------------------------------------------------------------ running

function toleranceFor(c: GoldenCase, output: string): number {
  const t = c.tolerance;
  if (typeof t === 'number') return t;
  if (t && typeof t[output] === 'number') return t[output]!;
  return DEFAULT_TOLERANCE;
}

/** One output against its reference; `values` are got's (a tensor's read beforehand). */
function compare(c: GoldenCase, output: string, got: tf.Tensor | Float32Array, values: Float32Array, ref: GoldenArray, note?: string): GoldenCheck {
  const shape = got instanceof Float32Array ? (ref.shape.length === 0 ? [] : [got.length]) : got.shape;
  const refSize = ref.data.length;
  const sameShape = got instanceof Float32Array ? values.length === refSize : shape.join(',') === ref.shape.join(',');
  let err = sameShape ? 0 : Infinity, maxRef = 0;
  for (let i = 0; i < refSize; i++) {
    const r = Math.fround(ref.data[i]!);
    maxRef = Math.max(maxRef, Math.abs(r));
    if (sameShape) {
      const d = Math.abs(values[i]! - r);
      err = Number.isNaN(d) ? NaN : Math.max(err, d);
    }
  }
  const tolerance = toleranceFor(c, output);
  const readmeTolerance = 2e-5 * Math.max(1, maxRef);
  return {
    file: c.file, case: c.case, form: output, maxAbsErr: err, tolerance, pass: err <= tolerance,
    maxAbsRef: maxRef, readmeTolerance, readmePass: err <= readmeTolerance,
    note: sameShape ? note : `shape [${shape.join(',')}] vs reference [${ref.shape.join(',')}]`,
  };
}

/** The case files of a directory (every *.json), validated and typed before anything runs. */
export function loadGoldenDir(dir: string): { c: GoldenCase; type: CaseType }[] {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    names = readdirSync(dir).filter((n) => n.endsWith('.json')).sort();
  } catch {
    throw new UsageError(`--golden: '${dir}' is not a readable directory`);
  }
  if (names.length === 0) throw new UsageError(`--golden: no case files (*.json) in '${dir}'`);
  return names.map((n) => {
    const c = readCase(join(dir, n));
    return { c, type: caseType(c) };
  });
}

/**
 * Run one case: every output the file has (intermediate.* excepted) against the form that produces it.
 * The forms' tensors are read asynchronously (webgpu has no synchronous read), after all have run.
 */
export async function runCase(c: GoldenCase, type: CaseType): Promise<GoldenCheck[]> {
  const wanted: { output: string; got: tf.Tensor | Float32Array; ref: GoldenArray; note?: string }[] = [];
  const want = (output: string, got: tf.Tensor | Float32Array, ref: GoldenArray, note?: string) =>
    wanted.push({ output, got: got instanceof tf.Tensor ? tf.keep(got) : got, ref, note });
  tf.tidy(() => {
    const computed = type.run(new CaseReader(c));
    const outputs = Object.keys(c.outputs).filter((k) => !k.startsWith('intermediate.'));
    const unknown = outputs.filter((k) => !(k in computed));
    if (unknown.length) fail(c.file, `output(s) ${unknown.join(', ')} match no form of ${type.name}; known: ${Object.keys(computed).join(', ')}`);
    if (outputs.length === 0) fail(c.file, 'no outputs to check');
    for (const k of outputs) want(k, computed[k]!(), c.outputs[k]!);
    // extra checks of ours (e.g. the decoding path) against an output the file has
    for (const k of Object.keys(computed).filter((n) => !(n in c.outputs))) {
      const base = k.replace(/\[.*\]$/, '');
      if (base !== k && c.outputs[base]) want(k, computed[k]!(), c.outputs[base]!, `our extra check against '${base}'`);
      if (k === 'lambda_init') want(k, computed[k]!(), { shape: [], data: [c.config.lambda_init as number] }, 'from config.depth, against config.lambda_init');
    }
  });
  try {
    const values = await Promise.all(wanted.map(async (w) => (w.got instanceof tf.Tensor ? ((await w.got.data()) as Float32Array) : w.got)));
    return wanted.map((w, i) => compare(c, w.output, w.got, values[i]!, w.ref, w.note));
  } finally {
    tf.dispose(wanted.flatMap((w) => (w.got instanceof tf.Tensor ? [w.got] : [])));
  }
}

export function verifyGolden(dir: string): Promise<GoldenCheck[]> {
  return runCases(loadGoldenDir(dir));
}

/** Run loaded cases in order; a case its layer cannot run on is a GoldenFormatError. */
export async function runCases(cases: { c: GoldenCase; type: CaseType }[]): Promise<GoldenCheck[]> {
  const checks: GoldenCheck[] = [];
  for (const { c, type } of cases) {
    try {
      checks.push(...await runCase(c, type));
    } catch (e) {
      if (e instanceof GoldenFormatError) throw e;
      // the layer could not run on what the file holds (e.g. inconsistent shapes): the file is at fault
      return fail(c.file, `the ${type.name} layer could not run on it: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  return checks;
}

export function formatCheck(k: GoldenCheck): string {
  const e = (x: number) => (Number.isFinite(x) ? x.toExponential(2) : String(x));
  return `${k.file.padEnd(26)} ${k.form.padEnd(38)} max|err| ${e(k.maxAbsErr).padStart(9)}  tol ${e(k.tolerance)}  ${k.pass ? 'ok  ' : 'FAIL'}` +
    `  (README rule ${e(k.readmeTolerance)}: ${k.readmePass ? 'ok' : 'over'})${k.note ? `  ${k.note}` : ''}`;
}

// The update step on webgpu: the weights and AdamW's moments stay on the GPU as flat [w | m | v] states
// (the WGSL AdamW of architectures/ops/optim/webgpu.ts), the flat vector (FlatLayout's order) split into
// pieces of at most adamwWebgpuMaxElements() elements. Each step flattens the gradients into the pieces,
// sums their squares there (the one read, of that scalar, is also what makes the step wait for the GPU),
// clips by FlatAdamW's rule, runs the WGSL step (bias correction and hyperparameters as FlatAdamW) and
// assigns every variable from its slices of the new weights. Matches HostUpdate within float tolerance.
import * as tf from '@tensorflow/tfjs';
import { type AdamWWebgpuState, adamwWebgpu, adamwWebgpuMaxElements, adamwWebgpuState } from '../../architectures/ops/optim/webgpu.ts';
import { type AdamWConfig, FlatLayout, type OptimizerState, clipScale } from './optim.ts';
import type { Update } from './step.ts';

/** Elements [from, to) of variable `v` (flattened), held from element `at` of one piece. */
interface Segment {
  v: number;
  from: number;
  to: number;
  at: number;
}

interface Piece {
  state: AdamWWebgpuState;
  segments: Segment[];
  /** Where the piece starts in the flat vector. */
  lo: number;
}

/** [lo, hi) bounds of the fewest near-equal pieces of at most maxElements covering [0, total). */
function pieceBounds(total: number, maxElements: number): [number, number][] {
  const count = Math.max(1, Math.ceil(total / maxElements)), size = Math.ceil(total / count);
  return Array.from({ length: count }, (_, k) => [k * size, Math.min(total, (k + 1) * size)]);
}

/** The segments of the variables that overlap [lo, hi) of the flat vector, in order. */
function segmentsOf(layout: FlatLayout, lo: number, hi: number): Segment[] {
  const out: Segment[] = [];
  layout.offsets.forEach((o, v) => {
    const a = Math.max(o, lo), b = Math.min(o + layout.sizes[v]!, hi);
    if (a < b) out.push({ v, from: a - o, to: b - o, at: a - lo });
  });
  return out;
}

/** A piece's decayed ranges (within the piece), adjacent ones merged. */
function decayedRanges(layout: FlatLayout, segments: Segment[]): [number, number][] {
  const out: [number, number][] = [];
  for (const s of segments.filter((s) => layout.decayed[s.v])) {
    const end = s.at + s.to - s.from, last = out.at(-1);
    if (last && last[1] === s.at) last[1] = end;
    else out.push([s.at, end]);
  }
  return out;
}

/** One piece of the flat vector from per-variable tensors (`of(v)`; zeros where it gives none). */
function flatten(segments: Segment[], of: (v: number) => tf.Tensor | undefined): tf.Tensor1D {
  return tf.tidy(() => tf.concat(segments.map((s) => {
    const t = of(s.v);
    if (!t) return tf.zeros([s.to - s.from]);
    const flat = t.reshape([-1]);
    return s.from === 0 && s.to === t.size ? flat : flat.slice(s.from, s.to - s.from);
  })) as tf.Tensor1D);
}

/** The update on the GPU (webgpu, fast paths on): weights and moments kept there between steps. */
export class GpuUpdate implements Update {
  readonly description: string;
  /** The [w | m | v] states: two moments and a second copy of the weights. */
  readonly parameterCopies = 3;
  private readonly layout: FlatLayout;
  private readonly vars: tf.Variable[];
  private readonly pieces: Piece[];

  /**
   * Opened on the variables' current weights (and AdamW's state from a checkpoint when resuming), in pieces of
   * at most maxElements (default: the device's limit).
   */
  constructor(vars: ReadonlyMap<string, tf.Variable>, private readonly cfg: AdamWConfig, resume?: OptimizerState, maxElements = adamwWebgpuMaxElements()) {
    if (maxElements < 1) throw new Error('the GPU update needs the webgpu backend');
    this.layout = new FlatLayout(vars);
    this.vars = this.layout.names.map((n) => vars.get(n)!);
    this.pieces = pieceBounds(this.layout.total, maxElements).map(([lo, hi]) => {
      const segments = segmentsOf(this.layout, lo, hi);
      const w = flatten(segments, (v) => this.vars[v]);
      const from = resume && { m: resume.m.subarray(lo, hi), v: resume.v.subarray(lo, hi), t: resume.t };
      const state = adamwWebgpuState(w, decayedRanges(this.layout, segments), from);
      w.dispose();
      return { state, segments, lo };
    });
    this.description = `AdamW on the GPU (WGSL, ${this.pieces.length} piece${this.pieces.length > 1 ? 's' : ''})`;
  }

  async apply(grads: Record<string, tf.Tensor>, lr: number): Promise<void> {
    const flat = this.pieces.map((p) => flatten(p.segments, (v) => grads[this.layout.names[v]!]));
    tf.dispose(grads);
    const sumSquares = tf.tidy(() => flat.map((g) => tf.sum(tf.square(g))).reduce((a, b) => tf.add(a, b)));
    const norm = Math.sqrt((await sumSquares.data())[0]!);
    sumSquares.dispose();
    const { beta1, beta2, weightDecay, clip } = this.cfg, gradScale = clipScale(norm, clip);
    this.pieces.forEach((p, k) => {
      const next = adamwWebgpu(p.state, flat[k]!, lr, gradScale, { beta1, beta2, weightDecay });
      if (!next) throw new Error('the WGSL AdamW step did not apply (backend or fast paths changed under the trainer)');
      p.state.wmv.dispose();
      p.state = next;
    });
    tf.dispose(flat);
    this.assignWeights();
    await this.finished();
  }

  /** Resolves once the GPU has run this step's update: its queue runs in order, so a read issued after the assignments waits for them. */
  private async finished(): Promise<void> {
    const probe = tf.tidy(() => tf.slice(tf.reshape(this.vars.at(-1)!, [-1]), 0, 1));
    await probe.data();
    probe.dispose();
  }

  /** Every variable from its slices of the pieces' new weights (row 0 of each state). */
  private assignWeights(): void {
    const parts = this.vars.map((): tf.Tensor[] => []);
    tf.tidy(() => {
      for (const p of this.pieces) {
        for (const s of p.segments) parts[s.v]!.push(p.state.wmv.slice([0, s.at], [1, s.to - s.from]).reshape([-1]));
      }
      this.vars.forEach((variable, v) => variable.assign(tf.concat(parts[v]!).reshape(this.layout.shapes[v]!)));
    });
  }

  /** AdamW's moments read back from the GPU (asynchronously), in FlatLayout's order, and the steps taken. */
  async optimizerState(): Promise<OptimizerState> {
    const total = this.layout.total, m = new Float32Array(total), v = new Float32Array(total);
    for (const p of this.pieces) {
      const n = p.state.wmv.shape[1];
      const wmv = (await p.state.wmv.data()) as Float32Array; // rows w, m, v
      m.set(wmv.subarray(n, 2 * n), p.lo);
      v.set(wmv.subarray(2 * n, 3 * n), p.lo);
    }
    return { m, v, t: this.pieces[0]!.state.t };
  }

  dispose(): void {
    for (const p of this.pieces) tf.dispose([p.state.wmv, p.state.decayBounds]);
  }
}

// Training data as streams of token windows, each with a loss mask (1 where the loss counts).
// Text uses every position; synthetic task streams mask all but the answers; a mixture interleaves.
import { Rng } from './rng.ts';

export interface Window {
  /** seq + 1 tokens: inputs are [0, seq), targets [1, seq]. */
  tokens: Int32Array;
  /** seq weights, one per target. */
  mask: Float32Array;
}

export interface WindowStream {
  /** Identifies the stream's content for cache keys (name + everything that shapes it). */
  readonly spec: Record<string, unknown>;
  window(rng: Rng, seq: number): Window;
}

export interface Batch {
  batch: number;
  seq: number;
  tokens: Int32Array; // [batch, seq + 1]
  mask: Float32Array; // [batch, seq]
}

/** Random windows of a byte array; every position is a target. */
export function textStream(bytes: Uint8Array, spec: Record<string, unknown>): WindowStream {
  return {
    spec: { kind: 'text', ...spec },
    window(rng, seq) {
      const start = rng.int(bytes.length - seq - 1);
      return { tokens: Int32Array.from(bytes.subarray(start, start + seq + 1)), mask: new Float32Array(seq).fill(1) };
    },
  };
}

/** Interleave streams at the given rates (normalised); the choice is part of the seeded order. */
export function mixture(parts: { stream: WindowStream; rate: number }[]): WindowStream {
  const total = parts.reduce((s, p) => s + p.rate, 0);
  return {
    spec: { kind: 'mixture', parts: parts.map((p) => ({ rate: p.rate / total, ...p.stream.spec })) },
    window(rng, seq) {
      let u = rng.next() * total;
      for (const p of parts) {
        if ((u -= p.rate) < 0) return p.stream.window(rng, seq);
      }
      return parts[parts.length - 1]!.stream.window(rng, seq);
    },
  };
}

/** The deterministic batch sequence of a stream for one seed. Batch i is the same for every architecture. */
export function* batches(stream: WindowStream, opts: { batch: number; seq: number; seed: number }): Generator<Batch> {
  const rng = new Rng(opts.seed * 7919 + 17);
  for (;;) {
    const tokens = new Int32Array(opts.batch * (opts.seq + 1));
    const mask = new Float32Array(opts.batch * opts.seq);
    for (let b = 0; b < opts.batch; b++) {
      const w = stream.window(rng, opts.seq);
      tokens.set(w.tokens, b * (opts.seq + 1));
      mask.set(w.mask, b * opts.seq);
    }
    yield { batch: opts.batch, seq: opts.seq, tokens, mask };
  }
}

/** Consecutive non-overlapping windows of seq+1 bytes (stride seq) covering up to maxTokens targets. */
export function evalWindows(bytes: Uint8Array, seq: number, maxTokens: number): Int32Array[] {
  const out: Int32Array[] = [];
  for (let o = 0; o + seq + 1 <= bytes.length && out.length * seq < maxTokens; o += seq) {
    out.push(Int32Array.from(bytes.subarray(o, o + seq + 1)));
  }
  return out;
}

// The self-improvement task: D-digit addition in a compact fixed-width format, one problem a line,
//   Q:07+85=092
// with a deterministic checker. Problems are split by a hash of (a, b): one in eight is on the test side
// and never appears in training; the held-out test set is a fixed draw from that side, and the probe that
// sets the base's budget another, disjoint one.
import { hashString } from '../../architectures/layers.ts';
import { encode } from '../../harness/data/corpus.ts';
import { Rng } from '../../harness/data/rng.ts';
import { mixture, type WindowStream } from '../../harness/data/streams.ts';
import type { Episode } from '../tasks/episodes.ts';

export interface Problem {
  a: number;
  b: number;
}

/** A question with an answer (the checker's, or a model's own). */
export interface Pair extends Problem {
  answer: string;
}

const pad = (x: number, width: number): string => String(x).padStart(width, '0');

/** 'Q:aa+bb=' */
export const question = (p: Problem, digits: number): string => `Q:${pad(p.a, digits)}+${pad(p.b, digits)}=`;

/** The checker's answer: a + b in digits + 1 places. */
export const solve = (p: Problem, digits: number): string => pad(p.a + p.b, digits + 1);

/** The checker: exact match of the answer string. */
export const check = (p: Problem, answer: string, digits: number): boolean => answer === solve(p, digits);

export const line = (p: Pair, digits: number): string => `${question(p, digits)}${p.answer}\n`;

export const sideOf = (p: Problem): 'train' | 'test' => (hashString(`${p.a}+${p.b}`) % 8 === 0 ? 'test' : 'train');

export const problemKey = (p: Problem): string => `${p.a}+${p.b}`;

/** The two operands of a generated question ('aa+bb=' after the bait), or null when malformed. */
export function parseQuestion(text: string, digits: number): Problem | null {
  const m = new RegExp(`^(\\d{${digits}})\\+(\\d{${digits}})=`).exec(text);
  return m ? { a: Number(m[1]), b: Number(m[2]) } : null;
}

/** A generated answer: digits + 1 digits followed by the end of the line, or null. */
export function parseAnswer(text: string, digits: number): string | null {
  const m = new RegExp(`^(\\d{${digits + 1}})\\n`).exec(text);
  return m ? m[1]! : null;
}

/** A problem drawn uniformly from one side. */
export function drawProblem(rng: Rng, side: 'train' | 'test', digits: number): Problem {
  const top = 10 ** digits;
  for (;;) {
    const p = { a: rng.int(top), b: rng.int(top) };
    if (sideOf(p) === side) return p;
  }
}

/** Windows of consecutive lines (the loss on every byte), each line drawn by `next`. */
function linesStream(spec: Record<string, unknown>, next: (rng: Rng) => string): WindowStream {
  return {
    spec,
    window(rng, seq) {
      let text = '\n';
      while (text.length < seq + 1) text += next(rng);
      const tokens = Int32Array.from(encode(text).subarray(0, seq + 1));
      return { tokens, mask: new Float32Array(seq).fill(1) };
    },
  };
}

/** Train-side problems with the checker's answers (the small amount of task data in the base mixture). */
export const additionStream = (digits: number): WindowStream =>
  linesStream({ kind: 'addition', digits, side: 'train' }, (rng) => {
    const p = drawProblem(rng, 'train', digits);
    return line({ ...p, answer: solve(p, digits) }, digits);
  });

/** The base model's data: the text stream with a share `taskRate` of addition windows. */
export const baseMixture = (text: WindowStream, digits: number, taskRate: number): WindowStream =>
  mixture([{ stream: text, rate: 1 - taskRate }, { stream: additionStream(digits), rate: taskRate }]);

/** Lines of the given pairs in a seeded order (fine-tuning on self-generated pairs). */
export const pairsStream = (pairs: Pair[], digits: number, spec: Record<string, unknown>): WindowStream => {
  if (pairs.length === 0) throw new Error('selfimprove: no pairs to fine-tune on');
  return linesStream({ kind: 'pairs', digits, ...spec }, (rng) => line(pairs[rng.int(pairs.length)]!, digits));
};

/** The held-out test set: `count` distinct test-side problems (fixed, the same for every seed and architecture). */
export function testProblems(count: number, digits: number): Problem[] {
  const rng = new Rng(0x7e57ad);
  const seen = new Map<string, Problem>();
  for (let tries = 0; seen.size < count && tries < 100 * count; tries++) {
    const p = drawProblem(rng, 'test', digits);
    seen.set(problemKey(p), p);
  }
  return [...seen.values()];
}

/**
 * The probe that sets the base's budget (suites/tasks/training.ts ReferenceBudget): `count` distinct
 * test-side problems that are not in the held-out test set of `testSize`, so the budget is chosen without
 * looking at the test set (never trained on either).
 */
export function probeProblems(count: number, digits: number, testSize: number): Problem[] {
  const test = new Set(testProblems(testSize, digits).map(problemKey));
  const rng = new Rng(0x9b0be);
  const seen = new Map<string, Problem>();
  for (let tries = 0; seen.size < count && tries < 100 * count; tries++) {
    const p = drawProblem(rng, 'test', digits);
    if (!test.has(problemKey(p))) seen.set(problemKey(p), p);
  }
  return [...seen.values()];
}

/** The budget probe as episodes (the suite's budgetProbe and `archbench calibrate addition` alike). */
export const probeEpisodes = (count: number, digits: number, testSize: number): Episode[] =>
  probeProblems(count, digits, testSize).map((p) => testEpisode(p, digits));

/** A test problem as an episode for greedy scoring: '\nQ:aa+bb=' then the answer span. */
export function testEpisode(p: Problem, digits: number): Episode {
  const prompt = `\n${question(p, digits)}`;
  const answer = [...encode(solve(p, digits))];
  return { tokens: Int32Array.from([...encode(prompt), ...answer]), queries: [{ start: prompt.length, answer }] };
}

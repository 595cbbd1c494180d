// Crescent: the model makes its own training data, with no task data.
//   1. a bait prompt elicits questions (sampled on the prefill + step path);
//   2. rejection-sampling de-duplication keeps a question only if it is not too similar to those kept:
//      cosine of the model's own mean-pooled hidden states where it declares continuousInput, character
//      n-gram Jaccard otherwise (./similarity.ts; which one ran is returned);
//   3. k sampled answers per question, labelled by majority vote (kept when the winner's share >= minAgree);
//   4. fine-tuning on the voted pairs (the suite). The control row uses each voted question's first sample.
import type { LanguageModel } from '../../architectures/interface.ts';
import { decode, encode } from '../../harness/data/corpus.ts';
import { Rng } from '../../harness/data/rng.ts';
import { generate } from '../../harness/generate.ts';
import { parseAnswer, parseQuestion, problemKey, question, type Pair, type Problem } from './addition.ts';
import { dedupeQuestions, type SimilarityUsed, type SimilaritySettings } from './similarity.ts';

export interface CrescentSettings extends SimilaritySettings {
  /** The bait prompt, and how many times it is sampled. */
  bait: string;
  questions: number;
  /** Sampling temperatures of the questions and of the k answers. */
  temperature: number;
  answerTemperature: number;
  /** k answers sampled per kept question; the winner's share needed to keep the pair. */
  votes: number;
  minAgree: number;
  batch: number;
}

export interface Harvest {
  /** Bait samples, well-formed questions, those on the held-out test set (dropped), kept after de-duplication. */
  counts: { generated: number; valid: number; test_excluded: number; kept: number; voted: number };
  /** The de-duplication's similarity: hidden states (with their width) or the n-gram fallback. */
  similarity: SimilarityUsed;
  /** Voted pairs (majority label) and the control's pairs (the same questions, first sample's answer). */
  voted: Pair[];
  single: Pair[];
  /** Tokens sampled and seconds, per phase. */
  rate: { questions: { tokens: number; seconds: number }; answers: { tokens: number; seconds: number } };
}

/** The plurality answer among valid ones and its count (ties go to the one seen first); null when none is valid. */
export function majority(answers: (string | null)[]): { answer: string; count: number } | null {
  const counts = new Map<string, number>();
  for (const a of answers) if (a !== null) counts.set(a, (counts.get(a) ?? 0) + 1);
  let best: { answer: string; count: number } | null = null;
  for (const [answer, count] of counts) if (!best || count > best.count) best = { answer, count };
  return best;
}

const prompt = (text: string): Int32Array => Int32Array.from(encode(text));

/** Steps 1-3 on `model`: questions from the bait, de-duplicated, answered k times and voted. */
export async function harvest(model: LanguageModel, s: CrescentSettings, digits: number, heldOut: Set<string>, seed: number): Promise<Harvest> {
  const rng = new Rng(seed * 13 + 3);
  const asked = await generate(model, Array.from({ length: s.questions }, () => prompt(s.bait)), 2 * digits + 2, { temperature: s.temperature, rng, batch: s.batch });
  const valid = asked.continuations.map((c) => parseQuestion(decode(c), digits)).filter((q): q is Problem => q !== null);
  const fresh = valid.filter((q) => !heldOut.has(problemKey(q)));
  const deduped = await dedupeQuestions(model, fresh.map((q) => question(q, digits).slice(2, -1)), fresh.map((q) => prompt(`${s.bait}${question(q, digits).slice(2)}`)), s, s.batch);
  const kept = deduped.kept.map((i) => fresh[i]!);

  const rows = kept.flatMap((q) => Array.from({ length: s.votes }, () => prompt(`\n${question(q, digits)}`)));
  const answered = rows.length ? await generate(model, rows, digits + 2, { temperature: s.answerTemperature, rng, batch: s.batch }) : { continuations: [], tokens: 0, seconds: 0 };
  const voted: Pair[] = [], single: Pair[] = [];
  kept.forEach((q, i) => {
    const samples = answered.continuations.slice(i * s.votes, (i + 1) * s.votes).map((c) => parseAnswer(decode(c), digits));
    const win = majority(samples);
    if (!win || win.count < s.minAgree * s.votes) return;
    voted.push({ ...q, answer: win.answer });
    const first = samples.find((a) => a !== null)!;
    single.push({ ...q, answer: first });
  });
  return {
    counts: { generated: s.questions, valid: valid.length, test_excluded: valid.length - fresh.length, kept: kept.length, voted: voted.length },
    similarity: deduped.used,
    voted, single,
    rate: { questions: { tokens: asked.tokens, seconds: asked.seconds }, answers: { tokens: answered.tokens, seconds: answered.seconds } },
  };
}

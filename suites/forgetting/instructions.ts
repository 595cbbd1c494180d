// Domain B of the forgetting suite: an instruction-style format generated from templates, e.g.
//   Instruction: reverse the letters of "kqwz".
//   Response: zwqk
// Domain A (the text model's training split) holds both default texts, Moby-Dick and the State of the Union
// speeches, so neither can be B. This format shares A's alphabet but nothing of its statistics: short fixed
// templates, random lower-case strings, and the answer determined by the instruction. Fine-tuning on it
// pulls the next-byte distribution towards templates and random letters, away from English prose: that is
// what A forgets. The train and test sides draw their strings from independent seeds.
import { encode } from '../../harness/data/corpus.ts';
import { Rng } from '../../harness/data/rng.ts';
import { textStream, type WindowStream } from '../../harness/data/streams.ts';

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/** Each template: its instruction text and the answer it asks for. */
const TEMPLATES: { ask: (w: string) => string; answer: (w: string) => string }[] = [
  { ask: (w) => `reverse the letters of "${w}".`, answer: (w) => [...w].reverse().join('') },
  { ask: (w) => `sort the letters of "${w}".`, answer: (w) => [...w].sort().join('') },
  { ask: (w) => `write "${w}" in capitals.`, answer: (w) => w.toUpperCase() },
  { ask: (w) => `count the letters of "${w}".`, answer: (w) => String(w.length) },
  { ask: (w) => `repeat "${w}" twice.`, answer: (w) => `${w} ${w}` },
];

/** One instruction/response record. */
export function instruction(rng: Rng): string {
  const word = Array.from({ length: 3 + rng.int(6) }, () => LETTERS[rng.int(LETTERS.length)]).join('');
  const t = TEMPLATES[rng.int(TEMPLATES.length)]!;
  return `Instruction: ${t.ask(word)}\nResponse: ${t.answer(word)}\n\n`;
}

const SIDE_SEED = { train: 0x1b57, test: 0x7e57 } as const;

/** At least `bytes` bytes of records from one side (deterministic). */
export function instructionText(side: 'train' | 'test', bytes: number): Uint8Array {
  const rng = new Rng(SIDE_SEED[side]);
  let text = '';
  while (text.length < bytes) text += instruction(rng);
  return encode(text);
}

/** The domain-B training stream: random windows over `bytes` bytes of train-side records. */
export function instructionStream(bytes: number): WindowStream {
  return textStream(instructionText('train', bytes), { domain: 'instructions', side: 'train', bytes, templates: TEMPLATES.length });
}

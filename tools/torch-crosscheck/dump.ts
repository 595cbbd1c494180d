// Dump MQAR training windows and held-out test episodes from archbench's own generator, so that
// torch_mqar.py can train PyTorch's peer model on exactly the same data (see README.md here).
//   node --import tsx tools/torch-crosscheck/dump.ts [OUT_DIR]
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadCorpus } from '../../harness/data/corpus.ts';
import { batches } from '../../harness/data/streams.ts';
import { mqarTask } from '../../suites/tasks/retrieval.ts';
import { taskStream } from '../../suites/tasks/episodes.ts';
import { sideEpisodes } from '../../suites/tasks/calibrate.ts';
const out = process.argv[2] ?? '/tmp/archbench-crosscheck';
mkdirSync(out, { recursive: true });
const corpus = loadCorpus();
const seq = 64, steps = 800, batch = 16;
const mq = mqarTask(corpus, { keySymbols: 16, valueSymbols: 16, filler: 'pad' });
const stream = taskStream(mq, [{ pairs: 4, extra: 28, fill: true }]);
const it = batches(stream, { batch, seq, seed: 0 });
const toks = new Int32Array(steps * batch * (seq + 1)), mask = new Float32Array(steps * batch * seq);
for (let s = 0; s < steps; s++) { const b = it.next().value!; toks.set(b.tokens, s * batch * (seq + 1)); mask.set(b.mask, s * batch * seq); }
const eps = sideEpisodes(mq, { pairs: 4 }, seq, 64, 1000, 'test', 'calibration');
const ev = new Int32Array(eps.length * seq), q: number[] = [];
eps.forEach((e, i) => { ev.set(e.tokens, i * seq); for (const qq of e.queries) q.push(i, qq.start, qq.answer[0]!); });
writeFileSync(`${out}/train_tokens.bin`, Buffer.from(toks.buffer));
writeFileSync(`${out}/train_mask.bin`, Buffer.from(mask.buffer));
writeFileSync(`${out}/eval_tokens.bin`, Buffer.from(ev.buffer));
writeFileSync(`${out}/eval_queries.bin`, Buffer.from(Int32Array.from(q).buffer));
console.log('dumped', steps, batch, seq, eps.length, q.length / 3);

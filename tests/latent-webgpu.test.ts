// The latent suite on webgpu (Dawn; lavapipe on CPU machines). Its runs of many small ops once ended in a
// segmentation fault: every dispatch's bind group stayed alive until V8 happened to collect it, and on
// lavapipe each is a 4 KiB memory mapping, so the process passed vm.max_map_count (harness/webgpu.ts).
// Here: releaseBindGroups() keeps those mappings bounded, and the suite's smallest path (tokenizers,
// backbone + diffusion head / VQ training, sampling, classifier features) runs through on webgpu. Where
// Dawn finds no adapter the tests say why and skip; CI installs lavapipe, so there they must run.
import { existsSync, readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { getArchitecture } from '../architectures/index.ts';
import { buildModel, disposeModel } from '../harness/models.ts';
import { PRESETS } from '../harness/presets.ts';
import { BIND_GROUP_RELEASE_EVERY, releaseBindGroups, startDawn } from '../harness/webgpu.ts';
import { MlpClassifier } from '../suites/latent/fid.ts';
import { LatentGenerator } from '../suites/latent/generator.ts';
import { GLYPH_CLASSES, makeGlyphs } from '../suites/latent/glyphs.ts';
import { fit, gatherRows, seededIndices } from '../suites/latent/nets.ts';
import { LATENT_SETTINGS } from '../suites/latent/settings.ts';
import { imageLayout, tokenizers, trainTokenizer } from '../suites/latent/tokenizers.ts';
import { onlyIf, useBackend } from './helpers.ts';

const facts = await startDawn().catch((e: Error) => ({ problem: e.message }));
if ('problem' in facts) process.stderr.write(`the latent suite on webgpu is not tested here: ${facts.problem}\n`);
if ('problem' in facts && process.env.CI) throw new Error(`CI must test the latent suite on webgpu: ${facts.problem}`);

/** lavapipe's memory objects as this process's memory mappings (memfd 'allocation'); null where unreadable. */
function lavapipeMappings(): number | null {
  if (!existsSync('/proc/self/maps')) return null;
  return readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.includes('memfd:allocation')).length;
}

const onLavapipe = !('problem' in facts) && /llvmpipe|lavapipe/i.test(`${facts.device} ${facts.description}`) && lavapipeMappings() !== null;

describe.runIf(!('problem' in facts))('the latent suite on webgpu', () => {
  it.runIf(onlyIf(onLavapipe, 'bind-group mappings bounded', 'needs lavapipe and /proc/self/maps (its bind groups are memory mappings)'))(
    `releaseBindGroups keeps lavapipe's bind-group mappings under ${2 * BIND_GROUP_RELEASE_EVERY} over ${3 * BIND_GROUP_RELEASE_EVERY} dispatches`, async () => {
      await useBackend('webgpu');
      let x = tf.zeros([4096]);
      await x.data();
      const before = lavapipeMappings()!;
      for (let i = 0; i < 3 * BIND_GROUP_RELEASE_EVERY; i++) {
        const y = tf.add(x, 1); // one dispatch, one bind group
        x.dispose();
        x = y;
        if (i % 64 === 63) await releaseBindGroups();
      }
      expect((await x.data())[0]).toBe(3 * BIND_GROUP_RELEASE_EVERY);
      x.dispose();
      const grown = lavapipeMappings()! - before;
      process.stderr.write(`lavapipe mappings grew by ${grown} over ${3 * BIND_GROUP_RELEASE_EVERY} dispatches\n`);
      expect(grown).toBeLessThan(2 * BIND_GROUP_RELEASE_EVERY); // unreleased they grow one per dispatch
    }, 120_000);

  it('tokenizers, diffusion and VQ generators on a transformer, and the classifier run through', async () => {
    await useBackend('webgpu');
    const s = LATENT_SETTINGS.tiny!, seed = 0, width = s.size * s.size;
    const train = makeGlyphs(64, s.size, seed, 'train');
    const classifier = new MlpClassifier(width, 16, 8, GLYPH_CLASSES.length, seed);
    await classifier.train(train.pixels, train.labels, 3, 16, s.classifier.lr, seed);
    const toks = tokenizers({ ...s.tokenizer, steps: 3, batch: 16 }, imageLayout(s.size, s.tokenizer.patch), seed);
    const spec = getArchitecture('transformer')!;
    const labels = GLYPH_CLASSES.map((_, i) => i);
    for (const [method, kind] of [['diffusion', 'sigma-vae'], ['vq', 'vq']] as const) {
      const tok = toks.get(kind)!;
      await trainTokenizer(tok, train.pixels, train.n, seed);
      const lm = buildModel(spec, spec.configure(PRESETS.tiny!.size), seed);
      const gen = new LatentGenerator(lm, method, tok, GLYPH_CLASSES.length, s.generator, seed);
      const loss = await fit(gen.variables(), 2, s.train.lr, (step) => tf.tidy(() => {
        const idx = seededIndices(train.n, 4, step);
        return gen.loss(gatherRows(train.pixels, width, idx), idx.map((i) => train.labels[i]!), step);
      }));
      expect(Number.isFinite(loss), `${method} loss ${loss}`).toBe(true);
      const images = await gen.generate(labels, 2, s.guidance, seed);
      expect(images.shape).toEqual([labels.length, width]);
      const px = await images.data();
      expect(px.every((v) => v >= 0 && v <= 1), `${method}: pixels in [0, 1]`).toBe(true);
      const { features } = await classifier.read(images);
      expect(features).toHaveLength(labels.length);
      images.dispose();
      gen.params.dispose();
      disposeModel(lm);
    }
    for (const tok of toks.values()) tok.params.dispose();
  }, 180_000);
});

// What every architecture of a (settings, seed) shares (tokenizers, classifiers, their records) is trained
// once and kept in the model cache (checksummed; a corrupt entry is rebuilt), so the six architecture units,
// and a resumed run, load it instead of retraining. The key holds the settings, the seed, the backend (float
// rounding differs across backends) and the version of the code that trains the parts.
import type { Variable } from '@tensorflow/tfjs';
import type { ParamStore } from '../../architectures/interface.ts';
import type { Params } from '../../architectures/layers.ts';
import { selectedBackendName } from '../../harness/backend.ts';
import { ModelCache } from '../../harness/cache.ts';
import { codeVersion, sourceVersion } from '../../harness/hash.ts';
import { log } from '../../harness/progress.ts';

/** Several Params as one store, each variable named "<part>/<name>". */
export function joinedStore(parts: Record<string, Params>): ParamStore {
  const vars = new Map(Object.entries(parts).flatMap(([part, p]) => [...p.vars].map(([n, v]): [string, Variable] => [`${part}/${n}`, v])));
  return {
    vars,
    get: (name) => vars.get(name) ?? (() => { throw new Error(`no shared parameter ${name}`); })(),
    count: () => { const total = [...vars.values()].reduce((a, v) => a + v.size, 0); return { total, nonEmbedding: total }; },
    dispose: () => vars.forEach((v) => v.dispose()),
  };
}

/**
 * The shared parts `what` for (settings, seed): their weights loaded into `parts` and the info saved with
 * them when the cache holds them; else `train()` trains `parts` in place and returns the info to keep
 * (plain JSON: records, statistics), which is then saved. Returns the info and whether it was a hit.
 */
export async function cachedParts<I>(cache: ModelCache, what: string, settings: unknown, seed: number, parts: Record<string, Params>, train: () => Promise<I>): Promise<{ info: I; cache: 'hit' | 'trained' | 'rebuilt' }> {
  const key = ModelCache.key({
    purpose: `latent:${what}`, settings, seed, backend: selectedBackendName(),
    code: `${codeVersion()}:${sourceVersion(['suites/latent'])}`,
  });
  const store = joinedStore(parts);
  return cache.withLock(key, async () => {
    const found = cache.load(key, store);
    if (found.status === 'hit') return { info: found.info.shared as I, cache: 'hit' as const };
    if (found.status === 'corrupt') log(`cache entry ${key} (latent ${what}) is corrupt (${found.reason}); retraining`);
    const info = await train();
    await cache.save(key, store, { shared: info });
    return { info, cache: found.status === 'corrupt' ? 'rebuilt' as const : 'trained' as const };
  });
}

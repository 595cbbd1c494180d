// The one owner of "build dry": an architecture built without weights (Params in dry mode records shapes
// only), for its parameter count, its parameter signature and its analytic queries (analyticStateBytes).
import type { ArchitectureSpec, LanguageModel, ModelConfig } from './interface.ts';
import { Params } from './layers.ts';

/** Names and shapes in order, 'name:AxB,...': two builds with the same signature hold the same parameters. */
export function paramSignature(shapes: Iterable<[string, readonly number[]]>): string {
  return [...shapes].map(([n, s]) => `${n}:${s.join('x')}`).join(',');
}

/** Build `spec` dry at `config` and hand the model and its (shape-only) parameters to `use`. */
export function withDryModel<T>(spec: ArchitectureSpec, config: ModelConfig, use: (model: LanguageModel, params: Params) => T): T {
  const p = new Params(0, true);
  try {
    return use(spec.build(config, p), p);
  } finally {
    p.dispose();
  }
}

/** Parameter counts (total and non-embedding) of `spec` at `config`. */
export const countParams = (spec: ArchitectureSpec, config: ModelConfig): { total: number; nonEmbedding: number } =>
  withDryModel(spec, config, (_, p) => p.count());

/** The parameter signature a fresh build of `spec` at `config` has. */
export const dryParamSignature = (spec: ArchitectureSpec, config: ModelConfig): string =>
  withDryModel(spec, config, (_, p) => paramSignature(p.shapes));

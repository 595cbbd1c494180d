// Synthetic run directories for the report, compare and browser tests: no training, deterministic.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResultRecord } from '../harness/store.ts';
import { wilson } from '../harness/stats.ts';

export const XSS_ARCH = '<img src=x onerror=alert(1)>';

export interface SyntheticOptions {
  archs?: string[];
  seeds?: number;
  /** Multiply one architecture's needle accuracy (to inject a regression). */
  accuracyScale?: Record<string, number>;
  /** Multiply one architecture's decode latency. */
  latencyScale?: Record<string, number>;
}

/** A deterministic pseudo-random in [0, 1) from a string. */
function noise(key: string): number {
  let h = 2166136261;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  return ((h >>> 0) % 10000) / 10000;
}

export function syntheticRecords(o: SyntheticOptions = {}): ResultRecord[] {
  const archs = o.archs ?? ['transformer', 'retnet', XSS_ARCH];
  const seeds = o.seeds ?? 3;
  const out: ResultRecord[] = [];
  const time = '2026-11-26T07:00:00.000Z';
  archs.forEach((arch, ai) => {
    for (let seed = 0; seed < seeds; seed++) {
      const base = { arch, seed, preset: 'tiny', params: 26784, backend: 'wasm', elapsed_s: 1.5, time, ci95: null };
      const n = (k: string) => noise(`${arch}|${seed}|${k}`);
      // perplexity: bpb differs by architecture (ai), seed noise 0.02
      out.push({ ...base, suite: 'perplexity', metric: 'test_bpb', value: 2.4 + 0.15 * ai + 0.02 * n('bpb'), unit: 'bpb', dims: { seq: 32, tokens: 4096, split: 'test' } });
      out.push({ ...base, suite: 'perplexity', metric: 'unigram_bpb', value: 4.362, unit: 'bpb', dims: { split: 'test' } });
      out.push({ ...base, suite: 'perplexity', metric: 'train_tokens_per_s', value: 900 - 120 * ai + 30 * n('tps'), unit: 'tokens/s', dims: { steps: 30, tokens: 3840, cache: 'trained' } });
      out.push({ ...base, suite: 'perplexity', metric: 'nonembedding_params', value: 26784, unit: 'count', dims: { target: 26784, matched_by: 'ffn' } });
      out.push({ ...base, suite: 'perplexity', metric: 'wall_time', value: 6 + n('wall'), unit: 's', dims: {} });
      // needle: accuracy over length x depth, Wilson intervals over 40 items; the third arch at the floor
      for (const length of [32, 64, 128]) {
        for (const depth of [0.1, 0.5, 0.9]) {
          const items = 40;
          const p = ai === 2 ? 0.1 : Math.max(0.05, Math.min(0.95, 0.85 - 0.002 * length - 0.1 * ai + 0.05 * n(`acc${length}${depth}`)));
          const k = Math.round(p * items * (o.accuracyScale?.[arch] ?? 1));
          out.push({ ...base, suite: 'needle', metric: 'accuracy', value: k / items, unit: 'fraction', ci95: wilson(k, items), dims: { length, depth, needles: 1, queried: 1 }, ...(ai === 2 ? { flag: 'floor' } : {}) });
        }
      }
      // efficiency: decode latency and state bytes against context (one seed's interval from timing)
      for (const context of [16, 32, 64, 128]) {
        const lat = (ai === 1 ? 0.0005 : 0.0005 * (context / 16) ** 0.8) * (1 + 0.05 * n(`lat${context}`)) * (o.latencyScale?.[arch] ?? 1);
        out.push({ ...base, suite: 'efficiency', metric: 'decode_latency', value: lat, unit: 's', ci95: [lat * 0.97, lat * 1.04], dims: { context, batch: 1 } });
        out.push({ ...base, suite: 'efficiency', metric: 'state_bytes', value: ai === 1 ? 8192 : 512 * context, unit: 'bytes', dims: { context, batch: 1 } });
      }
    }
  });
  return out;
}

export function syntheticManifest(records: ResultRecord[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    command: 'run --preset tiny (synthetic)',
    config: { suites: [...new Set(records.map((r) => r.suite))], archs: [...new Set(records.map((r) => r.arch))], match: 'params', corpus: 'default', shard: null, units: 0 },
    preset: { name: 'tiny', description: 'synthetic', size: { vocab: 256, d: 32, layers: 2, heads: 2, seq: 32 } },
    seeds: [...new Set(records.map((r) => r.seed))],
    git_sha: 'abc1234<script>alert(2)</script>',
    versions: { node: process.version, tfjs: '4.22.0' },
    backend: 'wasm',
    backend_provider: 'wasm',
    machine: { cpu: { brand: 'Test CPU "quoted" & <b>bold</b>', cores: 2 }, memBytes: 2 ** 34, os: 'Debian GNU/Linux 12 x64', gpus: [] },
    start_time: '2026-11-26T07:00:00.000Z',
    end_time: '2026-11-26T07:05:00.000Z',
    ...extra,
  };
}

/** Write a run directory (manifest.json, records.jsonl) from records. */
export function writeRun(dir: string, records: ResultRecord[], manifest = syntheticManifest(records)): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'records.jsonl'), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return dir;
}

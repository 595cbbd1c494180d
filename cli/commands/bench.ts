// `archbench bench [--json]`: training tokens/s, model FLOP/s, MFU and decode tokens/s of the reference
// configs and of every architecture at the small preset (harness/bench.ts). With --json, one object per
// line on stdout in DESIGN.md's shape; the machine, backend, commit and peak assumptions go to stderr.
import * as tf from '@tensorflow/tfjs';
import type { Command } from 'commander';
import { type BenchRow, benchConfigs, benchOne, correctnessGate, devicePeak } from '../bench.ts';
import { backendLine, selectBackend } from '../../harness/backend.ts';
import { loadCorpus } from '../../harness/data/corpus.ts';
import { UsageError, parsePositiveInt } from '../../harness/errors.ts';
import { gitSha } from '../../harness/hash.ts';
import { machineInfo, machineLabel } from '../../harness/measure.ts';
import { stopWorkers } from '../../harness/train/parallel.ts';
import { setFastPath } from '../../architectures/ops/fast-path.ts';
import { matmulWebgpuKernel } from '../../architectures/ops/matmul/webgpu.ts';
import { backendOption } from './run.ts';

export function register(program: Command, out: (s: string) => void): void {
  program.command('bench')
    .description('training tokens/s, model FLOP/s, MFU and decode tokens/s of the reference configs and every architecture (small preset)')
    .option('--json', 'one JSON object per line: {"name","config","train_tokens_per_s","model_gflops_per_s","mfu","decode_tokens_per_s","backend"}')
    .option('--configs <list>', 'comma-separated config names (default: all but the GPU-sized ones, which run only when named; see --list)')
    .option('--list', 'print the config names and exit')
    .option('--steps <n>', 'timed training steps per config (the median is reported)', '8')
    .option('--warmup <n>', 'untimed training steps first', '3')
    .option('--workers <n>', 'data-parallel workers (default: the trainer\'s own choice)')
    .option('--plain', 'the baseline before optimisation: fast paths off (plain tfjs ops) and one worker')
    .option('--decode-context <n>', 'context length before timing decode steps', '1024')
    .option('--decode-steps <n>', 'timed decode steps', '16')
    .option('--corpus <path>', "text file or folder, or 'default'", 'default')
    .addOption(backendOption())
    .action(async (opts: Record<string, string | boolean | undefined>) => {
      const all = benchConfigs();
      if (opts.list) {
        for (const c of all) out(`${c.name}${c.onlyWhenNamed ? ' (only when named)' : ''}\n`);
        return;
      }
      let configs = all.filter((c) => !c.onlyWhenNamed);
      if (opts.configs) {
        const names = String(opts.configs).split(',').map((s) => s.trim()).filter(Boolean);
        for (const n of names) if (!all.some((c) => c.name === n)) throw new UsageError(`unknown config '${n}'; valid: ${all.map((c) => c.name).join(', ')}`);
        configs = all.filter((c) => names.includes(c.name));
      }
      const steps = parsePositiveInt('--steps', String(opts.steps));
      const warmup = parsePositiveInt('--warmup', String(opts.warmup));
      if (opts.plain && opts.workers !== undefined) throw new UsageError('--plain runs one worker; leave out --workers');
      const workers = opts.plain ? 1 : opts.workers === undefined ? undefined : parsePositiveInt('--workers', String(opts.workers));
      const decodeContext = parsePositiveInt('--decode-context', String(opts.decodeContext));
      const decodeSteps = parsePositiveInt('--decode-steps', String(opts.decodeSteps));
      const corpus = loadCorpus(opts.corpus as string);
      const backend = await selectBackend(opts.backend as string);
      const machine = await machineInfo();
      const peak = devicePeak(machine, backend.adapter);
      const sha = gitSha();
      const err = (s: string) => process.stderr.write(s);
      const info = opts.json ? err : out;
      info(`# machine: ${machineLabel(machine)}; ${backendLine(backend)}; commit: ${sha}; node ${process.version}\n`);
      info(`# ${peak.assumptions}\n`);
      if (backend.adapter) info(`# matmul on webgpu: ${matmulWebgpuKernel()}\n`);
      const gate = await correctnessGate();
      if (!gate.ok) {
        err(`archbench: correctness gate failed: fast path vs plain ops differ by ${gate.worst.toExponential(2)} relative in ${gate.what} (limit 1e-5); no speeds reported\n`);
        process.exitCode = 1;
        return;
      }
      info(`# correctness gate: fast paths agree with plain ops (worst ${gate.worst.toExponential(2)} relative, limit 1e-5)\n`);
      if (!opts.json) {
        out(`${'name'.padEnd(20)} ${'config'.padEnd(26)} ${'train tok/s'.padStart(11)} ${'GFLOP/s'.padStart(8)} ${'MFU'.padStart(7)} ${'decode tok/s'.padStart(12)} workers  step s (median of ${steps})\n`);
      }
      const rows: BenchRow[] = [];
      const fastBefore = setFastPath(!opts.plain);
      if (opts.plain) info('# --plain: fast paths off (plain tfjs ops), one worker: the baseline the fast paths are measured against\n');
      // plain tf ops never reach the native GEMM: their rows name tf's own backend (wasm, not wasm+openblas)
      const rowBackend = opts.plain ? tf.getBackend() : backend.name;
      try {
        for (const c of configs) {
          const { row, detail } = await benchOne(c, corpus, peak, rowBackend, { steps, warmup, workers, decodeContext, decodeSteps });
          if (opts.plain) row.name += '/plain'; // a baseline figure never passes for an optimised one
          rows.push(row);
          if (opts.json) {
            out(`${JSON.stringify(row)}\n`);
            err(`# ${row.name}: workers ${detail.workers}, step s ${detail.stepS.map((s) => s.toFixed(3)).join(' ')}, FLOPs/token ${detail.flopsPerToken}; ${machineLabel(machine)}, ${rowBackend}, ${sha}\n`);
          } else {
            const k = row.config;
            const cfgText = `d${k.d} L${k.layers} H${k.heads} T${k.seq} B${k.batch}`;
            out(`${row.name.padEnd(20)} ${cfgText.padEnd(26)} ${row.train_tokens_per_s.toFixed(0).padStart(11)} ${row.model_gflops_per_s.toFixed(2).padStart(8)} ${(row.mfu * 100).toFixed(2).padStart(6)}% ${row.decode_tokens_per_s.toFixed(1).padStart(12)} ${String(detail.workers).padStart(7)}  ${detail.stepS.map((s) => s.toFixed(3)).join(' ')}\n`);
          }
        }
      } finally {
        setFastPath(fastBefore);
        await stopWorkers();
      }
      if (!opts.json) out(`# decode: step() after a prefill of ${decodeContext} tokens, batch 1, median of ${decodeSteps}; every figure: ${machineLabel(machine)}, ${rowBackend}, ${sha}\n`);
    });
}

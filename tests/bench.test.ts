// `archbench bench`: the correctness gate, the peak-FLOP/s assumptions, one real (very short) row in
// the DESIGN.md --json shape, the --plain baseline labelled as such, and bad input.
import { beforeAll, describe, expect, it } from 'vitest';
import { correctnessGate, devicePeak, machinePeak } from '../cli/bench.ts';
import type { AdapterFacts } from '../harness/webgpu.ts';
import { cli, useBackend } from './helpers.ts';

const machine = (flags: string, speedGHz = 2) => ({ cpu: { brand: 'x', cores: 2, physicalCores: 2, speedGHz, flags }, memBytes: 1, os: 'x', gpus: [] });

describe('bench', () => {
  beforeAll(() => useBackend());

  it('gate: the fast paths agree with the plain ops within 1e-5 relative', async () => {
    const gate = await correctnessGate();
    expect(gate.ok).toBe(true);
    expect(gate.worst).toBeLessThanOrEqual(1e-5);
  });

  it('peak FLOP/s = cores x clock x lanes x FMA units x 2, with the assumptions spelt out', () => {
    const avx512 = machinePeak(machine('fpu avx2 avx512f fma'));
    expect(avx512.gflops).toBeCloseTo(2 * 2 * 16 * 2 * 2);
    expect(avx512.assumptions).toMatch(/2 cores x 2\.00 GHz .* x 16 lanes \(avx512f\) x 2 FMA units/);
    expect(machinePeak(machine('fpu sse sse2')).gflops).toBeCloseTo(2 * 2 * 4 * 1 * 2);
  });

  it('on webgpu MFU is read against the adapter\'s fp32 peak where it is known, else reported as 0 (never the CPU\'s)', () => {
    const adapter = (device: string, software: boolean): AdapterFacts => ({
      vendor: software ? 'mesa' : 'nvidia', architecture: '', device, description: software ? 'llvmpipe' : 'NVIDIA 580', software, features: [],
      limits: { maxBufferSize: 0, maxStorageBufferBindingSize: 0, maxComputeWorkgroupStorageSize: 0, maxComputeInvocationsPerWorkgroup: 0 },
    });
    expect(devicePeak(machine('fpu avx2 avx512f fma'), adapter('nvidia-h200', false)).gflops).toBe(67_000);
    const unknown = devicePeak(machine('fpu avx2 avx512f fma'), adapter('llvmpipe-llvm-15', true));
    expect(unknown.gflops).toBe(0);
    expect(unknown.assumptions).toMatch(/no fp32 peak known for .*llvmpipe.*MFU is reported as 0/);
    expect(devicePeak(machine('fpu avx2 avx512f fma'), undefined).gflops).toBeCloseTo(2 * 2 * 16 * 2 * 2);
  });

  it('--json prints one row per config in the DESIGN.md shape; --plain rows say so', async () => {
    const args = ['bench', '--json', '--configs', 'peer-d128-l2', '--steps', '1', '--warmup', '1', '--decode-context', '8', '--decode-steps', '1', '--backend', 'wasm'];
    for (const plain of [false, true]) {
      const r = await cli(plain ? [...args, '--plain'] : args);
      expect(r.code).toBe(0);
      const rows = r.out.trim().split('\n').map((l) => JSON.parse(l));
      expect(rows).toHaveLength(1);
      expect(Object.keys(rows[0]).sort()).toEqual(['backend', 'config', 'decode_tokens_per_s', 'mfu', 'model_gflops_per_s', 'name', 'train_tokens_per_s']);
      expect(rows[0].name).toBe(plain ? 'peer-d128-l2/plain' : 'peer-d128-l2');
      expect(rows[0].train_tokens_per_s).toBeGreaterThan(0);
      expect(rows[0].backend).toBe('wasm');
      expect(r.err).toMatch(/correctness gate: fast paths agree/);
    }
  }, 120_000);

  it('bad input: one line, exit 2', async () => {
    for (const args of [['--configs', 'nope'], ['--steps', '0'], ['--plain', '--workers', '2']]) {
      const r = await cli(['bench', ...args]);
      expect(r.code).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    }
  });
});

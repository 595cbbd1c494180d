// The webgpu backend on Dawn: `auto` passes over a software adapter and says why; `--backend webgpu` forces
// it (how tests run it on lavapipe), and the manifest and every record name the adapter. Where Dawn finds
// no adapter at all the tests say why and skip; CI installs lavapipe, so there they must run.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backendLine, selectBackend } from '../harness/backend.ts';
import { startDawn, type AdapterFacts } from '../harness/webgpu.ts';
import { cli, tempDir } from './helpers.ts';

const facts: AdapterFacts | { problem: string } = await startDawn().catch((e: Error) => ({ problem: e.message }));
if ('problem' in facts) process.stderr.write(`webgpu is not tested here: ${facts.problem}\n`);
if ('problem' in facts && process.env.CI) throw new Error(`CI must test webgpu: ${facts.problem}`);
const adapter = 'problem' in facts ? null : facts;

describe.runIf(adapter)('the webgpu backend on Dawn', () => {
  it('auto takes a hardware adapter, and passes over a software one saying why', async () => {
    const b = await selectBackend('auto');
    if (adapter!.software) {
      expect(b.name).not.toBe('webgpu');
      expect(backendLine(b)).toMatch(/passed over webgpu: .* is a CPU implementation \(--backend webgpu forces it\)/);
    } else {
      expect(b.name).toBe('webgpu');
    }
  });

  it('--backend webgpu forces it; the manifest holds the adapter and its limits, every record its label', async () => {
    const out = join(tempDir(), 'run');
    const r = await cli(['run', 'perplexity', '--preset', 'tiny', '--arch', 'transformer', '--backend', 'webgpu', '--out', out, '--cache', tempDir()]);
    expect(r.code, r.err).toBe(0);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(manifest.backend).toBe('webgpu');
    expect(manifest.adapter.device).toBe(adapter!.device);
    expect(manifest.adapter.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
    const records = readFileSync(join(out, 'records.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(records.length).toBeGreaterThan(0);
    for (const rec of records) {
      expect(rec.backend).toBe('webgpu');
      expect(rec.adapter).toContain(adapter!.device);
    }
  });
});

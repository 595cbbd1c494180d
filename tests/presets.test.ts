// The presets: DESIGN.md's names stay and `list presets` shows smoke; every suite has settings for every preset
// (the efficiency suite would otherwise quietly fall back to small's); and the GPU presets' attention scores
// bind on WebGPU, whose maxStorageBufferBindingSize is 2 GiB - 4 B on the H200 (../shared/gpu/README.md).
import { describe, expect, it } from 'vitest';
import { PRESETS, PRESET_NAMES } from '../harness/presets.ts';
import { EFFICIENCY_SETTINGS } from '../suites/efficiency/settings.ts';
import { EXTRAPOLATION_SETTINGS } from '../suites/extrapolation/settings.ts';
import { FORGETTING_SETTINGS } from '../suites/forgetting/settings.ts';
import { ICL_SETTINGS } from '../suites/icl/settings.ts';
import { RETRIEVAL_SETTINGS } from '../suites/needle/settings.ts';
import { SELFIMPROVE_SETTINGS } from '../suites/selfimprove/settings.ts';
import { MQAR_STREAMS } from '../suites/tasks/mqar.ts';
import { cli } from './helpers.ts';

const MAX_BINDING = 2 ** 31 - 4;

describe('presets', () => {
  it("keeps DESIGN.md's names, adds smoke, and lists them all", async () => {
    expect(PRESET_NAMES).toEqual(expect.arrayContaining(['tiny', 'small', 'paper', 'smoke']));
    const r = await cli(['list', 'presets']);
    expect(r.code).toBe(0);
    for (const name of PRESET_NAMES) expect(r.out).toMatch(new RegExp(`^presets\\s+${name}\\s+\\S`, 'm'));
  });

  it('every suite has settings for every preset', () => {
    const settings = { EFFICIENCY_SETTINGS, EXTRAPOLATION_SETTINGS, FORGETTING_SETTINGS, ICL_SETTINGS, RETRIEVAL_SETTINGS, SELFIMPROVE_SETTINGS, MQAR_STREAMS };
    for (const [what, s] of Object.entries(settings)) expect(Object.keys(s).sort(), what).toEqual([...PRESET_NAMES].sort());
  });

  it.each(['paper', 'smoke'])("%s: a training or evaluation batch's fp32 attention scores [B,H,T,T] bind on WebGPU", (name) => {
    const p = PRESETS[name]!;
    const scores = (batch: number) => batch * p.size.heads * p.size.seq ** 2 * 4;
    expect(scores(p.train.batch)).toBeLessThanOrEqual(MAX_BINDING);
    expect(scores(p.evalBatch)).toBeLessThanOrEqual(MAX_BINDING);
  });
});

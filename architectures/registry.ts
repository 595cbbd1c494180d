// Architectures register themselves here; the harness looks them up by name and never names one.
import type { ArchitectureSpec } from './interface.ts';

const registry = new Map<string, ArchitectureSpec>();

export function registerArchitecture(spec: ArchitectureSpec): void {
  if (registry.has(spec.name)) throw new Error(`architecture ${spec.name} registered twice`);
  registry.set(spec.name, spec);
}

/** Every registered name, ablation rows included (what --arch accepts). */
export function architectureNames(): string[] {
  return [...registry.keys()];
}

/** The architectures proper, without ablation rows: what runs when none is named. */
export function mainArchitectureNames(): string[] {
  return [...registry.values()].filter((s) => !s.ablationOf).map((s) => s.name);
}

/**
 * An ablation row of `base`: the same architecture with `overrides` applied to its configuration (a
 * caller's overrides still win), registered under `name` so its records are labelled by it.
 */
export function ablationOf(base: ArchitectureSpec, name: string, ablation: string, overrides: Record<string, number | string | boolean>): ArchitectureSpec {
  return {
    ...base, name, ablationOf: base.name, ablation,
    description: `ablation of ${base.name}: ${ablation}`,
    configure: (size, o = {}) => ({ ...base.configure(size, { ...overrides, ...o }), arch: name }),
  };
}

export function getArchitecture(name: string): ArchitectureSpec | undefined {
  return registry.get(name);
}

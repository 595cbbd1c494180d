// Architectures register themselves here; the harness looks them up by name and never names one.
import type { ArchitectureSpec } from './interface.ts';

const registry = new Map<string, ArchitectureSpec>();

export function registerArchitecture(spec: ArchitectureSpec): void {
  if (registry.has(spec.name)) throw new Error(`architecture ${spec.name} registered twice`);
  registry.set(spec.name, spec);
}

export function architectureNames(): string[] {
  return [...registry.keys()];
}

export function getArchitecture(name: string): ArchitectureSpec | undefined {
  return registry.get(name);
}

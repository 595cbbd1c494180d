// Suites register themselves here; the CLI lists and runs them by name.
import type { Suite } from './interface.ts';

const registry = new Map<string, Suite>();

export function registerSuite(suite: Suite): void {
  if (registry.has(suite.name)) throw new Error(`suite ${suite.name} registered twice`);
  registry.set(suite.name, suite);
}

export const suiteNames = (): string[] => [...registry.keys()];
export const getSuite = (name: string): Suite | undefined => registry.get(name);

#!/usr/bin/env node
// Entry point: registers the TypeScript loader, then runs the CLI. Crashes print the stack only.
import { register } from 'tsx/esm/api';

register();
try {
  const { main } = await import('../cli/main.ts');
  process.exitCode = await main(process.argv);
} catch (e) {
  process.stderr.write(`archbench: internal error: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
}

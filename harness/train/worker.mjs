// Entry point of a data-parallel training worker (see parallel.ts). A worker thread does not inherit the
// TypeScript loader of the thread that started it (tsx under bin/archbench.js, vite-node under vitest),
// so it registers tsx itself, then runs the worker loop.
import { register } from 'tsx/esm/api';

register();
const { workerMain } = await import('./parallel.ts');
await workerMain();

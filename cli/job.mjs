// Entry point of a job process (cli/jobs.ts). A forked process does not inherit the TypeScript loader of
// its parent (tsx under bin/archbench.js, vite-node under vitest), so it registers tsx itself.
import { register } from 'tsx/esm/api';

register();
const { jobMain } = await import('./job.ts');
jobMain();

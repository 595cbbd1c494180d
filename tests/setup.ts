// Loaded before every test file (vitest.config.ts setupFiles): tests that use tfjs without choosing a
// backend through harness/backend.ts print no "install our node backend" banner either.
import { quietCpuBackend } from '../harness/backend.ts';

quietCpuBackend();

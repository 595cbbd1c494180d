// Loaded before every test file (vitest.config.ts): the tests choose their backends on purpose too, so
// tfjs's "install our node backend" banner stays off in their output (harness/quiet-cpu.ts).
import '../harness/quiet-cpu.ts';

// tfjs's CPU backend prints an "install our node backend" banner on its first tensor in Node.js. archbench
// chooses its backend on purpose and says which one ran, so that banner (and only it: every other tfjs
// warning still prints) is switched off. tfjs makes a new backend instance whenever it initialises one
// (the first tensor on the default backend, setBackend), so the cpu backend is registered again with a
// factory whose instances start quiet. Loaded by harness/backend.ts, and by the tests' setup file.
import * as tf from '@tensorflow/tfjs';

const make = tf.findBackendFactory('cpu');
if (make) {
  tf.removeBackend('cpu');
  tf.registerBackend('cpu', () => Object.assign(make() as tf.KernelBackend, { firstUse: false }), 1);
}

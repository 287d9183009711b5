// Runs the real training worker (dist/engine/training-worker.js) in a worker thread and, beside it, answers
// "how many TensorFlow.js tensors are alive" on a MessagePort of its own: both share the thread's tfjs
// engine, so memory/leak benchmarks can count what the worker leaves behind. Used by bench/memory.mjs.
import { workerData } from 'node:worker_threads';

const tf = await import('@tensorflow/tfjs');
await import('../dist/engine/training-worker.js');
workerData.port.on('message', () => {
  const { numTensors, numBytes } = tf.memory();
  workerData.port.postMessage({ numTensors, numBytes, backend: tf.getBackend() });
});

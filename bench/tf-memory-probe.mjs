// Runs the real training process (dist/engine/train/training-worker.js) with one addition: a request for the
// reserved model name "__bench_memory__" is also answered with TensorFlow.js's live tensor count, read from
// the same tfjs engine the training code uses, and the process's memory after a full garbage collection
// (forked with --expose-gc). bench/memory.mjs forks this instead of the training process
// to count what training leaves behind. The training code answers the request too (a harmless dispose).
// Both are static imports: the training code must be listening before the first request is read.
import * as tf from '@tensorflow/tfjs';
import '../dist/engine/train/training-worker.js';

const PROBE_MODEL = '__bench_memory__';

process.on('message', (req) => {
  if (req?.model !== PROBE_MODEL) return;
  globalThis.gc?.();
  const { numTensors, numBytes } = tf.memory();
  const { rss, heapUsed } = process.memoryUsage();
  process.send?.({ memoryFor: req.id, numTensors, numBytes, rss, heapUsed, backend: tf.getBackend() });
});

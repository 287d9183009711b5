// The fast inference path gives the same outputs as TensorFlow.js for the same weights, to 1e-5.
// It imports the compiled engine: the training worker is a separate JavaScript file that runs from dist/.
import t from 'tap';
import { TrainingWorker } from '../../dist/engine/train/trainer.js';
import { FastNetwork, layerSizes, layersFromWeights } from '../../dist/engine/infer/network.js';
import { freshWeights } from '../../dist/engine/train/init-weights.js';

t.test('fast path equals tfjs', async (t) => {
  const worker = new TrainingWorker();
  t.teardown(() => worker.close());
  for (const [inputs, hidden, outputs] of [
    [16, [64, 64], 4],
    [2, [], 1],
    [3, [8, 5, 7], 2],
  ] as [number, number[], number][]) {
    const sizes = layerSizes(inputs, hidden, outputs);
    await worker.build('m', { inputs, hidden, outputs, learningRate: 0.01 }, freshWeights(sizes));
    // Train a little so the biases are not zero and the comparison covers trained weights.
    const rows = 64;
    const xs = Float32Array.from({ length: rows * inputs * 4 }, () => Math.random() * 2 - 1);
    const ys = Float32Array.from({ length: rows * outputs * 4 }, () => Math.random() * 2 - 1);
    const round = await worker.train('m', xs, ys, rows, 4, 0.01);
    t.equal(round.steps, 4);
    const net = new FastNetwork({
      generation: 1,
      layers: layersFromWeights(round.weights, sizes),
      inMean: new Float32Array(inputs),
      inStd: new Float32Array(inputs).fill(1),
      outMean: new Float32Array(outputs),
      outStd: new Float32Array(outputs).fill(1),
    });
    const queries = Float32Array.from({ length: 100 * inputs }, () => Math.random() * 6 - 3);
    const expected = await worker.predict('m', queries, 100);
    const actual = new Float32Array(100 * outputs);
    net.predict(queries, 100, actual);
    let worst = 0;
    for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
    t.ok(worst <= 1e-5, `${sizes.join('-')}: largest difference ${worst.toExponential(2)}`);
  }
});

t.test('normalisation is applied around the network', async (t) => {
  const sizes = [1, 1];
  const net = new FastNetwork({
    generation: 1,
    layers: layersFromWeights([Float32Array.of(2), Float32Array.of(0.5)], sizes),
    inMean: Float32Array.of(10),
    inStd: Float32Array.of(2),
    outMean: Float32Array.of(100),
    outStd: Float32Array.of(4),
  });
  const out = new Float32Array(1);
  net.predict(Float32Array.of(14), 1, out);
  // ((14 - 10) / 2 * 2 + 0.5) * 4 + 100
  t.equal(out[0], 118);
});

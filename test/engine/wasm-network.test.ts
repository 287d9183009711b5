// The WebAssembly inference (native/dense-net.c) against FastNetwork's JavaScript loops: the same floats, bit for bit.
import t from 'tap';
import { FastNetwork, type DenseLayer, type Snapshot } from '../../src/engine/infer/network.js';
import { wasmNetworks } from '../../src/engine/infer/wasm-network.js';
import { xorshift32 } from '../helpers/prng.js';

const next = xorshift32(4242);
const unit = () => next() / 2 ** 32;
/** A weight or input: mostly small, some exact zeros (what a ReLU leaves), some -0, a few large. */
function value(): number {
  const r = unit();
  if (r < 0.1) return 0;
  if (r < 0.12) return -0;
  if (r < 0.15) return (unit() - 0.5) * 2e4;
  return unit() - 0.5;
}

function network(sizes: number[]): FastNetwork {
  const layers: DenseLayer[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    layers.push({
      inSize: sizes[i],
      outSize: sizes[i + 1],
      kernel: Float32Array.from({ length: sizes[i] * sizes[i + 1] }, value),
      bias: Float32Array.from({ length: sizes[i + 1] }, value),
      relu: i + 2 < sizes.length,
    });
  }
  const inputs = sizes[0];
  const outputs = sizes[sizes.length - 1];
  const snapshot: Snapshot = {
    generation: 1,
    layers,
    inMean: Float32Array.from({ length: inputs }, value),
    inStd: Float32Array.from({ length: inputs }, () => 0.01 + unit() * 3),
    outMean: Float32Array.from({ length: outputs }, value),
    outStd: Float32Array.from({ length: outputs }, () => 0.01 + unit() * 3),
  };
  return new FastNetwork(snapshot);
}

/**
 * Both paths on the same query, as float32s and as the doubles before that rounding (which would hide a sum
 * that differs in its last bits); the number of outputs whose bits differ.
 */
function differences(net: FastNetwork, rows: number, input = Float32Array.from({ length: rows * net.inputs }, value)): number {
  let differ = 0;
  for (const Out of [Float32Array, Float64Array]) {
    const wasm = new Out(rows * net.outputs).fill(NaN);
    const js = new Out(rows * net.outputs).fill(NaN);
    net.predict(input, rows, wasm);
    net.predictInJs(input, rows, js);
    for (let i = 0; i < js.length; i++) if (!Object.is(wasm[i], js[i])) differ++;
  }
  return differ;
}

/**
 * Where -0 reaches the outputs: biases and means -0, half the weights 0 and inputs 0 or -0, so a sum that adds a
 * zero product, or a ReLU that turns -0 into 0, shows in the sign of an output.
 */
function signedZeroNetwork(sizes: number[]): FastNetwork {
  const net = network(sizes);
  const s = net.snapshot;
  for (const l of s.layers) {
    l.bias.fill(-0);
    for (let i = 0; i < l.kernel.length; i++) if (next() % 2) l.kernel[i] = 0;
  }
  s.inMean.fill(-0);
  s.outMean.fill(-0);
  return new FastNetwork(s);
}

t.test('inference: the WebAssembly build gives the JavaScript loops’ floats for any shape', (t) => {
  if (!wasmNetworks()) return (t.fail('WebAssembly SIMD runs on Node 20: the module must load'), t.end());
  let outputs = 0;
  let differ = 0;
  const nets: FastNetwork[] = [];
  for (let n = 0; n < 300; n++) {
    // One to four layers, widths 1-40 (every remainder of the eight-wide loop), sometimes the real 16-64-64-4.
    const sizes = n % 10 === 0 ? [16, 64, 64, 4] : Array.from({ length: 2 + (next() % 4) }, () => 1 + (next() % 40));
    const net = network(sizes);
    nets.push(net);
    const rows = 1 + (next() % 5);
    differ += differences(net, rows);
    outputs += rows * net.outputs;
  }
  // Networks queried again after others came between: still resident, or copied in again.
  for (const net of nets.slice(0, 50)) differ += differences(net, 1);
  t.equal(differ, 0, `${outputs} outputs of 300 networks, bit for bit, as float32s and as doubles`);
  let zeros = 0;
  for (let n = 0; n < 100; n++) {
    const net = signedZeroNetwork(Array.from({ length: 2 + (next() % 3) }, () => 1 + (next() % 20)));
    const input = Float32Array.from({ length: 3 * net.inputs }, () => (next() % 3 === 0 ? value() : next() % 2 ? 0 : -0));
    zeros += differences(net, 3, input);
  }
  t.equal(zeros, 0, '100 networks where -0 reaches the outputs: the same signs');
  t.end();
});

t.test('inference: a full arena starts afresh, and networks come back at their next query; one too big for it is answered in JavaScript', (t) => {
  // 1 MB each: sixteen fill the 16 MiB arena, so the seventeenth starts it afresh.
  const nets = Array.from({ length: 20 }, () => network([8, 512, 512, 2]));
  let differ = 0;
  for (let round = 0; round < 2; round++) for (const net of nets) differ += differences(net, 2);
  t.equal(differ, 0, 'twenty 1 MB networks in turn, twice round');
  const huge = network([4, 2100, 2100, 1]); // 17.7 MB of weights
  t.equal(differences(huge, 1), 0, 'a network bigger than the arena: the same floats (from the JavaScript loops)');
  t.equal(differences(nets[0], 1), 0, 'and the others still answer');
  t.end();
});

// Owns the weight snapshot and the fast inference path: a dense ReLU network evaluated in WebAssembly
// (wasm-network.ts) or with plain typed-array loops, so the FUSE thread never calls into TensorFlow.js.
import { widestLayer, type DenseLayer, type Snapshot } from './shape.js';
import { wasmNetworks, type Resident } from './wasm-network.js';

export { layerSizes } from './shape.js';
export type { DenseLayer, Snapshot } from './shape.js';

/** Turn the flat weight list TensorFlow.js returns (kernel, bias, kernel, bias …) into layers. */
export function layersFromWeights(weights: Float32Array[], sizes: number[]): DenseLayer[] {
  const layers: DenseLayer[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    const kernel = weights[2 * i];
    const bias = weights[2 * i + 1];
    if (!kernel || !bias || kernel.length !== sizes[i] * sizes[i + 1] || bias.length !== sizes[i + 1]) {
      throw new Error(`weights do not match layer sizes ${sizes.join('-')}`);
    }
    layers.push({ inSize: sizes[i], outSize: sizes[i + 1], kernel, bias, relu: i + 2 < sizes.length });
  }
  return layers;
}

/** A layer as inference reads it: doubles, so the inner loop converts nothing. */
interface WideLayer {
  inSize: number;
  outSize: number;
  kernel: Float64Array;
  bias: Float64Array;
  relu: boolean;
}

/** What the JavaScript loops read: the layers as doubles, and two scratch rows of the widest layer's width. */
interface JsLoops {
  wide: WideLayer[];
  a: Float64Array;
  b: Float64Array;
}

/**
 * Evaluate `rows` input rows (already divided by scale) into `out`, in raw output units.
 * Scratch buffers are reused across calls so a query allocates nothing but its result. Sums are kept in doubles
 * (more exact than tfjs's float32, well inside the 1e-5 the fast-path test allows). The JavaScript loops read the
 * weights as doubles, copied at their first call (with the loop over outputs unrolled by 8, a 16-64-64-4 query
 * took about 40 % less time than float32 sums did, docs/ceilings-passes.md, "transactions"); where the WebAssembly
 * build serves, that copy (twice the weights' size) is never made.
 */
export class FastNetwork {
  /** The JavaScript loops' doubles and scratch rows, made at their first call. */
  private loops: JsLoops | undefined;
  /** Where the WebAssembly build holds these weights (wasm-network.ts), once a query has copied them there. */
  private resident: Resident | undefined;

  constructor(readonly snapshot: Snapshot) {}

  get inputs(): number {
    return this.snapshot.layers[0].inSize;
  }
  get outputs(): number {
    return this.snapshot.layers[this.snapshot.layers.length - 1].outSize;
  }

  private makeLoops(): JsLoops {
    const { layers } = this.snapshot;
    const widest = widestLayer(layers);
    const wide = layers.map((l) => ({ ...l, kernel: Float64Array.from(l.kernel), bias: Float64Array.from(l.bias) }));
    return { wide, a: new Float64Array(widest), b: new Float64Array(widest) };
  }

  /**
   * `rows` rows of `input` into `out`: in WebAssembly (native/dense-net.c, the same numbers) where it runs. A
   * Float64Array takes the outputs before their rounding to float32 (tests compare the paths on them).
   */
  predict(input: Float32Array, rows: number, out: Float32Array | Float64Array): void {
    const wasm = wasmNetworks();
    const resident = wasm?.predict(this.snapshot, this.resident, input, rows, out);
    if (resident) this.resident = resident;
    else this.predictInJs(input, rows, out);
  }

  /** The reference (and the fall-back where WebAssembly SIMD cannot run, or for a network too big for its arena). */
  predictInJs(input: Float32Array, rows: number, out: Float32Array | Float64Array): void {
    const { inMean, inStd, outMean, outStd } = this.snapshot;
    const loops = (this.loops ??= this.makeLoops());
    const layers = loops.wide;
    const nIn = this.inputs;
    const nOut = this.outputs;
    for (let r = 0; r < rows; r++) {
      let cur = loops.a;
      let next = loops.b;
      for (let i = 0; i < nIn; i++) cur[i] = (input[r * nIn + i] - inMean[i]) / inStd[i];
      for (let l = 0; l < layers.length; l++) {
        const { inSize, outSize, kernel, bias, relu } = layers[l];
        next.set(bias);
        for (let i = 0; i < inSize; i++) {
          const x = cur[i];
          if (x === 0) continue; // after a ReLU about half the inputs are
          let k = i * outSize;
          let j = 0;
          for (; j + 7 < outSize; j += 8, k += 8) {
            next[j] += x * kernel[k];
            next[j + 1] += x * kernel[k + 1];
            next[j + 2] += x * kernel[k + 2];
            next[j + 3] += x * kernel[k + 3];
            next[j + 4] += x * kernel[k + 4];
            next[j + 5] += x * kernel[k + 5];
            next[j + 6] += x * kernel[k + 6];
            next[j + 7] += x * kernel[k + 7];
          }
          for (; j < outSize; j++, k++) next[j] += x * kernel[k];
        }
        if (relu) for (let j = 0; j < outSize; j++) if (next[j] < 0) next[j] = 0;
        const t = cur;
        cur = next;
        next = t;
      }
      for (let j = 0; j < nOut; j++) out[r * nOut + j] = cur[j] * outStd[j] + outMean[j];
    }
  }
}

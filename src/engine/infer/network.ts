// Owns the weight snapshot and the fast inference path: a dense ReLU network evaluated with plain
// Float32Array loops, so the FUSE thread never calls into TensorFlow.js.
import type { Normalisation } from './shape.js';

export { layerSizes } from './shape.js';

export interface DenseLayer {
  inSize: number;
  outSize: number;
  /** Row-major [inSize][outSize], the layout TensorFlow.js uses for a dense kernel. */
  kernel: Float32Array;
  bias: Float32Array;
  relu: boolean;
}

/** Everything inference needs, frozen together: the weights and the normalisation they were trained with. */
export interface Snapshot extends Normalisation {
  generation: number;
  layers: DenseLayer[];
}

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

/**
 * Evaluate `rows` input rows (already divided by scale) into `out`, in raw output units.
 * Scratch buffers are reused across calls so a query allocates nothing but its result.
 */
export class FastNetwork {
  private a: Float32Array;
  private b: Float32Array;

  constructor(readonly snapshot: Snapshot) {
    const widest = Math.max(...snapshot.layers.map((l) => Math.max(l.inSize, l.outSize)));
    this.a = new Float32Array(widest);
    this.b = new Float32Array(widest);
  }

  get inputs(): number {
    return this.snapshot.layers[0].inSize;
  }
  get outputs(): number {
    return this.snapshot.layers[this.snapshot.layers.length - 1].outSize;
  }

  predict(input: Float32Array, rows: number, out: Float32Array): void {
    const { layers, inMean, inStd, outMean, outStd } = this.snapshot;
    const nIn = this.inputs;
    const nOut = this.outputs;
    for (let r = 0; r < rows; r++) {
      let cur = this.a;
      let next = this.b;
      for (let i = 0; i < nIn; i++) cur[i] = (input[r * nIn + i] - inMean[i]) / inStd[i];
      for (const layer of layers) {
        const { inSize, outSize, kernel, bias, relu } = layer;
        for (let j = 0; j < outSize; j++) next[j] = bias[j];
        for (let i = 0; i < inSize; i++) {
          const x = cur[i];
          if (x === 0) continue;
          const rowBase = i * outSize;
          for (let j = 0; j < outSize; j++) next[j] += x * kernel[rowBase + j];
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

// Owns the types every room shares about a network: its layer widths, its layers, and the column statistics its
// inputs and outputs are standardised with (what training computes, inference applies and the store saves).

export interface NetworkShape {
  inputs: number;
  hidden: number[];
  outputs: number;
}

/** Per-column mean and standard deviation of the inputs and of the outputs, in raw units. */
export interface Normalisation {
  inMean: Float32Array;
  inStd: Float32Array;
  outMean: Float32Array;
  outStd: Float32Array;
}

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

/** The width of a network's widest layer (inputs or outputs): the room one row of activations needs. */
export function widestLayer(layers: readonly DenseLayer[]): number {
  return Math.max(...layers.map((l) => Math.max(l.inSize, l.outSize)));
}

/** Mean 0, deviation 1: what a network has before it has seen any data. */
export function identityNormalisation(inputs: number, outputs: number): Normalisation {
  return {
    inMean: new Float32Array(inputs),
    inStd: new Float32Array(inputs).fill(1),
    outMean: new Float32Array(outputs),
    outStd: new Float32Array(outputs).fill(1),
  };
}

/** Layer widths from input to output. */
export function layerSizes(inputs: number, hidden: number[], outputs: number): number[] {
  return [inputs, ...hidden, outputs];
}

// Owns fresh network weights: Glorot-uniform kernels and zero biases, made on the FUSE thread so a
// model can answer the moment it is initialised, before the training worker has even loaded.

export function freshWeights(sizes: number[], random: () => number = Math.random): Float32Array[] {
  const weights: Float32Array[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    const fanIn = sizes[i];
    const fanOut = sizes[i + 1];
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    const kernel = new Float32Array(fanIn * fanOut);
    for (let k = 0; k < kernel.length; k++) kernel[k] = (random() * 2 - 1) * limit;
    weights.push(kernel, new Float32Array(fanOut));
  }
  return weights;
}

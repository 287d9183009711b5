// Owns the TensorFlow.js LayersModel format for one model: writing model.json + weights from a
// snapshot, and reading one written elsewhere back, refusing shapes that do not match the config.
import { fail } from '../../errors.js';
import type { Snapshot } from '../infer/network.js';
import type { NetworkShape, Normalisation } from '../infer/shape.js';
import { VERSION } from '../../version.js';

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
}

/** model.json for the snapshot's network, whose single weights file is called `weightsPath`. */
export function toModelJson(name: string, snapshot: Snapshot, weightsPath: string): string {
  const layers = snapshot.layers.map((layer, i) => ({
    class_name: 'Dense',
    config: {
      units: layer.outSize,
      activation: layer.relu ? 'relu' : 'linear',
      use_bias: true,
      kernel_initializer: { class_name: 'GlorotUniform', config: { seed: null } },
      bias_initializer: { class_name: 'Zeros', config: {} },
      kernel_regularizer: null,
      bias_regularizer: null,
      activity_regularizer: null,
      kernel_constraint: null,
      bias_constraint: null,
      name: `dense_${i + 1}`,
      trainable: true,
      dtype: 'float32',
      ...(i === 0 ? { batch_input_shape: [null, layer.inSize] } : {}),
    },
  }));
  const weights: WeightSpec[] = snapshot.layers.flatMap((layer, i) => [
    { name: `dense_${i + 1}/kernel`, shape: [layer.inSize, layer.outSize], dtype: 'float32' },
    { name: `dense_${i + 1}/bias`, shape: [layer.outSize], dtype: 'float32' },
  ]);
  return JSON.stringify(
    {
      format: 'layers-model',
      generatedBy: `mlproxy ${VERSION}`,
      convertedBy: null,
      modelTopology: { class_name: 'Sequential', config: { name: `mlproxy_${name}`, layers }, keras_version: 'tfjs-layers 4.22.0', backend: 'tensor_flow.js' },
      weightsManifest: [{ paths: [weightsPath], weights }],
      // Inputs are standardised before the first layer and outputs restored after the last; a reader
      // that ignores this metadata gets the network's standardised outputs.
      userDefinedMetadata: {
        mlproxy: {
          generation: snapshot.generation,
          inMean: [...snapshot.inMean],
          inStd: [...snapshot.inStd],
          outMean: [...snapshot.outMean],
          outStd: [...snapshot.outStd],
        },
      },
    },
    null,
    1,
  );
}

/** The weights file: every kernel and bias, in manifest order, as little-endian float32. */
export function toWeightsBin(snapshot: Snapshot): Buffer {
  const parts = snapshot.layers.flatMap((l) => [l.kernel, l.bias]);
  return Buffer.concat(parts.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)));
}

/**
 * Read a LayersModel: a Sequential stack of Dense layers (ReLU hidden, linear output) whose sizes
 * equal `shape`. `readWeights(path)` loads one file named in the manifest.
 */
export async function fromModelJson(
  text: string,
  shape: NetworkShape,
  readWeights: (path: string) => Promise<Buffer>,
): Promise<{ weights: Float32Array[]; normalisation: Normalisation | undefined }> {
  let doc: {
    modelTopology?: {
      config?: { layers?: { class_name: string; config: Record<string, unknown> }[] } | { class_name: string; config: Record<string, unknown> }[];
    };
    weightsManifest?: { paths: string[]; weights: WeightSpec[] }[];
    userDefinedMetadata?: { mlproxy?: Record<string, number[]> };
  };
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return fail('EINVAL', `load: model.json is not JSON: ${(err as Error).message}`);
  }
  if (!isObject(doc)) fail('EINVAL', 'load: model.json is not a JSON object');
  const cfg = isObject(doc.modelTopology) ? doc.modelTopology.config : undefined;
  const layers =
    (Array.isArray(cfg) ? cfg : isObject(cfg) ? cfg.layers : undefined) ??
    fail('EINVAL', 'load: model.json has no modelTopology layers (a LayersModel is needed)');
  // model.json comes from elsewhere: check every part's shape before using it, so any file is EINVAL, never a crash.
  if (!Array.isArray(layers) || !layers.every((l) => isObject(l) && typeof l.class_name === 'string' && isObject(l.config))) {
    fail('EINVAL', 'load: modelTopology layers must be objects with class_name and config');
  }
  const dense = layers.filter((l) => l.class_name !== 'InputLayer');
  const expected = [...shape.hidden, shape.outputs];
  const found = dense.map((l) => (l.class_name === 'Dense' ? Number(l.config.units) : `${l.class_name}`));
  if (dense.some((l) => l.class_name !== 'Dense') || found.join(',') !== expected.join(',')) {
    fail('EINVAL', `load: layers ${found.join(',')} do not match config hidden=${shape.hidden.join(',') || 'none'} outputs=${shape.outputs}`);
  }
  dense.forEach((l, i) => {
    const want = i === dense.length - 1 ? 'linear' : 'relu';
    const act = l.config.activation ?? 'linear';
    if (act !== want) fail('EINVAL', `load: layer ${i + 1} has activation ${String(act)}, mlproxy networks use ${want} there`);
  });
  const manifest = doc.weightsManifest ?? fail('EINVAL', 'load: model.json has no weightsManifest');
  const wellFormed =
    Array.isArray(manifest) &&
    manifest.every(
      (g) =>
        isObject(g) &&
        Array.isArray(g.paths) &&
        g.paths.every((p) => typeof p === 'string') &&
        Array.isArray(g.weights) &&
        g.weights.every(
          (w) =>
            isObject(w) &&
            typeof w.name === 'string' &&
            typeof w.dtype === 'string' &&
            Array.isArray(w.shape) &&
            w.shape.every((d) => Number.isSafeInteger(d) && d >= 0),
        ),
    );
  if (!wellFormed) fail('EINVAL', 'load: weightsManifest must be a list of {paths: [names], weights: [{name, shape, dtype}]}');
  const weights: Float32Array[] = [];
  for (const group of manifest) {
    const data = Buffer.concat(await Promise.all(group.paths.map((p) => readWeights(p))));
    let at = 0;
    for (const spec of group.weights) {
      if (spec.dtype !== 'float32') fail('EINVAL', `load: weight ${spec.name} is ${spec.dtype}, only float32 is supported`);
      const count = spec.shape.reduce((a, b) => a * b, 1);
      if (at + count * 4 > data.length) fail('EINVAL', `load: weight files end before ${spec.name}`);
      const values = new Float32Array(count);
      Buffer.from(values.buffer).set(data.subarray(at, at + count * 4));
      weights.push(values);
      at += count * 4;
    }
  }
  const sizes = [shape.inputs, ...expected];
  if (weights.length !== 2 * (sizes.length - 1))
    fail('EINVAL', `load: ${weights.length} weight tensors, a ${sizes.join('-')} network has ${2 * (sizes.length - 1)}`);
  for (let i = 0; i + 1 < sizes.length; i++) {
    if (weights[2 * i].length !== sizes[i] * sizes[i + 1] || weights[2 * i + 1].length !== sizes[i + 1]) {
      fail('EINVAL', `load: layer ${i + 1} weights do not fit ${sizes[i]} inputs and ${sizes[i + 1]} units (inputs=${shape.inputs} in config)`);
    }
  }
  const meta = isObject(doc.userDefinedMetadata) ? doc.userDefinedMetadata.mlproxy : undefined;
  const numbers = (a: unknown, n: number) => Array.isArray(a) && a.length === n && a.every((v) => typeof v === 'number');
  const normalisation =
    isObject(meta) &&
    numbers(meta.inMean, shape.inputs) &&
    numbers(meta.inStd, shape.inputs) &&
    numbers(meta.outMean, shape.outputs) &&
    numbers(meta.outStd, shape.outputs)
      ? {
          inMean: Float32Array.from(meta.inMean),
          inStd: Float32Array.from(meta.inStd),
          outMean: Float32Array.from(meta.outMean),
          outStd: Float32Array.from(meta.outStd),
        }
      : undefined;
  return { weights, normalisation };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

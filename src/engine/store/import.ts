// Owns reading a LayersModel from a model's import directory (<state-dir>/import/NAME/).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fail } from '../../errors.js';
import { fromModelJson } from './modelfile.js';
import type { ModelConfig } from '../session/config.js';

export async function readImport(dir: string, config: ModelConfig) {
  const text = await readFile(join(dir, 'model.json'), 'utf8').catch(() =>
    fail('ENOENT', `load: no ${join(dir, 'model.json')} (copy a TensorFlow.js LayersModel there)`),
  );
  return fromModelJson(text, config, (p) => {
    if (p.includes('/') || p.startsWith('.')) fail('EINVAL', `load: weights path "${p}" must be a plain file name next to model.json`);
    return readFile(join(dir, p)).catch(() => fail('ENOENT', `load: model.json names ${p}, which is not in ${dir}`));
  });
}

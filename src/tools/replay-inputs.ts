// Owns what `mlproxy replay` reads from: each FILE (or - for standard input) checked to exist, with its
// size when known (for progress) and the input format it will be read with.
import { fstatSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { formatFor, type SampleFormat } from './readers.js';
import { ToolError, errnoOf } from './mount.js';

export interface Input {
  path: string;
  label: string;
  size: number | undefined;
  format: SampleFormat;
}

export async function describeInputs(files: string[], format: string): Promise<Input[]> {
  const inputs: Input[] = [];
  for (const path of files) {
    if (path === '-') {
      let size: number | undefined;
      try {
        const st = fstatSync(0);
        size = st.isFile() ? st.size : undefined;
      } catch {}
      inputs.push({ path, label: 'stdin', size, format: formatFor(format, '') });
      continue;
    }
    let st;
    try {
      st = await stat(path);
    } catch (err) {
      const code = errnoOf(err);
      throw new ToolError(code === 'ENOENT' ? `${path}: no such file` : `${path}: ${code ?? ''} ${(err as Error).message}`);
    }
    if (st.isDirectory()) throw new ToolError(`${path}: is a directory`);
    inputs.push({ path, label: path, size: st.isFile() ? st.size : undefined, format: formatFor(format, path) });
  }
  return inputs;
}

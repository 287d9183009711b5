// Owns one replay batch: the checked sample lines waiting to be written with where each came from, and
// writing them as one open/write/close of the dataset file, which the server stores whole or not at all.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { ModelFiles } from './mount.js';

/** Samples checked and waiting to be written as one batch, with where each came from. */
export class Batch {
  lines: string[] = [];
  inputs: number[] = [];
  positions: number[] = [];
  bytes = 0;
  constructor(readonly number: number) {}
  get size(): number {
    return this.lines.length;
  }
  push(line: string, input: number, position: number): void {
    this.lines.push(line);
    this.inputs.push(input);
    this.positions.push(position);
    this.bytes += line.length + 1;
  }
}

export async function writeBatch(files: ModelFiles, batch: Batch): Promise<void> {
  const fh = await open(files.path('dataset'), constants.O_WRONLY);
  try {
    await fh.writeFile(batch.lines.join('\n') + '\n');
  } catch (err) {
    await fh.close().catch(() => {});
    throw err;
  }
  await fh.close(); // the batch is stored (or refused) here
}

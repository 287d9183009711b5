// Builds binary (MLDS) dataset batches for tests: the 16-byte header of docs/protocol.md, then the int32 records.
import { BINARY_DATASET } from '../../src/protocol.js';

/** A batch of `values` (row-major, inputs then outputs per record) as little-endian int32s after the header. */
export function mldsBatch(inputs: number, outputs: number, values: ArrayLike<number>): Buffer {
  const buf = Buffer.alloc(BINARY_DATASET.headerBytes + values.length * 4);
  buf.writeUInt32LE(BINARY_DATASET.magic, 0);
  buf.writeUInt16LE(BINARY_DATASET.version, 4);
  buf.writeUInt16LE(BINARY_DATASET.headerBytes, 6);
  buf.writeUInt16LE(inputs, 8);
  buf.writeUInt16LE(outputs, 10);
  for (let i = 0; i < values.length; i++) buf.writeInt32LE(values[i], BINARY_DATASET.headerBytes + i * 4);
  return buf;
}

// Owns what every replay input format shares: the shape of a format (a byte stream in, chunks of dataset
// text lines out, each with its source position), how positions are named, and the error for a bad record.
import { ToolError, type Shape } from './mount.js';

/** A malformed input record; the message starts with its position (FILE:LINE). */
export class InputError extends ToolError {}

export interface SampleChunk {
  /** Samples as dataset text lines in the model's units (no newline), checked as the server checks them. */
  lines: string[];
  /** Where each sample came from: its line (or record) number in the source. */
  positions: number[];
  /** Bytes of the source consumed to produce this chunk. */
  bytes: number;
}

export interface ReadContext {
  /** How messages name the source: the file name, or "stdin". */
  source: string;
  shape: Shape;
  /** A problem that does not stop the replay. */
  warn: (message: string) => void;
}

export interface SampleFormat {
  name: string;
  /** What a position counts: lines (messages say FILE:LINE) or binary records (FILE:record N). */
  unit: 'line' | 'record';
  read(input: AsyncIterable<Buffer | string>, ctx: ReadContext): AsyncIterable<SampleChunk>;
}

export function where(source: string, unit: 'line' | 'record', position: number): string {
  return unit === 'line' ? `${source}:${position}` : `${source}:record ${position}`;
}

export function describeWidth(shape: Shape): string {
  return `${shape.inputs + shape.outputs} numbers (${shape.inputs} input${shape.inputs === 1 ? '' : 's'} + ${shape.outputs} output${shape.outputs === 1 ? '' : 's'})`;
}

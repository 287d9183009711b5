// Owns the pure wire formats: dataset streams (text and binary), recommendation inputs and outputs, feedback lines.
import { fail } from '../../errors.js';
import { BINARY_DATASET, MAX_ABS_VALUE, isKeyword, type FeedbackSource, FEEDBACK_SOURCES } from '../../protocol.js';

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A number as the protocol accepts it: plain decimal or exponent notation, finite, within ±MAX_ABS_VALUE. */
export function parseNumber(token: string, where: string): number {
  if (!NUMBER.test(token)) fail('EINVAL', `${where}: "${token.slice(0, 32)}" is not a number`);
  const value = Number(token);
  if (!Number.isFinite(value) || Math.abs(value) > MAX_ABS_VALUE) fail('EINVAL', `${where}: ${token} is beyond ±${MAX_ABS_VALUE}`);
  return value;
}

/** Split a line into exactly `count` numbers divided by `scale`, writing them to `out` at `at`. */
function parseRow(line: string, count: number, scale: number, out: Float32Array, at: number, where: string): void {
  const tokens = line.split(/[ \t]+/).filter((t) => t !== '');
  if (tokens.length !== count) fail('EINVAL', `${where}: expected ${count} numbers, got ${tokens.length}`);
  for (let i = 0; i < count; i++) out[at + i] = parseNumber(tokens[i], where) / scale;
}

/** A growable Float32Array of fixed-width rows. */
class RowBuilder {
  private data = new Float32Array(1024);
  length = 0;
  constructor(readonly width: number) {}
  reserve(rows: number): number {
    const need = this.length + rows * this.width;
    if (need > this.data.length) {
      const next = new Float32Array(Math.max(need, this.data.length * 2));
      next.set(this.data.subarray(0, this.length));
      this.data = next;
    }
    const at = this.length;
    this.length = need;
    return at;
  }
  /** The backing array; valid until the next reserve. */
  get buffer(): Float32Array {
    return this.data;
  }
  rows(): Float32Array {
    return this.data.slice(0, this.length);
  }
  get count(): number {
    return this.length / this.width;
  }
  /** Drop all but the newest `rows` rows; returns how many went. */
  keepNewest(rows: number): number {
    const excess = this.count - rows;
    if (excess <= 0) return 0;
    this.data.copyWithin(0, excess * this.width, this.length);
    this.length = rows * this.width;
    return excess;
  }
}

/**
 * How much of one batch the decoder may hold: a buffer keeps only its newest `rows` samples anyway,
 * so with `drop` older ones go as the batch streams in (one file never held open grows the server
 * without bound); with `reject` a batch past `rows` fails at once with ENOSPC.
 */
export interface BatchLimit {
  rows: number;
  excess: 'drop' | 'reject';
}

/**
 * Decodes one open file's dataset stream, chunk by chunk, into whole samples.
 * Text or binary is decided by the first bytes; a line or record may straddle chunks.
 */
export class DatasetDecoder {
  private format: 'unknown' | 'text' | 'binary' = 'unknown';
  private pending = Buffer.alloc(0);
  private line = 0;
  private readonly rowsOut: RowBuilder;

  /** Samples decoded but dropped already, because the batch exceeded its limit. */
  dropped = 0;

  constructor(
    private readonly inputs: number,
    private readonly outputs: number,
    private readonly scale: number,
    private readonly limit: BatchLimit = { rows: Infinity, excess: 'drop' },
  ) {
    this.rowsOut = new RowBuilder(inputs + outputs);
  }

  /** Samples decoded so far, kept or dropped. */
  get samples(): number {
    return this.rowsOut.count + this.dropped;
  }

  private enforceLimit(): void {
    const { rows, excess } = this.limit;
    if (this.rowsOut.count <= rows) return;
    if (excess === 'reject') fail('ENOSPC', `dataset: buffer full (overflow=reject): batch exceeds the ${rows} free samples`);
    // Trim only once twice the limit has built up, so trimming costs O(1) per sample over time.
    if (this.rowsOut.count >= 2 * rows) this.dropped += this.rowsOut.keepNewest(rows);
  }

  rows(): Float32Array {
    return this.rowsOut.rows();
  }

  /** Decode a chunk; throws EINVAL on the first malformed sample. */
  feed(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : Buffer.from(chunk);
    if (this.format === 'unknown') {
      if (this.pending.length < 4 && this.pending[0] === 0x4d) return; // could still become the binary magic
      this.format = this.pending.length >= 4 && this.pending.readUInt32LE(0) === BINARY_DATASET.magic ? 'binary' : 'text';
    }
    if (this.format === 'text') this.decodeText(false);
    else this.decodeBinary();
    this.enforceLimit();
  }

  /** The stream ended (close or fsync): a trailing line without newline counts, a partial record does not. */
  finish(): void {
    if (this.format === 'text' || (this.format === 'unknown' && this.pending.length)) {
      this.format = 'text';
      this.decodeText(true);
    } else if (this.format === 'binary' && this.pending.length) {
      fail('EINVAL', `dataset: binary stream ends inside a record (${this.pending.length} bytes left over)`);
    }
    this.enforceLimit();
    this.dropped += this.rowsOut.keepNewest(this.limit.rows);
  }

  private decodeText(final: boolean): void {
    const text = this.pending.toString('latin1');
    const lines = text.split('\n');
    const rest = final ? '' : (lines.pop() as string);
    const width = this.inputs + this.outputs;
    for (const raw of lines) {
      this.line++;
      const hash = raw.indexOf('#');
      const line = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
      if (line === '') continue;
      const at = this.rowsOut.reserve(1);
      parseRow(line, width, this.scale, this.rowsOut.buffer, at, `dataset line ${this.line}`);
    }
    this.pending = Buffer.from(rest, 'latin1');
    if (this.pending.length > 65536) fail('EINVAL', `dataset line ${this.line + 1}: longer than 65536 bytes`);
  }

  private headerSeen = false;

  private decodeBinary(): void {
    if (!this.headerSeen) {
      if (this.pending.length < BINARY_DATASET.headerBytes) return;
      const h = this.pending;
      const version = h.readUInt16LE(4);
      const headerBytes = h.readUInt16LE(6);
      const inputs = h.readUInt16LE(8);
      const outputs = h.readUInt16LE(10);
      const reserved = h.readUInt32LE(12);
      if (version !== BINARY_DATASET.version) fail('EINVAL', `dataset: binary version ${version}, this server speaks ${BINARY_DATASET.version}`);
      if (headerBytes !== BINARY_DATASET.headerBytes) fail('EINVAL', `dataset: binary header_bytes ${headerBytes}, expected ${BINARY_DATASET.headerBytes}`);
      if (inputs !== this.inputs || outputs !== this.outputs) {
        fail('EINVAL', `dataset: binary header says ${inputs} inputs + ${outputs} outputs, config has ${this.inputs} + ${this.outputs}`);
      }
      if (reserved !== 0) fail('EINVAL', 'dataset: binary header reserved field is not 0');
      this.pending = this.pending.subarray(BINARY_DATASET.headerBytes);
      this.headerSeen = true;
    }
    const width = this.inputs + this.outputs;
    const recordBytes = width * 4;
    const records = Math.floor(this.pending.length / recordBytes);
    if (records > 0) {
      const at = this.rowsOut.reserve(records);
      const out = this.rowsOut.buffer;
      for (let i = 0; i < records * width; i++) {
        const raw = this.pending.readInt32LE(i * 4);
        if (Math.abs(raw) > MAX_ABS_VALUE) fail('EINVAL', `dataset: binary record ${this.samples - records + Math.floor(i / width) + 1} value ${raw} is beyond ±${MAX_ABS_VALUE}`);
        out[at + i] = raw / this.scale;
      }
      this.pending = Buffer.from(this.pending.subarray(records * recordBytes));
    }
  }
}

/** Parse a write to `recommendation`: one line of `inputs` numbers per query. */
export function parseQueries(text: string, inputs: number, scale: number, maxLines: number): Float32Array {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  if (lines.length === 0) fail('EINVAL', 'recommendation: empty write');
  if (lines.length > maxLines) fail('EINVAL', `recommendation: at most ${maxLines} queries per write, got ${lines.length}`);
  const out = new Float32Array(lines.length * inputs);
  lines.forEach((line, i) => parseRow(line, inputs, scale, out, i * inputs, `recommendation line ${i + 1}`));
  return out;
}

/** Format output rows: integers times `scale` when the model is fixed-point, else short decimals. */
export function formatRows(values: ArrayLike<number>, width: number, scale: number): string {
  let text = '';
  for (let r = 0; r < values.length / width; r++) {
    const row: string[] = [];
    for (let c = 0; c < width; c++) {
      const v = values[r * width + c];
      row.push(scale === 1 ? String(Number(v.toPrecision(7))) : String(Math.round(v * scale)));
    }
    text += row.join(' ') + '\n';
  }
  return text;
}

export interface FeedbackLine {
  source: FeedbackSource;
  /** The efficiency, or for `fallback` the count of fallbacks. */
  efficiency: number;
  /** The outputs that would have been right, already divided by scale; absent when not given. */
  corrected?: Float32Array;
}

/** Parse a write to `feedback`; all lines or none. */
export function parseFeedback(text: string, outputs: number, scale: number): FeedbackLine[] {
  const result: FeedbackLine[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const where = `feedback line ${i + 1}`;
    const [word, ...rest] = line.split(/[ \t]+/);
    if (!isKeyword(FEEDBACK_SOURCES, word)) fail('EINVAL', `${where}: "${word.slice(0, 32)}" is not one of ${FEEDBACK_SOURCES.join(' ')}`);
    if (word === 'critical') {
      if (rest.length) fail('EINVAL', `${where}: critical takes no values`);
      result.push({ source: word, efficiency: 0 });
      return;
    }
    if (word === 'fallback') {
      if (rest.length !== 1 || !/^[0-9]{1,9}$/.test(rest[0])) fail('EINVAL', `${where}: expected "fallback <count>", a whole number`);
      result.push({ source: word, efficiency: Number(rest[0]) });
      return;
    }
    if (rest.length !== 1 && rest.length !== 1 + outputs) {
      fail('EINVAL', `${where}: expected "${word} <efficiency>" optionally followed by ${outputs} output values`);
    }
    const efficiency = parseNumber(rest[0], where);
    let corrected: Float32Array | undefined;
    if (rest.length > 1) {
      corrected = new Float32Array(outputs);
      parseRow(rest.slice(1).join(' '), outputs, scale, corrected, 0, where);
    }
    result.push({ source: word, efficiency, corrected });
  });
  if (result.length === 0) fail('EINVAL', 'feedback: empty write');
  return result;
}

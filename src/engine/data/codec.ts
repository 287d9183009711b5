// Owns the pure wire formats: dataset streams (text and binary), recommendation inputs and outputs, feedback lines.
import { fail } from '../../errors.js';
import { BINARY_DATASET, MAX_ABS_VALUE, isKeyword, type FeedbackSource, FEEDBACK_SOURCES } from '../../protocol.js';
import { ROW, scanLines, scanRow } from './text-scan.js';
import type { LineCursor } from './bulk-scan.js';
import { BlockBuilder, intsOf, type FixedPointRows, type RowBlocks } from './row-blocks.js';
import { firstBeyond, scaleInts, scaleIntsInPlace } from './fixed-point.js';

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

/**
 * How much of one batch the decoder may hold: a buffer keeps only its newest `rows` samples anyway,
 * so with `drop` older ones go as the batch streams in (one file never held open grows the server
 * without bound); with `reject` a batch past `rows` fails at once with ENOSPC.
 */
export interface BatchLimit {
  rows: number;
  excess: 'drop' | 'reject';
}

const NO_BYTES = Buffer.alloc(0);
const MAX_LINE_BYTES = 65536;
/** The host stores an Int32Array little endian, so MLDS values can be read through a typed view. */
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/**
 * Decodes one open file's dataset stream, chunk by chunk, into whole samples.
 * Text or binary is decided by the first bytes; a line or record may straddle chunks.
 * Samples are read straight from each chunk into the rows; only a line cut by the end of a chunk is copied
 * aside, to be completed by the next one (a cut binary record waits in its block). Binary records are copied
 * as the int32s they are and checked: rows() divides them by `scale`, fixedPoint() hands them over undivided
 * (the buffer divides them when a row is first read), so a write costs a copy and the check, not the division.
 */
export class DatasetDecoder {
  private format: 'unknown' | 'text' | 'binary' = 'unknown';
  /** Bytes of an incomplete line or binary header from earlier chunks (always a copy). */
  private pending: Buffer = NO_BYTES;
  /** Bytes of a binary record cut by the end of the previous chunk, waiting in the open block after its rows. */
  private cutBytes = 0;
  private line = 0;
  private headerSeen = false;
  private readonly rowsOut: BlockBuilder;
  private readonly cursor: LineCursor = { at: 0, rows: 0, lines: 0 };
  /** Binary rows were scaled to floats (rows() was asked for): later records are scaled as they come. */
  private scaled = false;
  /** Values in one row: the inputs, then the outputs. */
  readonly width: number;

  /** Samples decoded but dropped already, because the batch exceeded its limit. */
  dropped = 0;

  constructor(
    private readonly inputs: number,
    private readonly outputs: number,
    private readonly scale: number,
    private readonly limit: BatchLimit = { rows: Infinity, excess: 'drop' },
  ) {
    this.width = inputs + outputs;
    this.rowsOut = new BlockBuilder(this.width);
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

  /**
   * The decoded samples (after finish: the batch) as floats, in blocks of rows; views, valid until the next feed.
   * Binary rows are divided by `scale` here, in place, the first time.
   */
  rows(): RowBlocks {
    const blocks = this.rowsOut.blocks();
    if (this.format === 'binary' && !this.scaled) {
      for (const block of blocks) scaleIntsInPlace(intsOf(block), block, this.scale);
      this.scaled = true;
    }
    return blocks;
  }

  /** Binary rows as the int32s written (checked), with the scale to divide them by; undefined for text or once rows() ran. */
  fixedPoint(): FixedPointRows | undefined {
    if (this.format !== 'binary' || this.scaled) return undefined;
    return { ints: this.rowsOut.blocks().map(intsOf), scale: this.scale };
  }

  /** The rows' memory goes with them to whoever stored them (the buffer keeps MLDS blocks until it copies them): its blocks, whole. */
  handOver(): Float32Array[] {
    return this.rowsOut.handOver();
  }

  /** The rows were stored: their memory goes to the next batch. The decoder must not be used again. */
  release(): void {
    this.rowsOut.release();
  }

  /** Decode a chunk; throws EINVAL on the first malformed sample. The chunk is not kept. */
  feed(chunk: Buffer): void {
    if (chunk.length === 0) return; // says nothing, not even which format
    if (this.format === 'unknown') {
      const head = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
      if (head.length < 4 && head[0] === 0x4d) {
        this.pending = Buffer.from(head); // could still become the binary magic
        return;
      }
      this.format = head.length >= 4 && head.readUInt32LE(0) === BINARY_DATASET.magic ? 'binary' : 'text';
      this.pending = NO_BYTES;
      chunk = head;
    }
    if (this.format === 'text') this.decodeText(chunk, false);
    else this.decodeBinary(chunk);
    this.enforceLimit();
  }

  /** The stream ended (close or fsync): a trailing line without newline counts, a partial record does not. */
  finish(): void {
    if (this.format === 'text' || (this.format === 'unknown' && this.pending.length)) {
      const rest = this.pending;
      this.format = 'text';
      this.pending = NO_BYTES;
      this.decodeText(rest, true);
    } else if (this.format === 'binary' && (this.pending.length || this.cutBytes)) {
      fail('EINVAL', `dataset: binary stream ends inside a record (${this.pending.length || this.cutBytes} bytes left over)`);
    }
    this.enforceLimit();
    this.dropped += this.rowsOut.keepNewest(this.limit.rows);
  }

  private decodeText(chunk: Buffer, final: boolean): void {
    let from = 0;
    if (this.pending.length) {
      // The line cut by the previous chunk: complete it (the only copy text decoding makes).
      const nl = chunk.indexOf(0x0a);
      if (nl < 0) {
        this.pending = Buffer.concat([this.pending, chunk]);
        this.checkPendingLength();
        if (!final) return;
        this.textLine(this.pending, 0, this.pending.length);
        this.pending = NO_BYTES;
        return;
      }
      const line = Buffer.concat([this.pending, chunk.subarray(0, nl)]);
      this.pending = NO_BYTES;
      this.textLine(line, 0, line.length);
      from = nl + 1;
    }
    const last = chunk.lastIndexOf(0x0a);
    const { rowsOut, cursor } = this;
    while (from <= last) {
      // Whole lines in bulk; a line the bulk scan does not take goes through textLine, then bulk again.
      const room = rowsOut.room();
      cursor.at = from;
      scanLines(chunk, last, this.width, this.scale, rowsOut.open, rowsOut.used, room, MAX_LINE_BYTES, cursor);
      rowsOut.advance(cursor.rows);
      this.line += cursor.lines;
      from = cursor.at;
      if (from <= last && cursor.rows < room) {
        const nl = chunk.indexOf(0x0a, from);
        this.textLine(chunk, from, nl);
        from = nl + 1;
      }
    }
    if (from < chunk.length) {
      if (final) this.textLine(chunk, from, chunk.length);
      else {
        this.pending = Buffer.from(chunk.subarray(from));
        this.checkPendingLength();
      }
    }
  }

  private checkPendingLength(): void {
    if (this.pending.length > MAX_LINE_BYTES) fail('EINVAL', `dataset line ${this.line + 1}: longer than ${MAX_LINE_BYTES} bytes`);
  }

  /** One line, `buf[start, end)` without its newline: the fast scan, or the reference parser when it is unsure. */
  private textLine(buf: Buffer, start: number, end: number): void {
    this.line++;
    if (end - start > MAX_LINE_BYTES) fail('EINVAL', `dataset line ${this.line}: longer than ${MAX_LINE_BYTES} bytes`);
    const rows = this.rowsOut;
    rows.room();
    const { open: out, used: at } = rows;
    const found = scanRow(buf, start, end, this.width, this.scale, out, at);
    if (found === ROW.blank) return;
    if (found === ROW.unsure) {
      // Throws the documented error for a bad line; parses the rare number the fast scan does not round.
      const raw = buf.toString('latin1', start, end);
      const hash = raw.indexOf('#');
      const line = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
      if (line === '') return;
      parseRow(line, this.width, this.scale, out, at, `dataset line ${this.line}`);
    }
    rows.advance(1);
  }

  private decodeBinary(chunk: Buffer): void {
    let data = chunk;
    if (!this.headerSeen) {
      if (this.pending.length) data = Buffer.concat([this.pending, chunk]);
      if (data.length < BINARY_DATASET.headerBytes) {
        this.pending = Buffer.from(data);
        return;
      }
      this.checkHeader(data);
      this.headerSeen = true;
      this.pending = NO_BYTES;
      data = data.subarray(BINARY_DATASET.headerBytes);
    }
    // Bytes go straight into the open block, a block's room at a time: a write bigger than a block (cat sends
    // 128 KiB) fills standard blocks, which are reused. The record cut by the end of a chunk waits there, after
    // the block's rows, to be completed by the next chunk: no copy of its own, no check of its own.
    const rows = this.rowsOut;
    const recordBytes = this.width * 4;
    for (let from = 0; from < data.length;) {
      const room = rows.room() * recordBytes - this.cutBytes;
      const n = Math.min(room, data.length - from);
      const { open, used } = rows;
      new Uint8Array(open.buffer, open.byteOffset + used * 4 + this.cutBytes, n).set(from === 0 && n === data.length ? data : data.subarray(from, from + n));
      from += n;
      const records = Math.floor((this.cutBytes + n) / recordBytes);
      this.cutBytes = this.cutBytes + n - records * recordBytes;
      if (records > 0) this.binaryRecords(records);
    }
  }

  private checkHeader(h: Buffer): void {
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
  }

  /** `records` whole records, just copied into the open block from `used` on, as int32s: checked (and scaled once rows() ran). */
  private binaryRecords(records: number): void {
    const rows = this.rowsOut;
    const values = records * this.width;
    const { open: out, used: at } = rows;
    const ints = new Int32Array(out.buffer, out.byteOffset + at * 4, values);
    if (!LITTLE_ENDIAN) {
      const bytes = new DataView(out.buffer, out.byteOffset + at * 4, values * 4);
      for (let i = 0; i < values; i++) ints[i] = bytes.getInt32(i * 4, true);
    }
    const bad = firstBeyond(ints, values);
    if (bad >= 0) fail('EINVAL', `dataset: binary record ${this.samples + Math.floor(bad / this.width) + 1} value ${ints[bad]} is beyond ±${MAX_ABS_VALUE}`);
    if (this.scaled) scaleInts(ints, values, this.scale, out, at);
    rows.advance(records);
  }
}

/** Parse a write to `recommendation`: one line of `inputs` numbers per query. */
export function parseQueries(text: string, inputs: number, scale: number, maxLines: number): Float32Array {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (lines.length === 0) fail('EINVAL', 'recommendation: empty write');
  if (lines.length > maxLines) fail('EINVAL', `recommendation: at most ${maxLines} queries per write, got ${lines.length}`);
  const out = new Float32Array(lines.length * inputs);
  lines.forEach((line, i) => parseRow(line, inputs, scale, out, i * inputs, `recommendation line ${i + 1}`));
  return out;
}

/**
 * parseQueries on the bytes of the write, without making a string: each line goes through the byte scanner, and
 * the first line it is not sure of (a comment, an exponent it cannot round, a wrong count, anything invalid)
 * sends the whole write to parseQueries, which owns every error message and numbers lines the same way.
 * Queries have no comments: the scanner's dataset grammar does, so a write with a '#' goes to parseQueries too.
 */
export function parseQueryBytes(bytes: Buffer, inputs: number, scale: number, maxLines: number): Float32Array {
  const slow = () => parseQueries(bytes.toString('utf8'), inputs, scale, maxLines);
  if (bytes.includes(0x23)) return slow();
  // The query lines' bounds first: the answer is sized by them, and too many or none is parseQueries' error.
  const bounds: number[] = [];
  for (let start = 0; start < bytes.length;) {
    const nl = bytes.indexOf(0x0a, start);
    const end = nl < 0 ? bytes.length : nl;
    if (!blankLine(bytes, start, end)) bounds.push(start, end);
    start = end + 1;
  }
  const rows = bounds.length / 2;
  if (rows === 0 || rows > maxLines) return slow();
  const out = new Float32Array(rows * inputs);
  for (let r = 0; r < rows; r++) {
    if (scanRow(bytes, bounds[2 * r], bounds[2 * r + 1], inputs, scale, out, r * inputs) !== ROW.written) return slow();
  }
  return out;
}

/** Nothing but spaces and tabs (parseQueries trims more, but a line with anything else goes to it anyway). */
function blankLine(bytes: Buffer, start: number, end: number): boolean {
  for (let p = start; p < end; p++) if (bytes[p] !== 0x20 && bytes[p] !== 0x09) return false;
  return true;
}

/**
 * formatRows' text as bytes, for answers that go straight back through FUSE. Fixed-point values are written digit
 * by digit (no string per value, no string for the answer, no UTF-8 encoding: a transaction's answer was about a
 * tenth of its JavaScript that way); integers beyond 2^53 and scale 1 take formatRows' own strings.
 */
export function formatRowsBytes(values: ArrayLike<number>, width: number, scale: number): Buffer {
  if (scale === 1) return Buffer.from(formatRows(values, width, scale), 'latin1');
  const rows = Math.floor(values.length / width);
  // String() of a double is at most 24 bytes ("-1.7976931348623157e+308"), then a separator.
  const bytes = reserveAnswerRoom(rows * width * 25);
  let at = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < width; c++) {
      if (c > 0) bytes[at++] = 0x20;
      at = putInteger(bytes, at, Math.round(values[r * width + c] * scale));
    }
    bytes[at++] = 0x0a;
  }
  return Buffer.from(bytes.subarray(0, at));
}

let answerRoom = Buffer.alloc(4096);

function reserveAnswerRoom(bytes: number): Buffer {
  if (answerRoom.length < bytes) answerRoom = Buffer.alloc(Math.max(bytes, 2 * answerRoom.length));
  return answerRoom;
}

/** String(n) for an integer n (Math.round's result: -0 is "0"), written at `at`; returns the end. */
function putInteger(bytes: Buffer, at: number, n: number): number {
  if (!Number.isSafeInteger(n)) {
    // NaN, the infinities and huge values print as String() prints them (exponents included); they are rare.
    return at + bytes.write(String(n), at, 'latin1');
  }
  if (n < 0) {
    bytes[at++] = 0x2d;
    n = -n;
  }
  let end = at + 1;
  for (let p = 10; p <= n; p *= 10) end++;
  for (let i = end - 1; i >= at; i--) {
    const q = Math.floor(n / 10);
    bytes[i] = 0x30 + (n - q * 10);
    n = q;
  }
  return end;
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

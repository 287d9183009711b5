// Owns the input formats `mlproxy replay` reads: each turns a byte stream into validated dataset text
// lines in the model's units, chunk by chunk, naming the source position of every sample. Formats are
// looked up by name in FORMATS, so another one plugs in by adding an entry.
import { StringDecoder } from 'node:string_decoder';
import { decodeRecords } from '../engine/store/datalog.js';
import { parseNumber } from '../engine/data/codec.js';
import { MlError } from '../errors.js';
import { MAX_ABS_VALUE } from '../protocol.js';
import { ToolError, type Shape } from './mount.js';

/** The longest line a text format accepts, as the server does for a dataset line. */
export const MAX_LINE_BYTES = 65536;

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

function describeWidth(shape: Shape): string {
  return `${shape.inputs + shape.outputs} numbers (${shape.inputs} input${shape.inputs === 1 ? '' : 's'} + ${shape.outputs} output${shape.outputs === 1 ? '' : 's'})`;
}

/** The protocol's number syntax (docs/protocol.md, Conventions). */
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * A real-unit value as the text the dataset file takes: multiplied by `scale` (the server divides by
 * it again), shortest form, within the protocol's range as written.
 */
export function toModelUnits(value: number, scale: number, at: string): string {
  const scaled = scale === 1 ? value : Number((value * scale).toPrecision(15));
  if (!Number.isFinite(scaled) || Math.abs(scaled) > MAX_ABS_VALUE) {
    throw new InputError(`${at}: ${value}${scale === 1 ? '' : ` × scale ${scale}`} is beyond ±${MAX_ABS_VALUE}`);
  }
  return String(scaled);
}

function realNumber(token: string, at: string): number {
  const value = NUMBER.test(token) ? Number(token) : NaN;
  if (!Number.isFinite(value)) throw new InputError(`${at}: "${token.slice(0, 32)}" is not a number`);
  return value;
}

/**
 * Split a byte stream into lines (LF; a CR before it is trimmed with other whitespace by the formats),
 * numbered from 1: one group of complete lines per chunk read. The last line may lack its newline.
 */
async function* splitLines(
  input: AsyncIterable<Buffer | string>,
  source: string,
): AsyncGenerator<{ lines: string[]; first: number; bytes: number; error?: InputError }> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let next = 1;
  for await (const chunk of input) {
    const bytes = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    const lines = (rest + (typeof chunk === 'string' ? chunk : decoder.write(chunk))).split('\n');
    rest = lines.pop() as string;
    if (rest.length > MAX_LINE_BYTES) {
      yield { lines, first: next, bytes, error: new InputError(`${source}:${next + lines.length}: longer than ${MAX_LINE_BYTES} bytes`) };
      return;
    }
    yield { lines, first: next, bytes };
    next += lines.length;
  }
  rest += decoder.end();
  if (rest !== '') yield { lines: [rest], first: next, bytes: 0 };
}

/**
 * A line-oriented format from a per-line parser: `parse` returns the sample as dataset text in the
 * model's units, undefined for a line to skip, or throws for a bad line. The samples before a bad line
 * are handed on first, so every batch before it can still be stored.
 */
function lineFormat(name: string, makeParser: (ctx: ReadContext) => (raw: string, at: string) => string | undefined): SampleFormat {
  return {
    name,
    unit: 'line',
    async *read(input, ctx) {
      const parse = makeParser(ctx);
      for await (const { lines, first, bytes, error } of splitLines(input, ctx.source)) {
        const out: SampleChunk = { lines: [], positions: [], bytes };
        let failed: unknown = error;
        for (let i = 0; i < lines.length; i++) {
          try {
            const sample = parse(lines[i], `${ctx.source}:${first + i}`);
            if (sample === undefined) continue;
            if (sample.length > MAX_LINE_BYTES) throw new InputError(`${ctx.source}:${first + i}: in the model's units the sample is longer than ${MAX_LINE_BYTES} bytes`);
            out.lines.push(sample);
            out.positions.push(first + i);
          } catch (err) {
            failed = err instanceof MlError ? new InputError(err.message) : err;
            break;
          }
        }
        yield out;
        if (failed) throw failed;
      }
    },
  };
}

/** The dataset file's own text form: what `cat models/NAME/dataset` prints, in the model's units. */
export const textFormat = lineFormat('text', ({ shape }) => {
  const width = shape.inputs + shape.outputs;
  return (raw, at) => {
    if (raw.length > MAX_LINE_BYTES) throw new InputError(`${at}: longer than ${MAX_LINE_BYTES} bytes`);
    const hash = raw.indexOf('#');
    const line = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (line === '') return undefined;
    const tokens = line.split(/[ \t]+/);
    if (tokens.length !== width) throw new InputError(`${at}: expected ${describeWidth(shape)}, got ${tokens.length}`);
    for (const token of tokens) parseNumber(token, at); // the server's own rules; throws MlError
    return line;
  };
});

/** What `mlproxy export --format csv` writes: an optional header, then real-unit values. */
export const csvFormat = lineFormat('csv', ({ shape }) => {
  const width = shape.inputs + shape.outputs;
  let seenFirst = false;
  return (raw, at) => {
    const line = raw.trim();
    if (line === '') return undefined;
    const fields = line.split(',').map((f) => {
      const v = f.trim();
      return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1).trim() : v;
    });
    if (!seenFirst) {
      seenFirst = true;
      if (!NUMBER.test(fields[0])) {
        checkHeader(fields, shape, at);
        return undefined;
      }
    }
    if (fields.length !== width) throw new InputError(`${at}: expected ${describeWidth(shape)}, got ${fields.length} fields`);
    return fields.map((f) => toModelUnits(realNumber(f, at), shape.scale, at)).join(' ');
  };
});

function checkHeader(fields: string[], shape: Shape, at: string): void {
  if (fields.length !== shape.inputs + shape.outputs) {
    throw new InputError(`${at}: the header has ${fields.length} columns, the model takes ${describeWidth(shape)}`);
  }
  const xs = fields.filter((f) => /^x\d+$/.test(f)).length;
  const ys = fields.filter((f) => /^y\d+$/.test(f)).length;
  if (xs + ys === fields.length && (xs !== shape.inputs || ys !== shape.outputs)) {
    throw new InputError(`${at}: the header has ${xs} x and ${ys} y columns, the model has ${shape.inputs} inputs and ${shape.outputs} outputs`);
  }
}

/** What `mlproxy export --format jsonl` writes: {"x":[…],"y":[…]} per line, real units. */
export const jsonlFormat = lineFormat('jsonl', ({ shape }) => (raw, at) => {
  const line = raw.trim();
  if (line === '') return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch (err) {
    throw new InputError(`${at}: not JSON (${(err as Error).message})`);
  }
  const { x, y } = (doc ?? {}) as { x?: unknown; y?: unknown };
  if (!Array.isArray(x) || !Array.isArray(y)) throw new InputError(`${at}: expected an object {"x":[…],"y":[…]}`);
  if (x.length !== shape.inputs || y.length !== shape.outputs) {
    throw new InputError(`${at}: expected ${shape.inputs} x and ${shape.outputs} y values, got ${x.length} and ${y.length}`);
  }
  return [...x, ...y]
    .map((v) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new InputError(`${at}: ${String(JSON.stringify(v)).slice(0, 32)} is not a number`);
      return toModelUnits(v, shape.scale, at);
    })
    .join(' ');
});

/** The dataset log's record header (src/engine/store/datalog.ts): u32 magic, u32 payload bytes, u32 crc32. */
const LOG_HEADER_BYTES = 12;
/** A record holds at most one whole buffer (256 MiB of samples) plus its width word. */
const LOG_MAX_PAYLOAD = 256 * 1024 * 1024 + 4;

/** Bytes arriving in chunks, taken off the front in pieces of any size. */
class ByteQueue {
  private chunks: Buffer[] = [];
  length = 0;
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }
  /** The first `n` bytes (n ≤ length), removed when `take` is set. */
  front(n: number, take: boolean): Buffer {
    let out: Buffer;
    if (this.chunks[0].length >= n) out = this.chunks[0].subarray(0, n);
    else {
      const parts: Buffer[] = [];
      let got = 0;
      for (const c of this.chunks) {
        if (got >= n) break;
        parts.push(c.subarray(0, n - got));
        got += Math.min(c.length, n - got);
      }
      out = Buffer.concat(parts, n);
    }
    if (take) {
      let left = n;
      while (left > 0) {
        const c = this.chunks[0];
        if (c.length <= left) {
          this.chunks.shift();
          left -= c.length;
        } else {
          this.chunks[0] = c.subarray(left);
          left = 0;
        }
      }
      this.length -= n;
    }
    return out;
  }
}

/**
 * A real-unit float32 from the log as the shortest dataset text that the server turns back into the
 * very same float32 (it divides by scale and rounds to float32): the integer when the model is fixed
 * point and the value was written as one, else 7 to 9 significant digits.
 */
function floatToModelUnits(value: number, scale: number, at: string): string {
  const scaled = value * scale;
  let text = String(Number(scaled.toPrecision(9)));
  for (const candidate of [Math.round(scaled), Number(scaled.toPrecision(7)), Number(scaled.toPrecision(8))]) {
    if (Math.fround(candidate / scale) === value) {
      text = String(candidate);
      break;
    }
  }
  if (!Number.isFinite(scaled) || Math.abs(Number(text)) > MAX_ABS_VALUE) throw new InputError(`${at}: ${value} × scale ${scale} is beyond ±${MAX_ABS_VALUE}`);
  return text;
}

/**
 * The server's dataset log (`dataset.log` in a model's --state-dir directory): length-prefixed,
 * checksummed records of real-unit float32 rows. A torn or corrupt last record, what a crash leaves,
 * is skipped with a warning, as the server does when it recovers; a bad record with more after it stops.
 */
export const logFormat: SampleFormat = {
  name: 'log',
  unit: 'record',
  async *read(input, { source, shape, warn }) {
    const width = shape.inputs + shape.outputs;
    const queue = new ByteQueue();
    let offset = 0;
    let record = 0;
    let suspect: string | undefined;
    for await (const raw of input) {
      const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
      queue.push(chunk);
      const out: SampleChunk = { lines: [], positions: [], bytes: chunk.length };
      let failed: unknown;
      try {
        for (;;) {
          if (suspect && queue.length) throw new InputError(`${suspect}, and more follows: the log is corrupt`);
          if (queue.length < LOG_HEADER_BYTES) break;
          const payload = queue.front(LOG_HEADER_BYTES, false).readUInt32LE(4);
          const at = where(source, 'record', record + 1);
          if (payload > LOG_MAX_PAYLOAD) throw new InputError(`${at} (byte ${offset}): not a record (length ${payload}): the log is corrupt`);
          if (queue.length < LOG_HEADER_BYTES + payload) break;
          const bytes = queue.front(LOG_HEADER_BYTES + payload, true);
          const { batches, validBytes } = decodeRecords(bytes);
          if (validBytes !== bytes.length || batches.length !== 1) {
            // Damaged: the end of the log (a torn write) if nothing follows, corruption if something does.
            suspect = `${at} (byte ${offset}): bad magic, checksum or width`;
            offset += bytes.length;
            continue;
          }
          const batch = batches[0];
          if (batch.width !== width) throw new InputError(`${at}: rows of ${batch.width} values, the model takes ${describeWidth(shape)}`);
          record++;
          offset += bytes.length;
          for (let r = 0; r < batch.rows.length; r += width) {
            const row: string[] = new Array(width);
            for (let c = 0; c < width; c++) row[c] = floatToModelUnits(batch.rows[r + c], shape.scale, at);
            out.lines.push(row.join(' '));
            out.positions.push(record);
          }
        }
      } catch (err) {
        failed = err;
      }
      yield out;
      if (failed) throw failed;
    }
    if (suspect) warn(`${suspect}: the last record is damaged (a torn write?); skipped, as the server does on recovery`);
    else if (queue.length) {
      warn(`${where(source, 'record', record + 1)} (byte ${offset}): the file ends inside a record (${queue.length} bytes; a torn write?); skipped, as the server does on recovery`);
    }
  },
};

export const FORMATS: Record<string, SampleFormat> = {
  text: textFormat,
  csv: csvFormat,
  jsonl: jsonlFormat,
  log: logFormat,
};

/** `auto` picks by extension: .csv, .jsonl/.ndjson, .log; anything else (and stdin) is text. */
export function formatFor(name: string, file: string): SampleFormat {
  if (name !== 'auto') return FORMATS[name];
  if (/\.csv$/i.test(file)) return csvFormat;
  if (/\.(jsonl|ndjson)$/i.test(file)) return jsonlFormat;
  if (/\.log$/i.test(file)) return logFormat;
  return textFormat;
}

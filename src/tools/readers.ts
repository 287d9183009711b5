// Owns the input formats `mlproxy replay` reads: each turns a byte stream into validated dataset text
// lines in the model's units, chunk by chunk, naming the source position of every sample. Formats are
// looked up by name in FORMATS, so another one plugs in by adding an entry.
import { StringDecoder } from 'node:string_decoder';
import { parseNumber } from '../engine/data/codec.js';
import { MlError } from '../errors.js';
import { MAX_ABS_VALUE } from '../protocol.js';
import type { Shape } from './mount.js';
import { logFormat } from './log-reader.js';
import { InputError, describeWidth, type ReadContext, type SampleChunk, type SampleFormat } from './sample-format.js';

export { InputError, where, type SampleFormat } from './sample-format.js';

/** The longest line a text format accepts, as the server does for a dataset line. */
export const MAX_LINE_BYTES = 65536;

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
            if (sample.length > MAX_LINE_BYTES)
              throw new InputError(`${ctx.source}:${first + i}: in the model's units the sample is longer than ${MAX_LINE_BYTES} bytes`);
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

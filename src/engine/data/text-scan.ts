// Owns the fast path for text rows: decimal numbers read straight from bytes into a Float32Array, no strings.
// It only ever says "done" for a line the reference parser (codec.ts parseRow) would accept, with the very
// same values; for anything else (a bad line, or a number it cannot round exactly) it says "not sure" and
// the caller asks the reference parser, which either throws the documented error or parses the rare case.
import { MAX_ABS_VALUE } from '../../protocol.js';
import { reciprocalLimit } from './fixed-point.js';
import type { LineCursor } from './bulk-scan.js';
import { nativeScanner } from './native-scanner.js';
import { wasmScanner } from './wasm-scanner.js';

/** Powers of ten that are exact doubles (10^22 is the last one). */
const POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));
/** Below this every integer is an exact double, and so was every step that built it digit by digit. */
const MAX_EXACT_MANTISSA = Number.MAX_SAFE_INTEGER;

const SPACE = 0x20;
const TAB = 0x09;
const HASH = 0x23;
const DOT = 0x2e;
const PLUS = 0x2b;
const MINUS = 0x2d;
const ZERO = 0x30;
/** Bytes scanLines reads at once from a number's first digit: one little-endian 32-bit word. */
const DIGIT_WINDOW = 4;

/** Bytes String.prototype.trim removes from a latin1 line: tab, LF, VT, FF, CR, space, NBSP. */
function trimmable(c: number): boolean {
  return c === SPACE || (c >= TAB && c <= 0x0d) || c === 0xa0;
}

/** What scanRow found on one line. */
export const ROW = { written: 1, blank: 0, unsure: -1 } as const;

/**
 * Scan one line, `buf[start, end)` without its newline, as `count` numbers divided by `scale` into
 * `out[at, at + count)`. Returns ROW.written, ROW.blank (nothing but spaces or a comment) or ROW.unsure.
 *
 * Why it rounds exactly as Number(): a mantissa below 2^53 is an exact double, so is 10^k for k ≤ 22,
 * and one IEEE multiply or divide of two exact doubles is correctly rounded (Clinger's fast path).
 * Longer mantissas and larger exponents are left to the reference parser.
 */
export function scanRow(buf: Uint8Array, start: number, end: number, count: number, scale: number, out: Float32Array | Float64Array, at: number): number {
  let p = start;
  while (p < end && trimmable(buf[p])) p++;
  if (p === end || buf[p] === HASH) return ROW.blank;
  let n = 0;
  for (;;) {
    // One number: [+-]digits[.digits][(e|E)[+-]digits], at least one mantissa digit.
    let c = buf[p];
    let negative = false;
    if (c === PLUS || c === MINUS) {
      negative = c === MINUS;
      p++;
    }
    // Digits accumulate exactly while the mantissa stays a safe integer (leading zeros cost nothing).
    let mantissa = 0;
    let exponent = 0;
    const intStart = p;
    while (p < end && (c = buf[p] - ZERO) >= 0 && c <= 9) {
      mantissa = mantissa * 10 + c;
      p++;
    }
    let seen = p - intStart; // mantissa digits of any kind
    if (p < end && buf[p] === DOT) {
      const fracStart = ++p;
      while (p < end && (c = buf[p] - ZERO) >= 0 && c <= 9) {
        mantissa = mantissa * 10 + c;
        p++;
      }
      exponent = fracStart - p;
      seen += p - fracStart;
    }
    if (seen === 0 || mantissa > MAX_EXACT_MANTISSA) return ROW.unsure;
    if (p < end && (buf[p] | 0x20) === 0x65) {
      p++;
      let expNegative = false;
      if (p < end && (buf[p] === PLUS || buf[p] === MINUS)) expNegative = buf[p++] === MINUS;
      let e = 0;
      let expDigits = 0;
      while (p < end && (c = buf[p] - ZERO) >= 0 && c <= 9) {
        if (e < 100000) e = e * 10 + c;
        expDigits++;
        p++;
      }
      if (expDigits === 0) return ROW.unsure;
      exponent += expNegative ? -e : e;
    }
    let value: number;
    if (mantissa === 0) value = 0;
    else if (exponent >= 0 && exponent <= 22) value = mantissa * POW10[exponent];
    else if (exponent < 0 && exponent >= -22) value = mantissa / POW10[-exponent];
    else return ROW.unsure;
    if (value > MAX_ABS_VALUE || n === count) return ROW.unsure;
    out[at + n++] = (negative ? -value : value) / scale;

    // Between numbers only spaces and tabs; other trimmable bytes only at the end of the line.
    const numberEnd = p;
    let onlyBlanks = true;
    while (p < end && trimmable((c = buf[p]))) {
      if (c !== SPACE && c !== TAB) onlyBlanks = false;
      p++;
    }
    if (p === end || buf[p] === HASH) return n === count ? ROW.written : ROW.unsure;
    if (p === numberEnd || !onlyBlanks) return ROW.unsure; // a number ran into something that is not one
  }
}

/** Below this many bytes the JavaScript scan is done before a bulk one (native, WebAssembly) has copied its input. */
const BULK_MIN_BYTES = 512;
/** A bulk scan that stops within this many bytes found odd lines close together (comments, say). */
const SHORT_RUN_BYTES = 2048;
/**
 * Bulk scans in a row that stopped short. From two on, the JavaScript scan serves: it stops on an odd line
 * without copying a window first (WebAssembly was 1.7x slower with a comment on every line, 1.3x with one on
 * every 30th short line); a long run taken by it hands the next scan back. Only speed depends on this,
 * never what is taken.
 */
let shortRuns = 0;

/** The scan that takes Float32 rows in bulk: native/text-scan.c built natively where it is built, else as WebAssembly. */
const bulkScanner = () => nativeScanner() ?? wasmScanner();

/** Which scan takes text datasets in bulk here (the serving log line says it). */
export function textScanEngine(): 'native' | 'webassembly' | 'javascript' {
  return nativeScanner() ? 'native' : wasmScanner() ? 'webassembly' : 'javascript';
}

/**
 * The bulk scan, with scanLinesInJs's contract and parameters (the reference): Float32 rows from BULK_MIN_BYTES
 * of input on go to native/text-scan.c (two lanes; its native build about 1.4 times as fast again as its
 * WebAssembly build, which is about 1.5 times as fast as scanLinesInJs), unless odd lines came close together
 * just before; the rest to scanLinesInJs.
 */
export function scanLines(
  buf: Uint8Array,
  last: number,
  count: number,
  scale: number,
  out: Float32Array | Float64Array,
  outAt: number,
  maxRows: number,
  maxLineBytes: number,
  cursor: LineCursor,
): void {
  const start = cursor.at;
  // count >= 1 only: the C loops assume a row holds a number (config never allows fewer; this keeps it so).
  const bulk = last - start >= BULK_MIN_BYTES && shortRuns < 2 && count >= 1 ? bulkScanner() : null;
  if (bulk && out instanceof Float32Array) bulk.scanLines(buf, last, count, scale, out, outAt, maxRows, maxLineBytes, cursor);
  else scanLinesInJs(buf, last, count, scale, out, outAt, maxRows, maxLineBytes, cursor);
  const run = cursor.at - start;
  const stoppedShort = cursor.at <= last && cursor.rows < maxRows && run < SHORT_RUN_BYTES;
  shortRuns = stoppedShort ? shortRuns + 1 : run >= SHORT_RUN_BYTES ? 0 : shortRuns;
}

/**
 * The common case in bulk, without a call per line: plain decimals (`[+-]digits[.digits]`) separated by spaces
 * or tabs, `count` to a line. Scans whole lines from `cursor.at` through the newline at `last` (buf[last]
 * must be a newline: it stops every loop without a bounds check), at most `maxRows` rows into `out` from
 * `outAt`. It stops at the first line it does not take for sure (anything else: a comment, a CR, an exponent,
 * a wrong count, a line longer than `maxLineBytes`), leaving `cursor.at` on it for scanRow and the reference
 * parser. Values are exactly Number()'s: see scanRow.
 *
 * Why the first four bytes of a number are read as one word: a branch on each digit mispredicts whenever numbers
 * change length, which in real data they do all the time. From one 32-bit load, a few word-wide operations find
 * how many of its bytes are digits and add them up, with no branch on the data (docs/ceilings-passes.md has the
 * measurements: a byte-wise window of three digits took 20-25 % off the per-digit loop, the word another ~15 %).
 * Within the last four bytes of `buf` the word would read past its end, so there digits are read one at a time.
 */
export function scanLinesInJs(
  buf: Uint8Array,
  last: number,
  count: number,
  scale: number,
  out: Float32Array | Float64Array,
  outAt: number,
  maxRows: number,
  maxLineBytes: number,
  cursor: LineCursor,
): void {
  let p = cursor.at;
  let rows = 0;
  let lines = 0;
  let lineStart = p;
  // Integers below `limit` are scaled by a multiply that rounds as the division does once stored as a float32
  // (fixed-point.ts); a Float64Array keeps the division's double.
  const limit = out instanceof Float32Array ? reciprocalLimit(scale) : 0;
  const reciprocal = 1 / scale;
  const words = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  lines: while (p <= last && rows < maxRows) {
    lineStart = p;
    let c = buf[p];
    while (c === SPACE || c === TAB) c = buf[++p];
    if (c === 0x0a) {
      if (p - lineStart > maxLineBytes) break;
      p++;
      lines++;
      continue;
    }
    const base = outAt + rows * count;
    for (let n = 0; ;) {
      // The sign without a branch on the data (0 or 1), then up to four digits from one word.
      const negative = +(c === MINUS);
      p += negative | +(c === PLUS);
      let value: number;
      let digit: number;
      let more: number; // 1 when digits may follow the ones already read
      let exactBelow = limit; // 0 once the value has a fraction: only integers may take the multiply
      if (p + DIGIT_WINDOW <= buf.length) {
        const word = words.getUint32(p, true); // the number's first byte is the low byte
        // A byte is a digit when its high nibble is 3 and adding 6 keeps it 3 (low nibble ≤ 9). The add can
        // carry into the next byte only from a byte ≥ 0xfa, a non-digit, beyond which nothing is read.
        const notDigit = ((word & 0xf0f0f0f0) ^ 0x30303030) | (((word + 0x06060606) & 0xf0f0f0f0) ^ 0x30303030);
        // Digits before the first non-digit byte: its lowest set bit's index ÷ 8, or 4 when there is none.
        const digits = (32 - Math.clz32((notDigit & -notDigit) - 1)) >> 3;
        if (digits === 0) break lines;
        // The digits' values moved up to the top bytes (zero bytes below read as leading zeros), then summed
        // in pairs (10 × first + second in bytes 0 and 2) and the pairs as 100 × first + second.
        const aligned = (word & 0x0f0f0f0f) << (32 - 8 * digits);
        const pairs = Math.imul(aligned, 10) + (aligned >>> 8);
        value = (pairs & 0xff) * 100 + ((pairs >>> 16) & 0xff);
        p += digits;
        more = +(digits === DIGIT_WINDOW);
      } else {
        // The last bytes of `buf`: the first digit alone, the rest below.
        if ((digit = buf[p] - ZERO) < 0 || digit > 9) break lines;
        value = digit;
        p++;
        more = 1;
      }
      // Any further digits one at a time; the newline at `last` stops the loop inside `buf`.
      if (more)
        while ((digit = buf[p] - ZERO) >= 0 && digit <= 9) {
          value = value * 10 + digit;
          p++;
        }
      c = buf[p];
      if (c === DOT) {
        const fracStart = p + 1;
        while ((digit = buf[++p] - ZERO) >= 0 && digit <= 9) value = value * 10 + digit;
        // Exact as long as the mantissa is (every step below it was, too) and 10^digits is.
        if (value > MAX_EXACT_MANTISSA || p - fracStart > 22) break lines;
        value /= POW10[p - fracStart];
        exactBelow = 0;
        c = buf[p];
      }
      // An integer part at most MAX_ABS_VALUE was exact at every step, having only grown to it.
      if (value > MAX_ABS_VALUE || (c | 0x20) === 0x65) break lines;
      const signed = value * (1 - 2 * negative);
      out[base + n++] = value < exactBelow ? signed * reciprocal : signed / scale;
      if (c === SPACE || c === TAB) {
        do c = buf[++p];
        while (c === SPACE || c === TAB);
      } else if (c !== 0x0a) break lines;
      if (c === 0x0a) {
        if (n !== count || p - lineStart > maxLineBytes) break lines;
        p++;
        rows++;
        lines++;
        continue lines;
      }
      if (n === count) break lines;
    }
  }
  cursor.at = p <= last && rows < maxRows ? lineStart : p;
  cursor.rows = rows;
  cursor.lines = lines;
}

// Owns the WebAssembly build of the bulk text scan (native/text-scan.c): its memory, and feeding it whole lines
// a window at a time with the same contract as scanLinesInJs in text-scan.ts.
import { TEXT_SCAN_WASM } from './text-scan-wasm.js';
import type { BulkScanner } from './bulk-scan.js';
import { instantiate, onFirstUse } from '../../wasm-module.js';
import { reciprocalLimit } from './fixed-point.js';

interface ScanExports {
  memory: WebAssembly.Memory;
  __heap_base: WebAssembly.Global;
  init_blocks(): void;
  result_address(): number;
  scan(
    input: number,
    length: number,
    rows: number,
    rowEnds: number,
    count: number,
    maxRows: number,
    maxLineBytes: number,
    scale: number,
    reciprocal: number,
    exactBelow: number,
  ): void;
}

/** Zero bytes after the input: the C side's 64-bit loads past the last newline stay inside them. */
const PADDING = 16;
/**
 * The first window after a scan that stopped on a line is small, so that a write of odd lines (each sent to the
 * reference parser) costs little; it doubles up to WINDOW_MAX, and the next call goes on from where the last
 * one left it (a dataset's 64 KiB writes take two or three calls each, as the rows' blocks fill).
 */
const WINDOW_MIN = 1024;
/** Big enough that the two lanes run long; small enough that the copy stays in the cache. */
const WINDOW_MAX = 16384;
const PAGE = 65536;
const LF = 0x0a;

const align = (n: number): number => (n + 15) & ~15;

class WasmScanner implements BulkScanner {
  private readonly exports: ScanExports;
  private readonly base: number;
  private bytes!: Uint8Array;
  private floats!: Float32Array;
  private results!: Uint32Array;
  /** The next call's first window (see WINDOW_MIN). */
  private window = WINDOW_MIN;
  /** Bytes per row of the last window that took rows: a window need not hold more lines than the rows' room. */
  private rowBytes = 0;

  constructor() {
    this.exports = instantiate<ScanExports>(TEXT_SCAN_WASM);
    this.exports.init_blocks(); // the block table (1.1 MiB, about 10 ms, once a process)
    this.base = align(this.exports.__heap_base.value as number);
    this.views();
  }

  private views(): void {
    const { buffer } = this.exports.memory;
    this.bytes = new Uint8Array(buffer);
    this.floats = new Float32Array(buffer);
    this.results = new Uint32Array(buffer, this.exports.result_address(), 5);
  }

  /** Where input, rows and row ends go for an input of `length` bytes (the C side's room rules). */
  private layout(length: number): { input: number; rows: number; rowEnds: number } {
    const input = this.base;
    const rows = align(input + length + PADDING);
    const rowEnds = align(rows + 4 * (Math.floor(length / 2) + 8));
    const end = rowEnds + 4 * (length + 2);
    const have = this.exports.memory.buffer.byteLength;
    if (end > have) {
      this.exports.memory.grow(Math.ceil((end - have) / PAGE));
      this.views(); // growing detaches the old buffer
    }
    return { input, rows, rowEnds };
  }

  scanLines: BulkScanner['scanLines'] = (buf, last, count, scale, out, outAt, maxRows, maxLineBytes, cursor) => {
    const reciprocal = 1 / scale;
    const exactBelow = reciprocalLimit(scale);
    let at = cursor.at;
    let rows = 0;
    let lines = 0;
    for (; at <= last && rows < maxRows; this.window = Math.min(2 * this.window, WINDOW_MAX)) {
      // Whole lines: the window ends on a newline, or is one line longer than the window. Near the rows' limit
      // it holds about the lines still wanted (a line more), not a whole window of which the scan would take few.
      const wanted = this.rowBytes ? (maxRows - rows + 1) * this.rowBytes : Infinity;
      let end = buf.lastIndexOf(LF, Math.min(last, at + Math.min(this.window, wanted) - 1));
      if (end < at) {
        end = buf.indexOf(LF, at);
        if (end - at > maxLineBytes) break; // a line longer than allowed: the scan would stop on it
      }
      const length = end + 1 - at;
      const room = this.layout(length);
      this.bytes.set(buf.subarray(at, end + 1), room.input);
      this.bytes.fill(0, room.input + length, room.input + length + PADDING);
      this.exports.scan(room.input, length, room.rows, room.rowEnds, count, maxRows - rows, maxLineBytes, scale, reciprocal, exactBelow);
      const results = this.results;
      const resume = results[0];
      const taken = results[1];
      const passed = results[2];
      // The first lane's rows, then the second lane's from where it wrote them (text-scan.c's result).
      const firstLane = results[3];
      const first = room.rows >> 2;
      out.set(this.floats.subarray(first, first + firstLane * count), outAt + rows * count);
      if (taken > firstLane) {
        const second = first + results[4];
        out.set(this.floats.subarray(second, second + (taken - firstLane) * count), outAt + (rows + firstLane) * count);
      }
      rows += taken;
      lines += passed;
      at += resume;
      if (taken) this.rowBytes = Math.ceil(resume / taken);
      if (resume < length) {
        // Stopped on a line it does not take (the next call starts small), or at the row limit.
        if (rows < maxRows) this.window = WINDOW_MIN;
        break;
      }
    }
    cursor.at = at;
    cursor.rows = rows;
    cursor.lines = lines;
  };
}

/** The WebAssembly scanner, or null where WebAssembly cannot run (then the JavaScript scan serves alone). */
export const wasmScanner = onFirstUse(() => new WasmScanner());

// Owns the shape the bulk text scans share (scanLinesInJs in text-scan.ts, and native/text-scan.c's two builds in
// wasm-scanner.ts and native-scanner.ts): where a scan stopped, and the call that takes whole lines in bulk.

/** Where scanLines stopped: the next byte to read, and what it wrote and passed. */
export interface LineCursor {
  /** The start of the first line not taken. */
  at: number;
  /** Rows written. */
  rows: number;
  /** Lines passed (rows and blank lines). */
  lines: number;
}

/** A build of the bulk scan: scanLinesInJs's contract (text-scan.ts), Float32 rows only. */
export interface BulkScanner {
  scanLines(
    buf: Uint8Array,
    last: number,
    count: number,
    scale: number,
    out: Float32Array,
    outAt: number,
    maxRows: number,
    maxLineBytes: number,
    cursor: LineCursor,
  ): void;
}

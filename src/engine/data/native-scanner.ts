// Owns the native build of the bulk text scan (native/text-scan-addon.c around native/text-scan.c, built by
// native/build-text-scan.mjs): loading it, and calling it with the contract of scanLinesInJs in text-scan.ts.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { BulkScanner } from './bulk-scan.js';
import { onFirstUse } from '../../wasm-module.js';
import { reciprocalLimit } from './fixed-point.js';

/** The addon's one function (its arguments are documented in native/text-scan-addon.c). */
interface TextScanAddon {
  scanLines(
    buf: Uint8Array,
    at: number,
    last: number,
    count: number,
    scale: number,
    reciprocal: number,
    exactBelow: number,
    out: Float32Array,
    outAt: number,
    maxRows: number,
    maxLineBytes: number,
    stopped: Uint32Array,
  ): void;
}

/** Where native/build-text-scan.mjs leaves it: build/ at the top of the checkout, beside dist/ and src/. */
export const TEXT_SCAN_ADDON = fileURLToPath(new URL('../../../build/text-scan/build/Release/text_scan.node', import.meta.url));

class NativeScanner implements BulkScanner {
  /** The addon's answer: where it stopped, rows, lines. */
  private readonly stopped = new Uint32Array(3);

  constructor(private readonly addon: TextScanAddon) {}

  scanLines: BulkScanner['scanLines'] = (buf, last, count, scale, out, outAt, maxRows, maxLineBytes, cursor) => {
    const stopped = this.stopped;
    this.addon.scanLines(buf, cursor.at, last, count, scale, 1 / scale, reciprocalLimit(scale), out, outAt, maxRows, maxLineBytes, stopped);
    cursor.at = stopped[0];
    cursor.rows = stopped[1];
    cursor.lines = stopped[2];
  };
}

/** The native scanner, or null where it is not built (or cannot load): then the WebAssembly build serves. */
export const nativeScanner = onFirstUse(() => new NativeScanner(createRequire(import.meta.url)(TEXT_SCAN_ADDON) as TextScanAddon));

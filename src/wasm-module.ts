// Owns loading the committed WebAssembly modules (native/build-wasm.mjs): instantiated on first use, once, or
// null where they cannot run, so that each has its JavaScript twin serve alone there.

/** The exports of a module whose bytes are committed as base64 (it imports nothing). */
export function instantiate<T>(base64: string): T {
  return new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(base64, 'base64')), {}).exports as unknown as T;
}

/** `make()` on the first call, kept; null for good if it throws (no WebAssembly, or no SIMD). */
export function onFirstUse<T>(make: () => T): () => T | null {
  let made: T | null | undefined;
  return () => {
    if (made === undefined) {
      try {
        made = make();
      } catch {
        made = null;
      }
    }
    return made;
  };
}

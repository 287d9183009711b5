// Owns the WebAssembly build of the fast path's inference (native/dense-net.c): one module for the process, the
// networks it holds in its memory (an arena, refilled when full), and feeding it queries.
import { DENSE_NET_WASM } from './dense-net-wasm.js';
import { instantiate, onFirstUse } from '../../wasm-module.js';
import { widestLayer, type Snapshot } from './shape.js';

interface DenseExports {
  memory: WebAssembly.Memory;
  __heap_base: WebAssembly.Global;
  predict(net: number, input: number, rows: number, output: number, scratch: number, wide: number): void;
}

/** Where a network sits in the arena (valid while the arena's generation is `generation`), and its widths. */
export interface Resident {
  generation: number;
  at: number;
  inputs: number;
  outputs: number;
  widest: number;
}

const PAGE = 65536;
/** net_header and net_layer in native/dense-net.c, in u32s. */
const HEADER_WORDS = 8;
const LAYER_WORDS = 5;
/**
 * Networks held at once, in bytes: a 16-64-64-4 network takes 22 KB, so hundreds of models answering in turn
 * stay resident. When a network does not fit, the arena starts afresh and each network is copied in again at its
 * next query; one bigger than the arena is answered by the JavaScript loops.
 */
const ARENA_BYTES = 16 << 20;

const align = (n: number): number => (n + 15) & ~15;

/**
 * A network's place in the arena: the header, its layer records, then its float32 arrays (normalisation, then each
 * layer's kernel and bias), each 16-byte aligned at `offsets` (bytes from the header); `bytes` in all.
 */
function layout(s: Snapshot): { bytes: number; arrays: Float32Array[]; offsets: number[] } {
  const arrays = [s.inMean, s.inStd, s.outMean, s.outStd, ...s.layers.flatMap((l) => [l.kernel, l.bias])];
  let at = align(4 * (HEADER_WORDS + LAYER_WORDS * s.layers.length));
  const offsets: number[] = [];
  for (const a of arrays) {
    offsets.push(at);
    at = align(at + 4 * a.length);
  }
  return { bytes: at, arrays, offsets };
}

class WasmNetworks {
  private readonly exports: DenseExports;
  private readonly base: number;
  private generation = 0;
  /** The arena's first free byte. */
  private top: number;
  private floats: Float32Array;
  private doubles: Float64Array;

  constructor() {
    this.exports = instantiate<DenseExports>(DENSE_NET_WASM);
    this.base = align(this.exports.__heap_base.value as number);
    this.top = this.base;
    this.floats = new Float32Array(this.exports.memory.buffer);
    this.doubles = new Float64Array(this.exports.memory.buffer);
  }

  /** Memory up to `end`, grown as needed (growing detaches the old view). */
  private reach(end: number): void {
    const have = this.exports.memory.buffer.byteLength;
    if (end <= have) return;
    this.exports.memory.grow(Math.ceil((end - have) / PAGE));
    this.floats = new Float32Array(this.exports.memory.buffer);
    this.doubles = new Float64Array(this.exports.memory.buffer);
  }

  /** The network, copied in when it is not resident; undefined when it is bigger than the arena. */
  private place(s: Snapshot, resident: Resident | undefined): Resident | undefined {
    if (resident && resident.generation === this.generation) return resident;
    const { bytes, arrays, offsets } = layout(s);
    if (bytes > ARENA_BYTES) return undefined;
    if (this.top + bytes > this.base + ARENA_BYTES) {
      this.generation++;
      this.top = this.base;
    }
    const at = this.top;
    this.top = align(at + bytes);
    this.reach(this.top);
    const { buffer } = this.exports.memory;
    const widest = widestLayer(s.layers);
    const inputs = s.layers[0].inSize;
    const outputs = s.layers[s.layers.length - 1].outSize;
    new Uint32Array(buffer, at, HEADER_WORDS).set([s.layers.length, inputs, outputs, widest, ...offsets.slice(0, 4)]);
    const records = new Uint32Array(buffer, at + 4 * HEADER_WORDS, LAYER_WORDS * s.layers.length);
    s.layers.forEach((l, i) => records.set([l.inSize, l.outSize, l.relu ? 1 : 0, offsets[4 + 2 * i], offsets[5 + 2 * i]], LAYER_WORDS * i));
    arrays.forEach((a, i) => this.floats.set(a, (at + offsets[i]) >> 2));
    return { generation: this.generation, at, inputs, outputs, widest };
  }

  /**
   * FastNetwork.predict's contract, the same numbers: `rows` rows of `input` into `out`. Returns where the network
   * now sits (the caller keeps it for its next query), or undefined when it must be answered in JavaScript.
   */
  predict(s: Snapshot, resident: Resident | undefined, input: Float32Array, rows: number, out: Float32Array | Float64Array): Resident | undefined {
    const placed = this.place(s, resident);
    if (!placed) return undefined;
    const { inputs, outputs, widest } = placed;
    // The query's room sits above the arena's top: nothing resident is overwritten, and nothing is kept there.
    const inAt = this.top;
    const outAt = align(inAt + 4 * rows * inputs);
    const wide = out instanceof Float64Array;
    const scratch = align(outAt + out.BYTES_PER_ELEMENT * rows * outputs);
    this.reach(scratch + 16 * widest);
    this.floats.set(input.subarray(0, rows * inputs), inAt >> 2);
    this.exports.predict(placed.at, inAt, rows, outAt, scratch, wide ? 1 : 0);
    const values = wide ? this.doubles : this.floats;
    const first = outAt / out.BYTES_PER_ELEMENT;
    out.set(values.subarray(first, first + rows * outputs));
    return placed;
  }
}

/** The WebAssembly inference, or null where WebAssembly SIMD cannot run (then the JavaScript loops serve alone). */
export const wasmNetworks = onFirstUse(() => new WasmNetworks());

// Owns the bounded training buffer: fixed-width Float32Array rows in a ring, oldest dropped first,
// with running column sums so normalisation statistics cost nothing to read.

export class SampleRing {
  private data: Float32Array;
  private head = 0; // index of the oldest row
  private count = 0;
  private sums: Float64Array;
  private squares: Float64Array;
  private churn = 0; // rows added since the sums were last recomputed exactly

  constructor(
    private cap: number,
    readonly width: number,
  ) {
    this.data = new Float32Array(cap * width);
    this.sums = new Float64Array(width);
    this.squares = new Float64Array(width);
  }

  get size(): number {
    return this.count;
  }
  get capacity(): number {
    return this.cap;
  }

  /** Append rows (row-major, `rows.length` a multiple of width); returns how many old rows were dropped. */
  pushRows(rows: Float32Array): number {
    const n = rows.length / this.width;
    let dropped = 0;
    for (let r = 0; r < n; r++) {
      if (this.count === this.cap) {
        this.account(this.head, -1);
        this.head = (this.head + 1) % this.cap;
        this.count--;
        dropped++;
      }
      // Copy and count in one pass, without a subarray per row (this runs for every sample ingested).
      const base = ((this.head + this.count) % this.cap) * this.width;
      const from = r * this.width;
      for (let c = 0; c < this.width; c++) {
        const v = rows[from + c];
        this.data[base + c] = v;
        this.sums[c] += v;
        this.squares[c] += v * v;
      }
      this.count++;
    }
    this.churn += n;
    // Float64 sums drift when rows are subtracted many times over; recompute once the buffer has turned over a few times.
    if (this.churn > 4 * this.cap) this.recomputeSums();
    return dropped;
  }

  private account(slot: number, sign: 1 | -1): void {
    const base = slot * this.width;
    for (let c = 0; c < this.width; c++) {
      const v = this.data[base + c];
      this.sums[c] += sign * v;
      this.squares[c] += sign * v * v;
    }
  }

  private recomputeSums(): void {
    this.sums.fill(0);
    this.squares.fill(0);
    for (let i = 0; i < this.count; i++) this.account((this.head + i) % this.cap, 1);
    this.churn = 0;
  }

  /** Row i, 0 being the oldest. The returned view is only valid until the next push. */
  row(i: number): Float32Array {
    const slot = (this.head + i) % this.cap;
    return this.data.subarray(slot * this.width, (slot + 1) * this.width);
  }

  /** Every row, oldest first, in one row-major copy. */
  toArray(): Float32Array {
    const rows = new Float32Array(this.count * this.width);
    for (let i = 0; i < this.count; i++) rows.set(this.row(i), i * this.width);
    return rows;
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
    this.sums.fill(0);
    this.squares.fill(0);
    this.churn = 0;
  }

  /** Change capacity, keeping the newest rows that fit; returns how many were dropped. */
  resize(capacity: number): number {
    const keep = Math.min(this.count, capacity);
    const next = new Float32Array(capacity * this.width);
    for (let i = 0; i < keep; i++) next.set(this.row(this.count - keep + i), i * this.width);
    const dropped = this.count - keep;
    this.data = next;
    this.cap = capacity;
    this.head = 0;
    this.count = keep;
    this.recomputeSums();
    return dropped;
  }

  /** Column means and standard deviations (a floor keeps constant columns from dividing by zero). */
  columnStats(): { mean: Float32Array; std: Float32Array } {
    const mean = new Float32Array(this.width);
    const std = new Float32Array(this.width);
    for (let c = 0; c < this.width; c++) {
      const m = this.count ? this.sums[c] / this.count : 0;
      const variance = this.count ? Math.max(0, this.squares[c] / this.count - m * m) : 0;
      mean[c] = m;
      std[c] = Math.max(Math.sqrt(variance), 1e-6 * Math.max(1, Math.abs(m)));
    }
    return { mean, std };
  }

  /** Copy `n` rows picked uniformly at random into `out` (row-major). */
  sample(n: number, out: Float32Array, random: () => number = Math.random): void {
    for (let r = 0; r < n; r++) out.set(this.row(Math.floor(random() * this.count)), r * this.width);
  }

  /** Approximate bytes held, for stats and memory budgets. */
  get bytes(): number {
    return this.data.byteLength;
  }
}

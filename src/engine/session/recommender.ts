// Owns a model's recommendation transactions and the feedback that answers them: parse the queries,
// predict with the weights in force, format the answer (with the test-only fault rewrite), and pair
// feedback's corrected outputs with the newest query so they can be stored as training samples.
import { fail } from '../../errors.js';
import type { Bus } from '../../events.js';
import { LIMITS } from '../../limits.js';
import type { Fault } from '../../protocol.js';
import { type Mode, CORRECTION_REPEAT } from '../../modes/index.js';
import { formatRowsBytes, parseFeedback, parseQueryBytes, type FeedbackLine } from '../data/codec.js';
import type { FastNetwork } from '../infer/network.js';
import type { ModelConfig } from './config.js';
import { applyFault } from './faults.js';
import type { Reporter } from './reporter.js';

/** Queries one recommendation write may carry (src/limits.ts). */
export const MAX_QUERIES_PER_WRITE = LIMITS.transactionQueries.value;

/** What the recommender reads from its session at the moment of a transaction. */
export interface RecommenderContext {
  name: string;
  bus: Bus;
  config(): ModelConfig;
  network(): FastNetwork | undefined;
  mode(): Mode;
  report: Reporter;
  /** Feed an efficiency reported for ML or the default to the mode policy. */
  evidence(source: 'ml' | 'default' | 'critical', efficiency: number, now: number): void;
  /** Why there is no network, for the ENODATA message. */
  whyNoNetwork(): string;
}

export class Recommender {
  /** The newest answer's bytes, shared by every reader: nothing writes into it. */
  private latestAnswer: Buffer | undefined;
  /** The inputs of the newest query, which feedback's corrected outputs pair with. */
  private lastQuery: Float32Array | undefined;
  fault: Fault = 'none';
  readonly counts = {
    inferences: 0,
    inferences_in_emergency: 0,
    feedback_ml: 0,
    feedback_default: 0,
    feedback_critical: 0,
    feedback_fallback: 0,
    kernel_fallbacks: 0,
    samples_corrected: 0,
  };

  constructor(private readonly ctx: RecommenderContext) {}

  /** The queries of a write to `recommendation`, already divided by scale; throws EINVAL on bad input. */
  parseQueries(bytes: Buffer): Float32Array {
    const config = this.ctx.config();
    return parseQueryBytes(bytes, config.inputs, config.scale, MAX_QUERIES_PER_WRITE);
  }

  /** Answer parsed queries with the weights in force: the answer the writer reads back, as bytes. */
  answer(queries: Float32Array): Buffer {
    const config = this.ctx.config();
    const net = this.ctx.network() ?? fail('ENODATA', `recommendation: ${this.ctx.whyNoNetwork()}`);
    const rows = queries.length / config.inputs;
    const began = performance.now();
    const out = new Float32Array(rows * config.outputs);
    net.predict(queries, rows, out);
    this.counts.inferences += rows;
    if (this.ctx.mode() === 'emergency') this.counts.inferences_in_emergency += rows;
    this.keepLastQuery(queries, (rows - 1) * config.inputs, config.inputs);
    this.latestAnswer = formatRowsBytes(out, config.outputs, config.scale);
    this.ctx.bus.emit('inference', { model: this.ctx.name, count: rows, seconds: (performance.now() - began) / 1000 });
    return this.faulted(this.latestAnswer);
  }

  /** Copy the query at `from` into the one array kept for it (feedback copies it out): none made per transaction. */
  private keepLastQuery(queries: Float32Array, from: number, inputs: number): void {
    if (this.lastQuery?.length !== inputs) this.lastQuery = new Float32Array(inputs);
    for (let i = 0; i < inputs; i++) this.lastQuery[i] = queries[from + i];
  }

  /** The newest answer, for a read without a write on the same open file. */
  latest(): Buffer {
    return this.faulted(this.latestAnswer ?? fail('ENODATA', 'recommendation: no recommendation yet; write inputs first'));
  }

  /** The answer as the test-only fault rewrites it (the text is ASCII). */
  private faulted(answer: Buffer): Buffer {
    return this.fault === 'none' ? answer : Buffer.from(applyFault(this.fault, answer.toString('latin1')), 'latin1');
  }

  /** The inputs and outputs changed width: an old query and answer no longer mean anything. */
  forget(): void {
    this.latestAnswer = undefined;
    this.lastQuery = undefined;
  }

  /** Parse a feedback write; corrections need a query to pair with. Throws before anything is counted. */
  parseFeedback(text: string): FeedbackLine[] {
    const config = this.ctx.config();
    const lines = parseFeedback(text, config.outputs, config.scale);
    if (lines.some((l) => l.corrected) && !this.lastQuery) fail('EINVAL', 'feedback: corrected outputs need a recommendation query to pair with');
    return lines;
  }

  /**
   * Count parsed feedback lines and pass their evidence to the mode policy; returns the training rows
   * their corrections make, if any.
   */
  account(lines: FeedbackLine[], now: number): Float32Array | undefined {
    for (const line of lines) {
      this.counts[`feedback_${line.source}`]++;
      if (line.source === 'fallback') {
        this.counts.kernel_fallbacks += line.efficiency;
        this.ctx.report.record('kernel_fallback', `count=${line.efficiency} total=${this.counts.kernel_fallbacks}`);
      } else this.ctx.evidence(line.source, line.efficiency, now);
      this.ctx.bus.emit('feedback', { model: this.ctx.name, source: line.source, efficiency: line.efficiency, corrected: !!line.corrected });
    }
    const rows = this.correctionRows(lines);
    if (rows) this.counts.samples_corrected += lines.filter((l) => l.corrected).length;
    return rows;
  }

  /** Training rows (query inputs + corrected outputs) for the corrections among `lines`, each stored CORRECTION_REPEAT times. */
  private correctionRows(lines: FeedbackLine[]): Float32Array | undefined {
    const query = this.lastQuery;
    const corrections = lines.filter((l) => l.corrected);
    if (!query || corrections.length === 0) return undefined;
    const width = query.length + this.ctx.config().outputs;
    const rows = new Float32Array(corrections.length * CORRECTION_REPEAT * width);
    let at = 0;
    for (const line of corrections) {
      for (let i = 0; i < CORRECTION_REPEAT; i++, at += width) {
        rows.set(query, at);
        rows.set(line.corrected as Float32Array, at + query.length);
      }
    }
    return rows;
  }
}

// Owns every resource limit of the protocol in one place: what a writer, reader or operator can make the
// server hold, and the errno each refusal carries. docs/protocol.md ("Limits") documents this table and
// test/reliability/limits.test.ts drives each limit to its edge.
import type { ErrnoName } from './errors.js';

export interface Limit {
  value: number;
  /** The errno of a refusal once the limit is reached; absent where the oldest goes instead. */
  errno?: ErrnoName;
}

export const LIMITS = {
  /** Model sessions that may exist at once (mkdir beyond it). */
  models: { value: 256, errno: 'ENOSPC' },
  /** Bytes one write(2) may carry to a file other than `dataset` (control, mode, config, feedback, recommendation). */
  writeBytes: { value: 65536, errno: 'EFBIG' },
  /** Samples one dataset batch (one open file, text or binary) may carry; blank and comment lines cost nothing. */
  batchSamples: { value: 1 << 20, errno: 'EFBIG' },
  /** Bytes of one dataset text line (enforced by the decoder). */
  lineBytes: { value: 65536, errno: 'EINVAL' },
  /** Files open on one model at once. */
  openPerModel: { value: 512, errno: 'EMFILE' },
  /** Files open on the whole mount at once. */
  openTotal: { value: 4096, errno: 'ENFILE' },
  /** Queries one recommendation write may carry. */
  transactionQueries: { value: 4096, errno: 'EINVAL' },
  /** Bytes of one model's training buffer (buffer_capacity × values × 4), checked at commit. */
  bufferBytes: { value: 256 * 1024 * 1024, errno: 'EINVAL' },
  /** Lines a model's `events` file retains; older lines go first (nothing is refused). */
  eventsRetained: { value: 1000 },
  /** Bytes of one event line; longer details are cut (nothing is refused). */
  eventLineBytes: { value: 512 },
} as const satisfies Record<string, Limit>;

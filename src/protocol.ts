// The wire vocabulary of /mnt/mlproxy: names, keywords and formats shared by the fs layer, the docs and kmod.
// docs/protocol.md is the written contract; test/protocol-docs.test.ts keeps the two in step.

export const ABI_VERSION = 1;

/** Model session names: what mkdir under models/ accepts. */
export const MODEL_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** Model states, in the upstream enum's order (ML_LIB_MODEL_CREATED = 1 …). */
export const STATES = ['created', 'initialized', 'started', 'running', 'stopped', 'shutting_down'] as const;
export type ModelState = (typeof STATES)[number];

/** Verbs accepted by a model's `control` file, matched exactly. */
export const VERBS = ['init', 'reinit', 'start', 'stop', 'prepare_dataset', 'discard_dataset', 'commit', 'reset', 'save', 'load'] as const;
export type Verb = (typeof VERBS)[number];

/** What `mode` accepts besides a mode name: hand the mode to the automatic policy. */
export const MODE_POLICY_AUTO = 'auto';

/**
 * Feedback line kinds: an operation that applied the model (`ml`), one that ran the kernel's default
 * (`default`), the subsystem in trouble (`critical`), and how often the kernel fell back on its own
 * because mlproxy was slow or absent (`fallback <count>`).
 */
export const FEEDBACK_SOURCES = ['ml', 'default', 'critical', 'fallback'] as const;
export type FeedbackSource = (typeof FEEDBACK_SOURCES)[number];

/**
 * Test-only fault switch values (file `fault`, present only with MLPROXY_TEST_FAULTS=1): corrupt
 * recommendations, make every training round diverge, or spoil the integer network export (`qnet_corrupt`
 * flips a byte after the checksum was computed; `qnet_withdrawn` makes `qnet` answer ENODATA).
 */
export const FAULTS = ['none', 'garbage', 'out_of_range', 'diverge', 'qnet_corrupt', 'qnet_withdrawn'] as const;
export type Fault = (typeof FAULTS)[number];

/** Binary dataset stream header (little endian), written once at the start of an open file. */
export const BINARY_DATASET = {
  magic: 0x53444c4d, // the bytes "MLDS"
  version: 1,
  headerBytes: 16,
} as const;

/** Largest magnitude a sample value may have after scaling; beyond it the write is rejected. */
export const MAX_ABS_VALUE = 1e9;

/** True when `word` is one of `list`, compared exactly. */
export function isKeyword<T extends string>(list: readonly T[], word: string): word is T {
  return (list as readonly string[]).includes(word);
}

/** A single keyword written to a file: one trailing newline is tolerated, nothing else. */
export function keywordFromWrite(text: string): string {
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}

// Owns a model's configuration: the keys, their defaults and limits, staging text writes and validating a commit.
import { fail } from '../../errors.js';
import { LIMITS } from '../../limits.js';

export interface ModelConfig {
  inputs: number;
  outputs: number;
  hidden: number[];
  learning_rate: number;
  batch_size: number;
  buffer_capacity: number;
  scale: number;
  /** Dataset writes: strict acknowledges once on disk, batch within BATCH_FLUSH_MS (needs --state-dir). */
  durability: 'strict' | 'batch';
  /** A full buffer: drop the oldest samples, or refuse the new batch with ENOSPC. */
  overflow: 'drop_oldest' | 'reject';
  /** Mode policy timing (docs/modes.md): least time in a mode before a promotion, a demotion, leaving emergency. */
  promote_dwell_ms: number;
  demote_dwell_ms: number;
  emergency_cooldown_ms: number;
  /** `on`: no new training round starts (samples are still taken in, queries and qnet still answered); `off` resumes. */
  training_pause: 'off' | 'on';
  /**
   * The inputs the novelty check judges (0-based): those that describe the situation, not a candidate the
   * subsystem asks about; `all` (the default) judges every input.
   */
  novelty_inputs: number[] | 'all';
}
export type ConfigKey = keyof ModelConfig;
export type StagedConfig = Partial<ModelConfig>;

export const DEFAULT_CONFIG: Readonly<ModelConfig> = Object.freeze({
  inputs: 1,
  outputs: 1,
  hidden: [32, 32],
  learning_rate: 0.01,
  batch_size: 32,
  buffer_capacity: 10000,
  scale: 1,
  durability: 'strict',
  overflow: 'drop_oldest',
  promote_dwell_ms: 300_000,
  demote_dwell_ms: 60_000,
  emergency_cooldown_ms: 300_000,
  training_pause: 'off',
  novelty_inputs: 'all',
});

/** Bytes one model's training buffer may take: keeps a typo in buffer_capacity from eating the host. */
export const MAX_BUFFER_BYTES = LIMITS.bufferBytes.value;

function integer(key: string, text: string, min: number, max: number): number {
  if (!/^[0-9]+$/.test(text)) fail('EINVAL', `config ${key}: "${text}" is not a whole number`);
  const value = Number(text);
  if (value < min || value > max) fail('EINVAL', `config ${key}: ${value} is outside ${min}..${max}`);
  return value;
}

function positiveNumber(key: string, text: string, max: number): number {
  const value = text.trim() === '' ? NaN : Number(text);
  if (!Number.isFinite(value) || value <= 0 || value > max) fail('EINVAL', `config ${key}: "${text}" must be a number in (0, ${max}]`);
  return value;
}

/** One parser per key; each rejects a bad value with a message naming the key. */
function oneOf<T extends string>(key: string, text: string, words: readonly T[]): T {
  if (!(words as readonly string[]).includes(text)) fail('EINVAL', `config ${key}: "${text}" is not one of ${words.join(' ')}`);
  return text as T;
}

const PARSERS: { [K in ConfigKey]: (text: string) => ModelConfig[K] } = {
  inputs: (t) => integer('inputs', t, 1, 4096),
  outputs: (t) => integer('outputs', t, 1, 1024),
  hidden: (t) => {
    if (t === 'none') return [];
    const parts = t.split(',');
    if (parts.length > 8) fail('EINVAL', `config hidden: at most 8 layers, got ${parts.length}`);
    return parts.map((p) => integer('hidden', p, 1, 4096));
  },
  learning_rate: (t) => positiveNumber('learning_rate', t, 10),
  batch_size: (t) => integer('batch_size', t, 1, 65536),
  buffer_capacity: (t) => integer('buffer_capacity', t, 1, 100_000_000),
  scale: (t) => positiveNumber('scale', t, 1e9),
  durability: (t) => oneOf('durability', t, ['strict', 'batch'] as const),
  overflow: (t) => oneOf('overflow', t, ['drop_oldest', 'reject'] as const),
  promote_dwell_ms: (t) => integer('promote_dwell_ms', t, 0, 86_400_000),
  demote_dwell_ms: (t) => integer('demote_dwell_ms', t, 0, 86_400_000),
  emergency_cooldown_ms: (t) => integer('emergency_cooldown_ms', t, 0, 86_400_000),
  training_pause: (t) => oneOf('training_pause', t, ['off', 'on'] as const),
  novelty_inputs: (t) => {
    if (t === 'all') return 'all';
    const list = t.split(',').map((p) => integer('novelty_inputs', p, 0, 4095));
    if (new Set(list).size !== list.length) fail('EINVAL', `config novelty_inputs: "${t}" names an input twice`);
    return list;
  },
};

export const CONFIG_KEYS = Object.keys(PARSERS) as ConfigKey[];

function isConfigKey(key: string): key is ConfigKey {
  return Object.hasOwn(PARSERS, key);
}

/**
 * Parse one write to `config`: `key=value` lines, blank lines and `#` comments ignored.
 * All or nothing: any bad line throws and nothing is returned to stage.
 */
export function parseConfigText(text: string): StagedConfig {
  const staged: Record<string, unknown> = {};
  let lines = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    lines++;
    const eq = line.indexOf('=');
    if (eq <= 0) fail('EINVAL', `config: "${line}" is not key=value`);
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (!isConfigKey(key)) fail('EINVAL', `config: unknown key "${key}" (known: ${CONFIG_KEYS.join(' ')})`);
    staged[key] = PARSERS[key](value);
  }
  if (lines === 0) fail('EINVAL', 'config: empty write');
  return staged as StagedConfig;
}

/** Check a complete config for rules that span keys; throws EINVAL naming the keys. */
export function validateConfig(config: ModelConfig): void {
  if (config.batch_size > config.buffer_capacity) {
    fail('EINVAL', `config batch_size: ${config.batch_size} exceeds buffer_capacity ${config.buffer_capacity}`);
  }
  const outside = config.novelty_inputs === 'all' ? undefined : config.novelty_inputs.find((i) => i >= config.inputs);
  if (outside !== undefined) fail('EINVAL', `config novelty_inputs: input ${outside} does not exist (inputs=${config.inputs}, numbered from 0)`);
  const bytes = config.buffer_capacity * (config.inputs + config.outputs) * 4;
  if (bytes > MAX_BUFFER_BYTES) {
    fail(
      'EINVAL',
      `config buffer_capacity: ${config.buffer_capacity} samples of ${config.inputs + config.outputs} values need ${bytes} bytes, over the ${MAX_BUFFER_BYTES} byte limit`,
    );
  }
}

function formatValue(value: ModelConfig[ConfigKey]): string {
  if (Array.isArray(value)) return value.length ? value.join(',') : 'none';
  return String(value);
}

export function formatConfig(config: StagedConfig): string {
  return CONFIG_KEYS.filter((k) => config[k] !== undefined)
    .map((k) => `${k}=${formatValue(config[k] as ModelConfig[ConfigKey])}\n`)
    .join('');
}

/** Keys whose new value differs from the old one. */
export function changedKeys(before: ModelConfig, after: ModelConfig): ConfigKey[] {
  return CONFIG_KEYS.filter((k) => formatValue(before[k]) !== formatValue(after[k]));
}

/** Keys that change the network's shape: committing one of them rebuilds the model. */
export const SHAPE_KEYS: readonly ConfigKey[] = ['inputs', 'outputs', 'hidden'];

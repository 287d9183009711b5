// Owns the text of the read-only views: stats lines, the dataset export, and the test-only fault rewrite.
import type { Session } from '../engine/session/session.js';
import { formatRows } from '../engine/data/codec.js';
import { qnetCacheOf } from '../engine/infer/qnet-cache.js';
import { fail } from '../errors.js';

export function renderStats(s: Session): string {
  const l = s.learner;
  const c = s.counters;
  const lines: [string, string | number][] = [
    ['state', s.state],
    ['mode', s.modes.mode],
    ['mode_policy', s.modes.policy],
    ['apply_permil', s.modes.applyPermil],
    ['generation', l.generation],
    ['samples_total', c.samples_total],
    ['samples_buffered', s.ring.size],
    ['buffer_capacity', s.ring.capacity],
    ['samples_dropped', c.samples_dropped],
    ['samples_rejected', c.samples_rejected],
    ['writes_rejected', c.writes_rejected],
    ['samples_corrected', c.samples_corrected],
    ['train_steps', l.trainSteps],
    ['train_rounds', l.trainRounds],
    ['training', l.training ? 1 : 0],
    ['loss', Number.isNaN(l.lastLoss) ? 'nan' : l.lastLoss.toPrecision(6)],
    ['rollbacks', l.rollbacks],
    ['inferences', c.inferences],
    ['inferences_in_emergency', c.inferences_in_emergency],
    ['feedback_ml', c.feedback_ml],
    ['feedback_default', c.feedback_default],
    ['feedback_critical', c.feedback_critical],
    ['feedback_fallback', c.feedback_fallback],
    ['kernel_fallbacks', c.kernel_fallbacks],
    ['config_commits', c.config_commits],
    ['buffer_bytes', s.ring.bytes],
    ['samples_restored', c.samples_restored],
  ];
  for (const [key, value] of s.modes.statsLines()) lines.push([key, value]);
  return lines.map(([k, v]) => `${k} ${v}\n`).join('');
}

/** The training buffer as dataset text, oldest first, in the units it was written in. */
export function renderDataset(s: Session): string {
  return formatRows(s.ring.toArray(), s.ring.width, s.config.scale);
}

/** Test-only: corrupt recommendations the way a broken model server would. */
export function applyFault(s: Session, answer: string): string {
  switch (s.fault) {
    case 'none':
    case 'diverge':
    case 'qnet_corrupt':
    case 'qnet_withdrawn':
      return answer;
    case 'garbage':
      return answer.replace(/[^\n]+/g, 'zz?!#');
    case 'out_of_range':
      return answer.replace(/[^\s]+/g, '999999999999');
  }
}

/** The integer network export (cached per weights generation), with the test-only qnet faults applied. */
export function renderQnet(s: Session): Buffer {
  if (s.fault === 'qnet_withdrawn') fail('ENODATA', 'qnet: withdrawn (test fault qnet_withdrawn)');
  const bytes = qnetCacheOf(s).bytes(s.learner.network?.snapshot, s.config.scale);
  if (s.fault !== 'qnet_corrupt') return bytes;
  // A copy with one byte in the middle of the body flipped after the checksum was computed; the cache stays good.
  const spoiled = Buffer.from(bytes);
  spoiled[spoiled.length >> 1] ^= 0x40;
  return spoiled;
}

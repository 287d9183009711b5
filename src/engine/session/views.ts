// Owns the text of a session's read-only views: the stats lines, the buffer as dataset text, the control
// file's last-verb line. Pure functions of what the session exposes.
import type { Session } from './session.js';
import { formatRows } from '../data/codec.js';
import { formatConfig } from './config.js';

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

/** What `control` reads: the last verb and how it ended. */
export function renderControl(s: Session): string {
  return s.lastVerb.verb ? `${s.lastVerb.verb} ${s.lastVerb.result}\n` : 'none\n';
}

/** What `config` (committed) and `config_staged` read. */
export function renderConfig(s: Session, which: 'committed' | 'staged'): string {
  return formatConfig(which === 'committed' ? s.config : s.staged);
}

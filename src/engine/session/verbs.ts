// Owns the lifecycle table: in which model states each `control` verb is allowed (docs/protocol.md, "control").
import { fail } from '../../errors.js';
import type { ModelState, Verb } from '../../protocol.js';

const ALLOWED: Record<Verb, readonly ModelState[]> = {
  init: ['created', 'initialized', 'stopped'],
  reinit: ['initialized', 'started', 'running', 'stopped'],
  start: ['initialized', 'started', 'running', 'stopped'],
  stop: ['started', 'running', 'stopped'],
  prepare_dataset: ['started', 'running'],
  discard_dataset: ['started', 'running'],
  commit: ['created', 'initialized', 'started', 'running', 'stopped'],
  reset: ['created', 'initialized', 'started', 'running', 'stopped'],
  save: ['created', 'initialized', 'started', 'running', 'stopped'],
  load: ['created', 'initialized', 'started', 'running', 'stopped'],
};

/** Throw EINVAL, naming the states that would do, unless `verb` is allowed in `state`. */
export function requireAllowed(verb: Verb, state: ModelState): void {
  if (!ALLOWED[verb].includes(state)) fail('EINVAL', `${verb}: not allowed in state ${state} (allowed: ${ALLOWED[verb].join(', ')})`);
}

/** Whether a model in `state` trains (and so counts as stale when no round lands). */
export function trainsIn(state: ModelState): boolean {
  return state === 'started' || state === 'running';
}

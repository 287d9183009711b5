// Owns the public face of src/modes: the engine imports from here and nothing here imports the engine.
export { MODES, POLICIES, CORRECTION_REPEAT, applyPermil, isMode, isPolicy, modeRank, promotionOf, demotionOf, type Mode, type Policy } from './modes.js';
export {
  DEFAULT_CAPACITY,
  createEvidence,
  recordFeedback,
  clearEvidence,
  summarize,
  confidenceAbove,
  confidenceBelow,
  type Evidence,
  type EvidenceWindow,
  type EvidenceSummary,
  type FeedbackKind,
} from './evidence.js';
export { DEFAULT_THRESHOLDS, type Thresholds } from './thresholds.js';
export { createPolicyMemory, noteSignals, noteTransition, activeSetbacks, type PolicyMemory, type Cause, type TransitionCause } from './memory.js';
export { decide, evidenceResetFor, resetForTransition, type Signals, type DecideInput, type Decision } from './policy.js';
export { NoveltyMonitor, DEFAULT_NOVELTY, type NoveltyThresholds, type NoveltyReport, type TrainedInputs, type NoveltyChange } from './novelty.js';
export { describeTransition, evidenceStats, formatNumber } from './describe.js';

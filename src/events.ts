// Owns the typed event bus: every fact the engine and fs report, and the safe way to listen to them.
import mittImport, { type Emitter } from 'mitt';

// mitt's types describe its CommonJS build while Node loads its ES build; accept either shape.
const mitt = ((mittImport as unknown as { default?: unknown }).default ?? mittImport) as typeof mittImport.default;

/** Facts that already happened; listeners (metrics, logs) must never change what happens next. */
export type Events = {
  model_created: { model: string };
  model_destroyed: { model: string };
  verb: { model: string; verb: string; ok: boolean; state: string; detail: string };
  config_committed: { model: string; changed: string[] };
  input_rejected: { model: string; file: string; reason: string };
  samples_ingested: { model: string; accepted: number; dropped: number; bytes: number; buffered: number };
  training_round: { model: string; steps: number; samples: number; loss: number; generation: number; seconds: number };
  training_diverged: { model: string; loss: number; rollbacks: number };
  inference: { model: string; count: number; seconds: number };
  feedback: { model: string; source: string; efficiency: number; corrected: boolean };
  mode_changed: { model: string; from: string; to: string; reason: string };
  fs_op: { op: string; errno: number; seconds: number };
  server: { message: string };
};

export type EventName = keyof Events;
export type Bus = Emitter<Events>;

export function createBus(): Bus {
  return mitt<Events>();
}

/** Subscribe so that a throwing listener is reported instead of breaking the emitter's caller. */
export function listen<K extends EventName>(bus: Bus, name: K, handler: (event: Events[K]) => void, onError: (err: unknown) => void = () => {}): void {
  bus.on(name, (event) => {
    try {
      handler(event);
    } catch (err) {
      onError(err);
    }
  });
}

/** Every event's name, for listeners that take all but a few (the check below keeps it in step with Events). */
export const EVENT_NAMES = [
  'model_created',
  'model_destroyed',
  'verb',
  'config_committed',
  'input_rejected',
  'samples_ingested',
  'training_round',
  'training_diverged',
  'inference',
  'feedback',
  'mode_changed',
  'fs_op',
  'server',
] as const satisfies readonly EventName[];
const everyEventNamed: Exclude<EventName, (typeof EVENT_NAMES)[number]> extends never ? true : never = true;
void everyEventNamed;

/**
 * Subscribe to every event but `except` the same way. Each name is subscribed on its own rather than through
 * mitt's '*': a wildcard listener runs (and mitt copies its list) on every event, fs_op included, which is
 * emitted for every FUSE request.
 */
export function listenAll(bus: Bus, handler: (name: EventName, event: Events[EventName]) => void, except: ReadonlySet<EventName> = new Set()): void {
  for (const name of EVENT_NAMES) {
    if (except.has(name)) continue;
    bus.on(name, (event) => {
      try {
        handler(name, event as Events[EventName]);
      } catch {
        // A broken log sink must not take the server down.
      }
    });
  }
}

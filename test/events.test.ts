// The event bus's listeners: listenAll takes every event it is not told to skip, and a throwing listener
// never reaches the emitter.
import t from 'tap';
import { createBus, listenAll, EVENT_NAMES, type EventName, type Events } from '../src/events.js';

const sample: Events = {
  model_created: { model: 'm' },
  model_destroyed: { model: 'm' },
  verb: { model: 'm', verb: 'init', ok: true, state: 'initialized', detail: '' },
  config_committed: { model: 'm', changed: ['inputs'] },
  input_rejected: { model: 'm', file: 'dataset', reason: 'x' },
  samples_ingested: { model: 'm', accepted: 1, dropped: 0, bytes: 9, buffered: 1 },
  training_round: { model: 'm', steps: 1, samples: 1, loss: 0.5, generation: 1, seconds: 0.1 },
  training_diverged: { model: 'm', loss: Infinity, rollbacks: 1 },
  inference: { model: 'm', count: 1, seconds: 1e-5 },
  feedback: { model: 'm', source: 'fallback', efficiency: 0.5, corrected: false },
  mode_changed: { model: 'm', from: 'emergency', to: 'learning', reason: 'x' },
  fs_op: { op: 'read', errno: 0, seconds: 1e-5 },
  server: { message: 'x' },
};

t.test('EVENT_NAMES names every event once', async (t) => {
  t.same([...EVENT_NAMES].sort(), Object.keys(sample).sort());
  t.equal(new Set(EVENT_NAMES).size, EVENT_NAMES.length);
});

t.test('listenAll hears every event but the skipped ones, with its own name', async (t) => {
  const bus = createBus();
  const heard: [EventName, unknown][] = [];
  const skipped = new Set<EventName>(['fs_op', 'inference']);
  listenAll(bus, (name, event) => heard.push([name, event]), skipped);
  for (const name of EVENT_NAMES) bus.emit(name, sample[name] as never);
  t.same(
    heard.map(([name]) => name),
    EVENT_NAMES.filter((n) => !skipped.has(n)),
  );
  for (const [name, event] of heard) t.equal(event, sample[name], `${name} carries its own event`);

  const all: EventName[] = [];
  listenAll(createBusWith(all), () => {});
  t.same(all, [...EVENT_NAMES], 'with nothing skipped, every name is subscribed');
});

t.test('a throwing listener does not break the emitter or the listeners after it', async (t) => {
  const bus = createBus();
  listenAll(bus, () => {
    throw new Error('broken sink');
  });
  let after = 0;
  bus.on('verb', () => after++);
  t.doesNotThrow(() => bus.emit('verb', sample.verb));
  t.equal(after, 1);
});

/** A bus that records the names subscribed to it. */
function createBusWith(names: EventName[]) {
  const bus = createBus();
  const on = bus.on.bind(bus);
  bus.on = ((name: EventName, handler: never) => {
    names.push(name);
    on(name, handler);
  }) as typeof bus.on;
  return bus;
}

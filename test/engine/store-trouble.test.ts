// What the store does in the background (meta.json, the weights, the dataset log's segments) reports each failure
// through onTrouble, which a session turns into a store_error event, as well as keeping it for `save` to answer EIO.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelStore } from '../../src/engine/store/store.js';
import { DEFAULT_CONFIG } from '../../src/engine/session/config.js';

t.test('a failed meta save and a segment that cannot start are both told', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mlproxy-trouble-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = await ModelStore.open(join(dir, 'm'), 'strict');
  const told: string[] = [];
  store.onTrouble = (message) => told.push(message);
  // The model's directory disappears under the server (an operator's rm, a lost mount).
  rmSync(join(dir, 'm'), { recursive: true, force: true });
  await store.saveMeta(() => ({ format: 1, config: { ...DEFAULT_CONFIG }, mode: 'emergency', policy: 'auto', state: 'created' }));
  t.match(told[0], /ENOENT.*meta\.json/, 'the meta save');
  // 5 MB into the open segment (still writable, though unlinked): the next segment cannot be created.
  const rows = new Float32Array((5 * 1024 * 1024) / 4);
  await store.appendSamples([rows], 4, { rows: rows.length / 4, bytes: rows.byteLength });
  await store.settle();
  t.match(told[1], /^dataset log: ENOENT/, 'the segment that could not start');
  t.equal(store.lastError, told[told.length - 1], 'and save would answer EIO with it');
  await store.close('m').catch(() => {});
});

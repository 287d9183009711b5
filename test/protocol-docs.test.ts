// docs/protocol.md is the contract: every file, verb, config key, stats key and mode in the code is in it.
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { VERBS, STATES, FEEDBACK_SOURCES, FAULTS } from '../src/protocol.js';
import { MODEL_FILES, ROOT_FILES } from '../src/fs/table.js';
import { CONFIG_KEYS } from '../src/engine/session/config.js';
import { MODES } from '../src/modes/modes.js';
import { startServer, parseStats } from './helpers/server.js';

t.test('docs/protocol.md covers the protocol', async (t) => {
  const doc = await readFile(new URL('../docs/protocol.md', import.meta.url), 'utf8');
  const sections = new Set([...doc.matchAll(/^## (\S+)/gm)].map((m) => m[1]));
  for (const file of [...Object.keys(ROOT_FILES), ...Object.keys(MODEL_FILES), 'models/']) t.ok(sections.has(file), `section for ${file}`);
  for (const verb of VERBS) t.match(doc, new RegExp(`^\\| \`${verb}\` \\|`, 'm'), `verb ${verb} in the control table`);
  for (const key of CONFIG_KEYS) t.match(doc, new RegExp(`^\\| \`${key}\` \\|`, 'm'), `config key ${key} in the config table`);
  for (const word of [...STATES, ...MODES, ...FAULTS]) t.match(doc, word, `keyword ${word}`);
  for (const source of FEEDBACK_SOURCES) t.match(doc, new RegExp(`^- \`${source}`, 'm'), `feedback ${source}`);

  const s = await startServer();
  t.teardown(() => s.stop());
  await s.sh('mkdir models/m');
  const stats = parseStats((await s.sh('cat models/m/stats')).stdout);
  const statsSection = doc.slice(doc.indexOf('## stats'), doc.indexOf('## events'));
  for (const key of Object.keys(stats)) t.match(statsSection, `\`${key}\``, `stats key ${key} documented`);
});

// The config file: staged writes, atomic commit, validation naming the key, and what commit changes.
import t from 'tap';
import { startServer, io } from '../helpers/server.js';

t.test('config staging and commit', async (t) => {
  const s = await startServer();
  t.teardown(() => s.stop());
  await s.sh('mkdir models/m');
  const dir = `${s.mnt}/models/m`;
  const cat = async (f: string) => (await s.sh(`cat models/m/${f}`)).stdout;

  t.equal(
    await cat('config'),
    'inputs=1\noutputs=1\nhidden=32,32\nlearning_rate=0.01\nbatch_size=32\nbuffer_capacity=10000\nscale=1\n' +
      'durability=strict\noverflow=drop_oldest\npromote_dwell_ms=300000\ndemote_dwell_ms=60000\nemergency_cooldown_ms=300000\ntraining_pause=off\n' +
      'novelty_inputs=all\n',
    'defaults',
  );
  t.equal(await cat('config_staged'), '', 'nothing staged');

  t.equal((await s.sh('printf "inputs=3\\n# a comment\\n\\nhidden=8\\n" > models/m/config')).code, 0);
  t.equal(await cat('config_staged'), 'inputs=3\nhidden=8\n');
  t.match(await cat('config'), /^inputs=1\n/, 'reads show committed values until commit');

  for (const [bad, key] of [
    ['inputs=0', 'inputs'],
    ['inputs=abc', 'inputs'],
    ['inputs=1.5', 'inputs'],
    ['hidden=8,,8', 'hidden'],
    ['learning_rate=-1', 'learning_rate'],
    ['learning_rate=nan', 'learning_rate'],
    ['scale=0', 'scale'],
    ['bogus=1', 'bogus'],
    ['inputsx=2', 'inputsx'],
    ['noequals', 'noequals'],
    ['batch_size=', 'batch_size'],
  ]) {
    t.equal(await io('write', `${dir}/config`, `outputs=2\n${bad}\n`), 'err EINVAL', `${bad} is refused`);
    t.match(await cat('events'), new RegExp(`rejected file=config .*${key}`), `the event names ${key}`);
  }
  t.equal(await cat('config_staged'), 'inputs=3\nhidden=8\n', 'a refused write stages nothing, not even its good lines');

  t.equal(await io('write', `${dir}/control`, 'commit'), 'ok');
  t.match(await cat('config'), /^inputs=3\noutputs=1\nhidden=8\n/);
  t.equal(await cat('config_staged'), '', 'commit empties the stage');

  // A commit that fails validation as a whole changes nothing.
  await io('write', `${dir}/config`, 'batch_size=500\nbuffer_capacity=100\n');
  t.equal(await io('write', `${dir}/control`, 'commit'), 'err EINVAL', 'batch larger than the buffer');
  t.match(await cat('events'), /batch_size: 500 exceeds buffer_capacity 100/);
  t.match(await cat('config'), /batch_size=32\nbuffer_capacity=10000\n/, 'the running config is untouched');
  t.equal(await io('write', `${dir}/config`, 'batch_size=50'), 'ok', 'fix one key of the stage');
  t.equal(await io('write', `${dir}/control`, 'commit'), 'ok');
  t.match(await cat('config'), /batch_size=50\nbuffer_capacity=100\n/);

  await io('write', `${dir}/config`, 'buffer_capacity=100000000\ninputs=4000');
  t.equal(await io('write', `${dir}/control`, 'commit'), 'err EINVAL', 'a buffer over the memory limit');

  // Shrinking the buffer keeps the newest samples; changing the width empties it.
  await io('write', `${dir}/control`, 'reset');
  // The refused stage stays staged, so fix it rather than start over.
  await io('write', `${dir}/config`, 'buffer_capacity=100\nbatch_size=10\ninputs=3');
  await io('write', `${dir}/control`, 'commit');
  await s.sh('for i in $(seq 1 50); do echo "$i $i $i $i"; done > models/m/dataset');
  await io('write', `${dir}/config`, 'buffer_capacity=20');
  await io('write', `${dir}/control`, 'commit');
  t.match(await cat('stats'), /samples_buffered 20\n/);
  t.match(await cat('stats'), /samples_dropped 30\n/);
  t.match(await cat('dataset'), /^31 31 31 31\n/, 'the oldest went first');
  await io('write', `${dir}/config`, 'inputs=2');
  await io('write', `${dir}/control`, 'commit');
  t.match(await cat('stats'), /samples_buffered 0\n/, 'samples of the old width cannot stay');
  t.match(await cat('stats'), /samples_dropped 50\n/);
  t.equal(await cat('control'), 'commit ok\n');
});

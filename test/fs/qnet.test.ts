// The model file `qnet`: the integer network export, its errnos, its per-generation caching and the two
// test faults the kernel module's guest scenario uses.
import t from 'tap';
import { crc32 } from 'node:zlib';
import { startServer, io, parseStats } from '../helpers/server.js';
import { decodeQnet, QNET } from '../../src/engine/infer/qnet-format.js';
import { evalQnet } from '../../src/engine/infer/qnet-eval.js';

t.test('qnet file', async (t) => {
  const s = await startServer();
  t.teardown(() => s.stop());
  const dir = `${s.mnt}/models/m`;
  const qnet = async () => Buffer.from((await s.sh('base64 -w0 models/m/qnet')).stdout, 'base64');
  const generation = async () => Number(parseStats((await s.sh('cat models/m/stats')).stdout).generation);

  await s.sh('mkdir models/m && printf "inputs=2\\noutputs=1\\nscale=1000\\nhidden=16,16\\n" > models/m/config && echo commit > models/m/control');
  t.equal(await io('read', `${dir}/qnet`), 'err ENODATA', 'no network before init');
  t.equal(await io('write', `${dir}/qnet`, 'x'), 'err EACCES', 'read-only, even for root');
  t.equal((await s.sh('stat -c %a models/m/qnet')).stdout.trim(), '444');

  await io('write', `${dir}/control`, 'init');
  const bytes = await qnet();
  t.equal(bytes.readUInt32LE(0), QNET.magic, 'starts with the magic');
  const net = decodeQnet(bytes);
  t.equal(net.generation, await generation(), 'header generation is the weights generation in stats');
  t.same(
    net.layers.map((l) => l.outSize),
    [16, 16, 1],
    'layer sizes of the config',
  );
  t.same(await qnet(), bytes, 'same generation: the same bytes');

  // The integer network answers like the float one (recommendation), to within rounding.
  const float = Number((await io('txn', `${dir}/recommendation`, '300 700\n')).slice(3));
  const int = evalQnet(net, [300, 700])[0];
  t.ok(Math.abs(int - float) <= 1, `integer ${int} and float ${float} agree within one unit`);

  await io('write', `${dir}/control`, 'reinit');
  const fresh = decodeQnet(await qnet());
  t.ok(fresh.generation > net.generation, 'a new generation is exported when the weights change');

  await io('write', `${dir}/fault`, 'qnet_withdrawn');
  t.equal(await io('read', `${dir}/qnet`), 'err ENODATA', 'qnet_withdrawn: ENODATA');
  await io('write', `${dir}/fault`, 'qnet_corrupt');
  const spoiled = await qnet();
  t.not(crc32(spoiled.subarray(0, spoiled.length - 4)), spoiled.readUInt32LE(spoiled.length - 4), 'qnet_corrupt: the checksum no longer matches');
  t.throws(() => decodeQnet(spoiled), /checksum/, 'and the decoder says so');
  await io('write', `${dir}/fault`, 'none');
  t.doesNotThrow(() => decodeQnet(bytes), 'the cached export was not touched');
  t.equal(decodeQnet(await qnet()).generation, fresh.generation, 'fault none: the good export again');

  // Beyond the limits: EFBIG.
  await s.sh('printf "hidden=65\\n" > models/m/config && echo commit > models/m/control');
  t.equal(await io('read', `${dir}/qnet`), 'err EFBIG', 'a hidden layer of 65 is beyond the limits');
  await s.sh('printf "hidden=32,32\\n" > models/m/config && echo commit > models/m/control');
  t.same(
    decodeQnet(await qnet()).layers.map((l) => l.outSize),
    [32, 32, 1],
    'the default width is within them',
  );
});

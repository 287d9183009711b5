// The top of the tree: version, avail_modes, models/ with mkdir and rmdir, names and their errnos.
import t from 'tap';
import { startServer, io } from '../helpers/server.js';

t.test('tree', async (t) => {
  const s = await startServer();
  t.teardown(() => s.stop());

  const version = await s.sh('cat version');
  t.match(version.stdout, /^mlproxy \d+\.\d+\.\d+ abi 1\n$/);
  t.equal((await s.sh('cat avail_modes')).stdout, 'emergency learning collaboration recommendation\n');
  t.equal((await s.sh('ls')).stdout, 'avail_modes\nmodels\nversion\n');
  t.equal(await io('write', `${s.mnt}/version`, 'x'), 'err EACCES', 'root files are read-only, even for root');

  t.equal((await s.sh('mkdir models/m1 && ls models')).stdout, 'm1\n');
  t.equal(
    (await s.sh('ls models/m1')).stdout.split('\n').filter(Boolean).join(' '),
    'control state mode apply_permil config config_staged dataset recommendation feedback stats qnet events fault model'.split(' ').sort().join(' '),
  );
  t.equal(await io('mkdir', `${s.mnt}/models/m1`), 'err EEXIST');
  for (const bad of ['Upper', '-lead', '_lead', 'a.b', 'x'.repeat(65)]) {
    t.equal(await io('mkdir', `${s.mnt}/models/${bad}`), 'err EINVAL', `name ${bad} is refused`);
  }
  t.equal(await io('mkdir', `${s.mnt}/models/${'a'.repeat(64)}`), 'ok', '64 characters is the longest name');
  t.equal(await io('mkdir', `${s.mnt}/elsewhere`), 'err EPERM', 'mkdir only under models/');
  t.equal(await io('write', `${s.mnt}/models/m1/newfile`, 'x'), 'err EPERM', 'no new files');
  t.equal(await io('read', `${s.mnt}/models/m1/nosuch`), 'err ENOENT');
  t.equal(await io('read', `${s.mnt}/models/nosuch/state`), 'err ENOENT');

  t.equal((await s.sh('rmdir models/m1 && ls models')).stdout, 'a'.repeat(64) + '\n');
  t.equal(await io('rmdir', `${s.mnt}/models/m1`), 'err ENOENT');
  t.equal(await io('mkdir', `${s.mnt}/models/m1`), 'ok', 'a removed name can be made again');
  t.equal((await s.sh('cat models/m1/state models/m1/mode')).stdout, 'created\nemergency\n', 'a fresh model is created, in emergency mode');

  const made = await s.sh('i=0; while [ $i -lt 254 ]; do mkdir models/x$i || exit 1; i=$((i+1)); done; ls models | wc -l');
  t.equal(made.stdout, '256\n', '256 models');
  t.equal(await io('mkdir', `${s.mnt}/models/one-too-many`), 'err ENOSPC', 'the 257th is refused');
});

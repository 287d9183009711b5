// Mounting and unmounting: permissions for other users, fresh content on every read, rmdir under an open
// reader, a dead mount left by a killed server, a live one refused, and clean exits on signals.
import t from 'tap';
import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { startServer, io, sh, ROOT } from '../helpers/server.js';

t.test('permissions: other users read, only root writes', async (t) => {
  const s = await startServer();
  t.teardown(() => s.stop());
  await s.sh('mkdir models/m && echo init > models/m/control');
  const dir = `${s.mnt}/models/m`;
  t.equal(await io('read', `${dir}/state`, '', 'nobody'), 'ok initialized', 'state is world-readable');
  t.match(await io('read', `${dir}/stats`, '', 'nobody'), /^ok state initialized\n/, 'stats too');
  for (const f of ['control', 'mode', 'config', 'dataset', 'recommendation', 'feedback']) {
    t.equal(await io('write', `${dir}/${f}`, 'x', 'nobody'), 'err EACCES', `${f} is root-only writable`);
  }
  t.equal(await io('mkdir', `${s.mnt}/models/evil`, '', 'nobody'), 'err EACCES', 'only root makes models');
  t.equal(await io('rmdir', dir, '', 'nobody'), 'err EACCES', 'only root removes them');
  const r = await s.sh('echo start > control', { user: 'nobody' });
  t.match(r.stderr, /Permission denied/, 'a shell user sees Permission denied');
  const log = await s.log();
  t.match(log, /"message":"model_created"/, "the server log has the engine's events");
  t.match(log, /"message":"verb"/);
  t.notMatch(log, /"message":"fs_op"/, 'but not one line per FUSE request');
});

t.test('content is never stale or cut short', async (t) => {
  const s = await startServer();
  t.teardown(() => s.stop());
  await s.sh('mkdir models/m');
  const st = await stat(`${s.mnt}/models/m/state`);
  t.equal(st.size, 0, 'dynamic files report size 0, as procfs does');
  // One open file read twice at offset 0 around a change: direct_io sends both reads to the server.
  const r = await s.sh('exec 3<models/m/state; cat <&3; echo init > models/m/control; cat /dev/null; dd bs=64 count=1 skip=0 <models/m/state 2>/dev/null');
  t.equal(r.stdout, 'created\ninitialized\n');
  const longer = await s.sh('cat models/m/state; echo init > models/m/control; echo start > models/m/control; cat models/m/state; cat models/m/stats | wc -l');
  t.match(longer.stdout, /^initialized\nstarted\n\d+\n$/, 'a longer value after a shorter one arrives whole');
  t.ok(Number(longer.stdout.trim().split('\n')[2]) >= 20, 'stats arrives whole although its size says 0');
  const pread = await sh(
    `node -e "
    const fs = require('fs'); const fd = fs.openSync('${s.mnt}/models/m/state', 'r'); const b = Buffer.alloc(64);
    const a = fs.readSync(fd, b, 0, 64, 0); const first = b.toString('utf8', 0, a);
    require('child_process').execSync('echo stop > ${s.mnt}/models/m/control');
    const n = fs.readSync(fd, b, 0, 64, 0); console.log(JSON.stringify([first, b.toString('utf8', 0, n)]));"`,
    s.mnt,
  );
  t.same(JSON.parse(pread.stdout), ['started\n', 'stopped\n'], 'pread at 0 on the same fd renders afresh');
});

t.test('events: one open reader keeps reading as the file grows', async (t) => {
  const s = await startServer();
  t.teardown(() => s.stop());
  await s.sh('mkdir models/m');
  const r = await sh(
    `node -e "
    const fs = require('fs'); const { execSync } = require('child_process');
    const fd = fs.openSync('${s.mnt}/models/m/events', 'r'); const b = Buffer.alloc(65536); let pos = 0; let text = '';
    const drain = () => { for (let n; (n = fs.readSync(fd, b, 0, b.length, pos)) > 0; pos += n) text += b.toString('utf8', 0, n); };
    drain(); const first = text;
    execSync('echo init > ${s.mnt}/models/m/control; echo bogus > ${s.mnt}/models/m/control || true', { stdio: 'ignore' });
    drain(); console.log(JSON.stringify([first, text]));"`,
    s.mnt,
  );
  const [first, all] = JSON.parse(r.stdout) as [string, string];
  t.match(first, /^\S+ created state=created mode=emergency\n$/);
  t.ok(all.startsWith(first), 'what was read stays where it was');
  t.match(all.slice(first.length), /verb init ok state created -> initialized\n.*rejected file=control/s, 'new lines follow at the end');
});

t.test('rmdir while a reader holds a file open', async (t) => {
  const s = await startServer();
  t.teardown(() => s.stop());
  await s.sh('mkdir models/m && echo init > models/m/control');
  const r = await s.sh(`exec 3<models/m/stats; exec 4>models/m/dataset; head -c 20 <&3 >/dev/null; rmdir models/m && echo removed;
    cat <&3 >/dev/null; echo "read:$?"; echo "1 2" >&4; echo "write:$?"; exec 4>&-; ls models | wc -l`);
  // libfuse's path-based API can no longer name a file whose directory is gone, so both fail with ENOENT.
  t.match(r.stdout, /removed\nread:1\nwrite:1\n/, 'reads and writes on the orphaned files fail cleanly');
  t.match(r.stderr, /cat: -: No such file or directory/);
  t.match(r.stdout, /\n0\n$/, 'the model is gone');
  t.equal((await s.sh('mkdir models/m && cat models/m/state')).stdout, 'created\n', 'the name is free again');
  t.equal((await s.sh('cat version')).code, 0, 'the server is still serving');
});

t.test('a dead mount is cleared, a live one refused, signals unmount', async (t) => {
  const first = await startServer();
  t.teardown(() => first.stop());
  const clash = await sh(`node ${ROOT}/bin/mlproxy.js serve --mountpoint ${first.mnt} --metrics-listen off`, ROOT);
  t.equal(clash.code, 1, 'a second server on a live mount exits 1');
  t.match(clash.stderr, /already served by another live mlproxy server/);
  t.equal((await first.sh('cat version')).code, 0, 'the first server is unharmed');

  first.proc.kill('SIGKILL');
  await new Promise((r) => first.proc.once('exit', r));
  const dead = await sh(`ls ${first.mnt} 2>&1`, '/');
  t.match(dead.stdout, /Transport endpoint is not connected/, 'kill -9 leaves a dead mount');

  const second = await startServer({ mnt: first.mnt, dir: first.dir });
  t.teardown(() => second.stop());
  t.equal((await second.sh('cat avail_modes')).code, 0, 'a new server clears it and serves');
  t.match(await second.log(), /clearing dead fuse(\.mlproxy)? mount/);

  const outside = await startServer();
  await sh(`fusermount -u ${outside.mnt}`, '/');
  const lostCode = await new Promise((r) => outside.proc.once('exit', r));
  t.equal(lostCode, 1, 'a server whose mount is taken away exits 1 (so systemd restarts it)');
  t.match(await outside.log(), /"message":"mount lost"/);
  await outside.stop();

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const s = await startServer();
    s.proc.kill(signal);
    const code = await new Promise((r) => s.proc.once('exit', r));
    t.equal(code, 0, `${signal} exits 0`);
    t.notMatch(await sh('cat /proc/mounts', '/').then((x) => x.stdout), s.mnt, `${signal} unmounted`);
    await s.stop();
  }
});

t.test('command line', async (t) => {
  const help = await sh(`node ${ROOT}/bin/mlproxy.js --help`, ROOT);
  t.equal(help.code, 0);
  for (const flag of ['serve', '--mountpoint', '--metrics-listen', '--log-file', '--log-level', 'MLPROXY_TEST_FAULTS']) t.match(help.stdout, flag);
  const bad = await sh(`node ${ROOT}/bin/mlproxy.js serve --bogus`, ROOT);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /Unknown option '--bogus'.*\n.*--help/);
  const nocmd = await sh(`node ${ROOT}/bin/mlproxy.js frobnicate`, ROOT);
  t.equal(nocmd.code, 2);
  t.match(nocmd.stderr, /unknown command "frobnicate"/);
  const badListen = await sh(`node ${ROOT}/bin/mlproxy.js serve --mountpoint /tmp/never-mounted-$$ --metrics-listen nonsense`, ROOT);
  t.equal(badListen.code, 1);
  t.match(badListen.stderr, /--metrics-listen: "nonsense" is not host:port or off/);
  void spawn;
});

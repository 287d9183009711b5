// SPDX-License-Identifier: GPL-2.0-only
// Test-only FUSE server for scenario 6: looks like an mlproxy mount (version "abi 1", models/synth
// exists) but never answers an open of a model file. Such a request has already reached the
// server, so SIGKILL cannot end the kernel's wait for it: only aborting the connection can.
// usage: node hang-server.cjs MOUNTPOINT   (run from a directory whose node_modules has fuse-native)
'use strict';
const Fuse = require('fuse-native');

const mnt = process.argv[2];
const now = new Date();
const VERSION = Buffer.from('mlproxy hang-test abi 1\n');
const dir = { mtime: now, atime: now, ctime: now, size: 4096, mode: 0o40755, uid: 0, gid: 0, nlink: 2 };
const file = (size) => ({ mtime: now, atime: now, ctime: now, size, mode: 0o100644, uid: 0, gid: 0, nlink: 1 });

const ops = {
  getattr(p, cb) {
    if (p === '/' || p === '/models' || p === '/models/synth') return cb(0, dir);
    if (p === '/version') return cb(0, file(VERSION.length));
    if (p.startsWith('/models/synth/')) return cb(0, file(0));
    return cb(Fuse.ENOENT);
  },
  readdir(p, cb) {
    if (p === '/') return cb(0, ['version', 'models']);
    if (p === '/models') return cb(0, ['synth']);
    return cb(0, []);
  },
  open(p, flags, cb) {
    if (p === '/version') return cb(0, 1);
    console.log(`hang-server: holding the open of ${p} forever`);
    // no cb: the request stays with the server
  },
  read(p, fd, buf, len, pos, cb) {
    const n = Math.max(0, Math.min(len, VERSION.length - pos));
    VERSION.copy(buf, 0, pos, pos + n);
    cb(n);
  },
  release(p, fd, cb) {
    cb(0);
  },
  mkdir(p, mode, cb) {
    cb(Fuse.EEXIST);
  },
};

const fuse = new Fuse(mnt, ops, { timeout: false, directIO: true, force: true, mkdir: true });
fuse.mount((err) => {
  if (err) {
    console.error('hang-server: mount failed', err);
    process.exit(1);
  }
  console.log(`hang-server: mounted on ${mnt}`);
});

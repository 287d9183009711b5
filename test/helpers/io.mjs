// Test helper run as its own process: one file operation with one syscall each way, printing the exact
// errno, so tests can check the protocol's error codes without a shell's paraphrase.
import { openSync, writeSync, readSync, closeSync, mkdirSync, rmdirSync } from 'node:fs';

const [op, path, data = ''] = process.argv.slice(2);
function readAll(fd, position) {
  const chunks = [];
  const buf = Buffer.alloc(65536);
  let pos = position;
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, pos);
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
    pos += n;
  }
  return Buffer.concat(chunks).toString();
}
try {
  let out = '';
  if (op === 'write') {
    const fd = openSync(path, 'w');
    try {
      writeSync(fd, data.replace(/\\n/g, '\n'));
    } finally {
      closeSync(fd);
    }
  } else if (op === 'read') {
    const fd = openSync(path, 'r');
    try {
      out = readAll(fd, 0);
    } finally {
      closeSync(fd);
    }
  } else if (op === 'txn') {
    const fd = openSync(path, 'r+');
    try {
      writeSync(fd, data.replace(/\\n/g, '\n'));
      out = readAll(fd, 0);
    } finally {
      closeSync(fd);
    }
  } else if (op === 'mkdir') mkdirSync(path);
  else if (op === 'rmdir') rmdirSync(path);
  else throw Object.assign(new Error('bad op'), { code: 'USAGE' });
  process.stdout.write(`ok ${out}`);
} catch (err) {
  process.stdout.write(`err ${err.code}`);
}

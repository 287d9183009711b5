// Reading a whole mlproxy file the way the protocol says (until a read returns 0 bytes). A module of its
// own, without side effects, so tools that own their signals (bench/fuzz-live.mjs) can use it too.
import { closeSync, openSync, readSync } from 'node:fs';

export function readAll(path) {
  const fd = openSync(path, 'r');
  try {
    const chunks = [];
    const buf = Buffer.alloc(65536);
    for (let pos = 0; ;) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) break;
      chunks.push(Buffer.from(buf.subarray(0, n)));
      pos += n;
    }
    return Buffer.concat(chunks).toString();
  } finally {
    closeSync(fd);
  }
}

// Test helper run as its own process: write dataset batches of BATCH samples to FILE, one open file per
// batch, forever; after each close() that returned 0, append "W B" (writer, batch) to ACKS. Every sample
// is "W B J" (inputs=2 outputs=1), so a reader can tell which batch each sample came from and whether a
// batch is whole. Exits 0 when an operation fails, printing its errno.
import { openSync, writeSync, closeSync, appendFileSync } from 'node:fs';

const [file, acks, writer, batchArg] = process.argv.slice(2);
const batch = Number(batchArg ?? 50);
for (let b = 0; ; b++) {
  const rows = Array.from({ length: batch }, (_, j) => `${writer} ${b} ${j}`).join('\n') + '\n';
  let step = 'open';
  try {
    const fd = openSync(file, 'w');
    step = 'write';
    writeSync(fd, rows);
    step = 'close';
    closeSync(fd);
  } catch (err) {
    process.stdout.write(`${step} ${err.code}\n`);
    process.exit(0);
  }
  appendFileSync(acks, `${writer} ${b}\n`);
}

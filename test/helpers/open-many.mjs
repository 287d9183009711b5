// Test helper run as its own process: open each "PATH:COUNT" argument COUNT times (read-only) and hold every
// file open, then print how many opened and the errno of the first open that failed ("opened N err CODE").
import { openSync, closeSync } from 'node:fs';

const fds = [];
let error = 'none';
outer: for (const arg of process.argv.slice(2)) {
  const at = arg.lastIndexOf(':');
  const [path, count] = [arg.slice(0, at), Number(arg.slice(at + 1))];
  for (let i = 0; i < count; i++) {
    try {
      fds.push(openSync(path, 'r'));
    } catch (err) {
      error = err.code;
      break outer;
    }
  }
}
process.stdout.write(`opened ${fds.length} err ${error}`);
for (const fd of fds) closeSync(fd);

// Owns running node-gyp for the native builds (native/build-fuse-binding.mjs, native/build-text-scan.mjs): offline,
// against the running Node's own headers, from the node-gyp that npm ci installed (a development dependency).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const root = join(dirname(new URL(import.meta.url).pathname), '..');

/** `node-gyp rebuild` in `dir` (which holds binding.gyp); throws with what the build needs when it fails. */
export function nodeGypRebuild(dir) {
  const nodeGyp = createRequire(join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js');
  // Node's own headers where Debian's nodejs (and npm's nodedir) has them, so that nothing is downloaded.
  const nodeDir = dirname(dirname(process.execPath));
  const headers = existsSync(join(nodeDir, 'include', 'node', 'node_api.h')) ? [`--nodedir=${nodeDir}`] : [];
  try {
    execFileSync(process.execPath, [nodeGyp, 'rebuild', '--silent', ...headers], { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] });
  } catch {
    throw new Error('node-gyp could not build it (it needs g++, make, python3 and Node headers: mount-scripts/setup.sh)');
  }
}

// Owns building the native text scan (native/text-scan-addon.c around native/text-scan.c) into
// build/text-scan/build/Release/text_scan.node, where src/engine/data/native-scanner.ts loads it from.
//   node native/build-text-scan.mjs          build it (skipped when the build is current)
//   node native/build-text-scan.mjs --check  exit 1 unless the built addon is the build of these sources
// x86-64 only (the SIMD is SSE); elsewhere it builds nothing and the WebAssembly build of the same scan serves.
// Needs g++, make and python3 with Node's headers (native/node-gyp.mjs), which mount-scripts/setup.sh installs.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { nodeGypRebuild } from './node-gyp.mjs';

const here = dirname(new URL(import.meta.url).pathname);
const buildDir = join(here, '..', 'build', 'text-scan');
const addon = join(buildDir, 'build', 'Release', 'text_scan.node');
const stampFile = join(buildDir, 'stamp.txt');
const SOURCES = ['text-scan-addon.c', 'text-scan.c', 'simd128-x86.h'];
const BINDING_GYP = {
  targets: [
    {
      target_name: 'text_scan',
      sources: ['text-scan-addon.c'],
      // SSSE3 for pshufb (every x86-64 CPU since 2008 has it; the addon checks before it loads).
      cflags: ['-O3', '-mssse3', '-std=gnu11', '-Wall', '-Wextra', '-Werror', '-Wno-unused-parameter'],
    },
  ],
};

function fail(message) {
  console.error(`build-text-scan: ${message}`);
  process.exit(1);
}

if (process.arch !== 'x64') {
  console.log(`build-text-scan: nothing to build on ${process.arch} (the WebAssembly scan serves)`);
  process.exit(0);
}
const sources = SOURCES.map((name) => ({ name, text: readFileSync(join(here, name)) }));
const hash = createHash('sha256');
for (const { name, text } of sources) hash.update(name).update(text);
hash.update(JSON.stringify(BINDING_GYP));
const stamp = `${hash.digest('hex')} node ${process.versions.modules}\n`;
const current = existsSync(addon) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp;

if (process.argv.includes('--check')) {
  if (!current) fail(`${addon} is not the build of native/${SOURCES.join(', native/')}: run node native/build-text-scan.mjs`);
  process.exit(0);
}
if (current) {
  console.log('build-text-scan: current');
  process.exit(0);
}
mkdirSync(buildDir, { recursive: true });
for (const { name } of sources) copyFileSync(join(here, name), join(buildDir, name));
writeFileSync(join(buildDir, 'binding.gyp'), JSON.stringify(BINDING_GYP, null, 2) + '\n');
try {
  nodeGypRebuild(buildDir);
} catch (err) {
  fail(`the addon: ${err.message}`);
}
writeFileSync(stampFile, stamp);
console.log(`build-text-scan: built ${addon}`);

#!/usr/bin/env node
// Entry point for the `mlproxy` command: the compiled CLI lives in dist/ (npm run build).
import('../dist/cli.js')
  .then((cli) => cli.main(process.argv.slice(2)))
  .catch((err) => {
    if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli.js')) {
      console.error('mlproxy: dist/ is missing; run `npm run build` first');
    } else {
      console.error(err);
    }
    process.exitCode = 1;
  });

// Owns the command line: argument parsing, help, and turning signals into a clean unmount.
import { parseArgs } from 'node:util';
import { serve } from './serve.js';
import { exitOnSignals } from './shutdown.js';
import { replayCommand } from './tools/replay.js';
import { exportCommand } from './tools/export.js';
import { usageError as reportUsageError } from './tools/command.js';
import { VERSION } from './version.js';
import type { Level } from './log.js';
import { DEFAULT_FUSE_NICE_BOOST, MAX_FUSE_NICE_BOOST } from './fs/fuse-threads.js';

const HELP = `mlproxy ${VERSION}: the user-space half of the Linux kernel ML library.
Serves model sessions as a FUSE file tree; see docs/protocol.md.

Usage:
  mlproxy serve [options]     mount and serve in the foreground until SIGINT/SIGTERM
  mlproxy replay --model NAME FILE...
                              feed stored datasets into a model through the mount, with progress
  mlproxy export NAME --format csv|jsonl [--output FILE]
                              write a model's training buffer out in real units
  mlproxy COMMAND --help      the options of replay and export
  mlproxy --help              this text
  mlproxy --version           print the version

serve options:
  --mountpoint DIR        where to mount (default /mnt/mlproxy); created if missing; a dead
                          mount left by a crashed server is cleared, a live one is refused
  --state-dir DIR         keep every model (config, mode, weights, dataset log) in DIR and bring
                          them back on the next start; import LayersModels from DIR/import/NAME/.
                          Without it models live in memory only.
  --metrics-listen ADDR   host:port for Prometheus /metrics (default 127.0.0.1:9464), or "off"
  --log-file FILE         append the JSON-lines server log to FILE (default: stderr)
  --log-level LEVEL       debug | info | warn | error (default info)
  --fuse-nice-boost N     nice levels the FUSE request threads run above the server's own
                          thread (0..39, default 10; 0 leaves them alike). Keeps transactions
                          quick while datasets stream in; raising needs root (CAP_SYS_NICE)
  --fuse-parallel-writes on|off
                          let the kernel run direct writes to one file side by side (default on;
                          kernel 6.2 or later): clients that write their queries at offset 0
                          (pwrite) do not queue behind each other in the kernel

Environment:
  MLPROXY_TF_BACKEND      TensorFlow.js backend for training: wasm (default) or cpu
  MLPROXY_METRICS_MODEL_CAP  models that get a metrics label of their own (0..256, default 64)
  MLPROXY_TEST_FAULTS=1   test only: add a per-model "fault" file that corrupts recommendations
`;

const LEVELS = ['debug', 'info', 'warn', 'error'];

/** Commands with their own options and help; they return their exit code. */
const TOOLS: Record<string, (argv: string[]) => Promise<number>> = { replay: replayCommand, export: exportCommand };

export async function main(argv: string[]): Promise<void> {
  const tool = TOOLS[argv[0] ?? ''];
  if (tool) {
    process.exitCode = await tool(argv.slice(1));
    return;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
        mountpoint: { type: 'string', default: '/mnt/mlproxy' },
        'state-dir': { type: 'string' },
        'metrics-listen': { type: 'string', default: '127.0.0.1:9464' },
        'log-file': { type: 'string' },
        'log-level': { type: 'string', default: 'info' },
        'fuse-nice-boost': { type: 'string', default: String(DEFAULT_FUSE_NICE_BOOST) },
        'fuse-parallel-writes': { type: 'string', default: 'on' },
      },
    });
  } catch (err) {
    usageError((err as Error).message);
    return;
  }
  const { values, positionals } = parsed;
  if (values.help) return void process.stdout.write(HELP);
  if (values.version) return void process.stdout.write(`mlproxy ${VERSION}\n`);
  const [command, ...rest] = positionals;
  if (command !== 'serve') return usageError(command ? `unknown command "${command}"` : 'no command given');
  if (rest.length) return usageError(`serve takes no arguments, got "${rest.join(' ')}"`);
  if (!LEVELS.includes(values['log-level'] as string)) return usageError(`--log-level must be one of ${LEVELS.join(' ')}`);
  const boost = values['fuse-nice-boost'] as string;
  // Exact digits only: Number() would take '', ' 5', '1e1' and '0x5'.
  if (!/^\d{1,2}$/.test(boost) || Number(boost) > MAX_FUSE_NICE_BOOST) {
    return usageError(`--fuse-nice-boost must be a whole number from 0 to ${MAX_FUSE_NICE_BOOST}, not "${boost}"`);
  }
  const parallelWrites = values['fuse-parallel-writes'] as string;
  if (parallelWrites !== 'on' && parallelWrites !== 'off') return usageError(`--fuse-parallel-writes must be on or off, not "${parallelWrites}"`);

  let server;
  try {
    server = await serve({
      mountpoint: values.mountpoint as string,
      stateDir: values['state-dir'],
      metricsListen: values['metrics-listen'] as string,
      logFile: values['log-file'],
      logLevel: values['log-level'] as Level,
      fuseNiceBoost: Number(boost),
      fuseParallelWrites: parallelWrites === 'on',
      testFaults: process.env.MLPROXY_TEST_FAULTS === '1',
    });
  } catch (err) {
    process.stderr.write(`mlproxy: ${(err as Error).message}\n`);
    process.exitCode = 1;
    return;
  }
  exitOnSignals(server, values.mountpoint as string, (line) => process.stderr.write(`mlproxy: ${line}\n`));
  // Someone unmounted us (umount, fusermount -u): nothing is served any more, so say so and exit
  // non-zero, which lets systemd's Restart=on-failure bring the mount back.
  void server.lost.then((why) => {
    process.stderr.write(`mlproxy: ${why}; exiting\n`);
    server.stop().then(
      () => process.exit(1),
      () => process.exit(1),
    );
  });
}

function usageError(message: string): void {
  process.exitCode = reportUsageError('mlproxy', message);
}

// Owns one running server: wires the bus, log, engine, metrics and mount together, and tears them down.
import { createBus, listenAll, type EventName } from './events.js';
import { createLogger, type Level } from './log.js';
import { Registry } from './engine/registry.js';
import { createOps } from './fs/ops.js';
import { mount, mountedAt, prepareMountpoint } from './fs/mount.js';
import { threadLocalCounts } from './fs/fuse-binding.js';
import { REQUEST_TIMEOUT_MS } from './fs/dispatch.js';
import { textScanEngine } from './engine/data/text-scan.js';
import { startMetrics } from './metrics/server.js';
import { VERSION } from './version.js';

export interface ServeOptions {
  mountpoint: string;
  /** Where models persist across restarts; without it they live in memory only. */
  stateDir?: string;
  metricsListen: string;
  logFile?: string;
  logLevel: Level;
  /** Nice levels the FUSE request threads run above the server's own thread (fs/fuse-threads.ts). */
  fuseNiceBoost: number;
  /** Let the kernel run direct writes to one file side by side (fs/mount.ts, MountOptions). */
  fuseParallelWrites: boolean;
  testFaults: boolean;
}

/** Events that are too frequent for the server log: not even listened to (bench/write-op.mjs wires its server alike). */
export const UNLOGGED_EVENTS = new Set<EventName>(['fs_op', 'inference', 'training_round', 'samples_ingested']);

/** How often the server checks that its mount is still in place. */
const MOUNT_CHECK_MS = 2000;

export interface RunningServer {
  stop: () => Promise<void>;
  metricsAddress?: string;
  /** Settles if the mount disappears while serving (unmounted from outside). */
  lost: Promise<string>;
}

export async function serve(opts: ServeOptions): Promise<RunningServer> {
  const { log, close: closeLog } = createLogger(opts.logFile, opts.logLevel);
  const bus = createBus();
  listenAll(
    bus,
    (name, event) => {
      // Feedback is frequent, but a kernel falling back on its own is worth a line every time.
      if (name !== 'feedback') log('info', name, event as Record<string, unknown>);
      else if ((event as { source: string }).source === 'fallback') log('warn', 'kernel_fallback', event as Record<string, unknown>);
    },
    UNLOGGED_EVENTS,
  );
  const registry = new Registry(bus, opts.stateDir);
  let metrics: Awaited<ReturnType<typeof startMetrics>> | undefined;
  let mounted;
  try {
    metrics = opts.metricsListen === 'off' ? undefined : await startMetrics(opts.metricsListen, bus, registry, log);
    for (const r of await registry.restore()) log('info', 'restored', { model: r.name, detail: r.detail });
    await prepareMountpoint(opts.mountpoint, (m) => log('warn', m));
    const ops = createOps({ registry, bus, log, version: VERSION, testFiles: opts.testFaults });
    mounted = await mount(opts.mountpoint, ops, {
      fuseNiceBoost: opts.fuseNiceBoost,
      parallelDirectWrites: opts.fuseParallelWrites,
      hotDispatch: {
        onTimeout: (op, path) =>
          log('warn', 'request unanswered in time: the client got ETIMEDOUT; a late answer is dropped', { op, path, seconds: REQUEST_TIMEOUT_MS / 1000 }),
      },
    });
  } catch (err) {
    await metrics?.close();
    await registry.close();
    closeLog();
    throw err;
  }
  const fixedBinding = threadLocalCounts() !== undefined;
  const textScan = textScanEngine();
  log('info', 'serving', {
    mountpoint: opts.mountpoint,
    version: VERSION,
    metrics: metrics?.address ?? 'off',
    stateDir: opts.stateDir ?? 'none',
    pid: process.pid,
    fuseThreadNice: mounted.fuseThreads.nice,
    fuseBinding: fixedBinding ? 'fixed' : 'prebuilt',
    parallelWrites: mounted.parallelDirectWrites,
    textScan,
  });
  if (!fixedBinding) {
    log(
      'warn',
      "fuse-native's prebuilt binding: every FUSE worker thread libfuse ends leaves a handle on the event loop, and each makes later requests slower; writes to one file queue in the kernel",
      {
        hint: 'build the fixed binding: node native/build-fuse-binding.mjs (mount-scripts/setup.sh does)',
      },
    );
  }
  if (textScan !== 'native' && process.arch === 'x64') {
    log('warn', `text datasets are scanned by the ${textScan} build of the scan, about 1.4 times slower than the native one`, {
      hint: 'build it: node native/build-text-scan.mjs (mount-scripts/setup.sh does)',
    });
  }
  const { error: notRaised } = mounted.fuseThreads;
  if (notRaised) {
    log('warn', 'FUSE threads left at the server priority: transactions answer slower while datasets stream in', {
      boost: opts.fuseNiceBoost,
      error: notRaised,
      hint: 'run as root (CAP_SYS_NICE), or pass --fuse-nice-boost 0 to silence this',
    });
  }
  let stopping: Promise<void> | undefined;
  let watch: NodeJS.Timeout | undefined;
  const lost = new Promise<string>((resolve) => {
    watch = setInterval(() => {
      void mountedAt(opts.mountpoint).then((m) => {
        if (m || stopping) return;
        clearInterval(watch);
        log('error', 'mount lost', { mountpoint: opts.mountpoint });
        resolve(`${opts.mountpoint} was unmounted from outside`);
      });
    }, MOUNT_CHECK_MS);
    watch.unref();
  });
  return {
    metricsAddress: metrics?.address,
    lost,
    stop() {
      clearInterval(watch);
      stopping ??= (async () => {
        // Each phase is logged with its duration, so a stop that nears src/shutdown.ts's bound says where the time went.
        const began = performance.now();
        await mounted.unmount().catch((err: Error) => log('error', 'unmount failed', { error: err.message }));
        const unmountMs = Math.round(performance.now() - began);
        log('info', 'unmounted', { mountpoint: opts.mountpoint, ms: unmountMs });
        await metrics?.close();
        await registry.close();
        log('info', 'stopped', { mountpoint: opts.mountpoint, unmountMs, closeMs: Math.round(performance.now() - began) - unmountMs });
        closeLog();
      })();
      return stopping;
    },
  };
}

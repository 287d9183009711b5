// Test helper: a real Prometheus server on loopback with its storage in a temp dir, killed and removed on every exit path.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../helpers/server.js';

export interface Prometheus {
  url: string;
  /** An instant query; throws if Prometheus says it failed (e.g. a PromQL syntax error). */
  query: (expr: string) => Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  log: () => string;
  stop: () => Promise<void>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of running) {
    try {
      p.kill('SIGKILL');
    } catch {}
  }
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Start Prometheus on loopback scraping `target` every second, with its storage in a fresh temp dir. */
export async function startPrometheus(target: string): Promise<Prometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'mlproxy-prometheus-'));
  const config = `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: mlproxy\n    static_configs:\n      - targets: ['${target}']\n`;
  await writeFile(join(dir, 'prometheus.yml'), config);
  let lastError = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const proc = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    running.add(proc);
    let output = '';
    proc.stdout?.on('data', (d) => (output += d));
    proc.stderr?.on('data', (d) => (output += d));
    let exited = false;
    const exit = new Promise<void>((resolve) => proc.on('exit', () => ((exited = true), running.delete(proc), resolve())));
    const url = `http://127.0.0.1:${port}`;
    const kill = async () => {
      if (!exited) proc.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exit, new Promise((r) => (timer = setTimeout(r, 10000)))]);
      clearTimeout(timer);
      if (!exited) {
        proc.kill('SIGKILL');
        await exit;
      }
    };
    const stop = async () => {
      await kill();
      await rm(dir, { recursive: true, force: true });
    };
    const ready = await waitFor(
      async () => {
        if (exited) return 'exited';
        const res = await fetch(`${url}/-/ready`).catch(() => undefined);
        return res?.status === 200 ? 'ready' : undefined;
      },
      30000,
      'Prometheus to be ready',
    ).catch(async (err) => {
      await stop();
      // (a Prometheus that neither became ready nor exited in 30 s is not worth another try)
      throw new Error(`${(err as Error).message}:\n${output}`);
    });
    if (ready === 'ready') {
      return {
        url,
        log: () => output,
        stop,
        async query(expr) {
          const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
          const body = (await res.json()) as { status: string; error?: string; data: { result: [] } };
          if (body.status !== 'success') throw new Error(`query ${expr}: ${body.error}`);
          return body.data.result;
        },
      };
    }
    lastError = output;
    // The port was taken between choosing and binding it: try another (keep the dir for the next try).
    if (!/address already in use/.test(output)) break;
  }
  await rm(dir, { recursive: true, force: true });
  throw new Error(`Prometheus did not start:\n${lastError}`);
}

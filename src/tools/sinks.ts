// Owns where `mlproxy export` writes: standard output, or a file replaced atomically (a temporary file
// next to it, fsynced and renamed over it), both fed text in ~1 MiB pieces.
import { constants } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ToolError, errnoOf } from './mount.js';

/** Where the export goes: text in, written in large pieces, made visible by finish(). */
export interface Sink {
  readonly name: string;
  write(text: string): Promise<void>;
  finish(): Promise<void>;
  abort(): Promise<void>;
}

export const SINK_CHUNK = 1 << 20;

/** Collects text and hands it on in ~1 MiB pieces. */
abstract class BufferedSink implements Sink {
  abstract readonly name: string;
  private parts: string[] = [];
  private size = 0;
  protected abstract put(data: string): Promise<void>;
  async write(text: string): Promise<void> {
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= SINK_CHUNK) await this.flush();
  }
  protected async flush(): Promise<void> {
    if (!this.size) return;
    const data = this.parts.join('');
    this.parts = [];
    this.size = 0;
    await this.put(data);
  }
  abstract finish(): Promise<void>;
  abstract abort(): Promise<void>;
}

export class StdoutSink extends BufferedSink {
  readonly name = 'standard output';
  private readonly ignore = () => {};
  constructor() {
    super();
    process.stdout.on('error', this.ignore); // a closed pipe is reported by the write callback
  }
  protected put(data: string): Promise<void> {
    return new Promise((resolve, reject) =>
      process.stdout.write(data, (err) => {
        if (!err) return resolve();
        // The reader went away (e.g. "| head"): stop quietly, as a program killed by SIGPIPE does.
        if (errnoOf(err) === 'EPIPE') reject(new ToolError('', 141));
        else reject(new ToolError(`writing standard output: ${err.message}`));
      }),
    );
  }
  async finish(): Promise<void> {
    try {
      await this.flush();
    } finally {
      process.stdout.off('error', this.ignore);
    }
  }
  async abort(): Promise<void> {
    process.stdout.off('error', this.ignore);
  }
}

/** A temporary file next to the target, fsynced and renamed over it on finish, removed on abort. */
export class FileSink extends BufferedSink {
  private constructor(
    readonly name: string,
    private readonly temp: string,
    private readonly fh: FileHandle,
  ) {
    super();
  }
  static async create(path: string): Promise<FileSink> {
    const temp = join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
    try {
      return new FileSink(path, temp, await open(temp, 'wx', 0o666));
    } catch (err) {
      const code = errnoOf(err);
      if (code === 'ENOENT') throw new ToolError(`cannot write ${path}: its directory ${dirname(path)} does not exist`);
      throw new ToolError(`cannot write ${path}: ${(err as Error).message}`);
    }
  }
  protected async put(data: string): Promise<void> {
    try {
      await this.fh.write(data);
    } catch (err) {
      throw new ToolError(`writing ${this.temp} (for ${this.name}): ${(err as Error).message}`);
    }
  }
  async finish(): Promise<void> {
    try {
      await this.flush();
      await this.fh.sync();
      await this.fh.close();
      await rename(this.temp, this.name);
    } catch (err) {
      await this.abort();
      throw err instanceof ToolError ? err : new ToolError(`writing ${this.name}: ${(err as Error).message}`);
    }
    // The rename is durable once the directory is; failing that is no reason to fail the export.
    const dir = await open(dirname(this.name), 'r').catch(() => undefined);
    await dir?.sync().catch(() => {});
    await dir?.close().catch(() => {});
  }
  async abort(): Promise<void> {
    await this.fh.close().catch(() => {});
    await unlink(this.temp).catch(() => {});
  }
}

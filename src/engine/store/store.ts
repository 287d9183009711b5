// Owns one model's directory under --state-dir: meta.json (config, mode, state), the weights as a
// TensorFlow.js LayersModel, and the dataset log. Every file but the log is replaced atomically.
import { mkdir, readFile, readdir, rm, unlink } from 'node:fs/promises';
import { fail } from '../../errors.js';
import { syncDir, writeAtomic } from './atomic-file.js';
import { join } from 'node:path';
import { DataLog, type BufferExtent, type Durability, type Recovered } from './datalog.js';
import type { RowBlocks } from '../data/row-blocks.js';
import { fromModelJson, toModelJson, toWeightsBin } from './modelfile.js';
import type { Snapshot } from '../infer/network.js';
import type { NetworkShape, Normalisation } from '../infer/shape.js';
import type { ModelConfig } from '../session/config.js';

/** The small record of a model that is not weights or samples: rewritten on every change. */
export interface Meta {
  format: 1;
  config: ModelConfig;
  mode: string;
  policy: string;
  state: string;
}

/** Saved weights with the normalisation they were trained with (absent when made elsewhere without it). */
export interface SavedWeights {
  weights: Float32Array[];
  normalisation: Normalisation | undefined;
}

/** Everything a store holds for a model at server start, as plain data the session restores from. */
export interface Recovery {
  meta: Meta | undefined;
  /** The dataset log's samples, `width` values a row, oldest first. */
  rows: Float32Array;
  width: number;
  /** Bytes of a torn or corrupt log tail that were cut off. */
  cutBytes: number;
  /** Weights saved for the meta's config, when the meta says the model had a network. */
  weights: SavedWeights | undefined;
}

/** Weights are saved at most this often while training publishes new ones. */
export const WEIGHTS_SAVE_INTERVAL_MS = 2000;

/** Runs async jobs one after another, coalescing repeated requests for the same job. */
class Serial {
  private tail: Promise<void> = Promise.resolve();
  private queued = new Set<string>();
  run(key: string, job: () => Promise<void>, onError: (err: Error) => void): Promise<void> {
    if (this.queued.has(key)) return this.tail;
    this.queued.add(key);
    this.tail = this.tail.then(() => {
      this.queued.delete(key);
      return job().catch(onError);
    });
    return this.tail;
  }
  idle(): Promise<void> {
    return this.tail;
  }
}

export class ModelStore {
  private readonly serial = new Serial();
  private weightsTimer: NodeJS.Timeout | undefined;
  private latestSnapshot: Snapshot | undefined;
  lastError = '';
  /** Told of every failure of the work the store does in the background (meta, weights, the log's segments). */
  onTrouble: (message: string) => void = () => {};

  private constructor(
    readonly dir: string,
    readonly log: DataLog,
    readonly recovered: Recovered,
  ) {
    log.onError = (err) => this.onError(new Error(`dataset log: ${err.message}`));
  }

  static async open(dir: string, durability: Durability): Promise<ModelStore> {
    await mkdir(join(dir, 'model'), { recursive: true });
    const { log, recovered } = await DataLog.open(dir, durability);
    return new ModelStore(dir, log, recovered);
  }

  private onError = (err: Error) => {
    this.lastError = err.message;
    this.onTrouble(err.message);
  };

  /** Queue a write of meta.json; `meta` is read when the write runs, so coalesced requests save the newest. */
  saveMeta(meta: () => Meta): Promise<void> {
    return this.serial.run('meta', () => writeAtomic(join(this.dir, 'meta.json'), JSON.stringify(meta(), null, 1) + '\n'), this.onError);
  }

  async readMeta(): Promise<Meta | undefined> {
    const text = await readFile(join(this.dir, 'meta.json'), 'utf8').catch(() => undefined);
    return text ? (JSON.parse(text) as Meta) : undefined;
  }

  /** Remember the newest weights and save them within WEIGHTS_SAVE_INTERVAL_MS. */
  weightsChanged(name: string, snapshot: Snapshot): void {
    this.latestSnapshot = snapshot;
    this.weightsTimer ??= setTimeout(() => {
      this.weightsTimer = undefined;
      void this.saveWeights(name);
    }, WEIGHTS_SAVE_INTERVAL_MS);
  }

  /**
   * Save the newest weights now. The weights file is named after the generation and model.json is
   * renamed into place last, so a crash leaves either the old pair or the new pair, never a mix.
   */
  saveWeights(name: string): Promise<void> {
    clearTimeout(this.weightsTimer);
    this.weightsTimer = undefined;
    return this.serial.run(
      'weights',
      async () => {
        const snapshot = this.latestSnapshot;
        if (!snapshot) return;
        const modelDir = join(this.dir, 'model');
        const weightsName = `weights-${snapshot.generation}.bin`;
        await writeAtomic(join(modelDir, weightsName), toWeightsBin(snapshot));
        await writeAtomic(join(modelDir, 'model.json'), toModelJson(name, snapshot, weightsName));
        await syncDir(modelDir);
        for (const f of await readdir(modelDir)) {
          if (/^weights-\d+\.bin$/.test(f) && f !== weightsName) await unlink(join(modelDir, f)).catch(() => {});
        }
      },
      this.onError,
    );
  }

  async readWeights(shape: NetworkShape): Promise<SavedWeights | undefined> {
    const modelDir = join(this.dir, 'model');
    const text = await readFile(join(modelDir, 'model.json'), 'utf8').catch(() => undefined);
    if (!text) return undefined;
    return fromModelJson(text, shape, (p) => readFile(join(modelDir, p)));
  }

  /** Read back what a previous server left: meta, the dataset log's samples, and weights that fit the meta's config. */
  async recover(defaults: ModelConfig): Promise<Recovery> {
    const meta = await this.readMeta();
    const config = { ...defaults, ...meta?.config };
    const hadNetwork = meta !== undefined && meta.state !== 'created' && meta.state !== 'shutting_down';
    const weights = hadNetwork ? await this.readWeights(config).catch(() => undefined) : undefined;
    const { rows, width, cutBytes } = this.recovered;
    return { meta, rows, width, cutBytes, weights };
  }

  /** Freeze these weights and meta on disk now (the `save` verb); throws EIO if anything failed. */
  async saveNow(name: string, snapshot: Snapshot, meta: () => Meta): Promise<void> {
    this.weightsChanged(name, snapshot);
    await Promise.all([this.saveWeights(name), this.saveMeta(meta)]);
    await this.settle();
    if (this.lastError) fail('EIO', `save: ${this.lastError}`);
  }

  /** Append a batch to the dataset log (`buffer`: what the buffer holds with it); settles once it is on disk under durability=strict. */
  appendSamples(rows: RowBlocks, width: number, buffer: BufferExtent): Promise<void> {
    return this.log.append(rows, width, buffer);
  }

  /** The buffer was emptied: the dataset log keeps nothing stored before (a reset, discard_dataset, a new row width). */
  resetLog(): Promise<void> {
    return this.log.reset();
  }

  set durability(durability: Durability) {
    this.log.durability = durability;
  }

  /** Everything queued is on disk. */
  async settle(): Promise<void> {
    await this.serial.idle();
    await this.log.flush().catch(this.onError);
  }

  async close(name: string): Promise<void> {
    if (this.weightsTimer) await this.saveWeights(name);
    await this.settle();
    await this.log.close();
  }

  /** rmdir: the model's files go with it. */
  async destroy(): Promise<void> {
    clearTimeout(this.weightsTimer);
    this.weightsTimer = undefined;
    await this.serial.idle();
    await this.log.close().catch(() => {});
    await rm(this.dir, { recursive: true, force: true });
  }
}

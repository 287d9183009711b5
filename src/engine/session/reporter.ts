// Owns how a model session reports: event lines (the `events` file and the server log) and bad input,
// which always gets an event line, an `input_rejected` bus event and the MlError the writer sees as errno.
import { MlError } from '../../errors.js';
import type { Bus } from '../../events.js';
import { isKeyword, keywordFromWrite } from '../../protocol.js';
import { EventLog } from './eventlog.js';

export class Reporter {
  readonly events = new EventLog();

  constructor(
    private readonly model: string,
    private readonly bus: Bus,
  ) {}

  /** Add a line to the events file and the server log. */
  record(kind: string, details: string): void {
    this.events.add(kind, details);
  }

  /** Report bad input: an event line, a bus event, and the MlError to throw. */
  reject(file: string, err: unknown): never {
    const reason = err instanceof Error ? err.message : String(err);
    this.record('rejected', `file=${file} ${reason}`);
    this.bus.emit('input_rejected', { model: this.model, file, reason });
    throw err instanceof MlError ? err : new MlError('EINVAL', reason);
  }

  /** Run a parser or check; if it throws, report the input as rejected and rethrow. */
  validated<T>(file: string, check: () => T): T {
    try {
      return check();
    } catch (err) {
      return this.reject(file, err);
    }
  }

  /** A write that must be exactly one keyword from `list` (one trailing newline allowed). */
  keyword<T extends string>(file: string, list: readonly T[], text: string): T {
    const word = keywordFromWrite(text);
    if (!isKeyword(list, word)) this.reject(file, new MlError('EINVAL', `${file}: "${word.slice(0, 32)}" is not one of ${list.join(' ')}`));
    return word;
  }
}

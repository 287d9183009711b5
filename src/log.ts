// Owns the server log: one JSON object per line, to stderr or to a file.
import { createWriteStream, type WriteStream } from 'node:fs';

export type Level = 'debug' | 'info' | 'warn' | 'error';
export type Logger = (level: Level, message: string, fields?: Record<string, unknown>) => void;

export function createLogger(destination: string | undefined, minLevel: Level = 'info'): { log: Logger; close: () => void } {
  const order: Level[] = ['debug', 'info', 'warn', 'error'];
  const floor = order.indexOf(minLevel);
  let stream: WriteStream | undefined;
  if (destination && destination !== '-') stream = createWriteStream(destination, { flags: 'a' });
  const log: Logger = (level, message, fields = {}) => {
    if (order.indexOf(level) < floor) return;
    const line = JSON.stringify({ time: new Date().toISOString(), level, message, ...fields }) + '\n';
    if (stream) stream.write(line);
    else process.stderr.write(line);
  };
  return { log, close: () => stream?.end() };
}

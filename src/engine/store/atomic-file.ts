// Owns replacing a file atomically (write a temporary file, fdatasync it, rename it over the old one) and making
// a directory's entries durable.
import { open, rename } from 'node:fs/promises';

/** After a crash the file holds either its old content or `data`, never a mix or a torn write. */
export async function writeAtomic(path: string, data: string | Buffer): Promise<void> {
  const temp = `${path}.tmp`;
  const fh = await open(temp, 'w');
  try {
    await fh.writeFile(data);
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await rename(temp, path);
}

/** Make `dir`'s entries durable: a file created, renamed or removed in it survives a crash as it is now. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

// Owns replacing a file atomically: write a temporary file, fdatasync it, rename it over the old one.
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

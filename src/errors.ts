// Owns the error type the engine throws and the single mapping from it to a FUSE errno.

/** The errno names the protocol uses, and only those: docs/protocol.md documents which file returns which. */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  EBADF: 9,
  EACCES: 13,
  EEXIST: 17,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  EFBIG: 27,
  ENOSPC: 28,
  ENODATA: 61,
} as const;
export type ErrnoName = keyof typeof ERRNO;

/** An expected failure: carries the errno the caller should see and a message for the log. */
export class MlError extends Error {
  constructor(
    readonly code: ErrnoName,
    message: string,
  ) {
    super(message);
    this.name = 'MlError';
  }
}

export function fail(code: ErrnoName, message: string): never {
  throw new MlError(code, message);
}

/**
 * The one place an error becomes a (negative) errno for the binding.
 * Anything that is not an MlError is a bug: it becomes EIO and `onBug` hears about it.
 */
export function toErrno(err: unknown, onBug: (err: unknown) => void): number {
  if (err instanceof MlError) return -ERRNO[err.code];
  onBug(err);
  return -ERRNO.EIO;
}

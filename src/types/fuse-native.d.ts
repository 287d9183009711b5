// Type declarations for the parts of fuse-native 2.2.6 that mlproxy uses (the package ships none).
declare module 'fuse-native' {
  class Fuse {
    constructor(mnt: string, ops: object, opts?: Record<string, unknown>);
    mnt: string;
    opts: Record<string, unknown>;
    mount(cb: (err: Error | null) => void): void;
    unmount(cb: (err: Error | null) => void): void;
    _fuseOptions(): string;
    /** The handler the binding calls for each op code; read by the binding when it mounts. */
    _handlers: Array<(...args: never[]) => void>;
    static unmount(mnt: string, cb: (err: Error | null) => void): void;
  }
  export = Fuse;
}

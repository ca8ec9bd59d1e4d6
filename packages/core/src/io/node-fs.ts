/**
 * File access for the loaders, through Node's `fs/promises` imported on first
 * use, so that the io modules still load in browsers (where only the
 * buffer-based functions work). The specifier is a variable so bundlers leave
 * it alone.
 */
import type { FileHandle } from 'node:fs/promises';

type FsPromises = typeof import('node:fs/promises');
type PathModule = typeof import('node:path');
type UrlModule = typeof import('node:url');

export interface NodeModules {
  fs: FsPromises;
  path: PathModule;
  url: UrlModule;
}

let modules: Promise<NodeModules> | undefined;

function importNode<T>(specifier: string): Promise<T> {
  return import(/* @vite-ignore */ /* webpackIgnore: true */ specifier) as Promise<T>;
}

/** Node's fs/promises, path and url modules; fails with a clear message outside Node. */
export function nodeModules(): Promise<NodeModules> {
  modules ??= Promise.all([
    importNode<FsPromises>('node:fs/promises'),
    importNode<PathModule>('node:path'),
    importNode<UrlModule>('node:url'),
  ]).then(
    ([fs, path, url]) => ({ fs, path, url }),
    (e: unknown) => {
      modules = undefined;
      throw new Error(`reading and writing files needs Node.js (node:fs could not be loaded: ${(e as Error).message}); in a browser, fetch the bytes and use the *FromBuffer / parse* functions`);
    },
  );
  return modules;
}

/** A path given as a string or a file: URL, as a string. */
export async function pathString(p: string | URL): Promise<string> {
  if (typeof p === 'string') return p;
  return (await nodeModules()).url.fileURLToPath(p);
}

const CHUNK = 1 << 30;

/** Reads exactly `length` bytes at `position`, or throws `onShort(bytesRead)`. */
export async function readRange(fh: FileHandle, position: number, length: number, onShort: (got: number) => never): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(out, done, Math.min(CHUNK, length - done), position + done);
    if (bytesRead === 0) onShort(done);
    done += bytesRead;
  }
  return out;
}

/** Writes all of `bytes` at `position`. */
export async function writeAll(fh: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, done, Math.min(CHUNK, bytes.length - done), position + done);
    done += bytesWritten;
  }
}

/**
 * Writes a file atomically: `write` fills a temporary file in the same
 * directory, which is fsynced, closed and renamed over `target`; the directory
 * is then fsynced (best effort). If anything fails the temporary file is
 * removed and an existing `target` is left untouched.
 */
export async function writeFileAtomic(target: string, write: (fh: FileHandle) => Promise<void>): Promise<void> {
  const { fs, path } = await nodeModules();
  const dir = path.dirname(target);
  const pid = (globalThis as { process?: { pid?: number } }).process?.pid ?? 0;
  const tmp = path.join(dir, `.${path.basename(target)}.${pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  const fh = await fs.open(tmp, 'wx');
  let ok = false;
  let error: unknown;
  try {
    await write(fh);
    await fh.sync();
    ok = true;
  } catch (e) {
    error = e;
  }
  try {
    await fh.close();
  } catch (e) {
    if (ok) {
      ok = false;
      error = e;
    }
  }
  if (ok) {
    try {
      await fs.rename(tmp, target);
    } catch (e) {
      ok = false;
      error = e;
    }
  }
  if (!ok) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw error;
  }
  try {
    const dh = await fs.open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch {
    // Directory fsync is not possible everywhere (e.g. Windows); the rename itself is atomic.
  }
}

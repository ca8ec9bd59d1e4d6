import type { Storage } from './backend.js';

/** Takes one reference on a storage. */
export function retain(storage: Storage): void {
  storage.refs++;
}

/** Drops one reference; frees the storage on its backend when none remain. */
export function release(storage: Storage): void {
  if (storage.refs <= 0) throw new Error(`storage on '${storage.backend.name}' released more often than retained`);
  storage.refs--;
  if (storage.refs === 0) storage.backend.free(storage);
}

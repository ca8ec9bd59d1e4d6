import { arrayMatchesDType, type TypedArray } from '../tensor/dtype.js';
import type { Backend, Storage } from './backend.js';

/**
 * Checks every backend makes on the storages core hands it, so that the
 * messages are the same on all of them. A backend's storage class carries a
 * `freed` flag set by `markFreed`.
 */
export interface CheckedStorage extends Storage {
  freed: boolean;
}

type StorageClass<S> = abstract new (...args: never[]) => S;

/** `storage` as the backend's own storage class, or an error naming the backend that owns it. */
export function ownStorage<S extends CheckedStorage>(backend: Backend, cls: StorageClass<S>, storage: Storage, what: string): S {
  if (!(storage instanceof cls) || storage.backend !== backend) {
    throw new Error(`${backend.name}: ${what} of a storage that belongs to backend '${storage.backend.name}'`);
  }
  return storage;
}

/** As `ownStorage`, and not yet freed. */
export function liveStorage<S extends CheckedStorage>(backend: Backend, cls: StorageClass<S>, storage: Storage, what: string): S {
  const s = ownStorage(backend, cls, storage, what);
  if (s.freed) throw new Error(`${backend.name}: ${what} of a freed storage`);
  return s;
}

/** Marks a storage freed, rejecting a second free. */
export function markFreed(backend: Backend, s: CheckedStorage): void {
  if (s.freed) throw new Error(`${backend.name}: storage of ${s.size} ${s.dtype} elements was freed twice`);
  s.freed = true;
}

/** Validates a host write: the array type matches the storage dtype and the range fits. */
export function checkWrite(backend: Backend, s: Storage, data: TypedArray, offset: number): void {
  if (!arrayMatchesDType(data, s.dtype)) {
    throw new TypeError(`${backend.name}: write of a ${data.constructor.name} into ${s.dtype} storage; encode it with fromNumbers(values, '${s.dtype}')`);
  }
  if (!Number.isInteger(offset) || offset < 0 || offset + data.length > s.size) {
    throw new RangeError(`${backend.name}: write of ${data.length} elements at offset ${offset} overruns storage of ${s.size}`);
  }
}

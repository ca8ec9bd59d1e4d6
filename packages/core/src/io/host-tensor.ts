/**
 * Moving tensors between backends and host arrays for the file formats:
 * raw storage elements (f16/bf16 as bits, never decoded) in row-major order.
 */
import type { Backend } from '../backend/backend.js';
import { tensor } from '../ops/creation.js';
import { allocArray, type TypedArray } from '../tensor/dtype.js';
import { isContiguous, shapeSize } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import type { HostTensor } from './safetensors-write.js';

/** Where loaded tensors are created. */
export interface LoadOptions {
  /** Backend instance or name; the current backend by default. */
  backend?: Backend | string;
}

/** Whether a value is a core Tensor (by its marker, so duplicated bundles still work). */
export function isTensor(v: unknown): v is Tensor {
  return typeof v === 'object' && v !== null && (v as { __isTensor?: unknown }).__isTensor === true;
}

/**
 * The elements of `t` as stored (f16/bf16 as raw bit patterns), densely in
 * row-major order. Works for views (slices, transposes) of a storage.
 */
export async function readRawElements(t: Tensor, name = t.name ?? `#${t.id}`): Promise<TypedArray> {
  if (t.isDisposed) throw new Error(`cannot save tensor '${name}': it was disposed`);
  const raw = await t.backend.read(t.storage);
  const size = t.size;
  if (isContiguous(t.shape, t.strides)) return t.offset === 0 && raw.length === size ? raw : raw.slice(t.offset, t.offset + size);
  const out = allocArray(t.dtype, size);
  const rank = t.rank;
  const idx = new Array<number>(rank).fill(0);
  let src = t.offset;
  for (let i = 0; i < size; i++) {
    out[i] = raw[src]!;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      src += t.strides[d]!;
      if (idx[d]! < t.shape[d]!) break;
      src -= t.strides[d]! * t.shape[d]!;
      idx[d] = 0;
    }
  }
  return out;
}

/** A host copy of a tensor's dtype, shape and raw elements. */
export async function toHostTensor(t: Tensor, name?: string): Promise<HostTensor> {
  return { dtype: t.dtype, shape: [...t.shape], data: await readRawElements(t, name) };
}

/** Creates a backend tensor from host elements and names it. */
export function fromHostTensor(name: string, host: HostTensor, options: LoadOptions = {}): Tensor {
  if (host.data.length !== shapeSize(host.shape)) {
    throw new Error(`tensor '${name}': ${host.data.length} elements do not fill shape [${host.shape.join(', ')}]`);
  }
  const t = tensor(host.data, host.shape, { dtype: host.dtype, backend: options.backend });
  t.name = name;
  return t;
}

/** Disposes tensors created so far when a multi-tensor load fails, then rethrows. */
export function disposeAll(tensors: Iterable<Tensor>): void {
  for (const t of tensors) t.dispose();
}

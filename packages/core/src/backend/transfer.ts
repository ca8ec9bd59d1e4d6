import { emptyTensor } from './dispatch.js';
import { backendByName, getBackend } from './registry.js';
import type { Backend, MemoryInfo } from './backend.js';
import { contiguous } from '../ops/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/** Live memory of a backend (the current one by default). */
export function memory(backend: Backend | string = getBackend()): MemoryInfo {
  return (typeof backend === 'string' ? backendByName(backend) : backend).memory();
}

/** Copies a tensor to another backend (a new leaf tensor; no gradient flows across). */
export async function toBackend(t: Tensor, target: Backend | string): Promise<Tensor> {
  const b = typeof target === 'string' ? backendByName(target) : target;
  const src = contiguous(t);
  const raw = await src.backend.read(src.storage);
  const out = emptyTensor(t.shape, t.dtype, b);
  b.write(out.storage, src.offset === 0 && raw.length === t.size ? raw : raw.slice(src.offset, src.offset + t.size));
  if (src !== t) src.dispose();
  return out;
}

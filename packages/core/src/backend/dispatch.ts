import { DTypeError, formatShape } from '../errors.js';
import type { DType } from '../tensor/dtype.js';
import { shapeSize, type Shape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import type { Backend, View } from './backend.js';
import { getBackend, getKernel } from './registry.js';

/** Shape and dtype of a kernel output. */
export interface OutputSpec {
  shape: Shape;
  dtype: DType;
}

/** Allocates an uninitialised contiguous tensor on a backend. */
export function emptyTensor(shape: Shape, dtype: DType, backend: Backend = getBackend()): Tensor {
  if (!backend.supportsDType(dtype)) throw new DTypeError(`backend '${backend.name}' does not support dtype ${dtype}`);
  return new Tensor(backend.alloc(dtype, shapeSize(shape)), shape);
}

/** The backend all inputs live on; mixing backends is an error naming the op. */
export function commonBackend(op: string, inputs: { backend: Backend }[]): Backend {
  if (inputs.length === 0) return getBackend();
  const b = inputs[0]!.backend;
  for (const t of inputs) {
    if (t.backend !== b) {
      throw new Error(`${op}: inputs live on different backends ('${b.name}' and '${t.backend.name}'); move them with toBackend()`);
    }
  }
  return b;
}

/**
 * Runs a registered kernel: allocates the outputs on the inputs' backend and
 * calls the backend's implementation. Ops are built on this.
 */
export function runKernel(name: string, inputs: (Tensor | View)[], outputs: OutputSpec[], attrs: object = {}, backend?: Backend): Tensor[] {
  const b = backend ?? commonBackend(name, inputs.map(storageOwner));
  const impl = getKernel(name, b.name);
  const outs = outputs.map((o) => emptyTensor(o.shape, o.dtype, b));
  try {
    impl(b, { inputs: inputs.map(toView), outputs: outs.map((t) => t.view()), attrs: attrs as Record<string, unknown> });
  } catch (e) {
    // A failing kernel (e.g. an index out of range) must not leak its outputs.
    for (const t of outs) t.dispose();
    throw e;
  }
  return outs;
}

function toView(x: Tensor | View): View {
  return x instanceof Tensor ? x.view() : x;
}

function storageOwner(x: Tensor | View): { backend: Backend } {
  return x instanceof Tensor ? x : x.storage;
}

/** A kernel input view of `t` broadcast to `shape` (stride 0 on broadcast axes). */
export function broadcastView(t: Tensor, shape: Shape): View {
  const rank = shape.length;
  const strides = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const src = i - (rank - t.rank);
    strides[i] = src < 0 || t.shape[src] === 1 ? 0 : t.strides[src]!;
  }
  return { storage: t.storage, dtype: t.dtype, shape, strides, offset: t.offset };
}

/** Runs a kernel that writes into an existing tensor view (only `copy` does). */
export function runKernelInto(name: string, inputs: Tensor[], target: Tensor, attrs: object = {}): void {
  const b = commonBackend(name, [...inputs, target]);
  getKernel(name, b.name)(b, { inputs: inputs.map((t) => t.view()), outputs: [target.view()], attrs: attrs as Record<string, unknown> });
}

/** Throws a DTypeError unless all tensors share one dtype. */
export function assertSameDType(op: string, ...ts: Tensor[]): DType {
  const d = ts[0]!.dtype;
  for (const t of ts) {
    if (t.dtype !== d) {
      throw new DTypeError(`${op}: dtype mismatch: ${ts.map((x) => `${x.dtype}${formatShape(x.shape)}`).join(' vs ')}; convert one with cast(x, dtype)`);
    }
  }
  return d;
}

/** Throws a DTypeError unless the dtype is a float type. */
export function assertFloat(op: string, t: Tensor): void {
  if (t.dtype !== 'f32' && t.dtype !== 'f64' && t.dtype !== 'f16' && t.dtype !== 'bf16') {
    throw new DTypeError(`${op}: expected a float tensor, got ${t.dtype}${formatShape(t.shape)}`);
  }
}

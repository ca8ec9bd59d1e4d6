import type { Backend, Storage, View } from '../backend/backend.js';
import { release, retain } from '../backend/memory.js';
import { trackTensor } from '../backend/scope.js';
import { DisposedTensorError, ShapeError, formatShape } from '../errors.js';
import type { GradNode } from '../autograd/node.js';
import { allocArray, toFloat32, type DType, type TypedArray } from './dtype.js';
import { contiguousStrides, isContiguous, shapeSize, shapesEqual, type Shape } from './shape.js';

/** Options of `Tensor.backward` (same as the `backward` function's). */
export interface TensorBackwardOptions {
  /** Keep the graph for another backward through it. */
  retainGraph?: boolean;
}

type BackwardImpl = (root: Tensor, grad?: Tensor, opts?: TensorBackwardOptions) => void;
let backwardImpl: BackwardImpl | null = null;

/** Wires `Tensor.backward` to the autograd engine (autograd/tensor-backward.ts does this on import). */
export function installBackwardMethod(fn: BackwardImpl): void {
  backwardImpl = fn;
}

let nextId = 1;
let liveTensorCount = 0;

/** Number of tensors created and not yet disposed (all backends). */
export function liveTensors(): number {
  return liveTensorCount;
}

/** Nested number arrays returned by `Tensor.array()`. */
export type NestedArray = number | NestedArray[];

/**
 * An n-dimensional array on a backend. Data may live on a GPU, so reading is
 * asynchronous (`await t.data()`); `dataSync()` works only where the backend
 * can read synchronously (CPU backends). Several tensors may share one storage
 * (views from reshape/transpose/slice/expand).
 */
export class Tensor {
  /** Marker used instead of instanceof so tensors from duplicated bundles are still recognised. */
  readonly __isTensor = true;
  readonly id = nextId++;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Element strides of each axis in the storage (0 for broadcast axes). */
  strides: readonly number[];
  /** Element offset of the first element in the storage. */
  offset: number;
  /** Whether gradients flow to this tensor. Leaf tensors with it set receive `.grad`. */
  requiresGrad = false;
  /** Accumulated gradient of a leaf tensor after `backward()`. */
  grad: Tensor | null = null;
  /** The autograd node that produced this tensor (null for leaves). */
  gradNode: GradNode | null = null;
  /** Which output of `gradNode` this tensor is. */
  outputIndex = 0;
  /** Optional name (parameters carry their dotted name). */
  name?: string;
  private _storage: Storage;
  private _disposed = false;

  /** Wraps storage; takes a reference on it. Use the creation ops (`tensor`, `zeros`, …) instead. */
  constructor(storage: Storage, shape: Shape, strides?: readonly number[], offset = 0) {
    this._storage = storage;
    this.dtype = storage.dtype;
    this.shape = Object.freeze([...shape]);
    this.strides = strides ? [...strides] : contiguousStrides(shape);
    this.offset = offset;
    retain(storage);
    liveTensorCount++;
    trackTensor(this);
  }

  get storage(): Storage {
    if (this._disposed) throw new DisposedTensorError(`tensor #${this.id}${this.name ? ` (${this.name})` : ''} ${formatShape(this.shape)} was disposed and cannot be used`);
    return this._storage;
  }

  get backend(): Backend {
    return this.storage.backend;
  }

  get size(): number {
    return shapeSize(this.shape);
  }

  get rank(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  isContiguous(): boolean {
    return isContiguous(this.shape, this.strides);
  }

  /** How kernels see this tensor. */
  view(): View {
    return { storage: this.storage, dtype: this.dtype, shape: this.shape, strides: this.strides, offset: this.offset };
  }

  /** Releases this tensor's reference to its storage. Safe to call twice. */
  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    liveTensorCount--;
    release(this._storage);
    const node = this.gradNode;
    this.gradNode = null;
    node?.unref();
  }

  /**
   * Replaces this tensor's contents with `other`'s (same shape and dtype) by
   * sharing its storage. Used by optimizers to update parameters in place;
   * only allowed on tensors that no op produced.
   */
  assign(other: Tensor): this {
    if (this.gradNode) throw new Error(`assign: tensor #${this.id} was produced by an op; only leaf tensors can be assigned`);
    if (!shapesEqual(this.shape, other.shape)) {
      throw new ShapeError(`assign: shape ${formatShape(other.shape)} does not match ${formatShape(this.shape)}${this.name ? ` of '${this.name}'` : ''}`);
    }
    if (other.dtype !== this.dtype) throw new ShapeError(`assign: dtype ${other.dtype} does not match ${this.dtype}${this.name ? ` of '${this.name}'` : ''}`);
    if (other.backend !== this.backend) throw new Error(`assign: tensor is on '${other.backend.name}', target on '${this.backend.name}'`);
    const next = other.storage;
    retain(next);
    release(this.storage);
    this._storage = next;
    this.strides = [...other.strides];
    this.offset = other.offset;
    return this;
  }

  /** Reads the elements in row-major order. f16/bf16 are decoded to a Float32Array. */
  async data(): Promise<TypedArray> {
    const raw = await this.backend.read(this.storage);
    return this.decode(raw);
  }

  /** Synchronous read; throws on backends that cannot read synchronously. */
  dataSync(): TypedArray {
    const backend = this.backend;
    if (!backend.readSync) throw new Error(`dataSync(): backend '${backend.name}' reads asynchronously; use await tensor.data()`);
    return this.decode(backend.readSync(this.storage));
  }

  /** Elements as a nested array matching the shape. */
  async array(): Promise<NestedArray> {
    return nest(await this.data(), this.shape);
  }

  /** The single element of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new ShapeError(`item(): tensor has ${this.size} elements, expected 1`);
    return (await this.data())[0]!;
  }

  /** Reverse-mode differentiation from this tensor; same as `backward(this, grad, opts)`. */
  backward(grad?: Tensor, opts?: TensorBackwardOptions): void {
    if (!backwardImpl) throw new Error('Tensor.backward: the autograd engine is not loaded (import @adapterkit/core)');
    backwardImpl(this, grad, opts);
  }

  toString(): string {
    return `Tensor(#${this.id}, ${formatShape(this.shape)}, ${this.dtype}, ${this._disposed ? 'disposed' : this._storage.backend.name})`;
  }

  private decode(raw: TypedArray): TypedArray {
    const dense = gatherStrided(raw, this.shape, this.strides, this.offset, this.dtype);
    return this.dtype === 'f16' || this.dtype === 'bf16' ? toFloat32(dense, this.dtype) : dense;
  }
}

/** Copies a strided view of a host array into a new dense array (no copy when already dense). */
function gatherStrided(raw: TypedArray, shape: Shape, strides: readonly number[], offset: number, dtype: DType): TypedArray {
  const size = shapeSize(shape);
  if (isContiguous(shape, strides)) {
    return offset === 0 && raw.length === size ? raw : raw.slice(offset, offset + size);
  }
  const out = allocArray(dtype, size);
  const rank = shape.length;
  const idx = new Array<number>(rank).fill(0);
  let src = offset;
  for (let i = 0; i < size; i++) {
    out[i] = raw[src]!;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      src += strides[d]!;
      if (idx[d]! < shape[d]!) break;
      src -= strides[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
  return out;
}

function nest(data: TypedArray, shape: Shape): NestedArray {
  if (shape.length === 0) return data[0]!;
  let pos = 0;
  const build = (d: number): NestedArray[] => {
    const out: NestedArray[] = [];
    for (let i = 0; i < shape[d]!; i++) out.push(d === shape.length - 1 ? data[pos++]! : build(d + 1));
    return out;
  };
  return build(0);
}

import type { Backend } from '../backend/backend.js';
import { runKernel, runKernelInto, type OutputSpec } from '../backend/dispatch.js';
import { backendByName, hasKernel } from '../backend/registry.js';
import { memory } from '../backend/transfer.js';
import { tensor } from '../ops/creation.js';
import { isFloat, type DType, type TypedArray } from '../tensor/dtype.js';
import { contiguousStrides, shapeSize, type Shape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { compareArrays, scaleAtol, type CompareResult, type Tolerance } from './compare.js';
import { visibleMask, type LayoutSpec } from './layouts.js';
import { resolveTolerance } from './tolerances.js';

/** A host array uploaded to both backends as a contiguous tensor. */
export interface HostArray {
  values: ArrayLike<number>;
  shape: readonly number[];
  dtype: DType;
}

/** One output to compare. */
export interface CaseOutput {
  name: string;
  tensor: Tensor;
  /** Multiplies atol (reductions whose error grows with length); default 1. */
  atolScale?: number;
}

/**
 * What a case body gets: the backend, and helpers that track everything they
 * create so the runner can dispose it even when a kernel throws.
 */
export interface CaseContext {
  readonly backend: Backend;
  /** A strided view of `t`'s storage (a Tensor sharing the storage). */
  view(t: Tensor, shape: Shape, strides: readonly number[], offset: number): Tensor;
  /** A contiguous view of `shape` starting at element `offset` of `t`'s storage. */
  at(t: Tensor, shape: Shape, offset: number): Tensor;
  /** runKernel, with its outputs tracked. */
  kernel(name: string, inputs: Tensor[], outputs: OutputSpec[], attrs?: object): Tensor[];
  /** runKernelInto (copy into a strided target). */
  into(name: string, inputs: Tensor[], target: Tensor, attrs?: object): void;
  /** Tracks a tensor made another way (composed ops), for disposal. */
  track<T extends Tensor>(t: T): T;
}

/** One conformance case: inputs built on the host, a body run on each backend, outputs compared. */
export interface KernelCase {
  /** Unique id, e.g. "exp [f32] transposed [37, 19]". */
  id: string;
  /** Primitive kernel under test (or composed case name); selects the tolerance. */
  kernel: string;
  /** Short description within the kernel's group. */
  name: string;
  /** Dtype the tolerance is looked up for. */
  dtype: DType;
  /** Dtypes the backend under test must support; the case is skipped otherwise (f16/bf16). */
  optionalDTypes?: DType[];
  /** An optional kernel (OPTIONAL_KERNELS) the case tests; skipped on backends that do not register it. */
  optionalKernel?: string;
  /** Builds the host inputs (lazily, once per case run). */
  inputs(): HostArray[];
  /** Runs the kernel(s) on uploaded inputs; returns the outputs to compare. */
  run(ctx: CaseContext, inputs: Tensor[]): CaseOutput[];
}

/** Outputs of one case on one backend. */
export interface CaseEvaluation {
  outputs: { name: string; shape: readonly number[]; data: ArrayLike<number>; atolScale: number }[];
  /** liveBuffers after disposing everything, minus liveBuffers before the case. */
  leakedBuffers: number;
}

/** Poison for storage elements a view must not read. */
function poison(dtype: DType): number {
  if (isFloat(dtype)) return NaN;
  return dtype === 'u8' ? 0xa5 : dtype === 'i8' ? -91 : -123456789;
}

/** The host array for a layout: `values(n)` fills the storage, elements outside the view are poisoned. */
export function layoutHost(spec: LayoutSpec, dtype: DType, values: (n: number) => ArrayLike<number>): HostArray {
  const n = shapeSize(spec.storageShape);
  const raw = values(n);
  const mask = visibleMask(spec);
  const data = new Float64Array(n);
  const bad = poison(dtype);
  for (let i = 0; i < n; i++) data[i] = mask[i] ? raw[i]! : bad;
  return { values: data, shape: spec.storageShape, dtype };
}

/** The view a layout describes, over the uploaded storage tensor. */
export function layoutView(ctx: CaseContext, t: Tensor, spec: LayoutSpec): Tensor {
  return ctx.view(t, spec.shape, spec.strides, spec.offset);
}

/** Host array of `values` placed at element `offset` of a larger, poisoned storage (contiguous-input kernels). */
export function offsetHost(shape: readonly number[], dtype: DType, offset: number, values: ArrayLike<number>): HostArray {
  const n = shapeSize(shape);
  const data = new Float64Array(n + offset + 3);
  data.fill(poison(dtype));
  for (let i = 0; i < n; i++) data[offset + i] = values[i]!;
  return { values: data, shape: [data.length], dtype };
}

function upload(h: HostArray, backend: Backend): Tensor {
  const values = ArrayBuffer.isView(h.values) ? (h.values as TypedArray) : Array.from(h.values);
  return tensor(values, h.shape, { dtype: h.dtype, backend });
}

/**
 * Runs a case on one backend: uploads its inputs, runs the body, reads the
 * outputs back, disposes every tensor it made, and reports the live-buffer
 * difference.
 */
export async function evaluateCase(c: KernelCase, backendName: string, hostInputs = c.inputs()): Promise<CaseEvaluation> {
  const backend = backendByName(backendName);
  const before = memory(backend).liveBuffers;
  const made: Tensor[] = [];
  const track = <T extends Tensor>(t: T): T => {
    made.push(t);
    return t;
  };
  const ctx: CaseContext = {
    backend,
    view: (t, shape, strides, offset) => track(new Tensor(t.storage, shape, strides, offset)),
    at: (t, shape, offset) => track(new Tensor(t.storage, shape, contiguousStrides(shape), offset)),
    kernel: (name, inputs, outputs, attrs = {}) => runKernel(name, inputs, outputs, attrs, backend).map(track),
    into: (name, inputs, target, attrs = {}) => runKernelInto(name, inputs, target, attrs),
    track,
  };
  try {
    const inputs = hostInputs.map((h) => track(upload(h, backend)));
    const outs = c.run(ctx, inputs);
    const outputs: CaseEvaluation['outputs'] = [];
    for (const o of outs) {
      outputs.push({ name: o.name, shape: o.tensor.shape, data: await o.tensor.data(), atolScale: o.atolScale ?? 1 });
    }
    for (const t of made) t.dispose();
    for (const o of outs) o.tensor.dispose();
    return { outputs, leakedBuffers: memory(backend).liveBuffers - before };
  } finally {
    for (const t of made) t.dispose();
  }
}

export interface CheckOptions {
  backend: string;
  reference?: string;
  tolerances?: Record<string, Tolerance>;
}

/** Result of comparing one case between the backend under test and the reference. */
export interface CaseReport {
  id: string;
  ok: boolean;
  /** Set when the case was not run (a dtype the backend does not support). */
  skipped?: string;
  tolerance: Tolerance;
  outputs: (CompareResult & { name: string })[];
  /** Live buffers left behind by the case on the backend under test / the reference. */
  leakedBuffers: { backend: number; reference: number };
  /** Every problem, one per line; empty when ok. */
  message: string;
}

/** Runs a case on both backends and compares every output. */
export async function checkCase(c: KernelCase, opts: CheckOptions): Promise<CaseReport> {
  const reference = opts.reference ?? 'cpu-ref';
  const tolerance = resolveTolerance(c.kernel, c.dtype, opts.tolerances);
  const base: CaseReport = { id: c.id, ok: true, tolerance, outputs: [], leakedBuffers: { backend: 0, reference: 0 }, message: '' };
  const missing = (c.optionalDTypes ?? []).filter((d) => !backendByName(opts.backend).supportsDType(d));
  if (missing.length) return { ...base, skipped: `backend '${opts.backend}' does not support ${missing.join(', ')}` };
  if (c.optionalKernel && !hasKernel(c.optionalKernel, backendByName(opts.backend).name)) {
    return { ...base, skipped: `backend '${opts.backend}' does not register the optional kernel '${c.optionalKernel}'` };
  }

  const hostInputs = c.inputs();
  const ref = await evaluateCase(c, reference, hostInputs);
  const got = await evaluateCase(c, opts.backend, hostInputs);
  const problems: string[] = [];
  const outputs = ref.outputs.map((r, i) => {
    const g = got.outputs[i];
    const label = `${c.id}: output ${i} (${r.name})`;
    if (!g) {
      problems.push(`${label}: missing on '${opts.backend}'`);
      return { name: r.name, ok: false, size: 0, maxAbsDiff: Infinity, maxAbsDiffIndex: -1, badCount: 0, firstBadIndex: -1, message: 'missing' };
    }
    const shapeOk = g.shape.length === r.shape.length && g.shape.every((d, k) => d === r.shape[k]);
    if (!shapeOk) problems.push(`${label}: shape [${g.shape.join(', ')}] differs from reference [${r.shape.join(', ')}]`);
    const res = compareArrays(g.data, r.data, scaleAtol(tolerance, r.atolScale), { label, shape: r.shape });
    if (!res.ok) problems.push(res.message);
    return { name: r.name, ...res };
  });
  if (got.leakedBuffers !== 0) problems.push(`${c.id}: ${got.leakedBuffers} buffer(s) still live on '${opts.backend}' after the case disposed its tensors`);
  if (ref.leakedBuffers !== 0) problems.push(`${c.id}: ${ref.leakedBuffers} buffer(s) still live on reference '${reference}' after the case disposed its tensors`);
  return {
    ...base,
    ok: problems.length === 0,
    outputs,
    leakedBuffers: { backend: got.leakedBuffers, reference: ref.leakedBuffers },
    message: problems.join('\n'),
  };
}

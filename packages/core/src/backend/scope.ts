import type { Tensor } from '../tensor/tensor.js';

/**
 * Memory scopes. GPU memory is not garbage collected in time, so tensors made
 * inside `tidy(fn)` are disposed when it returns, except those it returns and
 * those passed to `keep`.
 */
const scopes: Set<Tensor>[] = [];

/** Called by the Tensor constructor: tracks the tensor in the innermost scope. */
export function trackTensor(t: Tensor): void {
  scopes[scopes.length - 1]?.add(t);
}

/** Stops tracking: the tensor outlives every enclosing scope until disposed by hand. */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

/** Disposes tensors (any nesting of arrays/objects of tensors). */
export function dispose(value: unknown): void {
  for (const t of collectTensors(value)) t.dispose();
}

/**
 * Runs `fn`; tensors created inside and not returned (or kept) are disposed.
 * Returned tensors move to the enclosing scope. `fn` must be synchronous.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  if (result instanceof Promise) throw new Error('tidy(fn): fn must be synchronous; a Promise was returned');
  const returned = collectTensors(result);
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (returned.has(t)) parent?.add(t);
    else t.dispose();
  }
  return result;
}

/** Finds tensors in a value: a tensor, arrays, Maps and plain objects (one level of objects deep per nesting). */
function collectTensors(value: unknown, out = new Set<Tensor>(), seen = new Set<unknown>()): Set<Tensor> {
  if (value === null || typeof value !== 'object' || seen.has(value)) return out;
  seen.add(value);
  if (isTensor(value)) {
    out.add(value);
  } else if (Array.isArray(value)) {
    for (const v of value) collectTensors(v, out, seen);
  } else if (value instanceof Map) {
    for (const v of value.values()) collectTensors(v, out, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collectTensors(v, out, seen);
  }
  return out;
}

function isTensor(v: object): v is Tensor {
  return (v as { __isTensor?: boolean }).__isTensor === true;
}

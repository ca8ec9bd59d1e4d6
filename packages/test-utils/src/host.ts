import type { Tensor } from '@adapterkit/core';

/** A host copy of a tensor's values as f32 (async: GPU backends read back asynchronously). */
export async function readF32(t: Tensor): Promise<Float32Array> {
  return Float32Array.from(await t.data());
}

/** Reads a tensor to the host, then disposes it. */
export async function readAndDispose(t: Tensor): Promise<Float32Array> {
  try {
    return await readF32(t);
  } finally {
    t.dispose();
  }
}

/** max |a − b| over host arrays of equal length; NaN anywhere counts as Infinity (a failure). */
export function maxAbsDiffHost(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: ${a.length} vs ${b.length} elements`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** max |a − b| of tensors or host arrays; tensors must have the same shape. */
export async function maxAbsDiff(a: Tensor | ArrayLike<number>, b: Tensor | ArrayLike<number>): Promise<number> {
  const isTensor = (x: Tensor | ArrayLike<number>): x is Tensor => typeof (x as Tensor).data === 'function';
  if (isTensor(a) && isTensor(b) && a.shape.join() !== b.shape.join()) {
    throw new Error(`shape mismatch: [${a.shape.join(', ')}] vs [${b.shape.join(', ')}]`);
  }
  const x = isTensor(a) ? await a.data() : a;
  const y = isTensor(b) ? await b.data() : b;
  return maxAbsDiffHost(x, y);
}

/** Measured values, printed at the end of a file for the record. */
export function reporter(title: string): { record(name: string, v: number): void; print(): void } {
  const measured: Record<string, number> = {};
  return {
    record: (name, v) => void (measured[name] = v),
    print: () => console.log(`${title}:\n` + Object.entries(measured).map(([k, v]) => `  ${k}: ${v.toExponential(2)}`).join('\n')),
  };
}

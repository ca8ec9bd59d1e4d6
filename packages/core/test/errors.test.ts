import { describe, expect, it } from 'vitest';
import * as ak from '../src/index.js';
import {
  DTypeError,
  DisposedTensorError,
  KernelNotFoundError,
  ShapeError,
  runKernel,
  tensor,
  tidy,
  type Tensor,
} from '../src/index.js';

ak.setBackend('cpu-ref');

const f32 = (shape: number[]): Tensor => ak.zeros(shape);
const i32 = (data: number[], shape: number[]): Tensor => tensor(new Int32Array(data), shape);

/** Runs fn in a tidy scope and returns the error it throws. */
function errorOf(fn: () => unknown): Error {
  try {
    tidy(() => {
      fn();
    });
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error, none was thrown');
}

describe('shape errors name the shapes', () => {
  it('add of [2, 3] and [4]', () => {
    const e = errorOf(() => ak.add(f32([2, 3]), f32([4])));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toContain('[2, 3]');
    expect(e.message).toContain('[4]');
    expect(e.message).toMatch(/^add:/);
  });
  it('matmul inner dimensions', () => {
    const e = errorOf(() => ak.matmul(f32([2, 3]), f32([4, 5])));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toContain('[2, 3]');
    expect(e.message).toContain('[4, 5]');
    expect(e.message).toMatch(/inner dimensions/);
  });
  it('matmul batch axes that do not broadcast', () => {
    const e = errorOf(() => ak.matmul(f32([2, 3, 4]), f32([3, 4, 5])));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toContain('[2]');
    expect(e.message).toContain('[3]');
  });
  it('reshape to a wrong size', () => {
    const e = errorOf(() => ak.reshape(f32([2, 3]), [4, 2]));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toContain('[2, 3]');
    expect(e.message).toContain('[4, 2]');
  });
  it('concat, narrow, squeeze, axis out of range', () => {
    expect(errorOf(() => ak.concat([f32([2, 3]), f32([2, 4])], 0)).message).toMatch(/\[2, 3\].*\[2, 4\]/);
    expect(errorOf(() => ak.narrow(f32([2, 3]), 1, 2, 2)).message).toMatch(/out of bounds.*\[2, 3\]/);
    expect(errorOf(() => ak.squeeze(f32([2, 3]), 0))).toBeInstanceOf(ShapeError);
    expect(errorOf(() => ak.sum(f32([2, 3]), 2)).message).toMatch(/axis 2 is out of range for a tensor of rank 2/);
    expect(errorOf(() => ak.softmax(f32([2, 3]), -3))).toBeInstanceOf(ShapeError);
  });
  it('new ops check their shapes', () => {
    expect(errorOf(() => ak.layerNorm(f32([2, 4]), f32([3]), f32([4]))).message).toMatch(/\[3\].*\[2, 4\]/);
    expect(errorOf(() => ak.rmsNorm(f32([2, 4]), f32([2, 2]))).message).toContain('[2, 2]');
    expect(errorOf(() => ak.embedding(f32([4]), i32([0], [1]))).message).toContain('[4]');
    expect(errorOf(() => ak.crossEntropy(f32([3, 5]), i32([0, 1], [2]))).message).toMatch(/targets \[2\].*logits \[3, 5\]/);
    expect(errorOf(() => ak.mseLoss(f32([2]), f32([3])))).toBeInstanceOf(ShapeError);
    expect(errorOf(() => ak.where(tensor(new Uint8Array(2), [2]), f32([3]), f32([3]))).message).toMatch(/\[2\].*\[3\]/);
    expect(errorOf(() => ak.scaledDotProductAttention(f32([3, 4]), f32([5, 2]), f32([5, 2]))).message).toMatch(/head size/);
    expect(errorOf(() => ak.scaledDotProductAttention(f32([3, 4]), f32([5, 4]), f32([6, 2]))).message).toMatch(/number of keys/);
  });
});

describe('dtype errors name both dtypes', () => {
  it('add f32 + i32', () => {
    const e = errorOf(() => ak.add(f32([2]), i32([1, 2], [2])));
    expect(e).toBeInstanceOf(DTypeError);
    expect(e.message).toContain('f32');
    expect(e.message).toContain('i32');
  });
  it('matmul f32 @ f64', () => {
    const e = errorOf(() => ak.matmul(f32([2, 2]), ak.zeros([2, 2], { dtype: 'f64' })));
    expect(e).toBeInstanceOf(DTypeError);
    expect(e.message).toMatch(/f32.*f64/);
  });
  it('new ops check dtypes', () => {
    expect(errorOf(() => ak.embedding(f32([4, 2]), f32([3])))).toBeInstanceOf(DTypeError);
    expect(errorOf(() => ak.where(f32([2]), f32([2]), f32([2]))).message).toMatch(/must be u8.*f32/);
    expect(errorOf(() => ak.crossEntropy(f32([2, 3]), f32([2])))).toBeInstanceOf(DTypeError);
    expect(errorOf(() => ak.softmax(i32([1, 2], [2])))).toBeInstanceOf(DTypeError);
    expect(errorOf(() => ak.scaledDotProductAttention(f32([2, 2]), f32([2, 2]), f32([2, 2]), { mask: i32([1, 1, 1, 1], [2, 2]) })).message).toMatch(/u8.*f32.*i32/);
  });
});

describe('other errors', () => {
  it('unknown kernel names op and backend', () => {
    const e = errorOf(() => runKernel('nope', [f32([2])], [{ shape: [2], dtype: 'f32' }]));
    expect(e).toBeInstanceOf(KernelNotFoundError);
    expect(e.message).toContain("'nope'");
    expect(e.message).toContain("'cpu-ref'");
    expect((e as KernelNotFoundError).kernel).toBe('nope');
    expect((e as KernelNotFoundError).backend).toBe('cpu-ref');
  });
  it('use of a disposed tensor', () => {
    const x = f32([2]);
    x.dispose();
    expect(() => ak.add(x, 1)).toThrow(DisposedTensorError);
    expect(() => x.dataSync()).toThrow(DisposedTensorError);
    expect(() => x.dataSync()).toThrow(/was disposed/);
    x.dispose(); // twice is fine
  });
  it('gather index out of range names the index', () => {
    const e = errorOf(() => ak.embedding(f32([4, 2]), i32([1, 7, 0], [3])));
    expect(e.message).toContain('7');
    expect(e.message).toMatch(/gather|index|range/i);
  });
  it('negative gather index names the index', () => {
    expect(errorOf(() => ak.embedding(f32([4, 2]), i32([-1], [1]))).message).toContain('-1');
  });
  it('crossEntropy target out of range (not the ignore index)', () => {
    expect(errorOf(() => ak.crossEntropy(f32([2, 3]), i32([0, 3], [2]))).message).toContain('3');
  });
  it('invalid arguments', () => {
    expect(() => ak.dropout(f32([2]), 1.5)).toThrow(RangeError);
    expect(() => ak.repeatKv(f32([1, 2, 2, 2]), 0)).toThrow(RangeError);
    expect(errorOf(() => ak.crossEntropy(f32([2, 3]), i32([0, 1], [2]), { reduction: 'avg' as 'mean' })).message).toMatch(/unknown reduction 'avg'/);
    expect(() => ak.clamp(f32([2]), 1, 0)).toThrow(/lower bound 1 is above upper bound 0/);
  });
});

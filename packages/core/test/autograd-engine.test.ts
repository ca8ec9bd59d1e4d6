import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as ak from '../src/index.js';
import {
  ShapeError,
  backward,
  checkpoint,
  dispose,
  exp,
  keep,
  liveTensors,
  memory,
  mul,
  noGrad,
  sum,
  tensor,
  tidy,
  type Tensor,
} from '../src/index.js';

ak.setBackend('cpu-ref');

const f64 = (data: number[], shape: number[], requiresGrad = false): Tensor =>
  tensor(data, shape, { dtype: 'f64', requiresGrad });
const values = (t: Tensor): number[] => Array.from(t.dataSync());

/** Every test must leave tensors and buffers where it found them. */
let startTensors = 0;
let startBuffers = 0;
beforeEach(() => {
  startTensors = liveTensors();
  startBuffers = memory('cpu-ref').liveBuffers;
});
afterEach(() => {
  expect(liveTensors()).toBe(startTensors);
  expect(memory('cpu-ref').liveBuffers).toBe(startBuffers);
});

describe('gradient accumulation', () => {
  it('accumulates over two backward calls', () => {
    const x = f64([1, 2, 3], [3], true);
    tidy(() => backward(sum(mul(x, x))));
    expect(values(x.grad!)).toEqual([2, 4, 6]);
    tidy(() => backward(sum(mul(x, 3))));
    expect(values(x.grad!)).toEqual([5, 7, 9]);
    dispose([x.grad, x]);
  });
  it('accumulates a leaf used on several paths (diamond)', () => {
    const x = f64([0.5, -1], [2], true);
    tidy(() => {
      const e = exp(x);
      backward(sum(ak.add(mul(e, x), e)));
    });
    // d/dx (x·eˣ + eˣ) = eˣ(x + 2)
    values(x.grad!).forEach((g, i) => expect(g).toBeCloseTo(Math.exp([0.5, -1][i]!) * ([0.5, -1][i]! + 2), 12));
    dispose([x.grad, x]);
  });
  it('leaves without requiresGrad get no gradient; gradients do not require grad', () => {
    const x = f64([1, 2], [2], true);
    const c = f64([3, 4], [2]);
    tidy(() => backward(sum(mul(x, c))));
    expect(c.grad).toBe(null);
    expect(values(x.grad!)).toEqual([3, 4]);
    expect(x.grad!.requiresGrad).toBe(false);
    expect(x.grad!.gradNode).toBe(null);
    dispose([x.grad, x, c]);
  });
  it('Tensor.prototype.backward is the same as backward()', () => {
    const x = f64([1, 2], [2], true);
    tidy(() => sum(mul(x, x)).backward());
    expect(values(x.grad!)).toEqual([2, 4]);
    dispose([x.grad, x]);
  });
  it('a leaf root receives the seed gradient', () => {
    const x = f64([1, 2], [2], true);
    tidy(() => x.backward(f64([0.5, 2], [2])));
    expect(values(x.grad!)).toEqual([0.5, 2]);
    dispose([x.grad, x]);
  });
});

describe('grad mode', () => {
  it('noGrad records nothing', () => {
    const x = f64([1, 2], [2], true);
    tidy(() => {
      const y = noGrad(() => sum(mul(exp(x), 2)));
      expect(y.requiresGrad).toBe(false);
      expect(y.gradNode).toBe(null);
      expect(() => backward(y)).toThrow(/does not require grad/);
    });
    expect(ak.isGradEnabled()).toBe(true);
    expect(x.grad).toBe(null);
    x.dispose();
  });
  it('noGrad restores the mode after an exception', () => {
    expect(() => noGrad(() => { throw new Error('boom'); })).toThrow('boom');
    expect(ak.isGradEnabled()).toBe(true);
  });
});

describe('graph lifetime', () => {
  it('retainGraph allows a second backward; the next one without it releases', () => {
    const x = f64([1, 2], [2], true);
    tidy(() => {
      const y = sum(mul(x, x));
      backward(y, undefined, { retainGraph: true });
      backward(y, undefined, { retainGraph: true });
      expect(values(x.grad!)).toEqual([4, 8]);
      backward(y);
      expect(values(x.grad!)).toEqual([6, 12]);
      expect(() => backward(y)).toThrow(/already released.*retainGraph/);
    });
    dispose([x.grad, x]);
  });
  it('a second backward without retainGraph errors clearly, also through a shared subgraph', () => {
    const x = f64([1, 2], [2], true);
    tidy(() => {
      const y = sum(mul(x, x));
      backward(y);
      expect(() => backward(y)).toThrow(/already released by an earlier backward; pass \{ retainGraph: true \}/);
      const e = exp(x);
      const a = sum(e);
      const b = sum(mul(e, 2));
      backward(a);
      const before = values(x.grad!);
      expect(() => backward(b)).toThrow(/graph through 'exp' was already released/);
      expect(values(x.grad!)).toEqual(before); // a failed call changes no gradient
    });
    dispose([x.grad, x]);
  });
  it('a non-scalar root needs an explicit gradient of its shape', () => {
    const x = f64([1, 2, 3, 4], [2, 2], true);
    tidy(() => {
      const y = mul(x, 2);
      expect(() => backward(y)).toThrow(ShapeError);
      expect(() => backward(y)).toThrow(/root has shape \[2, 2\]/);
      expect(() => backward(y, f64([1, 1], [2]))).toThrow(/gradient shape \[2\] does not match root \[2, 2\]/);
      expect(() => backward(y, ak.ones([2, 2], { dtype: 'f32' }))).toThrow(/gradient dtype f32 does not match root dtype f64/);
      backward(y, f64([1, 0, 0, 1], [2, 2]));
      expect(values(x.grad!)).toEqual([2, 0, 0, 2]);
    });
    dispose([x.grad, x]);
  });
});

describe('memory', () => {
  it('backward frees saved tensors: disposing user tensors returns memory to its start', () => {
    const x = f64([1, 2, 3, 4, 5, 6], [2, 3], true);
    const w = f64([1, -1, 0.5, 2, 0, 1], [3, 2], true);
    const y = ak.matmul(x, w);
    const t = ak.tanh(y);
    const s = ak.softmax(t);
    const t2 = ak.square(t);
    const p = mul(s, t2);
    const loss = sum(p);
    const withGraph = memory('cpu-ref').liveBuffers;
    backward(loss);
    // Every tensor the graph saved is shared with one of ours, so backward adds only the two grads.
    expect(memory('cpu-ref').liveBuffers).toBe(withGraph + 2);
    dispose([y, t, s, t2, p, loss]);
    expect(memory('cpu-ref').liveBuffers).toBe(startBuffers + 4); // x, w, x.grad, w.grad
    dispose([x.grad, w.grad, x, w]);
  });
  it('without backward, the graph holds saved tensors until backward runs', () => {
    const x = f64([0.1, 0.2], [2], true);
    const e = exp(x);
    const loss = sum(e);
    e.dispose();
    // exp saved its output, so its buffer outlives the user's handle…
    expect(memory('cpu-ref').liveBuffers).toBe(startBuffers + 3);
    backward(loss);
    // …until backward releases the graph.
    expect(memory('cpu-ref').liveBuffers).toBe(startBuffers + 3); // x, loss, x.grad
    dispose([x.grad, x, loss]);
  });
  it('a graph never differentiated is freed once its outputs are disposed', () => {
    const x = f64([0.1, 0.2, 0.3], [3], true);
    const before = memory('cpu-ref').liveBuffers;
    const e = exp(x);
    const t = ak.tanh(e);
    const unused = sum(t);
    dispose([e, t]);
    // exp and tanh saved their outputs; the graph still holds them through `unused`.
    expect(memory('cpu-ref').liveBuffers).toBeGreaterThan(before + 1);
    unused.dispose();
    expect(memory('cpu-ref').liveBuffers).toBe(before);
    x.dispose();
  });
  it('a branch that backward does not reach is freed when its output is disposed', () => {
    const x = f64([0.5, -0.5], [2], true);
    const before = memory('cpu-ref').liveBuffers;
    const h = exp(x);
    const used = sum(h);
    const branch = ak.tanh(h); // like an unused pooler output
    backward(used);
    branch.dispose();
    dispose([h, used]);
    expect(memory('cpu-ref').liveBuffers).toBe(before + 1); // x.grad
    dispose([x.grad, x]);
  });
  it('a full training-style step with the new ops returns memory to its start', () => {
    const params = {
      emb: f64(Array.from({ length: 24 }, (_, i) => Math.sin(i)), [6, 4], true),
      g: f64([1, 1, 1, 1], [4], true),
      b: f64([0, 0, 0, 0], [4], true),
      w: f64(Array.from({ length: 12 }, (_, i) => (i % 5) / 5 - 0.4), [3, 4], true),
    };
    tidy(() => {
      const ids = tensor(new Int32Array([0, 3, 3, 5, 1, 2]), [2, 3]);
      const h = ak.embedding(params.emb, ids);
      const n = ak.layerNorm(ak.dropout(h, 0.2, true, { seed: 3 }), params.g, params.b);
      const att = ak.scaledDotProductAttention(n, n, n, { causal: true });
      const r = ak.rmsNorm(ak.add(att, n), params.g);
      const logits = ak.linear(r, params.w);
      const targets = tensor(new Int32Array([0, 2, -100, 1, 1, 0]), [2, 3]);
      const loss = ak.add(ak.crossEntropy(logits, targets), ak.mseLoss(r, ak.zerosLike(r)));
      loss.backward();
    });
    for (const p of Object.values(params)) expect(p.grad).not.toBe(null);
    dispose(Object.values(params).map((p) => p.grad));
    dispose(Object.values(params));
  });
  it('ops save only what their gradient rule reads (add keeps no operand alive)', () => {
    const x = f64([1, 2], [2], true);
    const a = exp(x); // saves its output a
    const b = mul(x, 3); // saves only the number operand (x needs the gradient, 3 does not)
    const y = ak.add(b, a); // saves nothing
    const before = memory('cpu-ref').liveBuffers;
    b.dispose();
    expect(memory('cpu-ref').liveBuffers).toBe(before - 1); // b's buffer is really gone
    a.dispose();
    expect(memory('cpu-ref').liveBuffers).toBe(before - 1); // a's buffer is still saved by exp
    tidy(() => backward(sum(y)));
    values(x.grad!).forEach((g, i) => expect(g).toBeCloseTo(3 + Math.exp(i + 1), 12));
    dispose([x.grad, x, y]);
  });
  it('checkpoint keeps no intermediates of its forward', () => {
    const x = f64([1, 2, 3, 4], [2, 2], true);
    tidy(() => {
      const before = memory('cpu-ref').liveBuffers;
      const y = checkpoint((a) => ak.tanh(ak.exp(ak.mul(a, 0.1))), x);
      // Only y (and x, saved by sharing its storage) exist: no exp/mul intermediates.
      expect(memory('cpu-ref').liveBuffers).toBe(before + 1);
      backward(sum(y));
    });
    expect(x.grad).not.toBe(null);
    dispose([x.grad, x]);
  });
});

describe('checkpoint edge cases', () => {
  it('fn returning a captured parameter unchanged leaves the parameter a leaf', () => {
    const w = f64([1, 2], [2], true);
    const x = f64([3, 4], [2], true);
    tidy(() => {
      const y = checkpoint(() => w, x);
      expect(y).not.toBe(w);
      expect(w.gradNode).toBe(null);
      backward(sum(mul(y, 2)));
    });
    expect(w.isDisposed).toBe(false);
    expect(values(w.grad!)).toEqual([2, 2]);
    expect(x.grad).toBe(null);
    dispose([w.grad, w, x]);
  });
  it('fn returning its input (identity) passes the gradient through', () => {
    const x = f64([3, 4], [2], true);
    tidy(() => {
      const y = checkpoint((a) => a, x);
      expect(y).not.toBe(x);
      expect(x.gradNode).toBe(null);
      backward(sum(mul(y, 3)));
    });
    expect(values(x.grad!)).toEqual([3, 3]);
    dispose([x.grad, x]);
  });
  it('checkpoint under noGrad just runs fn', () => {
    const x = f64([1], [1], true);
    tidy(() => {
      const y = noGrad(() => checkpoint((a) => exp(a), x));
      expect(y.requiresGrad).toBe(false);
    });
    x.dispose();
  });
});

describe('tidy', () => {
  it('disposes intermediates and keeps returned and kept tensors', () => {
    let a!: Tensor, b!: Tensor, kept!: Tensor;
    const out = tidy(() => {
      a = f64([1, 2], [2]);
      b = exp(a);
      kept = keep(ak.add(b, 1));
      return { r: mul(b, 2), list: [ak.neg(a)] };
    });
    expect(a.isDisposed).toBe(true);
    expect(b.isDisposed).toBe(true);
    expect(kept.isDisposed).toBe(false);
    expect(out.r.isDisposed).toBe(false);
    expect(out.list[0]!.isDisposed).toBe(false);
    expect(values(out.r)[0]).toBeCloseTo(2 * Math.E, 12);
    dispose([kept, out]);
  });
  it('nested tidy hands returned tensors to the enclosing scope', () => {
    let inner!: Tensor;
    tidy(() => {
      inner = tidy(() => exp(f64([0], [1])));
      expect(inner.isDisposed).toBe(false);
    });
    expect(inner.isDisposed).toBe(true);
  });
  it('disposes everything when fn throws', () => {
    let a!: Tensor;
    expect(() =>
      tidy(() => {
        a = f64([1], [1]);
        throw new Error('fail');
      }),
    ).toThrow('fail');
    expect(a.isDisposed).toBe(true);
  });
});

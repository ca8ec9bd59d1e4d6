/**
 * Finite-difference checks (f64, 'cpu-ref') of every differentiable op.
 * Tolerance: |analytic − numeric| ≤ 1e-6 + 1e-5·|numeric| (see gradcheck.ts)
 * unless a case states otherwise.
 */
import { describe, expect, it } from 'vitest';
import * as ak from '../src/index.js';
import {
  UNARY_OPS,
  backward,
  bernoulli,
  cast,
  checkpoint,
  keep,
  manualSeed,
  matmul,
  record,
  runKernel,
  sum,
  tanh,
  tensor,
  tidy,
  type Tensor,
} from '../src/index.js';
import { fixed, gradcheck, randomData, rnd, type CheckInput, type GradcheckOptions } from './gradcheck.js';

ak.setBackend('cpu-ref');

type Fn = (...xs: Tensor[]) => Tensor;

function check(name: string, fn: Fn, inputs: CheckInput[], opts?: GradcheckOptions): void {
  it(name, () => {
    const r = gradcheck(fn, inputs, opts);
    expect(r.checked).toBeGreaterThan(0);
  });
}

/** Data in ±[lo, hi] with random signs: away from kinks at 0. */
function awayFromZero(shape: number[], seed: number, lo = 0.2, hi = 1): CheckInput {
  const n = shape.reduce((a, b) => a * b, 1);
  const mag = randomData(n, seed, lo, hi);
  const sgn = randomData(n, seed + 101);
  return { data: mag.map((m, i) => (sgn[i]! < 0 ? -m : m)), shape };
}

describe('the harness', () => {
  it('detects a wrong gradient rule', () => {
    const badExp = (x: Tensor): Tensor => {
      const [y] = runKernel('exp', [x], [{ shape: x.shape, dtype: x.dtype }]);
      record('badExp', [x], [y!], [], ([dy]) => [dy!]);
      return y!;
    };
    expect(() => gradcheck(badExp, [rnd([3], 1)])).toThrow(/3 of 3 gradient elements differ/);
  });
  it('detects a rule that returns a gradient of the wrong shape', () => {
    const bad = (x: Tensor): Tensor => {
      const [y] = runKernel('neg', [x], [{ shape: x.shape, dtype: x.dtype }]);
      record('badShape', [x], [y!], [], ([dy]) => [sum(dy!)]);
      return y!;
    };
    expect(() => tidy(() => gradcheck(bad, [rnd([3], 1)], { checkLeaks: false }))).toThrow(/gradient rule of 'badShape' returned \[\] for input 0, expected \[3\]/);
  });
});

describe('binary ops with broadcasting', () => {
  const shapes: [number[], number[]][] = [
    [[2, 3], [2, 3]],
    [[2, 3], [3]],
    [[3], [2, 3]],
    [[2, 1], [1, 3]],
    [[2, 3, 1], [3, 4]],
    [[], [2, 2]],
  ];
  for (const [sa, sb] of shapes) {
    const tag = `${JSON.stringify(sa)} ∘ ${JSON.stringify(sb)}`;
    check(`add ${tag}`, ak.add, [rnd(sa, 1), rnd(sb, 2)]);
    check(`sub ${tag}`, ak.sub, [rnd(sa, 3), rnd(sb, 4)]);
    check(`mul ${tag}`, ak.mul, [rnd(sa, 5), rnd(sb, 6)]);
    check(`div ${tag}`, ak.div, [rnd(sa, 7), awayFromZero(sb, 8, 0.5, 1.5)]);
    check(`pow ${tag}`, ak.pow, [rnd(sa, 9, 0.5, 2), rnd(sb, 10, -1.5, 1.5)]);
    check(`maximum ${tag}`, ak.maximum, [rnd(sa, 11), rnd(sb, 12)]);
    check(`minimum ${tag}`, ak.minimum, [rnd(sa, 13), rnd(sb, 14)]);
  }
  check('maximum with ties splits the gradient', ak.maximum, [
    { data: [1, 2, 3, -1], shape: [4] },
    { data: [1, 0, 3, 0.5], shape: [4] },
  ]);
  check('minimum with ties splits the gradient', ak.minimum, [
    { data: [1, 2, 3, -1], shape: [4] },
    { data: [1, 0, 3, 0.5], shape: [4] },
  ]);
  check('number operands', (x) => ak.add(ak.sub(3, ak.mul(x, 2)), ak.div(1, ak.add(x, 2))), [rnd([2, 3], 15)]);
  check('pow with a number exponent', (x) => ak.pow(x, 3), [rnd([5], 16)]);
  check('mulScalar / addScalar', (x) => ak.addScalar(ak.mulScalar(x, -1.5), 0.25), [rnd([5], 17)]);
  check('clamp (inside, below and above the range)', (x) => ak.clamp(x, -0.5, 0.5), [
    { data: [-0.9, -0.3, 0.1, 0.4, 0.8, -0.6], shape: [6] },
  ]);
  check('clamp with tensor bounds', (x, lo, hi) => ak.clamp(x, lo, hi), [
    { data: [-0.9, -0.3, 0.1, 0.4, 0.8, -0.6], shape: [2, 3] },
    { data: [-0.5, -0.4, 0], shape: [3] },
    { data: [0.5], shape: [1] },
  ]);
});

describe('unary ops and activations', () => {
  const cases: Record<string, [Fn, CheckInput]> = {
    neg: [ak.neg, rnd([2, 3], 20)],
    abs: [ak.abs, awayFromZero([2, 3], 21)],
    exp: [ak.exp, rnd([2, 3], 22)],
    log: [ak.log, rnd([2, 3], 23, 0.3, 2)],
    sqrt: [ak.sqrt, rnd([2, 3], 24, 0.3, 2)],
    rsqrt: [ak.rsqrt, rnd([2, 3], 25, 0.3, 2)],
    recip: [ak.recip, awayFromZero([2, 3], 26, 0.4, 2)],
    square: [ak.square, rnd([2, 3], 27)],
    sin: [ak.sin, rnd([2, 3], 28, -3, 3)],
    cos: [ak.cos, rnd([2, 3], 29, -3, 3)],
    tanh: [ak.tanh, rnd([2, 3], 30, -2, 2)],
    sigmoid: [ak.sigmoid, rnd([2, 3], 31, -3, 3)],
    relu: [ak.relu, awayFromZero([2, 3], 32)],
    erf: [ak.erf, rnd([2, 3], 33, -2, 2)],
    gelu: [ak.gelu, rnd([2, 3], 34, -3, 3)],
    geluTanh: [ak.geluTanh, rnd([2, 3], 35, -3, 3)],
    silu: [ak.silu, rnd([2, 3], 36, -3, 3)],
  };
  it('covers every differentiable unary primitive', () => {
    expect(Object.keys(cases).sort()).toEqual(UNARY_OPS.filter((o) => o !== 'sign').sort());
  });
  for (const [name, [fn, input]] of Object.entries(cases)) check(name, fn, [input]);
  it('sign passes no gradient', () => {
    const x = tensor([1, -2], [2], { dtype: 'f64', requiresGrad: true });
    const y = ak.sign(x);
    expect(y.requiresGrad).toBe(false);
    ak.dispose([x, y]);
  });
  check('composition of activations', (x) => ak.mul(ak.silu(x), ak.tanh(ak.gelu(x))), [rnd([3, 2], 37, -2, 2)]);
});

describe('reductions', () => {
  const x3 = (seed: number) => rnd([2, 3, 4], seed);
  for (const op of ['sum', 'mean', 'max', 'min'] as const) {
    const f = ak[op];
    check(`${op} over axis 1`, (x) => f(x, 1), [x3(40)]);
    check(`${op} over axis -1, keepDim`, (x) => f(x, -1, true), [x3(41)]);
    check(`${op} over axes [0, 2]`, (x) => f(x, [0, 2]), [x3(42)]);
    check(`${op} over axes [0, 2], keepDim`, (x) => f(x, [0, 2], true), [x3(43)]);
    check(`${op} over axes [1, 2], keepDim`, (x) => f(x, [1, 2], true), [x3(44)]);
    check(`${op} over all axes`, (x) => f(x), [x3(45)]);
    check(`${op} over all axes, keepDim`, (x) => f(x, undefined, true), [x3(46)]);
    check(`${op} of a transposed view`, (x) => f(ak.transpose(x, 0, 2), 1), [x3(47)]);
  }
  check('max with ties shares the gradient', (x) => ak.max(x, 1), [{ data: [1, 3, 3, 0, 2, -1], shape: [2, 3] }]);
});

describe('matmul and linear', () => {
  check('2-D', ak.matmul, [rnd([3, 4], 50), rnd([4, 2], 51)]);
  check('batched', ak.matmul, [rnd([2, 3, 4], 52), rnd([2, 4, 5], 53)]);
  check('broadcast batch (3-D @ 2-D)', ak.matmul, [rnd([2, 3, 4], 54), rnd([4, 2], 55)]);
  check('broadcast batch (2-D @ 3-D)', ak.matmul, [rnd([3, 4], 56), rnd([2, 4, 2], 57)]);
  check('broadcast batch both ways', ak.matmul, [rnd([2, 1, 3, 4], 58), rnd([3, 4, 2], 59)]);
  check('transposed a', (a, b) => matmul(ak.transpose(a), b), [rnd([4, 3], 60), rnd([4, 2], 61)]);
  check('transposed b', (a, b) => matmul(a, ak.transpose(b)), [rnd([3, 4], 62), rnd([2, 4], 63)]);
  check('both transposed, batched', (a, b) => matmul(ak.transpose(a), ak.transpose(b)), [rnd([2, 4, 3], 64), rnd([2, 5, 4], 65)]);
  check('permuted batch view', (a, b) => matmul(ak.permute(a, [1, 0, 2]), b), [rnd([3, 2, 4], 66), rnd([2, 4, 2], 67)]);
  check('narrowed operand', (a, b) => matmul(ak.narrow(a, 1, 1, 3), b), [rnd([3, 5], 68), rnd([3, 2], 69)]);
  check('linear with bias', (x, w, b) => ak.linear(x, w, b), [rnd([2, 3, 4], 70), rnd([5, 4], 71), rnd([5], 72)]);
  check('linear without bias', (x, w) => ak.linear(x, w), [rnd([3, 4], 73), rnd([2, 4], 74)]);
});

describe('shape ops', () => {
  check('reshape', (x) => ak.reshape(x, [4, -1]), [rnd([2, 3, 2], 80)]);
  check('reshape of a transposed view', (x) => ak.reshape(ak.transpose(x), [6]), [rnd([2, 3], 81)]);
  check('flatten', (x) => ak.flatten(x, 1), [rnd([2, 3, 2], 82)]);
  check('permute', (x) => ak.permute(x, [2, 0, 1]), [rnd([2, 3, 4], 83)]);
  check('transpose', (x) => ak.transpose(x, 0, 2), [rnd([2, 3, 4], 84)]);
  check('expand', (x) => ak.expand(x, [2, 3, 4]), [rnd([3, 1], 85)]);
  check('narrow', (x) => ak.narrow(x, 1, 1, 2), [rnd([2, 4], 86)]);
  check('slice', (x) => ak.slice(x, [[1], null, [-3, -1]]), [rnd([3, 2, 4], 87)]);
  check('slice of a transposed view', (x) => ak.slice(ak.transpose(x), [[1, 3], [0, 2]]), [rnd([3, 4], 88)]);
  check('concat axis 0', (a, b) => ak.concat([a, b], 0), [rnd([2, 3], 89), rnd([1, 3], 90)]);
  check('concat axis 1 of non-contiguous inputs', (a, b) => ak.concat([ak.transpose(a), b, ak.transpose(a)], 1), [rnd([2, 3], 91), rnd([3, 1], 92)]);
  check('stack', (a, b) => ak.stack([a, b], 1), [rnd([2, 3], 93), rnd([2, 3], 94)]);
  check('split', (x) => {
    const [p, q] = ak.split(x, [1, 3], 1);
    return ak.mul(ak.sum(p!), ak.sum(ak.square(q!)));
  }, [rnd([2, 4], 95)]);
  check('squeeze / unsqueeze', (x) => ak.unsqueeze(ak.squeeze(x, 1), 0), [rnd([2, 1, 3], 96)]);
  check('squeeze all', (x) => ak.squeeze(x), [rnd([1, 3, 1], 97)]);
  check('contiguous', (x) => ak.contiguous(ak.transpose(x)), [rnd([2, 3], 98)]);
  check('view reused twice (accumulation)', (x) => ak.mul(ak.transpose(x), ak.transpose(x)), [rnd([2, 3], 99)]);
  check(
    'cast f64 → f32 → f64 (loose: eps 1e-3, tol 1e-3)',
    (x) => cast(ak.mul(cast(x, 'f32'), cast(x, 'f32')), 'f64'),
    [rnd([4], 100)],
    { eps: 1e-3, atol: 1e-3, rtol: 1e-3 },
  );
});

describe('softmax family', () => {
  check('softmax last axis', (x) => ak.softmax(x), [rnd([3, 4], 110, -2, 2)]);
  check('softmax axis 0', (x) => ak.softmax(x, 0), [rnd([3, 4], 111, -2, 2)]);
  check('softmax middle axis of 3-D', (x) => ak.softmax(x, 1), [rnd([2, 3, 4], 112, -2, 2)]);
  check('logSoftmax last axis', (x) => ak.logSoftmax(x), [rnd([3, 4], 113, -2, 2)]);
  check('logSoftmax axis 0', (x) => ak.logSoftmax(x, 0), [rnd([3, 4], 114, -2, 2)]);
  check('softmax of a transposed view', (x) => ak.softmax(ak.transpose(x)), [rnd([3, 4], 115, -2, 2)]);
});

describe('normalisation', () => {
  check('layerNorm', (x, g, b) => ak.layerNorm(x, g, b), [rnd([3, 5], 120, -2, 2), rnd([5], 121, 0.5, 1.5), rnd([5], 122)]);
  check('layerNorm 3-D with eps 1e-12', (x, g, b) => ak.layerNorm(x, g, b, 1e-12), [rnd([2, 2, 4], 123, -2, 2), rnd([4], 124, 0.5, 1.5), rnd([4], 125)]);
  check('layerNorm of a transposed view', (x, g, b) => ak.layerNorm(ak.transpose(x), g, b), [rnd([4, 3], 126, -2, 2), rnd([4], 127, 0.5, 1.5), rnd([4], 128)]);
  check('rmsNorm', (x, g) => ak.rmsNorm(x, g), [rnd([3, 5], 129, -2, 2), rnd([5], 130, 0.5, 1.5)]);
  check('rmsNorm 3-D', (x, g) => ak.rmsNorm(x, g, 1e-5), [rnd([2, 2, 4], 131, -2, 2), rnd([4], 132, 0.5, 1.5)]);
});

describe('embedding, where, maskedFill', () => {
  check('embedding with repeated ids', (w, ids) => ak.embedding(w, ids), [rnd([5, 3], 140), fixed([1, 3, 1, 0, 4, 1], [2, 3], 'i32')]);
  check('embedding with scalar-shaped ids', (w, ids) => ak.embedding(w, ids), [rnd([4, 2], 141), fixed([2], [], 'i32')]);
  check('where with broadcasting', (c, a, b) => ak.where(c, a, b), [fixed([1, 0], [2, 1], 'u8'), rnd([2, 3], 142), rnd([3], 143)]);
  check('where with a number branch', (c, a) => ak.where(c, a, -1), [fixed([1, 0, 1, 1, 0, 0], [2, 3], 'u8'), rnd([2, 3], 144)]);
  check('maskedFill', (x, m) => ak.maskedFill(x, m, 0), [rnd([2, 3], 145), fixed([0, 1, 0], [3], 'u8')]);
});

describe('losses', () => {
  const logits = () => rnd([4, 5], 150, -2, 2);
  const targets = fixed([1, -100, 4, 0], [4], 'i32');
  check('crossEntropy mean with ignoreIndex', (l, t) => ak.crossEntropy(l, t), [logits(), targets]);
  check('crossEntropy sum with ignoreIndex', (l, t) => ak.crossEntropy(l, t, { reduction: 'sum' }), [logits(), targets]);
  check('crossEntropy none', (l, t) => ak.crossEntropy(l, t, { reduction: 'none' }), [logits(), targets]);
  check('crossEntropy custom ignoreIndex, 3-D logits', (l, t) => ak.crossEntropy(l, t, { ignoreIndex: 2 }), [
    rnd([2, 3, 4], 151, -2, 2),
    fixed([0, 2, 3, 1, 2, 0], [2, 3], 'i32'),
  ]);
  check('crossEntropy of a transposed view', (l, t) => ak.crossEntropy(ak.transpose(l), t), [rnd([5, 3], 152, -2, 2), fixed([4, 0, 2], [3], 'i32')]);
  check('mseLoss mean', (a, b) => ak.mseLoss(a, b), [rnd([2, 3], 153), rnd([2, 3], 154)]);
  check('mseLoss sum', (a, b) => ak.mseLoss(a, b, 'sum'), [rnd([2, 3], 155), rnd([2, 3], 156)]);
  check('mseLoss none', (a, b) => ak.mseLoss(a, b, 'none'), [rnd([2, 3], 157), rnd([2, 3], 158)]);
});

describe('dropout', () => {
  check('dropout with a fixed seed', (x) => ak.dropout(x, 0.3, true, { seed: 7 }), [rnd([4, 5], 160)]);
  check('dropout on the global stream (reseeded each evaluation)', (x) => ak.dropout(x, 0.5), [rnd([3, 4], 161)], {
    beforeEach: () => manualSeed(42),
  });
  it('gradient equals mask · 1/(1 − p)', () => {
    tidy(() => {
      const x = tensor(randomData(40, 162), [8, 5], { dtype: 'f64', requiresGrad: true });
      backward(sum(ak.dropout(x, 0.25, true, { seed: 99 })));
      const mask = bernoulli([8, 5], 0.75, { seed: 99, dtype: 'f64' }).dataSync();
      const g = x.grad!.dataSync();
      expect(Array.from(g)).toEqual(Array.from(mask, (m) => m / 0.75));
      expect(Array.from(mask)).toContain(0);
      x.grad!.dispose();
    });
  });
});

describe('scaledDotProductAttention', () => {
  // Every case runs on both paths: the fused 'attention' kernel (cpu-ref registers it, f64
  // included) with core's gradient rule, and the composed ops. Each asserts the path it took.
  type Opts = ak.AttentionOptions;
  const paths = ['fused', 'composed'] as const;
  function checkBoth(name: string, fn: (path: Opts['path'], ...xs: Tensor[]) => Tensor, inputs: CheckInput[]): void {
    for (const path of paths) {
      it(`${name} [${path}]`, () => {
        ak.resetAttentionPathStats();
        const r = gradcheck((...xs) => fn(path, ...xs), inputs);
        expect(r.checked).toBeGreaterThan(0);
        const stats = ak.attentionPathStats();
        expect(stats[path]).toBeGreaterThan(0);
        expect(stats[path === 'fused' ? 'composed' : 'fused']).toBe(0);
      });
    }
  }
  const sdpa = ak.scaledDotProductAttention;
  const qkv = (seed: number, b = 2): CheckInput[] => [rnd([b, 3, 4], seed), rnd([b, 5, 4], seed + 1), rnd([b, 5, 3], seed + 2)];
  checkBoth('plain', (path, q, k, v) => sdpa(q, k, v, { path }), qkv(170));
  checkBoth('additive float mask (gradient to the mask too)', (path, q, k, v, m) => sdpa(q, k, v, { mask: m, path }), [
    ...qkv(173),
    rnd([3, 5], 176, -1, 0),
  ]);
  checkBoth('u8 keep-mask broadcast over queries', (path, q, k, v, m) => sdpa(q, k, v, { mask: m, path }), [
    ...qkv(177),
    fixed([1, 1, 0, 1, 0, 0, 1, 1, 1, 0], [2, 1, 5], 'u8'),
  ]);
  checkBoth('causal (Lq < Lk, bottom-right aligned)', (path, q, k, v) => sdpa(q, k, v, { causal: true, path }), qkv(180));
  checkBoth('causal with a custom scale and a fully masked row', (path, q, k, v, m) => sdpa(q, k, v, { causal: true, mask: m, scale: 0.7, path }), [
    ...qkv(183, 1),
    fixed([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], [3, 5], 'u8'),
  ]);
  checkBoth('causal with Lq > Lk (the first rows see no key at all)', (path, q, k, v) => sdpa(q, k, v, { causal: true, path }), [
    rnd([2, 5, 3], 192), rnd([2, 3, 3], 193), rnd([2, 3, 2], 194),
  ]);
  checkBoth('causal and an additive mask, Lq ≠ Lk', (path, q, k, v, m) => sdpa(q, k, v, { causal: true, mask: m, path }), [
    rnd([1, 2, 3, 2], 195), rnd([1, 2, 4, 2], 196), rnd([1, 2, 4, 3], 197), rnd([2, 3, 4], 198, -1, 0),
  ]);
  checkBoth('additive mask [B, 1, 1, Lk] broadcast over heads and queries (BERT)', (path, q, k, v, m) => sdpa(q, k, v, { mask: m, path }), [
    rnd([2, 3, 2, 4], 199), rnd([2, 3, 5, 4], 200), rnd([2, 3, 5, 2], 201), rnd([2, 1, 1, 5], 202, -1, 0),
  ]);
  checkBoth('u8 mask [B, 1, Lq, Lk] broadcast over heads (Llama), with left padding', (path, q, k, v, m) => sdpa(q, k, v, { mask: m, path }), [
    rnd([2, 2, 3, 2], 203), rnd([2, 2, 3, 2], 204), rnd([2, 2, 3, 2], 205),
    // batch 0: causal; batch 1: key 0 is padding, so query 0 sees nothing
    fixed([1, 0, 0, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, 1, 1], [2, 1, 3, 3], 'u8'),
  ]);
  checkBoth('mask over three leading axes that do not merge (materialised)', (path, q, k, v, m) => sdpa(q, k, v, { mask: m, path }), [
    rnd([2, 2, 2, 2, 3], 206), rnd([2, 2, 2, 3, 3], 207), rnd([2, 2, 2, 3, 2], 208), rnd([2, 1, 2, 1, 3], 209, -1, 0),
  ]);
  checkBoth('grouped-query via repeatKv', (path, q, k, v) => sdpa(q, ak.repeatKv(k, 2), ak.repeatKv(v, 2), { causal: true, path }), [
    rnd([1, 4, 3, 2], 186),
    rnd([1, 2, 3, 2], 187),
    rnd([1, 2, 3, 2], 188),
  ]);
  checkBoth('multi-query via broadcasting one KV head', (path, q, k, v) => sdpa(q, k, v, { path }), [
    rnd([2, 3, 3, 2], 189),
    rnd([2, 1, 4, 2], 190),
    rnd([2, 1, 4, 2], 191),
  ]);
  checkBoth('rank-2 inputs (no leading axes)', (path, q, k, v) => sdpa(q, k, v, { scale: 1.3, path }), [rnd([3, 2], 210), rnd([4, 2], 211), rnd([4, 3], 212)]);
});

describe('checkpoint', () => {
  check('gradcheck through checkpoint (parameter inside fn is not an input)', (x, w) =>
    checkpoint((xx) => tanh(matmul(xx, w)), x),
  [rnd([3, 4], 200), rnd([4, 2], 201)]);

  check('checkpoint with dropout inside (RNG replay)', (x, w) =>
    checkpoint((xx) => ak.dropout(tanh(matmul(xx, w)), 0.4), x),
  [rnd([3, 4], 202), rnd([4, 5], 203)], { beforeEach: () => manualSeed(5) });

  /** Gradients of x, w, b for loss = Σ block(x)² with and without checkpoint. */
  function gradsOf(useCheckpoint: boolean): number[][] {
    return tidy(() => {
      manualSeed(11);
      const x = tensor(randomData(12, 204), [3, 4], { dtype: 'f64', requiresGrad: true });
      const w = tensor(randomData(20, 205), [5, 4], { dtype: 'f64', requiresGrad: true });
      const b = tensor(randomData(5, 206), [5], { dtype: 'f64', requiresGrad: true });
      const block = (xx: Tensor): Tensor => ak.dropout(ak.gelu(ak.linear(xx, w, b)), 0.3);
      // Draw some random numbers first so the replay must restore a non-zero counter.
      ak.rand([7], { dtype: 'f64' });
      const h = useCheckpoint ? checkpoint(block, x) : block(x);
      ak.rand([3], { dtype: 'f64' });
      const hValues = Array.from(h.dataSync());
      backward(sum(ak.square(h)));
      const grads = [x, w, b].map((t) => {
        const g = Array.from(t.grad!.dataSync());
        t.grad!.dispose();
        return g;
      });
      return [...grads, hValues];
    });
  }
  it('gives the same gradients as without it (dropout inside, parameters captured)', () => {
    const plain = gradsOf(false);
    const ckpt = gradsOf(true);
    for (let i = 0; i < 3; i++) {
      expect(ckpt[i]!.length).toBe(plain[i]!.length);
      ckpt[i]!.forEach((v, j) => expect(v).toBeCloseTo(plain[i]![j]!, 12));
    }
    expect(ckpt[3]).toEqual(plain[3]); // same forward output (same mask)
    expect(plain[3]!.some((v) => v === 0)).toBe(true); // dropout really dropped something
  });
  it('input without requiresGrad: only the captured parameters get gradients', () => {
    tidy(() => {
      const x = tensor(randomData(6, 207), [2, 3], { dtype: 'f64' });
      const w = keep(tensor(randomData(6, 208), [3, 2], { dtype: 'f64', requiresGrad: true }));
      const y = checkpoint((xx) => matmul(xx, w), x);
      expect(y.requiresGrad).toBe(true);
      backward(sum(y));
      const expected = tidy(() => matmul(ak.transpose(x), ak.ones([2, 2], { dtype: 'f64' })).dataSync());
      expect(Array.from(w.grad!.dataSync())).toEqual(Array.from(expected));
      expect(x.grad).toBe(null);
      w.grad!.dispose();
      w.dispose();
    });
  });
});

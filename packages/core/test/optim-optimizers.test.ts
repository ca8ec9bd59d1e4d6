import { beforeAll, describe, expect, it } from 'vitest';
import { liveTensors, memory, setBackend, tensor, type Tensor } from '../src/index.js';
// optim/nn are not re-exported from src/index.ts yet; importing them directly works either way.
import { Parameter } from '../src/nn/index.js';
import { AdamW, SGD, type Optimizer } from '../src/optim/index.js';

beforeAll(() => {
  setBackend('cpu-ref');
});

const P0 = [0.5, -1.2, 2.0, 0.03];
const GRADS = [
  [0.1, -0.2, 0.3, 1e-4],
  [-0.4, 0.05, 0.2, -2.5],
  [0.3, 0.3, -0.1, 0.7],
];

function values(t: Tensor): number[] {
  return Array.from(t.dataSync());
}

function expectClose(got: number[], want: number[], tol = 1e-6): void {
  expect(got).toHaveLength(want.length);
  got.forEach((g, i) => expect(Math.abs(g - want[i]!), `index ${i}: got ${g}, want ${want[i]}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want[i]!))));
}

function setGrad(p: Tensor, g: number[]): void {
  p.grad?.dispose();
  p.grad = tensor(g);
}

/** torch.optim.AdamW (single-tensor path), in f64. */
function adamwRef(p0: number[], grads: number[][], lr: number, b1: number, b2: number, eps: number, wd: number): number[][] {
  const p = [...p0];
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  const out: number[][] = [];
  grads.forEach((g, s) => {
    const t = s + 1;
    for (let i = 0; i < p.length; i++) {
      p[i] = p[i]! * (1 - lr * wd);
      m[i] = m[i]! + (g[i]! - m[i]!) * (1 - b1);
      v[i] = v[i]! * b2 + g[i]! * g[i]! * (1 - b2);
      const denom = Math.sqrt(v[i]!) / Math.sqrt(1 - b2 ** t) + eps;
      p[i] = p[i]! - (lr / (1 - b1 ** t)) * (m[i]! / denom);
    }
    out.push([...p]);
  });
  return out;
}

/** torch.optim.SGD, in f64. */
function sgdRef(p0: number[], grads: number[][], lr: number, momentum: number, dampening: number, nesterov: boolean, wd: number): number[][] {
  const p = [...p0];
  let buf: number[] | null = null;
  const out: number[][] = [];
  for (const g of grads) {
    let d = g.map((x, i) => x + wd * p[i]!);
    if (momentum !== 0) {
      buf = buf === null ? [...d] : buf.map((b, i) => momentum * b + (1 - dampening) * d[i]!);
      const bb: number[] = buf;
      d = nesterov ? d.map((x, i) => x + momentum * bb[i]!) : [...bb];
    }
    for (let i = 0; i < p.length; i++) p[i] = p[i]! - lr * d[i]!;
    out.push([...p]);
  }
  return out;
}

function run(opt: Optimizer, p: Tensor, grads: number[][]): number[][] {
  return grads.map((g) => {
    setGrad(p, g);
    opt.step();
    return values(p);
  });
}

describe('AdamW', () => {
  it('matches torch.optim.AdamW for 3 steps (defaults: betas 0.9/0.999, eps 1e-8, wd 0.01)', () => {
    const p = new Parameter(tensor(P0));
    const opt = new AdamW([p], { lr: 0.1 });
    expect(opt.paramGroups[0]).toMatchObject({ lr: 0.1, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 });
    const got = run(opt, p, GRADS);
    const want = adamwRef(P0, GRADS, 0.1, 0.9, 0.999, 1e-8, 0.01);
    got.forEach((g, i) => expectClose(g, want[i]!));
    opt.zeroGrad();
    expect(p.grad).toBeNull();
    opt.dispose();
    p.dispose();
  });

  it('uses per-group lr and weight decay, and other betas/eps', () => {
    const a = new Parameter(tensor(P0));
    const b = new Parameter(tensor(P0));
    const opt = new AdamW([{ params: [a] }, { params: [b], lr: 0.01, weightDecay: 0.5 }], { lr: 0.2, betas: [0.8, 0.99], eps: 1e-6, weightDecay: 0 });
    const got = GRADS.map((g) => {
      setGrad(a, g);
      setGrad(b, g);
      opt.step();
      return [values(a), values(b)];
    });
    const wantA = adamwRef(P0, GRADS, 0.2, 0.8, 0.99, 1e-6, 0);
    const wantB = adamwRef(P0, GRADS, 0.01, 0.8, 0.99, 1e-6, 0.5);
    got.forEach(([ga, gb], i) => {
      expectClose(ga!, wantA[i]!);
      expectClose(gb!, wantB[i]!);
    });
    opt.zeroGrad();
    opt.dispose();
    a.dispose();
    b.dispose();
  });

  it('skips parameters without a gradient (their step count stays)', () => {
    const a = new Parameter(tensor([1, 2]));
    const b = new Parameter(tensor([3, 4]));
    const opt = new AdamW([a, b]);
    setGrad(a, [1, 1]);
    opt.step();
    expect(values(b)).toEqual([3, 4]);
    const sd = opt.stateDict();
    expect(Object.keys(sd.state)).toEqual(['0']);
    expect(sd.state[0]!.step).toBe(1);
    expect(Object.keys(sd.state[0]!.tensors)).toEqual(['exp_avg', 'exp_avg_sq']);
    opt.zeroGrad();
    opt.dispose();
    a.dispose();
    b.dispose();
  });

  it('resumes exactly from stateDict/loadStateDict', () => {
    const p = new Parameter(tensor(P0));
    const opt = new AdamW([p], { lr: 0.05 });
    run(opt, p, GRADS.slice(0, 2));
    const sd = opt.stateDict();
    expect(sd.paramGroups).toEqual([expect.objectContaining({ lr: 0.05, initialLr: 0.05, params: [0] })]);

    const q = new Parameter(tensor(values(p)));
    const opt2 = new AdamW([q], { lr: 1 });
    opt2.loadStateDict(sd);
    expect(opt2.paramGroups[0]!.lr).toBe(0.05);
    const [gotP] = run(opt, p, GRADS.slice(2));
    const [gotQ] = run(opt2, q, GRADS.slice(2));
    expect(gotQ).toEqual(gotP);
    expectClose(gotQ!, adamwRef(P0, GRADS, 0.05, 0.9, 0.999, 1e-8, 0.01)[2]!);
    // Loaded state shares storage; both optimizers stay usable after one is freed.
    opt.dispose();
    setGrad(q, GRADS[0]!);
    opt2.step();
    for (const o of [opt, opt2]) o.zeroGrad();
    opt2.dispose();
    p.dispose();
    q.dispose();
  });

  it('rejects mismatched state dicts', () => {
    const p = new Parameter(tensor([1, 2, 3]));
    const opt = new AdamW([p]);
    setGrad(p, [1, 1, 1]);
    opt.step();
    const q = new Parameter(tensor([1, 2]));
    const opt2 = new AdamW([q]);
    expect(() => opt2.loadStateDict(opt.stateDict())).toThrow(/state 'exp_avg' of parameter 0: expected \[2\], got \[3\]/);
    const twoGroups = new AdamW([{ params: [new Parameter(tensor([1]))] }, { params: [new Parameter(tensor([1]))] }]);
    expect(() => twoGroups.loadStateDict(opt.stateDict())).toThrow(/1 parameter groups in the state dict, 2 in the optimizer/);
    expect(() => new AdamW([])).toThrow(/empty parameter list/);
    expect(() => new AdamW([p, p])).toThrow(/appears twice/);
    opt.zeroGrad();
    opt.dispose();
  });
});

describe('SGD', () => {
  const cases: [string, { lr: number; momentum?: number; dampening?: number; nesterov?: boolean; weightDecay?: number }][] = [
    ['plain', { lr: 0.1 }],
    ['momentum', { lr: 0.1, momentum: 0.9 }],
    ['momentum + dampening', { lr: 0.1, momentum: 0.9, dampening: 0.3 }],
    ['nesterov', { lr: 0.1, momentum: 0.9, nesterov: true }],
    ['weight decay', { lr: 0.1, weightDecay: 0.1 }],
    ['nesterov + weight decay', { lr: 0.05, momentum: 0.8, nesterov: true, weightDecay: 0.2 }],
  ];
  for (const [name, o] of cases) {
    it(`matches torch.optim.SGD for 3 steps: ${name}`, () => {
      const p = new Parameter(tensor(P0));
      const opt = new SGD([p], o);
      const got = run(opt, p, GRADS);
      const want = sgdRef(P0, GRADS, o.lr, o.momentum ?? 0, o.dampening ?? 0, o.nesterov ?? false, o.weightDecay ?? 0);
      got.forEach((g, i) => expectClose(g, want[i]!));
      opt.zeroGrad();
      opt.dispose();
      p.dispose();
    });
  }

  it('validates nesterov', () => {
    const p = new Parameter(tensor([1]));
    expect(() => new SGD([p], { nesterov: true })).toThrow(/nesterov/);
    p.dispose();
  });
});

describe('optimizer memory', () => {
  it('steps leave no tensors or buffers behind once state exists', () => {
    const p = new Parameter(tensor(P0));
    for (const opt of [new AdamW([p]), new SGD([p], { momentum: 0.9, nesterov: true, weightDecay: 0.1 })]) {
      setGrad(p, GRADS[0]!);
      opt.step();
      const t0 = liveTensors();
      const m0 = memory('cpu-ref');
      for (const g of GRADS) {
        const t = tensor(g);
        p.grad!.assign(t);
        t.dispose();
        opt.step();
      }
      expect(liveTensors()).toBe(t0);
      expect(memory('cpu-ref')).toEqual(m0);
      opt.zeroGrad();
      opt.dispose();
      expect(memory('cpu-ref').liveBuffers).toBeLessThan(m0.liveBuffers);
    }
    p.dispose();
  });
});

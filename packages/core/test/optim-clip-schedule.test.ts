import { beforeAll, describe, expect, it } from 'vitest';
import { liveTensors, setBackend, tensor, type Tensor } from '../src/index.js';
// optim/nn are not re-exported from src/index.ts yet; importing them directly works either way.
import { Parameter } from '../src/nn/index.js';
import { AdamW, CosineSchedule, LinearSchedule, clipGradNorm } from '../src/optim/index.js';

beforeAll(() => {
  setBackend('cpu-ref');
});

function values(t: Tensor): number[] {
  return Array.from(t.dataSync());
}

function withGrads(grads: number[][]): Parameter[] {
  return grads.map((g) => {
    const p = new Parameter(tensor(g.map(() => 0)));
    p.grad = tensor(g);
    return p;
  });
}

function disposeAll(ps: Parameter[]): void {
  for (const p of ps) {
    p.grad?.dispose();
    p.dispose();
  }
}

describe('clipGradNorm', () => {
  it('returns the global L2 norm and scales by maxNorm / (total + 1e-6) when above', () => {
    const ps = withGrads([[3, 4], [12]]);
    const before = liveTensors();
    const total = clipGradNorm(ps, 6.5);
    expect(liveTensors()).toBe(before + 1); // only the returned norm
    expect(total.shape).toEqual([]);
    expect(values(total)[0]).toBeCloseTo(13, 5);
    const c = 6.5 / (13 + 1e-6);
    values(ps[0]!.grad!).forEach((v, i) => expect(v).toBeCloseTo([3, 4][i]! * c, 6));
    expect(values(ps[1]!.grad!)[0]).toBeCloseTo(12 * c, 6);
    // The clipped gradients now have norm maxNorm.
    const again = clipGradNorm(ps, 100);
    expect(values(again)[0]).toBeCloseTo(6.5, 5);
    total.dispose();
    again.dispose();
    disposeAll(ps);
  });

  it('leaves gradients unchanged below the limit, skips params without grad', () => {
    const ps = withGrads([[0.3, -0.4]]);
    const noGradParam = new Parameter(tensor([1, 2]));
    const total = clipGradNorm([...ps, noGradParam], 1);
    expect(values(total)[0]).toBeCloseTo(0.5, 6);
    expect(values(ps[0]!.grad!)).toEqual(values(tensor([0.3, -0.4])));
    expect(noGradParam.grad).toBeNull();
    total.dispose();
    disposeAll([...ps, noGradParam]);
    const none = clipGradNorm([], 1);
    expect(values(none)).toEqual([0]);
    none.dispose();
  });

  it('supports the infinity norm', () => {
    const ps = withGrads([[1, -5], [2]]);
    const total = clipGradNorm(ps, 2.5, Infinity);
    expect(values(total)[0]).toBe(5);
    expect(values(ps[0]!.grad!)[1]).toBeCloseTo(-2.5, 5);
    total.dispose();
    disposeAll(ps);
  });
});

describe('schedules', () => {
  it('LinearSchedule: warmup to lr, then linear decay to 0 (HF get_linear_schedule_with_warmup)', () => {
    const s = new LinearSchedule({ lr: 2, warmupSteps: 10, totalSteps: 110 });
    expect([0, 5, 10, 60, 110, 200].map((t) => s.lrAt(t))).toEqual([0, 1, 2, 1, 0, 0]);
    const noWarmup = new LinearSchedule({ lr: 1, totalSteps: 4 });
    expect([0, 1, 2, 3, 4].map((t) => noWarmup.lrAt(t))).toEqual([1, 0.75, 0.5, 0.25, 0]);
  });

  it('CosineSchedule: warmup then half-cosine (HF get_cosine_schedule_with_warmup)', () => {
    const s = new CosineSchedule({ lr: 1, warmupSteps: 10, totalSteps: 110 });
    expect(s.lrAt(5)).toBeCloseTo(0.5, 12);
    expect(s.lrAt(10)).toBeCloseTo(1, 12);
    expect(s.lrAt(60)).toBeCloseTo(0.5, 12);
    expect(s.lrAt(35)).toBeCloseTo(0.5 * (1 + Math.cos(Math.PI / 4)), 12);
    expect(s.lrAt(110)).toBeCloseTo(0, 12);
    const floor = new CosineSchedule({ lr: 1, totalSteps: 100, minLrRate: 0.1 });
    expect(floor.lrAt(100)).toBeCloseTo(0.1, 12);
    expect(floor.lrAt(0)).toBeCloseTo(1, 12);
  });

  it('apply() scales each group from its initial lr', () => {
    const a = new Parameter(tensor([1]));
    const b = new Parameter(tensor([1]));
    const opt = new AdamW([{ params: [a] }, { params: [b], lr: 0.1 }], { lr: 0.01 });
    const s = new LinearSchedule({ lr: 0.01, warmupSteps: 4, totalSteps: 8 });
    s.apply(opt, 2);
    expect(opt.paramGroups.map((g) => g.lr)).toEqual([0.005, 0.05]);
    s.apply(opt, 4);
    expect(opt.paramGroups.map((g) => g.lr)).toEqual([0.01, 0.1]);
    a.dispose();
    b.dispose();
  });
});

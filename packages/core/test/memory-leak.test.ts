import { beforeAll, describe, expect, it } from 'vitest';
import { backward, crossEntropy, liveTensors, manualSeed, memory, mseLoss, randn, setBackend, tensor, tidy, type Tensor } from '../src/index.js';
// optim/nn are not re-exported from src/index.ts yet; importing them directly works either way.
import { Dropout, GELU, LayerNorm, Linear, Sequential, Tanh } from '../src/nn/index.js';
import { AdamW, LinearSchedule, SGD, clipGradNorm, type Optimizer } from '../src/optim/index.js';

beforeAll(() => {
  setBackend('cpu-ref');
});

interface Level {
  tensors: number;
  buffers: number;
  bytes: number;
}

function level(): Level {
  const m = memory('cpu-ref');
  return { tensors: liveTensors(), buffers: m.liveBuffers, bytes: m.liveBytes };
}

/** One full training step: forward, loss, backward, clip, optimizer step, zeroGrad. */
function trainStep(model: Sequential, opt: Optimizer, loss: (out: Tensor) => Tensor): void {
  tidy(() => {
    backward(loss(model.forward(xs)));
  });
  clipGradNorm(model.parameters(), 0.5).dispose();
  opt.step();
  opt.zeroGrad();
}

let xs: Tensor;

describe('a training step returns memory to its starting level', () => {
  it('MLP + MSE + AdamW + clipGradNorm + schedule', () => {
    manualSeed(3);
    xs = randn([8, 4]);
    const ys = randn([8, 2]);
    const model = new Sequential(new Linear(4, 16), new Tanh(), new LayerNorm(16), new Dropout(0.1), new Linear(16, 2));
    const opt = new AdamW(model.parameters(), { lr: 1e-2 });
    const schedule = new LinearSchedule({ lr: 1e-2, warmupSteps: 2, totalSteps: 10 });
    const loss = (out: Tensor): Tensor => mseLoss(out, ys);
    schedule.apply(opt, 0);
    trainStep(model, opt, loss); // warm-up: creates the optimizer moments
    const start = level();
    for (let s = 1; s <= 4; s++) {
      schedule.apply(opt, s);
      trainStep(model, opt, loss);
      expect(level(), `after step ${s}`).toEqual(start);
    }
    opt.dispose();
    model.dispose();
    xs.dispose();
    ys.dispose();
  });

  it('MLP + cross-entropy (with ignored targets) + SGD nesterov', () => {
    const before = level();
    manualSeed(4);
    xs = randn([6, 4]);
    const targets = tensor(new Int32Array([0, 2, -100, 1, 2, 0]), [6]);
    const model = new Sequential(new Linear(4, 8), new GELU(), new Linear(8, 3));
    const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-4 });
    const loss = (out: Tensor): Tensor => crossEntropy(out, targets, { ignoreIndex: -100 });
    trainStep(model, opt, loss);
    const start = level();
    for (let s = 0; s < 3; s++) trainStep(model, opt, loss);
    expect(level()).toEqual(start);
    // Freeing the model, the optimizer and the data returns to the level before the test.
    opt.dispose();
    model.dispose();
    xs.dispose();
    targets.dispose();
    expect(level()).toEqual(before);
  });
});

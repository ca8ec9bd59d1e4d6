import { beforeAll, describe, expect, it } from 'vitest';
import { argmax, backward, crossEntropy, dispose, manualSeed, mseLoss, setBackend, tensor, tidy, type Tensor } from '../src/index.js';
import { TEST_BACKEND } from '../../test-utils/src/backend-under-test.js';
// optim/nn are not re-exported from src/index.ts yet; importing them directly works either way.
import { GELU, Linear, Sequential, Tanh } from '../src/nn/index.js';
import { AdamW, clipGradNorm } from '../src/optim/index.js';

beforeAll(() => {
  setBackend(TEST_BACKEND);
});

const XOR_X = [[0, 0], [0, 1], [1, 0], [1, 1]];
const XOR_Y = [0, 1, 1, 0];

/** Trains `model` for `steps` AdamW steps; returns the loss after each step's forward. */
async function train(model: Sequential, lossFn: (out: Tensor) => Tensor, steps: number, lr: number): Promise<number[]> {
  const opt = new AdamW(model.parameters(), { lr });
  const x = tensor(XOR_X);
  // The scalar losses stay on the backend and are read once at the end (no sync per step).
  const losses: Tensor[] = [];
  for (let s = 0; s < steps; s++) {
    losses.push(tidy(() => {
      const loss = lossFn(model.forward(x));
      backward(loss);
      return loss;
    }));
    clipGradNorm(model.parameters(), 1).dispose();
    opt.step();
    opt.zeroGrad();
  }
  opt.dispose();
  x.dispose();
  const values: number[] = [];
  for (const l of losses) values.push((await l.data())[0]!);
  dispose(losses);
  return values;
}

function mlpTanh(): Sequential {
  return new Sequential(new Linear(2, 16), new Tanh(), new Linear(16, 1));
}

describe('training a 2-layer MLP with AdamW', () => {
  it('fits XOR regression (Linear→tanh→Linear, MSE) to loss < 1e-3, deterministically', async () => {
    const y = tensor(XOR_Y, [4, 1]);
    const runOnce = async (): Promise<number[]> => {
      manualSeed(0);
      const model = mlpTanh();
      const losses = await train(model, (out) => mseLoss(out, y), 300, 0.05);
      model.dispose();
      return losses;
    };
    const losses = await runOnce();
    expect(losses[0]).toBeGreaterThan(0.1);
    expect(losses.at(-1)).toBeLessThan(1e-3);
    // Same seed, same run, bit for bit.
    expect(await runOnce()).toEqual(losses);
    y.dispose();
  });

  it('fits XOR classification (Linear→gelu→Linear, cross-entropy)', async () => {
    manualSeed(1);
    const model = new Sequential(new Linear(2, 16), new GELU(), new Linear(16, 2));
    const targets = tensor(new Int32Array(XOR_Y), [4]);
    const losses = await train(model, (out) => crossEntropy(out, targets), 300, 0.05);
    expect(losses.at(-1)).toBeLessThan(1e-3);
    const x = tensor(XOR_X);
    const pred = tidy(() => argmax(model.forward(x), -1));
    expect(Array.from(await pred.data())).toEqual(XOR_Y);
    for (const t of [x, pred, targets]) t.dispose();
    model.dispose();
  });
});

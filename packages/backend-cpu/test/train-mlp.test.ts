/**
 * End to end: the same MLP (Linear → LayerNorm → GELU → Dropout → Linear →
 * RMSNorm-free tanh-GELU → Linear, cross-entropy, AdamW with gradient
 * clipping) trained from the same seed on 'cpu' and on 'cpu-ref' gives the
 * same loss curve within 1e-4, and every step returns the backend's live
 * buffers to their starting level.
 */
import { describe, expect, it } from 'vitest';
import {
  AdamW, Dropout, GELU, LayerNorm, Linear, Module, backward, clipGradNorm, crossEntropy, geluTanh, manualSeed, memory, setBackend,
  tensor, tidy, type Tensor,
} from '@adapterkit/core';
import { requireFastCpu, seeded } from './helpers.js';

requireFastCpu();

const BATCH = 64, IN = 48, HIDDEN = 96, CLASSES = 10, STEPS = 40;

class Mlp extends Module {
  readonly fc1 = this.registerModule('fc1', new Linear(IN, HIDDEN));
  readonly norm = this.registerModule('norm', new LayerNorm(HIDDEN));
  readonly act = this.registerModule('act', new GELU());
  readonly drop = this.registerModule('drop', new Dropout(0.1));
  readonly fc2 = this.registerModule('fc2', new Linear(HIDDEN, HIDDEN));
  readonly head = this.registerModule('head', new Linear(HIDDEN, CLASSES));

  forward(x: Tensor): Tensor {
    const h = this.drop.forward(this.act.forward(this.norm.forward(this.fc1.forward(x))));
    return this.head.forward(geluTanh(this.fc2.forward(h)));
  }
}

function trainOn(backend: string): { losses: number[]; leaked: number; finalWeight: Float32Array } {
  setBackend(backend);
  manualSeed(1234);
  const model = new Mlp();
  const opt = new AdamW(model.parameters(), { lr: 3e-3, weightDecay: 0.01 });
  const x = tensor(seeded(BATCH * IN, 7), [BATCH, IN]);
  const labels = new Int32Array(BATCH);
  for (let i = 0; i < BATCH; i++) labels[i] = (i * 7 + 3) % CLASSES;
  const y = tensor(labels, [BATCH]);
  const losses: number[] = [];
  let leaked = 0;
  for (let s = 0; s < STEPS; s++) {
    const before = memory(backend).liveBuffers;
    tidy(() => {
      const loss = crossEntropy(model.forward(x), y);
      losses.push(loss.dataSync()[0]!);
      backward(loss);
    });
    clipGradNorm(model.parameters(), 1).dispose();
    opt.step();
    opt.zeroGrad();
    if (s > 0) leaked = Math.max(leaked, memory(backend).liveBuffers - before);
  }
  const finalWeight = model.fc1.weight.dataSync() as Float32Array;
  opt.dispose();
  model.dispose();
  x.dispose();
  y.dispose();
  setBackend('cpu-ref');
  return { losses, leaked, finalWeight };
}

describe("training an MLP on 'cpu'", () => {
  it("follows the 'cpu-ref' loss curve within 1e-4 and leaks no buffers", () => {
    const ref = trainOn('cpu-ref');
    const fast = trainOn('cpu');
    expect(ref.losses[0]).toBeGreaterThan(1.5);
    expect(ref.losses.at(-1)).toBeLessThan(ref.losses[0]! * 0.7); // it does learn
    let maxDiff = 0;
    for (let s = 0; s < STEPS; s++) maxDiff = Math.max(maxDiff, Math.abs(fast.losses[s]! - ref.losses[s]!));
    if (process.env.ADAPTERKIT_TEST_VERBOSE) console.log(`max |Δloss| ${maxDiff}`);
    expect(maxDiff, `max |Δloss| over ${STEPS} steps`).toBeLessThan(1e-4);
    let wDiff = 0;
    for (let i = 0; i < ref.finalWeight.length; i++) wDiff = Math.max(wDiff, Math.abs(fast.finalWeight[i]! - ref.finalWeight[i]!));
    if (process.env.ADAPTERKIT_TEST_VERBOSE) console.log(`max |Δw| ${wDiff}`);
    expect(wDiff, 'max |Δ| of fc1.weight after training').toBeLessThan(1e-4);
    expect(fast.leaked).toBe(0);
    expect(ref.leaked).toBe(0);
  });
});

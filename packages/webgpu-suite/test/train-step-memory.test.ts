/**
 * GPU memory across full training steps (WebGPU only: it reads the WebGPU
 * backend's own counters). Core's tiny BERT with nothing frozen, a linear
 * classifier on the pooled output, cross-entropy, backward, AdamW, zeroGrad.
 *
 * Step 1 creates the optimizer state (exp_avg, exp_avg_sq per parameter), so
 * the steady level is the one after step 1; every later step must return to
 * it exactly: live bytes, live buffers and live tensors. Disposing the model,
 * the head and the optimizer must return to the level before loading.
 */
import { describe, expect, it } from 'vitest';
import {
  AdamW, Linear, backward, bytesPerElement, crossEntropy, dispose, liveTensors, manualSeed, memory, tensor, tidy,
  type Tensor,
} from '@adapterkit/core';
import { ids, loadTinyBert } from '@adapterkit/test-utils';

interface Level {
  liveBytes: number;
  liveBuffers: number;
  liveTensors: number;
}

function level(): Level {
  const { liveBytes, liveBuffers } = memory('webgpu');
  return { liveBytes, liveBuffers, liveTensors: liveTensors() };
}

describe('a full BERT training step on WebGPU', () => {
  it('returns to the same live bytes, buffers and tensors after every step, and to the start after disposal', async () => {
    const start = level();
    manualSeed(0);
    const model = await loadTinyBert();
    model.train(); // dropout on, as in training
    const head = new Linear(model.config.hiddenSize, 3);
    const params = [...model.parameters(), ...head.parameters()];
    const opt = new AdamW(params, { lr: 1e-3, weightDecay: 0.01 });
    const inputIds = ids([[2, 15, 37, 8, 3, 0], [2, 51, 9, 77, 64, 3]]);
    const attentionMask = ids([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]]);
    const labels = tensor(Int32Array.from([0, 2]), [2], { dtype: 'i32' });

    /** One training step; returns the loss value (read back, so the step's GPU work has finished). */
    const step = async (checkGrads = false): Promise<number> => {
      const loss: Tensor = tidy(() => {
        const out = model.forward({ inputIds, attentionMask });
        const l = crossEntropy(head.forward(out.pooledOutput!), labels);
        backward(l);
        return l;
      });
      // Nothing is frozen: every parameter gets a gradient.
      if (checkGrads) for (const p of params) expect(p.grad, p.name ?? 'parameter').not.toBeNull();
      opt.step();
      opt.zeroGrad();
      const value = (await loss.data())[0]!;
      loss.dispose();
      return value;
    };

    const loaded = level();
    const losses = [await step(true)];
    const steady = level();
    // Step 1 added exactly the optimizer state: two tensors the size of each parameter.
    const paramBytes = params.reduce((s, p) => s + p.size * bytesPerElement(p.dtype), 0);
    expect(steady.liveBytes - loaded.liveBytes).toBe(2 * paramBytes);
    expect(steady.liveBuffers - loaded.liveBuffers).toBe(2 * params.length);
    expect(steady.liveTensors - loaded.liveTensors).toBe(2 * params.length);
    for (let s = 2; s <= 3; s++) {
      losses.push(await step());
      expect(level(), `after step ${s}`).toEqual(steady);
    }
    expect(losses.every(Number.isFinite), losses.join(', ')).toBe(true);
    console.log(`train-step memory (webgpu): start ${JSON.stringify(start)}, loaded ${JSON.stringify(loaded)}, after steps 1-3 ${JSON.stringify(steady)}; losses ${losses.map((l) => l.toFixed(4)).join(', ')}`);

    opt.dispose();
    head.dispose();
    model.dispose();
    dispose([inputIds, attentionMask, labels]);
    expect(level()).toEqual(start);
  });
});

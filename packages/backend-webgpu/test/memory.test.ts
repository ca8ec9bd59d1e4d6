import {
  AdamW, Dropout, GELU, LayerNorm, Linear, Sequential, backward, clipGradNorm, crossEntropy, liveTensors, manualSeed, memory,
  randn, setBackend, tensor, tidy,
} from '@adapterkit/core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { WebGpuBackend } from '../src/index.js';
import { initWebGpu } from './setup.js';

let gpu: WebGpuBackend;

beforeAll(async () => {
  gpu = await initWebGpu();
});

function level(): { tensors: number; buffers: number; bytes: number } {
  const m = memory(gpu);
  return { tensors: liveTensors(), buffers: m.liveBuffers, bytes: m.liveBytes };
}

describe('webgpu memory', () => {
  it('returns to its starting level after disposing, and reuses pooled buffers', async () => {
    await gpu.sync();
    const start = level();
    const a = randn([64, 33], { backend: gpu });
    const b = tensor(new Uint8Array(7), [7], { backend: gpu });
    expect(memory(gpu).liveBuffers).toBe(start.buffers + 2);
    expect(memory(gpu).liveBytes).toBe(start.bytes + 64 * 33 * 4 + 7);
    a.dispose();
    b.dispose();
    expect(level()).toEqual(start);
    const pooled = memory(gpu).pooledBytes!;
    expect(pooled).toBeGreaterThan(0);
    // Same sizes again: served from the pool, so pooled bytes drop and nothing new is created.
    const c = randn([64, 33], { backend: gpu });
    expect(memory(gpu).pooledBytes!).toBeLessThan(pooled);
    c.dispose();
    expect(level()).toEqual(start);
  });

  it('a training step (MLP, LayerNorm, dropout, cross-entropy, clipping, AdamW) returns memory to its level', async () => {
    const before = level();
    manualSeed(11);
    const xs = randn([16, 12], { backend: gpu });
    const targets = tensor(new Int32Array([0, 1, 2, 3, -100, 1, 2, 0, 3, 3, 2, 1, 0, -100, 1, 2]), [16], { backend: gpu });
    // Modules create their parameters on the current backend.
    setBackend('webgpu');
    let model: Sequential;
    try {
      model = new Sequential(new Linear(12, 32), new GELU(), new LayerNorm(32), new Dropout(0.1), new Linear(32, 4));
    } finally {
      setBackend('cpu-ref');
    }
    expect(model.parameters().every((p) => p.backend === gpu)).toBe(true);
    const opt = new AdamW(model.parameters(), { lr: 1e-2 });
    const step = (): void => {
      tidy(() => {
        backward(crossEntropy(model.forward(xs), targets, { ignoreIndex: -100 }));
      });
      clipGradNorm(model.parameters(), 1).dispose();
      opt.step();
      opt.zeroGrad();
    };
    step(); // creates the optimizer moments
    await gpu.sync();
    const start = level();
    for (let s = 0; s < 3; s++) {
      step();
      await gpu.sync();
      expect(level(), `after step ${s + 1}`).toEqual(start);
    }
    opt.dispose();
    model.dispose();
    xs.dispose();
    targets.dispose();
    expect(level()).toEqual(before);
  });
});

/**
 * bench/train-step.ts resolves (never throws) with `skipped` and the reason
 * where CUDA is unavailable; with a GPU it runs a small model quickly here
 * (the bert-base measurement is `pnpm bench` / gpu/check.ts).
 */
import { describe, expect, it } from 'vitest';
import { benchTrainStep } from '../bench/train-step.js';

describe('train-step bench', () => {
  it('runs a small seq_bn step on cuda, or reports why it cannot', async () => {
    const r = await benchTrainStep({ layers: 2, hidden: 64, heads: 4, intermediate: 128, vocab: 2000, batch: 4, seq: 16, steps: 2, warmup: 1 });
    if (r.skipped) {
      console.warn(`[backend-cuda] train-step bench skipped: ${r.skipped}`);
      expect(r.skipped).toMatch(/^CUDA unavailable: \S/);
      return;
    }
    expect(r.stepMs).toHaveLength(2);
    expect(r.losses!.every(Number.isFinite)).toBe(true);
    expect(r.peakAllocatedBytes).toBeGreaterThan(0);
  });
});

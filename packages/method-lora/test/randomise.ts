/** Seeded random adapter weights (shared by the tests and scripts/save-for-python.ts; no vitest import). */
import { add, mul, noGrad, randn, tidy, type AdapterModelApi } from '@adapterkit/core';

/**
 * Overwrites every parameter of an adapter with seeded random values, so a
 * zero-initialised lora_B does not hide anything: N(0, std²); (IA)³ scales
 * 1 + N(0, std²); DoRA magnitudes times 1 + N(0, std²).
 */
export function randomiseAdapter(model: AdapterModelApi, name: string, seed: number, std = 0.1): void {
  let i = 0;
  const params = model.adapterHost.adapterParameters(name);
  const keys = new Set(params.map(([k]) => k));
  noGrad(() => {
    for (const [key, p] of params) {
      tidy(() => {
        const noise = randn(p.shape, { std, seed: seed * 1000 + i++, dtype: p.dtype, backend: p.backend });
        // (IA)³ modules have lora_B without lora_A.
        const isScale = key.endsWith('lora_B') && !keys.has(key.replace(/lora_B$/, 'lora_A'));
        const next = key.endsWith('.m.weight') ? mul(p, add(noise, 1)) : isScale ? add(noise, 1) : noise;
        p.assign(next);
      });
    }
  });
}

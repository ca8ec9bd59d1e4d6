/** Prefix tuning semantics on small random models: activation, training, deletion, leave_out, masks, memory. */
import { describe, expect, it } from 'vitest';
import {
  AdamW, Parallel, Stack, backward, causalLMFromBase, generate, liveTensors, mean, noGrad, ones, randn, square, tidy, zeros, type BertModel,
} from '@adapterkit/core';
import { ids, maxAbsDiffHost, readF32, readNoGrad } from '@adapterkit/test-utils';
import { PrefixTuningLayer, prefixPoolOf } from '../src/index.js';
import { TINY_IDS, TINY_MASK, randomizeAdapter, tinyBert, tinyLlama } from './helpers.js';

const forwardBert = (model: BertModel, mask = true): Promise<Float32Array> =>
  readNoGrad(() => model.forward({ inputIds: ids(TINY_IDS), attentionMask: mask ? ids(TINY_MASK) : undefined }).lastHiddenState);

describe('prefix tuning on BERT', () => {
  it('changes nothing while no prefix adapter is active (bitwise equal to the model without adapters)', async () => {
    const plain = tinyBert(3);
    const model = tinyBert(3);
    const want = await forwardBert(plain);
    model.addAdapter('p', 'prefix_tuning[prefix_length=4, bottleneck_size=8]');
    model.addAdapter('q', 'prompt_tuning[prompt_length=2]');
    randomizeAdapter(model.adapterHost, 'p', 1);
    expect(maxAbsDiffHost(await forwardBert(model), want)).toBe(0);
    // A setup without prefix adapters leaves attention alone (the prompt acts at the embeddings only).
    model.setActiveAdapters('p');
    expect(maxAbsDiffHost(await forwardBert(model), want)).toBeGreaterThan(1e-3);
    model.setActiveAdapters(null);
    expect(maxAbsDiffHost(await forwardBert(model), want)).toBe(0);
    plain.dispose();
    model.dispose();
  });

  it('builds one pool module (n_layers = attention layers not left out) and per-layer entries', () => {
    const model = tinyBert();
    model.addAdapter('p', 'prefix_tuning[prefix_length=4, bottleneck_size=8, leave_out=[1], use_gating=True, shared_gating=False]');
    const names = model.adapterHost.adapterParameters('p').map(([k, p]) => `${k} ${p.shape.join('x')}`);
    expect(names.sort()).toEqual([
      'encoder.layer.0.attention.self.prefix_tuning.prefix_gates.p.weight 2x32',
      'encoder.layer.0.attention.self.prefix_tuning.prefix_gates.p.bias 2',
      'encoder.layer.2.attention.self.prefix_tuning.prefix_gates.p.weight 2x32',
      'encoder.layer.2.attention.self.prefix_tuning.prefix_gates.p.bias 2',
      'prefix_tuning.prefix_tunings.p.self_prefix.wte.weight 4x32',
      'prefix_tuning.prefix_tunings.p.self_prefix.control_trans.0.weight 8x32',
      'prefix_tuning.prefix_tunings.p.self_prefix.control_trans.0.bias 8',
      'prefix_tuning.prefix_tunings.p.self_prefix.control_trans.2.weight 128x8', // 2 layers · 2 · 4 heads · 8
      'prefix_tuning.prefix_tunings.p.self_prefix.control_trans.2.bias 128',
    ].sort());
    const layers = model.adapterHost.sitesOf('attention').map((s) => s.owner.child<PrefixTuningLayer>('prefix_tuning')?.prefixes.get('p'));
    expect(layers).toEqual([0, undefined, 1]);
    expect(() => model.addAdapter('all_out', 'prefix_tuning[leave_out=[0, 1, 2]]')).toThrow(/no attention layer takes a prefix/);
    expect(model.adapterHost.adapterNames()).toEqual(['p']);
    model.dispose();
  });

  it('works without an attention mask (same as an all-ones mask) and with a padded batch', async () => {
    const model = tinyBert();
    model.addAdapter('p', 'prefix_tuning_flat[prefix_length=3]', { setActive: true });
    randomizeAdapter(model.adapterHost, 'p', 2);
    const noMask = await readNoGrad(() => model.forward({ inputIds: ids([TINY_IDS[0]!]) }).lastHiddenState);
    const ones = await readNoGrad(() => model.forward({ inputIds: ids([TINY_IDS[0]!]), attentionMask: ids([[1, 1, 1, 1, 1, 1]]) }).lastHiddenState);
    expect(maxAbsDiffHost(noMask, ones)).toBeLessThan(1e-6);
    // Row 0 of the padded batch equals row 0 alone: the prefix is per row, the mask keeps padding out.
    const batch = await forwardBert(model);
    expect(maxAbsDiffHost(batch.subarray(0, noMask.length), noMask)).toBeLessThan(1e-5);
    model.dispose();
  });

  it('trainAdapter trains only the prefix parameters (gates included); the base gets no gradient', async () => {
    const model = tinyBert();
    model.addAdapter('p', 'prefix_tuning[prefix_length=4, bottleneck_size=8, use_gating=True]');
    model.addAdapter('other', 'prefix_tuning_flat[prefix_length=2]');
    model.trainAdapter('p');
    const trainable = model.namedParameters().filter(([, p]) => p.requiresGrad).map(([k]) => k);
    expect(trainable.sort()).toEqual(model.adapterHost.adapterParameters('p').map(([k]) => k).sort());
    const params = model.adapterHost.adapterParameters('p').map(([, p]) => p);
    const before = await Promise.all(params.map(readF32));
    const opt = new AdamW(params, { lr: 1e-2 });
    tidy(() => {
      const out = model.forward({ inputIds: ids(TINY_IDS), attentionMask: ids(TINY_MASK) }).lastHiddenState;
      backward(mean(square(out)));
    });
    for (const [k, p] of model.namedParameters()) {
      if (trainable.includes(k)) expect(p.grad, k).toBeTruthy();
      else expect(p.grad ?? null, k).toBeNull();
    }
    opt.step();
    opt.zeroGrad();
    const after = await Promise.all(params.map(readF32));
    params.forEach((p, i) => expect(maxAbsDiffHost(after[i]!, before[i]!), p.name).toBeGreaterThan(0));
    model.dispose();
  });

  it('applies dropout to the prefix only in training mode', async () => {
    const model = tinyBert();
    model.addAdapter('p', 'prefix_tuning_flat[prefix_length=4, dropout=0.5]', { setActive: true });
    randomizeAdapter(model.adapterHost, 'p', 3);
    const evalA = await forwardBert(model);
    const evalB = await forwardBert(model);
    expect(maxAbsDiffHost(evalA, evalB)).toBe(0);
    // Only the prefix module in training mode: the base model's own dropout stays off.
    model.train();
    model.embeddings.eval();
    model.encoder.eval();
    const pool = prefixPoolOf(model.adapterHost, false)!;
    expect(pool.prefix_tunings.get('p')!.get('self_prefix')!.dropout.training).toBe(true);
    const trainOut = await readNoGrad(() => noGrad(() => model.forward({ inputIds: ids(TINY_IDS), attentionMask: ids(TINY_MASK) }).lastHiddenState));
    expect(maxAbsDiffHost(trainOut, evalA)).toBeGreaterThan(1e-3);
    model.eval();
    model.dispose();
  });

  it('deletes an adapter: modules, gates and weights go, outputs return to the base, the name can be reused', async () => {
    const model = tinyBert();
    const base = await forwardBert(model);
    const live = liveTensors();
    model.addAdapter('p', 'prefix_tuning[prefix_length=4, bottleneck_size=8, use_gating=True]', { setActive: true });
    randomizeAdapter(model.adapterHost, 'p', 4);
    expect(maxAbsDiffHost(await forwardBert(model), base)).toBeGreaterThan(1e-3);
    model.deleteAdapter('p');
    expect(model.activeAdapters).toBeNull();
    expect(model.adapterHost.adapterParameters('p')).toEqual([]);
    expect(model.namedParameters().filter(([k]) => k.includes('.p.'))).toEqual([]);
    expect(liveTensors()).toBe(live);
    expect(maxAbsDiffHost(await forwardBert(model), base)).toBe(0);
    model.addAdapter('p', 'prefix_tuning_flat[prefix_length=2]', { setActive: true });
    expect(model.adapterHost.adapterParameters('p').map(([k]) => k)).toEqual(['prefix_tuning.prefix_tunings.p.self_prefix.control_trans']);
    model.dispose();
  });

  it('does not leak tensors across forward passes and training steps (per-pass prefix cache is freed)', () => {
    const model = tinyBert();
    model.addAdapter('a', 'prefix_tuning[prefix_length=4, bottleneck_size=8, use_gating=True]');
    model.addAdapter('b', 'prefix_tuning_flat[prefix_length=2]');
    model.setActiveAdapters(new Stack('a', 'b'));
    const step = (): void => tidy(() => {
      const out = model.forward({ inputIds: ids(TINY_IDS), attentionMask: ids(TINY_MASK) }).lastHiddenState;
      backward(mean(square(out)));
    });
    step();
    model.zeroGrad();
    const live = liveTensors();
    for (let i = 0; i < 3; i++) {
      step();
      model.zeroGrad();
      noGrad(() => tidy(() => model.forward({ inputIds: ids(TINY_IDS) }).lastHiddenState)).dispose();
    }
    expect(liveTensors()).toBe(live);
    model.dispose();
  });

  it('Stack prepends right to left ([P_b; P_a; K]) and widens additive and u8 masks with attended entries', async () => {
    const model = tinyBert();
    model.addAdapter('a', 'prefix_tuning_flat[prefix_length=2]');
    model.addAdapter('b', 'prefix_tuning_flat[prefix_length=3]');
    const site = model.adapterHost.sitesOf('attention')[0]!;
    const key = randn([1, 4, 5, 8]);
    const value = randn([1, 4, 5, 8]);
    const hidden = randn([1, 5, 32]);
    for (const mask of [zeros([1, 1, 1, 5]), ones([1, 1, 5, 5], { dtype: 'u8' })]) {
      const out = noGrad(() => model.adapterHost.withSetup(new Stack('a', 'b'), () => site.run({ key, value, mask }, hidden)));
      expect(out.key.shape).toEqual([1, 4, 10, 8]);
      expect(out.mask!.shape).toEqual([...mask.shape.slice(0, 3), 10]);
      const m = await out.mask!.data();
      const fill = mask.dtype === 'u8' ? 1 : 0;
      expect([...m].every((x) => x === fill)).toBe(true);
      const k = await out.key.data();
      const rows = await model.adapterHost.adapterParameters('b')[0]![1].data(); // [3, 3 layers · 2 · 4 heads · 8]
      for (let h = 0; h < 4; h++) {
        for (let p = 0; p < 3; p++) {
          for (let d = 0; d < 8; d++) expect(k[(h * 10 + p) * 8 + d]).toBe(rows[p * 192 + h * 8 + d]);
        }
      }
      const tail = Array.from({ length: 4 * 5 * 8 }, (_, i) => k[(Math.floor(i / 40) * 10 + 5 + Math.floor((i % 40) / 8)) * 8 + (i % 8)]!);
      expect(maxAbsDiffHost(tail, await key.data())).toBe(0);
      for (const t of [out.key, out.value, out.mask!, mask]) t.dispose();
    }
    model.dispose();
  });

  it('supports Stack only for now; other blocks fail with the method named', () => {
    const model = tinyBert();
    model.addAdapter('a', 'prefix_tuning_flat[prefix_length=2]');
    model.addAdapter('b', 'prefix_tuning_flat[prefix_length=2]');
    expect(() => model.setActiveAdapters(new Stack('a', 'b'))).not.toThrow();
    expect(() => model.setActiveAdapters(new Parallel('a', 'b'))).toThrow(/Parallel is not supported by method 'prefix_tuning'/);
    model.dispose();
  });
});

describe('prefix tuning on Llama (GQA, u8 keep-mask)', () => {
  const run = (model: ReturnType<typeof tinyLlama>, rows: number[][], mask?: number[][]): Promise<Float32Array> =>
    readNoGrad(() => model.forward({ inputIds: ids(rows), attentionMask: mask ? ids(mask) : undefined }).lastHiddenState);

  it('sizes the prefix by the KV heads and handles the [1, 1, Lq, Lk] and [B, 1, Lq, Lk] masks', async () => {
    const model = tinyLlama();
    model.addAdapter('p', 'prefix_tuning[prefix_length=3, bottleneck_size=8]', { setActive: true });
    randomizeAdapter(model.adapterHost, 'p', 5);
    const w = model.adapterHost.adapterParameters('p').find(([k]) => k.endsWith('control_trans.2.weight'))![1];
    expect(w.shape).toEqual([2 * 2 * 2 * 8, 8]);
    const alone = await run(model, [[1, 7, 9, 11]]);
    const padded = await run(model, [[1, 7, 9, 11], [0, 0, 1, 5]], [[1, 1, 1, 1], [0, 0, 1, 1]]);
    expect(maxAbsDiffHost(padded.subarray(0, alone.length), alone)).toBeLessThan(1e-5);
    model.dispose();
  });

  it('with a KV cache the prefix is prepended at every step but never stored in the cache', async () => {
    const model = tinyLlama();
    model.addAdapter('p', 'prefix_tuning_flat[prefix_length=3]', { setActive: true });
    randomizeAdapter(model.adapterHost, 'p', 6);
    const full = await run(model, [[1, 7, 9, 11, 4]]);
    const cache = model.createCache();
    await readNoGrad(() => model.forward({ inputIds: ids([[1, 7, 9, 11]]), cache }).lastHiddenState);
    expect(cache.length).toBe(4);
    const last = await readNoGrad(() => model.forward({ inputIds: ids([[4]]), cache }).lastHiddenState);
    expect(cache.length).toBe(5);
    expect(maxAbsDiffHost(last, full.subarray(4 * 32))).toBeLessThan(1e-5);
    cache.dispose();
    model.dispose();
  });

  it('generates with a gated prefix and the KV cache without leaking tensors', async () => {
    const model = tinyLlama();
    model.addAdapter('p', 'prefix_tuning[prefix_length=3, bottleneck_size=8, use_gating=True]', { setActive: true });
    const lm = causalLMFromBase(model);
    await generate(lm, [[1, 7, 9], [1, 4]], { maxNewTokens: 3 });
    const live = liveTensors();
    const out = await generate(lm, [[1, 7, 9], [1, 4]], { maxNewTokens: 4 });
    expect(out.newTokens.map((r) => r.length)).toEqual([4, 4]);
    expect(liveTensors()).toBe(live);
    model.dispose();
  });

  it('rejects prompt tuning for Llama, as Python does', () => {
    const model = tinyLlama();
    expect(() => model.addAdapter('q', 'prompt_tuning')).toThrow(/model type 'llama' does not support prompt tuning/);
    expect(model.adapterHost.adapterNames()).toEqual([]);
    model.dispose();
  });
});

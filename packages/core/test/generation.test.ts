/**
 * generate(): greedy and seeded sampling, EOS and batching, KV cache vs
 * none, memory per step, option checks; sampleToken's distribution.
 */
import { describe, expect, it } from 'vitest';
import { HostRandom, embedding, liveTensors, manualSeed, tensor } from '../src/index.js';
import type { ModelInputs } from '../src/models/types.js';
import { LlamaModel, parseLlamaConfig } from '../src/models/llama/index.js';
import { causalLMFromBase, generate, sampleToken, type CausalLM } from '../src/generation/index.js';

const V = 11;

/** Row t is 10 at column (t + 1) mod V: looking a token up gives the counter's logits. */
const SUCCESSOR = Float32Array.from({ length: V * V }, (_, i) => (i % V === (Math.floor(i / V) + 1) % V ? 10 : 0));

/**
 * A model whose next token is (last real token + 1) mod V, by a wide margin.
 * It records the inputs it was called with. The logits are an embedding
 * lookup on the backend, so the ids are never read back synchronously.
 */
function counter(calls: { seq: number; hasMask: boolean }[] = []): CausalLM {
  return {
    forward(inputs: ModelInputs) {
      calls.push({ seq: inputs.inputIds.shape[1]!, hasMask: inputs.attentionMask !== undefined });
      return { logits: embedding(tensor(SUCCESSOR, [V, V]), inputs.inputIds) };
    },
  };
}

function tinyLlama(): { lm: CausalLM; model: LlamaModel } {
  manualSeed(3);
  const model = new LlamaModel(parseLlamaConfig({
    model_type: 'llama', vocab_size: 29, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, initializer_range: 0.5,
  })).eval();
  return { lm: causalLMFromBase(model), model };
}

describe('generate', () => {
  it('decodes greedily, stops each row at EOS and left-pads ragged batches', async () => {
    const calls: { seq: number; hasMask: boolean }[] = [];
    const out = await generate(counter(calls), [[1, 2], [6]], { maxNewTokens: 6, eosTokenId: 5 });
    expect(out.newTokens).toEqual([[3, 4, 5], [7, 8, 9, 10, 0, 1]]);
    expect(out.sequences).toEqual([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 0, 1]]);
    expect(out.finished).toEqual([true, false]);
    // No cache offered: the whole (padded, masked) sequence is fed every step.
    expect(calls.map((c) => c.seq)).toEqual([2, 3, 4, 5, 6, 7]);
    expect(calls.every((c) => c.hasMask)).toBe(true);
  });

  it('stops when every row has finished and reports each step', async () => {
    const steps: (readonly number[])[] = [];
    const out = await generate(counter(), [3], { maxNewTokens: 10, eosTokenId: [9, 5], onStep: (_s, t) => steps.push([...t]) });
    expect(out.newTokens).toEqual([[4, 5]]);
    expect(steps).toEqual([[4], [5]]);
    expect((await generate(counter(), [3], { maxNewTokens: 0 })).newTokens).toEqual([[]]);
  });

  it('gives the same greedy tokens with and without the KV cache, feeding one token per step with it', async () => {
    const { lm, model } = tinyLlama();
    const prompts = [[1, 7, 3, 9], [1, 12]];
    const seen: number[] = [];
    const spy: CausalLM = {
      forward: (i) => {
        seen.push(i.inputIds.shape[1]!);
        return lm.forward(i);
      },
      createCache: lm.createCache,
    };
    const cached = await generate(spy, prompts, { maxNewTokens: 8 });
    expect(seen).toEqual([4, 1, 1, 1, 1, 1, 1, 1]);
    const plain = await generate(lm, prompts, { maxNewTokens: 8, useCache: false });
    expect(cached.newTokens).toEqual(plain.newTokens);
    // Batched rows decode as they do alone.
    for (let r = 0; r < prompts.length; r++) expect((await generate(lm, prompts[r]!, { maxNewTokens: 8 })).newTokens[0]).toEqual(cached.newTokens[r]);
    model.dispose();
  });

  it('holds memory constant per step and frees the cache at the end', async () => {
    const { lm, model } = tinyLlama();
    const before = liveTensors();
    const live: number[] = [];
    await generate(lm, [[1, 2, 3], [4, 5]], { maxNewTokens: 12, temperature: 0.8, seed: 1, onStep: () => live.push(liveTensors()) });
    expect(new Set(live.slice(1)).size, live.join(',')).toBe(1);
    expect(liveTensors()).toBe(before);
    model.dispose();
  });

  it('samples reproducibly from a seed; top-k 1 is greedy', async () => {
    const { lm, model } = tinyLlama();
    const opts = { maxNewTokens: 12, temperature: 1.5, topP: 0.95 };
    const a = await generate(lm, [1, 4], { ...opts, seed: 11 });
    const b = await generate(lm, [1, 4], { ...opts, seed: 11 });
    expect(a.newTokens).toEqual(b.newTokens);
    const others = await Promise.all([12, 13, 14].map((seed) => generate(lm, [1, 4], { ...opts, seed })));
    expect(others.some((o) => o.newTokens[0]!.join() !== a.newTokens[0]!.join())).toBe(true);
    const greedy = await generate(lm, [1, 4], { maxNewTokens: 12 });
    expect((await generate(lm, [1, 4], { maxNewTokens: 12, temperature: 2, topK: 1, seed: 5 })).newTokens).toEqual(greedy.newTokens);
    model.dispose();
  });

  it('rejects bad options', async () => {
    const lm = counter();
    await expect(generate(lm, [1], { maxNewTokens: -1 })).rejects.toThrow(/maxNewTokens/);
    await expect(generate(lm, [1], { maxNewTokens: 1, temperature: -1 })).rejects.toThrow(/temperature/);
    await expect(generate(lm, [1], { maxNewTokens: 1, topP: 0 })).rejects.toThrow(/topP/);
    await expect(generate(lm, [1], { maxNewTokens: 1, topK: 1.5 })).rejects.toThrow(/topK/);
    await expect(generate(lm, [[1], []], { maxNewTokens: 1 })).rejects.toThrow(/prompt 1 is empty/);
    await expect(generate(lm, [1], { maxNewTokens: 1, useCache: true })).rejects.toThrow(/createCache/);
  });
});

describe('sampleToken', () => {
  const draw = (logits: number[], opts: { temperature?: number; topK?: number; topP?: number }, n = 4000): number[] => {
    const rng = new HostRandom(42);
    const counts = new Array<number>(logits.length).fill(0);
    for (let i = 0; i < n; i++) counts[sampleToken(logits, 0, logits.length, { temperature: 1, topK: 0, topP: 1, ...opts }, rng)]!++;
    return counts.map((c) => c / n);
  };

  it('follows softmax(logits / temperature)', () => {
    const p = draw([0, Math.log(3), -Infinity], {});
    expect(p[0]).toBeCloseTo(0.25, 1);
    expect(p[1]).toBeCloseTo(0.75, 1);
    expect(p[2]).toBe(0);
    const hot = draw([0, Math.log(3)], { temperature: 1e9 });
    expect(hot[0]).toBeCloseTo(0.5, 1);
  });

  it('applies top-k then top-p', () => {
    // Probabilities 0.5, 0.3, 0.2: top-p 0.6 keeps the first two (0.5 < 0.6 ≤ 0.8), renormalised to 5/8, 3/8.
    const logits = [Math.log(0.5), Math.log(0.3), Math.log(0.2)];
    const p = draw(logits, { topP: 0.6 });
    expect(p[2]).toBe(0);
    expect(p[0]).toBeCloseTo(0.625, 1);
    expect(draw(logits, { topK: 1 })).toEqual([1, 0, 0]);
    expect(draw(logits, { topK: 2 })[2]).toBe(0);
    expect(draw(logits, { topP: 0.5 })).toEqual([1, 0, 0]);
  });
});

/** Prompt tuning semantics on a small random BERT: insertion, masks, first-adapter rule, init. */
import { describe, expect, it } from 'vitest';
import { ForwardContext, Stack, backward, mean, noGrad, tidy } from '@adapterkit/core';
import { ids, maxAbsDiffHost, readNoGrad } from '@adapterkit/test-utils';
import { PROMPT_TOKENS_LENGTH, setPromptTuningTokenizer } from '../src/index.js';
import { TINY_IDS, TINY_MASK, randomizeAdapter, tinyBert } from './helpers.js';

describe('prompt tuning on BERT', () => {
  it('lengthens the sequence by prompt_length and leaves padding masked', async () => {
    const model = tinyBert();
    model.addAdapter('q', 'prompt_tuning[prompt_length=3]', { setActive: true });
    const out = await readNoGrad(() => model.forward({ inputIds: ids(TINY_IDS), attentionMask: ids(TINY_MASK) }).lastHiddenState);
    expect(out.length).toBe(2 * (6 + 3) * 32);
    // Row 1 alone (without its padding) gives the same real-token outputs: the prepended mask entries are "attend".
    const alone = await readNoGrad(() => model.forward({ inputIds: ids([TINY_IDS[1]!.slice(0, 3)]) }).lastHiddenState);
    expect(maxAbsDiffHost(out.subarray(9 * 32, 9 * 32 + 6 * 32), alone)).toBeLessThan(1e-5);
    model.dispose();
  });

  it("'prefix_after_bos' keeps token 0 first; 'prefix' puts the prompt first", async () => {
    const model = tinyBert();
    model.addAdapter('pre', 'prompt_tuning[prompt_length=2, init_weights_seed=7]');
    model.addAdapter('bos', 'prompt_tuning[prompt_length=2, init_weights_seed=7, combine="prefix_after_bos"]');
    const embedded = (name: string): Promise<Float32Array> => {
      model.setActiveAdapters(name);
      return readNoGrad(() => model.forward({ inputIds: ids([[5, 6, 7]]), outputHiddenStates: true }).hiddenStates![0]!);
    };
    const pre = await embedded('pre');
    const bos = await embedded('bos');
    const h = 32;
    // pre: [P0, P1, x0, x1, x2]; bos: [x0, P0, P1, x1, x2] (same seed: same prompt rows).
    expect(maxAbsDiffHost(bos.subarray(0, h), pre.subarray(2 * h, 3 * h))).toBe(0);
    expect(maxAbsDiffHost(bos.subarray(h, 3 * h), pre.subarray(0, 2 * h))).toBe(0);
    expect(maxAbsDiffHost(bos.subarray(3 * h), pre.subarray(3 * h))).toBe(0);
    model.dispose();
  });

  it('uses only the first adapter of the setup (Python setup.first())', async () => {
    const model = tinyBert();
    model.addAdapter('q', 'prompt_tuning[prompt_length=2]');
    model.addAdapter('p', 'prefix_tuning_flat[prefix_length=2]');
    randomizeAdapter(model.adapterHost, 'p', 1);
    const run = (): Promise<Float32Array> => readNoGrad(() => model.forward({ inputIds: ids(TINY_IDS), attentionMask: ids(TINY_MASK) }).lastHiddenState);
    model.setActiveAdapters(new Stack('p', 'q'));
    expect((await run()).length).toBe(2 * 6 * 32);
    model.setActiveAdapters(new Stack('q', 'p'));
    expect((await run()).length).toBe(2 * 8 * 32);
    model.dispose();
  });

  it('trainAdapter trains only the prompt embedding', () => {
    const model = tinyBert();
    model.addAdapter('q', 'prompt_tuning[prompt_length=2]');
    model.trainAdapter('q');
    expect(model.namedParameters().filter(([, p]) => p.requiresGrad).map(([k]) => k)).toEqual(['prompt_tuning.prompt_tunings.q.prompt_embedding.weight']);
    tidy(() => backward(mean(model.forward({ inputIds: ids(TINY_IDS), attentionMask: ids(TINY_MASK) }).lastHiddenState)));
    const grads = model.namedParameters().filter(([, p]) => p.grad).map(([k]) => k);
    expect(grads).toEqual(['prompt_tuning.prompt_tunings.q.prompt_embedding.weight']);
    model.dispose();
  });

  it('records prompt_tokens_length in the forward context for heads', () => {
    const model = tinyBert();
    model.addAdapter('q', 'prompt_tuning[prompt_length=4]', { setActive: true });
    const context = new ForwardContext(null, 1, 3);
    noGrad(() => tidy(() => model.adapterHost.withContext(context, () => {
      model.embeddingSite.run({ hidden: model.embeddings.forward({ inputIds: ids([[5, 6, 7]]) }), attentionMask: null });
    })));
    expect(context.outputs.get(PROMPT_TOKENS_LENGTH)).toBe(4);
    model.dispose();
  });

  it('initialises U(-0.5, 0.5), reproducibly with init_weights_seed; from_string needs a tokenizer', async () => {
    const model = tinyBert();
    model.addAdapter('a', 'prompt_tuning[init_weights_seed=3]');
    model.addAdapter('b', 'prompt_tuning[init_weights_seed=3]');
    const w = (n: string): Promise<Float32Array> => model.adapterHost.adapterParameters(n)[0]![1].data() as Promise<Float32Array>;
    const a = await w('a');
    expect(maxAbsDiffHost(a, await w('b'))).toBe(0);
    expect(Math.max(...a.map(Math.abs))).toBeLessThanOrEqual(0.5);
    expect(Math.max(...a.map(Math.abs))).toBeGreaterThan(0.4);
    expect(() => model.addAdapter('s', 'prompt_tuning[prompt_init="from_string", prompt_init_text="hi"]')).toThrow(/needs a tokenizer or token ids/);
    setPromptTuningTokenizer(model, { encode: (text: string) => ({ ids: [...text].map((c) => c.charCodeAt(0) % 99) }) });
    expect(() => model.addAdapter('s', 'prompt_tuning[prompt_init="from_string"]')).toThrow(/prompt_init_text must be set/);
    model.addAdapter('s', 'prompt_tuning[prompt_length=5, prompt_init="from_string", prompt_init_text="ab"]');
    const s = await w('s');
    const emb = await model.embeddings.wordEmbeddings.weight.data();
    const rows = [97, 98, 97, 98, 97].map((c) => c % 99);
    rows.forEach((r, i) => expect(maxAbsDiffHost(s.subarray(i * 32, (i + 1) * 32), emb.subarray(r * 32, (r + 1) * 32))).toBe(0));
    model.dispose();
  });
});

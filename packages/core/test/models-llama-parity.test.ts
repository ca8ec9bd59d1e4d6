/**
 * Parity with HF transformers (LlamaForCausalLM, float32, eager attention) on
 * random tiny models written by tools/reference/make_llama_fixtures.py:
 * hidden states, logits, gradients of a cross-entropy loss, and greedy
 * generation (single prompt and a left-padded batch).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { backward, crossEntropy, linear, tensor, tidy, type Tensor } from '../src/index.js';
import { loadSafetensors } from '../src/io/index.js';
import { LlamaModel, parseLlamaConfig } from '../src/models/llama/index.js';
import { causalLMFromBase, generate } from '../src/generation/index.js';

const FIXTURES = new URL('./fixtures/llama/', import.meta.url);
const TOL = 1e-4;

interface Case {
  input_ids: number[][];
  attention_mask: number[][];
  position_ids: number[][];
  labels: number[][];
  loss_value: number;
  generate: { prompt: number[]; max_new_tokens: number; eos_token_id: number; new_tokens: number[] };
  generate_batch: { prompts: number[][]; max_new_tokens: number; eos_token_id: number; new_tokens: number[][] };
}

interface Loaded {
  model: LlamaModel;
  lmHead: Tensor;
  expected: Map<string, Tensor>;
  kase: Case;
}

async function load(name: string): Promise<Loaded> {
  const dir = new URL(`${name}/`, FIXTURES);
  const raw = JSON.parse(readFileSync(new URL('config.json', dir), 'utf8')) as Record<string, unknown>;
  const config = parseLlamaConfig(raw);
  const model = new LlamaModel(config).eval();
  const weights = await loadSafetensors(new URL('model.safetensors', dir));
  const base = new Map<string, Tensor>();
  for (const [k, t] of weights) if (k.startsWith('model.')) base.set(k.slice('model.'.length), t);
  model.loadStateDict(base);
  const lmHead = config.tieWordEmbeddings ? model.inputEmbeddings() : weights.get('lm_head.weight')!;
  for (const [k, t] of weights) if (k !== 'lm_head.weight' || config.tieWordEmbeddings) t.dispose();
  const expected = await loadSafetensors(new URL('expected.safetensors', dir));
  const kase = JSON.parse(readFileSync(new URL('case.json', dir), 'utf8')) as Case;
  return { model, lmHead, expected, kase };
}

/** max |a − b| over the rows/positions where mask is 1 ([B, L, ...] tensors). */
async function maxDiff(a: Tensor, b: Tensor, mask?: number[][]): Promise<number> {
  expect(a.shape).toEqual(b.shape);
  const x = await a.data();
  const y = await b.data();
  const inner = mask ? a.size / (mask.length * mask[0]!.length) : a.size;
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    if (mask) {
      const pos = Math.floor(i / inner);
      if (mask[Math.floor(pos / mask[0]!.length)]![pos % mask[0]!.length] === 0) continue;
    }
    m = Math.max(m, Math.abs(x[i]! - y[i]!));
  }
  return m;
}

describe.each(['tiny-untied', 'tiny-tied'])('Llama parity with HF: %s', (name) => {
  it('matches hidden states, logits and gradients; generates the same greedy tokens', async () => {
    const { model, lmHead, expected, kase } = await load(name);
    const ids = tensor(Int32Array.from(kase.input_ids.flat()), [3, 7]);
    const mask = tensor(Int32Array.from(kase.attention_mask.flat()), [3, 7]);
    const labels = tensor(Int32Array.from(kase.labels.flat()), [3, 7]);
    const report: Record<string, number> = {};

    // Position ids derived from the mask (the default) must equal HF generate's, which the fixture passed explicitly.
    const { loss, diffs } = await (async () => {
      const out = tidy(() => {
        const o = model.forward({ inputIds: ids, attentionMask: mask, outputHiddenStates: true });
        const logits = linear(o.lastHiddenState, lmHead);
        return { ...o, logits, loss: crossEntropy(logits, labels, { ignoreIndex: -100 }) };
      });
      const d: Record<string, number> = {};
      d['last_hidden_state'] = await maxDiff(out.lastHiddenState, expected.get('last_hidden_state')!, kase.attention_mask);
      d['logits'] = await maxDiff(out.logits, expected.get('logits')!, kase.attention_mask);
      expect(out.hiddenStates).toHaveLength(3);
      for (let i = 0; i < 3; i++) d[`hidden_states.${i}`] = await maxDiff(out.hiddenStates![i]!, expected.get(`hidden_states.${i}`)!, kase.attention_mask);
      return { loss: out.loss, diffs: d };
    })();
    Object.assign(report, diffs);
    report['loss'] = Math.abs((await loss.item()) - kase.loss_value);
    backward(loss);
    report['grad.embed_tokens'] = await maxDiff(model.embed_tokens.weight.grad!, expected.get('grad.embed_tokens')!);
    report['grad.q_proj_1'] = await maxDiff(model.getParameter('layers.1.self_attn.q_proj.weight').grad!, expected.get('grad.q_proj_1')!);
    console.log(`${name} max |Δ|:`, JSON.stringify(report));
    for (const [k, v] of Object.entries(report)) expect(v, k).toBeLessThanOrEqual(TOL);
    model.zeroGrad();

    const lm = causalLMFromBase(model, lmHead);
    const g = kase.generate;
    const single = await generate(lm, g.prompt, { maxNewTokens: g.max_new_tokens, eosTokenId: g.eos_token_id });
    expect(single.newTokens[0]).toEqual(g.new_tokens);
    const gb = kase.generate_batch;
    const batch = await generate(lm, gb.prompts, { maxNewTokens: gb.max_new_tokens, eosTokenId: gb.eos_token_id, padTokenId: 0 });
    expect(batch.newTokens).toEqual(gb.new_tokens);
    const noCache = await generate(lm, gb.prompts, { maxNewTokens: gb.max_new_tokens, eosTokenId: gb.eos_token_id, useCache: false });
    expect(noCache.newTokens).toEqual(gb.new_tokens);
  });
});

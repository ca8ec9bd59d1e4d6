/**
 * Prompt tuning with prediction heads (Python `prompt_tokens_length`): the
 * prompt length travels from the embeddings hook through the forward context
 * to the heads. As in Python (heads/base.py TaggingHead.forward,
 * heads/language_modeling.py CausalLMHead.forward) token-level logits keep
 * the prompt positions, and labels (and the tagging mask) get that many
 * ignored entries in front, so the loss equals the loss of the same head on
 * the hidden states with the prompt positions stripped by hand.
 */
import { describe, expect, it } from 'vitest';
import {
  AdapterModel, AutoAdapterModel, BertModel, manualSeed, narrow, noGrad, parseBertConfig, tensor, tidy, type PretrainedAdapterModel, type Tensor,
} from '@adapterkit/core';
import { CORE_FIXTURES, ids, maxAbsDiffHost, readAndDispose, readJson } from '@adapterkit/test-utils';
import '../src/index.js';
import { FIXTURES, TINY_IDS, TINY_MASK } from './helpers.js';

const P = 3;
const L = 6;
const V = 99;

function tinyAdapterModel(seed = 1): AdapterModel {
  manualSeed(seed);
  const config = parseBertConfig({
    model_type: 'bert', vocab_size: V, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 37,
    hidden_act: 'gelu', max_position_embeddings: 64, type_vocab_size: 2, layer_norm_eps: 1e-12, pad_token_id: 0,
    hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1,
  });
  return new AdapterModel(new BertModel(config), { basePrefix: 'bert' }).eval() as AdapterModel;
}

const TAG_LABELS = [[1, 4, 0, -100, 2, 3], [2, 2, 1, 0, 0, 0]];
const MLM_LABELS = [[-100, 17, -100, -100, 33, -100], [-100, -100, 8, -100, -100, -100]];

interface Run { logits: Float32Array; loss: number; shape: number[]; prompt?: number }

/** The model's forward with the active head and labels, read back. */
async function run(model: AdapterModel, head: string, labels: number[][]): Promise<Run> {
  const out = noGrad(() => model.forward({ inputIds: ids(TINY_IDS), attentionMask: ids(TINY_MASK), labels: ids(labels), head }));
  const shape = [...out.logits.shape];
  const prompt = out.promptTokensLength;
  const loss = (await readAndDispose(out.loss!))[0]!;
  const logits = await readAndDispose(out.logits);
  out.lastHiddenState.dispose();
  out.pooledOutput?.dispose();
  return { logits, loss, shape, prompt };
}

/** The same head on the hidden states with positions [from, from + L) kept (the prompt stripped by hand), without prompt info. */
async function stripped(model: AdapterModel, head: string, labels: number[][] | null, from: number): Promise<{ logits: Float32Array; loss?: number }> {
  const res = noGrad(() => tidy(() => {
    const out = model.base.forward({ inputIds: ids(TINY_IDS), attentionMask: ids(TINY_MASK) });
    const hidden = narrow(out.lastHiddenState, 1, from, L);
    const r = model.getHead(head).forward({ lastHiddenState: hidden }, { labels: labels ? ids(labels) : undefined, attentionMask: ids(TINY_MASK) });
    return r.loss ? [r.logits, r.loss] as Tensor[] : [r.logits];
  }));
  const logits = await readAndDispose(res[0]!);
  return res[1] ? { logits, loss: (await readAndDispose(res[1]))[0]! } : { logits };
}

/** Rows [from, from + L) of every batch row of [2, S, C] host logits. */
function tokenRows(x: Float32Array, s: number, c: number, from: number): Float32Array {
  const out = new Float32Array(2 * L * c);
  for (let b = 0; b < 2; b++) out.set(x.subarray((b * s + from) * c, (b * s + from + L) * c), b * L * c);
  return out;
}

/** Mean cross-entropy over [2, L, C] host logits for labels ≠ -100 (and mask = 1 when given), computed by hand. */
function handCE(logits: Float32Array, c: number, labels: number[][], mask?: number[][]): number {
  let total = 0;
  let count = 0;
  for (let b = 0; b < 2; b++) {
    for (let t = 0; t < L; t++) {
      const y = labels[b]![t]!;
      if (y === -100 || (mask && mask[b]![t] !== 1)) continue;
      const row = logits.subarray((b * L + t) * c, (b * L + t + 1) * c);
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
      total += lse - row[y]!;
      count++;
    }
  }
  return total / count;
}

describe('prompt tuning with prediction heads (prompt_tokens_length)', () => {
  it('tagging: logits keep the prompt positions; the input labels drive the loss (as Python)', async () => {
    const model = tinyAdapterModel();
    model.addTaggingHead('tag', { numLabels: 5 });
    const base = await run(model, 'tag', TAG_LABELS);
    expect(base.shape).toEqual([2, L, 5]);
    expect(base.prompt).toBeUndefined();
    model.addAdapter('q', `prompt_tuning[prompt_length=${P}, init_weights_seed=3]`, { setActive: true });
    const got = await run(model, 'tag', TAG_LABELS);
    expect(got.shape).toEqual([2, P + L, 5]);
    expect(got.prompt).toBe(P);
    const ref = await stripped(model, 'tag', TAG_LABELS, P);
    const tokens = tokenRows(got.logits, P + L, 5, P);
    expect(maxAbsDiffHost(tokens, ref.logits)).toBeLessThan(1e-6);
    expect(Math.abs(got.loss - ref.loss!)).toBeLessThan(1e-6);
    expect(Math.abs(got.loss - handCE(tokens, 5, TAG_LABELS, TINY_MASK))).toBeLessThan(1e-5);
    console.log(`tagging: loss ${got.loss.toFixed(6)} (stripped head ${ref.loss!.toFixed(6)}, no prompt ${base.loss.toFixed(6)})`);
    model.dispose();
  });

  it('masked LM: logits [B, P + L, vocab]; loss = the head on the stripped hidden states', async () => {
    const model = tinyAdapterModel();
    model.addMaskedLMHead('mlm');
    model.addAdapter('q', `prompt_tuning[prompt_length=${P}, init_weights_seed=3]`, { setActive: true });
    const got = await run(model, 'mlm', MLM_LABELS);
    expect(got.shape).toEqual([2, P + L, V]);
    const ref = await stripped(model, 'mlm', MLM_LABELS, P);
    const tokens = tokenRows(got.logits, P + L, V, P);
    expect(maxAbsDiffHost(tokens, ref.logits)).toBeLessThan(1e-5);
    expect(Math.abs(got.loss - ref.loss!)).toBeLessThan(1e-5);
    expect(Math.abs(got.loss - handCE(tokens, V, MLM_LABELS))).toBeLessThan(1e-4);
    console.log(`masked LM: loss ${got.loss.toFixed(6)} (stripped head ${ref.loss!.toFixed(6)})`);
    model.dispose();
  });

  it('causal LM: labels shifted, then padded (Python order); loss = the head on the stripped hidden states', async () => {
    const model = tinyAdapterModel();
    model.addCausalLMHead('clm');
    model.addAdapter('q', `prompt_tuning[prompt_length=${P}, init_weights_seed=3]`, { setActive: true });
    const labels = [TINY_IDS[0]!, [5, 21, 8, -100, -100, -100]];
    const got = await run(model, 'clm', labels);
    expect(got.shape).toEqual([2, P + L, V]);
    const ref = await stripped(model, 'clm', labels, P);
    expect(Math.abs(got.loss - ref.loss!)).toBeLessThan(1e-5);
    // By hand: position P + t − 1 predicts label t (t ≥ 1); the last prompt position predicts nothing.
    const tokens = tokenRows(got.logits, P + L, V, P);
    const shiftedLabels = labels.map((r) => [...r.slice(1), -100]);
    expect(Math.abs(got.loss - handCE(tokens, V, shiftedLabels))).toBeLessThan(1e-4);
    console.log(`causal LM: loss ${got.loss.toFixed(6)} (stripped head ${ref.loss!.toFixed(6)})`);
    model.dispose();
  });

  it('labels that include the prompt positions are rejected', () => {
    const model = tinyAdapterModel();
    model.addMaskedLMHead('mlm');
    model.addAdapter('q', `prompt_tuning[prompt_length=${P}]`, { setActive: true });
    const long = MLM_LABELS.map((r) => [...Array(P).fill(-100), ...r]);
    expect(() => noGrad(() => tidy(() => model.forward({ inputIds: ids(TINY_IDS), labels: ids(long), head: 'mlm' }).logits))).toThrow(/prompt positions/);
    model.dispose();
  });

  it("classification reads position 0: the first prompt position ('prefix'), the real first token ('prefix_after_bos'), as Python", async () => {
    const model = tinyAdapterModel();
    model.addClassificationHead('cls', { numLabels: 3 });
    model.addAdapter('pre', `prompt_tuning[prompt_length=${P}, init_weights_seed=3]`);
    model.addAdapter('bos', `prompt_tuning[prompt_length=${P}, init_weights_seed=3, combine="prefix_after_bos"]`);
    for (const name of ['pre', 'bos']) {
      model.setActiveAdapters(name);
      const got = await run(model, 'cls', [[0], [2]].map((r) => r));
      expect(got.shape).toEqual([2, 3]);
      const ref = await stripped(model, 'cls', null, 0); // positions [0, L): the head reads position 0
      expect(maxAbsDiffHost(got.logits, ref.logits)).toBeLessThan(1e-6);
    }
    model.dispose();
  });
});


type Nested = number | Nested[];
const flatten = (x: Nested): number[] => (Array.isArray(x) ? x.flatMap(flatten) : [x]);
interface PyHead { loss: number; logits_shape?: number[]; logits?: Nested; start_logits?: Nested; end_logits?: Nested }
interface PyExpected { prompt_length: number; adapters: Record<string, Record<string, PyHead>> }
interface CoreHeadsExpected {
  inputs: Record<string, number[][]>;
  labels: Record<string, number[][] | number[]>;
  qa_positions: { start_positions: number[]; end_positions: number[] };
}

describe('prompt tuning + heads vs Python adapters 1.3.0 (fixtures: tools/reference/make_prompt_head_fixtures.py)', () => {
  const HEADS_FX = new URL('heads/', CORE_FIXTURES);
  const PROMPT_FX = new URL('prompt-heads/', FIXTURES);

  it('logits (prompt positions included) and losses of cls / pooled / tag / mlm / clm / qa heads match', async () => {
    const py = readJson<PyExpected>(new URL('expected.json', PROMPT_FX));
    const core = readJson<CoreHeadsExpected>(new URL('expected.json', HEADS_FX));
    const model: PretrainedAdapterModel = await AutoAdapterModel.fromPretrained(new URL('model/', HEADS_FX).pathname, { onWarning: () => {} });
    model.eval();
    const i = core.inputs;
    const vec = (x: number[]): Tensor => tensor(Int32Array.from(x), [x.length], { dtype: 'i32' });
    const worst: Record<string, number> = {};
    for (const [adapter, heads] of Object.entries(py.adapters)) {
      expect(await model.loadAdapter(new URL(`${adapter}/`, PROMPT_FX).pathname)).toBe(adapter);
      model.setActiveAdapters(adapter);
      for (const [head, want] of Object.entries(heads)) {
        const labels = core.labels[head]!;
        const out = noGrad(() => model.forward({
          inputIds: ids(i.input_ids!), attentionMask: ids(i.attention_mask!), tokenTypeIds: ids(i.token_type_ids!), head,
          ...(head === 'qa'
            ? { startPositions: vec(core.qa_positions.start_positions), endPositions: vec(core.qa_positions.end_positions) }
            : { labels: Array.isArray(labels[0]) ? ids(labels as number[][]) : vec(labels as number[]) }),
        }));
        expect(out.promptTokensLength).toBe(py.prompt_length);
        let d = Math.abs((await readAndDispose(out.loss!))[0]! - want.loss);
        if (want.logits_shape) expect([...out.logits.shape]).toEqual(want.logits_shape);
        if (head === 'qa') {
          d = Math.max(d, maxAbsDiffHost(await readAndDispose(out.startLogits!), flatten(want.start_logits!)));
          d = Math.max(d, maxAbsDiffHost(await readAndDispose(out.endLogits!), flatten(want.end_logits!)));
          out.logits.dispose();
        } else {
          d = Math.max(d, maxAbsDiffHost(await readAndDispose(out.logits), flatten(want.logits!)));
        }
        out.lastHiddenState.dispose();
        out.pooledOutput?.dispose();
        worst[`${adapter}/${head}`] = d;
        expect(d, `${adapter}/${head}`).toBeLessThan(1e-4);
      }
    }
    console.log('prompt + heads max |Δ| vs Python (loss and logits):', JSON.stringify(worst));
    model.dispose();
  });
});

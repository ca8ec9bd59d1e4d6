/**
 * LlamaModel on its own: config parsing, HF parameter names, registry,
 * rotary layouts, KV cache, padding, sliding window, hidden states, memory.
 * HF parity is in models-llama-parity.test.ts and models-llama-gguf.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { liveTensors, manualSeed, noGrad, tensor, tidy, type Tensor } from '../src/index.js';
import { modelTypeEntry } from '../src/models/registry.js';
import {
  LlamaKVCache,
  LlamaModel,
  buildAttentionMask,
  parseLlamaConfig,
  permuteRotaryRows,
  positionIdsFromMask,
  type LlamaConfig,
  type RopeLayout,
} from '../src/models/llama/index.js';

const RAW = {
  model_type: 'llama', vocab_size: 37, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
  num_attention_heads: 4, num_key_value_heads: 2, rms_norm_eps: 1e-6, initializer_range: 0.4,
};

function tinyModel(overrides: Record<string, unknown> = {}, ropeLayout: RopeLayout = 'rotate-half', seed = 7): LlamaModel {
  manualSeed(seed);
  return new LlamaModel(parseLlamaConfig({ ...RAW, ...overrides }, { ropeLayout })).eval();
}

function ids(rows: number[][]): Tensor {
  return tensor(Int32Array.from(rows.flat()), [rows.length, rows[0]!.length]);
}

async function maxAbsDiff(a: Tensor, b: Tensor): Promise<number> {
  expect(a.shape).toEqual(b.shape);
  const x = await a.data();
  const y = await b.data();
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!));
  return m;
}

/** Runs the model under noGrad and returns the last hidden state (caller disposes). */
function run(model: LlamaModel, rows: number[][], extra: { mask?: number[][]; cache?: LlamaKVCache } = {}): Tensor {
  return noGrad(() =>
    tidy(() => model.forward({ inputIds: ids(rows), attentionMask: extra.mask ? ids(extra.mask) : undefined, cache: extra.cache }).lastHiddenState),
  );
}

describe('parseLlamaConfig', () => {
  it('applies HF defaults and reads both rope formats', () => {
    const c = parseLlamaConfig({ model_type: 'llama', vocab_size: 10, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2 });
    expect(c).toMatchObject({ numKeyValueHeads: 2, headDim: 4, ropeTheta: 10000, rmsNormEps: 1e-6, tieWordEmbeddings: false, slidingWindow: null, ropeLayout: 'rotate-half' });
    expect(parseLlamaConfig({ ...RAW, rope_theta: 500000 }).ropeTheta).toBe(500000);
    expect(parseLlamaConfig({ ...RAW, rope_parameters: { rope_theta: 1e6, rope_type: 'default' } }).ropeTheta).toBe(1e6);
    expect(parseLlamaConfig({ ...RAW, head_dim: 6 }).headDim).toBe(6);
    expect(parseLlamaConfig({ ...RAW, model_type: 'mistral', sliding_window: 4096 }).slidingWindow).toBe(4096);
    expect(parseLlamaConfig({ ...RAW, sliding_window: 4096 }).slidingWindow).toBeNull();
  });

  it('rejects what it cannot run, naming the field', () => {
    expect(() => parseLlamaConfig({ ...RAW, model_type: 'bert' })).toThrow(/model_type/);
    expect(() => parseLlamaConfig({ ...RAW, hidden_size: undefined })).toThrow(/'hidden_size' is required/);
    expect(() => parseLlamaConfig({ ...RAW, rope_scaling: { rope_type: 'linear', factor: 2 } })).toThrow(/rope_scaling.*linear/);
    expect(() => parseLlamaConfig({ ...RAW, rope_parameters: { rope_type: 'llama3', rope_theta: 5e5 } })).toThrow(/rope_parameters.*llama3/);
    expect(() => parseLlamaConfig({ ...RAW, hidden_act: 'gelu' })).toThrow(/hidden_act/);
    expect(() => parseLlamaConfig({ ...RAW, num_key_value_heads: 3 })).toThrow(/num_key_value_heads/);
    expect(() => parseLlamaConfig({ ...RAW, hidden_size: 18 })).toThrow(/divisible/);
  });
});

describe('LlamaModel structure', () => {
  it('names parameters exactly as HF LlamaModel, without the rotary buffer', () => {
    const m = tinyModel({ num_hidden_layers: 1 });
    expect([...m.stateDict().keys()]).toEqual([
      'embed_tokens.weight',
      'layers.0.self_attn.q_proj.weight', 'layers.0.self_attn.k_proj.weight', 'layers.0.self_attn.v_proj.weight', 'layers.0.self_attn.o_proj.weight',
      'layers.0.mlp.gate_proj.weight', 'layers.0.mlp.up_proj.weight', 'layers.0.mlp.down_proj.weight',
      'layers.0.input_layernorm.weight', 'layers.0.post_attention_layernorm.weight',
      'norm.weight',
    ]);
    expect(m.getParameter('layers.0.self_attn.k_proj.weight').shape).toEqual([8, 16]);
    expect(m.inputEmbeddings()).toBe(m.embed_tokens.weight);
    const biased = tinyModel({ num_hidden_layers: 1, attention_bias: true, mlp_bias: true });
    expect([...biased.stateDict().keys()]).toContain('layers.0.self_attn.q_proj.bias');
    expect([...biased.stateDict().keys()]).toContain('layers.0.mlp.down_proj.bias');
    m.dispose();
    biased.dispose();
  });

  it('is registered for llama and mistral under the "model" prefix', () => {
    for (const t of ['llama', 'mistral']) {
      const e = modelTypeEntry(t);
      expect(e.basePrefix).toBe('model');
      const m = e.createBase(e.parseConfig({ ...RAW, model_type: t }));
      expect(m).toBeInstanceOf(LlamaModel);
      m.dispose();
    }
  });

  it('returns numLayers + 1 hidden states, the last one the normed output, and frees everything else', async () => {
    const m = tinyModel();
    const input = ids([[1, 2, 3]]);
    const before = liveTensors();
    const out = noGrad(() => m.forward({ inputIds: input, outputHiddenStates: true }));
    expect(out.hiddenStates).toHaveLength(3);
    expect(out.hiddenStates![2]).toBe(out.lastHiddenState);
    expect(out.lastHiddenState.shape).toEqual([1, 3, 16]);
    const returned = new Set([out.lastHiddenState, ...out.hiddenStates!]).size;
    expect(liveTensors() - before).toBe(returned);
    for (const t of out.hiddenStates!) t.dispose();
    expect(liveTensors()).toBe(before);
    input.dispose();
    m.dispose();
  });

  it('checks its inputs', () => {
    const m = tinyModel();
    expect(() => m.forward({ inputIds: tensor([[1, 2]]) })).toThrow(/i32/);
    expect(() => m.forward({ inputIds: tensor(Int32Array.from([1, 2]), [2]) })).toThrow(/\[batch, seq\]/);
    const cache = m.createCache();
    run(m, [[1, 2]], { cache }).dispose();
    expect(() => run(m, [[3]], { cache, mask: [[1]] })).toThrow(/cached \+ new tokens/);
    cache.dispose();
    m.dispose();
  });
});

describe('rotary layouts', () => {
  it('permuteRotaryRows maps pairs to halves and back', () => {
    // One head of size 4 with 1 column: interleaved rows (a0, b0, a1, b1) ↔ rotate-half (a0, a1, b0, b1).
    const inter = Float32Array.from([10, 20, 11, 21, 30, 40, 31, 41]);
    const halfRows = permuteRotaryRows(inter, 8, 1, 2, 'rotate-half');
    expect(Array.from(halfRows)).toEqual([10, 11, 20, 21, 30, 31, 40, 41]);
    expect(Array.from(permuteRotaryRows(halfRows, 8, 1, 2, 'interleaved'))).toEqual(Array.from(inter));
  });

  it("give the same outputs once q/k rows are permuted, and different ones if they are not", async () => {
    const a = tinyModel();
    const b = tinyModel({}, 'interleaved', 99);
    const c = tinyModel({}, 'interleaved', 99);
    const cfg = a.config as LlamaConfig;
    const dict = new Map<string, Tensor>();
    const same = new Map<string, Tensor>();
    for (const [k, t] of a.stateDict()) {
      const heads = k.endsWith('q_proj.weight') ? cfg.numAttentionHeads : k.endsWith('k_proj.weight') ? cfg.numKeyValueHeads : 0;
      same.set(k, t);
      if (!heads) dict.set(k, t);
      else dict.set(k, tensor(permuteRotaryRows((await t.data()) as Float32Array, t.shape[0]!, t.shape[1]!, heads, 'interleaved'), t.shape));
    }
    b.loadStateDict(dict);
    c.loadStateDict(same);
    const rows = [[3, 14, 15, 9, 26, 5]];
    const ya = run(a, rows);
    const yb = run(b, rows);
    const yc = run(c, rows);
    expect(await maxAbsDiff(ya, yb)).toBeLessThan(1e-5);
    expect(await maxAbsDiff(ya, yc)).toBeGreaterThan(1e-2);
    for (const t of [ya, yb, yc]) t.dispose();
    for (const m of [a, b, c]) m.dispose();
  });
});

describe('masks, padding and the KV cache', () => {
  it('derives position ids from the padding mask', async () => {
    const pos = positionIdsFromMask(ids([[0, 0, 1, 1], [1, 1, 1, 0]]), 4);
    expect(pos.dtype).toBe('i32');
    expect(await pos.array()).toEqual([[1, 1, 0, 1], [0, 1, 2, 1]]);
    const last = positionIdsFromMask(ids([[0, 1, 1, 1, 1]]), 2);
    expect(await last.array()).toEqual([[2, 3]]);
    pos.dispose();
    last.dispose();
  });

  it('builds causal, padding and sliding-window keep-masks', async () => {
    const like = tensor([0]);
    const causal = buildAttentionMask({ batch: 1, queryLength: 2, pastLength: 2, like });
    expect(await causal.array()).toEqual([[[[1, 1, 1, 0], [1, 1, 1, 1]]]]);
    const window = buildAttentionMask({ batch: 1, queryLength: 4, pastLength: 0, slidingWindow: 2, like });
    expect(await window.array()).toEqual([[[[1, 0, 0, 0], [1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]]]]);
    const padded = buildAttentionMask({ batch: 2, queryLength: 3, pastLength: 0, attentionMask: ids([[0, 1, 1], [1, 1, 1]]), like });
    expect(await padded.array()).toEqual([[[[0, 0, 0], [0, 1, 0], [0, 1, 1]]], [[[1, 0, 0], [1, 1, 0], [1, 1, 1]]]]);
    for (const t of [like, causal, window, padded]) t.dispose();
  });

  it('left- and right-padded rows equal the same rows run alone', async () => {
    const m = tinyModel();
    const batch = run(m, [[0, 0, 5, 6, 7], [5, 6, 7, 8, 0]], { mask: [[0, 0, 1, 1, 1], [1, 1, 1, 1, 0]] });
    const alone0 = run(m, [[5, 6, 7]]);
    const alone1 = run(m, [[5, 6, 7, 8]]);
    const data = await batch.data();
    const a0 = await alone0.data();
    const a1 = await alone1.data();
    let d = 0;
    for (let i = 0; i < 3 * 16; i++) d = Math.max(d, Math.abs(data[2 * 16 + i]! - a0[i]!));
    for (let i = 0; i < 4 * 16; i++) d = Math.max(d, Math.abs(data[5 * 16 + i]! - a1[i]!));
    expect(d).toBeLessThan(1e-5);
    for (const t of [batch, alone0, alone1]) t.dispose();
    m.dispose();
  });

  it('incremental decoding with the cache equals the full forward, with and without padding', async () => {
    const m = tinyModel();
    const full = run(m, [[0, 4, 8, 15, 16, 23], [4, 8, 15, 16, 23, 33]], { mask: [[0, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]] });
    const cache = m.createCache();
    const parts: Tensor[] = [run(m, [[0, 4, 8], [4, 8, 15]], { cache, mask: [[0, 1, 1], [1, 1, 1]] })];
    expect(cache.length).toBe(3);
    const next = [[15, 16], [16, 23], [23, 33]];
    let maskLen = 3;
    for (const [a, b] of [[15, 16], [16, 23]]) {
      maskLen += 1;
      parts.push(run(m, [[a!], [b!]], { cache, mask: [[0, ...new Array<number>(maskLen - 1).fill(1)], new Array<number>(maskLen).fill(1)] }));
    }
    maskLen += 1;
    parts.push(run(m, [[next[2]![0]!], [next[2]![1]!]], { cache, mask: [[0, ...new Array<number>(maskLen - 1).fill(1)], new Array<number>(maskLen).fill(1)] }));
    expect(cache.length).toBe(6);
    const f = await full.data();
    let d = 0;
    let pos = 0;
    for (const p of parts) {
      const x = await p.data();
      const len = p.shape[1]!;
      for (let b = 0; b < 2; b++) {
        for (let i = 0; i < len; i++) {
          if (b === 0 && pos + i === 0) continue; // padding position
          for (let h = 0; h < 16; h++) d = Math.max(d, Math.abs(x[(b * len + i) * 16 + h]! - f[(b * 6 + pos + i) * 16 + h]!));
        }
      }
      pos += len;
      p.dispose();
    }
    expect(d).toBeLessThan(1e-5);
    full.dispose();
    cache.dispose();
    expect(cache.length).toBe(0);
    m.dispose();
  });

  it("Mistral's sliding window limits what a query sees", async () => {
    // One layer: with window 3 the output at position i depends only on tokens i−2..i, and RoPE only on offsets.
    const m = tinyModel({ model_type: 'mistral', sliding_window: 3, num_hidden_layers: 1 });
    const seq = [3, 1, 4, 1, 5, 9, 2];
    const full = run(m, [seq]);
    const tail = run(m, [seq.slice(4)]);
    const f = await full.data();
    const t = await tail.data();
    let d = 0;
    for (let h = 0; h < 16; h++) d = Math.max(d, Math.abs(f[6 * 16 + h]! - t[2 * 16 + h]!));
    expect(d).toBeLessThan(1e-4);
    const llama = tinyModel({ num_hidden_layers: 1 });
    const fullL = run(llama, [seq]);
    const tailL = run(llama, [seq.slice(4)]);
    const fl = await fullL.data();
    const tl = await tailL.data();
    let dl = 0;
    for (let h = 0; h < 16; h++) dl = Math.max(dl, Math.abs(fl[6 * 16 + h]! - tl[2 * 16 + h]!));
    expect(dl).toBeGreaterThan(1e-3);
    for (const x of [full, tail, fullL, tailL]) x.dispose();
    m.dispose();
    llama.dispose();
  });
});

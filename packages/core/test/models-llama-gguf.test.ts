/**
 * The real tiny Llama stories260K (karpathy/tinyllamas, GGUF, F32) loaded from
 * shared/data: tokenizer, prompt logits and a 40-token greedy continuation
 * against tools/reference/make_llama_fixtures.py (HF transformers' GGUF
 * loading, cross-checked there by an independent numpy llama2.c forward).
 */
import { readFileSync } from 'node:fs';
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { liveTensors, noGrad, tensor, tidy } from '../src/index.js';
import { TEST_BACKEND_HAS_F64 } from '../../test-utils/src/backend-under-test.js';
import { readGgufFile, type ParsedGguf } from '../src/io/index.js';
import { hfNameOfGgufTensor, llamaFromGguf, type LlamaFromGguf } from '../src/models/llama/index.js';
import { LlamaSpmTokenizer } from '../src/tokenizers/llama-spm.js';
import { causalLMFromBase, generate } from '../src/generation/index.js';

// test/ → packages/core → packages → /work/main → /work, beside which shared/ lives.
const STORIES = new URL('../../../../shared/data/models/stories260K/stories260K.gguf', import.meta.url);

interface StoriesFixture {
  reference: string;
  prompt: string;
  prompt_ids: number[];
  max_new_tokens: number;
  new_tokens: number[];
  text: string;
  prompt_logits: number[][];
  tokenizer_cases: { text: string; ids: number[]; ids_spm: number[]; decoded: string }[];
}

const fixture = JSON.parse(readFileSync(new URL('./fixtures/llama/stories260k.json', import.meta.url), 'utf8')) as StoriesFixture;

let gguf: ParsedGguf;
let tok: LlamaSpmTokenizer;
let half: LlamaFromGguf;
let pairs: LlamaFromGguf;

beforeAll(async () => {
  gguf = await readGgufFile(STORIES);
  tok = LlamaSpmTokenizer.fromGgufMetadata(gguf.metadata);
  half = llamaFromGguf(gguf);
  pairs = llamaFromGguf(gguf, { ropeLayout: 'interleaved' });
  half.model.eval();
  pairs.model.eval();
});

afterAll(() => {
  half?.model.dispose();
  pairs?.model.dispose();
});

async function promptLogits(m: LlamaFromGguf, ids: number[]): Promise<Float32Array> {
  const out = noGrad(() => tidy(() => causalLMFromBase(m.model, m.lmHeadWeight).forward({ inputIds: tensor(Int32Array.from(ids), [1, ids.length]) }).logits));
  const data = (await out.data()) as Float32Array;
  out.dispose();
  return data;
}

describe('stories260K from GGUF', () => {
  it('maps the GGUF metadata to a Llama config and HF names', () => {
    const c = half.config;
    expect(c).toMatchObject({
      modelType: 'llama', vocabSize: 512, hiddenSize: 64, numHiddenLayers: 5, numAttentionHeads: 8, numKeyValueHeads: 4,
      headDim: 8, intermediateSize: 172, ropeTheta: 10000, maxPositionEmbeddings: 2048, tieWordEmbeddings: true,
      bosTokenId: 1, eosTokenId: 2, padTokenId: null, ropeLayout: 'rotate-half',
    });
    expect(c.rmsNormEps).toBeCloseTo(1e-5, 10);
    // output.weight equals token_embd.weight in this file: the head is tied.
    expect(half.lmHeadWeight).toBeNull();
    expect(hfNameOfGgufTensor('blk.3.ffn_down.weight')).toBe('layers.3.mlp.down_proj.weight');
    expect(hfNameOfGgufTensor('output_norm.weight')).toBe('norm.weight');
    expect(hfNameOfGgufTensor('output.weight')).toBeNull();
    expect(() => llamaFromGguf({ ...gguf, metadata: { ...gguf.metadata, 'general.architecture': 'gpt2' } })).toThrow(/general.architecture "gpt2"/);
    expect(() => llamaFromGguf({ ...gguf, metadata: { ...gguf.metadata, 'llama.block_count': undefined } as Record<string, unknown> })).toThrow(/llama.block_count/);
    expect([...half.model.stateDict().keys()].slice(0, 3)).toEqual(['embed_tokens.weight', 'layers.0.self_attn.q_proj.weight', 'layers.0.self_attn.k_proj.weight']);
  });

  it('tokenizes like the reference tokenizers (HF from GGUF; llama2.c-style SentencePiece)', () => {
    expect(tok.encode(fixture.prompt)).toEqual(fixture.prompt_ids);
    const hfLike = LlamaSpmTokenizer.fromGgufMetadata(gguf.metadata, { prefixWhenLeadingSpace: false });
    expect(fixture.tokenizer_cases.some((c) => c.ids.join() !== c.ids_spm.join())).toBe(true);
    for (const c of fixture.tokenizer_cases) {
      const what = JSON.stringify(c.text);
      expect(tok.encode(c.text), what).toEqual(c.ids_spm);
      expect(hfLike.encode(c.text), what).toEqual(c.ids);
      expect(tok.decode(c.ids), what).toBe(c.decoded);
      // SentencePiece ids round-trip exactly (HF's lose a leading space).
      expect(tok.decode(c.ids_spm), what).toBe(c.text);
    }
    expect(tok.decode([1, 403, 2], { skipSpecialTokens: false })).toBe('<s> Once</s>');
    expect(tok.encode('Once', { addSpecialTokens: false })).toEqual([403]);
  });

  it('gives the reference prompt logits in both rotary layouts', async () => {
    const expected = fixture.prompt_logits.flat();
    const a = await promptLogits(half, fixture.prompt_ids);
    const b = await promptLogits(pairs, fixture.prompt_ids);
    let dRef = 0;
    let dRefPairs = 0;
    let dLayouts = 0;
    for (let i = 0; i < expected.length; i++) {
      dRef = Math.max(dRef, Math.abs(a[i]! - expected[i]!));
      dRefPairs = Math.max(dRefPairs, Math.abs(b[i]! - expected[i]!));
      dLayouts = Math.max(dLayouts, Math.abs(a[i]! - b[i]!));
    }
    console.log(`stories260K prompt logits max |Δ| vs HF: ${dRef.toExponential(2)} (interleaved: ${dRefPairs.toExponential(2)}); rotate-half vs interleaved: ${dLayouts.toExponential(2)}`);
    // The fixture rounds logits to 6 decimals.
    expect(dRef).toBeLessThanOrEqual(1e-4);
    expect(dRefPairs).toBeLessThanOrEqual(1e-4);
    // The layouts permute the head dimension, so q·k sums in another order. The CPU
    // reference accumulates in f64 and rounds both orders to the same f32 result (Δ = 0);
    // with f32 accumulation (WebGPU) they differ by rounding noise as large as the backend's
    // own distance to HF (≈1e-5 on logits of magnitude ≈19), which the checks above bound.
    if (TEST_BACKEND_HAS_F64) expect(dLayouts).toBeLessThanOrEqual(1e-5);
    // The permuted q/k really differ from the file's: the layouts are not trivially equal.
    const q = await half.model.getParameter('layers.0.self_attn.q_proj.weight').data();
    expect(Array.from(q.subarray(0, 64 * 8))).not.toEqual(Array.from(gguf.tensors.get('blk.0.attn_q.weight')!.data.subarray(0, 64 * 8)));
  });

  it('greedy-generates the reference continuation, in both layouts, without leaking memory', async () => {
    for (const m of [half, pairs]) {
      const lm = causalLMFromBase(m.model, m.lmHeadWeight);
      const live: number[] = [];
      const out = await generate(lm, fixture.prompt_ids, {
        maxNewTokens: fixture.max_new_tokens,
        eosTokenId: m.config.eosTokenId as number,
        onStep: () => live.push(liveTensors()),
      });
      expect(out.newTokens[0]).toEqual(fixture.new_tokens);
      expect(tok.decode(out.sequences[0]!)).toBe(fixture.text);
      // Live tensors are the weights plus one cache entry per layer: constant after the first step.
      expect(new Set(live.slice(1)).size, `live tensors per step: ${live.join(',')}`).toBe(1);
    }
    console.log(`stories260K greedy: ${JSON.stringify(fixture.text)} (reference: ${fixture.reference.split(',')[0]})`);
  });
});

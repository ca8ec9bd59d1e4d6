import { tensor } from '../../ops/creation.js';
import type { TypedArray } from '../../tensor/dtype.js';
import type { Tensor } from '../../tensor/tensor.js';
import { readGgufFile, type GgufTensorEntry, type ParsedGguf } from '../../io/gguf.js';
import { parseLlamaConfig, type LlamaConfig, type RopeLayout } from './config.js';
import { LlamaModel } from './model.js';
import { permuteRotaryRows } from './rope.js';

/** Options of `llamaFromGguf`. */
export interface LlamaFromGgufOptions {
  /**
   * 'rotate-half' (default): permute the q/k rows into HF's layout, so the
   * model and its state dict are exactly what HF would load from this file;
   * 'interleaved': keep the file's weights and rotate adjacent pairs instead.
   * Both give the same outputs.
   */
  ropeLayout?: RopeLayout;
}

/** A Llama base model loaded from GGUF, plus its LM head weight. */
export interface LlamaFromGguf {
  model: LlamaModel;
  config: LlamaConfig;
  /**
   * The output projection [vocab, hidden] when the file has its own, else
   * null: the head is tied to `model.inputEmbeddings()` (also when the
   * file's output.weight equals token_embd.weight exactly).
   */
  lmHeadWeight: Tensor | null;
}

/** ggml's "no token" marker for optional token ids (u32 −1). */
const NO_TOKEN = 0xffffffff;

function source(parsed: ParsedGguf): string {
  return `GGUF (general.name ${JSON.stringify(parsed.metadata['general.name'] ?? '?')})`;
}

function metaInt(parsed: ParsedGguf, key: string, required: boolean): number | undefined {
  const v = parsed.metadata[key];
  if (v === undefined) {
    if (required) throw new Error(`llamaFromGguf: ${source(parsed)} lacks metadata '${key}'`);
    return undefined;
  }
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new Error(`llamaFromGguf: metadata '${key}' must be an integer, got ${String(v)}`);
  return v;
}

function metaNum(parsed: ParsedGguf, key: string): number | undefined {
  const v = parsed.metadata[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number') throw new Error(`llamaFromGguf: metadata '${key}' must be a number, got ${String(v)}`);
  return v;
}

function entry(parsed: ParsedGguf, name: string): GgufTensorEntry {
  const e = parsed.tensors.get(name);
  if (!e) throw new Error(`llamaFromGguf: ${source(parsed)} has no tensor '${name}'`);
  return e;
}

function sameData(a: GgufTensorEntry, b: GgufTensorEntry): boolean {
  if (a.dtype !== b.dtype || a.shape.join() !== b.shape.join()) return false;
  const x = a.data;
  const y = b.data;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/**
 * The HF-style config.json object described by a GGUF file's `llama.*`
 * metadata (llama.cpp's names: embedding_length, block_count,
 * feed_forward_length, attention.head_count(_kv),
 * attention.layer_norm_rms_epsilon, rope.freq_base, context_length), with
 * the vocabulary size from token_embd.weight.
 */
export function llamaRawConfigFromGguf(parsed: ParsedGguf): Record<string, unknown> {
  const arch = parsed.metadata['general.architecture'];
  if (arch !== 'llama') throw new Error(`llamaFromGguf: ${source(parsed)} has general.architecture ${JSON.stringify(arch)}, expected 'llama'`);
  const p = 'llama.';
  const hidden = metaInt(parsed, `${p}embedding_length`, true)!;
  const heads = metaInt(parsed, `${p}attention.head_count`, true)!;
  const scaling = parsed.metadata[`${p}rope.scaling.type`];
  if (scaling !== undefined && scaling !== 'none') throw new Error(`llamaFromGguf: rope scaling '${String(scaling)}' (llama.rope.scaling.type) is not supported`);
  const embd = entry(parsed, 'token_embd.weight');
  const tokenId = (key: string): number | null => {
    const v = metaInt(parsed, key, false);
    return v === undefined || v === NO_TOKEN ? null : v;
  };
  const raw: Record<string, unknown> = {
    model_type: 'llama',
    vocab_size: embd.shape[0],
    hidden_size: hidden,
    intermediate_size: metaInt(parsed, `${p}feed_forward_length`, true),
    num_hidden_layers: metaInt(parsed, `${p}block_count`, true),
    num_attention_heads: heads,
    num_key_value_heads: metaInt(parsed, `${p}attention.head_count_kv`, false) ?? heads,
    rms_norm_eps: metaNum(parsed, `${p}attention.layer_norm_rms_epsilon`) ?? 1e-5,
    rope_theta: metaNum(parsed, `${p}rope.freq_base`) ?? 10000,
    max_position_embeddings: metaInt(parsed, `${p}context_length`, false) ?? 2048,
    hidden_act: 'silu',
    bos_token_id: tokenId('tokenizer.ggml.bos_token_id'),
    eos_token_id: tokenId('tokenizer.ggml.eos_token_id'),
    pad_token_id: tokenId('tokenizer.ggml.padding_token_id'),
  };
  const keyLength = metaInt(parsed, `${p}attention.key_length`, false) ?? metaInt(parsed, `${p}rope.dimension_count`, false);
  if (keyLength !== undefined && keyLength !== hidden / heads) raw['head_dim'] = keyLength;
  const out = parsed.tensors.get('output.weight');
  raw['tie_word_embeddings'] = !out || sameData(out, embd);
  return raw;
}

/** GGUF tensor name → HF LlamaModel parameter name, per block. */
const BLOCK_NAMES: Readonly<Record<string, string>> = {
  'attn_q.weight': 'self_attn.q_proj.weight',
  'attn_k.weight': 'self_attn.k_proj.weight',
  'attn_v.weight': 'self_attn.v_proj.weight',
  'attn_output.weight': 'self_attn.o_proj.weight',
  'attn_q.bias': 'self_attn.q_proj.bias',
  'attn_k.bias': 'self_attn.k_proj.bias',
  'attn_v.bias': 'self_attn.v_proj.bias',
  'attn_output.bias': 'self_attn.o_proj.bias',
  'ffn_gate.weight': 'mlp.gate_proj.weight',
  'ffn_up.weight': 'mlp.up_proj.weight',
  'ffn_down.weight': 'mlp.down_proj.weight',
  'attn_norm.weight': 'input_layernorm.weight',
  'ffn_norm.weight': 'post_attention_layernorm.weight',
};

/** The HF name of a GGUF tensor, or null for ones the base model does not hold (output.weight, rope tables). */
export function hfNameOfGgufTensor(name: string): string | null {
  if (name === 'token_embd.weight') return 'embed_tokens.weight';
  if (name === 'output_norm.weight') return 'norm.weight';
  const m = /^blk\.(\d+)\.(.+)$/.exec(name);
  if (m && BLOCK_NAMES[m[2]!]) return `layers.${m[1]}.${BLOCK_NAMES[m[2]!]}`;
  return null;
}

/**
 * Builds a LlamaModel from a parsed GGUF file (unquantized tensors). GGUF
 * stores q/k projections for adjacent-pair rotation (llama.cpp's converter
 * permutes HF weights that way, and llama2.c/Meta weights are already so);
 * by default they are permuted back into HF's rotate-half layout. Weights go
 * to the current backend.
 */
export function llamaFromGguf(parsed: ParsedGguf, opts: LlamaFromGgufOptions = {}): LlamaFromGguf {
  const layout = opts.ropeLayout ?? 'rotate-half';
  const config = parseLlamaConfig(llamaRawConfigFromGguf(parsed), { ropeLayout: layout });
  const dict = new Map<string, Tensor>();
  let lmHeadWeight: Tensor | null = null;
  const model = new LlamaModel(config);
  try {
    for (const [name, e] of parsed.tensors) {
      if (name === 'output.weight') {
        if (!config.tieWordEmbeddings) lmHeadWeight = tensor(e.data, e.shape, { dtype: e.dtype });
        continue;
      }
      const hf = hfNameOfGgufTensor(name);
      if (hf === null) {
        const why = name === 'rope_freqs.weight' ? ' (per-frequency rope factors, i.e. Llama 3.1 rope scaling, are not supported)' : '';
        throw new Error(`llamaFromGguf: ${source(parsed)}: no LlamaModel parameter for tensor '${name}'${why}`);
      }
      let data: TypedArray = e.data;
      const isQ = name.endsWith('.attn_q.weight') || name.endsWith('.attn_q.bias');
      const isK = name.endsWith('.attn_k.weight') || name.endsWith('.attn_k.bias');
      if (layout === 'rotate-half' && (isQ || isK)) {
        if (!(data instanceof Float32Array)) throw new Error(`llamaFromGguf: permuting '${name}' needs f32 data, got ${e.dtype}`);
        const rows = e.shape[0]!;
        const cols = e.shape.length > 1 ? e.shape[1]! : 1;
        data = permuteRotaryRows(data, rows, cols, isQ ? config.numAttentionHeads : config.numKeyValueHeads, 'rotate-half');
      }
      const t = tensor(data, e.shape, { dtype: e.dtype });
      t.name = hf;
      dict.set(hf, t);
    }
    model.loadStateDict(dict);
  } catch (err) {
    model.dispose();
    lmHeadWeight?.dispose();
    throw err;
  } finally {
    for (const t of dict.values()) t.dispose();
  }
  model.nameParameters();
  return { model, config, lmHeadWeight };
}

/** Reads a GGUF file and builds the model (see `llamaFromGguf`). */
export async function loadLlamaGguf(path: string | URL, opts: LlamaFromGgufOptions = {}): Promise<LlamaFromGguf & { gguf: ParsedGguf }> {
  const gguf = await readGgufFile(path);
  return { ...llamaFromGguf(gguf, opts), gguf };
}

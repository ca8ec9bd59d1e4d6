import { tidy } from '../backend/scope.js';
import { ShapeError, formatShape } from '../errors.js';
import { zeros } from '../ops/creation.js';
import { crossEntropy } from '../ops/loss.js';
import { linear } from '../ops/matmul.js';
import { narrow, reshape } from '../ops/shape.js';
import { LayerNorm } from '../nn/norm.js';
import { Module } from '../nn/module.js';
import { Parameter } from '../nn/parameter.js';
import type { BaseModelOutput } from '../models/types.js';
import type { Tensor } from '../tensor/tensor.js';
import { HeadActivation } from './activation.js';
import { classTargets } from './classification.js';
import { normalizeHeadConfig, type LMHeadConfig } from './config.js';
import { initLinear, PredictionHead } from './prediction-head.js';
import { IGNORE_INDEX, padPromptPositions } from './tagging.js';
import type { HeadBuildOptions, HeadHost, HeadInputs, HeadOutput } from './types.js';

/** Model types whose config class defaults `tie_word_embeddings` to false (the rest default to true, as PretrainedConfig). */
const UNTIED_BY_DEFAULT = new Set(['llama', 'mistral', 'mixtral', 'qwen2', 'gemma']);

/** Whether LM heads tie their decoder to the input embeddings: config.json's `tie_word_embeddings`, else the HF class default. */
export function tiesWordEmbeddings(host: HeadHost): boolean {
  const v = host.config.raw.tie_word_embeddings;
  if (typeof v === 'boolean') return v;
  return !UNTIED_BY_DEFAULT.has(host.config.modelType);
}

/** Options of LM heads besides the config. */
export interface LMHeadBuildOptions extends HeadBuildOptions {
  /** Tie the decoder weight to the input embeddings (default: `tiesWordEmbeddings(host)`). */
  tieWordEmbeddings?: boolean;
}

/**
 * The vocabulary projection of an LM head: 'weight' [vocab, embedding] and
 * an optional 'bias' [vocab]. When tied, 'weight' *is* the base model's
 * input embedding parameter (one tensor under two names, as in PyTorch).
 */
export class LMDecoder extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly tied: boolean;

  constructor(host: HeadHost, inFeatures: number, vocab: number, opts: { bias: boolean; tie: boolean; headName: string } & HeadBuildOptions) {
    super();
    const raw = host.config.raw;
    if (opts.tie) {
      const emb = host.inputEmbeddings?.();
      if (!emb) throw new Error(`LM head '${opts.headName}': cannot tie the decoder: the model exposes no input embeddings`);
      if (!(emb instanceof Parameter)) throw new Error(`LM head '${opts.headName}': cannot tie the decoder: the input embeddings are not a Parameter`);
      if (emb.shape[0] !== vocab || emb.shape[1] !== inFeatures) {
        throw new ShapeError(`LM head '${opts.headName}': cannot tie a [${vocab}, ${inFeatures}] decoder to input embeddings ${formatShape(emb.shape)}`);
      }
      this.weight = this.registerParameter('weight', emb);
      this.bias = opts.bias ? this.registerParameter('bias', new Parameter(zeros([vocab], { dtype: emb.dtype }))) : null;
      this.tied = true;
    } else {
      const lin = initLinear(inFeatures, vocab, raw, { bias: opts.bias, dtype: opts.dtype });
      this.weight = this.registerParameter('weight', lin.weight);
      this.bias = lin.bias ? this.registerParameter('bias', lin.bias) : null;
      this.tied = false;
    }
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}

/**
 * Language-modelling heads: Python `CausalLMHead` (head_type 'causal_lm')
 * and `BertStyleMaskedLMHead` ('masked_lm'). Layers: for each of the
 * `layers − 1` transform layers Linear(h, e), the activation (if any), a
 * LayerNorm (if `layer_norm`, eps = config.json's layer_norm_eps or 1e-12);
 * then the decoder Linear(e, vocab) with optional bias, tied to the input
 * embeddings when the model ties word embeddings. So the masked-LM default
 * (layers 2, gelu, layer_norm, bias) is 0 Linear, 1 gelu, 2 LayerNorm,
 * 3 decoder, matching `heads.<name>.{0,2,3}.*` in saved heads.
 *
 * Loss: cross-entropy over the vocabulary, -100 ignored; with
 * `shift_labels` (causal LM) position t predicts label t+1.
 *
 * With prompt tuning (`inputs.promptTokensLength` = P) the logits keep the
 * P prompt positions ([batch, P + seq, vocab], as Python) and labels
 * [batch, seq] get P ignored labels in front — after the shift, as Python's
 * `CausalLMHead.forward` — so the prompt positions add nothing to the loss
 * and label j is scored at position P + j (P + j − 1 when shifted).
 */
export class LMHead extends PredictionHead {
  declare readonly config: LMHeadConfig;
  readonly decoder: LMDecoder;

  constructor(host: HeadHost, name: string, config: Partial<LMHeadConfig> & { head_type: LMHeadConfig['head_type'] }, opts: LMHeadBuildOptions = {}) {
    const raw = host.config.raw;
    const embeddingSize = typeof raw.embedding_size === 'number' ? raw.embedding_size : undefined;
    const full = normalizeHeadConfig({ ...config }, { ...host.config, embeddingSize }) as LMHeadConfig;
    if (full.head_type !== 'causal_lm' && full.head_type !== 'masked_lm') throw new Error(`LMHead '${name}': head_type must be causal_lm or masked_lm, got '${full.head_type}'`);
    super(name, full);
    const h = host.config.hiddenSize;
    const e = full.embedding_size;
    const eps = typeof raw.layer_norm_eps === 'number' ? raw.layer_norm_eps : 1e-12;
    for (let l = 0; l < full.layers - 1; l++) {
      this.pushLayer(initLinear(l === 0 ? h : e, e, raw, { dtype: opts.dtype }));
      if (full.activation_function) this.pushLayer(new HeadActivation(full.activation_function));
      if (full.layer_norm) this.pushLayer(new LayerNorm(e, { eps, dtype: opts.dtype }));
    }
    const inFeatures = full.layers > 1 ? e : h;
    this.decoder = new LMDecoder(host, inFeatures, full.vocab_size, { bias: full.bias, tie: opts.tieWordEmbeddings ?? tiesWordEmbeddings(host), headName: name, dtype: opts.dtype });
    this.pushLayer(this.decoder);
  }

  /** The decoder (Python `get_output_embeddings`). */
  outputEmbeddings(): LMDecoder {
    return this.decoder;
  }

  forward(outputs: BaseModelOutput, inputs: HeadInputs = {}): HeadOutput {
    return tidy(() => {
      let x = this.runLayers(outputs.lastHiddenState, 0, this.numLayers - 1);
      if (inputs.beforeOutputEmbedding) x = inputs.beforeOutputEmbedding(x);
      const logits = this.decoder.forward(x);
      const labels = inputs.labels;
      if (!labels) return { logits };
      const v = this.config.vocab_size;
      const p = inputs.promptTokensLength ?? 0;
      const s = logits.shape[logits.rank - 2]!;
      const tokens = s - p;
      if (tokens < 0 || labels.size * v * s !== logits.size * tokens) {
        throw new ShapeError(`head '${this.name}': labels ${formatShape(labels.shape)} do not match logits ${formatShape(logits.shape)}${p ? ` less ${p} prompt positions` : ''}`);
      }
      let l = logits;
      let t = reshape(labels, [...logits.shape.slice(0, -2), tokens]);
      if (this.config.shift_labels) {
        l = narrow(logits, -2, 0, s - 1);
        t = narrow(t, -1, 1, tokens - 1);
      }
      t = padPromptPositions(t, p, IGNORE_INDEX);
      const n = l.size / v;
      const loss = crossEntropy(reshape(l, [n, v]), classTargets(t, n, this.name), { ignoreIndex: IGNORE_INDEX });
      return { logits, loss };
    });
  }
}

/** `BertStyleMaskedLMHead`: an LMHead with head_type 'masked_lm' (Python class defaults: 2 layers, gelu, LayerNorm, bias, no shift). */
export class MaskedLMHead extends LMHead {
  constructor(host: HeadHost, name: string, config: Partial<Omit<LMHeadConfig, 'head_type'>> = {}, opts: LMHeadBuildOptions = {}) {
    super(host, name, { ...config, head_type: 'masked_lm' }, opts);
  }
}

/** `CausalLMHead`: an LMHead with head_type 'causal_lm' (Python class defaults: 1 layer, no bias, shifted labels). */
export class CausalLMHead extends LMHead {
  constructor(host: HeadHost, name: string, config: Partial<Omit<LMHeadConfig, 'head_type'>> = {}, opts: LMHeadBuildOptions = {}) {
    super(host, name, { ...config, head_type: 'causal_lm' }, opts);
  }
}

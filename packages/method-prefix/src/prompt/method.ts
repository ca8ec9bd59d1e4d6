import { concat, full, type AdapterConfig, type AdapterHost, type AdapterMethod, type BaseModel, type EmbeddingHook, type Tensor } from '@adapterkit/core';
import { PROMPT_TUNING } from './config.js';
import { promptInitIds } from './init-source.js';
import { PromptTuning, PromptTuningLayer, type PromptCombine } from './modules.js';

/**
 * Model types where Python's `adapters` disables prompt tuning
 * (`support_prompt_tuning = False`); adding a prompt there is an error here too.
 */
export const PROMPT_TUNING_UNSUPPORTED = new Set(['bart', 'mbart', 't5', 'mt5', 'gpt2', 'gptj', 'llama', 'mistral', 'plbart', 'whisper', 'clip', 'encoder-decoder']);

/**
 * Key of `ForwardContext.outputs` where the hook also records how many prompt
 * positions it inserted. The typed field `ForwardContext.promptTokensLength`
 * (Python `context.prompt_tokens_length`) carries it to the base model's
 * output and from there to the heads.
 */
export const PROMPT_TOKENS_LENGTH = 'prompt_tokens_length';

/** The model's prompt layer (`<base>.prompt_tuning`), created on first use. */
export function promptLayerOf(host: AdapterHost, create: boolean): PromptTuningLayer | undefined {
  const base = host.info.base;
  const existing = base.child<PromptTuningLayer>('prompt_tuning');
  if (existing || !create) return existing;
  return base.registerModule('prompt_tuning', new PromptTuningLayer());
}

/**
 * The embeddings hook: the setup's FIRST adapter, if it is a prompt, is
 * inserted into the embedding output (after BERT's LayerNorm and dropout, as
 * Python's post-embedding hook). The [batch, seq] token mask gets ones
 * prepended (Python prefixes the extended mask with "attend" entries at the
 * front, also for 'prefix_after_bos').
 */
function embeddingHook(host: AdapterHost): EmbeddingHook {
  return ({ hidden, attentionMask, setup, context }) => {
    const prompt = promptLayerOf(host, false)?.prompt_tunings.get(setup.first());
    if (!prompt) return null;
    const out = prompt.forward(hidden);
    const p = prompt.promptLength;
    if (context) {
      context.promptTokensLength = p;
      context.outputs.set(PROMPT_TOKENS_LENGTH, p);
    }
    if (!attentionMask) return { hidden: out, attentionMask: null };
    const ones = full([attentionMask.shape[0]!, p], 1, { dtype: attentionMask.dtype, backend: attentionMask.backend });
    return { hidden: out, attentionMask: concat([ones, attentionMask], 1) };
  };
}

/** The base model's input embedding matrix [vocab, hidden] ('from_string' copies rows of it). */
function inputEmbeddingsOf(host: AdapterHost, name: string): Tensor {
  const base = host.info.base as unknown as Partial<BaseModel>;
  if (typeof base.inputEmbeddings !== 'function') throw new Error(`prompt tuning '${name}': the base model has no inputEmbeddings() for prompt_init 'from_string'`);
  return base.inputEmbeddings();
}

function addPromptTuning(host: AdapterHost, name: string, config: AdapterConfig): void {
  const modelType = host.info.modelType;
  if (PROMPT_TUNING_UNSUPPORTED.has(modelType)) {
    throw new Error(`prompt tuning '${name}': model type '${modelType}' does not support prompt tuning (the Python adapters library disables it there too); use prefix tuning or LoRA instead`);
  }
  const site = host.sitesOf('embeddings')[0];
  if (!site) throw new Error(`prompt tuning '${name}': the model has no 'embeddings' site`);
  const f = config.fields;
  const length = f.prompt_length as number;
  const init = f.prompt_init === 'from_string'
    ? { ids: promptInitIds(host, f.prompt_init_text as string | null, length, name), inputEmbeddings: inputEmbeddingsOf(host, name) }
    : undefined;
  const module = new PromptTuning(length, host.info.hiddenSize, f.combine as PromptCombine, f.init_weights_seed as number | null, init);
  module.train(host.info.base.training);
  promptLayerOf(host, true)!.prompt_tunings.set(name, module);
  if (!site.hookOf(PROMPT_TUNING)) site.attach(PROMPT_TUNING, embeddingHook(host));
  host.root.nameParameters();
}

/**
 * Prompt tuning (Lester et al. 2021) as in Python's `adapters`: learned
 * embeddings inserted at the embedding output; only the first adapter of
 * the active setup is used.
 */
export const promptTuningMethod: AdapterMethod = {
  architecture: PROMPT_TUNING,
  // Python reads only setup.first() of any setup; a Stack starting with the prompt (then e.g. LoRA) is allowed.
  supportedBlocks: ['Stack'],
  addAdapter: addPromptTuning,
  deleteAdapter: (host, name) => promptLayerOf(host, false)?.prompt_tunings.delete(name)?.dispose(),
  weightMarkers: (name) => [`.prompt_tunings.${name}.`],
  hasAdapter: (host, name) => promptLayerOf(host, false)?.prompt_tunings.has(name) ?? false,
};

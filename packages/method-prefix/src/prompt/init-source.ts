import type { AdapterHost } from '@adapterkit/core';
import { hostOf, type HostLike } from '../host-of.js';

/** Anything with an `encode(text)` giving token ids (an HfTokenizer, a LlamaSpmTokenizer, …). */
export interface PromptTokenizer {
  encode(text: string): ArrayLike<number> | { readonly ids: ArrayLike<number> };
}

/** Where `prompt_init: 'from_string'` gets token ids: a tokenizer for `prompt_init_text`, or the ids themselves. */
export type PromptInitSource = PromptTokenizer | ArrayLike<number>;

const sources = new WeakMap<AdapterHost, PromptInitSource>();

/**
 * Gives a model the tokenizer (or token ids) that prompt tuning's
 * `prompt_init: 'from_string'` uses, as Python reads the tokenizer of
 * `config.tokenizer_name_or_path`. A tokenizer is called as Python calls
 * it, `encode(prompt_init_text)` with its default special tokens (an
 * HfTokenizer adds [CLS] … [SEP] like Python's tokenizer(text)). With a
 * list of ids, `prompt_init_text` is not read.
 */
export function setPromptTuningTokenizer(target: HostLike, source: PromptInitSource | null): void {
  const host = hostOf(target, 'setPromptTuningTokenizer');
  if (source === null) sources.delete(host);
  else sources.set(host, source);
}

/** Token ids for a 'from_string' init: from the model's source, repeated or cut to `length` (Python's rule). */
export function promptInitIds(host: AdapterHost, text: string | null, length: number, name: string): number[] {
  const source = sources.get(host);
  if (!source) {
    throw new Error(`prompt tuning '${name}': prompt_init 'from_string' needs a tokenizer or token ids; call setPromptTuningTokenizer(model, tokenizer | ids) before adding it`);
  }
  let ids: number[];
  if (isIdList(source)) ids = Array.from(source);
  else {
    if (text === null) throw new Error(`prompt tuning '${name}': prompt_init_text must be set when prompt_init is 'from_string'`);
    const encoded = (source as PromptTokenizer).encode(text);
    ids = Array.from(isIdList(encoded) ? encoded : encoded.ids);
  }
  if (!ids.length) throw new Error(`prompt tuning '${name}': the prompt init text gives no tokens`);
  if (!ids.every((i) => Number.isInteger(i) && i >= 0)) throw new Error(`prompt tuning '${name}': prompt init ids must be non-negative integers`);
  const reps = Math.ceil(length / ids.length);
  return Array.from({ length: reps }, () => ids).flat().slice(0, length);
}

function isIdList(v: unknown): v is ArrayLike<number> {
  return Array.isArray(v) || ArrayBuffer.isView(v);
}

import type { TextExample } from './glue.js';

/**
 * What the data code needs from a tokenizer (core's `HfTokenizer` has all of
 * it): encoding one text or a pair with truncation, and the special ids.
 */
export interface TokenizerLike {
  encode(text: string, pair?: string, opts?: { maxLength?: number; truncation?: boolean; addSpecialTokens?: boolean }): { ids: number[]; tokenTypeIds: number[]; tokens?: string[] };
  readonly padTokenId: number | undefined;
  readonly maskTokenId?: number | undefined;
  readonly vocabSize?: number;
  isSpecialToken?(token: string): boolean;
  idToToken?(id: number): string | undefined;
}

/** One tokenized example. */
export interface Feature {
  inputIds: number[];
  /** Segment ids (BERT); absent for models without them. */
  tokenTypeIds?: number[];
  /** Class id, regression value, or per-token labels (MLM: -100 where not predicted). */
  label?: number | number[];
  /** 1 where the token is special ([CLS], [SEP]); the MLM collator never masks those. */
  specialTokensMask?: number[];
}

/** Options of `tokenizeExamples`. */
export interface TokenizeOptions {
  /** Truncate each encoding to this many tokens, special tokens included (run_glue's max_seq_length, default 128). */
  maxSeqLength?: number;
}

/**
 * Tokenizes single texts or pairs with truncation to `maxSeqLength`
 * ('longest_first', as HF), keeping labels. Padding is left to the collator
 * (dynamic padding per batch).
 */
export function tokenizeExamples(tokenizer: TokenizerLike, examples: readonly TextExample[], opts: TokenizeOptions = {}): Feature[] {
  const maxLength = opts.maxSeqLength ?? 128;
  if (!Number.isInteger(maxLength) || maxLength < 2) throw new RangeError(`tokenizeExamples: maxSeqLength must be an integer ≥ 2, got ${maxLength}`);
  return examples.map((ex) => {
    const enc = tokenizer.encode(ex.text, ex.textPair, { maxLength, truncation: true });
    const f: Feature = { inputIds: enc.ids, tokenTypeIds: enc.tokenTypeIds };
    if (ex.label !== null) f.label = ex.label;
    return f;
  });
}

/** The special-token mask of an encoding (1 at special tokens), from token strings or ids. */
export function specialTokensMaskOf(tokenizer: TokenizerLike, ids: readonly number[], tokens?: readonly string[]): number[] {
  return ids.map((id, i) => {
    const tok = tokens?.[i] ?? tokenizer.idToToken?.(id);
    return tok !== undefined && tokenizer.isSpecialToken?.(tok) ? 1 : 0;
  });
}

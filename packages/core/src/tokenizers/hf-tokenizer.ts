import { Tokenizer } from '@huggingface/tokenizers';
import type { Backend } from '../backend/backend.js';
import { tensor } from '../ops/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { paddedLength, truncatedLengths, type TruncationStrategy } from './hf-truncation.js';

export type { TruncationStrategy } from './hf-truncation.js';

/** One encoded text (or pair), as plain arrays. */
export interface TokenizerEncoding {
  ids: number[];
  tokens: string[];
  /** 1 per token (0 only at padding, which `encode` never adds). */
  attentionMask: number[];
  /** Segment ids from the post-processor template (0 for the first text, 1 for the pair in BERT). */
  tokenTypeIds: number[];
}

/** Options of `encode`. */
export interface HfEncodeOptions {
  /** Add the template's special tokens ([CLS] … [SEP]); default true. */
  addSpecialTokens?: boolean;
  /** Keep at most this many tokens (special tokens included). Turns truncation on unless `truncation: false`. */
  maxLength?: number;
  /**
   * Truncation strategy (default 'longest_first' when `maxLength` is set);
   * `true` means 'longest_first' up to `maxLength` or the tokenizer's
   * model_max_length; `false` disables it.
   */
  truncation?: boolean | TruncationStrategy;
}

/** Options of `encodeBatch`. */
export interface HfBatchEncodeOptions extends HfEncodeOptions {
  /**
   * `true` or 'longest' (default): pad to the longest sequence;
   * 'max_length': pad to `maxLength`; `false`: no padding (all sequences
   * must then have the same length to form tensors).
   */
  padding?: boolean | 'longest' | 'max_length';
  /** Round the padded length up to a multiple of this. */
  padToMultipleOf?: number;
  /** Where padding goes (default: tokenizer_config.json's padding_side, else 'right'). */
  paddingSide?: 'left' | 'right';
  /** Backend of the returned tensors (the current one by default). */
  backend?: Backend | string;
}

/** A padded batch as i32 tensors [batch, seq], plus the per-row encodings. */
export interface BatchEncoding {
  inputIds: Tensor;
  attentionMask: Tensor;
  tokenTypeIds: Tensor;
  /** Unpadded length of each row. */
  lengths: number[];
  encodings: TokenizerEncoding[];
}

/** Options of `decode`. */
export interface HfDecodeOptions {
  /** Drop special tokens ([CLS], [PAD], …). Default false. */
  skipSpecialTokens?: boolean;
  /**
   * Remove spaces before punctuation and in contractions ("don ' t" →
   * "don't"). Default: tokenizer_config.json's clean_up_tokenization_spaces,
   * else false (transformers v5's default).
   */
  cleanUpTokenizationSpaces?: boolean;
}

/** A text or a (text, pair) tuple for batch encoding. */
export type TextInput = string | readonly [string, string];

type PostProcessed = { tokens: string[]; tokens_pair?: string[]; token_type_ids?: number[] };

function errMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * A Hugging Face fast tokenizer loaded from tokenizer.json (plus
 * tokenizer_config.json when present), running on `@huggingface/tokenizers`
 * (pure JS, works in browsers). Ids match Python `transformers` exactly for
 * the BERT WordPiece tokenizer (checked against a fixture of real sentences).
 *
 * Truncation and padding are done here, as the Rust library does them,
 * because the JS package has neither; the `truncation` and `padding`
 * sections of tokenizer.json are ignored (as `transformers` ignores them
 * unless asked).
 */
export class HfTokenizer {
  private readonly tok: Tokenizer;
  private readonly cfg: Record<string, unknown>;
  private readonly json: Record<string, unknown>;
  private readonly special: Set<string>;
  /** Where this tokenizer was loaded from (for error messages). */
  readonly source: string;

  constructor(tokenizerJson: Record<string, unknown>, tokenizerConfig: Record<string, unknown> = {}, source = '<tokenizer.json>') {
    this.source = source;
    this.json = tokenizerJson;
    this.cfg = tokenizerConfig;
    try {
      this.tok = new Tokenizer(tokenizerJson, tokenizerConfig);
    } catch (e) {
      throw new Error(`cannot build a tokenizer from ${source}: ${errMessage(e)}`);
    }
    const added = (tokenizerJson.added_tokens as { content: string; special?: boolean }[] | undefined) ?? [];
    this.special = new Set(added.filter((t) => t.special).map((t) => t.content));
  }

  /** Loads `tokenizer.json` (and `tokenizer_config.json` beside it, if present). */
  static async fromFile(tokenizerJsonPath: string): Promise<HfTokenizer> {
    const { readFile } = await import('node:fs/promises');
    const path = await import('node:path');
    let text: string;
    try {
      text = await readFile(tokenizerJsonPath, 'utf8');
    } catch (e) {
      throw new Error(`cannot read tokenizer file ${tokenizerJsonPath}: ${(e as NodeJS.ErrnoException).code ?? errMessage(e)}`);
    }
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch (e) {
      throw new Error(`tokenizer file ${tokenizerJsonPath} is not valid JSON: ${errMessage(e)}`);
    }
    const cfgPath = path.join(path.dirname(tokenizerJsonPath), 'tokenizer_config.json');
    let cfg: Record<string, unknown> = {};
    try {
      cfg = JSON.parse(await readFile(cfgPath, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read ${cfgPath}: ${errMessage(e)}`);
    }
    return new HfTokenizer(json, cfg, tokenizerJsonPath);
  }

  /** Loads `<dir>/tokenizer.json` (+ tokenizer_config.json). */
  static async fromDirectory(dir: string): Promise<HfTokenizer> {
    const path = await import('node:path');
    return HfTokenizer.fromFile(path.join(dir, 'tokenizer.json'));
  }

  /** Number of ids (vocabulary plus added tokens). */
  get vocabSize(): number {
    return this.tok.get_vocab(true).size;
  }

  /** tokenizer_config.json's model_max_length when it is a real limit. */
  get modelMaxLength(): number | undefined {
    const v = this.cfg.model_max_length;
    return typeof v === 'number' && v < 1e9 ? v : undefined;
  }

  /** The id of a token string, or undefined. */
  tokenToId(token: string): number | undefined {
    return this.tok.token_to_id(token);
  }

  /** The token string of an id, or undefined. */
  idToToken(id: number): string | undefined {
    return this.tok.id_to_token(id);
  }

  private specialId(key: string): number | undefined {
    const t = this.cfg[key];
    const content = typeof t === 'string' ? t : t && typeof t === 'object' ? (t as { content?: string }).content : undefined;
    return content === undefined ? undefined : this.tokenToId(content);
  }

  /** Padding id: tokenizer.json's padding.pad_id, else tokenizer_config's pad_token, else [PAD]/<pad>. */
  get padTokenId(): number | undefined {
    const pad = this.json.padding as { pad_id?: number } | null | undefined;
    if (pad && typeof pad.pad_id === 'number') return pad.pad_id;
    return this.specialId('pad_token') ?? this.tokenToId('[PAD]') ?? this.tokenToId('<pad>');
  }

  /** Mask id for masked LM ([MASK] / <mask>). */
  get maskTokenId(): number | undefined {
    return this.specialId('mask_token') ?? this.tokenToId('[MASK]') ?? this.tokenToId('<mask>');
  }

  /** Unknown-token id. */
  get unkTokenId(): number | undefined {
    return this.tok.model?.unk_token_id ?? this.specialId('unk_token');
  }

  /** Whether a token string is a special added token. */
  isSpecialToken(token: string): boolean {
    return this.special.has(token);
  }

  /** Word pieces of a text, without special tokens. */
  tokenize(text: string): string[] {
    return this.tok.tokenize(text, { add_special_tokens: false });
  }

  private idsOf(tokens: string[]): number[] {
    const unk = this.unkTokenId;
    return tokens.map((t) => {
      const id = this.tok.token_to_id(t) ?? unk;
      if (id === undefined) throw new Error(`tokenizer ${this.source}: token '${t}' has no id and there is no unknown token`);
      return id;
    });
  }

  private postProcess(a: string[], b: string[] | null, addSpecial: boolean): { tokens: string[]; types: number[] } {
    const pp = this.tok.post_processor;
    if (!pp) return { tokens: b ? [...a, ...b] : a, types: [...a.map(() => 0), ...(b ?? []).map(() => 1)] };
    const out = pp.post_process(a, b, addSpecial) as PostProcessed;
    // Some processors (ByteLevel) return the pair separately instead of merging it.
    const tokens = out.tokens_pair ? [...out.tokens, ...out.tokens_pair] : out.tokens;
    const types = out.token_type_ids ?? (out.tokens_pair ? [...out.tokens.map(() => 0), ...out.tokens_pair.map(() => 1)] : tokens.map(() => 0));
    return { tokens, types };
  }

  private truncation(opts: HfEncodeOptions): { strategy: TruncationStrategy; maxLength: number } | undefined {
    const t = opts.truncation ?? (opts.maxLength !== undefined ? 'longest_first' : false);
    if (t === false) return undefined;
    const strategy: TruncationStrategy = t === true ? 'longest_first' : t;
    const maxLength = opts.maxLength ?? this.modelMaxLength;
    if (maxLength === undefined) throw new Error(`tokenizer ${this.source}: truncation needs maxLength (tokenizer_config.json gives no model_max_length)`);
    if (!Number.isInteger(maxLength) || maxLength < 1) throw new RangeError(`tokenizer: maxLength must be a positive integer, got ${maxLength}`);
    return { strategy, maxLength };
  }

  /**
   * Encodes a text, or a text pair, like `tokenizer(text, pair)` in Python:
   * special tokens from the post-processor template, token type ids, and
   * truncation to `maxLength` when asked.
   */
  encode(text: string, pair?: string, opts: HfEncodeOptions = {}): TokenizerEncoding {
    const addSpecial = opts.addSpecialTokens ?? true;
    let a = this.tokenize(text);
    let b = pair === undefined ? null : this.tokenize(pair);
    const trunc = this.truncation(opts);
    if (trunc) {
      const nSpecial = addSpecial ? this.postProcess([], b ? [] : null, true).tokens.length : 0;
      const [la, lb] = truncatedLengths(a.length, b?.length, trunc.maxLength - nSpecial, trunc.strategy);
      a = a.slice(0, la);
      if (b && lb !== undefined) b = b.slice(0, lb);
    }
    const { tokens, types } = this.postProcess(a, b, addSpecial);
    return { ids: this.idsOf(tokens), tokens, attentionMask: tokens.map(() => 1), tokenTypeIds: types };
  }

  /**
   * Encodes texts (or [text, pair] tuples) into padded i32 tensors
   * [batch, seq]: input ids, attention mask (0 at padding) and token type
   * ids. Padding uses the tokenizer's pad id and type id 0.
   */
  encodeBatch(inputs: readonly TextInput[], opts: HfBatchEncodeOptions = {}): BatchEncoding {
    if (inputs.length === 0) throw new Error('encodeBatch: no inputs');
    const encodings = inputs.map((x) => (typeof x === 'string' ? this.encode(x, undefined, opts) : this.encode(x[0], x[1], opts)));
    const lengths = encodings.map((e) => e.ids.length);
    const padding = opts.padding ?? true;
    let len: number;
    if (padding === false) {
      len = lengths[0]!;
      if (lengths.some((l) => l !== len)) throw new Error(`encodeBatch: sequences have different lengths (${[...new Set(lengths)].join(', ')}) and padding is off`);
    } else {
      len = paddedLength(lengths, padding === 'max_length' ? 'max_length' : 'longest', opts.maxLength, opts.padToMultipleOf);
    }
    const padId = this.padTokenId;
    if (padId === undefined && lengths.some((l) => l < len)) throw new Error(`tokenizer ${this.source}: padding needed but the tokenizer has no pad token`);
    const padTypeId = (this.json.padding as { pad_type_id?: number } | null | undefined)?.pad_type_id ?? 0;
    const left = (opts.paddingSide ?? (this.cfg.padding_side === 'left' ? 'left' : 'right')) === 'left';
    const n = inputs.length;
    const ids = new Int32Array(n * len).fill(padId ?? 0);
    const mask = new Int32Array(n * len);
    const types = new Int32Array(n * len).fill(padTypeId);
    encodings.forEach((e, r) => {
      const off = r * len + (left ? len - e.ids.length : 0);
      ids.set(e.ids, off);
      types.set(e.tokenTypeIds, off);
      mask.fill(1, off, off + e.ids.length);
    });
    const create = { dtype: 'i32' as const, backend: opts.backend };
    return {
      inputIds: tensor(ids, [n, len], create),
      attentionMask: tensor(mask, [n, len], create),
      tokenTypeIds: tensor(types, [n, len], create),
      lengths,
      encodings,
    };
  }

  /** Turns ids back into text (WordPiece "##" pieces joined). */
  decode(ids: readonly number[] | Int32Array, opts: HfDecodeOptions = {}): string {
    const list = Array.from(ids);
    if (list.length === 0) return '';
    const cleanup = opts.cleanUpTokenizationSpaces ?? (typeof this.cfg.clean_up_tokenization_spaces === 'boolean' ? this.cfg.clean_up_tokenization_spaces : false);
    return this.tok.decode(list, { skip_special_tokens: opts.skipSpecialTokens ?? false, clean_up_tokenization_spaces: cleanup });
  }

  /** Decodes each row of a batch (e.g. generated ids). */
  decodeBatch(rows: readonly (readonly number[])[], opts: HfDecodeOptions = {}): string[] {
    return rows.map((r) => this.decode(r, opts));
  }
}

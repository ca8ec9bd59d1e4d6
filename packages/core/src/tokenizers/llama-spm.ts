import { BigramQueue } from './llama-bigram-queue.js';

/** SentencePiece token types as GGUF stores them (`tokenizer.ggml.token_type`). */
export const LLAMA_TOKEN_TYPE = Object.freeze({ NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 });

/** Everything a SentencePiece-BPE tokenizer needs. */
export interface LlamaSpmVocab {
  /** Pieces by id ('▁' stands for a space). */
  tokens: readonly string[];
  /** Merge priority of each piece (higher merges first). */
  scores: ArrayLike<number>;
  /** Token type of each piece (LLAMA_TOKEN_TYPE); absent = byte pieces recognised by their '<0xXX>' form, ids 0–2 control. */
  tokenTypes?: ArrayLike<number>;
  bosTokenId?: number | null;
  eosTokenId?: number | null;
  unkTokenId?: number | null;
  /** Prepend BOS when encoding with special tokens (default true, as llama.cpp and HF for Llama). */
  addBos?: boolean;
  /** Append EOS when encoding with special tokens (default false). */
  addEos?: boolean;
  /** Prefix non-empty text with '▁' (SentencePiece's dummy prefix; default true). */
  addSpacePrefix?: boolean;
  /**
   * Add the prefix also when the text already starts with a space (default
   * true: SentencePiece, llama.cpp and llama2.c do). HF's tokenizers built
   * from GGUF (Metaspace, prepend_scheme 'first') skip it then: set false to
   * match them, e.g. " x" → '▁x' instead of '▁▁x'.
   */
  prefixWhenLeadingSpace?: boolean;
}

/** Options of `encode`. */
export interface EncodeOptions {
  /** Add BOS/EOS as configured (default true). */
  addSpecialTokens?: boolean;
}

/** Options of `decode`. */
export interface DecodeOptions {
  /** Drop control and unknown tokens such as <s> and </s> (default true). */
  skipSpecialTokens?: boolean;
}

const SPACE = '\u2581';
const NO_TOKEN = 0xffffffff;
const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

function optionalId(v: unknown): number | null {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v !== NO_TOKEN ? v : null;
}

/**
 * SentencePiece BPE as used by Llama 1/2, Mistral and llama2.c models.
 *
 * Encoding: spaces become '▁' and '▁' is prefixed; the text is split into
 * Unicode characters, then adjacent symbols are merged greedily — always the
 * pair whose merged piece has the highest score, leftmost on ties — while the
 * merged piece is in the vocabulary (SentencePiece's and llama.cpp's
 * algorithm). Characters without a piece fall back to their UTF-8 bytes
 * ('<0xXX>' pieces), or `<unk>` without byte pieces. Special-token text
 * inside the input (e.g. "<s>") is not recognised; it is ordinary text.
 *
 * Decoding: '▁' becomes a space, byte pieces are joined and decoded as
 * UTF-8, special tokens are dropped by default, and the one leading space the
 * prefix introduced is removed (HF's decoder; llama2.c strips it after BOS).
 */
export class LlamaSpmTokenizer {
  readonly tokens: readonly string[];
  readonly scores: Float64Array;
  readonly tokenTypes: Int32Array;
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
  readonly unkTokenId: number | null;
  readonly addBos: boolean;
  readonly addEos: boolean;
  readonly addSpacePrefix: boolean;
  readonly prefixWhenLeadingSpace: boolean;
  private readonly pieceToId = new Map<string, number>();
  private readonly byteToId = new Int32Array(256).fill(-1);
  private readonly encoder = new TextEncoder();

  constructor(vocab: LlamaSpmVocab) {
    const n = vocab.tokens.length;
    if (n === 0) throw new Error('LlamaSpmTokenizer: the vocabulary is empty');
    if (vocab.scores.length !== n) throw new Error(`LlamaSpmTokenizer: ${vocab.scores.length} scores for ${n} tokens`);
    if (vocab.tokenTypes && vocab.tokenTypes.length !== n) throw new Error(`LlamaSpmTokenizer: ${vocab.tokenTypes.length} token types for ${n} tokens`);
    this.tokens = vocab.tokens;
    this.scores = Float64Array.from(vocab.scores);
    this.tokenTypes = new Int32Array(n);
    for (let id = 0; id < n; id++) {
      const piece = vocab.tokens[id]!;
      const byte = BYTE_PIECE.exec(piece);
      const type = vocab.tokenTypes ? vocab.tokenTypes[id]! : byte ? LLAMA_TOKEN_TYPE.BYTE : id < 3 ? LLAMA_TOKEN_TYPE.CONTROL : LLAMA_TOKEN_TYPE.NORMAL;
      this.tokenTypes[id] = type;
      if (type === LLAMA_TOKEN_TYPE.BYTE && byte) {
        const b = parseInt(byte[1]!, 16);
        if (this.byteToId[b] === -1) this.byteToId[b] = id;
      } else if (!this.pieceToId.has(piece)) {
        this.pieceToId.set(piece, id);
      }
    }
    this.bosTokenId = vocab.bosTokenId ?? null;
    this.eosTokenId = vocab.eosTokenId ?? null;
    this.unkTokenId = vocab.unkTokenId ?? null;
    for (const [what, id] of [['bos', this.bosTokenId], ['eos', this.eosTokenId], ['unk', this.unkTokenId]] as const) {
      if (id !== null && (id < 0 || id >= n)) throw new Error(`LlamaSpmTokenizer: ${what} token id ${id} is outside the vocabulary of ${n}`);
    }
    this.addBos = vocab.addBos ?? true;
    this.addEos = vocab.addEos ?? false;
    this.addSpacePrefix = vocab.addSpacePrefix ?? true;
    this.prefixWhenLeadingSpace = vocab.prefixWhenLeadingSpace ?? true;
  }

  /**
   * Builds the tokenizer from GGUF metadata (tokenizer.ggml.tokens, scores,
   * token_type, bos/eos/unknown_token_id, add_bos_token, add_eos_token,
   * add_space_prefix); `overrides` replace any of those. Only tokenizer.ggml.model 'llama' (SentencePiece) is
   * supported.
   */
  static fromGgufMetadata(metadata: Record<string, unknown>, overrides: Partial<LlamaSpmVocab> = {}): LlamaSpmTokenizer {
    const model = metadata['tokenizer.ggml.model'];
    if (model !== 'llama') throw new Error(`LlamaSpmTokenizer: tokenizer.ggml.model is ${JSON.stringify(model)}; only 'llama' (SentencePiece BPE) is supported`);
    const tokens = metadata['tokenizer.ggml.tokens'];
    if (!Array.isArray(tokens) || !tokens.every((t) => typeof t === 'string')) throw new Error('LlamaSpmTokenizer: tokenizer.ggml.tokens must be an array of strings');
    const scores = metadata['tokenizer.ggml.scores'] as ArrayLike<number> | undefined;
    if (!scores || typeof scores.length !== 'number') throw new Error('LlamaSpmTokenizer: tokenizer.ggml.scores is missing (SentencePiece BPE needs merge scores)');
    const bool = (key: string): boolean | undefined => (typeof metadata[key] === 'boolean' ? (metadata[key] as boolean) : undefined);
    return new LlamaSpmTokenizer({
      tokens: tokens as string[],
      scores,
      tokenTypes: metadata['tokenizer.ggml.token_type'] as ArrayLike<number> | undefined,
      bosTokenId: optionalId(metadata['tokenizer.ggml.bos_token_id']),
      eosTokenId: optionalId(metadata['tokenizer.ggml.eos_token_id']),
      unkTokenId: optionalId(metadata['tokenizer.ggml.unknown_token_id']),
      addBos: bool('tokenizer.ggml.add_bos_token'),
      addEos: bool('tokenizer.ggml.add_eos_token'),
      addSpacePrefix: bool('tokenizer.ggml.add_space_prefix'),
      ...overrides,
    });
  }

  /** Vocabulary size. */
  get vocabSize(): number {
    return this.tokens.length;
  }

  /** Text → token ids. */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    const special = opts.addSpecialTokens ?? true;
    const out: number[] = [];
    if (special && this.addBos && this.bosTokenId !== null) out.push(this.bosTokenId);
    if (text.length > 0) {
      const prefix = this.addSpacePrefix && (this.prefixWhenLeadingSpace || !text.startsWith(' '));
      this.encodePieces((prefix ? SPACE : '') + text.replaceAll(' ', SPACE), out);
    }
    if (special && this.addEos && this.eosTokenId !== null) out.push(this.eosTokenId);
    return out;
  }

  /** Greedy highest-score merging of a normalised string, appending ids to `out`. */
  private encodePieces(s: string, out: number[]): void {
    // Symbols are code points [start, start + len) of s, linked as a list; merged-away ones have len 0.
    const start: number[] = [];
    const len: number[] = [];
    for (let i = 0; i < s.length; ) {
      const cp = s.codePointAt(i)!;
      const w = cp > 0xffff ? 2 : 1;
      start.push(i);
      len.push(w);
      i += w;
    }
    const n = start.length;
    const prev = Array.from({ length: n }, (_, i) => i - 1);
    const next = Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));
    const queue = new BigramQueue();
    const tryPair = (l: number, r: number): void => {
      if (l < 0 || r < 0) return;
      const size = len[l]! + len[r]!;
      const id = this.pieceToId.get(s.substr(start[l]!, size));
      if (id === undefined) return;
      queue.push({ left: l, right: r, score: this.scores[id]!, size });
    };
    for (let i = 1; i < n; i++) tryPair(i - 1, i);
    while (queue.size > 0) {
      const b = queue.pop()!;
      const l = b.left;
      const r = b.right;
      // Skip entries made stale by an earlier merge of either symbol.
      if (len[l] === 0 || len[r] === 0 || next[l] !== r || len[l]! + len[r]! !== b.size) continue;
      len[l] = b.size;
      len[r] = 0;
      next[l] = next[r]!;
      if (next[r]! >= 0) prev[next[r]!] = l;
      tryPair(prev[l]!, l);
      tryPair(l, next[l]!);
    }
    for (let i = 0; i >= 0 && i < n; i = next[i]!) {
      const piece = s.substr(start[i]!, len[i]!);
      const id = this.pieceToId.get(piece);
      if (id !== undefined) {
        out.push(id);
        continue;
      }
      for (const byte of this.encoder.encode(piece)) {
        const bid = this.byteToId[byte]!;
        if (bid >= 0) out.push(bid);
        else if (this.unkTokenId !== null) out.push(this.unkTokenId);
        else throw new Error(`LlamaSpmTokenizer: no piece for ${JSON.stringify(piece)}, no byte piece <0x${byte.toString(16).toUpperCase().padStart(2, '0')}> and no unknown token`);
      }
    }
  }

  /** The piece of a token id ('▁' kept). */
  idToPiece(id: number): string {
    const p = this.tokens[id];
    if (p === undefined) throw new RangeError(`LlamaSpmTokenizer: token id ${id} outside the vocabulary of ${this.tokens.length}`);
    return p;
  }

  /** Whether an id is a control or unknown token (dropped by `decode` by default). */
  isSpecial(id: number): boolean {
    const t = this.tokenTypes[id];
    return t === LLAMA_TOKEN_TYPE.CONTROL || t === LLAMA_TOKEN_TYPE.UNKNOWN;
  }

  /** Token ids → text. */
  decode(ids: Iterable<number>, opts: DecodeOptions = {}): string {
    const skip = opts.skipSpecialTokens ?? true;
    const bytes: number[] = [];
    for (const id of ids) {
      const piece = this.idToPiece(id);
      const type = this.tokenTypes[id];
      if (skip && this.isSpecial(id)) continue;
      if (type === LLAMA_TOKEN_TYPE.BYTE) {
        const m = BYTE_PIECE.exec(piece);
        if (m) {
          bytes.push(parseInt(m[1]!, 16));
          continue;
        }
      }
      for (const b of this.encoder.encode(piece.replaceAll(SPACE, ' '))) bytes.push(b);
    }
    const text = new TextDecoder('utf-8').decode(new Uint8Array(bytes));
    return this.addSpacePrefix && text.startsWith(' ') ? text.slice(1) : text;
  }
}

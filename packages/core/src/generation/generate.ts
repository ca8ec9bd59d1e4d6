import { noGrad } from '../autograd/grad-mode.js';
import { tidy } from '../backend/scope.js';
import type { KVCache } from '../models/types.js';
import { tensor } from '../ops/creation.js';
import { argmax } from '../ops/reduce.js';
import { contiguous, narrow, reshape } from '../ops/shape.js';
import { HostRandom } from '../random/generator.js';
import type { Tensor } from '../tensor/tensor.js';
import { sampleToken, type SamplingOptions } from './sampling.js';
import type { CausalLM, GenerateOptions, GenerateOutput } from './types.js';

function checkOptions(opts: GenerateOptions): SamplingOptions {
  const { maxNewTokens } = opts;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0) throw new RangeError(`generate: maxNewTokens must be a non-negative integer, got ${maxNewTokens}`);
  const temperature = opts.temperature ?? 0;
  const topK = opts.topK ?? 0;
  const topP = opts.topP ?? 1;
  if (!(temperature >= 0) || !Number.isFinite(temperature)) throw new RangeError(`generate: temperature must be ≥ 0, got ${temperature}`);
  if (!Number.isInteger(topK) || topK < 0) throw new RangeError(`generate: topK must be a non-negative integer, got ${topK}`);
  if (!(topP > 0 && topP <= 1)) throw new RangeError(`generate: topP must be in (0, 1], got ${topP}`);
  return { temperature, topK, topP };
}

function normalizePrompts(prompt: readonly number[] | readonly (readonly number[])[]): number[][] {
  const rows = prompt.length > 0 && Array.isArray(prompt[0]) ? (prompt as readonly (readonly number[])[]) : [prompt as readonly number[]];
  if (rows.length === 0) throw new Error('generate: no prompts given');
  return rows.map((r, i) => {
    if (r.length === 0) throw new Error(`generate: prompt ${i} is empty (start it with the BOS token)`);
    if (!r.every((t) => Number.isInteger(t) && t >= 0)) throw new Error(`generate: prompt ${i} holds a value that is not a token id`);
    return [...r];
  });
}

/**
 * Autoregressive decoding. Prompts of different lengths are left-padded and
 * masked, so a batch decodes like its rows one by one. With a KV cache (the
 * default when the model offers one) the prompt runs once and each further
 * step feeds one token per row; without it, every step re-runs the whole
 * sequence. Each step runs under noGrad in a tidy scope and only the last
 * position's logits (or, greedy, the argmax) is read back, so memory stays
 * at the weights plus the cache.
 *
 * Greedy (temperature 0, the default) takes the argmax; otherwise tokens are
 * drawn with temperature / top-k / top-p from a HostRandom seeded by
 * `seed`, so runs are reproducible. A row stops after EOS; the loop ends
 * when all rows have stopped or after `maxNewTokens`.
 */
export async function generate(model: CausalLM, prompt: readonly number[] | readonly (readonly number[])[], opts: GenerateOptions): Promise<GenerateOutput> {
  const sampling = checkOptions(opts);
  const prompts = normalizePrompts(prompt);
  const eos = new Set<number>(opts.eosTokenId === null || opts.eosTokenId === undefined ? [] : typeof opts.eosTokenId === 'number' ? [opts.eosTokenId] : opts.eosTokenId);
  const pad = opts.padTokenId ?? (eos.size > 0 ? [...eos][0]! : 0);
  if (opts.useCache === true && !model.createCache) throw new Error('generate: useCache is true but the model has no createCache()');
  const useCache = opts.useCache !== false && model.createCache !== undefined;
  const rng = new HostRandom(opts.seed ?? 0);
  const batch = prompts.length;
  const promptLen = Math.max(...prompts.map((p) => p.length));
  const padded = prompts.some((p) => p.length !== promptLen);
  // Left-padded token rows and masks, grown by one column per step.
  const rows = prompts.map((p) => [...new Array<number>(promptLen - p.length).fill(pad), ...p]);
  const maskRows = prompts.map((p) => [...new Array<number>(promptLen - p.length).fill(0), ...new Array<number>(p.length).fill(1)]);
  const newTokens: number[][] = prompts.map(() => []);
  const finished = prompts.map(() => false);
  const cache: KVCache | undefined = useCache ? model.createCache!() : undefined;

  try {
    for (let step = 0; step < opts.maxNewTokens; step++) {
      const total = rows[0]!.length;
      const feedFrom = cache && step > 0 ? total - 1 : 0;
      const feedLen = total - feedFrom;
      const ids = new Int32Array(batch * feedLen);
      rows.forEach((r, b) => ids.set(r.slice(feedFrom), b * feedLen));
      const greedy = sampling.temperature === 0;
      const out = noGrad(() =>
        tidy((): Tensor => {
          const inputIds = tensor(ids, [batch, feedLen]);
          const attentionMask = padded ? tensor(Int32Array.from(maskRows.flat()), [batch, total]) : undefined;
          const { logits } = model.forward({ inputIds, attentionMask, cache });
          const vocab = logits.shape[2]!;
          const last = reshape(narrow(logits, 1, logits.shape[1]! - 1, 1), [batch, vocab]);
          return greedy ? argmax(last, -1) : contiguous(last);
        }),
      );
      let values: ArrayLike<number>;
      try {
        values = await out.data();
      } finally {
        out.dispose();
      }
      const chosen: number[] = [];
      const vocab = greedy ? 0 : values.length / batch;
      for (let b = 0; b < batch; b++) {
        if (finished[b]) {
          rows[b]!.push(pad);
          chosen.push(-1);
          continue;
        }
        const token = greedy ? values[b]! : sampleToken(values, b * vocab, vocab, sampling, rng);
        rows[b]!.push(token);
        newTokens[b]!.push(token);
        chosen.push(token);
        if (eos.has(token)) finished[b] = true;
      }
      for (const m of maskRows) m.push(1);
      opts.onStep?.(step, chosen);
      if (finished.every(Boolean)) break;
    }
  } finally {
    cache?.dispose();
  }
  return { sequences: prompts.map((p, b) => [...p, ...newTokens[b]!]), newTokens, finished };
}



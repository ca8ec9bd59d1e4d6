import {
  Embedding, Module, ModuleDict, cast, concat, embedding, expand, narrow, noGrad, rand, reshape, tensor, tidy, type Tensor,
} from '@adapterkit/core';
import { fixSeed } from '../seed.js';
import { RANDOM_UNIFORM_SCALE } from './config.js';

/** How the prompt joins the embedded input. */
export type PromptCombine = 'prefix' | 'prefix_after_bos';

/**
 * One prompt-tuning adapter (Python `PromptTuning`): `prompt_embedding` =
 * Embedding(promptLength, hidden), prepended to the embedding output
 * ('prefix': [P; X]) or put after the first token ('prefix_after_bos': [x₀; P; X₁…]).
 */
export class PromptTuning extends Module {
  readonly prompt_embedding: Embedding;

  /**
   * With `init` the prompt rows are copies of those token ids' rows of
   * `inputEmbeddings` ('from_string'); otherwise the prompt is U(−0.5, 0.5).
   */
  constructor(readonly promptLength: number, hiddenSize: number, readonly combine: PromptCombine, seed: number | null, init?: { ids: number[]; inputEmbeddings: Tensor }) {
    super();
    fixSeed(seed);
    this.prompt_embedding = this.registerModule('prompt_embedding', new Embedding(promptLength, hiddenSize));
    const w = this.prompt_embedding.weight;
    noGrad(() => {
      const values = tidy(() => {
        if (!init) return rand(w.shape, { low: -RANDOM_UNIFORM_SCALE, high: RANDOM_UNIFORM_SCALE });
        const vocab = init.inputEmbeddings.shape[0]!;
        const bad = init.ids.find((i) => i >= vocab);
        if (bad !== undefined) throw new Error(`prompt tuning: init token id ${bad} is outside the vocabulary (${vocab} rows)`);
        const rows = embedding(init.inputEmbeddings, tensor(Int32Array.from(init.ids), [init.ids.length], { backend: init.inputEmbeddings.backend }));
        return rows.dtype === 'f32' ? rows : cast(rows, 'f32');
      });
      w.assign(values);
      values.dispose();
    });
  }

  /** hidden [batch, seq, h] → [batch, P + seq, h] with the prompt inserted. */
  forward(hidden: Tensor): Tensor {
    const [batch, seq, h] = hidden.shape as [number, number, number];
    const w = this.prompt_embedding.weight;
    const p = w.dtype === hidden.dtype ? w : cast(w, hidden.dtype);
    const prompt = expand(reshape(p, [1, this.promptLength, h]), [batch, this.promptLength, h]);
    if (this.combine === 'prefix') return concat([prompt, hidden], 1);
    return concat([narrow(hidden, 1, 0, 1), prompt, narrow(hidden, 1, 1, seq - 1)], 1);
  }
}

/** Prompt tuning's module on the base model (`<base>.prompt_tuning.prompt_tunings.<name>.…`, Python `PromptTuningLayer`). */
export class PromptTuningLayer extends Module {
  readonly prompt_tunings: ModuleDict<PromptTuning>;

  constructor() {
    super();
    this.prompt_tunings = this.registerModule('prompt_tunings', new ModuleDict<PromptTuning>());
  }
}

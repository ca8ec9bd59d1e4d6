import { tidy } from '../backend/scope.js';
import { ShapeError, formatShape } from '../errors.js';
import { eq } from '../ops/binary.js';
import { full } from '../ops/creation.js';
import { crossEntropy } from '../ops/loss.js';
import { concat, reshape } from '../ops/shape.js';
import { where } from '../ops/where.js';
import type { BaseModelOutput } from '../models/types.js';
import type { Tensor } from '../tensor/tensor.js';
import { classTargets } from './classification.js';
import { normalizeHeadConfig, type TaggingHeadConfig } from './config.js';
import { PredictionHead } from './prediction-head.js';
import type { HeadBuildOptions, HeadHost, HeadInputs, HeadOutput } from './types.js';

/** Label value the token-level losses skip (PyTorch's CrossEntropyLoss default). */
export const IGNORE_INDEX = -100;

/**
 * Prepends `count` entries of `value` on the last (sequence) axis — what
 * Python's token-level heads do to labels (ignore index) and the tagging
 * mask (ones) when prompt tuning put `prompt_tokens_length` positions in
 * front of the sequence. `t` is returned unchanged when count is 0.
 */
export function padPromptPositions(t: Tensor, count: number, value: number): Tensor {
  if (count <= 0) return t;
  if (t.rank < 1) throw new ShapeError(`padPromptPositions: expected a [..., seq] tensor, got ${formatShape(t.shape)}`);
  const pad = full([...t.shape.slice(0, -1), count], value, { dtype: t.dtype, backend: t.backend });
  return concat([pad, t], t.rank - 1);
}

/**
 * Token classification (Python `TaggingHead`, head_type 'tagging'): the
 * generic layer stack applied to every token (default layers=1: 0 Dropout,
 * 1 Linear(h, num_labels)). Loss: cross-entropy over tokens; labels -100
 * are ignored, and when an attention mask is given, tokens whose mask is
 * not 1 are ignored too (as Python).
 *
 * With prompt tuning (`inputs.promptTokensLength` = P) the logits cover the
 * P prompt positions too ([batch, P + seq, numLabels], as Python); labels
 * [batch, seq] get P ignored labels and the mask P ones in front (Python
 * `TaggingHead.forward`), so label j still scores hidden position P + j.
 */
export class TaggingHead extends PredictionHead {
  declare readonly config: TaggingHeadConfig;

  constructor(host: HeadHost, name: string, config: Partial<TaggingHeadConfig> = {}, opts: HeadBuildOptions = {}) {
    const full = normalizeHeadConfig({ ...config, head_type: 'tagging' }, host.config) as TaggingHeadConfig;
    super(name, full);
    this.buildGeneric(host, full.num_labels, true, opts);
  }

  forward(outputs: BaseModelOutput, inputs: HeadInputs = {}): HeadOutput {
    return tidy(() => {
      const logits = this.runLayers(outputs.lastHiddenState);
      if (!inputs.labels) return { logits };
      const p = inputs.promptTokensLength ?? 0;
      const labels = padPromptPositions(inputs.labels, p, IGNORE_INDEX);
      const c = this.config.num_labels;
      const n = logits.size / c;
      let targets = classTargets(labels, n, this.name);
      const mask = inputs.attentionMask ? padPromptPositions(inputs.attentionMask, p, 1) : undefined;
      if (mask) {
        if (mask.size !== n) throw new ShapeError(`head '${this.name}': attention mask ${formatShape(mask.shape)} does not match ${n} tokens`);
        targets = where(eq(reshape(mask, [n]), 1), targets, IGNORE_INDEX);
      }
      const loss = crossEntropy(reshape(logits, [n, c]), targets, { ignoreIndex: IGNORE_INDEX });
      return { logits, loss };
    });
  }
}

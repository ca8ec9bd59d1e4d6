import { tidy } from '../backend/scope.js';
import { ShapeError, formatShape } from '../errors.js';
import { eq } from '../ops/binary.js';
import { crossEntropy } from '../ops/loss.js';
import { reshape } from '../ops/shape.js';
import { where } from '../ops/where.js';
import type { BaseModelOutput } from '../models/types.js';
import { classTargets } from './classification.js';
import { normalizeHeadConfig, type TaggingHeadConfig } from './config.js';
import { PredictionHead } from './prediction-head.js';
import type { HeadBuildOptions, HeadHost, HeadInputs, HeadOutput } from './types.js';

/** Label value the token-level losses skip (PyTorch's CrossEntropyLoss default). */
export const IGNORE_INDEX = -100;

/**
 * Token classification (Python `TaggingHead`, head_type 'tagging'): the
 * generic layer stack applied to every token (default layers=1: 0 Dropout,
 * 1 Linear(h, num_labels)). Loss: cross-entropy over tokens; labels -100
 * are ignored, and when an attention mask is given, tokens whose mask is
 * not 1 are ignored too (as Python).
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
      const labels = inputs.labels;
      if (!labels) return { logits };
      const c = this.config.num_labels;
      const n = logits.size / c;
      let targets = classTargets(labels, n, this.name);
      const mask = inputs.attentionMask;
      if (mask) {
        if (mask.size !== n) throw new ShapeError(`head '${this.name}': attention mask ${formatShape(mask.shape)} does not match ${n} tokens`);
        targets = where(eq(reshape(mask, [n]), 1), targets, IGNORE_INDEX);
      }
      const loss = crossEntropy(reshape(logits, [n, c]), targets, { ignoreIndex: IGNORE_INDEX });
      return { logits, loss };
    });
  }
}

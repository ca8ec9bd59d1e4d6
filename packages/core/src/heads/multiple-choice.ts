import { tidy } from '../backend/scope.js';
import { ShapeError, formatShape } from '../errors.js';
import { crossEntropy } from '../ops/loss.js';
import { reshape } from '../ops/shape.js';
import type { BaseModelOutput } from '../models/types.js';
import { classTargets } from './classification.js';
import { normalizeHeadConfig, type MultipleChoiceHeadConfig } from './config.js';
import { PredictionHead } from './prediction-head.js';
import type { HeadBuildOptions, HeadHost, HeadInputs, HeadOutput } from './types.js';

/**
 * Multiple choice (Python `MultipleChoiceHead`, head_type 'multiple_choice').
 * The model runs every (example, choice) pair as its own sequence
 * ([batch·num_choices, seq]); the head scores each with the generic stack
 * ending in Linear(h, 1) (bias always on, as Python) and reshapes the scores
 * to [batch, num_choices]. Loss: cross-entropy over the choices.
 */
export class MultipleChoiceHead extends PredictionHead {
  declare readonly config: MultipleChoiceHeadConfig;

  constructor(host: HeadHost, name: string, config: Partial<MultipleChoiceHeadConfig> = {}, opts: HeadBuildOptions = {}) {
    const full = normalizeHeadConfig({ ...config, head_type: 'multiple_choice' }, host.config) as MultipleChoiceHeadConfig;
    super(name, full);
    this.buildGeneric(host, 1, true, opts);
  }

  override get usesClsOutput(): boolean {
    return true;
  }

  forward(outputs: BaseModelOutput, inputs: HeadInputs = {}): HeadOutput {
    return tidy(() => {
      const k = this.config.num_choices;
      const cls = this.clsOutput(outputs, inputs, this.config.use_pooler);
      const scores = this.runLayers(cls);
      if (scores.size % k !== 0) throw new ShapeError(`head '${this.name}': ${scores.size} sequences cannot be grouped into ${k} choices each (${formatShape(scores.shape)})`);
      const logits = reshape(scores, [scores.size / k, k]);
      const labels = inputs.labels;
      if (!labels) return { logits };
      const loss = crossEntropy(logits, classTargets(labels, logits.shape[0]!, this.name));
      return { logits, loss };
    });
  }
}

import { tidy } from '../backend/scope.js';
import { DTypeError, ShapeError, formatShape } from '../errors.js';
import { add, clamp, mulScalar } from '../ops/binary.js';
import { crossEntropy } from '../ops/loss.js';
import { reshape, split } from '../ops/shape.js';
import type { BaseModelOutput } from '../models/types.js';
import type { Tensor } from '../tensor/tensor.js';
import { normalizeHeadConfig, type QuestionAnsweringHeadConfig } from './config.js';
import { PredictionHead } from './prediction-head.js';
import type { HeadBuildOptions, HeadHost, HeadInputs, HeadOutput } from './types.js';

/**
 * Extractive question answering (Python `QuestionAnsweringHead`, head_type
 * 'question_answering'): per-token start and end logits from the generic
 * stack (default layers=1: 0 Dropout, 1 Linear(h, 2)). Loss: the mean of
 * the start and end cross-entropies; positions are clamped to [0, seq] and
 * a position equal to seq (outside the input) is ignored, as in Python.
 */
export class QuestionAnsweringHead extends PredictionHead {
  declare readonly config: QuestionAnsweringHeadConfig;

  constructor(host: HeadHost, name: string, config: Partial<QuestionAnsweringHeadConfig> = {}, opts: HeadBuildOptions = {}) {
    const full = normalizeHeadConfig({ ...config, head_type: 'question_answering' }, host.config) as QuestionAnsweringHeadConfig;
    super(name, full);
    this.buildGeneric(host, full.num_labels, true, opts);
  }

  override labelNames(): string[] {
    return ['start_positions', 'end_positions'];
  }

  private positions(p: Tensor, batch: number, seq: number, what: string): Tensor {
    if (p.dtype !== 'i32') throw new DTypeError(`head '${this.name}': ${what} must be i32, got ${p.dtype}`);
    if (p.size !== batch) throw new ShapeError(`head '${this.name}': ${what} must have ${batch} entries, got ${formatShape(p.shape)}`);
    return clamp(reshape(p, [batch]), 0, seq);
  }

  forward(outputs: BaseModelOutput, inputs: HeadInputs = {}): HeadOutput {
    return tidy(() => {
      const logits = this.runLayers(outputs.lastHiddenState);
      const [b, s] = [logits.shape[0]!, logits.shape[1]!];
      const [start, end] = split(logits, [1, 1], -1) as [Tensor, Tensor];
      const startLogits = reshape(start, [b, s]);
      const endLogits = reshape(end, [b, s]);
      const { startPositions, endPositions } = inputs;
      if (!startPositions || !endPositions) return { logits, startLogits, endLogits };
      const opts = { ignoreIndex: s };
      const startLoss = crossEntropy(startLogits, this.positions(startPositions, b, s, 'startPositions'), opts);
      const endLoss = crossEntropy(endLogits, this.positions(endPositions, b, s, 'endPositions'), opts);
      const loss = mulScalar(add(startLoss, endLoss), 0.5);
      return { logits, loss, startLogits, endLogits };
    });
  }
}

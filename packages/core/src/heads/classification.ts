import { tidy } from '../backend/scope.js';
import { DTypeError, ShapeError, formatShape } from '../errors.js';
import { cast } from '../ops/cast.js';
import { crossEntropy, mseLoss } from '../ops/loss.js';
import { reshape } from '../ops/shape.js';
import type { BaseModelOutput } from '../models/types.js';
import type { Tensor } from '../tensor/tensor.js';
import { normalizeHeadConfig, type ClassificationHeadConfig } from './config.js';
import { bceWithLogits } from './losses.js';
import { PredictionHead } from './prediction-head.js';
import type { HeadBuildOptions, HeadHost, HeadInputs, HeadOutput } from './types.js';

/** Targets as class ids (i32), reshaped to [n]. */
export function classTargets(labels: Tensor, n: number, head: string): Tensor {
  if (labels.dtype !== 'i32') throw new DTypeError(`head '${head}': class labels must be i32 ids, got ${labels.dtype}${formatShape(labels.shape)}`);
  if (labels.size !== n) throw new ShapeError(`head '${head}': expected ${n} labels, got ${formatShape(labels.shape)}`);
  return reshape(labels, [n]);
}

/**
 * Sequence classification (Python `ClassificationHead`, head_type
 * 'classification') and multi-label classification
 * (`MultiLabelClassificationHead`, 'multilabel_classification').
 *
 * Layers (layers=2, tanh): 0 Dropout, 1 Linear(h, h), 2 activation,
 * 3 Dropout, 4 Linear(h, num_labels). Input: the first token's hidden state
 * (or the pooled output with `use_pooler`, or the model's `clsOutput`).
 * Loss: cross-entropy over class ids; mean squared error when num_labels is
 * 1 (regression); BCE-with-logits against 0/1 targets [batch, num_labels]
 * for multi-label.
 */
export class ClassificationHead extends PredictionHead {
  declare readonly config: ClassificationHeadConfig;

  constructor(host: HeadHost, name: string, config: Partial<ClassificationHeadConfig> & { head_type?: ClassificationHeadConfig['head_type'] } = {}, opts: HeadBuildOptions = {}) {
    const full = normalizeHeadConfig({ head_type: 'classification', ...config }, host.config) as ClassificationHeadConfig;
    if (full.head_type !== 'classification' && full.head_type !== 'multilabel_classification') {
      throw new Error(`ClassificationHead '${name}': head_type must be classification or multilabel_classification, got '${full.head_type}'`);
    }
    super(name, full);
    this.buildGeneric(host, full.num_labels, full.bias, opts);
  }

  get multilabel(): boolean {
    return this.config.head_type === 'multilabel_classification';
  }

  override get usesClsOutput(): boolean {
    return true;
  }

  forward(outputs: BaseModelOutput, inputs: HeadInputs = {}): HeadOutput {
    return tidy(() => {
      const cls = this.clsOutput(outputs, inputs, this.config.use_pooler);
      const logits = this.runLayers(cls);
      const labels = inputs.labels;
      if (!labels) return { logits };
      const c = this.config.num_labels;
      const b = logits.shape[0]!;
      let loss: Tensor;
      if (this.multilabel) {
        if (labels.size !== b * c) throw new ShapeError(`head '${this.name}': multi-label targets must be [${b}, ${c}], got ${formatShape(labels.shape)}`);
        loss = bceWithLogits(logits, reshape(labels, logits.shape));
      } else if (c === 1) {
        // Regression, as Python: MSE(logits.view(-1), labels.view(-1)), labels as float.
        if (labels.size !== b) throw new ShapeError(`head '${this.name}': regression targets must have ${b} values, got ${formatShape(labels.shape)}`);
        const y = labels.dtype === logits.dtype ? labels : cast(labels, logits.dtype);
        loss = mseLoss(reshape(logits, [b]), reshape(y, [b]));
      } else {
        loss = crossEntropy(logits, classTargets(labels, b, this.name));
      }
      return { logits, loss };
    });
  }
}

import { tidy } from '../../backend/scope.js';
import { tanh } from '../../ops/activation.js';
import { narrow, squeeze } from '../../ops/shape.js';
import { Linear } from '../../nn/linear.js';
import { Module } from '../../nn/module.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { BertConfig } from './config.js';

/** tanh(dense(first token)) (HF `BertPooler`): child `dense`. */
export class BertPooler extends Module {
  readonly dense: Linear;

  constructor(config: BertConfig) {
    super();
    this.dense = this.registerModule('dense', new Linear(config.hiddenSize, config.hiddenSize));
  }

  /** hidden [batch, seq, hidden] → [batch, hidden]. */
  forward(hidden: Tensor): Tensor {
    return tidy(() => tanh(this.dense.forward(squeeze(narrow(hidden, 1, 0, 1), 1))));
  }
}

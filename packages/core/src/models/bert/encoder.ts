import { tidy } from '../../backend/scope.js';
import { ModuleList } from '../../nn/containers.js';
import { Module } from '../../nn/module.js';
import type { Tensor } from '../../tensor/tensor.js';
import { BertAttention } from './attention.js';
import type { BertConfig } from './config.js';
import { BertIntermediate, BertOutput } from './feed-forward.js';

/** One post-LN transformer block (HF `BertLayer`): children `attention`, `intermediate`, `output`. */
export class BertLayer extends Module {
  readonly attention: BertAttention;
  readonly intermediate: BertIntermediate;
  readonly output: BertOutput;

  constructor(config: BertConfig, layerIndex: number) {
    super();
    this.attention = this.registerModule('attention', new BertAttention(config, layerIndex));
    this.intermediate = this.registerModule('intermediate', new BertIntermediate(config, layerIndex));
    this.output = this.registerModule('output', new BertOutput(config, layerIndex));
  }

  /** hidden [batch, seq, hidden] and the additive mask → the layer output. */
  forward(hidden: Tensor, mask: Tensor | null): Tensor {
    return tidy(() => {
      const attended = this.attention.forward(hidden, mask);
      return this.output.forward(this.intermediate.forward(attended), attended);
    });
  }
}

/** What `BertEncoder.forward` returns. */
export interface BertEncoderOutput {
  lastHiddenState: Tensor;
  /** The input then every layer's output (numLayers + 1), when asked for. */
  hiddenStates?: Tensor[];
}

/** The stack of layers (HF `BertEncoder`): child `layer` (a ModuleList named 0, 1, …). */
export class BertEncoder extends Module {
  readonly layer: ModuleList<BertLayer>;

  constructor(config: BertConfig) {
    super();
    this.layer = this.registerModule('layer', new ModuleList(Array.from({ length: config.numHiddenLayers }, (_, i) => new BertLayer(config, i))));
  }

  forward(hidden: Tensor, mask: Tensor | null, outputHiddenStates = false): BertEncoderOutput {
    const states: Tensor[] = outputHiddenStates ? [hidden] : [];
    let h = hidden;
    for (const layer of this.layer) {
      // Each layer's own intermediates are freed by its tidy; the previous
      // layer output is freed here unless it is returned as a hidden state.
      const next = layer.forward(h, mask);
      if (outputHiddenStates) states.push(next);
      else if (h !== hidden) h.dispose();
      h = next;
    }
    return outputHiddenStates ? { lastHiddenState: h, hiddenStates: states } : { lastHiddenState: h };
  }
}

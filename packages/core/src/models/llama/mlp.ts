import { mul } from '../../ops/binary.js';
import { silu } from '../../ops/activation.js';
import { tidy } from '../../backend/scope.js';
import { Module } from '../../nn/module.js';
import type { Linear } from '../../nn/linear.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { LlamaConfig } from './config.js';
import { llamaLinear } from './init.js';

/** Gated feed-forward (HF `LlamaMLP`): down_proj(silu(gate_proj(x)) · up_proj(x)). */
export class LlamaMLP extends Module {
  readonly gate_proj: Linear;
  readonly up_proj: Linear;
  readonly down_proj: Linear;

  /**
   * 'linear' sites follow the data flow: up_proj (hidden→intermediate) is
   * location 'intermediate', down_proj (intermediate→hidden) is 'output'. The
   * Python library's built-in Llama mixin has these two swapped (REFERENCE
   * quirk Q9); its plugin-interface presets use this order.
   */
  constructor(config: LlamaConfig, layerIndex = -1) {
    super();
    const { hiddenSize, intermediateSize, mlpBias, initializerRange: std } = config;
    this.gate_proj = this.registerModule('gate_proj', llamaLinear(hiddenSize, intermediateSize, mlpBias, std));
    this.up_proj = this.registerModule('up_proj', llamaLinear(hiddenSize, intermediateSize, mlpBias, std, { layer: layerIndex, location: 'intermediate' }));
    this.down_proj = this.registerModule('down_proj', llamaLinear(intermediateSize, hiddenSize, mlpBias, std, { layer: layerIndex, location: 'output' }));
  }

  /** x [..., hidden] → [..., hidden]. */
  forward(x: Tensor): Tensor {
    return tidy(() => this.down_proj.forward(mul(silu(this.gate_proj.forward(x)), this.up_proj.forward(x))));
  }
}

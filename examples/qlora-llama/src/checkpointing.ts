import { checkpoint, type LlamaDecoderLayer, type LlamaLayerContext, type LlamaModel, type Tensor } from '@adapterkit/core';

/**
 * Gradient checkpointing for a Llama model (HF's gradient_checkpointing_enable,
 * as the QLoRA recipe uses it): each decoder layer runs through core's
 * `checkpoint()`, which keeps only the layer's input and recomputes the layer
 * in backward. The rotary angles and the mask are passed as checkpoint inputs
 * so the recomputation still has them after the forward pass freed its own.
 */
export function checkpointDecoderLayers(base: LlamaModel): void {
  for (const layer of base.layers as Iterable<LlamaDecoderLayer>) {
    const run = layer.forward.bind(layer);
    layer.forward = (hidden: Tensor, ctx: LlamaLayerContext) =>
      checkpoint((h, cos, sin, mask) => run(h, { ...ctx, angles: { cos: cos!, sin: sin! }, mask: mask! }), hidden, ctx.angles.cos, ctx.angles.sin, ctx.mask);
  }
}

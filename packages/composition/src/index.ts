/**
 * @adapterkit/composition — composition blocks for adapterkit, as in the
 * Python `adapters` library: Fuse (AdapterFusion), Split, BatchSplit,
 * Parallel and Average, evaluated by the bottleneck, LoRA/(IA)³ and
 * prefix-tuning methods according to Python's support table (Stack is
 * built into each method). Importing the package registers the evaluators
 * with the method packages and the fusion / setup API with core's models
 * (`addAdapterFusion`, `trainAdapterFusion`, `saveAdapterFusion`, …).
 */
import { registerBottleneckBlocks } from './blocks/bottleneck.js';
import { registerLoRABlocks } from './blocks/lora.js';
import { registerPrefixBlocks } from './blocks/prefix.js';
import { registerFusionApi } from './plugin.js';

export { AdapterFusionConfig, DYNAMIC_FUSION, FUSION_PRESETS, STATIC_FUSION, type FusionConfigFields } from './fusion/config.js';
export { AdapterFusionLayer, type FusionResult } from './fusion/layer.js';
export {
  FUSION_HOLDER, allFusionLayers, fusionDict, fusionLayerAt, fusionNameOf, fusionsOf, resolveFusionSpec, type FusionEntry,
} from './fusion/registry.js';
export {
  addAdapterFusion, deleteAdapterFusion, fuseBlockOf, fusesOf, fusionLayersOf, fusionRegularizationLoss, trainAdapterFusion,
  withFusionRegularization, type HostLike,
} from './fusion/api.js';
export { fusionMarker, fusionParameters, loadAdapterFusion, saveAdapterFusion, saveAllAdapterFusions } from './fusion/files.js';
export { withFusionAttentions, type FusionAttentions } from './fusion/attentions.js';
export { loadAdapterSetup, saveAdapterSetup, setupFromDict, setupToDict, type SetupDict } from './setup-files.js';
export { composeAverage, composeBatchSplit, composeFuse, composeParallel, composeSplit, registerBottleneckBlocks } from './blocks/bottleneck.js';
export { loraAverage, loraBatchSplit, loraParallel, registerLoRABlocks } from './blocks/lora.js';
export { prefixBatchSplit, prefixParallel, registerPrefixBlocks } from './blocks/prefix.js';
export { compositionPluginImpl, registerFusionApi } from './plugin.js';

/** Registers every block evaluator and the fusion / setup API (idempotent; importing the package does it). */
export function registerComposition(): void {
  registerBottleneckBlocks();
  registerLoRABlocks();
  registerPrefixBlocks();
  registerFusionApi();
}

registerComposition();

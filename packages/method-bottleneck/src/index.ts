/**
 * @adapterkit/method-bottleneck — bottleneck adapters for adapterkit:
 * seq_bn (Pfeiffer), double_seq_bn (Houlsby), par_bn / scaled_par_bn
 * (parallel), seq_bn_inv / double_seq_bn_inv (with invertible MAD-X
 * adapters), compacter and compacter++ (PHM layers). Importing the package
 * registers the config presets and the method with the core adapter host.
 */
export { BN_DEFAULTS, BN_FLOAT_FIELDS, BN_PRESETS, BN_REQUIRED, registerBottleneckConfigs, validateBnConfig } from './config.js';
export { ACTIVATION_NAMES, Activation, activationFn, isKnownActivation } from './activations.js';
export {
  BottleneckAdapter, ParallelBottleneckAdapter, bottleneckSize,
  type AdapterForwardResult, type LayerNormFn, type PreForwardResult,
} from './adapter.js';
export { PHMLayer, SharedPhmParameters, batchedKron, initPhmW } from './phm.js';
export { DropPath } from './drop-path.js';
export { GlowCouplingBlock, NiceCouplingBlock, atan, createInvertibleBlock, type InvertibleBlock } from './invertible.js';
export {
  bottleneckBlocks, composeBlock, composeSingle, composeStack, preBlock, registerBottleneckBlock,
  type BottleneckBlockEvaluator, type BottleneckSiteView, type BottleneckState,
} from './composition.js';
export {
  BOTTLENECK, BottleneckLayerModule, bottleneckHolder, bottleneckMethod, invertReverse, invertibleAdapters, reductionFactorFor,
  registerBottleneckMethod, siteAdapters,
} from './method.js';
export { withInitSeed } from './init.js';

import { registerBottleneckMethod } from './method.js';
registerBottleneckMethod();

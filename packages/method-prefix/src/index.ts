/**
 * @adapterkit/method-prefix — prefix tuning (reparametrised and flat) and
 * prompt tuning, as in the Python `adapters` library. Importing the package
 * registers both methods and the config names 'prefix_tuning',
 * 'prefix_tuning_flat' and 'prompt_tuning'.
 */
import { registerPrefixMethods } from './register.js';

export { registerPrefixMethods } from './register.js';
export { Activation, activationNames } from './activation.js';
export type { HostLike } from './host-of.js';
export {
  PREFIX_TUNING, PREFIX_TUNING_DEFAULTS, prefixTuningConfig, validatePrefixTuningConfig, type PrefixTuningSettings,
} from './prefix/config.js';
export {
  FlatPrefixTuning, PrefixTuning, PrefixTuningGroup, PrefixTuningPool, splitPrefix,
  type PrefixGeometry, type PrefixKV, type PrefixModule,
} from './prefix/modules.js';
export { PrefixTuningLayer } from './prefix/layer.js';
export {
  composePrefix, extendMask, prefixSupportedBlocks, registerPrefixBlockEvaluator,
  type PrefixBlockEvaluator, type PrefixComposeContext, type PrefixState,
} from './prefix/compose.js';
export { prefixTuningMethod } from './prefix/method.js';
export { prefixPoolOf } from './prefix/pool.js';
export { ejectPrefixTuning, prefixTuningEjectOnSave, setPrefixTuningEjectOnSave } from './prefix/eject.js';
export {
  PROMPT_TUNING, PROMPT_TUNING_DEFAULTS, RANDOM_UNIFORM_SCALE, promptTuningConfig, validatePromptTuningConfig,
} from './prompt/config.js';
export { PromptTuning, PromptTuningLayer, type PromptCombine } from './prompt/modules.js';
export { PROMPT_TOKENS_LENGTH, PROMPT_TUNING_UNSUPPORTED, promptLayerOf, promptTuningMethod } from './prompt/method.js';
export { setPromptTuningTokenizer, type PromptInitSource, type PromptTokenizer } from './prompt/init-source.js';

registerPrefixMethods();

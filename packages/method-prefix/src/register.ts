import { registerMethod } from '@adapterkit/core';
import { registerPrefixTuningConfig } from './prefix/config.js';
import { prefixTuningMethod } from './prefix/method.js';
import { registerPromptTuningConfig } from './prompt/config.js';
import { promptTuningMethod } from './prompt/method.js';

/**
 * Registers prefix tuning ('prefix_tuning', 'prefix_tuning_flat') and prompt
 * tuning ('prompt_tuning'): config schemas, presets and methods. Importing
 * the package does this; calling it again is harmless.
 */
export function registerPrefixMethods(): void {
  registerPrefixTuningConfig();
  registerPromptTuningConfig();
  registerMethod(prefixTuningMethod);
  registerMethod(promptTuningMethod);
}

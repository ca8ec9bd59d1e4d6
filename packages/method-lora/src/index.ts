/**
 * @adapterkit/method-lora — LoRA, (IA)³ and DoRA adapters (the Python
 * `LoRAConfig` family, architecture 'lora') at the models' linear insertion
 * points, with merging into the base weights. Importing this package
 * registers the method, its config schema and the presets 'lora', 'ia3',
 * 'dora' (and 'vera' / 'dvora', which resolve but are not supported yet).
 */
import { registerMethod } from '@adapterkit/core';
import { registerLoRAConfigs } from './config.js';
import { loraMethod } from './method.js';

export {
  LORA_ARCHITECTURE, LORA_DEFAULTS, IA3_FIELDS, DORA_FIELDS, VERA_FIELDS, DVORA_FIELDS, TORCH_DTYPES,
  LoRAConfig, IA3Config, DoRAConfig, registerLoRAConfigs, validateLoRAConfig, type LoRAConfigFields,
} from './config.js';
export { LoRA, IA3, Magnitude, rowNorms, type LoRALike } from './modules.js';
export { LoRALayer, layerOf, LORAS, HOOK_KEY, type MergedState } from './layer.js';
export { makeLoRAHook, registerLoRABlockEvaluator, loraSupportedBlocks, type LoRAState, type ComposeContext, type LoRABlockEvaluator } from './compose.js';
export { mergeAdapter, resetAdapter, mergedAdapters, loraLayers, type MergeOptions } from './merge.js';
export { setLoRASemantics, loraSemanticsOf, resolveHost, type LoRASemantics, type HostLike } from './semantics.js';
export { LoRAMethod, loraMethod, configWantsSite } from './method.js';

let registered = false;

/** Registers the LoRA method and its configs with core (idempotent; importing the package already did). */
export function registerLoRAMethod(): void {
  if (registered) return;
  registered = true;
  registerLoRAConfigs();
  registerMethod(loraMethod);
}

registerLoRAMethod();

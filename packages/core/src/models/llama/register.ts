import { registerModelType } from '../registry.js';
import { parseLlamaConfig, type LlamaConfig } from './config.js';
import { LlamaModel } from './model.js';

/**
 * Registers model types 'llama' and 'mistral' (same code; Mistral adds the
 * sliding window) with base prefix 'model' (LlamaForCausalLM's `model.`).
 * Idempotent; runs when this package's index is imported.
 */
export function registerLlamaModelTypes(): void {
  registerModelType<LlamaConfig>({
    modelTypes: ['llama', 'mistral'],
    parseConfig: (raw) => parseLlamaConfig(raw),
    createBase: (config) => new LlamaModel(config),
    basePrefix: 'model',
  });
}

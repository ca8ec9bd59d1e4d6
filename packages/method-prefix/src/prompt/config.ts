import { AdapterConfig, registerConfigPreset, registerConfigSchema, type ConfigFields } from '@adapterkit/core';

/** Architecture key of prompt tuning in adapter_config.json. */
export const PROMPT_TUNING = 'prompt_tuning';

/**
 * Python `PromptTuningConfig` fields and defaults (adapters 1.2/1.3). Its
 * `random_uniform_scale = 0.5` is a class attribute, not a field (never
 * saved, not settable: REFERENCE quirk Q1), so it is the constant below.
 */
export const PROMPT_TUNING_DEFAULTS: ConfigFields = {
  prompt_length: 10,
  prompt_init: 'random_uniform',
  prompt_init_text: null,
  combine: 'prefix',
  init_weights_seed: null,
};

/** Half-width of the uniform init U(−0.5, 0.5) (Python `random_uniform_scale`). */
export const RANDOM_UNIFORM_SCALE = 0.5;

const INITS = ['random_uniform', 'from_string'];
const COMBINES = ['prefix', 'prefix_after_bos'];
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

function fail(field: string, why: string): never {
  throw new Error(`PromptTuningConfig: '${field}' ${why}`);
}

/** Type and value checks (Python raises the value errors when the adapter is added). */
export function validatePromptTuningConfig(f: ConfigFields): void {
  if (!isInt(f.prompt_length) || f.prompt_length < 1) fail('prompt_length', `must be a positive integer, got ${JSON.stringify(f.prompt_length)}`);
  if (!INITS.includes(f.prompt_init as string)) fail('prompt_init', `must be 'random_uniform' or 'from_string', got ${JSON.stringify(f.prompt_init)}`);
  if (f.prompt_init_text !== null && typeof f.prompt_init_text !== 'string') fail('prompt_init_text', `must be a string or null, got ${JSON.stringify(f.prompt_init_text)}`);
  if (!COMBINES.includes(f.combine as string)) fail('combine', `must be 'prefix' or 'prefix_after_bos', got ${JSON.stringify(f.combine)}`);
  if (f.init_weights_seed !== null && !isInt(f.init_weights_seed)) fail('init_weights_seed', `must be an integer or null, got ${JSON.stringify(f.init_weights_seed)}`);
}

/** Registers the schema and the preset 'prompt_tuning' (idempotent). */
export function registerPromptTuningConfig(): void {
  registerConfigSchema({
    architecture: PROMPT_TUNING,
    className: 'PromptTuningConfig',
    defaults: PROMPT_TUNING_DEFAULTS,
    validate: validatePromptTuningConfig,
  });
  registerConfigPreset('prompt_tuning', PROMPT_TUNING, {});
}

/** A `PromptTuningConfig` with some fields set; snake or camel keys. */
export function promptTuningConfig(fields: Record<string, unknown> = {}): AdapterConfig {
  return new AdapterConfig(PROMPT_TUNING, fields);
}

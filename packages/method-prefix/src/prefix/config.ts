import { AdapterConfig, registerConfigPreset, registerConfigSchema, type ConfigFields } from '@adapterkit/core';
import { activationNames, isActivation } from '../activation.js';

/** Architecture key of prefix tuning in adapter_config.json. */
export const PREFIX_TUNING = 'prefix_tuning';

/** Python `PrefixTuningConfig` fields and defaults (adapters 1.2/1.3), snake_case as saved. */
export const PREFIX_TUNING_DEFAULTS: ConfigFields = {
  encoder_prefix: true,
  cross_prefix: true,
  leave_out: [],
  flat: false,
  prefix_length: 30,
  bottleneck_size: 512,
  non_linearity: 'tanh',
  dropout: 0.0,
  use_gating: false,
  shared_gating: true,
  init_weights_seed: null,
};

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

function fail(field: string, why: string): never {
  throw new Error(`PrefixTuningConfig: '${field}' ${why}`);
}

/** Type and range checks (Python would fail later, at add time or in the forward pass). */
export function validatePrefixTuningConfig(f: ConfigFields): void {
  for (const b of ['encoder_prefix', 'cross_prefix', 'flat', 'use_gating', 'shared_gating']) {
    if (typeof f[b] !== 'boolean') fail(b, `must be true or false, got ${JSON.stringify(f[b])}`);
  }
  if (!Array.isArray(f.leave_out) || !f.leave_out.every(isInt)) fail('leave_out', `must be a list of layer indices, got ${JSON.stringify(f.leave_out)}`);
  if (!isInt(f.prefix_length) || f.prefix_length < 1) fail('prefix_length', `must be a positive integer, got ${JSON.stringify(f.prefix_length)}`);
  if (!isInt(f.bottleneck_size) || f.bottleneck_size < 1) fail('bottleneck_size', `must be a positive integer, got ${JSON.stringify(f.bottleneck_size)}`);
  if (typeof f.non_linearity !== 'string' || !isActivation(f.non_linearity)) {
    fail('non_linearity', `must be one of ${activationNames().join(', ')}, got ${JSON.stringify(f.non_linearity)}`);
  }
  if (typeof f.dropout !== 'number' || !(f.dropout >= 0 && f.dropout < 1)) fail('dropout', `must be a number in [0, 1), got ${JSON.stringify(f.dropout)}`);
  if (f.init_weights_seed !== null && !isInt(f.init_weights_seed)) fail('init_weights_seed', `must be an integer or null, got ${JSON.stringify(f.init_weights_seed)}`);
}

/** Registers the schema and the presets 'prefix_tuning' and 'prefix_tuning_flat' (idempotent). */
export function registerPrefixTuningConfig(): void {
  registerConfigSchema({
    architecture: PREFIX_TUNING,
    className: 'PrefixTuningConfig',
    defaults: PREFIX_TUNING_DEFAULTS,
    floatFields: ['dropout'],
    validate: validatePrefixTuningConfig,
  });
  registerConfigPreset('prefix_tuning', PREFIX_TUNING, {});
  registerConfigPreset('prefix_tuning_flat', PREFIX_TUNING, { flat: true });
}

/** A `PrefixTuningConfig` (Python class) with some fields set; snake or camel keys. */
export function prefixTuningConfig(fields: Record<string, unknown> = {}): AdapterConfig {
  return new AdapterConfig(PREFIX_TUNING, fields);
}

/** The fields the modules read, camelCase. */
export interface PrefixTuningSettings {
  prefixLength: number;
  bottleneckSize: number;
  nonLinearity: string;
  dropout: number;
  flat: boolean;
  useGating: boolean;
  sharedGating: boolean;
  initWeightsSeed: number | null;
}

export function prefixSettings(config: AdapterConfig): PrefixTuningSettings {
  const f = config.fields;
  return {
    prefixLength: f.prefix_length as number,
    bottleneckSize: f.bottleneck_size as number,
    nonLinearity: f.non_linearity as string,
    dropout: f.dropout as number,
    flat: f.flat as boolean,
    useGating: f.use_gating as boolean,
    sharedGating: f.shared_gating as boolean,
    initWeightsSeed: f.init_weights_seed as number | null,
  };
}

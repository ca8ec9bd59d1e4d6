import { registerConfigPreset, registerConfigSchema, type ConfigFields, type ConfigValue } from '@adapterkit/core';
import { ACTIVATION_NAMES, isKnownActivation } from './activations.js';

/**
 * Python `BnConfig` fields and defaults (adapters 1.2/1.3,
 * configuration/adapter_config.py). `mh_adapter`, `output_adapter`,
 * `reduction_factor` and `non_linearity` have no default there: presets or
 * the user set them.
 */
export const BN_DEFAULTS: ConfigFields = {
  original_ln_before: false,
  original_ln_after: true,
  ln_before: false,
  ln_after: false,
  init_weights: 'bert',
  init_weights_seed: null,
  is_parallel: false,
  scaling: 1.0,
  use_gating: false,
  residual_before_ln: true,
  adapter_residual_before_ln: false,
  inv_adapter: null,
  inv_adapter_reduction_factor: null,
  cross_adapter: false,
  leave_out: [],
  dropout: 0.0,
  phm_layer: false,
  phm_dim: 4,
  factorized_phm_W: true,
  shared_W_phm: false,
  shared_phm_rule: true,
  factorized_phm_rule: false,
  phm_c_init: 'normal',
  phm_init_range: 0.0001,
  learn_phm: true,
  hypercomplex_nonlinearity: 'glorot-uniform',
  phm_rank: 1,
  phm_bias: true,
  stochastic_depth: 0.0,
};

/** BnConfig fields without a default. */
export const BN_REQUIRED = ['mh_adapter', 'output_adapter', 'reduction_factor', 'non_linearity'] as const;

/** Fields Python types as float (printed `1.0` in JSON and in the config hash). */
export const BN_FLOAT_FIELDS = ['scaling', 'dropout', 'phm_init_range', 'stochastic_depth'];

const INIT_WEIGHTS = ['bert', 'mam_adapter', 'houlsby'];
const INV_ADAPTERS = ['nice', 'glow'];
const PHM_C_INIT = ['normal', 'uniform'];
const HYPERCOMPLEX_INIT = ['phm', 'glorot-normal', 'glorot-uniform', 'normal'];

function fail(field: string, detail: string): never {
  throw new Error(`BnConfig: '${field}' ${detail}`);
}

const isNumber = (v: ConfigValue): v is number => typeof v === 'number' && Number.isFinite(v);

function checkReductionFactor(v: ConfigValue): void {
  if (isNumber(v)) {
    if (!(v > 0)) fail('reduction_factor', `must be > 0, got ${v}`);
    return;
  }
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) {
      if (k !== 'default' && !/^\d+$/.test(k)) fail('reduction_factor', `mapping keys must be layer indices as strings or 'default', got '${k}'`);
      if (!isNumber(x) || !(x > 0)) fail('reduction_factor', `mapping value for '${k}' must be a number > 0, got ${JSON.stringify(x)}`);
    }
    return;
  }
  fail('reduction_factor', `must be a number or a mapping {"<layer>": rf, "default": rf}, got ${JSON.stringify(v)}`);
}

/**
 * Checks the values Python checks when the adapter is built (ValueError /
 * assert there), so a bad config fails when it is made, naming the field.
 */
export function validateBnConfig(f: ConfigFields): void {
  for (const b of ['mh_adapter', 'output_adapter', 'original_ln_before', 'original_ln_after', 'ln_before', 'ln_after', 'is_parallel', 'use_gating',
    'adapter_residual_before_ln', 'cross_adapter', 'phm_layer', 'factorized_phm_W', 'shared_W_phm', 'shared_phm_rule', 'factorized_phm_rule', 'learn_phm', 'phm_bias']) {
    if (typeof f[b] !== 'boolean') fail(b, `must be true or false, got ${JSON.stringify(f[b])}`);
  }
  checkReductionFactor(f.reduction_factor!);
  const nl = f.non_linearity;
  if (nl !== null && (typeof nl !== 'string' || !isKnownActivation(nl))) {
    fail('non_linearity', `'${String(nl)}' is not a known activation; valid: ${ACTIVATION_NAMES.join(', ')}, or null`);
  }
  const rbl = f.residual_before_ln;
  if (rbl !== true && rbl !== false && rbl !== 'post_add') fail('residual_before_ln', `must be true, false or 'post_add', got ${JSON.stringify(rbl)}`);
  const s = f.scaling;
  if (!isNumber(s) && s !== 'learned' && s !== 'channel') fail('scaling', `must be a number, 'learned' or 'channel', got ${JSON.stringify(s)}`);
  if (!INIT_WEIGHTS.includes(f.init_weights as string)) fail('init_weights', `must be one of ${INIT_WEIGHTS.join(', ')}, got ${JSON.stringify(f.init_weights)}`);
  const seed = f.init_weights_seed;
  if (seed !== null && (!isNumber(seed) || !Number.isInteger(seed))) fail('init_weights_seed', `must be an integer or null, got ${JSON.stringify(seed)}`);
  const inv = f.inv_adapter;
  if (inv !== null && !INV_ADAPTERS.includes(inv as string)) fail('inv_adapter', `must be null, 'nice' or 'glow', got ${JSON.stringify(inv)}`);
  if (inv !== null) {
    const irf = f.inv_adapter_reduction_factor;
    if (!isNumber(irf) || !(irf > 0)) fail('inv_adapter_reduction_factor', `must be a number > 0 when inv_adapter is set, got ${JSON.stringify(irf)}`);
  }
  if (!Array.isArray(f.leave_out) || !f.leave_out.every((x) => isNumber(x) && Number.isInteger(x))) fail('leave_out', `must be a list of layer indices, got ${JSON.stringify(f.leave_out)}`);
  for (const p of ['dropout', 'stochastic_depth']) {
    const v = f[p];
    if (!isNumber(v) || v < 0 || v > 1) fail(p, `must be a probability in [0, 1], got ${JSON.stringify(v)}`);
  }
  if (!PHM_C_INIT.includes(f.phm_c_init as string)) fail('phm_c_init', `must be one of ${PHM_C_INIT.join(', ')}, got ${JSON.stringify(f.phm_c_init)}`);
  if (!HYPERCOMPLEX_INIT.includes(f.hypercomplex_nonlinearity as string)) {
    fail('hypercomplex_nonlinearity', `must be one of ${HYPERCOMPLEX_INIT.join(', ')}, got ${JSON.stringify(f.hypercomplex_nonlinearity)}`);
  }
  for (const p of ['phm_dim', 'phm_rank']) {
    const v = f[p];
    if (!isNumber(v) || !Number.isInteger(v) || v < 1) fail(p, `must be a positive integer, got ${JSON.stringify(v)}`);
  }
  if (!isNumber(f.phm_init_range)) fail('phm_init_range', `must be a number, got ${JSON.stringify(f.phm_init_range)}`);
}

/** Values of the Python preset classes (only those that differ from BnConfig's defaults or are required). */
const SEQ_BN: ConfigFields = {
  original_ln_before: true, original_ln_after: true, residual_before_ln: true, adapter_residual_before_ln: false,
  ln_before: false, ln_after: false, mh_adapter: false, output_adapter: true, non_linearity: 'relu', reduction_factor: 16,
};
const DOUBLE_SEQ_BN: ConfigFields = {
  original_ln_before: false, original_ln_after: true, residual_before_ln: true, adapter_residual_before_ln: false,
  ln_before: false, ln_after: false, mh_adapter: true, output_adapter: true, non_linearity: 'swish', reduction_factor: 16,
};
const PAR_BN: ConfigFields = {
  original_ln_before: false, original_ln_after: true, ln_before: false, ln_after: false, mh_adapter: false, output_adapter: true,
  non_linearity: 'relu', reduction_factor: 2, init_weights: 'mam_adapter', is_parallel: true, scaling: 4.0,
};
const INV = { inv_adapter: 'nice', inv_adapter_reduction_factor: 2 };
const PHM = { phm_layer: true, reduction_factor: 32, non_linearity: 'gelu' };

/** Preset name → (fields, deprecated aliases), as Python's ADAPTER_CONFIG_MAP. */
export const BN_PRESETS: Record<string, { fields: ConfigFields; aliases: string[] }> = {
  seq_bn: { fields: SEQ_BN, aliases: ['pfeiffer'] },
  double_seq_bn: { fields: DOUBLE_SEQ_BN, aliases: ['houlsby'] },
  par_bn: { fields: PAR_BN, aliases: ['parallel'] },
  scaled_par_bn: { fields: { ...PAR_BN, scaling: 'learned' }, aliases: ['scaled_parallel'] },
  seq_bn_inv: { fields: { ...SEQ_BN, ...INV }, aliases: ['pfeiffer+inv'] },
  double_seq_bn_inv: { fields: { ...DOUBLE_SEQ_BN, ...INV }, aliases: ['houlsby+inv'] },
  'compacter++': { fields: { ...SEQ_BN, ...PHM }, aliases: [] },
  compacter: { fields: { ...DOUBLE_SEQ_BN, ...PHM }, aliases: [] },
};

/**
 * Registers the bottleneck config schema (architecture null, saved without
 * an 'architecture' key; the base name 'bottleneck' is usable as a config
 * string when the four required fields are given) and the presets.
 */
export function registerBottleneckConfigs(): void {
  registerConfigSchema({
    architecture: null,
    className: 'BnConfig',
    // Required fields are listed with an undefined default: known keys, but absent until set.
    defaults: { ...BN_DEFAULTS, ...Object.fromEntries(BN_REQUIRED.map((k) => [k, undefined as unknown as ConfigValue])) },
    required: [...BN_REQUIRED],
    floatFields: BN_FLOAT_FIELDS,
    validate: validateBnConfig,
  });
  // The bare base config (Python `BnConfig(...)`): every required field must come from the string or dict.
  registerConfigPreset('bottleneck', null, {});
  for (const [name, { fields, aliases }] of Object.entries(BN_PRESETS)) registerConfigPreset(name, null, fields, aliases);
}

import { AdapterConfig, registerConfigPreset, registerConfigSchema, type ConfigFields } from '@adapterkit/core';

/** Architecture key of the LoRA family in adapter_config.json (LoRA, IA³, DoRA, VeRA share it). */
export const LORA_ARCHITECTURE = 'lora';

/**
 * Python `LoRAConfig` fields and defaults (adapters 1.2/1.3,
 * configuration/adapter_config.py), snake_case as saved.
 */
export const LORA_DEFAULTS: ConfigFields = {
  selfattn_lora: true,
  intermediate_lora: false,
  output_lora: false,
  leave_out: [],
  r: 8,
  alpha: 8,
  dropout: 0.0,
  attn_matrices: ['q', 'v'],
  composition_mode: 'add',
  init_weights: 'lora',
  init_weights_seed: null,
  use_gating: false,
  use_dora: false,
  vera_d: null,
  vera_b: null,
  dtype: null,
};

/** `IA3Config` values on top of the LoRA defaults (k, v and the intermediate projection, scaled by vectors). */
export const IA3_FIELDS: ConfigFields = {
  selfattn_lora: true,
  intermediate_lora: true,
  output_lora: false,
  r: 1,
  alpha: 1,
  dropout: 0.0,
  attn_matrices: ['k', 'v'],
  composition_mode: 'scale',
  init_weights: 'ia3',
  use_gating: false,
  dtype: null,
};

/** `DoRAConfig`: LoRA with weight decomposition. */
export const DORA_FIELDS: ConfigFields = { use_dora: true };
/** `VeraConfig` (registered so configs and hashes resolve; the method rejects VeRA for now). */
export const VERA_FIELDS: ConfigFields = { vera_d: 0.1, vera_b: 0.0, init_weights: 'vera', composition_mode: 'add' };
/** `DvoRAConfig` = VeRA + DoRA (same caveat as VeRA). */
export const DVORA_FIELDS: ConfigFields = { ...VERA_FIELDS, use_dora: true };

const ATTN_KEYS = ['q', 'k', 'v'];
const COMPOSITION_MODES = ['add', 'scale'];
const INIT_SCHEMES = ['lora', 'bert', 'ia3', 'vera'];
/** torch dtype names accepted in `dtype`, and the adapterkit dtype each one means. */
export const TORCH_DTYPES: Record<string, 'f32' | 'f16' | 'bf16' | 'f64'> = {
  float32: 'f32', float: 'f32', float16: 'f16', half: 'f16', bfloat16: 'bf16', float64: 'f64', double: 'f64',
};

function fail(field: string, why: string): never {
  throw new Error(`LoRAConfig: '${field}' ${why}`);
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/** Field checks: types and value sets Python's classes accept, plus the (IA)³ constraints Python raises at add time. */
export function validateLoRAConfig(f: ConfigFields): void {
  for (const b of ['selfattn_lora', 'intermediate_lora', 'output_lora', 'use_gating', 'use_dora']) {
    if (typeof f[b] !== 'boolean') fail(b, `must be true or false, got ${JSON.stringify(f[b])}`);
  }
  if (!Array.isArray(f.leave_out) || !f.leave_out.every(isInt)) fail('leave_out', `must be a list of layer indices, got ${JSON.stringify(f.leave_out)}`);
  if (!isInt(f.r) || f.r < 1) fail('r', `must be a positive integer, got ${JSON.stringify(f.r)}`);
  if (typeof f.alpha !== 'number' || !Number.isFinite(f.alpha)) fail('alpha', `must be a number, got ${JSON.stringify(f.alpha)}`);
  if (typeof f.dropout !== 'number' || !(f.dropout >= 0 && f.dropout < 1)) fail('dropout', `must be a number in [0, 1), got ${JSON.stringify(f.dropout)}`);
  const attn = f.attn_matrices;
  if (!Array.isArray(attn) || !attn.every((k) => typeof k === 'string' && ATTN_KEYS.includes(k))) {
    fail('attn_matrices', `must be a list of 'q', 'k', 'v', got ${JSON.stringify(attn)}`);
  }
  if (!COMPOSITION_MODES.includes(f.composition_mode as string)) fail('composition_mode', `must be 'add' or 'scale', got ${JSON.stringify(f.composition_mode)}`);
  if (!INIT_SCHEMES.includes(f.init_weights as string)) fail('init_weights', `must be one of ${INIT_SCHEMES.join(', ')}, got ${JSON.stringify(f.init_weights)}`);
  if (f.init_weights_seed !== null && !isInt(f.init_weights_seed)) fail('init_weights_seed', `must be an integer or null, got ${JSON.stringify(f.init_weights_seed)}`);
  for (const v of ['vera_d', 'vera_b']) {
    if (f[v] !== null && typeof f[v] !== 'number') fail(v, `must be a number or null, got ${JSON.stringify(f[v])}`);
  }
  if (f.dtype !== null && !(typeof f.dtype === 'string' && f.dtype in TORCH_DTYPES)) {
    fail('dtype', `must be null or a torch float dtype name (${Object.keys(TORCH_DTYPES).join(', ')}), got ${JSON.stringify(f.dtype)}`);
  }
  if (f.composition_mode === 'scale') {
    // Python's IA3 module raises these when the adapter is added; no model makes them valid, so fail early.
    if (f.r !== 1) fail('r', `must be 1 with composition_mode 'scale' ((IA)³ scales by a vector), got ${f.r}`);
    if (f.dropout !== 0) fail('dropout', `is not supported with composition_mode 'scale' ((IA)³), got ${f.dropout}`);
    if (f.use_dora) fail('use_dora', "is not supported with composition_mode 'scale' ((IA)³)");
    if (f.init_weights === 'vera') fail('init_weights', "'vera' is not valid with composition_mode 'scale'");
  }
}

let registered = false;

/**
 * Registers the LoRA config schema and the presets 'lora', 'ia3', 'dora',
 * 'vera', 'dvora' (idempotent). VeRA presets resolve (their hashes match
 * Python) but adding such an adapter fails until VeRA is implemented.
 */
export function registerLoRAConfigs(): void {
  if (registered) return;
  registered = true;
  registerConfigSchema({
    architecture: LORA_ARCHITECTURE,
    className: 'LoRAConfig',
    defaults: LORA_DEFAULTS,
    floatFields: ['dropout', 'vera_d', 'vera_b'],
    validate: validateLoRAConfig,
  });
  registerConfigPreset('lora', LORA_ARCHITECTURE, {});
  registerConfigPreset('ia3', LORA_ARCHITECTURE, IA3_FIELDS);
  registerConfigPreset('dora', LORA_ARCHITECTURE, DORA_FIELDS);
  registerConfigPreset('vera', LORA_ARCHITECTURE, VERA_FIELDS);
  registerConfigPreset('dvora', LORA_ARCHITECTURE, DVORA_FIELDS);
}

/** Field values of a LoRA-family config (camelCase keys). */
export interface LoRAConfigFields {
  selfattnLora?: boolean;
  intermediateLora?: boolean;
  outputLora?: boolean;
  leaveOut?: number[];
  r?: number;
  alpha?: number;
  dropout?: number;
  attnMatrices?: ('q' | 'k' | 'v')[];
  compositionMode?: 'add' | 'scale';
  initWeights?: 'lora' | 'bert' | 'ia3' | 'vera';
  initWeightsSeed?: number | null;
  useGating?: boolean;
  useDora?: boolean;
  veraD?: number | null;
  veraB?: number | null;
  dtype?: string | null;
}

/** `LoRAConfig(...)`: a LoRA config with the Python defaults (keys camelCase or snake_case). */
export function LoRAConfig(fields: LoRAConfigFields | Record<string, unknown> = {}): AdapterConfig {
  registerLoRAConfigs();
  return new AdapterConfig(LORA_ARCHITECTURE, fields as Record<string, unknown>);
}

/** `IA3Config(...)`: (IA)³ defaults (k, v, intermediate; scale mode) plus overrides. */
export function IA3Config(fields: LoRAConfigFields | Record<string, unknown> = {}): AdapterConfig {
  registerLoRAConfigs();
  return new AdapterConfig(LORA_ARCHITECTURE, { ...IA3_FIELDS, ...(fields as Record<string, unknown>) });
}

/** `DoRAConfig(...)`: LoRA defaults with use_dora. */
export function DoRAConfig(fields: LoRAConfigFields | Record<string, unknown> = {}): AdapterConfig {
  registerLoRAConfigs();
  return new AdapterConfig(LORA_ARCHITECTURE, { ...DORA_FIELDS, ...(fields as Record<string, unknown>) });
}

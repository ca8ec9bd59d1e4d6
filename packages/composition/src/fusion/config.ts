import { configHash, type ConfigFields, type ConfigValue, type FusionConfigLike } from '@adapterkit/core';

/**
 * AdapterFusion settings (Python `AdapterFusionConfig`), with Python's field
 * names as they appear in adapter_fusion_config.json.
 */
export interface FusionConfigFields {
  /** Learn a key projection W_k (h→h, with bias). */
  key: boolean;
  /** Learn a query projection W_q (h→h, with bias). */
  query: boolean;
  /** Learn a value projection W_v (h→h, no bias). */
  value: boolean;
  /** Take the query before the sub-layer's residual + LayerNorm (else after). */
  query_before_ln: boolean;
  /** Informational in Python: the regulariser is keyed on the value matrix, not on this flag (REFERENCE §2.1). */
  regularization: boolean;
  /** Add the residual to the adapter outputs before attending (else to the fused output). */
  residual_before: boolean;
  /** Start the softmax temperature at 50 and lower it by 50/1000 per training step, down to 1. */
  temperature: boolean;
  /** Apply W_v to every adapter output before the softmax-weighted sum (else to the sum). */
  value_before_softmax: boolean;
  /** Start W_v at the identity (+1e-6 off the diagonal) instead of N(0, 0.02²). */
  value_initialized: boolean | string;
  /** Dropout on the attention scores; null uses the model's attention_probs_dropout_prob. */
  dropout_prob: number | null;
}

/** Python `StaticAdapterFusionConfig`: query and key only. */
export const STATIC_FUSION: Readonly<FusionConfigFields> = Object.freeze({
  key: true, query: true, value: false, query_before_ln: false, regularization: false, residual_before: false,
  temperature: false, value_before_softmax: true, value_initialized: false, dropout_prob: null,
});

/** Python `DynamicAdapterFusionConfig` (the default): with a value matrix started at the identity, and its regulariser. */
export const DYNAMIC_FUSION: Readonly<FusionConfigFields> = Object.freeze({
  key: true, query: true, value: true, query_before_ln: false, regularization: true, residual_before: false,
  temperature: false, value_before_softmax: true, value_initialized: true, dropout_prob: null,
});

/** Preset names (Python ADAPTERFUSION_CONFIG_MAP). */
export const FUSION_PRESETS: Readonly<Record<string, Readonly<FusionConfigFields>>> = { static: STATIC_FUSION, dynamic: DYNAMIC_FUSION };

const FIELDS = Object.keys(DYNAMIC_FUSION) as (keyof FusionConfigFields)[];
const FLOAT_FIELDS = new Set(['dropout_prob']);

/** An immutable AdapterFusion config. */
export class AdapterFusionConfig {
  readonly fields: Readonly<FusionConfigFields>;
  /** The preset it came from ('static' / 'dynamic'), or null for a custom dict (Python keeps the name in `fusions`). */
  readonly preset: string | null;

  constructor(fields: FusionConfigFields, preset: string | null = null) {
    this.fields = Object.freeze({ ...fields });
    this.preset = preset;
  }

  /**
   * Resolves 'dynamic' (also the default), 'static', or a dict of fields
   * (snake_case; camelCase accepted). A dict must give every field, as
   * Python's `AdapterFusionConfig.from_dict` needs them all; unknown keys
   * are errors that list the valid ones.
   */
  static load(config: FusionConfigLike | AdapterFusionConfig | undefined, where = 'AdapterFusion config'): AdapterFusionConfig {
    if (config instanceof AdapterFusionConfig) return config;
    if (config === undefined || config === null) config = 'dynamic';
    if (typeof config === 'string') {
      const preset = FUSION_PRESETS[config];
      if (!preset) throw new Error(`${where}: unknown AdapterFusion config '${config}'; valid: ${Object.keys(FUSION_PRESETS).join(', ')} or a dict of fields`);
      return new AdapterFusionConfig({ ...preset }, config);
    }
    const out: Partial<Record<keyof FusionConfigFields, unknown>> = {};
    for (const [k, v] of Object.entries(config)) {
      const key = k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) as keyof FusionConfigFields;
      if (!FIELDS.includes(key)) throw new Error(`${where}: unknown field '${k}'; valid: ${FIELDS.join(', ')}`);
      out[key] = v;
    }
    const missing = FIELDS.filter((f) => !(f in out));
    if (missing.length) throw new Error(`${where}: missing field(s) ${missing.join(', ')} (give every field, or use 'static' / 'dynamic')`);
    for (const f of FIELDS) {
      const v = out[f];
      if (f === 'dropout_prob') {
        if (v !== null && (typeof v !== 'number' || !(v >= 0 && v < 1))) throw new Error(`${where}: dropout_prob must be null or a number in [0, 1), got ${JSON.stringify(v)}`);
      } else if (f === 'value_initialized') {
        if (typeof v !== 'boolean' && typeof v !== 'string') throw new Error(`${where}: value_initialized must be a boolean, got ${JSON.stringify(v)}`);
      } else if (typeof v !== 'boolean') {
        throw new Error(`${where}: ${f} must be a boolean, got ${JSON.stringify(v)}`);
      }
    }
    const fields = out as FusionConfigFields;
    const preset = Object.entries(FUSION_PRESETS).find(([, p]) => FIELDS.every((f) => p[f] === fields[f]))?.[0] ?? null;
    return new AdapterFusionConfig(fields, preset);
  }

  /** Whether W_v starts at the identity (Python tests the value's truthiness). */
  get valueInitialized(): boolean {
    const v = this.fields.value_initialized;
    return typeof v === 'string' ? v.length > 0 : v;
  }

  /** The fields as written to adapter_fusion_config.json's "config". */
  toDict(): ConfigFields {
    return { ...this.fields } as unknown as Record<string, ConfigValue>;
  }

  /** Python get_adapter_config_hash of the fields (config_id in saveAllAdapterFusions). */
  hash(): string {
    return configHash(this.toDict(), FLOAT_FIELDS);
  }

  /** Fields written as Python floats. */
  static floatFields(): Set<string> {
    return new Set(FLOAT_FIELDS);
  }
}

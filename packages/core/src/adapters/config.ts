import { parseConfigString } from './config-string.js';
import { sha1Hex } from './sha1.js';

/** JSON-like values a config holds (snake_case keys, as in adapter_config.json). */
export type ConfigValue = number | string | boolean | null | ConfigValue[] | { [key: string]: ConfigValue };
export type ConfigFields = Record<string, ConfigValue>;

/**
 * An architecture's config schema: its field names with defaults (Python's
 * dataclass fields, snake_case) and which fields are Python floats (so hashes
 * and saved JSON print `1.0`, not `1`). Fields without a default must be set
 * by a preset or by the user.
 */
export interface ConfigSchema {
  /** Architecture key as saved ('lora', 'prefix_tuning', …); null for bottleneck (saved without the key). */
  architecture: string | null;
  /** Python class name of the base config (for messages), e.g. 'BnConfig'. */
  className: string;
  defaults: ConfigFields;
  /** Fields Python requires (no default). */
  required?: string[];
  /** Fields whose Python type is float. */
  floatFields?: string[];
  /** Extra validation; throw with a message naming the field. */
  validate?(fields: ConfigFields): void;
}

const schemas = new Map<string, ConfigSchema>();
const presets = new Map<string, { architecture: string; fields: ConfigFields; canonical: string }>();

function archKey(architecture: string | null): string {
  return architecture ?? 'bottleneck';
}

/** Registers the config schema of an architecture (methods do this). */
export function registerConfigSchema(schema: ConfigSchema): void {
  schemas.set(archKey(schema.architecture), schema);
}

/**
 * Registers a named config ('seq_bn', 'lora', …) with deprecated aliases
 * ('pfeiffer'). `fields` are the preset's values on top of the schema defaults.
 */
export function registerConfigPreset(name: string, architecture: string | null, fields: ConfigFields, aliases: string[] = []): void {
  const entry = { architecture: archKey(architecture), fields, canonical: name };
  presets.set(name, entry);
  for (const a of aliases) presets.set(a, entry);
}

/** Names usable as config strings. */
export function configPresetNames(): string[] {
  return [...presets.keys()].sort();
}

function schemaFor(architecture: string): ConfigSchema {
  const s = schemas.get(architecture);
  if (!s) {
    throw new Error(`unknown adapter architecture '${architecture}'; registered: ${[...schemas.keys()].join(', ') || 'none (import a method package such as @adapterkit/method-lora)'}`);
  }
  return s;
}

const normalize = (k: string): string => k.replace(/_/g, '').toLowerCase();

/** Maps a user key (snake or camel) to the schema's field name; unknown keys list the valid ones. */
function resolveKey(schema: ConfigSchema, key: string): string {
  if (key in schema.defaults) return key;
  const n = normalize(key);
  for (const f of Object.keys(schema.defaults)) if (normalize(f) === n) return f;
  throw new Error(`${schema.className}: unknown config key '${key}'; valid keys: ${Object.keys(schema.defaults).sort().join(', ')}`);
}

function clone<T>(v: T): T {
  return v === null || typeof v !== 'object' ? v : (JSON.parse(JSON.stringify(v)) as T);
}

/**
 * An adapter method's configuration: immutable, complete (every field has a
 * value), with the Python field names. `replace` makes a changed copy.
 */
export class AdapterConfig {
  readonly architecture: string | null;
  readonly fields: Readonly<ConfigFields>;

  /** Builds a config of `architecture` (null = bottleneck) from field values (snake or camel keys). */
  constructor(architecture: string | null, values: Record<string, unknown> = {}) {
    const schema = schemaFor(archKey(architecture));
    this.architecture = schema.architecture;
    const fields: ConfigFields = clone(schema.defaults);
    for (const [k, v] of Object.entries(values)) {
      if (k === 'architecture') continue;
      fields[resolveKey(schema, k)] = clone(v as ConfigValue);
    }
    for (const r of schema.required ?? []) {
      if (fields[r] === undefined) throw new Error(`${schema.className}: required config key '${r}' is missing`);
    }
    schema.validate?.(fields);
    this.fields = Object.freeze(fields);
  }

  /** A field's value; accepts snake_case or camelCase names. */
  get<T = ConfigValue>(key: string): T {
    const schema = schemaFor(archKey(this.architecture));
    return this.fields[resolveKey(schema, key)] as T;
  }

  /** A copy with some fields changed. */
  replace(overrides: Record<string, unknown>): AdapterConfig {
    return new AdapterConfig(this.architecture, { ...this.fields, ...overrides });
  }

  /** The dict Python's to_dict() gives (with 'architecture' unless bottleneck). */
  toDict(): ConfigFields {
    const d: ConfigFields = clone({ ...this.fields });
    if (this.architecture !== null) d.architecture = this.architecture;
    return sortKeys(d);
  }

  /** Python's get_adapter_config_hash (16 hex characters). */
  hash(): string {
    return configHash(this.toDict(), floatFieldsOf(this.architecture));
  }

  /** Field names that Python types as float. */
  floatFields(): Set<string> {
    return floatFieldsOf(this.architecture);
  }
}

function floatFieldsOf(architecture: string | null): Set<string> {
  return new Set(schemaFor(archKey(architecture)).floatFields ?? []);
}

/** Several configs of different architectures in one adapter ('prefix_tuning|par_bn'). */
export class ConfigUnion {
  readonly architecture = 'union' as const;
  constructor(readonly configs: readonly AdapterConfig[]) {
    validateUnion(configs);
  }

  toDict(): ConfigFields {
    return { architecture: 'union', configs: this.configs.map((c) => c.toDict()) };
  }

  hash(): string {
    const floats = new Set(this.configs.flatMap((c) => [...c.floatFields()]));
    return configHash(this.toDict(), floats);
  }

  replace(overrides: Record<string, unknown>): ConfigUnion {
    return new ConfigUnion(this.configs.map((c) => c.replace(overrides)));
  }
}

/** Anything `addAdapter` accepts as a config. */
export type AdapterConfigLike = AdapterConfig | ConfigUnion | string | Record<string, unknown>;

function validateUnion(configs: readonly AdapterConfig[]): void {
  for (let i = 0; i < configs.length; i++) {
    for (let j = i + 1; j < configs.length; j++) {
      const a = configs[i]!;
      const b = configs[j]!;
      if (a.architecture !== b.architecture) continue;
      const leaveOut = (c: AdapterConfig): unknown[] => (c.fields.leave_out as unknown[] | undefined) ?? [];
      if (leaveOut(a).length || leaveOut(b).length) continue;
      if (a.architecture === null) {
        if (a.fields.mh_adapter !== b.fields.mh_adapter && a.fields.output_adapter !== b.fields.output_adapter) continue;
        throw new Error('ConfigUnion: two bottleneck configs must differ in both mh_adapter and output_adapter');
      }
      throw new Error(`ConfigUnion: two configs of architecture '${a.architecture}' conflict (separate them with leave_out)`);
    }
  }
}

/**
 * Resolves any config form: an instance, a preset name ('seq_bn'), a config
 * string ('seq_bn[reduction_factor=8]|lora'), or a dict (snake or camel keys;
 * a saved adapter_config.json's nested "config" works too). `overrides`
 * (non-null values) are applied last, as in Python's AdapterConfig.load.
 */
export function loadAdapterConfig(config: AdapterConfigLike, overrides: Record<string, unknown> = {}): AdapterConfig | ConfigUnion {
  const clean = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== null && v !== undefined));
  let resolved: AdapterConfig | ConfigUnion;
  if (config instanceof AdapterConfig || config instanceof ConfigUnion) resolved = config;
  else if (typeof config === 'string') resolved = fromString(config);
  else resolved = fromDict(config);
  return Object.keys(clean).length ? resolved.replace(clean) : resolved;
}

function fromPreset(name: string, overrides: Record<string, unknown>): AdapterConfig {
  const p = presets.get(name);
  if (!p) throw new Error(`unknown adapter config '${name}'; valid names: ${configPresetNames().join(', ')}`);
  return new AdapterConfig(p.architecture === 'bottleneck' ? null : p.architecture, { ...p.fields, ...overrides });
}

function fromString(src: string): AdapterConfig | ConfigUnion {
  const parts = parseConfigString(src);
  const configs = parts.map((p) => fromPreset(p.name, p.overrides));
  return configs.length === 1 ? configs[0]! : new ConfigUnion(configs);
}

function fromDict(d: Record<string, unknown>): AdapterConfig | ConfigUnion {
  const inner = (d.config && typeof d.config === 'object' ? d.config : d) as Record<string, unknown>;
  const arch = (inner.architecture ?? null) as string | null;
  if (arch === 'union') {
    const members = inner.configs;
    if (!Array.isArray(members)) throw new Error("union config: 'configs' must be a list");
    return new ConfigUnion(members.map((m) => {
      const c = fromDict(m as Record<string, unknown>);
      if (c instanceof ConfigUnion) throw new TypeError('ConfigUnion: a union cannot contain another union');
      return c;
    }));
  }
  return new AdapterConfig(arch, inner);
}

/** Keys dropped from the hash when equal to these v2-era defaults (Python utils.get_adapter_config_hash). */
const HASH_IGNORED_DEFAULTS: ConfigFields = {
  phm_layer: true, phm_dim: 4, factorized_phm_W: true, shared_W_phm: false, shared_phm_rule: true,
  factorized_phm_rule: false, phm_c_init: 'normal', phm_init_range: 0.0001, learn_phm: true,
  hypercomplex_nonlinearity: 'glorot-uniform', phm_rank: 1, phm_bias: true, init_weights: 'bert', scaling: 1.0,
};

function isFalsy(v: unknown): boolean {
  return v === null || v === false || v === 0 || v === '' || (Array.isArray(v) && v.length === 0) ||
    (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);
}

function dropFalsy(v: ConfigValue): ConfigValue {
  if (Array.isArray(v)) return v.map(dropFalsy);
  if (v && typeof v === 'object') {
    const out: { [k: string]: ConfigValue } = {};
    for (const [k, x] of Object.entries(v)) if (!isFalsy(x)) out[k] = dropFalsy(x);
    return out;
  }
  return v;
}

/** Python's get_adapter_config_hash: drop falsy and default v2 keys, json.dumps(sort_keys=True), SHA-1, 16 hex. */
export function configHash(dict: ConfigFields, floatFields: Set<string>, length = 16): string {
  const pruned = dropFalsy(dict) as ConfigFields;
  for (const [k, def] of Object.entries(HASH_IGNORED_DEFAULTS)) if (k in pruned && pruned[k] === def) delete pruned[k];
  return sha1Hex(pythonJsonDumps(pruned, floatFields)).slice(0, length);
}

/**
 * json.dumps with Python's separators (', ' and ': '), sorted keys, ASCII
 * escapes, and floats printed as Python does for the fields listed as float.
 */
export function pythonJsonDumps(v: ConfigValue, floatFields: Set<string>, key?: string, indent?: number, depth = 0): string {
  const nl = indent === undefined ? '' : '\n' + ' '.repeat(indent * (depth + 1));
  const end = indent === undefined ? '' : '\n' + ' '.repeat(indent * depth);
  const itemSep = indent === undefined ? ', ' : ',';
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return pythonNumber(v, key !== undefined && floatFields.has(key));
  if (typeof v === 'string') return JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (Array.isArray(v)) {
    if (!v.length) return '[]';
    return `[${nl}${v.map((x) => pythonJsonDumps(x, floatFields, key, indent, depth + 1)).join(itemSep + nl)}${end}]`;
  }
  const keys = Object.keys(v).sort();
  if (!keys.length) return '{}';
  return `{${nl}${keys.map((k) => `${JSON.stringify(k)}: ${pythonJsonDumps(v[k]!, floatFields, k, indent, depth + 1)}`).join(itemSep + nl)}${end}}`;
}

function pythonNumber(n: number, isFloat: boolean): string {
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : n < 0 ? '-Infinity' : 'NaN';
  const abs = Math.abs(n);
  // Python's float repr switches to exponent form below 1e-4 and from 1e16 on, with two-digit exponents.
  if ((isFloat || !Number.isInteger(n)) && abs !== 0 && (abs < 1e-4 || abs >= 1e16)) {
    return n.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  }
  if (Number.isInteger(n)) return isFloat ? `${n}.0` : String(n);
  return String(n);
}

function sortKeys(d: ConfigFields): ConfigFields {
  return Object.fromEntries(Object.keys(d).sort().map((k) => [k, d[k]!]));
}

import { describe, expect, it } from 'vitest';
import {
  AdapterConfig, Average, BatchSplit, ConfigUnion, Fuse, Parallel, Split, Stack, configHash, loadAdapterConfig,
  parseComposition, parseConfigString, parsePyLiteral, pythonJsonDumps, registerConfigPreset, registerConfigSchema,
} from '../src/index.js';
import { sha1Hex } from '../src/adapters/sha1.js';

// A schema of the host's own tests (the real ones come from the method packages).
registerConfigSchema({
  architecture: 'test_arch',
  className: 'TestConfig',
  defaults: { r: 8, alpha: 8, dropout: 0.0, leave_out: [], attn_matrices: ['q', 'v'], shared_W_phm: false },
  floatFields: ['dropout'],
});
registerConfigPreset('test_preset', 'test_arch', { r: 4 }, ['old_test_name']);

describe('python literals and config strings', () => {
  it('parses the literal subset', () => {
    expect(parsePyLiteral("[1, 2.5, 'a', \"b\", True, False, None, {'k': (1, 2)}]")).toEqual([1, 2.5, 'a', 'b', true, false, null, { k: [1, 2] }]);
    expect(() => parsePyLiteral('dict(default=1)')).toThrow(/not a literal/);
  });

  it('splits names, brackets and unions like Python', () => {
    expect(parseConfigString("seq_bn[reduction_factor=2, leave_out=[11]]")).toEqual([{ name: 'seq_bn', overrides: { reduction_factor: 2, leave_out: [11] } }]);
    expect(parseConfigString("par_bn[reduction_factor={'0': 8, '1': 8, 'default': 16}]")[0]!.overrides).toEqual({ reduction_factor: { 0: 8, 1: 8, default: 16 } });
    expect(parseConfigString('prefix_tuning|par_bn').map((p) => p.name)).toEqual(['prefix_tuning', 'par_bn']);
    expect(() => parseConfigString('prefix_tuning[flat=True')).toThrow(/invalid adapter config string/);
    expect(() => parseConfigString('double_seq_bn[reduction_factor=dict(default=1)]')).toThrow(/not a literal/);
  });

  it('resolves presets, aliases, overrides and unknown names/keys', () => {
    const c = loadAdapterConfig('test_preset[alpha=16]') as AdapterConfig;
    expect(c.get('r')).toBe(4);
    expect(c.get('alpha')).toBe(16);
    expect((loadAdapterConfig('old_test_name') as AdapterConfig).get('r')).toBe(4);
    expect(() => loadAdapterConfig('nope_adapter')).toThrow(/unknown adapter config 'nope_adapter'; valid names: .*test_preset/);
    expect(() => loadAdapterConfig('test_preset[bogus=2]')).toThrow(/unknown config key 'bogus'; valid keys: alpha, attn_matrices/);
  });

  it('accepts camelCase keys, including Python names with capitals', () => {
    const c = new AdapterConfig('test_arch', { attnMatrices: ['k'], sharedWPhm: true });
    expect(c.fields.attn_matrices).toEqual(['k']);
    expect(c.fields.shared_W_phm).toBe(true);
    expect(c.get('sharedWPhm')).toBe(true);
  });

  it('is immutable; replace returns a changed copy', () => {
    const a = new AdapterConfig('test_arch');
    const b = a.replace({ r: 16 });
    expect(a.get('r')).toBe(8);
    expect(b.get('r')).toBe(16);
    expect(Object.isFrozen(a.fields)).toBe(true);
  });

  it('round-trips through to_dict and the nested form of adapter_config.json', () => {
    const a = new AdapterConfig('test_arch', { r: 2 });
    const d = a.toDict();
    expect(d.architecture).toBe('test_arch');
    const again = loadAdapterConfig({ config: d, name: 'x' }) as AdapterConfig;
    expect(again.toDict()).toEqual(d);
  });

  it('rejects unions of the same architecture unless leave_out separates them', () => {
    const a = new AdapterConfig('test_arch');
    expect(() => new ConfigUnion([a, a])).toThrow(/conflict/);
    expect(() => new ConfigUnion([a, a.replace({ leave_out: [0] })])).not.toThrow();
  });
});

describe('config hash (Python get_adapter_config_hash)', () => {
  it('SHA-1 matches known values', () => {
    expect(sha1Hex('')).toBe('da39a3ee5e6b4b0d3255bfef95601890afd80709');
    expect(sha1Hex('abc')).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
    expect(sha1Hex('a'.repeat(1000))).toBe('291e9a6c66994949b57ba5e650361e98fc36b1ba');
  });

  it('dumps JSON as Python json.dumps(sort_keys=True) does', () => {
    const floats = new Set(['scaling', 'dropout']);
    expect(pythonJsonDumps({ b: 1, a: [1, 2], scaling: 4, dropout: 0.1, s: 'é' }, floats)).toBe('{"a": [1, 2], "b": 1, "dropout": 0.1, "s": "\\u00e9", "scaling": 4.0}');
  });

  it('drops falsy values and v2 defaults before hashing', () => {
    const floats = new Set<string>();
    expect(configHash({ r: 8, dropout: 0, leave_out: [], init_weights: 'bert', scaling: 1.0 }, floats)).toBe(configHash({ r: 8 }, floats));
  });
});

describe('composition setups', () => {
  it('parses names and Python list forms', () => {
    expect(parseComposition('a')!.toString()).toBe("Stack('a')");
    expect(parseComposition(['a', ['b', 'c']])!.toString()).toBe("Stack('a', Fuse('b', 'c'))");
    expect(parseComposition(null)).toBeNull();
  });

  it('enforces the allowed nestings', () => {
    expect(() => parseComposition(new Fuse('a', new Parallel('b', 'c')))).toThrow(/Parallel cannot be nested in Fuse/);
    expect(() => parseComposition(new Stack('a', new Split(['b', new Stack('c', new BatchSplit(['d', 'e'], 1))], 2)))).toThrow(/deeper than level 1/);
  });

  it('names, flattening and JSON form', () => {
    const s = new Stack(new Fuse('a', 'b'), 'c');
    expect(s.flatten()).toEqual(['a', 'b', 'c']);
    expect((s.children[0] as Fuse).name).toBe('a,b');
    expect(new Fuse('a', 'b', { name: 'custom' }).name).toBe('custom');
    expect(new BatchSplit(['a', 'b'], [2, 1]).toJSON()).toEqual({ type: 'BatchSplit', children: [{ type: 'single', children: ['a'] }, { type: 'single', children: ['b'] }], kwargs: { batch_sizes: [2, 1] } });
  });

  it('Average normalises given weights to sum 1 (no extra 1/N, unlike Python quirk Q3)', () => {
    expect(new Average(['a', 'b'], [1, 3]).weights).toEqual([0.25, 0.75]);
    expect(new Average(['a', 'b', 'c']).weights.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 12);
  });
});

describe('python float formatting', () => {
  it('matches repr() for floats', () => {
    const f = new Set(['x']);
    const dump = (v: number): string => pythonJsonDumps({ x: v }, f);
    expect(dump(1)).toBe('{"x": 1.0}');
    expect(dump(0.0001)).toBe('{"x": 0.0001}');
    expect(dump(0.00001)).toBe('{"x": 1e-05}');
    expect(dump(1.5e-7)).toBe('{"x": 1.5e-07}');
    expect(dump(1e16)).toBe('{"x": 1e+16}');
    expect(pythonJsonDumps({ y: 16 }, f)).toBe('{"y": 16}');
  });
});

/** Bottleneck configs: presets and aliases, Python hashes, config strings, validation errors. */
import { describe, expect, it } from 'vitest';
import { AdapterConfig, ConfigUnion, loadAdapterConfig } from '@adapterkit/core';
import { BN_DEFAULTS, registerBottleneckMethod } from '../src/index.js';
import { tinyBert } from './helpers.js';

const bn = (c: unknown): AdapterConfig => {
  expect(c).toBeInstanceOf(AdapterConfig);
  return c as AdapterConfig;
};

/** REFERENCE §1.1: Python get_adapter_config_hash of each preset. */
const HASHES: Record<string, string> = {
  seq_bn: '9076f36a74755ac4',
  double_seq_bn: 'b1017368d7a97b11',
  par_bn: '211b85d66ae909db',
  scaled_par_bn: '4197b24ec21c92f8',
  seq_bn_inv: '9ed5b5a29de19b71',
  double_seq_bn_inv: 'bcdbfdc759d7abf1',
  'compacter++': 'cfa13994accfb5f4',
  compacter: '934efc0c1022a56f',
};

const ALIASES: Record<string, string> = {
  pfeiffer: 'seq_bn', houlsby: 'double_seq_bn', parallel: 'par_bn', scaled_parallel: 'scaled_par_bn',
  'pfeiffer+inv': 'seq_bn_inv', 'houlsby+inv': 'double_seq_bn_inv',
};

describe('bottleneck presets', () => {
  it('registering twice is harmless', () => {
    registerBottleneckMethod();
    registerBottleneckMethod();
    expect(bn(loadAdapterConfig('seq_bn')).hash()).toBe(HASHES.seq_bn);
  });

  for (const [name, hash] of Object.entries(HASHES)) {
    it(`${name} hashes like Python (${hash})`, () => {
      const c = bn(loadAdapterConfig(name));
      expect(c.architecture).toBeNull();
      expect(c.hash()).toBe(hash);
      // Every BnConfig field is present, and the saved dict has no 'architecture' key.
      for (const k of Object.keys(BN_DEFAULTS)) expect(c.fields).toHaveProperty(k);
      expect(c.toDict()).not.toHaveProperty('architecture');
    });
  }

  for (const [alias, name] of Object.entries(ALIASES)) {
    it(`deprecated '${alias}' resolves to ${name}`, () => {
      expect(bn(loadAdapterConfig(alias)).toDict()).toEqual(bn(loadAdapterConfig(name)).toDict());
    });
  }

  it('preset values follow the Python classes', () => {
    const seq = bn(loadAdapterConfig('seq_bn'));
    expect(seq.fields).toMatchObject({ original_ln_before: true, mh_adapter: false, output_adapter: true, non_linearity: 'relu', reduction_factor: 16 });
    const par = bn(loadAdapterConfig('par_bn'));
    expect(par.fields).toMatchObject({ is_parallel: true, scaling: 4.0, init_weights: 'mam_adapter', reduction_factor: 2 });
    expect(bn(loadAdapterConfig('scaled_par_bn')).get('scaling')).toBe('learned');
    expect(bn(loadAdapterConfig('double_seq_bn_inv')).fields).toMatchObject({ mh_adapter: true, inv_adapter: 'nice', inv_adapter_reduction_factor: 2, non_linearity: 'swish' });
    expect(bn(loadAdapterConfig('compacter')).fields).toMatchObject({ phm_layer: true, reduction_factor: 32, non_linearity: 'gelu', mh_adapter: true });
    expect(bn(loadAdapterConfig('compacter++')).fields).toMatchObject({ phm_layer: true, reduction_factor: 32, mh_adapter: false });
    // camelCase access works too.
    expect(seq.get('originalLnBefore')).toBe(true);
  });

  it('the base schema needs its four required fields', () => {
    expect(() => loadAdapterConfig('bottleneck')).toThrow(/required config key 'mh_adapter' is missing/);
    const c = bn(loadAdapterConfig("bottleneck[mh_adapter=True, output_adapter=False, reduction_factor=8, non_linearity='tanh']"));
    expect(c.fields).toMatchObject({ mh_adapter: true, output_adapter: false, reduction_factor: 8, non_linearity: 'tanh', original_ln_after: true });
    // A dict without 'architecture' is a BnConfig (as in adapter_config.json).
    const d = bn(loadAdapterConfig({ mh_adapter: false, output_adapter: true, reduction_factor: 16, non_linearity: 'relu', original_ln_before: true }));
    expect(d.hash()).toBe(HASHES.seq_bn);
  });
});

describe('config strings', () => {
  it('"seq_bn[reduction_factor=2, leave_out=[11]]"', () => {
    const c = bn(loadAdapterConfig('seq_bn[reduction_factor=2, leave_out=[11]]'));
    expect(c.fields.reduction_factor).toBe(2);
    expect(c.fields.leave_out).toEqual([11]);
    expect(c.fields.non_linearity).toBe('relu');
  });

  it(`"par_bn[reduction_factor={'0': 8, '1': 8, 'default': 16}]"`, () => {
    const c = bn(loadAdapterConfig("par_bn[reduction_factor={'0': 8, '1': 8, 'default': 16}]"));
    expect(c.fields.reduction_factor).toEqual({ 0: 8, 1: 8, default: 16 });
    expect(c.fields.is_parallel).toBe(true);
  });

  it('residual_before_ln accepts True, False and post_add; scaling a float, learned or channel', () => {
    expect(bn(loadAdapterConfig("seq_bn[residual_before_ln='post_add']")).fields.residual_before_ln).toBe('post_add');
    expect(bn(loadAdapterConfig('seq_bn[residual_before_ln=False, scaling=0.5]')).fields).toMatchObject({ residual_before_ln: false, scaling: 0.5 });
    expect(bn(loadAdapterConfig("seq_bn[scaling='channel']")).fields.scaling).toBe('channel');
  });

  it('a union of bottlenecks must differ in both locations', () => {
    const u = loadAdapterConfig('double_seq_bn[mh_adapter=False]|double_seq_bn[output_adapter=False]');
    expect(u).toBeInstanceOf(ConfigUnion);
    expect(() => loadAdapterConfig('seq_bn|double_seq_bn')).toThrow(/differ in both mh_adapter and output_adapter/);
  });

  it('unknown keys are errors that list the valid keys', () => {
    expect(() => loadAdapterConfig('seq_bn[invalid_key=2]')).toThrow(/BnConfig: unknown config key 'invalid_key'; valid keys: .*adapter_residual_before_ln.*reduction_factor/);
  });

  it('invalid values name the field', () => {
    expect(() => loadAdapterConfig("seq_bn[scaling='huge']")).toThrow(/'scaling' must be a number, 'learned' or 'channel'/);
    expect(() => loadAdapterConfig("seq_bn[init_weights='xavier']")).toThrow(/'init_weights' must be one of bert, mam_adapter, houlsby/);
    expect(() => loadAdapterConfig("seq_bn[non_linearity='nope']")).toThrow(/'non_linearity' 'nope' is not a known activation; valid: .*gelu_new/);
    expect(() => loadAdapterConfig("seq_bn[inv_adapter='real_nvp']")).toThrow(/'inv_adapter' must be null, 'nice' or 'glow'/);
    expect(() => loadAdapterConfig("seq_bn[residual_before_ln='pre']")).toThrow(/'residual_before_ln' must be true, false or 'post_add'/);
    expect(() => loadAdapterConfig('seq_bn[reduction_factor=0]')).toThrow(/'reduction_factor' must be > 0/);
    expect(() => loadAdapterConfig("seq_bn[reduction_factor={'first': 2}]")).toThrow(/mapping keys must be layer indices/);
    expect(() => loadAdapterConfig('seq_bn[dropout=1.5]')).toThrow(/'dropout' must be a probability/);
  });

  it('a reduction_factor mapping without a default fails at the first layer it does not cover, naming it', () => {
    const m = tinyBert();
    expect(() => m.addAdapter('a', "seq_bn[reduction_factor={'0': 4}]")).toThrow(/no entry for layer 1 and no 'default'/);
    // Nothing of the failed adapter is left behind.
    expect(m.adapterHost.adapterNames()).toEqual([]);
    expect(m.namedParameters().some(([k]) => k.includes('.adapters.'))).toBe(false);
    m.addAdapter('b', "seq_bn[reduction_factor={'0': 4, '1': 8}]");
    expect(m.getParameter('encoder.layer.0.output.adapters.b.adapter_down.0.weight').shape).toEqual([8, 32]);
    expect(m.getParameter('encoder.layer.1.output.adapters.b.adapter_down.0.weight').shape).toEqual([4, 32]);
    m.dispose();
  });
});

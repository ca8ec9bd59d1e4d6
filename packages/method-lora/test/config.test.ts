/** LoRAConfig: defaults, presets, config strings, hashes (Python get_adapter_config_hash), validation. */
import { describe, expect, it } from 'vitest';
import { AdapterConfig, BertModel, ConfigUnion, initAdapters, loadAdapterConfig, parseBertConfig } from '@adapterkit/core';
import { DoRAConfig, IA3Config, LORA_DEFAULTS, LoRAConfig, registerLoRAMethod } from '../src/index.js';
import { TINY_BERT_DIR, readJson } from '@adapterkit/test-utils';
import { FIXTURES } from './helpers.js';

registerLoRAMethod();

/** Hashes computed by Python adapters 1.3.0 (REFERENCE §1.1 for the presets). */
const PYTHON_HASHES: [string, string][] = [
  ['lora', '625403edad0bf919'],
  ['ia3', '1ebb5af107e576c0'],
  ['dora', '045575c920686296'],
  ['vera', '2be4e8738bf1b672'],
  ['dvora', '54bac59257d09af0'],
  ['lora[r=200,alpha=8]', '35af2296cb7a532d'],
  ["lora[attn_matrices=['k', 'v']]", '7a47eaa11eb6c651'],
];

describe('LoRAConfig', () => {
  it('has the Python fields and defaults (to_dict of LoRAConfig())', () => {
    const saved = readJson<{ config: Record<string, unknown> }>(new URL('minilm/lora/adapter_config.json', FIXTURES));
    expect(LoRAConfig().toDict()).toEqual(saved.config);
    expect(Object.keys(LORA_DEFAULTS).sort()).toEqual(Object.keys(saved.config).filter((k) => k !== 'architecture').sort());
  });

  it('the ia3 preset has the IA3Config values', () => {
    const c = loadAdapterConfig('ia3') as AdapterConfig;
    expect(c.fields).toMatchObject({
      selfattn_lora: true, intermediate_lora: true, output_lora: false, r: 1, alpha: 1, dropout: 0,
      attn_matrices: ['k', 'v'], composition_mode: 'scale', init_weights: 'ia3', use_gating: false,
    });
    expect(IA3Config().toDict()).toEqual(c.toDict());
    const py = readJson<{ config: Record<string, unknown> }>(new URL('minilm/ia3/adapter_config.json', FIXTURES));
    expect(c.toDict()).toEqual(py.config);
    expect(DoRAConfig().get('use_dora')).toBe(true);
  });

  it.each(PYTHON_HASHES)('hash of %s equals Python (%s)', (src, hash) => {
    expect((loadAdapterConfig(src) as AdapterConfig).hash()).toBe(hash);
  });

  it('parses config strings as Python', () => {
    const a = loadAdapterConfig('lora[r=200,alpha=8]') as AdapterConfig;
    expect([a.get('r'), a.get('alpha'), a.get('attn_matrices')]).toEqual([200, 8, ['q', 'v']]);
    const b = loadAdapterConfig("lora[attn_matrices=['k', 'v']]") as AdapterConfig;
    expect(b.get('attnMatrices')).toEqual(['k', 'v']);
    expect(() => loadAdapterConfig('lora[r=8]|invalid_name')).toThrow(/unknown adapter config 'invalid_name'/);
    expect(() => loadAdapterConfig('lora[invalid_key=2]')).toThrow(/LoRAConfig: unknown config key 'invalid_key'/);
  });

  it("rejects the union 'lora|ia3' (same architecture) unless leave_out separates them", () => {
    expect(() => loadAdapterConfig('lora|ia3')).toThrow(/two configs of architecture 'lora' conflict/);
    const u = loadAdapterConfig('lora[leave_out=[0]]|ia3[leave_out=[1]]');
    expect(u).toBeInstanceOf(ConfigUnion);
  });

  it('validates field values with messages naming the field', () => {
    expect(() => LoRAConfig({ r: 0 })).toThrow(/'r' must be a positive integer/);
    expect(() => LoRAConfig({ attnMatrices: ['q', 'o'] as never })).toThrow(/'attn_matrices' must be a list of 'q', 'k', 'v'/);
    expect(() => LoRAConfig({ compositionMode: 'mul' as never })).toThrow(/'composition_mode' must be 'add' or 'scale'/);
    expect(() => LoRAConfig({ initWeights: 'xavier' as never })).toThrow(/'init_weights' must be one of/);
    expect(() => LoRAConfig({ dropout: 1 })).toThrow(/'dropout' must be a number in \[0, 1\)/);
    expect(() => LoRAConfig({ dtype: 'int8' })).toThrow(/'dtype' must be null or a torch float dtype name/);
    // (IA)³: r must be 1, no dropout, no DoRA.
    expect(() => loadAdapterConfig("lora[composition_mode='scale']")).toThrow(/'r' must be 1 with composition_mode 'scale'/);
    expect(() => loadAdapterConfig('ia3[dropout=0.1]')).toThrow(/'dropout' is not supported with composition_mode 'scale'/);
    expect(() => loadAdapterConfig('ia3[use_dora=True]')).toThrow(/'use_dora' is not supported/);
  });

  it('VeRA configs resolve but cannot be added yet', () => {
    const raw = readJson<Record<string, unknown>>(new URL('config.json', TINY_BERT_DIR));
    const model = initAdapters(new BertModel(parseBertConfig(raw), { addPoolingLayer: false }));
    expect(() => model.addAdapter('v', 'vera')).toThrow(/VeRA .* is not supported yet/);
    expect(model.adapterHost.adapterNames()).toEqual([]);
    // init_weights 'vera' alone is just an initialisation (kaiming-uniform A and B) and works.
    model.addAdapter('k', "lora[init_weights='vera']");
    expect(model.adapterHost.adapterParameters('k').length).toBeGreaterThan(0);
    model.dispose();
  });
});

/** Config schema, presets, hashes (Python get_adapter_config_hash) and config strings. */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AdapterConfig, ConfigUnion, configPresetNames, loadAdapterConfig, registeredMethods } from '@adapterkit/core';
import { PREFIX_TUNING_DEFAULTS, prefixTuningConfig, promptTuningConfig, registerPrefixMethods } from '../src/index.js';

describe('prefix / prompt tuning configs', () => {
  it('registers the presets and both methods (idempotently)', () => {
    registerPrefixMethods();
    registerPrefixMethods();
    expect(configPresetNames()).toEqual(expect.arrayContaining(['prefix_tuning', 'prefix_tuning_flat', 'prompt_tuning']));
    const archs = registeredMethods().map((m) => m.architecture);
    expect(archs.filter((a) => a === 'prefix_tuning')).toHaveLength(1);
    expect(archs).toContain('prompt_tuning');
  });

  it('has Python defaults and the Python config hashes (REFERENCE 1.1)', () => {
    const prefix = loadAdapterConfig('prefix_tuning') as AdapterConfig;
    expect(prefix.toDict()).toEqual({
      architecture: 'prefix_tuning', bottleneck_size: 512, cross_prefix: true, dropout: 0.0, encoder_prefix: true, flat: false,
      init_weights_seed: null, leave_out: [], non_linearity: 'tanh', prefix_length: 30, shared_gating: true, use_gating: false,
    });
    expect(prefix.hash()).toBe('648bf22f5afeaaa6');
    expect((loadAdapterConfig('prefix_tuning_flat') as AdapterConfig).hash()).toBe('d61d9a6e9c3974ea');
    const prompt = loadAdapterConfig('prompt_tuning') as AdapterConfig;
    expect(prompt.toDict()).toEqual({
      architecture: 'prompt_tuning', combine: 'prefix', init_weights_seed: null, prompt_init: 'random_uniform', prompt_init_text: null, prompt_length: 10,
    });
    expect(prompt.hash()).toBe('8e35d5049bb12364');
    expect(prefixTuningConfig({ flat: true }).hash()).toBe('d61d9a6e9c3974ea');
    expect(Object.keys(PREFIX_TUNING_DEFAULTS)).toHaveLength(11);
  });

  it('parses config strings, camelCase keys and unions', () => {
    const c = loadAdapterConfig('prefix_tuning[prefix_length=30, flat=True]') as AdapterConfig;
    expect(c.get('prefixLength')).toBe(30);
    expect(c.get('flat')).toBe(true);
    expect(prefixTuningConfig({ bottleneckSize: 800 }).fields.bottleneck_size).toBe(800);
    expect(promptTuningConfig({ combine: 'prefix_after_bos' }).get('combine')).toBe('prefix_after_bos');
    const u = loadAdapterConfig('prefix_tuning[use_gating=True]|prompt_tuning');
    expect(u).toBeInstanceOf(ConfigUnion);
    expect((u as ConfigUnion).configs.map((x) => x.architecture)).toEqual(['prefix_tuning', 'prompt_tuning']);
    // A dict (adapter_config.json body) round-trips.
    expect((loadAdapterConfig({ config: c.toDict() }) as AdapterConfig).hash()).toBe(c.hash());
  });

  it("parses 'prefix_tuning|par_bn' when the bottleneck package is present (its source is imported if it exists)", async () => {
    const bottleneck = new URL('../../method-bottleneck/src/index.ts', import.meta.url);
    if (!existsSync(bottleneck)) return;
    await import(/* @vite-ignore */ bottleneck.href);
    const u = loadAdapterConfig('prefix_tuning|par_bn') as ConfigUnion;
    expect(u).toBeInstanceOf(ConfigUnion);
    expect(u.configs.map((x) => x.architecture)).toEqual(['prefix_tuning', null]);
    expect(u.toDict()).toMatchObject({ architecture: 'union', configs: [{ architecture: 'prefix_tuning' }, { reduction_factor: 2 }] });
  });

  it('rejects bad values and unknown keys with the field named', () => {
    expect(() => loadAdapterConfig('prefix_tuning[invalid_key=2]')).toThrow(/unknown config key 'invalid_key'/);
    expect(() => loadAdapterConfig('prefix_tuning[flat=True')).toThrow(/invalid adapter config string/);
    expect(() => prefixTuningConfig({ prefix_length: 0 })).toThrow(/'prefix_length'/);
    expect(() => prefixTuningConfig({ non_linearity: 'nope' })).toThrow(/'non_linearity' must be one of/);
    expect(() => prefixTuningConfig({ dropout: 1.5 })).toThrow(/'dropout'/);
    expect(() => promptTuningConfig({ combine: 'suffix' })).toThrow(/'combine'/);
    expect(() => promptTuningConfig({ prompt_init: 'zeros' })).toThrow(/'prompt_init'/);
    // Two prefix-tuning members conflict unless leave_out separates them (ConfigUnion rule).
    expect(() => loadAdapterConfig('prefix_tuning|prefix_tuning_flat')).toThrow(/conflict/);
    expect(() => loadAdapterConfig('prefix_tuning[leave_out=[0]]|prefix_tuning_flat')).not.toThrow();
  });
});

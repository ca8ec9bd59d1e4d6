/**
 * The TypeScript half of the round trip TS → Python
 * (tools/reference/check_bottleneck_roundtrip.py runs it): for every case of
 * test/fixtures/cases.json, adds the adapters with seeded random weights,
 * saves them with saveAdapter, and records the TS last_hidden_state.
 *
 *   npx tsx scripts/save-for-python.ts <out-dir>
 *
 * Writes <out-dir>/{minilm,llama}/<adapter>/ (adapter_config.json +
 * adapter.safetensors), <out-dir>/{minilm,llama}/expected.safetensors
 * (<case>.last_hidden_state) and <out-dir>/{minilm,llama}/inputs.json.
 */
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Stack, manualSeed, noGrad, randn, saveSafetensors, setBackend, tensor, type AdapterModelApi, type Tensor } from '@adapterkit/core';
import '../src/index.js';
import { ids, loadMiniLM } from '@adapterkit/test-utils';
import { loadTinyLlama } from '../test/helpers.js';

interface CaseSpec {
  adapters: Record<string, string>;
  setup: string[];
}

const FIXTURES = fileURLToPath(new URL('../test/fixtures/', import.meta.url));

/** Seeded values in the spirit of the Python fixtures: N(0, 0.1²); LN weights and scalings 1 + N(0, 0.1²); PHM tensors N(0, 0.3²). */
function randomise(model: AdapterModelApi, name: string, seed: number): void {
  let i = 0;
  noGrad(() => {
    for (const [key, p] of model.adapterHost.adapterParameters(name)) {
      const leaf = key.slice(key.lastIndexOf('.') + 1);
      const noise = randn(p.shape, { seed: seed * 1000 + i++ });
      const lnOrScale = (key.includes('adapter_norm_') && leaf === 'weight') || leaf === 'scaling';
      const v = lnOrScale ? addOne(noise) : scale(noise, /^(W|W_.*|b|phm_rule.*)$/.test(leaf) ? 0.3 : 0.1);
      noise.dispose();
      p.assign(v);
      v.dispose();
    }
  });
}

function scale(t: Tensor, s: number): Tensor {
  const data = Float32Array.from(t.dataSync(), (x) => x * s);
  return tensor(data, t.shape);
}

function addOne(t: Tensor): Tensor {
  return tensor(Float32Array.from(t.dataSync(), (x) => 1 + 0.1 * x), t.shape);
}

async function run(
  label: 'minilm' | 'llama',
  cases: Record<string, CaseSpec>,
  model: AdapterModelApi & { forward(i: { inputIds: Tensor; attentionMask?: Tensor; tokenTypeIds?: Tensor }): { lastHiddenState: Tensor }; dispose(): void },
  feed: { inputIds: Tensor; attentionMask?: Tensor; tokenTypeIds?: Tensor },
  out: string,
): Promise<void> {
  mkdirSync(join(out, label), { recursive: true });
  copyFileSync(join(FIXTURES, label, 'inputs.json'), join(out, label, 'inputs.json'));
  const expected = new Map<string, Tensor>();
  let seed = label === 'minilm' ? 5000 : 6000;
  for (const [caseName, spec] of Object.entries(cases)) {
    for (const [name, config] of Object.entries(spec.adapters)) {
      model.addAdapter(name, config);
      randomise(model, name, seed++);
      await model.saveAdapter(join(out, label, name), name);
    }
    model.setActiveAdapters(spec.setup.length > 1 ? new Stack(...spec.setup) : spec.setup[0]!);
    expected.set(`${caseName}.last_hidden_state`, noGrad(() => model.forward(feed).lastHiddenState));
    console.log(`${label}/${caseName}: saved ${Object.keys(spec.adapters).join(', ')}`);
  }
  await saveSafetensors(join(out, label, 'expected.safetensors'), expected);
  model.dispose();
}

async function main(): Promise<void> {
  const out = process.argv[2];
  if (!out) throw new Error('usage: npx tsx scripts/save-for-python.ts <out-dir>');
  setBackend('cpu-ref');
  manualSeed(1234);
  const cases = JSON.parse(readFileSync(join(FIXTURES, 'cases.json'), 'utf8')) as { minilm: Record<string, CaseSpec>; llama: Record<string, CaseSpec> };
  const bertInputs = JSON.parse(readFileSync(join(FIXTURES, 'minilm', 'inputs.json'), 'utf8')) as Record<string, number[][]>;
  await run('minilm', cases.minilm, await loadMiniLM(), {
    inputIds: ids(bertInputs.input_ids!), attentionMask: ids(bertInputs.attention_mask!), tokenTypeIds: ids(bertInputs.token_type_ids!),
  }, out);
  const llamaInputs = JSON.parse(readFileSync(join(FIXTURES, 'llama', 'inputs.json'), 'utf8')) as Record<string, number[][]>;
  await run('llama', cases.llama, await loadTinyLlama(), { inputIds: ids(llamaInputs.input_ids!) }, out);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

/**
 * Saves prefix- and prompt-tuning adapters from adapterkit (seeded random
 * weights) with the outputs adapterkit computes for them, for
 * tools/reference/check_prefix_roundtrip.py to load in Python and compare.
 *
 *   cd packages/method-prefix && npx tsx scripts/save-for-python.ts <out dir>
 *
 * Writes <out>/minilm/<name>/ and <out>/llama/<name>/ (adapter_config.json +
 * adapter.safetensors), <out>/outputs.safetensors (last_hidden_state per
 * adapter, keyed '<model>/<name>') and <out>/manifest.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { noGrad, saveSafetensors, tidy, type AdapterModelApi, type BaseModel, type Tensor } from '@adapterkit/core';
import { setPrefixTuningEjectOnSave } from '../src/index.js';
import { ids, loadMiniLM, readJson } from '@adapterkit/test-utils';
import { FIXTURES, loadLlama, minilmInputs, randomizeAdapter } from '../test/helpers.js';

interface Spec {
  name: string;
  config: string;
  /** Save the prefix in its flat (ejected) form. */
  ejectOnSave?: boolean;
}

const MINILM: Spec[] = [
  { name: 'prefix', config: 'prefix_tuning[prefix_length=5, bottleneck_size=8]' },
  { name: 'prefix_gated', config: 'prefix_tuning[prefix_length=4, bottleneck_size=8, use_gating=True, shared_gating=False, leave_out=[2]]' },
  { name: 'prefix_flat', config: 'prefix_tuning_flat[prefix_length=5]' },
  { name: 'prefix_ejected', config: 'prefix_tuning[prefix_length=5, bottleneck_size=8]', ejectOnSave: true },
  { name: 'prompt', config: 'prompt_tuning[prompt_length=6]' },
  { name: 'prompt_bos', config: 'prompt_tuning[prompt_length=6, combine="prefix_after_bos"]' },
];
const LLAMA: Spec[] = [
  { name: 'prefix', config: 'prefix_tuning[prefix_length=5, bottleneck_size=16, use_gating=True]' },
  { name: 'prefix_ejected', config: 'prefix_tuning[prefix_length=4, bottleneck_size=16]', ejectOnSave: true },
];

async function saveAll(model: BaseModel & AdapterModelApi, specs: Spec[], dir: string, run: () => Tensor, outputs: Map<string, Tensor>, tag: string): Promise<void> {
  let seed = 1000;
  for (const s of specs) {
    model.addAdapter(s.name, s.config, { setActive: true });
    randomizeAdapter(model.adapterHost, s.name, seed++);
    outputs.set(`${tag}/${s.name}`, noGrad(() => tidy(run)));
    setPrefixTuningEjectOnSave(model, s.ejectOnSave ?? false);
    await model.saveAdapter(join(dir, s.name), s.name);
    model.deleteAdapter(s.name);
  }
  setPrefixTuningEjectOnSave(model, false);
}

async function main(): Promise<void> {
  const out = resolve(process.argv[2] ?? 'prefix-roundtrip');
  mkdirSync(out, { recursive: true });
  const outputs = new Map<string, Tensor>();

  const bert = await loadMiniLM({ pooler: false });
  const inputs = minilmInputs();
  await saveAll(bert, MINILM, join(out, 'minilm'), () => bert.forward({
    inputIds: ids(inputs.input_ids), attentionMask: ids(inputs.attention_mask), tokenTypeIds: ids(inputs.token_type_ids),
  }).lastHiddenState, outputs, 'minilm');
  bert.dispose();

  const { model: llama, lmHead } = await loadLlama();
  const kase = readJson<{ input_ids: number[][]; attention_mask: number[][]; position_ids: number[][] }>(new URL('llama/case.json', FIXTURES));
  await saveAll(llama, LLAMA, join(out, 'llama'), () => llama.forward({
    inputIds: ids(kase.input_ids), attentionMask: ids(kase.attention_mask), positionIds: ids(kase.position_ids),
  }).lastHiddenState, outputs, 'llama');
  llama.dispose();
  lmHead.dispose();

  await saveSafetensors(join(out, 'outputs.safetensors'), outputs);
  writeFileSync(join(out, 'manifest.json'), JSON.stringify({
    minilm: { inputs: 'packages/method-prefix/test/fixtures/minilm/inputs.json', adapters: MINILM },
    llama: { inputs: 'packages/method-prefix/test/fixtures/llama/case.json', adapters: LLAMA },
  }, null, 2));
  for (const t of outputs.values()) t.dispose();
  console.log(`saved ${outputs.size} adapters and outputs to ${out}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

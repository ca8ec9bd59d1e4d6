/**
 * Saves LoRA-family adapters from TypeScript (seeded random weights) together
 * with the TypeScript outputs, for tools/reference/check_lora_roundtrip.py to
 * load in Python (adapters 1.3.0) and compare.
 *
 *   cd packages/method-lora && npx tsx scripts/save-for-python.ts <out-dir>
 *
 * Writes <out-dir>/{minilm,llama}/<adapter>/ (adapter_config.json +
 * adapter.safetensors), <out-dir>/{minilm,llama}/expected.safetensors
 * (<case>.last_hidden_state) and <out-dir>/cases.json (what to activate and
 * which semantics produced each output).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BertModel, LlamaModel, Stack, initAdapters, loadSafetensors, noGrad, parseBertConfig, parseLlamaConfig,
  saveSafetensors, setBackend, tensor, tidy, type AdapterModelApi, type BaseModel, type ModelInputs, type Tensor,
} from '@adapterkit/core';
import { setLoRASemantics, type LoRASemantics } from '../src/index.js';
import { randomiseAdapter } from '../test/randomise.js';

const out = process.argv[2];
if (!out) {
  console.error('usage: npx tsx scripts/save-for-python.ts <out-dir>');
  process.exit(2);
}
setBackend('cpu-ref');

const here = new URL('../', import.meta.url);
const MINILM = new URL('../../models/all-MiniLM-L6-v2/', here);
const LLAMA = new URL('../core/test/fixtures/llama/tiny-untied/', here);
const readJson = <T>(u: URL): T => JSON.parse(readFileSync(u, 'utf8')) as T;
const ids = (rows: number[][]): Tensor => tensor(Int32Array.from(rows.flat()), [rows.length, rows[0]!.length], { dtype: 'i32' });

/** One saved case: adapters to load, the setup to activate, the semantics the TS output used. */
interface Case {
  adapters: { name: string; config: string }[];
  active: string[];
  semantics: LoRASemantics;
  notes?: string;
}

const MINILM_CASES: Record<string, Case> = {
  lora_full: { adapters: [{ name: 'ts_lora_full', config: "lora[r=4, alpha=12, attn_matrices=['q','k','v'], intermediate_lora=True, output_lora=True, leave_out=[5]]" }], active: ['ts_lora_full'], semantics: 'adapterkit' },
  ia3: { adapters: [{ name: 'ts_ia3', config: 'ia3[output_lora=True]' }], active: ['ts_ia3'], semantics: 'adapterkit' },
  gating: { adapters: [{ name: 'ts_gating', config: 'lora[r=2, alpha=2, use_gating=True]' }], active: ['ts_gating'], semantics: 'adapterkit', notes: 'alpha == r: gate semantics agree' },
  gating_python: { adapters: [{ name: 'ts_gating_py', config: 'lora[r=2, alpha=6, use_gating=True]' }], active: ['ts_gating_py'], semantics: 'python', notes: "alpha != r: TS output under 'python' semantics" },
  dora_python: { adapters: [{ name: 'ts_dora', config: 'dora[r=4]' }], active: ['ts_dora'], semantics: 'python', notes: "Python DoRA scales the bias: TS output under 'python' semantics" },
  stack_python: {
    adapters: [{ name: 'ts_stack_a', config: 'lora[r=2, alpha=4]' }, { name: 'ts_stack_b', config: 'lora[r=3, alpha=3]' }],
    active: ['ts_stack_a', 'ts_stack_b'], semantics: 'python', notes: "Stack: Python chains LoRAs, TS output under 'python' semantics",
  },
};

const LLAMA_CASES: Record<string, Case> = {
  lora: { adapters: [{ name: 'ts_lora', config: "lora[attn_matrices=['q','k','v']]" }], active: ['ts_lora'], semantics: 'adapterkit' },
  ia3: { adapters: [{ name: 'ts_ia3', config: 'ia3[output_lora=True]' }], active: ['ts_ia3'], semantics: 'adapterkit', notes: 'both MLP projections: Q9 swap does not matter' },
  dora: { adapters: [{ name: 'ts_dora', config: 'dora' }], active: ['ts_dora'], semantics: 'adapterkit', notes: 'alpha == r, no biases' },
};

async function miniLM(): Promise<BertModel & AdapterModelApi> {
  const model = new BertModel(parseBertConfig(readJson(new URL('config.json', MINILM))), { initWeights: false, addPoolingLayer: false });
  const w = await loadSafetensors(new URL('model.safetensors', MINILM));
  model.loadStateDict(new Map([...w].filter(([k]) => !k.startsWith('pooler.'))));
  for (const t of w.values()) t.dispose();
  return initAdapters(model.eval(), { modelName: 'sentence-transformers/all-MiniLM-L6-v2' });
}

async function llama(): Promise<LlamaModel & AdapterModelApi> {
  const model = new LlamaModel(parseLlamaConfig(readJson(new URL('config.json', LLAMA))));
  const w = await loadSafetensors(new URL('model.safetensors', LLAMA));
  model.loadStateDict(new Map([...w].filter(([k]) => k.startsWith('model.')).map(([k, t]) => [k.slice(6), t])));
  for (const t of w.values()) t.dispose();
  return initAdapters(model.eval());
}

async function run(kind: string, make: () => Promise<BaseModel & AdapterModelApi>, inputs: ModelInputs, cases: Record<string, Case>, seed: number): Promise<void> {
  const dir = join(out!, kind);
  mkdirSync(dir, { recursive: true });
  const expected = new Map<string, Tensor>();
  for (const [kase, c] of Object.entries(cases)) {
    const model = await make();
    for (const a of c.adapters) {
      model.addAdapter(a.name, a.config);
      randomiseAdapter(model, a.name, seed++);
      await model.saveAdapter(join(dir, a.name), a.name);
    }
    setLoRASemantics(model, c.semantics);
    model.setActiveAdapters(new Stack(...c.active));
    expected.set(`${kase}.last_hidden_state`, noGrad(() => tidy(() => model.forward(inputs).lastHiddenState)));
    model.dispose();
  }
  await saveSafetensors(join(dir, 'expected.safetensors'), expected);
}

const m = readJson<{ input_ids: number[][]; attention_mask: number[][]; token_type_ids: number[][] }>(new URL('test/fixtures/minilm/inputs.json', here));
const l = readJson<{ input_ids: number[][]; attention_mask: number[][]; position_ids: number[][] }>(new URL('test/fixtures/llama/inputs.json', here));
await run('minilm', miniLM, { inputIds: ids(m.input_ids), attentionMask: ids(m.attention_mask), tokenTypeIds: ids(m.token_type_ids) }, MINILM_CASES, 100);
await run('llama', llama, { inputIds: ids(l.input_ids), attentionMask: ids(l.attention_mask), positionIds: ids(l.position_ids) }, LLAMA_CASES, 200);
writeFileSync(join(out, 'cases.json'), JSON.stringify({ minilm: { inputs: m, cases: MINILM_CASES }, llama: { inputs: l, cases: LLAMA_CASES } }, null, 2));
console.log(`saved TypeScript adapters and outputs to ${out}`);

/**
 * Writes quantized models for tools/reference/check_quant_roundtrip.py: the
 * tiny Llama from core's fixtures quantized three ways (NF4 + double quant,
 * FP4 block 128, int8), each saved with saveQuantized, plus, per quantized
 * layer, the dense weight our kernels dequantize (`expected.safetensors`,
 * key = layer name) and a probe input with its output.
 *
 *   cd packages/quant && npx tsx scripts/save-for-python.mts <out-dir>
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { noGrad, randn, saveSafetensors, setBackend, type Tensor } from '@adapterkit/core';
import { QuantLinear, quantizeModel, saveQuantized, type QuantizeModelOptions } from '../src/index.js';
import { loadTinyLlama } from '../test/helpers.js';

setBackend('cpu-ref');
const out = process.argv[2];
if (!out) throw new Error('usage: save-for-python.mts <out-dir>');

const variants: [string, QuantizeModelOptions][] = [
  ['nf4-dq', { bits: 4, quantType: 'nf4', blockSize: 64, doubleQuant: true }],
  ['fp4-b128', { bits: 4, quantType: 'fp4', blockSize: 128, doubleQuant: false }],
  ['int8', { bits: 8 }],
];
for (const [name, fmt] of variants) {
  const model = await loadTinyLlama();
  await quantizeModel(model, fmt);
  const dir = join(out, name);
  mkdirSync(dir, { recursive: true });
  await saveQuantized(model, dir);
  const expected = new Map<string, Tensor>();
  const x = randn([3, 32], { seed: 5 });
  expected.set('probe.x', x);
  for (const [layer, m] of model.namedModules()) {
    if (!(m instanceof QuantLinear)) continue;
    expected.set(`${layer}.dense`, m.dequantizeWeight());
    if (m.inFeatures === 32) expected.set(`${layer}.y`, noGrad(() => m.forward(x)));
  }
  await saveSafetensors(join(dir, 'expected.safetensors'), expected);
  for (const t of expected.values()) t.dispose();
  model.dispose();
  console.log(`wrote ${dir}`);
}

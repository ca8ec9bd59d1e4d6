/**
 * The TypeScript half of the round trip TS → Python
 * (tools/reference/check_composition_roundtrip.py runs it): on the tiny
 * BERT of core's fixtures, adds three seq_bn adapters and two fusions with
 * seeded random weights, saves adapters, fusions and a setup with the TS
 * API, and records the TS outputs of every block.
 *
 *   npx tsx scripts/save-for-python.ts <out-dir>
 *
 * Writes <out-dir>/{a,b,c}/ (saveAdapter), <out-dir>/{a,b, bc_static}/
 * (saveAdapterFusion), <out-dir>/setup/ (saveAdapterSetup of
 * Stack(Fuse(a, b), c)), <out-dir>/expected.safetensors
 * (<case>.last_hidden_state), <out-dir>/cases.json (case → setup dict; for
 * Average the weights of adapterkit's definition) and inputs.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Average, BatchSplit, Fuse, Parallel, Split, Stack, noGrad, randn, saveSafetensors, setBackend, tensor,
  type CompositionBlock, type Tensor,
} from '@adapterkit/core';
import { ids, loadTinyBert } from '@adapterkit/test-utils';
import { fusionParameters, setupToDict } from '../src/index.js';
import { randomiseAdapter } from '../test/helpers.js';

const INPUT_IDS = [[2, 17, 45, 9, 3, 0], [2, 8, 71, 33, 12, 3]];
const MASK = [[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]];

async function main(): Promise<void> {
  const out = process.argv[2];
  if (!out) throw new Error('usage: npx tsx scripts/save-for-python.ts <out-dir>');
  mkdirSync(out, { recursive: true });
  setBackend('cpu-ref');
  const model = await loadTinyBert();
  model.addAdapter('a', 'seq_bn[reduction_factor=4]');
  model.addAdapter('b', 'seq_bn[reduction_factor=8]');
  model.addAdapter('c', 'seq_bn[reduction_factor=4, non_linearity=\'tanh\']');
  ['a', 'b', 'c'].forEach((n, i) => randomiseAdapter(model, n, 900 + i));
  model.addAdapterFusion(new Fuse('a', 'b'), 'dynamic');
  model.addAdapterFusion(new Fuse('b', 'c', { name: 'bc_static' }), 'static');
  let k = 0;
  noGrad(() => {
    for (const f of ['a,b', 'bc_static']) {
      for (const [key, p] of fusionParameters(model.adapterHost, f)) {
        const noise = randn(p.shape, { seed: 950 + k++, std: 0.3 });
        const n = p.shape[0]!;
        const v = key.includes('.value.') ? tensor(Float32Array.from(noise.dataSync() as Float32Array, (x, i) => x + (Math.floor(i / n) === i % n ? 1 : 0)), p.shape) : noise;
        p.assign(v);
        if (v !== noise) v.dispose();
        noise.dispose();
      }
    }
  });

  const feed = { inputIds: ids(INPUT_IDS), attentionMask: ids(MASK) };
  const cases: Record<string, CompositionBlock> = {
    fuse_dynamic: new Fuse('a', 'b'),
    fuse_static: new Fuse('b', 'c', { name: 'bc_static' }),
    stack_fuse: new Stack(new Fuse('a', 'b'), 'c'),
    parallel: new Parallel('a', 'c'),
    batchsplit: new BatchSplit(['c', 'a'], [1, 1]),
    split: new Split(['a', 'b'], [2, 4]),
    average: new Average(['a', 'b'], [0.3, 0.7]),
  };
  const expected = new Map<string, Tensor>();
  for (const [name, setup] of Object.entries(cases)) {
    expected.set(`${name}.last_hidden_state`, model.adapterHost.withSetup(setup, () => noGrad(() => model.forward(feed).lastHiddenState)));
  }
  await saveSafetensors(join(out, 'expected.safetensors'), expected);
  for (const n of ['a', 'b', 'c']) await model.saveAdapter(join(out, n), n);
  await model.saveAdapterFusion(join(out, 'a,b'), 'a,b');
  await model.saveAdapterFusion(join(out, 'bc_static'), 'bc_static');
  await model.saveAdapterSetup(join(out, 'setup'), cases.stack_fuse!);
  writeFileSync(join(out, 'cases.json'), JSON.stringify(Object.fromEntries(Object.entries(cases).map(([k2, v]) => [k2, setupToDict(v)])), null, 2));
  writeFileSync(join(out, 'inputs.json'), JSON.stringify({ input_ids: INPUT_IDS, attention_mask: MASK }));
  console.log(`wrote ${out}`);
  model.dispose();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

import { loadSafetensors, saveSafetensors, type AdamW, type AdamWHyper, type OptimizerStateDict, type Parameter, type Tensor } from '@adapterkit/core';
import { writeTextAtomic } from '../logging/jsonl-log.js';

/** File names inside a checkpoint. */
export const OPTIMIZER_TENSORS = 'optimizer.safetensors';
export const OPTIMIZER_JSON = 'optimizer.json';

const FORMAT = 'adapterkit.optimizer.v1';

/**
 * Saves AdamW's state: the moments (`state.<i>.exp_avg`, `state.<i>.exp_avg_sq`)
 * as safetensors, and step counts, group hyperparameters and the parameter
 * names (to check them on load) as JSON. Both files are written atomically.
 */
export async function saveOptimizerState(dir: string, optimizer: AdamW, paramNames: readonly string[]): Promise<void> {
  const { join } = await import('node:path');
  const sd = optimizer.stateDict();
  const tensors = new Map<string, Tensor>();
  const steps: Record<string, number> = {};
  for (const [idx, s] of Object.entries(sd.state)) {
    steps[idx] = s.step;
    for (const [k, t] of Object.entries(s.tensors)) tensors.set(`state.${idx}.${k}`, t);
  }
  await saveSafetensors(join(dir, OPTIMIZER_TENSORS), tensors, { format: FORMAT });
  const json = {
    format: FORMAT,
    type: 'AdamW',
    param_names: paramNames,
    steps,
    param_groups: sd.paramGroups.map((g) => ({ lr: g.lr, initial_lr: g.initialLr, betas: g.betas, eps: g.eps, weight_decay: g.weightDecay, params: g.params })),
  };
  await writeTextAtomic(join(dir, OPTIMIZER_JSON), `${JSON.stringify(json, null, 2)}\n`);
}

/**
 * Restores `saveOptimizerState`'s files into an AdamW built over the same
 * parameters in the same groups; parameter names must match in order.
 */
export async function loadOptimizerState(dir: string, optimizer: AdamW, paramNames: readonly string[], backend: Parameter['backend']): Promise<void> {
  const { join } = await import('node:path');
  const { readFile } = await import('node:fs/promises');
  const jsonPath = join(dir, OPTIMIZER_JSON);
  let j: { format?: string; param_names: string[]; steps: Record<string, number>; param_groups: { lr: number; initial_lr: number; betas: [number, number]; eps: number; weight_decay: number; params: number[] }[] };
  try {
    j = JSON.parse(await readFile(jsonPath, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read optimizer state ${jsonPath}: ${(e as Error).message}`);
  }
  if (j.format !== FORMAT) throw new Error(`${jsonPath}: unknown optimizer state format '${String(j.format)}' (expected ${FORMAT})`);
  const saved = j.param_names;
  if (saved.length !== paramNames.length || saved.some((n, i) => n !== paramNames[i])) {
    const missing = paramNames.filter((n) => !saved.includes(n));
    const extra = saved.filter((n) => !paramNames.includes(n));
    throw new Error(`${jsonPath}: the checkpoint's optimizer covers different trainable parameters than the model` +
      (missing.length ? `; not in the checkpoint: ${missing.slice(0, 5).join(', ')}` : '') + (extra.length ? `; only in the checkpoint: ${extra.slice(0, 5).join(', ')}` : '') +
      (!missing.length && !extra.length ? ' (same names, different order)' : ''));
  }
  const file = await loadSafetensors(join(dir, OPTIMIZER_TENSORS), { backend });
  try {
    const state: OptimizerStateDict<AdamWHyper>['state'] = {};
    for (const [idx, step] of Object.entries(j.steps)) state[Number(idx)] = { step, tensors: {} };
    for (const [key, t] of file) {
      const m = /^state\.(\d+)\.(.+)$/.exec(key);
      if (!m || !state[Number(m[1])]) throw new Error(`${join(dir, OPTIMIZER_TENSORS)}: unexpected tensor '${key}'`);
      state[Number(m[1])]!.tensors[m[2]!] = t;
    }
    optimizer.loadStateDict({
      state,
      paramGroups: j.param_groups.map((g) => ({ lr: g.lr, initialLr: g.initial_lr, betas: g.betas, eps: g.eps, weightDecay: g.weight_decay, params: g.params })),
    });
  } finally {
    // loadStateDict shares the storage; the file's tensor handles can go.
    for (const t of file.values()) t.dispose();
  }
}

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AutoAdapterModel, setBackend } from '@adapterkit/core';
import { createSchedule, trainerParamGroups } from '../src/index.js';
import { FIXTURES, TINY_BERT } from './helpers/tiny.js';

/** Written by tools/reference/make_trainer_fixtures.py (transformers 4.57.6, adapters 1.3.0). */
const ref = JSON.parse(readFileSync(join(FIXTURES, 'hf_trainer_reference.json'), 'utf8')) as {
  param_groups: { decay: string[]; no_decay: string[] };
  schedules: Record<'linear' | 'cosine' | 'constant' | 'constant_with_warmup', number[]>;
};

describe('parity with Python AdapterTrainer / HF Trainer', () => {
  it('the two AdamW groups hold the same parameters (BertAdapterModel + seq_bn + classification head)', async () => {
    setBackend('cpu-ref');
    await import('@adapterkit/method-bottleneck');
    const model = await AutoAdapterModel.fromPretrained(TINY_BERT, { onWarning: () => {} });
    model.addAdapter('sst2', 'seq_bn');
    model.addClassificationHead('sst2', { numLabels: 2 });
    model.trainAdapter('sst2');
    const groups = trainerParamGroups(model);
    expect(groups.decay.map(([n]) => n)).toEqual(ref.param_groups.decay);
    expect(groups.noDecay.map(([n]) => n)).toEqual(ref.param_groups.no_decay);
    model.dispose();
  });

  it('the schedules give HF get_scheduler learning rates', () => {
    for (const [name, lrs] of Object.entries(ref.schedules)) {
      const s = createSchedule(name as keyof typeof ref.schedules, 1, 2, 10);
      lrs.forEach((lr, k) => expect(s.lrAt(k), `${name} step ${k}`).toBeCloseTo(lr, 12));
    }
  });
});

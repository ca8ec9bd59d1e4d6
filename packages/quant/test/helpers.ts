import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutoAdapterModel, tensor, type PretrainedAdapterModel, type Tensor } from '@adapterkit/core';

/** The tiny random Llama (hidden 32, 2 layers, GQA 4/2 heads, intermediate 64, vocab 101) from core's fixtures. */
export const TINY_LLAMA = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'core', 'test', 'fixtures', 'llama', 'tiny-untied');

export function loadTinyLlama(): Promise<PretrainedAdapterModel> {
  return AutoAdapterModel.fromPretrained(TINY_LLAMA, { onWarning: () => {} });
}

/** A fixed batch of token ids [2, 6] for the tiny Llama (vocab 101). */
export function tinyBatch(): { inputIds: Tensor; labels: Tensor } {
  const ids = [[5, 17, 33, 2, 91, 44], [7, 7, 60, 12, 3, 88]];
  return { inputIds: tensor(ids, undefined, { dtype: 'i32' }), labels: tensor(ids, undefined, { dtype: 'i32' }) };
}

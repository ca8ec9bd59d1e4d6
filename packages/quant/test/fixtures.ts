import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSafetensors, type Tensor, type TypedArray } from '@adapterkit/core';

/** Fixtures written by tools/reference/make_quant_fixtures.py (bitsandbytes 0.50.2, CPU). */
export const BNB_DIR = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'bnb');

export interface BnbCase {
  name: string;
  matrix: string;
  shape: [number, number];
  format: 'nf4' | 'fp4' | 'int8';
  blocksize?: number;
  double_quant?: boolean;
  offset?: number | null;
  quant_state_json?: string;
}

export function bnbCases(): BnbCase[] {
  return (JSON.parse(readFileSync(join(BNB_DIR, 'cases.json'), 'utf8')) as { cases: BnbCase[] }).cases;
}

export function bnbCodes(): { nf4: number[]; fp4: number[]; fp4_sort_order: number[]; dynamic: number[] } {
  return JSON.parse(readFileSync(join(BNB_DIR, 'codes.json'), 'utf8'));
}

/** All arrays of a fixture file, read back on the host. */
export async function loadArrays(file: string): Promise<Map<string, { shape: readonly number[]; data: TypedArray }>> {
  const tensors: Map<string, Tensor> = await loadSafetensors(join(BNB_DIR, file), { backend: 'cpu-ref' });
  const out = new Map<string, { shape: readonly number[]; data: TypedArray }>();
  for (const [k, t] of tensors) {
    out.set(k, { shape: t.shape, data: t.dataSync() });
    t.dispose();
  }
  return out;
}

/** max |a − b| over two arrays of equal length. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: lengths ${a.length} and ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

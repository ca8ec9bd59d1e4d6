import { describe, expect, it } from 'vitest';
import { DYNAMIC_CODE, FP4_CODE, NF4_CODE } from '../src/formats/codes.js';
import { compressAbsmax, expandAbsmax } from '../src/formats/double-quant.js';
import { dequantize4bit, quantize4bit } from '../src/formats/fourbit.js';
import { dequantizeInt8Rows, quantizeInt8Rows } from '../src/formats/int8.js';
import { blockAbsmax, dequantizeMatrix, quantizeMatrix } from '../src/formats/host-quant.js';
import { bnbCases, bnbCodes, loadArrays, maxAbsDiff } from './fixtures.js';

describe('code tables', () => {
  it('NF4, FP4 and the dynamic map equal bitsandbytes’ float32 values exactly', () => {
    const c = bnbCodes();
    expect([...NF4_CODE]).toEqual(c.nf4);
    expect([...FP4_CODE]).toEqual(c.fp4);
    expect([...DYNAMIC_CODE]).toEqual(c.dynamic);
  });
});

describe('bitsandbytes parity (fixtures from make_quant_fixtures.py)', async () => {
  const arrays = await loadArrays('cases.safetensors');
  const get = (k: string) => {
    const a = arrays.get(k);
    if (!a) throw new Error(`fixture lacks ${k}`);
    return a.data;
  };
  for (const c of bnbCases()) {
    it(`${c.name}: codes bit-exact, dequantized ≤ 1e-6`, () => {
      const input = get(`input.${c.matrix}`);
      const [rows, cols] = c.shape;
      if (c.format === 'int8') {
        const q = quantizeInt8Rows(input, rows, cols);
        expect([...q.codes]).toEqual([...get(`${c.name}.codes`)]);
        expect([...q.scb]).toEqual([...get(`${c.name}.scb`)]);
        expect(maxAbsDiff(dequantizeInt8Rows(q.codes, q.scb, rows, cols), get(`${c.name}.dequant`))).toBe(0);
        return;
      }
      const bs = c.blocksize!;
      const q = quantize4bit(input, c.format, bs);
      expect([...q.packed]).toEqual([...get(`${c.name}.packed`)]);
      const code = c.format === 'nf4' ? NF4_CODE : FP4_CODE;
      let absmax = q.absmax;
      if (c.double_quant) {
        const nested = compressAbsmax(q.absmax);
        // torch sums in float32 (a vectorised cascade); we sum in float64: the mean may differ by an ulp.
        const ulp = 2 ** (Math.floor(Math.log2(Math.abs(c.offset!))) - 23);
        expect(Math.abs(nested.offset - c.offset!)).toBeLessThanOrEqual(ulp);
        expect([...nested.codes]).toEqual([...get(`${c.name}.absmax`)]);
        // The nested scales are max |absmax − offset|: they inherit the offset's last-ulp difference.
        expect(maxAbsDiff(nested.absmax, get(`${c.name}.nested_absmax`))).toBeLessThanOrEqual(1e-7);
        absmax = expandAbsmax(nested);
        expect(maxAbsDiff(absmax, get(`${c.name}.absmax_dequant`))).toBeLessThanOrEqual(1e-7);
      } else {
        expect([...q.absmax]).toEqual([...get(`${c.name}.absmax`)]);
      }
      const deq = dequantize4bit(q.packed, absmax, code, bs, rows * cols);
      expect(maxAbsDiff(deq, get(`${c.name}.dequant`))).toBeLessThanOrEqual(1e-6);
    });
  }
});

/**
 * Error bounds of quantize → dequantize, per element x in a block (row for
 * int8) with absmax A:
 * - 4-bit: x/A is rounded to the nearest code value (bucketize on the
 *   midpoints), so |x − c·A| ≤ (largest gap between neighbouring codes / 2)·A:
 *   NF4 0.15190·A (gap −1.0 → −0.6962), FP4 0.16667·A (gap 0.6667 → 1.0).
 * - double quantization dequantizes with A' instead of A: |c·A' − x| ≤
 *   halfGap·A + |c|·|A' − A| ≤ halfGap·A + |A' − A|, and |A' − A| is at most
 *   half a gap of the 8-bit dynamic map (near 1: 0.00703) times the nested scale.
 * - int8: x·127/A is rounded to an integer, so |x − q·A/127| ≤ A/254
 *   (plus float32 rounding).
 */
describe('quantize → dequantize error bounds', () => {
  const halfGap = (code: Float32Array) => {
    const s = [...code].sort((a, b) => a - b);
    let g = 0;
    for (let i = 1; i < s.length; i++) g = Math.max(g, s[i]! - s[i - 1]!);
    return g / 2;
  };
  // Weights with outliers and a zero block, 3 blocks of 64 per row plus a partial one.
  const rows = 24;
  const cols = 200;
  const values = new Float32Array(rows * cols);
  let s = 12345;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5;
  for (let i = 0; i < values.length; i++) values[i] = rnd() * 0.1 * (i % 97 === 0 ? 20 : 1);
  values.fill(0, 64, 128);

  it('NF4/FP4 (plain and double-quantized) stay within halfGap·A (+ |A′ − A|)', () => {
    expect(halfGap(NF4_CODE)).toBeCloseTo(0.1519, 4);
    expect(halfGap(FP4_CODE)).toBeCloseTo(0.16667, 5);
    for (const quantType of ['nf4', 'fp4'] as const) {
      for (const doubleQuant of [false, true]) {
        for (const bs of [64, 128]) {
          const q = quantizeMatrix(values, [rows, cols], { bits: 4, quantType, blockSize: bs, doubleQuant });
          if (q.bits !== 4) throw new Error('expected a 4-bit result');
          const deq = dequantizeMatrix(q);
          const exact = quantize4bit(values, quantType, bs).absmax;
          const used = blockAbsmax(q);
          const hg = halfGap(quantType === 'nf4' ? NF4_CODE : FP4_CODE);
          let worstRatio = 0;
          for (let i = 0; i < values.length; i++) {
            const b = Math.floor(i / bs);
            const bound = hg * exact[b]! + Math.abs(used[b]! - exact[b]!) + 1e-7;
            worstRatio = Math.max(worstRatio, Math.abs(deq[i]! - values[i]!) / bound);
          }
          expect(worstRatio, `${quantType} b${bs} dq=${doubleQuant}`).toBeLessThanOrEqual(1);
          if (doubleQuant) {
            for (let b = 0; b < exact.length; b++) {
              expect(Math.abs(used[b]! - exact[b]!)).toBeLessThanOrEqual(0.00704 * q.nested!.absmax[Math.floor(b / 256)]! + 1e-7);
            }
          }
        }
      }
    }
  });

  it('int8 stays within A/254 per row', () => {
    const q = quantizeMatrix(values, [rows, cols], { bits: 8 });
    const deq = dequantizeMatrix(q);
    for (let r = 0; r < rows; r++) {
      let a = 0;
      for (let c = 0; c < cols; c++) a = Math.max(a, Math.abs(values[r * cols + c]!));
      for (let c = 0; c < cols; c++) expect(Math.abs(deq[r * cols + c]! - values[r * cols + c]!)).toBeLessThanOrEqual(a / 254 + 1e-7);
    }
  });
});

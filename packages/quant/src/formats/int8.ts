/**
 * Row-wise int8 absmax quantization (LLM.int8's weight format without the
 * outlier decomposition, bitsandbytes `int8_vectorwise_quant(W, threshold=0)`):
 * SCB[r] = max |W[r, :]| (float32), q = round_half_even(W · fround(127 / SCB[r])),
 * and back (`int8_vectorwise_dequant`): fround(fround(q · SCB[r]) · fround(1/127)).
 * An all-zero row gets codes 0 (bitsandbytes would divide by zero).
 */
export interface Int8Rows {
  codes: Int8Array;
  /** One float32 absmax per row (bitsandbytes' `SCB`). */
  scb: Float32Array;
}

/** 1/127 as bitsandbytes writes it, in float32. */
export const INV_127 = Math.fround(7.874015718698502e-3);

/** Round half to even (torch.round). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round rounds .5 up; step back to the even neighbour on exact ties.
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function quantizeInt8Rows(values: ArrayLike<number>, rows: number, cols: number): Int8Rows {
  if (values.length !== rows * cols) throw new Error(`quantizeInt8Rows: ${values.length} values for a ${rows}×${cols} matrix`);
  const codes = new Int8Array(rows * cols);
  const scb = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let m = 0;
    for (let c = 0; c < cols; c++) m = Math.max(m, Math.abs(values[base + c]!));
    scb[r] = m;
    if (m === 0) continue;
    const scale = Math.fround(127 / Math.fround(m));
    for (let c = 0; c < cols; c++) codes[base + c] = roundHalfEven(Math.fround(values[base + c]! * scale));
  }
  return { codes, scb };
}

export function dequantizeInt8Rows(codes: Int8Array, scb: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const s = scb[r]!;
    for (let c = 0; c < cols; c++) out[r * cols + c] = Math.fround(codes[r * cols + c]! * s) * INV_127;
  }
  return out;
}

/**
 * The code tables of the bitsandbytes formats, as float32 values (the order
 * is the 4-bit code's: entry i is what code i means).
 */

/**
 * NF4 (NormalFloat4, QLoRA): 16 quantiles of N(0, 1) scaled to [-1, 1]
 * (bitsandbytes `get_4bit_type('nf4')`, = `create_normal_map(0.9677083)`).
 * Sorted, so code order is value order. Code 7 is exactly 0.
 */
export const NF4_CODE: Float32Array = Float32Array.from([
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
  -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
  0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
]);

/**
 * FP4 (1 sign, 2 exponent, 1 mantissa bit, bias 2, bitsandbytes'
 * `get_4bit_type('fp4')`): magnitudes 0, 0.0625, 8, 12, 4, 6, 2, 3 for the
 * three low bits, bit 3 the sign, all divided by 12 in float32. Not sorted.
 * Code 8 ("-0") is +0.0: bitsandbytes writes it as the Python int `-0`.
 */
export const FP4_CODE: Float32Array = Float32Array.from(
  [0, 0.0625, 8, 12, 4, 6, 2, 3, 0, -0.0625, -8, -12, -4, -6, -2, -3].map((v) => Math.fround(v / 12)),
);

/**
 * bitsandbytes' signed 8-bit dynamic map (`create_dynamic_map()`, 7 exponent
 * bits): used to quantize the per-block absmax values in double
 * quantization. The values are float32 as torch computes them (the map is
 * also stored with every double-quantized weight, so a file made elsewhere
 * carries its own).
 */
export const DYNAMIC_CODE: Float32Array = Float32Array.from([
  -0.99296874, -0.9789063, -0.96484375, -0.9507812, -0.93671876, -0.92265624, -0.9085938, -0.89453125,
  -0.8804687, -0.86640626, -0.85234374, -0.8382813, -0.82421875, -0.8101562, -0.79609376, -0.78203124,
  -0.7679688, -0.75390625, -0.7398437, -0.72578126, -0.7117188, -0.6976563, -0.68359375, -0.6695312,
  -0.65546876, -0.6414063, -0.6273438, -0.61328125, -0.5992187, -0.58515626, -0.5710938, -0.5570313,
  -0.54296875, -0.5289062, -0.5148437, -0.50078124, -0.4867187, -0.47265625, -0.45859373, -0.44453126,
  -0.43046874, -0.41640624, -0.40234375, -0.38828123, -0.37421876, -0.36015624, -0.34609374, -0.33203125,
  -0.31796873, -0.30390626, -0.28984374, -0.27578127, -0.26171875, -0.24765624, -0.23359375, -0.21953125,
  -0.20546874, -0.19140625, -0.17734376, -0.16328125, -0.14921875, -0.13515624, -0.12109375, -0.107031256,
  -0.09859375, -0.09578126, -0.092968754, -0.09015625, -0.08734375, -0.08453125, -0.08171876, -0.07890625,
  -0.07609375, -0.07328125, -0.070468746, -0.067656256, -0.06484375, -0.06203125, -0.059218753, -0.05640625,
  -0.05359375, -0.05078125, -0.04796875, -0.04515625, -0.042343747, -0.03953125, -0.036718752, -0.03390625,
  -0.03109375, -0.028281251, -0.02546875, -0.02265625, -0.019843752, -0.01703125, -0.01421875, -0.01140625,
  -0.00971875, -0.009156249, -0.00859375, -0.00803125, -0.00746875, -0.00690625, -0.00634375, -0.00578125,
  -0.0052187503, -0.0046562497, -0.00409375, -0.0035312497, -0.00296875, -0.00240625, -0.00184375, -0.0012812499,
  -0.0009437501, -0.00083125, -0.00071875006, -0.0006062501, -0.00049375003, -0.00038125002, -0.00026875004, -0.00015625001,
  -8.875e-05, -6.625e-05, -4.375e-05, -2.1249998e-05, -7.75e-06, -3.2500002e-06, -5.5000004e-07, 0,
  5.5000004e-07, 3.2500002e-06, 7.75e-06, 2.1249998e-05, 4.375e-05, 6.625e-05, 8.875e-05, 0.00015625001,
  0.00026875004, 0.00038125002, 0.00049375003, 0.0006062501, 0.00071875006, 0.00083125, 0.0009437501, 0.0012812499,
  0.00184375, 0.00240625, 0.00296875, 0.0035312497, 0.00409375, 0.0046562497, 0.0052187503, 0.00578125,
  0.00634375, 0.00690625, 0.00746875, 0.00803125, 0.00859375, 0.009156249, 0.00971875, 0.01140625,
  0.01421875, 0.01703125, 0.019843752, 0.02265625, 0.02546875, 0.028281251, 0.03109375, 0.03390625,
  0.036718752, 0.03953125, 0.042343747, 0.04515625, 0.04796875, 0.05078125, 0.05359375, 0.05640625,
  0.059218753, 0.06203125, 0.06484375, 0.067656256, 0.070468746, 0.07328125, 0.07609375, 0.07890625,
  0.08171876, 0.08453125, 0.08734375, 0.09015625, 0.092968754, 0.09578126, 0.09859375, 0.107031256,
  0.12109375, 0.13515624, 0.14921875, 0.16328125, 0.17734376, 0.19140625, 0.20546874, 0.21953125,
  0.23359375, 0.24765624, 0.26171875, 0.27578127, 0.28984374, 0.30390626, 0.31796873, 0.33203125,
  0.34609374, 0.36015624, 0.37421876, 0.38828123, 0.40234375, 0.41640624, 0.43046874, 0.44453126,
  0.45859373, 0.47265625, 0.4867187, 0.50078124, 0.5148437, 0.5289062, 0.54296875, 0.5570313,
  0.5710938, 0.58515626, 0.5992187, 0.61328125, 0.6273438, 0.6414063, 0.65546876, 0.6695312,
  0.68359375, 0.6976563, 0.7117188, 0.72578126, 0.7398437, 0.75390625, 0.7679688, 0.78203124,
  0.79609376, 0.8101562, 0.82421875, 0.8382813, 0.85234374, 0.86640626, 0.8804687, 0.89453125,
  0.9085938, 0.92265624, 0.93671876, 0.9507812, 0.96484375, 0.9789063, 0.99296874, 1,
]);

/** The 4-bit formats. */
export type QuantType4 = 'nf4' | 'fp4';

/** The code table of a 4-bit format. */
export function codeTable(quantType: QuantType4): Float32Array {
  if (quantType === 'nf4') return NF4_CODE;
  if (quantType === 'fp4') return FP4_CODE;
  throw new Error(`unknown 4-bit quant type '${String(quantType)}'; valid: nf4, fp4`);
}

/**
 * How a 4-bit quantizer picks codes, as bitsandbytes' reference
 * implementation does: the codes sorted by value (a stable sort, so for FP4
 * +0 (code 0) comes before -0 (code 8)), and the float32 midpoints between
 * neighbours. A scaled value x gets the sorted index `#{bounds < x}`
 * (torch.bucketize, right=False), mapped back through `order`.
 */
export interface CodeSearch {
  bounds: Float32Array;
  order: Uint8Array;
}

const searches = new Map<Float32Array, CodeSearch>();

/** Sorted order and midpoints of a code table (cached per table). */
export function codeSearch(code: Float32Array): CodeSearch {
  let s = searches.get(code);
  if (s) return s;
  const order = Uint8Array.from([...code.keys()].sort((a, b) => code[a]! - code[b]! || a - b));
  const bounds = new Float32Array(code.length - 1);
  // (lo + hi) / 2 in float32, as torch computes it: the sum rounds, the halving is exact.
  for (let i = 0; i < bounds.length; i++) bounds[i] = Math.fround(code[order[i]!]! + code[order[i + 1]!]!) / 2;
  s = { bounds, order };
  searches.set(code, s);
  return s;
}

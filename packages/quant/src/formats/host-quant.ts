import { codeTable, type QuantType4 } from './codes.js';
import { compressAbsmax, expandAbsmax, NESTED_BLOCK_SIZE, type NestedAbsmax } from './double-quant.js';
import { checkBlockSize, dequantize4bit, quantize4bit } from './fourbit.js';
import { dequantizeInt8Rows, quantizeInt8Rows } from './int8.js';

/** How to quantize a weight matrix. */
export interface QuantFormat {
  /** 4: NF4/FP4 blockwise; 8: int8 row-wise absmax. */
  bits: 4 | 8;
  /** 4-bit code (default 'nf4'); ignored for 8 bits. */
  quantType?: QuantType4;
  /** Values per absmax block for 4 bits (default 64; 32…4096, powers of two). */
  blockSize?: number;
  /** Quantize the 4-bit absmax values too (QLoRA double quantization; default true). */
  doubleQuant?: boolean;
}

/** A 4-bit matrix on the host, in bitsandbytes' layout. */
export interface HostQuant4 {
  bits: 4;
  quantType: QuantType4;
  blockSize: number;
  /** [out, in] of the dense matrix. */
  shape: [number, number];
  /** ceil(out·in / 2) bytes; element 2j in the high nibble of byte j. */
  packed: Uint8Array;
  /** The 16-entry code (bitsandbytes' `quant_map`). */
  code: Float32Array;
  /** Float32 absmax per block, when not double-quantized. */
  absmax: Float32Array | null;
  /** The double-quantized absmax, when double-quantized. */
  nested: NestedAbsmax | null;
}

/** An int8 matrix on the host (bitsandbytes `Int8Params`: weight + SCB). */
export interface HostQuant8 {
  bits: 8;
  shape: [number, number];
  codes: Int8Array;
  scb: Float32Array;
}

export type HostQuant = HostQuant4 | HostQuant8;

/** Defaults filled in and checked. */
export function resolveFormat(f: QuantFormat, where = 'quantize'): Required<QuantFormat> {
  if (f.bits !== 4 && f.bits !== 8) throw new Error(`${where}: bits must be 4 or 8, got ${String(f.bits)}`);
  const quantType = f.quantType ?? 'nf4';
  codeTable(quantType);
  const blockSize = f.blockSize ?? 64;
  if (f.bits === 4) checkBlockSize(blockSize, where);
  return { bits: f.bits, quantType, blockSize, doubleQuant: f.doubleQuant ?? true };
}

/** Quantizes a row-major [out, in] float matrix. */
export function quantizeMatrix(values: ArrayLike<number>, shape: [number, number], format: QuantFormat): HostQuant {
  const f = resolveFormat(format);
  const [rows, cols] = shape;
  if (values.length !== rows * cols) throw new Error(`quantizeMatrix: ${values.length} values for shape [${rows}, ${cols}]`);
  if (f.bits === 8) {
    const { codes, scb } = quantizeInt8Rows(values, rows, cols);
    return { bits: 8, shape: [rows, cols], codes, scb };
  }
  const { packed, absmax } = quantize4bit(values, f.quantType, f.blockSize);
  const code = Float32Array.from(codeTable(f.quantType));
  if (f.doubleQuant) return { bits: 4, quantType: f.quantType, blockSize: f.blockSize, shape: [rows, cols], packed, code, absmax: null, nested: compressAbsmax(absmax, NESTED_BLOCK_SIZE) };
  return { bits: 4, quantType: f.quantType, blockSize: f.blockSize, shape: [rows, cols], packed, code, absmax, nested: null };
}

/** The float32 absmax per block a 4-bit matrix uses (expanded from the nested state if double-quantized). */
export function blockAbsmax(q: HostQuant4): Float32Array {
  return q.nested ? expandAbsmax(q.nested) : q.absmax!;
}

/** The dense float32 matrix a quantized one stands for. */
export function dequantizeMatrix(q: HostQuant): Float32Array {
  const [rows, cols] = q.shape;
  if (q.bits === 8) return dequantizeInt8Rows(q.codes, q.scb, rows, cols);
  return dequantize4bit(q.packed, blockAbsmax(q), q.code, q.blockSize, rows * cols);
}

/** Bytes the quantized form takes (codes + scales + code tables). */
export function hostQuantBytes(q: HostQuant): number {
  if (q.bits === 8) return q.codes.byteLength + q.scb.byteLength;
  const scales = q.nested ? q.nested.codes.byteLength + q.nested.absmax.byteLength + q.nested.code.byteLength : q.absmax!.byteLength;
  return q.packed.byteLength + q.code.byteLength + scales;
}

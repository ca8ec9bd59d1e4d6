import type { QuantType4 } from '../formats/codes.js';

/**
 * bitsandbytes' state-dict layout of quantized Linear layers (what
 * `Linear4bit` / `Linear8bitLt` write, and what Hugging Face saves for
 * `load_in_4bit` / `load_in_8bit` models), relative to a layer prefix:
 *
 * 4-bit: `weight` (u8 [ceil(n/2), 1]), `weight.absmax`, `weight.quant_map`,
 * and with double quantization `weight.nested_absmax`,
 * `weight.nested_quant_map`; plus `weight.quant_state.bitsandbytes__<type>`:
 * a u8 tensor holding the UTF-8 JSON of the non-tensor fields
 * (`QUANT_STATE_FIELDS`).
 * 8-bit: `weight` (i8 [out, in]), `SCB` (f32 [out]), `weight_format` (u8 scalar 0 = 'row').
 *
 * QuantLinear's buffers carry the same names without the `weight.` prefix
 * (a module name cannot contain a dot).
 */
export const BNB_4BIT_TENSORS: Readonly<Record<string, string>> = {
  weight: 'weight',
  absmax: 'weight.absmax',
  quant_map: 'weight.quant_map',
  nested_absmax: 'weight.nested_absmax',
  nested_quant_map: 'weight.nested_quant_map',
};

export const BNB_8BIT_TENSORS: Readonly<Record<string, string>> = { weight: 'weight', SCB: 'SCB' };

/** The JSON bitsandbytes packs into `weight.quant_state.bitsandbytes__<type>` (QuantState.as_dict(packed=True)). */
export interface QuantStateFields {
  quant_type: QuantType4;
  blocksize: number;
  dtype: string;
  shape: number[];
  nested_blocksize?: number;
  nested_dtype?: string;
  nested_offset?: number;
}

export function quantStateKey(quantType: QuantType4): string {
  return `weight.quant_state.bitsandbytes__${quantType}`;
}

/** Serialises the fields as bitsandbytes does (Python json.dumps: ", " and ": " separators, key order as written). */
export function packQuantState(f: QuantStateFields): Uint8Array {
  const entries: [string, string][] = [
    ['quant_type', JSON.stringify(f.quant_type)],
    ['blocksize', String(f.blocksize)],
    ['dtype', JSON.stringify(f.dtype)],
    ['shape', `[${f.shape.join(', ')}]`],
  ];
  if (f.nested_blocksize !== undefined) {
    entries.push(['nested_blocksize', String(f.nested_blocksize)], ['nested_dtype', JSON.stringify(f.nested_dtype)], ['nested_offset', pyFloatRepr(f.nested_offset ?? 0)]);
  }
  return new TextEncoder().encode(`{${entries.map(([k, v]) => `"${k}": ${v}`).join(', ')}}`);
}

/**
 * Python's repr of a float: the shortest round-trip digits (as JS), fixed
 * notation for decimal exponents −4 < e ≤ 16, else d.ddde±XX; integral
 * values end in '.0'.
 */
export function pyFloatRepr(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
  if (v === 0) return Object.is(v, -0) ? '-0.0' : '0.0';
  const sign = v < 0 ? '-' : '';
  const [mant, expStr] = Math.abs(v).toExponential().split('e') as [string, string];
  const digits = mant.replace('.', '');
  const decpt = Number(expStr) + 1;
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
    if (decpt >= digits.length) return `${sign}${digits}${'0'.repeat(decpt - digits.length)}.0`;
    return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
  }
  const e = decpt - 1;
  return `${sign}${digits[0]}${digits.length > 1 ? `.${digits.slice(1)}` : ''}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}

export function unpackQuantState(bytes: Uint8Array, where: string): QuantStateFields {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new Error(`${where}: the packed quant_state is not JSON (${(e as Error).message})`);
  }
  const f = parsed as Partial<QuantStateFields>;
  if ((f.quant_type !== 'nf4' && f.quant_type !== 'fp4') || typeof f.blocksize !== 'number' || !Array.isArray(f.shape)) {
    throw new Error(`${where}: quant_state lacks quant_type (nf4|fp4), blocksize or shape: ${JSON.stringify(parsed)}`);
  }
  return f as QuantStateFields;
}

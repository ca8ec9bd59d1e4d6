import { Parameter, type Tensor } from '@adapterkit/core';
import { NESTED_BLOCK_SIZE } from '../formats/double-quant.js';
import { QuantLinear, type QuantSiteSpec } from '../nn/quant-linear.js';
import { QuantizedWeight } from '../quantized-weight.js';
import { BNB_4BIT_TENSORS, BNB_8BIT_TENSORS, unpackQuantState } from './bnb-names.js';

const prefixed = (prefix: string, key: string) => (prefix ? `${prefix}.${key}` : key);

/**
 * The QuantizedWeight of one layer from a bitsandbytes state dict (a
 * Linear4bit / Linear8bitLt `state_dict()`, or a Hugging Face
 * `load_in_4bit` checkpoint's tensors), without copying: the tensors become
 * the weight's own. 4-bit layers are recognised by their
 * `weight.quant_state.bitsandbytes__<type>` entry, 8-bit ones by `SCB`.
 */
export async function quantizedWeightFromBnb(dict: ReadonlyMap<string, Tensor>, prefix = ''): Promise<QuantizedWeight> {
  const where = `bitsandbytes state '${prefix || '<root>'}'`;
  const stateKey = [...dict.keys()].find((k) => k === prefixed(prefix, 'weight.quant_state.bitsandbytes__nf4') || k === prefixed(prefix, 'weight.quant_state.bitsandbytes__fp4'));
  if (stateKey) {
    const fields = unpackQuantState((await dict.get(stateKey)!.data()) as Uint8Array, where);
    const own = new Map<string, Tensor>();
    for (const [mine, bnb] of Object.entries(BNB_4BIT_TENSORS)) {
      const t = dict.get(prefixed(prefix, bnb));
      if (t) own.set(mine, t);
    }
    if (fields.shape.length !== 2) throw new Error(`${where}: expected a 2-D weight shape, got [${fields.shape.join(', ')}]`);
    return QuantizedWeight.fromTensors(own, {
      bits: 4, shape: [fields.shape[0]!, fields.shape[1]!], quantType: fields.quant_type, blockSize: fields.blocksize,
      nestedBlockSize: fields.nested_blocksize ?? NESTED_BLOCK_SIZE, offset: fields.nested_offset,
    }, where);
  }
  const scb = dict.get(prefixed(prefix, BNB_8BIT_TENSORS.SCB!));
  const w = dict.get(prefixed(prefix, 'weight'));
  if (scb && w) {
    if (w.rank !== 2) throw new Error(`${where}: int8 weight must be [out, in], got [${w.shape.join(', ')}]`);
    return QuantizedWeight.fromTensors(new Map([['weight', w], ['SCB', scb]]), { bits: 8, shape: [w.shape[0]!, w.shape[1]!] }, where);
  }
  throw new Error(`${where}: no weight.quant_state.bitsandbytes__* (4-bit) or SCB (8-bit) entry`);
}

/** A QuantLinear from a bitsandbytes layer state (see quantizedWeightFromBnb); `bias` is taken over from the dict (frozen) unless given. */
export async function quantLinearFromBnb(
  dict: ReadonlyMap<string, Tensor>,
  prefix = '',
  opts: { bias?: Parameter | null; site?: QuantSiteSpec | null } = {},
): Promise<QuantLinear> {
  const q = await quantizedWeightFromBnb(dict, prefix);
  let bias = opts.bias;
  if (bias === undefined) {
    // The Parameter takes over the dict's bias tensor (which is disposed).
    const b = dict.get(prefixed(prefix, 'bias'));
    bias = b ? new Parameter(b, false) : null;
  }
  return new QuantLinear(q, { bias, site: opts.site ?? null });
}

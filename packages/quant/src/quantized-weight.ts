import { bytesPerElement, keep, noGrad, tensor, type Backend, type Tensor } from '@adapterkit/core';
import type { QuantType4 } from './formats/codes.js';
import { NESTED_BLOCK_SIZE } from './formats/double-quant.js';
import type { HostQuant, HostQuant4 } from './formats/host-quant.js';

/**
 * A quantized [out, in] weight on a backend: the tensors the fused kernels
 * read, named as the buffers of `QuantLinear` (bitsandbytes' names, without
 * the `weight.` prefix a state dict key cannot carry as a module name):
 *
 * 4-bit: `weight` u8 [ceil(out·in/2), 1] (two codes per byte, first in the
 * high nibble), `absmax` f32 [blocks] — or u8 [blocks] when double-quantized,
 * with `nested_absmax` f32 [ceil(blocks/256)] and `nested_quant_map` f32
 * [256] — and `quant_map` f32 [16]. The nested offset is a number here and a
 * JSON field in saved files.
 *
 * 8-bit: `weight` i8 [out, in] and `SCB` f32 [out].
 */
export class QuantizedWeight {
  private constructor(
    readonly bits: 4 | 8,
    readonly shape: [number, number],
    readonly tensors: ReadonlyMap<string, Tensor>,
    /** 4-bit only. */
    readonly quantType: QuantType4 | null,
    readonly blockSize: number,
    readonly nestedBlockSize: number,
    /** Added to the dequantized nested absmax (float32); 0 when not double-quantized. */
    readonly offset: number,
  ) {}

  get doubleQuant(): boolean {
    return this.tensors.has('nested_absmax');
  }

  get backend(): Backend {
    return this.get('weight').backend;
  }

  /** Number of values of the dense matrix. */
  get numel(): number {
    return this.shape[0] * this.shape[1];
  }

  /** One of the tensors by buffer name; throws naming the ones there are. */
  get(name: string): Tensor {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`QuantizedWeight: no tensor '${name}' (has ${[...this.tensors.keys()].join(', ')})`);
    return t;
  }

  /** Copies a host quantization to a backend (tensors kept out of tidy scopes). */
  static upload(q: HostQuant, backend?: Backend | string): QuantizedWeight {
    return noGrad(() => {
      const put = (data: Uint8Array | Int8Array | Float32Array, shape: number[]): Tensor => keep(tensor(data, shape, { backend }));
      const m = new Map<string, Tensor>();
      if (q.bits === 8) {
        m.set('weight', put(q.codes, q.shape));
        m.set('SCB', put(q.scb, [q.shape[0]]));
        return new QuantizedWeight(8, [...q.shape], m, null, 0, 0, 0);
      }
      m.set('weight', put(q.packed, [q.packed.length, 1]));
      if (q.nested) {
        m.set('absmax', put(q.nested.codes, [q.nested.codes.length]));
        m.set('quant_map', put(q.code, [16]));
        m.set('nested_absmax', put(q.nested.absmax, [q.nested.absmax.length]));
        m.set('nested_quant_map', put(q.nested.code, [q.nested.code.length]));
      } else {
        m.set('absmax', put(q.absmax!, [q.absmax!.length]));
        m.set('quant_map', put(q.code, [16]));
      }
      return new QuantizedWeight(4, [...q.shape], m, q.quantType, q.blockSize, q.nested?.blockSize ?? NESTED_BLOCK_SIZE, q.nested?.offset ?? 0);
    });
  }

  /**
   * Wraps tensors that already hold a quantization (e.g. loaded from a
   * file); checks their dtypes and sizes against the shape.
   */
  static fromTensors(
    tensors: ReadonlyMap<string, Tensor>,
    meta: { bits: 4 | 8; shape: [number, number]; quantType?: QuantType4; blockSize?: number; nestedBlockSize?: number; offset?: number },
    where = 'QuantizedWeight.fromTensors',
  ): QuantizedWeight {
    const [out, inF] = meta.shape;
    const need = (name: string, dtype: string, size: number): void => {
      const t = tensors.get(name);
      if (!t) throw new Error(`${where}: missing '${name}'`);
      if (t.dtype !== dtype) throw new Error(`${where}: '${name}' is ${t.dtype}, expected ${dtype}`);
      if (t.size !== size) throw new Error(`${where}: '${name}' has ${t.size} elements, expected ${size} for a [${out}, ${inF}] weight`);
    };
    if (meta.bits === 8) {
      need('weight', 'i8', out * inF);
      need('SCB', 'f32', out);
      return new QuantizedWeight(8, [out, inF], new Map(tensors), null, 0, 0, 0);
    }
    const bs = meta.blockSize ?? 64;
    const blocks = Math.ceil((out * inF) / bs);
    need('weight', 'u8', Math.ceil((out * inF) / 2));
    need('quant_map', 'f32', 16);
    const nested = tensors.has('nested_absmax');
    const nbs = meta.nestedBlockSize ?? NESTED_BLOCK_SIZE;
    if (nested) {
      need('absmax', 'u8', blocks);
      need('nested_absmax', 'f32', Math.ceil(blocks / nbs));
      need('nested_quant_map', 'f32', 256);
    } else {
      need('absmax', 'f32', blocks);
    }
    return new QuantizedWeight(4, [out, inF], new Map(tensors), meta.quantType ?? 'nf4', bs, nbs, Math.fround(meta.offset ?? 0));
  }

  /** Reads the quantization back to the host. */
  async download(): Promise<HostQuant> {
    const read = async (name: string) => this.get(name).data();
    if (this.bits === 8) return { bits: 8, shape: [...this.shape], codes: (await read('weight')) as Int8Array, scb: (await read('SCB')) as Float32Array };
    const base = {
      bits: 4 as const,
      quantType: this.quantType!,
      blockSize: this.blockSize,
      shape: [...this.shape] as [number, number],
      packed: (await read('weight')) as Uint8Array,
      code: (await read('quant_map')) as Float32Array,
    };
    if (!this.doubleQuant) return { ...base, absmax: (await read('absmax')) as Float32Array, nested: null } satisfies HostQuant4;
    return {
      ...base,
      absmax: null,
      nested: {
        codes: (await read('absmax')) as Uint8Array,
        absmax: (await read('nested_absmax')) as Float32Array,
        code: (await read('nested_quant_map')) as Float32Array,
        blockSize: this.nestedBlockSize,
        offset: this.offset,
      },
    } satisfies HostQuant4;
  }

  /** Bytes of all tensors (codes, scales and code tables). */
  get bytes(): number {
    let b = 0;
    for (const t of this.tensors.values()) b += t.size * bytesPerElement(t.dtype);
    return b;
  }

  /** A short description, e.g. 'nf4 b64 dq' or 'int8'. */
  describe(): string {
    return this.bits === 8 ? 'int8' : `${this.quantType} b${this.blockSize}${this.doubleQuant ? ' dq' : ''}`;
  }

  dispose(): void {
    for (const t of this.tensors.values()) t.dispose();
  }
}


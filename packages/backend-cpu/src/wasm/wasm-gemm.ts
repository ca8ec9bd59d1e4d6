import type { PrimitiveAttrs } from '@adapterkit/core';
import { GEMM_WASM_BASE64 } from './gemm-module.js';

interface GemmExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  scratchBytes(n: number): number;
  gemm(a: number, ars: number, acs: number, b: number, brs: number, bcs: number, c: number, m: number, n: number, k: number, scratch: number): void;
}

function decodeBase64(b64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(b64);
  const out = new Uint8Array(new ArrayBuffer(bin.length));
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The module's bytes (for validation and compilation). */
export function gemmWasmBytes(): Uint8Array<ArrayBuffer> {
  return decodeBase64(GEMM_WASM_BASE64);
}

/**
 * The WebAssembly SIMD GEMM (wasm/gemm.ts) with its own linear memory.
 * Tensors live in JS typed arrays, so each product copies its operands in and
 * the result out: O(n²) copies for O(n³) arithmetic.
 */
export class WasmGemm {
  private readonly x: GemmExports;
  private readonly base: number;

  private constructor(instance: WebAssembly.Instance) {
    this.x = instance.exports as unknown as GemmExports;
    this.base = (this.x.heapBase() + 63) & ~63;
  }

  /** Compiles and instantiates the module; rejects where WebAssembly SIMD is missing. */
  static async load(): Promise<WasmGemm> {
    const bytes = gemmWasmBytes();
    if (typeof WebAssembly === 'undefined') throw new Error('WebAssembly is not available');
    if (!WebAssembly.validate(bytes)) throw new Error('this engine does not support WebAssembly SIMD (128-bit)');
    const module = await WebAssembly.compile(bytes);
    return new WasmGemm(await WebAssembly.instantiate(module, {}));
  }

  /** Grows the memory to at least `bytes` and returns an f32 view of it. */
  private heap(bytes: number): Float32Array {
    const mem = this.x.memory;
    if (mem.buffer.byteLength < bytes) mem.grow(Math.ceil((bytes - mem.buffer.byteLength) / 65536));
    return new Float32Array(mem.buffer);
  }

  /** The matmul primitive on f32 arrays (offsets in elements), with core's attributes. */
  matmul(a: Float32Array, aOff: number, b: Float32Array, bOff: number, c: Float32Array, cOff: number, attrs: PrimitiveAttrs['matmul']): void {
    const { batch, n, k, transA, transB, aBatchStride, bBatchStride } = attrs;
    let { m } = attrs;
    if (batch === 0 || m === 0 || n === 0) return;
    if (k === 0) {
      c.fill(0, cOff, cOff + batch * m * n);
      return;
    }
    let items = batch;
    // One B for a stack of row-major A's: a single tall product.
    if (batch > 1 && bBatchStride === 0 && !transA && aBatchStride === m * k) {
      m *= batch;
      items = 1;
    }
    const aLen = m * k, bLen = k * n, cLen = m * n;
    const aPtr = this.base, bPtr = aPtr + 4 * aLen, cPtr = bPtr + 4 * bLen;
    const sPtr = (cPtr + 4 * cLen + 63) & ~63;
    const heap = this.heap(sPtr + this.x.scratchBytes(n));
    const ars = transA ? 1 : k, acs = transA ? m : 1, brs = transB ? 1 : n, bcs = transB ? k : 1;
    for (let q = 0; q < items; q++) {
      if (q === 0 || aBatchStride !== 0) heap.set(a.subarray(aOff + q * aBatchStride, aOff + q * aBatchStride + aLen), aPtr / 4);
      if (q === 0 || bBatchStride !== 0) heap.set(b.subarray(bOff + q * bBatchStride, bOff + q * bBatchStride + bLen), bPtr / 4);
      this.x.gemm(aPtr, ars, acs, bPtr, brs, bcs, cPtr, m, n, k, sPtr);
      c.set(heap.subarray(cPtr / 4, cPtr / 4 + cLen), cOff + q * cLen);
    }
  }
}

/**
 * A kernel's parameter block, laid out as the CUDA ABI lays out the
 * parameters of an `extern "C" __global__` function: in declaration order,
 * each at its natural alignment (pointers and 64-bit values 8, 32-bit values
 * 4). The bytes are handed to cuLaunchKernel as one buffer
 * (CU_LAUNCH_PARAM_BUFFER_POINTER), so the calls here must follow the
 * kernel's signature exactly:
 *
 * ```ts
 * // extern "C" __global__ void scale(float* y, const float* x, long long n, float a)
 * new CudaParams().ptr(y).ptr(x).i64(n).f32(a)
 * ```
 *
 * A struct parameter is written field by field after `align()` to the
 * struct's alignment.
 */
export class CudaParams {
  private buf = new ArrayBuffer(256);
  private view = new DataView(this.buf);
  private size = 0;

  /** Pads to a multiple of `n` bytes. */
  align(n: number): this {
    this.size = Math.ceil(this.size / n) * n;
    return this;
  }

  /** A device pointer (64-bit). */
  ptr(p: number): this {
    return this.u64(p);
  }

  i32(v: number): this {
    this.reserve(4, 4).setInt32(this.size - 4, v, true);
    return this;
  }

  u32(v: number): this {
    this.reserve(4, 4).setUint32(this.size - 4, v >>> 0, true);
    return this;
  }

  f32(v: number): this {
    this.reserve(4, 4).setFloat32(this.size - 4, v, true);
    return this;
  }

  f64(v: number): this {
    this.reserve(8, 8).setFloat64(this.size - 8, v, true);
    return this;
  }

  /** A signed 64-bit integer; |v| must be an exact integer below 2^53. */
  i64(v: number): this {
    checkInt(v, 'i64');
    this.reserve(8, 8).setBigInt64(this.size - 8, BigInt(v), true);
    return this;
  }

  /** An unsigned 64-bit integer below 2^53. */
  u64(v: number): this {
    checkInt(v, 'u64');
    if (v < 0) throw new RangeError(`CudaParams.u64: ${v} is negative`);
    const dv = this.reserve(8, 8);
    dv.setUint32(this.size - 8, v % 4294967296, true);
    dv.setUint32(this.size - 4, Math.floor(v / 4294967296), true);
    return this;
  }

  /** Bytes written so far (the kernel's parameter block). */
  bytes(): Uint8Array {
    return new Uint8Array(this.buf, 0, this.size);
  }

  get byteLength(): number {
    return this.size;
  }

  private reserve(bytes: number, alignment: number): DataView {
    this.align(alignment);
    const end = this.size + bytes;
    if (end > this.buf.byteLength) {
      const next = new ArrayBuffer(Math.max(end, this.buf.byteLength * 2));
      new Uint8Array(next).set(new Uint8Array(this.buf, 0, this.size));
      this.buf = next;
      this.view = new DataView(next);
    }
    this.size = end;
    return this.view;
  }
}

function checkInt(v: number, what: string): void {
  if (!Number.isSafeInteger(v)) throw new RangeError(`CudaParams.${what}: ${v} is not an integer below 2^53`);
}

/**
 * Size-bucketed pool of GPU buffers. Sizes are rounded up to one of four
 * classes per power of two (waste ≤ 25%), and freed buffers wait in their
 * bucket for the next allocation of that class. Reuse is safe without fences:
 * every later use of a recycled buffer is encoded or queued after the uses
 * that came before it, and the GPU queue runs them in order.
 */
export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private pooled = 0;
  private created = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly usage: number,
    /** Pooled bytes above which freed buffers are destroyed instead of kept. */
    private readonly maxPooledBytes: number,
    private readonly label: string,
  ) {}

  /** The bucket size a request of `bytes` is served from (a multiple of 16, at least 16). */
  static bucket(bytes: number): number {
    if (bytes <= 256) return Math.max(16, Math.ceil(bytes / 16) * 16);
    const p = 2 ** Math.floor(Math.log2(bytes));
    const step = p / 4;
    return Math.ceil(bytes / step) * step;
  }

  /** A buffer of at least `bytes`; its bucket is capped at `maxSize` (then sized to the request, rounded to 16). */
  acquire(bytes: number, maxSize = Infinity): GPUBuffer {
    let size = BufferPool.bucket(bytes);
    if (size > maxSize && bytes <= maxSize) size = Math.ceil(bytes / 16) * 16;
    const list = this.free.get(size);
    const buf = list?.pop();
    if (buf) {
      this.pooled -= size;
      return buf;
    }
    this.created++;
    return this.device.createBuffer({ size, usage: this.usage, label: `${this.label}#${this.created}` });
  }

  /**
   * Returns a buffer to its bucket, or reports that it should be destroyed
   * (returns false) when the pool is full. The caller destroys it once no
   * unsubmitted command refers to it.
   */
  release(buf: GPUBuffer): boolean {
    if (this.pooled + buf.size > this.maxPooledBytes) return false;
    let list = this.free.get(buf.size);
    if (!list) this.free.set(buf.size, (list = []));
    list.push(buf);
    this.pooled += buf.size;
    return true;
  }

  /** Bytes held by free buffers. */
  get pooledBytes(): number {
    return this.pooled;
  }

  /** Removes and returns every pooled buffer (for destruction). */
  drain(): GPUBuffer[] {
    const all = [...this.free.values()].flat();
    this.free.clear();
    this.pooled = 0;
    return all;
  }
}

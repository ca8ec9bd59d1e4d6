import {
  bytesPerElement,
  checkWrite,
  liveStorage,
  markFreed,
  ownStorage,
  registerBackendInstance,
  type Backend,
  type DType,
  type MemoryInfo,
  type Storage,
  type TypedArray,
  type View,
} from '@adapterkit/core';
import { requestDevice, type GpuOptions } from './device.js';
import { copyBetween } from './kernels/elementwise.js';
import { registerWebGpuKernels } from './kernels/index.js';
import { BufferPool } from './pool.js';
import { PARAM_WORDS, type Access, type Params } from './shader.js';
import { STATUS_MESSAGES, STATUS_WORDS } from './status.js';

/** Name the backend registers under. */
export const WEBGPU_BACKEND_NAME = 'webgpu';

/** GPUBufferUsage / GPUMapMode values (spelled out so no WebGPU globals are needed). */
const USAGE = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 } as const;
const MAP_READ = 0x1;
const COMPUTE_STAGE = 0x4;

const PARAM_BYTES = PARAM_WORDS * 4;
/** Host data queued for upload while commands are pending (copied in order inside the batch). */
const UPLOAD_ARENA_BYTES = 1 << 20;
const SUPPORTED: ReadonlySet<DType> = new Set<DType>(['f32', 'i32', 'u8', 'i8', 'f16', 'bf16']);

/** A WebGPU storage: the handle is a GPUBuffer of at least ceil4(size·bytes) bytes. */
export class WebGpuStorage implements Storage {
  refs = 0;
  freed = false;
  constructor(
    readonly backend: WebGpuBackend,
    readonly dtype: DType,
    readonly size: number,
    readonly handle: GPUBuffer,
  ) {}
}

export interface WebGpuBackendOptions {
  /** Compute dispatches recorded before the command encoder is submitted (default 64). */
  maxDispatchesPerSubmit?: number;
  /** Bytes of freed buffers kept for reuse; beyond it they are destroyed (default 1 GiB). */
  maxPooledBytes?: number;
  /** Wrap pipeline creation and submits in error scopes so validation errors name the kernel (slower). */
  debug?: boolean;
}

/** One compute dispatch: a WGSL program (cached by key), its buffers, params and grid. */
export interface DispatchSpec {
  /** Pipeline cache key; must identify the WGSL source uniquely, e.g. 'unary:exp:f32:r2'. */
  key: string;
  /** WGSL source; called once per key. Bindings are group 0: storage 0..n-1, then the params uniform at n. */
  code: () => string;
  bindings: readonly { buffer: GPUBuffer; access: Access }[];
  params?: Params;
  workgroups: readonly [number, number?, number?];
}

/**
 * The WebGPU backend. Storage is one GPUBuffer per tensor storage (from a
 * size-bucketed pool). Kernels record compute passes into one open command
 * encoder, submitted after `maxDispatchesPerSubmit` dispatches or when data is
 * read, so eager code still batches GPU work. Host writes that happen while
 * work is pending are staged and copied inside the batch, keeping eager order.
 *
 * Dtypes: f32 and i32 natively; u8/i8 packed 4 per word and f16/bf16 packed 2
 * per word (the host typed-array bytes as they are), supported by the data
 * movement kernels (copy, cast, where, fill, random) like the reference
 * backend. f64 is not supported.
 */
export class WebGpuBackend implements Backend {
  readonly name = WEBGPU_BACKEND_NAME;
  /** Whether the adapter offers 'shader-f16' (not required: f16 is stored packed and computed in f32). */
  readonly hasShaderF16: boolean;
  readonly limits: GPUSupportedLimits;

  private readonly pool: BufferPool;
  private readonly staging: BufferPool;
  private readonly maxDispatches: number;
  private readonly debug: boolean;

  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private dispatches = 0;

  private readonly paramsBuffer: GPUBuffer;
  private readonly paramsHost: Uint32Array<ArrayBuffer>;
  private readonly uploadBuffer: GPUBuffer;
  private readonly uploadHost = new Uint8Array(UPLOAD_ARENA_BYTES);
  private uploadUsed = 0;
  /** Kernels that validate indices OR flags into word 0 and store an offending value in word 1 (see status.ts). */
  readonly statusBuffer: GPUBuffer;

  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly layouts = new Map<string, GPUPipelineLayout>();
  private pendingDestroy: GPUBuffer[] = [];
  private errors: string[] = [];
  private lostReason: string | null = null;
  private destroyed = false;
  private ownsDevice = false;
  private liveBytes = 0;
  private liveBuffers = 0;

  constructor(
    readonly device: GPUDevice,
    readonly adapter: GPUAdapter | null = null,
    opts: WebGpuBackendOptions = {},
  ) {
    this.limits = device.limits;
    this.hasShaderF16 = device.features.has('shader-f16') || (adapter?.features.has('shader-f16') ?? false);
    this.maxDispatches = opts.maxDispatchesPerSubmit ?? 64;
    this.debug = opts.debug ?? false;
    const maxPooled = opts.maxPooledBytes ?? 1 << 30;
    this.pool = new BufferPool(device, USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST, maxPooled, 'adapterkit-storage');
    this.staging = new BufferPool(device, USAGE.MAP_READ | USAGE.COPY_DST, 64 << 20, 'adapterkit-readback');
    this.paramsBuffer = device.createBuffer({ size: this.maxDispatches * PARAM_BYTES, usage: USAGE.UNIFORM | USAGE.COPY_DST, label: 'adapterkit-params' });
    this.paramsHost = new Uint32Array(this.maxDispatches * PARAM_WORDS);
    this.uploadBuffer = device.createBuffer({ size: UPLOAD_ARENA_BYTES, usage: USAGE.COPY_SRC | USAGE.COPY_DST, label: 'adapterkit-upload' });
    this.statusBuffer = device.createBuffer({ size: STATUS_WORDS * 4, usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST, label: 'adapterkit-status' });
    device.addEventListener('uncapturederror', (ev) => {
      this.errors.push((ev as GPUUncapturedErrorEvent).error.message);
    });
    void device.lost.then((info) => {
      this.lostReason = `${info.reason}: ${info.message}`;
    });
  }

  supportsDType(dtype: DType): boolean {
    return SUPPORTED.has(dtype);
  }

  alloc(dtype: DType, size: number): Storage {
    this.checkAlive();
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`${this.name}: cannot allocate ${size} elements of ${dtype}`);
    if (!this.supportsDType(dtype)) throw new Error(`${this.name}: dtype ${dtype} is not supported (supported: ${[...SUPPORTED].join(', ')})`);
    const bytes = size * bytesPerElement(dtype);
    const maxBytes = this.limits.maxBufferSize;
    if (bytes > maxBytes) throw new RangeError(`${this.name}: ${bytes} bytes exceed the device's maxBufferSize of ${maxBytes}`);
    // Rounding up to a pool bucket must not push a bindable buffer past the binding limit.
    const buffer = this.pool.acquire(Math.max(4, ceil4(bytes)), this.limits.maxStorageBufferBindingSize);
    this.liveBytes += bytes;
    this.liveBuffers++;
    return new WebGpuStorage(this, dtype, size, buffer);
  }

  free(storage: Storage): void {
    const s = ownStorage(this, WebGpuStorage, storage, 'free');
    markFreed(this, s);
    this.liveBytes -= s.size * bytesPerElement(s.dtype);
    this.liveBuffers--;
    if (!this.destroyed) this.recycle(s.handle);
  }

  write(storage: Storage, data: TypedArray, offset = 0): void {
    const s = liveStorage(this, WebGpuStorage, storage, 'write');
    checkWrite(this, s, data, offset);
    if (data.length === 0) return;
    const bpe = bytesPerElement(s.dtype);
    const byteOffset = offset * bpe;
    const byteLength = data.length * bpe;
    const aligned = byteOffset % 4 === 0 && (byteLength % 4 === 0 || offset + data.length === s.size);
    if (!aligned) {
      this.writeUnaligned(s, data, offset);
      return;
    }
    let bytes = new Uint8Array(data.buffer, data.byteOffset, byteLength);
    if (byteLength % 4 !== 0) {
      // The write runs to the end of the storage; the buffer's padding bytes take the zeros.
      const padded = new Uint8Array(ceil4(byteLength));
      padded.set(bytes);
      bytes = padded;
    }
    this.upload(s.handle, byteOffset, bytes);
  }

  async read(storage: Storage): Promise<TypedArray> {
    const s = liveStorage(this, WebGpuStorage, storage, 'read');
    const bytes = s.size * bytesPerElement(s.dtype);
    const raw = await this.readBack(s.handle, ceil4(bytes));
    return typedArrayOf(s.dtype, raw.slice(0, bytes), s.size);
  }

  memory(): MemoryInfo {
    return { liveBytes: this.liveBytes, liveBuffers: this.liveBuffers, pooledBytes: this.pool.pooledBytes };
  }

  /** Submits pending work and waits for it; rejects if a kernel flagged an error or validation failed. */
  async sync(): Promise<void> {
    await this.readBack(null, 0);
  }

  /** Destroys pooled (free) buffers, e.g. after a large one-off computation. */
  releasePooled(): void {
    for (const b of this.pool.drain()) this.destroyLater(b);
    for (const b of this.staging.drain()) b.destroy();
    if (!this.encoder) this.destroyPending();
  }

  /**
   * Releases the backend's GPU memory (pooled and internal buffers) and, if
   * the backend created its device, destroys the device. Live storages become
   * invalid; any later use throws.
   */
  destroy(): void {
    if (this.destroyed) return;
    this.flush();
    this.destroyed = true;
    for (const b of [...this.pool.drain(), ...this.staging.drain(), this.paramsBuffer, this.uploadBuffer, this.statusBuffer]) b.destroy();
    if (this.ownsDevice) this.device.destroy();
    this.lostReason ??= 'destroyed: WebGpuBackend.destroy() was called';
  }

  /** @internal Marks the device as created by this backend (destroy() then destroys it). */
  adoptDevice(): this {
    this.ownsDevice = true;
    return this;
  }

  // ---------------------------------------------------------------- kernels API

  /** The GPUBuffer behind a view or storage of this backend (checks ownership and liveness). */
  bufferOf(v: View | Storage): GPUBuffer {
    const storage = 'storage' in v ? v.storage : v;
    return liveStorage(this, WebGpuStorage, storage, 'kernel').handle;
  }

  /** Records one compute dispatch into the open batch. */
  dispatch(spec: DispatchSpec): void {
    this.checkAlive();
    const [x, y = 1, z = 1] = spec.workgroups;
    if (x === 0 || y === 0 || z === 0) return;
    const maxDim = this.limits.maxComputeWorkgroupsPerDimension;
    if (x > maxDim || y > maxDim || z > maxDim) {
      throw new RangeError(`${this.name}: dispatch ${spec.key} of [${x}, ${y}, ${z}] workgroups exceeds ${maxDim} per dimension`);
    }
    const maxBinding = this.limits.maxStorageBufferBindingSize;
    for (const b of spec.bindings) {
      if (b.buffer.size > maxBinding) {
        throw new RangeError(`${this.name}: ${spec.key}: a ${b.buffer.size}-byte buffer exceeds the device's maxStorageBufferBindingSize of ${maxBinding}`);
      }
    }
    if (this.dispatches >= this.maxDispatches) this.flush();
    const pipeline = this.pipeline(spec);
    const slot = this.dispatches++;
    if (spec.params) this.paramsHost.set(spec.params.words, slot * PARAM_WORDS);
    else this.paramsHost.fill(0, slot * PARAM_WORDS, (slot + 1) * PARAM_WORDS);
    const entries: GPUBindGroupEntry[] = spec.bindings.map((b, i) => ({ binding: i, resource: { buffer: b.buffer } }));
    entries.push({ binding: spec.bindings.length, resource: { buffer: this.paramsBuffer, offset: slot * PARAM_BYTES, size: PARAM_BYTES } });
    const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries, label: spec.key });
    const pass = this.computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
  }

  /** Records a buffer-to-buffer copy (offsets and size multiples of 4). */
  copyBuffer(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    if (bytes === 0) return;
    this.endPass();
    this.commandEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  /** Records zeroing of a byte range (offset and size multiples of 4). */
  clearBuffer(buffer: GPUBuffer, offset: number, bytes: number): void {
    if (bytes === 0) return;
    this.endPass();
    this.commandEncoder().clearBuffer(buffer, offset, bytes);
  }

  /** A scratch buffer from the pool (not counted as a live storage); give it back with releaseScratch. */
  scratch(bytes: number): GPUBuffer {
    return this.pool.acquire(Math.max(4, ceil4(bytes)));
  }

  releaseScratch(buffer: GPUBuffer): void {
    this.recycle(buffer);
  }

  /** Submits the open batch (if any). */
  flush(): void {
    if (!this.encoder) return;
    this.endPass();
    const queue = this.device.queue;
    if (this.dispatches) queue.writeBuffer(this.paramsBuffer, 0, this.paramsHost, 0, this.dispatches * PARAM_WORDS);
    if (this.uploadUsed) queue.writeBuffer(this.uploadBuffer, 0, this.uploadHost, 0, this.uploadUsed);
    if (this.debug) this.device.pushErrorScope('validation');
    queue.submit([this.encoder.finish()]);
    if (this.debug) this.trapScope('submit');
    this.encoder = null;
    this.dispatches = 0;
    this.uploadUsed = 0;
    this.destroyPending();
  }

  // ---------------------------------------------------------------- internals

  private commandEncoder(): GPUCommandEncoder {
    if (!this.encoder) {
      this.encoder = this.device.createCommandEncoder({ label: 'adapterkit-batch' });
      // Submit once the current synchronous burst of kernels ends, so the GPU
      // starts without waiting for a read; a long burst still submits every
      // maxDispatchesPerSubmit dispatches.
      queueMicrotask(() => {
        if (!this.destroyed) this.flush();
      });
    }
    return this.encoder;
  }

  private computePass(): GPUComputePassEncoder {
    if (!this.pass) this.pass = this.commandEncoder().beginComputePass();
    return this.pass;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  private pipeline(spec: DispatchSpec): GPUComputePipeline {
    let p = this.pipelines.get(spec.key);
    if (p) return p;
    const access = spec.bindings.map((b) => (b.access === 'read' ? 'r' : 'w')).join('');
    let layout = this.layouts.get(access);
    if (!layout) {
      const entries: GPUBindGroupLayoutEntry[] = spec.bindings.map((b, i) => ({
        binding: i,
        visibility: COMPUTE_STAGE,
        buffer: { type: b.access === 'read' ? 'read-only-storage' : 'storage' },
      }));
      entries.push({ binding: spec.bindings.length, visibility: COMPUTE_STAGE, buffer: { type: 'uniform', minBindingSize: PARAM_BYTES } });
      const bgl = this.device.createBindGroupLayout({ entries, label: `adapterkit-layout-${access}` });
      layout = this.device.createPipelineLayout({ bindGroupLayouts: [bgl] });
      this.layouts.set(access, layout);
    }
    if (this.debug) this.device.pushErrorScope('validation');
    const code = spec.code();
    const module = this.device.createShaderModule({ code, label: spec.key });
    p = this.device.createComputePipeline({ layout, compute: { module, entryPoint: 'main' }, label: spec.key });
    if (this.debug) {
      this.trapScope(`pipeline ${spec.key}`);
      void module.getCompilationInfo().then((info) => {
        for (const m of info.messages) {
          if (m.type === 'error') this.errors.push(`WGSL error in ${spec.key} at ${m.lineNum}:${m.linePos}: ${m.message}`);
        }
      });
    }
    this.pipelines.set(spec.key, p);
    return p;
  }

  private trapScope(what: string): void {
    void this.device.popErrorScope().then((e) => {
      if (e) this.errors.push(`${what}: ${e.message}`);
    });
  }

  /** Queues host bytes into buffer at byteOffset, in order with the recorded work. */
  private upload(buffer: GPUBuffer, byteOffset: number, bytes: Uint8Array): void {
    if (this.encoder && this.uploadUsed + bytes.length > UPLOAD_ARENA_BYTES) this.flush();
    if (!this.encoder) {
      // Nothing recorded: the queue write lands after all submitted work, as eager order requires.
      this.device.queue.writeBuffer(buffer, byteOffset, bytes as Uint8Array<ArrayBuffer>);
      return;
    }
    const at = this.uploadUsed;
    this.uploadHost.set(bytes, at);
    this.uploadUsed = at + bytes.length;
    this.copyBuffer(this.uploadBuffer, at, buffer, byteOffset, bytes.length);
  }

  /** Writes a sub-word range that does not start/end on a word: upload aside, then a strided copy kernel. */
  private writeUnaligned(s: WebGpuStorage, data: TypedArray, offset: number): void {
    const tmp = this.alloc(s.dtype, data.length) as WebGpuStorage;
    try {
      this.write(tmp, data, 0);
      const n = data.length;
      copyBetween(
        this,
        { storage: tmp, dtype: s.dtype, shape: [n], strides: [1], offset: 0 },
        { storage: s, dtype: s.dtype, shape: [n], strides: [1], offset },
      );
    } finally {
      this.free(tmp);
    }
  }

  /** Copies `bytes` of `src` (and the status words) to the host after all recorded work. */
  private async readBack(src: GPUBuffer | null, bytes: number): Promise<ArrayBuffer> {
    this.checkAlive();
    const total = bytes + STATUS_WORDS * 4;
    const staging = this.staging.acquire(total);
    this.copyBuffer(src ?? this.statusBuffer, 0, staging, 0, bytes);
    this.copyBuffer(this.statusBuffer, 0, staging, bytes, STATUS_WORDS * 4);
    this.clearBuffer(this.statusBuffer, 0, STATUS_WORDS * 4);
    this.flush();
    let out: ArrayBuffer;
    let status: Uint32Array;
    try {
      await staging.mapAsync(MAP_READ, 0, total);
      const mapped = staging.getMappedRange(0, total);
      out = mapped.slice(0, bytes);
      status = new Uint32Array(mapped.slice(bytes, total));
      staging.unmap();
    } catch (e) {
      staging.destroy();
      this.checkAlive();
      throw new Error(`${this.name}: reading back from the GPU failed: ${(e as Error).message}${this.drainErrors()}`);
    }
    if (!this.staging.release(staging)) staging.destroy();
    const errs = this.drainErrors();
    if (errs) throw new Error(`${this.name}: GPU validation failed:${errs}`);
    if (status[0]) {
      const msgs = Object.entries(STATUS_MESSAGES)
        .filter(([bit]) => status[0]! & Number(bit))
        .map(([, m]) => m);
      throw new RangeError(`${this.name}: ${msgs.join('; ')} (offending value: ${status[1]! | 0})`);
    }
    return out;
  }

  private drainErrors(): string {
    if (!this.errors.length) return '';
    const s = this.errors.map((e) => `\n  ${e}`).join('');
    this.errors = [];
    return s;
  }

  private recycle(buffer: GPUBuffer): void {
    if (!this.pool.release(buffer)) this.destroyLater(buffer);
  }

  private destroyLater(buffer: GPUBuffer): void {
    if (this.encoder) this.pendingDestroy.push(buffer);
    else buffer.destroy();
  }

  private destroyPending(): void {
    for (const b of this.pendingDestroy) b.destroy();
    this.pendingDestroy = [];
  }

  private checkAlive(): void {
    if (this.destroyed) throw new Error(`${this.name}: the backend was destroyed`);
    if (this.lostReason) throw new Error(`${this.name}: the GPU device was lost (${this.lostReason})`);
  }
}

function ceil4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

function typedArrayOf(dtype: DType, buf: ArrayBuffer, size: number): TypedArray {
  switch (dtype) {
    case 'f32': return new Float32Array(buf, 0, size);
    case 'i32': return new Int32Array(buf, 0, size);
    case 'f16': case 'bf16': return new Uint16Array(buf, 0, size);
    case 'u8': return new Uint8Array(buf, 0, size);
    case 'i8': return new Int8Array(buf, 0, size);
    default: throw new Error(`webgpu: dtype ${dtype} is not supported`);
  }
}

export interface CreateWebGpuBackendOptions extends WebGpuBackendOptions, GpuOptions {
  /** Use this device (its adapter is optional, for feature queries). */
  device?: GPUDevice;
  /** Request the device from this adapter. */
  adapter?: GPUAdapter;
  powerPreference?: GPUPowerPreference;
}

/** Creates the backend: on `device` if given, else a new device from `adapter` or the default adapter. */
export async function createWebGpuBackend(opts: CreateWebGpuBackendOptions = {}): Promise<WebGpuBackend> {
  if (opts.device) return new WebGpuBackend(opts.device, opts.adapter ?? null, opts);
  const { adapter, device } = await requestDevice(opts);
  return new WebGpuBackend(device, adapter, opts).adoptDevice();
}

/**
 * Creates the backend, makes it available to `setBackend('webgpu')` and
 * `backendByName('webgpu')`, and registers every primitive kernel for it.
 */
export async function registerWebGpuBackend(opts: CreateWebGpuBackendOptions = {}): Promise<WebGpuBackend> {
  const backend = await createWebGpuBackend(opts);
  registerWebGpuKernels();
  registerBackendInstance(backend);
  return backend;
}

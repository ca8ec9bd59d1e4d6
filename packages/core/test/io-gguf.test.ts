import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import '../src/index.js'; // registers the reference CPU backend
import { ModelFileError, loadGguf, parseGguf, parseGgufHeader, readGgufFile } from '../src/io/index.js';

// test/ → packages/core → packages → /work/main → /work, beside which shared/ lives.
const STORIES = new URL('../../../../shared/data/models/stories260K/stories260K.gguf', import.meta.url);

// ---------------------------------------------------------------- a tiny GGUF writer for hand-built files

const T = { UINT8: 0, INT8: 1, UINT16: 2, INT16: 3, UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8, ARRAY: 9, UINT64: 10, INT64: 11, FLOAT64: 12 };

class Writer {
  private buf = new Uint8Array(1024);
  length = 0;

  private grow(n: number): DataView {
    if (this.length + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
      next.set(this.buf);
      this.buf = next;
    }
    const view = new DataView(this.buf.buffer, this.length, n);
    this.length += n;
    return view;
  }

  raw(bytes: ArrayLike<number>): this {
    const at = this.length;
    this.grow(bytes.length);
    this.buf.set(bytes, at);
    return this;
  }
  u8(v: number): this { this.grow(1).setUint8(0, v); return this; }
  i8(v: number): this { this.grow(1).setInt8(0, v); return this; }
  u16(v: number): this { this.grow(2).setUint16(0, v, true); return this; }
  i16(v: number): this { this.grow(2).setInt16(0, v, true); return this; }
  u32(v: number): this { this.grow(4).setUint32(0, v, true); return this; }
  i32(v: number): this { this.grow(4).setInt32(0, v, true); return this; }
  u64(v: number | bigint): this { this.grow(8).setBigUint64(0, BigInt(v), true); return this; }
  i64(v: number | bigint): this { this.grow(8).setBigInt64(0, BigInt(v), true); return this; }
  f32(v: number): this { this.grow(4).setFloat32(0, v, true); return this; }
  f64(v: number): this { this.grow(8).setFloat64(0, v, true); return this; }
  str(s: string): this {
    const b = new TextEncoder().encode(s);
    return this.u64(b.length).raw(b);
  }
  pad(alignment: number): this {
    while (this.length % alignment) this.u8(0);
    return this;
  }
  bytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

interface KV { key: string; type: number; write: (w: Writer) => void }
interface TensorSpec {
  name: string;
  dims: number[];
  type: number;
  data: Uint8Array;
  /** Where the data goes (default: next aligned position). */
  offset?: number;
  /** Offset to store in the tensor info, if it should differ from where the data is. */
  claimedOffset?: number;
}

/** Writes a GGUF v3 file: header, kvs, tensor infos, padding, data (offsets computed unless given). */
function buildGguf(kvs: KV[], tensors: TensorSpec[], opts: { alignment?: number; version?: number; magic?: string } = {}): Uint8Array {
  const alignment = opts.alignment ?? 32;
  const w = new Writer();
  w.raw(new TextEncoder().encode(opts.magic ?? 'GGUF')).u32(opts.version ?? 3).u64(tensors.length).u64(kvs.length);
  for (const kv of kvs) {
    w.str(kv.key).u32(kv.type);
    kv.write(w);
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    const o = t.offset ?? offset;
    offsets.push(o);
    offset = Math.ceil((o + t.data.length) / alignment) * alignment;
    w.str(t.name).u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(t.type).u64(t.claimedOffset ?? o);
  }
  w.pad(alignment);
  const dataStart = w.length;
  tensors.forEach((t, i) => {
    while (w.length < dataStart + offsets[i]!) w.u8(0);
    w.raw(t.data);
  });
  return w.bytes();
}

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function tinyFile(): Uint8Array {
  const kvs: KV[] = [
    { key: 'general.architecture', type: T.STRING, write: (w) => w.str('tiny') },
    { key: 'general.alignment', type: T.UINT32, write: (w) => w.u32(64) },
    { key: 'v.u8', type: T.UINT8, write: (w) => w.u8(200) },
    { key: 'v.i8', type: T.INT8, write: (w) => w.i8(-3) },
    { key: 'v.u16', type: T.UINT16, write: (w) => w.u16(65535) },
    { key: 'v.i16', type: T.INT16, write: (w) => w.i16(-300) },
    { key: 'v.u32', type: T.UINT32, write: (w) => w.u32(4_000_000_000) },
    { key: 'v.i32', type: T.INT32, write: (w) => w.i32(-7) },
    { key: 'v.f32', type: T.FLOAT32, write: (w) => w.f32(0.5) },
    { key: 'v.bool', type: T.BOOL, write: (w) => w.u8(1) },
    { key: 'v.u64', type: T.UINT64, write: (w) => w.u64(12) },
    { key: 'v.u64big', type: T.UINT64, write: (w) => w.u64(2n ** 53n + 1n) },
    { key: 'v.i64', type: T.INT64, write: (w) => w.i64(-5) },
    { key: 'v.f64', type: T.FLOAT64, write: (w) => w.f64(Math.PI) },
    { key: 'v.tokens', type: T.ARRAY, write: (w) => w.u32(T.STRING).u64(3).str('a').str('ü').str('') },
    { key: 'v.scores', type: T.ARRAY, write: (w) => w.u32(T.FLOAT32).u64(2).f32(0.25).f32(-1) },
    { key: 'v.flags', type: T.ARRAY, write: (w) => w.u32(T.BOOL).u64(2).u8(1).u8(0) },
    { key: 'v.nested', type: T.ARRAY, write: (w) => w.u32(T.ARRAY).u64(2).u32(T.STRING).u64(2).str('x').str('y').u32(T.STRING).u64(0) },
  ];
  return buildGguf(kvs, [
    { name: 'w.f32', dims: [3, 2], type: 0, data: bytesOf(new Float32Array([0, 1, 2, 3, 4, 5])) },
    { name: 'b.f16', dims: [4], type: 1, data: bytesOf(new Uint16Array([0x3c00, 0x7e01, 0xfc00, 0x8001])) },
    { name: 'e.bf16', dims: [1, 2], type: 30, data: bytesOf(new Uint16Array([0x3f80, 0xc049])) },
    { name: 'ids', dims: [2], type: 26, data: bytesOf(new Int32Array([-1, 7])) },
  ], { alignment: 64 });
}

function expectFileError(fn: () => unknown, ...fragments: string[]): ModelFileError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected an error').toBeInstanceOf(ModelFileError);
  for (const f of fragments) expect((caught as Error).message).toContain(f);
  return caught as ModelFileError;
}

const LABEL = 'tiny.gguf';

// ---------------------------------------------------------------- the real model

describe('stories260K.gguf', () => {
  it('is where the test expects it', () => {
    expect(existsSync(STORIES), fileURLToPath(STORIES)).toBe(true);
  });

  it('parses metadata, tensor names, shapes and data', async () => {
    const g = await readGgufFile(STORIES);
    expect(g.version).toBe(3);
    expect(g.alignment).toBe(32);
    expect(g.metadata['general.architecture']).toBe('llama');
    expect(g.metadata['llama.embedding_length']).toBe(64);
    expect(g.metadata['llama.block_count']).toBe(5);
    expect(g.metadata['llama.feed_forward_length']).toBe(172);
    expect(g.metadata['llama.attention.head_count']).toBe(8);
    expect(g.metadata['llama.attention.head_count_kv']).toBe(4);
    expect(g.metadata['llama.context_length']).toBe(2048);
    expect(g.metadata['llama.attention.layer_norm_rms_epsilon']).toBeCloseTo(1e-5, 10);
    expect(g.metadata['tokenizer.ggml.model']).toBe('llama');
    const tokens = g.metadata['tokenizer.ggml.tokens'] as string[];
    expect(Array.isArray(tokens)).toBe(true);
    expect(tokens.length).toBe(512);
    expect(tokens.slice(0, 4)).toEqual(['<unk>', '<s>', '</s>', '<0x00>']);
    expect(g.metadataTypes['tokenizer.ggml.tokens']).toBe('ARRAY[STRING]');
    expect(g.metadata['tokenizer.ggml.scores']).toBeInstanceOf(Float32Array);
    expect((g.metadata['tokenizer.ggml.scores'] as Float32Array).length).toBe(512);
    expect(g.metadata['tokenizer.ggml.token_type']).toBeInstanceOf(Int32Array);

    // 3 global tensors + 9 per block.
    expect(g.tensors.size).toBe(3 + 5 * 9);
    const shape = (n: string) => g.tensors.get(n)?.shape;
    expect(shape('token_embd.weight')).toEqual([512, 64]);
    expect(g.tensors.get('token_embd.weight')!.dims).toEqual([64, 512]);
    expect(shape('output_norm.weight')).toEqual([64]);
    expect(shape('output.weight')).toEqual([512, 64]);
    for (let b = 0; b < 5; b++) {
      expect(shape(`blk.${b}.attn_q.weight`)).toEqual([64, 64]);
      expect(shape(`blk.${b}.attn_k.weight`)).toEqual([32, 64]);
      expect(shape(`blk.${b}.attn_v.weight`)).toEqual([32, 64]);
      expect(shape(`blk.${b}.attn_output.weight`)).toEqual([64, 64]);
      expect(shape(`blk.${b}.ffn_gate.weight`)).toEqual([172, 64]);
      expect(shape(`blk.${b}.ffn_down.weight`)).toEqual([64, 172]);
      expect(shape(`blk.${b}.ffn_up.weight`)).toEqual([172, 64]);
      expect(shape(`blk.${b}.attn_norm.weight`)).toEqual([64]);
      expect(shape(`blk.${b}.ffn_norm.weight`)).toEqual([64]);
    }
    for (const t of g.tensors.values()) {
      expect(t.typeName, t.name).toBe('F32');
      expect(t.dtype).toBe('f32');
      expect(t.data.length).toBe(t.shape.reduce((a, b) => a * b, 1));
      expect((t.data as Float32Array).every(Number.isFinite), t.name).toBe(true);
    }
    // Values as read by the gguf Python package (GGUFReader) from the same file.
    const embd = g.tensors.get('token_embd.weight')!;
    expect(embd.byteOffset).toBe(14176);
    expect(Array.from(embd.data.subarray(0, 5))).toEqual(Array.from(new Float32Array([-0.29474878, 0.5618956, 0.17542253, 0.3405736, -0.11446067])));
    expect(Array.from(g.tensors.get('output_norm.weight')!.data.subarray(0, 2))).toEqual(Array.from(new Float32Array([2.458309, 1.3673227])));
    expect(Array.from(g.tensors.get('blk.4.ffn_norm.weight')!.data.subarray(61))).toEqual(Array.from(new Float32Array([0.8462601, 0.9927388, 1.2342612])));
  });

  it('loads into backend tensors', async () => {
    const { version, metadata, tensors } = await loadGguf(STORIES, { backend: 'cpu-ref' });
    expect(version).toBe(3);
    expect(metadata['general.architecture']).toBe('llama');
    const q = tensors.get('blk.0.attn_q.weight')!;
    expect(q.shape).toEqual([64, 64]);
    expect(q.dtype).toBe('f32');
    expect(q.name).toBe('blk.0.attn_q.weight');
    const parsed = await readGgufFile(STORIES);
    expect(await q.data()).toEqual(parsed.tensors.get('blk.0.attn_q.weight')!.data);
    for (const t of tensors.values()) t.dispose();
  });
});

// ---------------------------------------------------------------- hand-built files

describe('hand-built GGUF', () => {
  it('reads every metadata value type and the supported tensor types', () => {
    const g = parseGguf(tinyFile(), LABEL);
    expect(g.version).toBe(3);
    expect(g.alignment).toBe(64);
    const m = g.metadata;
    expect(m['general.architecture']).toBe('tiny');
    expect([m['v.u8'], m['v.i8'], m['v.u16'], m['v.i16'], m['v.u32'], m['v.i32'], m['v.f32'], m['v.bool']]).toEqual([200, -3, 65535, -300, 4_000_000_000, -7, 0.5, true]);
    expect([m['v.u64'], m['v.u64big'], m['v.i64'], m['v.f64']]).toEqual([12, 2n ** 53n + 1n, -5, Math.PI]);
    expect(m['v.tokens']).toEqual(['a', 'ü', '']);
    expect(m['v.scores']).toEqual(new Float32Array([0.25, -1]));
    expect(m['v.flags']).toEqual([true, false]);
    expect(m['v.nested']).toEqual([['x', 'y'], []]);
    expect(g.metadataTypes['v.nested']).toBe('ARRAY[ARRAY[STRING]]');
    expect(g.metadataTypes['v.u64big']).toBe('UINT64');

    const w = g.tensors.get('w.f32')!;
    expect(w.dims).toEqual([3, 2]);
    expect(w.shape).toEqual([2, 3]); // innermost-first dims reversed
    expect(Array.from(w.data)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(w.byteOffset % 64).toBe(0);
    const b = g.tensors.get('b.f16')!;
    expect(b.dtype).toBe('f16');
    expect(Array.from(b.data)).toEqual([0x3c00, 0x7e01, 0xfc00, 0x8001]);
    const e = g.tensors.get('e.bf16')!;
    expect([e.dtype, e.shape]).toEqual(['bf16', [2, 1]]);
    expect(Array.from(e.data)).toEqual([0x3f80, 0xc049]);
    expect(g.tensors.get('ids')!.data).toEqual(new Int32Array([-1, 7]));
  });

  it('rejects unsupported tensor types, naming the tensor and the type', () => {
    const bytes = buildGguf([], [
      { name: 'ok', dims: [2], type: 0, data: bytesOf(new Float32Array([1, 2])) },
      { name: 'blk.0.attn_q.weight', dims: [32], type: 2, data: new Uint8Array(18) },
    ]);
    expectFileError(() => parseGguf(bytes, LABEL), LABEL, "tensor 'blk.0.attn_q.weight'", 'ggml type 2 (Q4_0) is not supported', 'F32 (0)', 'F16 (1)', 'BF16 (30)');
    const unknown = buildGguf([], [{ name: 'x', dims: [1], type: 99, data: new Uint8Array(4) }]);
    expectFileError(() => parseGguf(unknown, LABEL), "tensor 'x'", 'ggml type 99 (unknown)');
    // The header reader still lists such tensors.
    const header = parseGgufHeader(bytes, LABEL);
    expect(header.tensorInfos.map((t) => [t.name, t.typeName])).toEqual([['ok', 'F32'], ['blk.0.attn_q.weight', 'Q4_0']]);
  });

  it('reports truncation at any cut point, naming the file', () => {
    const whole = tinyFile();
    const header = parseGgufHeader(whole);
    for (const cut of [0, 3, 4, 7, 8, 15, 23, 24, 40, 100, 200, header.dataOffset - 40, header.dataOffset - 1, header.dataOffset + 10, whole.length - 1]) {
      const e = expectFileError(() => parseGguf(whole.subarray(0, cut), LABEL), LABEL);
      expect(e.message, `cut at ${cut}`).toMatch(/truncated/);
    }
    // Cutting the data section names the tensor that no longer fits.
    expectFileError(() => parseGguf(whole.subarray(0, whole.length - 1), LABEL), LABEL, "tensor 'ids'", 'runs past the end of the file');
    expectFileError(() => parseGguf(whole.subarray(0, header.dataOffset + 10), LABEL), "tensor 'w.f32'", 'truncated');
  });

  it('rejects bad magic, versions and byte order', () => {
    expectFileError(() => parseGguf(buildGguf([], [], { magic: 'GGML' }), LABEL), LABEL, 'bad magic "GGML"');
    expectFileError(() => parseGguf(buildGguf([], [], { version: 1 }), LABEL), LABEL, 'version 1 is not supported');
    expectFileError(() => parseGguf(buildGguf([], [], { version: 7 }), LABEL), LABEL, 'unknown GGUF version 7');
    expectFileError(() => parseGguf(buildGguf([], [], { version: 0x03000000 }), LABEL), LABEL, 'big-endian');
    expect(parseGguf(buildGguf([], [], { version: 2 }), LABEL).version).toBe(2);
  });

  it('rejects bad offsets: beyond the file, misaligned, overlapping', () => {
    const f = (offset: number, claimedOffset?: number): TensorSpec => ({ name: 'far', dims: [2], type: 0, data: bytesOf(new Float32Array(2)), offset, claimedOffset });
    expectFileError(() => parseGguf(buildGguf([], [f(0, 1024)]), LABEL), LABEL, "tensor 'far'", 'runs past the end of the file');
    expectFileError(() => parseGguf(buildGguf([], [f(0, 2 ** 52)]), LABEL), LABEL, "tensor 'far'", 'runs past the end of the file');

    const misaligned = buildGguf([], [f(4)]);
    expectFileError(() => parseGguf(misaligned, LABEL), "tensor 'far'", 'offset 4 is not a multiple of the alignment 32');

    const overlap = buildGguf([], [
      { name: 'a', dims: [16], type: 0, data: bytesOf(new Float32Array(16)) },
      { name: 'b', dims: [4], type: 0, data: bytesOf(new Float32Array(4)), offset: 32 },
    ]);
    expectFileError(() => parseGguf(overlap, LABEL), LABEL, "tensor 'b'", "overlaps tensor 'a'");
  });

  it('rejects malformed metadata and tensor infos', () => {
    const kv = (key: string, type: number, write: (w: Writer) => void): KV => ({ key, type, write });
    expectFileError(() => parseGguf(buildGguf([kv('x', 13, (w) => w.u8(0))], []), LABEL), LABEL, "value of 'x' has unknown value type 13");
    expectFileError(() => parseGguf(buildGguf([kv('x', T.UINT8, (w) => w.u8(1)), kv('x', T.UINT8, (w) => w.u8(2))], []), LABEL), "metadata key 'x' appears twice");
    expectFileError(() => parseGguf(buildGguf([kv('general.alignment', T.UINT32, (w) => w.u32(24))], []), LABEL), 'general.alignment must be a positive power of two, got 24');
    expectFileError(() => parseGguf(buildGguf([kv('s', T.STRING, (w) => w.u64(2n ** 40n))], []), LABEL), 'truncated', "value of 's'");
    expectFileError(() => parseGguf(buildGguf([kv('a', T.ARRAY, (w) => w.u32(T.UINT32).u64(2n ** 50n))], []), LABEL), 'truncated', "value of 'a'");
    const deep = (w: Writer, n: number): void => {
      if (n === 0) w.u32(T.UINT8).u64(0);
      else deep(w.u32(T.ARRAY).u64(1), n - 1);
    };
    expectFileError(() => parseGguf(buildGguf([kv('d', T.ARRAY, (w) => deep(w, 40))], []), LABEL), 'nests arrays more than');
    expectFileError(() => parseGguf(buildGguf([], [{ name: 'x5', dims: [1, 1, 1, 1, 1], type: 0, data: new Uint8Array(4) }]), LABEL), "tensor 'x5'", 'n_dims is 5');
    const dup = { name: 'same', dims: [1], type: 0, data: new Uint8Array(4) };
    expectFileError(() => parseGguf(buildGguf([], [dup, dup]), LABEL), "tensor 'same'", 'appears twice');
    // Absurd counts fail at once instead of looping.
    const w = new Writer().raw(new TextEncoder().encode('GGUF')).u32(3).u64(2n ** 40n).u64(0);
    expectFileError(() => parseGguf(w.bytes(), LABEL), LABEL, 'truncated');
  });
});

import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tensor, transpose, type DType, type Tensor, type TypedArray } from '../src/index.js';
import {
  ModelFileError,
  encodeSafetensors,
  loadSafetensors,
  loadSafetensorsFromBuffer,
  loadSafetensorsWeights,
  loadShardedSafetensors,
  openSafetensors,
  parseSafetensors,
  readRawElements,
  readShardedSafetensors,
  resolveWeightFiles,
  saveSafetensors,
  serializeSafetensors,
  type HostTensor,
} from '../src/io/index.js';

const FIXTURES = new URL('./fixtures/io/', import.meta.url);

// ---------------------------------------------------------------- helpers

/** Builds a safetensors file by hand: u64 LE header length, header text (padded with spaces to `padTo`), data. */
function build(header: string | object, data: ArrayLike<number> = [], padTo = 8): Uint8Array {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const json = new TextEncoder().encode(text);
  const padded = Math.ceil(json.length / padTo) * padTo;
  const out = new Uint8Array(8 + padded + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  out.set(data, 8 + padded);
  return out;
}

function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

/** Expects `fn` to throw a ModelFileError whose message contains every fragment. */
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

async function expectFileErrorAsync(p: Promise<unknown>, ...fragments: string[]): Promise<Error> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err as Error,
  );
  expect(e, 'expected an error').toBeInstanceOf(Error);
  for (const f of fragments) expect(e!.message).toContain(f);
  return e!;
}

function bits(arr: TypedArray): number[] {
  return Array.from(arr as ArrayLike<number>);
}

const LABEL = 'bad.safetensors';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'adapterkit-io-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------- known answers

describe('safetensors known answers', () => {
  // Written out byte by byte: {"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} is 54 bytes,
  // padded with 2 spaces to 56; then 1.0f and -2.0f little-endian.
  const header = '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}  ';
  const handWritten = new Uint8Array([
    56, 0, 0, 0, 0, 0, 0, 0,
    ...[...header].map((c) => c.charCodeAt(0)),
    0x00, 0x00, 0x80, 0x3f, // 1.0
    0x00, 0x00, 0x00, 0xc0, // -2.0
  ]);

  it('parses a hand-written file', () => {
    expect(handWritten.length).toBe(8 + 56 + 8);
    const parsed = parseSafetensors(handWritten, 'hand.safetensors');
    expect([...parsed.tensors.keys()]).toEqual(['w']);
    const w = parsed.tensors.get('w')!;
    expect(w.dtype).toBe('f32');
    expect(w.fileDType).toBe('F32');
    expect(w.shape).toEqual([2]);
    expect(w.dataOffsets).toEqual([0, 8]);
    expect(bits(w.data)).toEqual([1, -2]);
    expect(parsed.metadata).toEqual({});
    expect(parsed.header.hasMetadata).toBe(false);
  });

  it('writes exactly the hand-written bytes', () => {
    const out = encodeSafetensors({ w: { dtype: 'f32', shape: [2], data: new Float32Array([1, -2]) } });
    expect([...out]).toEqual([...handWritten]);
  });

  it('writes an empty file like the reference ({} padded to 8)', () => {
    expect([...encodeSafetensors({})]).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
  });
});

describe('safetensors files written by Python safetensors (test/fixtures/io/make_fixtures.py)', () => {
  const writable: Record<string, HostTensor> = {
    f64: { dtype: 'f64', shape: [2], data: new Float64Array([1 / 3, -1e300]) },
    'layer.weight': { dtype: 'f32', shape: [2, 3], data: new Float32Array([0, -0, 1.5, -2.25, 3.4028234663852886e38, 1e-45]) },
    'layer.bias': { dtype: 'f16', shape: [3], data: new Uint16Array([0x3c00, 0x7e01, 0x8001]) },
    emb: { dtype: 'bf16', shape: [2, 2], data: new Uint16Array([0x3f80, 0xc040, 0x7f81, 0x0001]) },
    step: { dtype: 'i32', shape: [], data: new Int32Array([7]) },
    i8: { dtype: 'i8', shape: [3], data: new Int8Array([-128, 0, 127]) },
    u8: { dtype: 'u8', shape: [3], data: new Uint8Array([0, 128, 255]) },
    empty: { dtype: 'f32', shape: [0, 4], data: new Float32Array(0) },
  };

  it('reads every writable dtype bit-exactly', async () => {
    const bytes = new Uint8Array(await readFile(new URL('python-writable.safetensors', FIXTURES)));
    const parsed = parseSafetensors(bytes, 'python-writable.safetensors');
    expect(parsed.metadata).toEqual({ format: 'pt' });
    expect([...parsed.tensors.keys()]).toEqual(['f64', 'empty', 'layer.weight', 'step', 'emb', 'layer.bias', 'i8', 'u8']);
    for (const [name, want] of Object.entries(writable)) {
      const got = parsed.tensors.get(name)!;
      expect(got.dtype, name).toBe(want.dtype);
      expect(got.shape, name).toEqual(want.shape);
      expect(got.data.constructor, name).toBe(want.data.constructor);
      expect(Object.is(got.data[1], want.data[1]), name).toBe(true); // keeps -0
      expect(new Uint8Array(got.data.buffer, got.data.byteOffset, got.data.byteLength), name).toEqual(
        new Uint8Array(want.data.buffer, want.data.byteOffset, want.data.byteLength),
      );
    }
  });

  it('writes the same bytes as Python for the same tensors and metadata', async () => {
    const reference = new Uint8Array(await readFile(new URL('python-writable.safetensors', FIXTURES)));
    const ours = encodeSafetensors(writable, { format: 'pt' });
    expect(ours.length).toBe(reference.length);
    expect(new TextDecoder().decode(ours.subarray(0, 600))).toBe(new TextDecoder().decode(reference.subarray(0, 600)));
    expect(Buffer.from(ours).equals(Buffer.from(reference))).toBe(true);
  });

  it('reads I64, BOOL, U16, I16, U32 by converting to i32 / u8', async () => {
    const parsed = parseSafetensors(new Uint8Array(await readFile(new URL('python-readonly.safetensors', FIXTURES))), 'python-readonly.safetensors');
    const get = (n: string) => parsed.tensors.get(n)!;
    expect(get('ids').fileDType).toBe('I64');
    expect(get('ids').dtype).toBe('i32');
    expect(get('ids').data).toEqual(new Int32Array([-5, 2147483647, -2147483648]));
    expect(get('mask').dtype).toBe('u8');
    expect(get('mask').data).toEqual(new Uint8Array([1, 0, 0, 1]));
    expect(get('u16').data).toEqual(new Int32Array([0, 65535]));
    expect(get('i16').data).toEqual(new Int32Array([-32768, 32767]));
    expect(get('u32').data).toEqual(new Int32Array([2147483647]));
    expect(get('w').data).toEqual(new Float32Array([1, 2, 3, 4]));
    expect(parsed.header.hasMetadata).toBe(false);
  });
});

// ---------------------------------------------------------------- round trips

/** One tensor of each dtype with awkward values (NaN payloads, -0, extremes, subnormals). */
function everyDType(): Record<string, Tensor> {
  const mk = (data: TypedArray, shape: number[], dtype: DType) => tensor(data, shape, { dtype, backend: 'cpu-ref' });
  return {
    'a.f32': mk(new Float32Array([0, -0, 1.5, NaN, -Infinity, 1e-45, 3.4028234663852886e38, -7]), [2, 4], 'f32'),
    'b.f64': mk(new Float64Array([Math.PI, -0, Number.MIN_VALUE, Number.MAX_VALUE]), [4], 'f64'),
    'c.f16': mk(new Uint16Array([0x3c00, 0x7e01, 0xfc00, 0x8001, 0x7bff, 0x0000]), [3, 2], 'f16'),
    'd.bf16': mk(new Uint16Array([0x3f80, 0x7f81, 0xff80, 0x0001, 0xc049]), [5], 'bf16'),
    'e.i32': mk(new Int32Array([-2147483648, 2147483647, 0, -1]), [2, 2], 'i32'),
    'f.u8': mk(new Uint8Array([0, 1, 254, 255]), [4], 'u8'),
    'g.i8': mk(new Int8Array([-128, -1, 0, 127]), [2, 1, 2], 'i8'),
    'h.scalar': mk(new Float32Array([42]), [], 'f32'),
    'i.empty': mk(new Float32Array(0), [3, 0], 'f32'),
  };
}

async function expectSameTensors(got: Map<string, Tensor>, want: Record<string, Tensor>): Promise<void> {
  expect([...got.keys()].sort()).toEqual(Object.keys(want).sort());
  for (const [name, w] of Object.entries(want)) {
    const g = got.get(name)!;
    expect(g.dtype, name).toBe(w.dtype);
    expect(g.shape, name).toEqual(w.shape);
    expect(g.name, name).toBe(name);
    const [a, b] = [await readRawElements(g), await readRawElements(w)];
    expect(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), name).toEqual(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
  }
}

describe('safetensors round trips', () => {
  it('serialises and loads every dtype bit-exactly (incl. f16/bf16 NaN payloads)', async () => {
    const tensors = everyDType();
    const bytes = await serializeSafetensors(tensors);
    await expectSameTensors(loadSafetensorsFromBuffer(bytes, { backend: 'cpu-ref' }), tensors);
  });

  it('saves to and loads from a file', async () => {
    const tensors = everyDType();
    const path = join(dir, 'all.safetensors');
    await saveSafetensors(path, tensors, { note: 'x' });
    await expectSameTensors(await loadSafetensors(path), tensors);
    expect(await readdir(dir)).toEqual(['all.safetensors']);
  });

  it('accepts a Map and host tensors, and loads a filtered subset', async () => {
    const path = join(dir, 'm.safetensors');
    await saveSafetensors(path, new Map<string, HostTensor | Tensor>([
      ['keep', { dtype: 'f32', shape: [2], data: new Float32Array([1, 2]) }],
      ['drop', tensor([3, 4], [2])],
    ]));
    const loaded = await loadSafetensors(path, { filter: (n) => n !== 'drop' });
    expect([...loaded.keys()]).toEqual(['keep']);
    expect(await loaded.get('keep')!.data()).toEqual(new Float32Array([1, 2]));
  });

  it('writes non-contiguous tensor views in row-major order', async () => {
    const t = transpose(tensor([1, 2, 3, 4, 5, 6], [2, 3]));
    const parsed = parseSafetensors(await serializeSafetensors({ t }));
    expect(parsed.tensors.get('t')!.shape).toEqual([3, 2]);
    expect(bits(parsed.tensors.get('t')!.data)).toEqual([1, 4, 2, 5, 3, 6]);
  });

  it('round-trips metadata (unicode, quotes, control characters, empty map)', () => {
    const metadata = { format: 'pt', 'ключ': 'значение 😀', quote: 'a"b\\c\n\t\u0001', '': '' };
    const parsed = parseSafetensors(encodeSafetensors({ x: { dtype: 'u8', shape: [1], data: new Uint8Array([9]) } }, metadata));
    expect(parsed.metadata).toEqual(metadata);
    expect(parsed.header.hasMetadata).toBe(true);
    const empty = parseSafetensors(encodeSafetensors({}, {}));
    expect(empty.header.hasMetadata).toBe(true);
    expect(empty.metadata).toEqual({});
  });

  it('reads a file through SafetensorsFile on demand', async () => {
    const path = join(dir, 'f.safetensors');
    await writeFile(path, encodeSafetensors({ a: { dtype: 'i32', shape: [2], data: new Int32Array([5, 6]) } }, { k: 'v' }));
    const file = await openSafetensors(path);
    try {
      expect(file.metadata).toEqual({ k: 'v' });
      expect([...file.tensors.keys()]).toEqual(['a']);
      expect(await file.read('a')).toEqual(new Int32Array([5, 6]));
      await expectFileErrorAsync(file.read('nope'), path, "'nope'", 'no such tensor');
    } finally {
      await file.close();
    }
  });
});

// ---------------------------------------------------------------- layout

describe('safetensors header layout', () => {
  const t = (dtype: DType, n: number): HostTensor => {
    const data = dtype === 'f64' ? new Float64Array(n) : dtype === 'f32' ? new Float32Array(n) : dtype === 'i32' ? new Int32Array(n)
      : dtype === 'f16' || dtype === 'bf16' ? new Uint16Array(n) : dtype === 'i8' ? new Int8Array(n) : new Uint8Array(n);
    return { dtype, shape: [n], data };
  };

  it('has the length prefix, space padding to 8 and the reference key order', () => {
    const bytes = encodeSafetensors(
      { u: t('u8', 3), h: t('f16', 1), b: t('bf16', 1), i8: t('i8', 1), z: t('f32', 1), a: t('f32', 2), d: t('f64', 1), n: t('i32', 1) },
      { zz: '1', aa: '2' },
    );
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    const json = text.trimEnd();
    expect(text.slice(json.length)).toMatch(/^ {0,7}$/);
    expect(json.startsWith('{"__metadata__":{"aa":"2","zz":"1"},"d":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},')).toBe(true);
    // Descending dtype order of the reference crate (F64, F32, I32, BF16, F16, I8, U8), then name.
    expect(Object.keys(JSON.parse(json))).toEqual(['__metadata__', 'd', 'a', 'z', 'n', 'b', 'h', 'i8', 'u']);
    const offsets = Object.entries(JSON.parse(json) as Record<string, { data_offsets: number[] }>)
      .filter(([k]) => k !== '__metadata__')
      .map(([, v]) => v.data_offsets);
    expect(offsets).toEqual([[0, 8], [8, 16], [16, 20], [20, 24], [24, 26], [26, 28], [28, 29], [29, 32]]);
    expect(bytes.length).toBe(8 + n + 32);
  });

  it('sorts names in UTF-8 byte order like the reference (not UTF-16 order)', () => {
    const names = ['😀', '\uffff', 'é', 'z', 'a', 'B'];
    const bytes = encodeSafetensors(Object.fromEntries(names.map((k) => [k, t('f32', 1)])));
    const parsed = parseSafetensors(bytes);
    // Order produced by Python safetensors 0.8 for the same names.
    expect([...parsed.tensors.keys()]).toEqual(['B', 'a', 'z', 'é', '\uffff', '😀']);
  });

  it('rejects names and metadata it cannot write', () => {
    expect(() => encodeSafetensors({ __metadata__: t('u8', 1) })).toThrow(/reserved/);
    expect(() => encodeSafetensors({ ['\ud800']: t('u8', 1) })).toThrow(/surrogate/);
    expect(() => encodeSafetensors({ a: t('u8', 1) }, { k: 1 as unknown as string })).toThrow(/strings to strings/);
    expect(() => encodeSafetensors({ a: { dtype: 'f32', shape: [3], data: new Float32Array(2) } })).toThrow(/'a'.*2 elements/);
    expect(() => encodeSafetensors({ a: { dtype: 'f32', shape: [2], data: new Int32Array(2) } })).toThrow(/'a' is f32/);
  });
});

// ---------------------------------------------------------------- validation

describe('safetensors validation errors name the file and the tensor', () => {
  const entry = (dtype: unknown, shape: unknown, offsets: unknown) => ({ dtype, shape, data_offsets: offsets });

  it('file shorter than 8 bytes', () => {
    expectFileError(() => parseSafetensors(new Uint8Array(0), LABEL), LABEL, '0 bytes', 'shorter than the 8-byte');
    expectFileError(() => parseSafetensors(new Uint8Array(5), LABEL), LABEL, '5 bytes');
  });

  it('header length beyond the file or absurd', () => {
    const bytes = build({ w: entry('F32', [1], [0, 4]) }, f32Bytes([1]));
    new DataView(bytes.buffer).setBigUint64(0, BigInt(bytes.length), true);
    expectFileError(() => parseSafetensors(bytes, LABEL), LABEL, 'runs past the end of the file');
    new DataView(bytes.buffer).setBigUint64(0, 200_000_000n, true);
    expectFileError(() => parseSafetensors(bytes, LABEL), LABEL, 'exceeds the 100000000-byte limit');
    new DataView(bytes.buffer).setBigUint64(0, 0xffffffffffffffffn, true);
    expectFileError(() => parseSafetensors(bytes, LABEL), LABEL, 'exceeds');
  });

  it('header not UTF-8, not JSON, not an object', () => {
    const bad = build('{"a":1}');
    bad[9] = 0xff;
    expectFileError(() => parseSafetensors(bad, LABEL), LABEL, 'not valid UTF-8');
    expectFileError(() => parseSafetensors(build('{"w": '), LABEL), LABEL, 'not valid JSON');
    expectFileError(() => parseSafetensors(build('[1, 2]'), LABEL), LABEL, 'must be a JSON object', 'array');
    expectFileError(() => parseSafetensors(build('42'), LABEL), LABEL, 'must be a JSON object');
    expectFileError(() => parseSafetensors(build('null'), LABEL), LABEL, 'must be a JSON object');
  });

  it('bad __metadata__', () => {
    expectFileError(() => parseSafetensors(build({ __metadata__: { a: 1 } }), LABEL), LABEL, '__metadata__', '"a"');
    expectFileError(() => parseSafetensors(build({ __metadata__: ['x'] }), LABEL), LABEL, '__metadata__');
  });

  it('entry not an object, unknown and unsupported dtypes', () => {
    expectFileError(() => parseSafetensors(build({ 'enc.w': [1] }), LABEL), LABEL, "tensor 'enc.w'", 'must be an object');
    expectFileError(() => parseSafetensors(build({ 'enc.w': entry('F128', [1], [0, 16]) }, new Uint8Array(16)), LABEL), LABEL, "tensor 'enc.w'", 'unknown dtype "F128"', 'supported: F64, F32');
    expectFileError(() => parseSafetensors(build({ 'enc.w': entry('F8_E4M3', [1], [0, 1]) }, new Uint8Array(1)), LABEL), LABEL, "tensor 'enc.w'", 'F8_E4M3 is not supported');
    expectFileError(() => parseSafetensors(build({ 'enc.w': entry(3, [1], [0, 4]) }, new Uint8Array(4)), LABEL), "tensor 'enc.w'", 'dtype must be a string');
  });

  it('shape not a list of non-negative integers', () => {
    for (const shape of [[2, -1], [1.5], ['2'], 3, null, [2 ** 60]]) {
      expectFileError(() => parseSafetensors(build({ 'enc.w': entry('F32', shape, [0, 4]) }, new Uint8Array(4)), LABEL), LABEL, "tensor 'enc.w'", 'shape');
    }
  });

  it('data_offsets not [begin, end] with begin <= end', () => {
    for (const offsets of [[0], [0, 4, 8], [-4, 0], ['0', '4'], null, [0, 1.5]]) {
      expectFileError(() => parseSafetensors(build({ 'enc.w': entry('F32', [1], offsets) }, new Uint8Array(4)), LABEL), LABEL, "tensor 'enc.w'", 'data_offsets must be [begin, end]');
    }
    expectFileError(() => parseSafetensors(build({ 'enc.w': entry('U8', [0], [4, 0]) }, new Uint8Array(4)), LABEL), LABEL, "tensor 'enc.w'", 'end before they begin');
  });

  it('byte size different from product(shape) * itemsize', () => {
    expectFileError(
      () => parseSafetensors(build({ 'enc.w': entry('F32', [2, 2], [0, 12]) }, new Uint8Array(12)), LABEL),
      LABEL, "tensor 'enc.w'", 'shape [2, 2] of F32 needs 16 bytes but data_offsets [0, 12] span 12',
    );
  });

  it('offsets beyond the data section (truncated data)', () => {
    const bytes = build({ a: entry('F32', [1], [0, 4]), b: entry('F32', [2], [4, 12]) }, new Uint8Array(8));
    expectFileError(() => parseSafetensors(bytes, LABEL), LABEL, "tensor 'b'", 'reach past the end of the 8-byte data section', 'truncated');
  });

  it('overlapping tensors', () => {
    const bytes = build({ a: entry('F32', [2], [0, 8]), b: entry('F32', [1], [4, 8]) }, new Uint8Array(8));
    expectFileError(() => parseSafetensors(bytes, LABEL), LABEL, "tensor 'b'", "overlap tensor 'a'");
    const inside = build({ a: entry('F32', [2], [0, 8]), z: entry('F32', [0], [4, 4]) }, new Uint8Array(8));
    expectFileError(() => parseSafetensors(inside, LABEL), LABEL, "tensor 'z'", "overlap tensor 'a'");
  });

  it('gaps and unused bytes (tensors must tile the data section)', () => {
    const gap = build({ a: entry('F32', [1], [0, 4]), b: entry('F32', [1], [8, 12]) }, new Uint8Array(12));
    expectFileError(() => parseSafetensors(gap, LABEL), LABEL, "tensor 'b'", 'leave bytes [4, 8)', 'InvalidOffset');
    const late = build({ a: entry('F32', [1], [4, 8]) }, new Uint8Array(8));
    expectFileError(() => parseSafetensors(late, LABEL), LABEL, "tensor 'a'", 'leave bytes [0, 4)');
    const trailing = build({ a: entry('F32', [1], [0, 4]) }, new Uint8Array(6));
    expectFileError(() => parseSafetensors(trailing, LABEL), LABEL, '2 bytes after', 'MetadataIncompleteBuffer');
    // Zero-size tensors anywhere on the tiling are fine, also in any header order.
    const ok = build({ b: entry('F32', [1], [4, 8]), e: entry('F32', [0, 3], [4, 4]), a: entry('F32', [1], [0, 4]), e2: entry('U8', [0], [8, 8]) }, f32Bytes([1, 2]));
    const parsed = parseSafetensors(ok, LABEL);
    expect([...parsed.tensors.keys()]).toEqual(['a', 'e', 'b', 'e2']);
    expect(bits(parsed.tensors.get('b')!.data)).toEqual([2]);
  });

  it('I64 (and U32) values that do not fit i32 fail on decode, naming the tensor', () => {
    const i64 = new DataView(new ArrayBuffer(16));
    i64.setBigInt64(0, 1n, true);
    i64.setBigInt64(8, 2147483648n, true);
    const bytes = build({ 'pos.ids': entry('I64', [2], [0, 16]) }, new Uint8Array(i64.buffer));
    const parsed = parseSafetensors(bytes, LABEL); // header is fine; data is decoded lazily
    expectFileError(() => parsed.tensors.get('pos.ids')!.data, LABEL, "tensor 'pos.ids'", 'i64 value 2147483648 at element 1 does not fit in i32');
    expectFileError(() => loadSafetensorsFromBuffer(bytes, { source: LABEL, backend: 'cpu-ref' }), LABEL, "tensor 'pos.ids'", 'does not fit');
    i64.setBigInt64(8, -2147483649n, true);
    expectFileError(() => parseSafetensors(build({ n: entry('I64', [2], [0, 16]) }, new Uint8Array(i64.buffer)), LABEL).tensors.get('n')!.data, "tensor 'n'", '-2147483649');
    const u32 = new Uint8Array(new Uint32Array([4294967295]).buffer);
    expectFileError(() => parseSafetensors(build({ u: entry('U32', [1], [0, 4]) }, u32), LABEL).tensors.get('u')!.data, "tensor 'u'", 'u32 value 4294967295');
  });

  it('truncated files at many cut points', () => {
    const whole = encodeSafetensors({
      'a.weight': { dtype: 'f32', shape: [4, 4], data: new Float32Array(16).fill(1) },
      'b.bias': { dtype: 'f16', shape: [8], data: new Uint16Array(8) },
    });
    const n = Number(new DataView(whole.buffer).getBigUint64(0, true));
    const cuts = [0, 1, 7, 8, 9, 8 + Math.floor(n / 2), 8 + n - 1, 8 + n, 8 + n + 1, 8 + n + 63, whole.length - 1];
    for (const cut of cuts) {
      const e = expectFileError(() => parseSafetensors(whole.subarray(0, cut), LABEL), LABEL);
      if (cut > 8 + n) expect(e.tensor, `cut ${cut}`).toBeDefined();
    }
    // Cutting inside the data reports the first tensor that no longer fits.
    expectFileError(() => parseSafetensors(whole.subarray(0, 8 + n + 63), LABEL), "tensor 'a.weight'", 'truncated');
    expectFileError(() => parseSafetensors(whole.subarray(0, whole.length - 1), LABEL), "tensor 'b.bias'", 'truncated');
  });

  it('loadSafetensors names the file path in errors', async () => {
    const path = join(dir, 'broken.safetensors');
    await writeFile(path, build({ 'enc.w': entry('F32', [2], [0, 8]) }, new Uint8Array(4)));
    await expectFileErrorAsync(loadSafetensors(path), path, "tensor 'enc.w'", 'truncated');
    await writeFile(path, new Uint8Array(3));
    await expectFileErrorAsync(loadSafetensors(path), path, '3 bytes');
  });
});

describe('parseSafetensors data views', () => {
  it('returns views when aligned, copies when asked or unaligned', () => {
    const bytes = encodeSafetensors({ w: { dtype: 'f32', shape: [2], data: new Float32Array([1, 2]) } });
    const view = parseSafetensors(bytes).tensors.get('w')!.data;
    expect(view.buffer).toBe(bytes.buffer);
    const copy = parseSafetensors(bytes, 'x', { copy: true }).tensors.get('w')!.data;
    expect(copy.buffer).not.toBe(bytes.buffer);
    expect(bits(copy)).toEqual([1, 2]);
    // Same file at an odd address: the data must still decode correctly.
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const entry = parseSafetensors(shifted.subarray(1)).tensors.get('w')!;
    expect(bits(entry.data)).toEqual([1, 2]);
    expect(entry.data).toBe(entry.data); // decoded once
  });
});

// ---------------------------------------------------------------- atomic save

describe('saveSafetensors is atomic', () => {
  const good = () => ({ w: tensor([1, 2, 3], [3]) });

  it('leaves the old file intact and no temp file when validation fails', async () => {
    const path = join(dir, 'model.safetensors');
    await saveSafetensors(path, good());
    const before = await readFile(path);
    await expect(saveSafetensors(path, good(), { bad: 5 as unknown as string })).rejects.toThrow(/strings to strings/);
    await expect(saveSafetensors(path, { __metadata__: tensor([1], [1]) })).rejects.toThrow(/reserved/);
    expect((await readFile(path)).equals(before)).toBe(true);
    expect(await readdir(dir)).toEqual(['model.safetensors']);
  });

  it('leaves the old file intact and no temp file when reading a tensor fails mid-write', async () => {
    const path = join(dir, 'model.safetensors');
    await saveSafetensors(path, good());
    const before = await readFile(path);
    const disposed = tensor([4, 5], [2]);
    disposed.dispose();
    await expect(saveSafetensors(path, { a: tensor([1, 2], [2]), z: disposed })).rejects.toThrow(/disposed/);
    await expect(saveSafetensors(path, { a: { dtype: 'f32', shape: [3], data: new Float32Array(2) } })).rejects.toThrow(/2 elements/);
    expect((await readFile(path)).equals(before)).toBe(true);
    expect(await readdir(dir)).toEqual(['model.safetensors']);
  });

  it('creates a new file and replaces an existing one', async () => {
    const path = join(dir, 'out.safetensors');
    await saveSafetensors(path, good());
    await saveSafetensors(path, { v: tensor([9], [1]) }, { step: '2' });
    const parsed = parseSafetensors(new Uint8Array(await readFile(path)));
    expect([...parsed.tensors.keys()]).toEqual(['v']);
    expect(parsed.metadata).toEqual({ step: '2' });
    expect(await readdir(dir)).toEqual(['out.safetensors']);
  });

  it('fails cleanly when the directory does not exist', async () => {
    await expect(saveSafetensors(join(dir, 'missing', 'x.safetensors'), good())).rejects.toThrow(/ENOENT/);
  });
});

// ---------------------------------------------------------------- sharded

describe('sharded safetensors', () => {
  async function writeSharded(indexExtra: Record<string, string> = {}): Promise<void> {
    await writeFile(join(dir, 'model-00001-of-00002.safetensors'), encodeSafetensors({
      'embed.weight': { dtype: 'f32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
      'layer.0.weight': { dtype: 'bf16', shape: [2], data: new Uint16Array([0x3f80, 0x4000]) },
    }));
    await writeFile(join(dir, 'model-00002-of-00002.safetensors'), encodeSafetensors({
      'layer.1.weight': { dtype: 'f32', shape: [1], data: new Float32Array([5]) },
      'lm_head.weight': { dtype: 'i32', shape: [3], data: new Int32Array([7, 8, 9]) },
    }));
    await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify({
      metadata: { total_size: 42 },
      weight_map: {
        'embed.weight': 'model-00001-of-00002.safetensors',
        'layer.0.weight': 'model-00001-of-00002.safetensors',
        'layer.1.weight': 'model-00002-of-00002.safetensors',
        'lm_head.weight': 'model-00002-of-00002.safetensors',
        ...indexExtra,
      },
    }));
  }

  it('loads every tensor of the weight map into one map', async () => {
    await writeSharded();
    expect(await resolveWeightFiles(dir)).toEqual({ kind: 'sharded', index: join(dir, 'model.safetensors.index.json') });
    const tensors = await loadShardedSafetensors(dir);
    expect([...tensors.keys()].sort()).toEqual(['embed.weight', 'layer.0.weight', 'layer.1.weight', 'lm_head.weight']);
    expect(await tensors.get('embed.weight')!.data()).toEqual(new Float32Array([1, 2, 3, 4]));
    expect(tensors.get('layer.0.weight')!.dtype).toBe('bf16');
    expect(await tensors.get('layer.0.weight')!.data()).toEqual(new Float32Array([1, 2]));
    expect(await tensors.get('lm_head.weight')!.data()).toEqual(new Int32Array([7, 8, 9]));
    const viaDir = await loadSafetensorsWeights(dir);
    expect(viaDir.size).toBe(4);
    const host = await readShardedSafetensors(join(dir, 'model.safetensors.index.json'));
    expect(host.index.metadata).toEqual({ total_size: 42 });
    expect(host.tensors.get('layer.1.weight')!.data).toEqual(new Float32Array([5]));
  });

  it('prefers model.safetensors and reports what is there when nothing is', async () => {
    await expectFileErrorAsync(resolveWeightFiles(dir), dir, 'the directory is empty');
    await writeFile(join(dir, 'config.json'), '{}');
    await writeFile(join(dir, 'pytorch_model.bin'), '');
    await expectFileErrorAsync(resolveWeightFiles(dir), 'model.safetensors', 'model.safetensors.index.json', 'files there: config.json, pytorch_model.bin');
    await writeFile(join(dir, 'model.safetensors'), encodeSafetensors({ x: { dtype: 'u8', shape: [1], data: new Uint8Array([3]) } }));
    expect(await resolveWeightFiles(dir)).toEqual({ kind: 'single', file: join(dir, 'model.safetensors') });
    const loaded = await loadSafetensorsWeights(dir);
    expect(await loaded.get('x')!.data()).toEqual(new Uint8Array([3]));
  });

  it('names the tensor and the shard when a weight_map entry is missing from its shard', async () => {
    await writeSharded({ 'layer.2.weight': 'model-00002-of-00002.safetensors' });
    await expectFileErrorAsync(loadShardedSafetensors(dir), "tensor 'layer.2.weight'", 'model-00002-of-00002.safetensors', 'no such tensor', 'model.safetensors.index.json');
  });

  it('names the shard when a shard file is missing', async () => {
    await writeSharded({ 'extra.weight': 'model-00003-of-00003.safetensors' });
    await expectFileErrorAsync(loadShardedSafetensors(dir), 'model-00003-of-00003.safetensors', 'does not exist', "tensor 'extra.weight'");
  });

  it('rejects malformed indexes', async () => {
    const index = join(dir, 'model.safetensors.index.json');
    await writeFile(index, '{"weight_map": ');
    await expectFileErrorAsync(loadShardedSafetensors(dir), index, 'not valid JSON');
    await writeFile(index, '{"metadata": {}}');
    await expectFileErrorAsync(loadShardedSafetensors(dir), index, 'weight_map');
    await writeFile(index, JSON.stringify({ weight_map: { a: '../secret.safetensors' } }));
    await expectFileErrorAsync(loadShardedSafetensors(dir), index, "tensor 'a'", 'plain file name');
    await writeFile(index, JSON.stringify({ weight_map: { a: 7 } }));
    await expectFileErrorAsync(loadShardedSafetensors(dir), index, "tensor 'a'", 'shard file name');
  });

  it('reports a corrupt shard with its own path', async () => {
    await writeSharded();
    const shard = join(dir, 'model-00002-of-00002.safetensors');
    const bytes = await readFile(shard);
    await writeFile(shard, bytes.subarray(0, bytes.length - 2));
    await expectFileErrorAsync(loadShardedSafetensors(dir), shard, "tensor 'lm_head.weight'", 'truncated');
  });
});

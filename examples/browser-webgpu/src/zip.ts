/**
 * A minimal ZIP writer: stored entries (no compression: safetensors weights
 * barely compress), CRC-32, UTF-8 names, no ZIP64 (so under 4 GiB), a fixed
 * timestamp so the same files give the same archive. Any unzip tool, Python's
 * `zipfile` and the test's reader (test/zip-read.ts) open it.
 */

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (the ZIP / PNG polynomial). */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// 1980-01-01 00:00:00 in MS-DOS date/time: the earliest ZIP can hold, so archives are reproducible.
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;
const UTF8_FLAG = 0x0800;

/** Builds a ZIP archive holding `files` (path in the archive → bytes), in the map's order. */
export function zipStore(files: ReadonlyMap<string, Uint8Array>): Uint8Array<ArrayBuffer> {
  const enc = new TextEncoder();
  const entries = [...files].map(([name, data]) => ({ name: enc.encode(name), data, crc: crc32(data), offset: 0 }));
  const localSize = entries.reduce((n, e) => n + 30 + e.name.length + e.data.length, 0);
  const centralSize = entries.reduce((n, e) => n + 46 + e.name.length, 0);
  if (localSize + centralSize + 22 > 0xffffffff || entries.length > 0xffff) throw new RangeError('zipStore: archive too large for ZIP without ZIP64');
  const out = new Uint8Array(localSize + centralSize + 22);
  const view = new DataView(out.buffer);
  let p = 0;
  const u16 = (v: number) => (view.setUint16(p, v, true), (p += 2));
  const u32 = (v: number) => (view.setUint32(p, v, true), (p += 4));
  const bytes = (b: Uint8Array) => (out.set(b, p), (p += b.length));
  for (const e of entries) {
    e.offset = p;
    u32(0x04034b50); // local file header
    u16(20); // version needed: 2.0
    u16(UTF8_FLAG);
    u16(0); // method: stored
    u16(DOS_TIME);
    u16(DOS_DATE);
    u32(e.crc);
    u32(e.data.length); // compressed size
    u32(e.data.length); // uncompressed size
    u16(e.name.length);
    u16(0); // extra length
    bytes(e.name);
    bytes(e.data);
  }
  const centralStart = p;
  for (const e of entries) {
    u32(0x02014b50); // central directory header
    u16(20); // version made by
    u16(20); // version needed
    u16(UTF8_FLAG);
    u16(0);
    u16(DOS_TIME);
    u16(DOS_DATE);
    u32(e.crc);
    u32(e.data.length);
    u32(e.data.length);
    u16(e.name.length);
    u16(0); // extra
    u16(0); // comment
    u16(0); // disk number
    u16(0); // internal attributes
    u32(0); // external attributes
    u32(e.offset);
    bytes(e.name);
  }
  const centralLength = p - centralStart;
  u32(0x06054b50); // end of central directory
  u16(0);
  u16(0);
  u16(entries.length);
  u16(entries.length);
  u32(centralLength);
  u32(centralStart);
  u16(0); // comment length
  return out;
}

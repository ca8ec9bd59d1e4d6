/**
 * Reads a stored (uncompressed) ZIP archive as src/zip.ts writes it: walks the
 * central directory, checks each entry's local header and CRC-32.
 */
import { crc32 } from '../src/zip.js';

export function unzipStore(zip: Uint8Array): Map<string, Uint8Array> {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const eocd = zip.length - 22;
  if (eocd < 0 || view.getUint32(eocd, true) !== 0x06054b50) throw new Error('not a ZIP archive (no end-of-central-directory record at the end)');
  const count = view.getUint16(eocd + 10, true);
  let p = view.getUint32(eocd + 16, true);
  const dec = new TextDecoder();
  const out = new Map<string, Uint8Array>();
  for (let i = 0; i < count; i++) {
    if (view.getUint32(p, true) !== 0x02014b50) throw new Error(`ZIP: bad central directory entry ${i}`);
    const method = view.getUint16(p + 10, true);
    const crc = view.getUint32(p + 16, true);
    const size = view.getUint32(p + 20, true);
    const nameLength = view.getUint16(p + 28, true);
    const skip = nameLength + view.getUint16(p + 30, true) + view.getUint16(p + 32, true);
    const local = view.getUint32(p + 42, true);
    const name = dec.decode(zip.subarray(p + 46, p + 46 + nameLength));
    if (method !== 0) throw new Error(`ZIP: ${name} is compressed (method ${method}); only stored entries are read here`);
    if (view.getUint32(local, true) !== 0x04034b50) throw new Error(`ZIP: bad local header for ${name}`);
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    const data = zip.slice(start, start + size);
    if (crc32(data) !== crc) throw new Error(`ZIP: CRC mismatch for ${name}`);
    out.set(name, data);
    p += 46 + skip;
  }
  return out;
}

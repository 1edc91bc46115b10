/**
 * Readers for numpy's .npy (format versions 1–3) and .npz (ZIP of .npy entries) files, over bytes.
 * Supported dtypes: f4, f8, i1/i2/i4/i8, u1/u2/u4/u8, b1, and U<n> (UTF-32 strings), any
 * byte order. Data are returned in storage order (C order unless `fortranOrder`).
 */
import { inflateRawSync } from 'node:zlib';

export type NpyData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | string[];

export interface NpyArray {
  shape: number[];
  /** numpy dtype string as stored, e.g. '<f4', '<U21', '|b1'. */
  dtype: string;
  fortranOrder: boolean;
  data: NpyData;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

type Reader = (view: DataView, offset: number, little: boolean) => number | bigint;
const NUMERIC: Record<string, { size: number; make: (n: number) => NpyData & { [i: number]: number | bigint }; read: Reader }> = {
  f4: { size: 4, make: (n) => new Float32Array(n), read: (v, o, le) => v.getFloat32(o, le) },
  f8: { size: 8, make: (n) => new Float64Array(n), read: (v, o, le) => v.getFloat64(o, le) },
  i1: { size: 1, make: (n) => new Int8Array(n), read: (v, o) => v.getInt8(o) },
  i2: { size: 2, make: (n) => new Int16Array(n), read: (v, o, le) => v.getInt16(o, le) },
  i4: { size: 4, make: (n) => new Int32Array(n), read: (v, o, le) => v.getInt32(o, le) },
  i8: { size: 8, make: (n) => new BigInt64Array(n), read: (v, o, le) => v.getBigInt64(o, le) },
  u1: { size: 1, make: (n) => new Uint8Array(n), read: (v, o) => v.getUint8(o) },
  b1: { size: 1, make: (n) => new Uint8Array(n), read: (v, o) => v.getUint8(o) },
  u2: { size: 2, make: (n) => new Uint16Array(n), read: (v, o, le) => v.getUint16(o, le) },
  u4: { size: 4, make: (n) => new Uint32Array(n), read: (v, o, le) => v.getUint32(o, le) },
  u8: { size: 8, make: (n) => new BigUint64Array(n), read: (v, o, le) => v.getBigUint64(o, le) },
};

/** Value of `key` in the header's Python dict literal, as raw text. */
function headerField(header: string, key: string, pattern: string): string {
  const m = new RegExp(`['"]${key}['"]\\s*:\\s*(${pattern})`).exec(header);
  if (!m) throw new Error(`parseNpy: header lacks '${key}': ${header}`);
  return m[1]!;
}

/** Parse one .npy file. */
export function parseNpy(bytes: Uint8Array): NpyArray {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new Error('parseNpy: not a .npy file (bad magic)');
  const major = bytes[6]!;
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  const headerBytes = bytes.subarray(headerStart, headerStart + headerLen);
  const header = major >= 3 ? new TextDecoder('utf-8').decode(headerBytes) : new TextDecoder('latin1').decode(headerBytes);
  const dtype = headerField(header, 'descr', `'[^']*'|"[^"]*"`).slice(1, -1);
  const fortranOrder = headerField(header, 'fortran_order', 'True|False') === 'True';
  const shapeText = headerField(header, 'shape', '\\([^)]*\\)');
  const shape = shapeText.slice(1, -1).split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = headerStart + headerLen;

  const m = /^([<>|=])([a-zA-Z])(\d+)$/.exec(dtype);
  if (!m) throw new Error(`parseNpy: unsupported dtype '${dtype}'`);
  const [, order, kind, sizeText] = m;
  const little = order !== '>';
  const size = Number(sizeText);
  if (dataStart + count * (kind === 'U' ? 4 * size : size) > bytes.length) throw new Error('parseNpy: truncated data');

  if (kind === 'U') {
    // Fixed-width UTF-32 code units, NUL-padded.
    const data: string[] = [];
    for (let i = 0; i < count; i++) {
      let s = '';
      for (let c = 0; c < size; c++) {
        const cp = view.getUint32(dataStart + (i * size + c) * 4, little);
        if (cp === 0) break;
        s += String.fromCodePoint(cp);
      }
      data.push(s);
    }
    return { shape, dtype, fortranOrder, data };
  }
  const spec = NUMERIC[`${kind}${size}`];
  if (!spec) throw new Error(`parseNpy: unsupported dtype '${dtype}'`);
  const data = spec.make(count);
  for (let i = 0; i < count; i++) data[i] = spec.read(view, dataStart + i * spec.size, little);
  return { shape, dtype, fortranOrder, data };
}

let crcTable: Uint32Array | undefined;
/** CRC-32 (IEEE 802.3, as ZIP). */
export function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * Parse an .npz archive: walk the ZIP central directory (ZIP64 fields honoured), read each entry
 * through its local header, inflate it when deflated (np.savez_compressed), check its CRC-32 and
 * parse it as .npy. Keys are the entry names without '.npy'.
 */
export function parseNpz(bytes: Uint8Array): Record<string, NpyArray> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (o: number) => view.getUint16(o, true);
  const u32 = (o: number) => view.getUint32(o, true);
  const u64 = (o: number) => Number(view.getBigUint64(o, true));

  // End of central directory record: last occurrence of its signature (a comment may follow it).
  let eocd = -1;
  for (let o = bytes.length - 22; o >= Math.max(0, bytes.length - 22 - 0xffff); o--) {
    if (u32(o) === 0x06054b50) {
      eocd = o;
      break;
    }
  }
  if (eocd < 0) throw new Error('parseNpz: not a ZIP archive (no end of central directory)');
  let entries = u16(eocd + 10);
  let cdOffset = u32(eocd + 16);
  if ((entries === 0xffff || cdOffset === 0xffffffff) && eocd >= 20 && u32(eocd - 20) === 0x07064b50) {
    const z64 = u64(eocd - 20 + 8);
    if (u32(z64) !== 0x06064b50) throw new Error('parseNpz: bad ZIP64 end of central directory');
    entries = u64(z64 + 32);
    cdOffset = u64(z64 + 48);
  }

  const out: Record<string, NpyArray> = {};
  let p = cdOffset;
  for (let e = 0; e < entries; e++) {
    if (u32(p) !== 0x02014b50) throw new Error('parseNpz: bad central directory entry');
    const flags = u16(p + 8);
    const method = u16(p + 10);
    const crc = u32(p + 16);
    let compSize = u32(p + 20);
    let size = u32(p + 24);
    const nameLen = u16(p + 28);
    const extraLen = u16(p + 30);
    const commentLen = u16(p + 32);
    let localOffset = u32(p + 42);
    const name = new TextDecoder(flags & 0x800 ? 'utf-8' : 'latin1').decode(bytes.subarray(p + 46, p + 46 + nameLen));
    // ZIP64 extended information: only the fields saturated in the fixed record, in this order.
    for (let x = p + 46 + nameLen; x < p + 46 + nameLen + extraLen; x += 4 + u16(x + 2)) {
      if (u16(x) !== 0x0001) continue;
      let f = x + 4;
      if (size === 0xffffffff) {
        size = u64(f);
        f += 8;
      }
      if (compSize === 0xffffffff) {
        compSize = u64(f);
        f += 8;
      }
      if (localOffset === 0xffffffff) localOffset = u64(f);
    }
    p += 46 + nameLen + extraLen + commentLen;

    if (u32(localOffset) !== 0x04034b50) throw new Error(`parseNpz: bad local header for ${name}`);
    const dataStart = localOffset + 30 + u16(localOffset + 26) + u16(localOffset + 28);
    const raw = bytes.subarray(dataStart, dataStart + compSize);
    let content: Uint8Array;
    if (method === 0) content = raw;
    else if (method === 8) content = new Uint8Array(inflateRawSync(raw));
    else throw new Error(`parseNpz: ${name} uses unsupported compression method ${method}`);
    if (content.length !== size || crc32(content) !== crc) throw new Error(`parseNpz: ${name} is corrupt (size or CRC-32 mismatch)`);
    out[name.endsWith('.npy') ? name.slice(0, -4) : name] = parseNpy(content);
  }
  return out;
}

import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, parseNpy, parseNpz } from '../../lib/stats/index.js';

/** A .npy file built by hand: magic, version, header padded to a multiple of 64, raw data. */
function npy(header: string, data: Uint8Array, major = 1): Uint8Array {
  const pre = major === 1 ? 10 : 12;
  let h = header;
  while ((pre + h.length + 1) % 64 !== 0) h += ' ';
  h += '\n';
  const out = new Uint8Array(pre + h.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, h.length, true);
  else view.setUint32(8, h.length, true);
  out.set(new TextEncoder().encode(h), pre);
  out.set(data, pre + h.length);
  return out;
}

// np.savez_compressed(buf, a=np.arange(6,dtype='<f8').reshape(2,3)/4, b=np.array([-1,2,70000],dtype='<i4'),
//   names=np.array(['warm','cöld','€x']), big=np.array([1.5,-2.25],dtype='>f4'), flag=np.array([True,False]),
//   s=np.float64(32.5), i8=np.array([-3, 2**40],dtype='<i8'))   (numpy 2.4: deflate, data descriptors, ZIP64 extras)
const NPZ_COMPRESSED =
  'UEsDBC0AAAAIAAAAIQA0MXjI//////////8FABQAYS5ucHkBABAAsAAAAAAAAABXAAAAAAAAAJvsF+obEMnIUMZQrZ6SWpxcpG6loG6TZqGuo6Cell9UUpSYF59flJIKEndLzClOBYoXZyQWpAL5GkY6CsaaOgq1CmQDLgYUcMEeQj+A0i+g9Aco/cUeAFBLAwQtAAAACAAAACEAYELRZv//////////BQAUAGIubnB5AQAQAIwAAAAAAAAATwAAAAAAAACb7BfqGxDJyFDGUK2eklqcXKRupaBuk2mirqOgnpZfVFKUmBefX5SSChJ3S8wpTgWKF2ckFqQC+RrGOpo6CrUKFACu/0DAxMDAUCDIyAAAUEsDBC0AAAAIAAAAIQA1Ajfw//////////8JABQAbmFtZXMubnB5AQAQALAAAAAAAAAAYQAAAAAAAACb7BfqGxDJyFDGUK2eklqcXKRupaBuE2qirqOgnpZfVFKUmBefX5SSChJ3S8wpTgWKF2ckFqQC+RrGOpo6CrUKFACucgYGhkQgLgLiXCBOBuJvQJwDxClAvEaBgaGCAQEAUEsDBC0AAAAIAAAAIQAr/wLQ//////////8HABQAYmlnLm5weQEAEACIAAAAAAAAAEwAAAAAAAAAm+wX6hsQychQxlCtnpJanFykbqWgbpdmoq6joJ6WX1RSlJgXn1+UkgoSd0vMKU4FihdnJBakAvkaRjqaOgq1ChQALvsDDAwHBBgYAFBLAwQtAAAACAAAACEA7hm7Xf//////////CAAUAGZsYWcubnB5AQAQAIIAAAAAAAAARgAAAAAAAACb7BfqGxDJyFDGUK2eklqcXKRupaBek2SorqOgnpZfVFKUmBefX5SSChJ3S8wpTgWKF2ckFqQC+RpGOpo6CrUKFAAuRgYAUEsDBC0AAAAIAAAAIQD0s7V3//////////8FABQAcy5ucHkBABAAiAAAAAAAAABIAAAAAAAAAJvsF+obEMnIUMZQrZ6SWpxcpG6loG6TZqGuo6Cell9UUpSYF59flJIKEndLzClOBYoXZyQWpAL5Gpo6CrUKFAEuBhBwcHAAAFBLAwQtAAAACAAAACEAjqhdFP//////////BgAUAGk4Lm5weQEAEACQAAAAAAAAAE0AAAAAAAAAm+wX6hsQychQxlCtnpJanFykbqWgbpNpoa6joJ6WX1RSlJgXn1+UkgoSd0vMKU4FihdnJBakAvkaRjqaOgq1ChQArr//IYABBBgZGABQSwECLQMtAAAACAAAACEANDF4yFcAAACwAAAABQAAAAAAAAAAAAAAgAEAAAAAYS5ucHlQSwECLQMtAAAACAAAACEAYELRZk8AAACMAAAABQAAAAAAAAAAAAAAgAGOAAAAYi5ucHlQSwECLQMtAAAACAAAACEANQI38GEAAACwAAAACQAAAAAAAAAAAAAAgAEUAQAAbmFtZXMubnB5UEsBAi0DLQAAAAgAAAAhACv/AtBMAAAAiAAAAAcAAAAAAAAAAAAAAIABsAEAAGJpZy5ucHlQSwECLQMtAAAACAAAACEA7hm7XUYAAACCAAAACAAAAAAAAAAAAAAAgAE1AgAAZmxhZy5ucHlQSwECLQMtAAAACAAAACEA9LO1d0gAAACIAAAABQAAAAAAAAAAAAAAgAG1AgAAcy5ucHlQSwECLQMtAAAACAAAACEAjqhdFE0AAACQAAAABgAAAAAAAAAAAAAAgAE0AwAAaTgubnB5UEsFBgAAAAAHAAcAbwEAALkDAAAAAA==';

describe('parseNpy', () => {
  it('little-endian float32 vector (format 1.0)', () => {
    const data = new Uint8Array(Float32Array.from([1.5, -2, 0.1]).buffer);
    const a = parseNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", data));
    expect(a.shape).toEqual([3]);
    expect(a.dtype).toBe('<f4');
    expect(a.fortranOrder).toBe(false);
    expect(a.data).toBeInstanceOf(Float32Array);
    expect(Array.from(a.data as Float32Array)).toEqual([1.5, -2, Math.fround(0.1)]);
  });
  it('big-endian float64 matrix, format 2.0, and a 0-d scalar', () => {
    const bytes = new Uint8Array(16);
    new DataView(bytes.buffer).setFloat64(0, Math.PI, false);
    new DataView(bytes.buffer).setFloat64(8, -1e300, false);
    const a = parseNpy(npy("{'descr': '>f8', 'fortran_order': False, 'shape': (1, 2), }", bytes, 2));
    expect(a.shape).toEqual([1, 2]);
    expect(Array.from(a.data as Float64Array)).toEqual([Math.PI, -1e300]);
    const s = parseNpy(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", new Uint8Array(Float64Array.from([32.5]).buffer)));
    expect(s.shape).toEqual([]);
    expect(Array.from(s.data as Float64Array)).toEqual([32.5]);
  });
  it("'<U' unicode strings (UTF-32, NUL padded)", () => {
    const words = ['ab', 'ü😀'];
    const cps = new Uint32Array(6);
    words.forEach((w, i) => [...w].forEach((ch, j) => (cps[i * 3 + j] = ch.codePointAt(0)!)));
    const a = parseNpy(npy("{'descr': '<U3', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(cps.buffer)));
    expect(a.data).toEqual(words);
  });
  it('rejects bad magic, unknown dtypes and truncated data', () => {
    expect(() => parseNpy(new Uint8Array(20))).toThrow(/magic/);
    expect(() => parseNpy(npy("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(16)))).toThrow(/dtype/);
    expect(() => parseNpy(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }", new Uint8Array(8)))).toThrow(/truncated/);
  });
});

describe('parseNpz', () => {
  it('reads numpy’s savez_compressed output (deflate, data descriptors, ZIP64 extras)', () => {
    const z = parseNpz(new Uint8Array(Buffer.from(NPZ_COMPRESSED, 'base64')));
    expect(Object.keys(z).sort()).toEqual(['a', 'b', 'big', 'flag', 'i8', 'names', 's']);
    expect(z.a!.shape).toEqual([2, 3]);
    expect(Array.from(z.a!.data as Float64Array)).toEqual([0, 0.25, 0.5, 0.75, 1, 1.25]);
    expect(Array.from(z.b!.data as Int32Array)).toEqual([-1, 2, 70000]);
    expect(z.names!.dtype).toBe('<U4');
    expect(z.names!.data).toEqual(['warm', 'cöld', '€x']);
    expect(z.big!.dtype).toBe('>f4');
    expect(Array.from(z.big!.data as Float32Array)).toEqual([1.5, -2.25]);
    expect(Array.from(z.flag!.data as Uint8Array)).toEqual([1, 0]);
    expect(z.s!.shape).toEqual([]);
    expect(Array.from(z.s!.data as Float64Array)).toEqual([32.5]);
    expect(Array.from(z.i8!.data as BigInt64Array)).toEqual([-3n, 2n ** 40n]);
  });
  it('detects a corrupted entry by its CRC-32', () => {
    const stored = zipStored({ 'x.npy': npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(8)) });
    expect(parseNpz(stored).x!.shape).toEqual([2]);
    const bad = stored.slice();
    bad[30 + 'x.npy'.length + 130] ^= 0xff; // flip a byte inside the entry's data
    expect(() => parseNpz(bad)).toThrow(/corrupt/);
  });
  it('crc32 of "123456789" is the standard check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });
  it('reads a deflated entry written with plain local headers', () => {
    const content = npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(Float64Array.from([7, 8]).buffer));
    const z = parseNpz(zipStored({ 'y.npy': content }, true));
    expect(Array.from(z.y!.data as Float64Array)).toEqual([7, 8]);
  });
});

/** Minimal ZIP writer (stored or deflated entries) to build test archives. */
function zipStored(files: Record<string, Uint8Array>, deflate = false): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const [name, content] of Object.entries(files)) {
    const data = deflate ? new Uint8Array(deflateRawSync(content)) : content;
    const nameBytes = new TextEncoder().encode(name);
    const local = new Uint8Array(30 + nameBytes.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(8, deflate ? 8 : 0, true);
    lv.setUint32(14, crc32(content), true);
    lv.setUint32(18, data.length, true);
    lv.setUint32(22, content.length, true);
    lv.setUint16(26, nameBytes.length, true);
    local.set(nameBytes, 30);
    const cd = new Uint8Array(46 + nameBytes.length);
    const cv = new DataView(cd.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(10, deflate ? 8 : 0, true);
    cv.setUint32(16, crc32(content), true);
    cv.setUint32(20, data.length, true);
    cv.setUint32(24, content.length, true);
    cv.setUint16(28, nameBytes.length, true);
    cv.setUint32(42, offset, true);
    cd.set(nameBytes, 46);
    parts.push(local, data);
    central.push(cd);
    offset += local.length + data.length;
  }
  const cdSize = central.reduce((s, c) => s + c.length, 0);
  const eocd = new Uint8Array(22);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, central.length, true);
  ev.setUint16(10, central.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  const all = [...parts, ...central, eocd];
  const out = new Uint8Array(all.reduce((s, p) => s + p.length, 0));
  let p = 0;
  for (const a of all) {
    out.set(a, p);
    p += a.length;
  }
  return out;
}

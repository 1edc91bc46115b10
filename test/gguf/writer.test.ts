import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { f16Bits, f16Value, makeRandom, normalQuantiles, normalWeights } from '../../lib/engine/synthetic/weights.js';
import { GGML_TYPES, GgmlType, GgufValueType as T, GgufWriter, ggmlTensorBytes, readGgufHeader } from '../../lib/engine/gguf/index.js';
import { tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir('writer')));
afterAll(() => cleanup());

describe('GgufWriter → readGgufHeader round trip', () => {
  it('keeps every metadata value type, arrays included', async () => {
    const w = new GgufWriter();
    const big = (1n << 60n) + 7n;
    w.set('t.u8', T.UINT8, 255)
      .set('t.i8', T.INT8, -128)
      .set('t.u16', T.UINT16, 65535)
      .set('t.i16', T.INT16, -32768)
      .setU32('t.u32', 4294967295)
      .setI32('t.i32', -2147483648)
      .setF32('t.f32', 0.1)
      .setBool('t.bool', true)
      .setString('t.str', 'héllo ▁wörld 🎉\n"quoted"')
      .setString('t.empty', '')
      .setU64('t.u64.small', 12345)
      .setU64('t.u64.big', big)
      .set('t.i64', T.INT64, -(1n << 62n))
      .setF64('t.f64', Math.PI)
      .setArray('t.arr.u8', T.UINT8, [0, 1, 255])
      .setArray('t.arr.i8', T.INT8, [-1, 2])
      .setArray('t.arr.u16', T.UINT16, [1, 65535])
      .setArray('t.arr.i16', T.INT16, [-2, 3])
      .setArray('t.arr.u32', T.UINT32, [1, 2, 3])
      .setArray('t.arr.i32', T.INT32, [-1, 0, 1])
      .setArray('t.arr.f32', T.FLOAT32, [0.5, -2.25])
      .setArray('t.arr.bool', T.BOOL, [true, false, true])
      .setArray('t.arr.str', T.STRING, ['a', '', '<0x0A>', '▁the'])
      .setArray('t.arr.u64', T.UINT64, [1, big])
      .setArray('t.arr.i64', T.INT64, [-5, 5])
      .setArray('t.arr.f64', T.FLOAT64, [1e-300, -0])
      .setArray('t.arr.empty', T.INT32, []);
    const file = join(dir, 'kv.gguf');
    await w.write(file);
    const info = await readGgufHeader(file);
    const m = info.metadata;
    expect(info.version).toBe(3);
    expect(info.tensors).toEqual([]);
    expect(m.get('general.alignment')).toBe(32);
    expect(m.get('t.u8')).toBe(255);
    expect(m.get('t.i8')).toBe(-128);
    expect(m.get('t.u16')).toBe(65535);
    expect(m.get('t.i16')).toBe(-32768);
    expect(m.get('t.u32')).toBe(4294967295);
    expect(m.get('t.i32')).toBe(-2147483648);
    expect(m.get('t.f32')).toBe(Math.fround(0.1));
    expect(m.get('t.bool')).toBe(true);
    expect(m.get('t.str')).toBe('héllo ▁wörld 🎉\n"quoted"');
    expect(m.get('t.empty')).toBe('');
    expect(m.get('t.u64.small')).toBe(12345);
    expect(m.get('t.u64.big')).toBe(big);
    expect(m.get('t.i64')).toBe(-(1n << 62n));
    expect(m.get('t.f64')).toBe(Math.PI);
    expect(m.get('t.arr.u8')).toEqual([0, 1, 255]);
    expect(m.get('t.arr.i8')).toEqual([-1, 2]);
    expect(m.get('t.arr.u16')).toEqual([1, 65535]);
    expect(m.get('t.arr.i16')).toEqual([-2, 3]);
    expect(m.get('t.arr.u32')).toEqual([1, 2, 3]);
    expect(m.get('t.arr.i32')).toEqual([-1, 0, 1]);
    expect(m.get('t.arr.f32')).toEqual([0.5, -2.25]);
    expect(m.get('t.arr.bool')).toEqual([true, false, true]);
    expect(m.get('t.arr.str')).toEqual(['a', '', '<0x0A>', '▁the']);
    expect(m.get('t.arr.u64')).toEqual([1, big]);
    expect(m.get('t.arr.i64')).toEqual([-5, 5]);
    expect(m.get('t.arr.f64')).toEqual([1e-300, -0]);
    expect(m.get('t.arr.empty')).toEqual([]);
    expect(info.metadataTypes.get('t.arr.str')).toEqual({ type: T.ARRAY, elementType: T.STRING });
    expect(info.metadataTypes.get('t.i64')).toEqual({ type: T.INT64 });
    expect([...m.keys()][0]).toBe('general.alignment');
    expect(info.dataOffset).toBe(info.headerSize); // no tensors: no padding
    expect(info.fileSize).toBe(w.fileSize());
  });

  it('writes tensors aligned, in order, from bytes or from streamed fillers', async () => {
    const w = new GgufWriter({ chunkBytes: 64 }); // tiny chunks: exercises streaming and double buffering
    const a = new Uint8Array(ggmlTensorBytes([3], GgmlType.F32!)).map((_, i) => i + 1);
    w.addTensor('a', [3], GgmlType.F32!, a);
    w.addTensor('b', [64, 3], GgmlType.Q8_0!, normalWeights('q8_0', 0.02, 7, 'b'));
    w.addTensor('c', [5, 2, 3], GgmlType.F16!, normalWeights('f16', 1, 7, 'c'));
    w.addTensor('d', [256, 1, 1, 2], GgmlType.Q4_K!, () => (dst) => dst.fill(0x11));
    const file = join(dir, 'tensors.gguf');
    await w.write(file);
    const info = await readGgufHeader(file);
    expect(info.tensors.map((t) => [t.name, t.shape, t.typeName, t.offset, t.byteSize])).toEqual([
      ['a', [3], 'F32', 0, 12],
      ['b', [64, 3], 'Q8_0', 32, 6 * 34],
      ['c', [5, 2, 3], 'F16', 32 + 224, 60],
      ['d', [256, 1, 1, 2], 'Q4_K', 32 + 224 + 64, 2 * 144],
    ]);
    expect(info.dataOffset % 32).toBe(0);
    const bytes = await readFile(file);
    expect(bytes.length).toBe(info.dataOffset + 32 + 224 + 64 + 288);
    expect([...bytes.subarray(info.dataOffset, info.dataOffset + 12)]).toEqual([...a]);
    expect(bytes.subarray(info.dataOffset + 12, info.dataOffset + 32).every((x) => x === 0)).toBe(true);
    const d = info.tensors[3]!;
    expect(bytes.subarray(info.dataOffset + d.offset, info.dataOffset + d.offset + d.byteSize).every((x) => x === 0x11)).toBe(true);

    // The same tensors written with a different chunk size give the same bytes.
    const w2 = new GgufWriter();
    w2.addTensor('a', [3], GgmlType.F32!, a);
    w2.addTensor('b', [64, 3], GgmlType.Q8_0!, normalWeights('q8_0', 0.02, 7, 'b'));
    w2.addTensor('c', [5, 2, 3], GgmlType.F16!, normalWeights('f16', 1, 7, 'c'));
    w2.addTensor('d', [256, 1, 1, 2], GgmlType.Q4_K!, () => (dst) => dst.fill(0x11));
    await w2.write(join(dir, 'tensors2.gguf'));
    expect((await readFile(join(dir, 'tensors2.gguf'))).equals(bytes)).toBe(true);
  });

  it('rejects what it cannot write', () => {
    const w = new GgufWriter();
    expect(() => w.addTensor('x', [3], GgmlType.F32!, new Uint8Array(11))).toThrow(/11 data bytes, expected 12/);
    expect(() => w.addTensor('x', [33], GgmlType.Q8_0!, () => () => {})).toThrow(/multiple/);
    expect(() => w.addTensor('x', [0], GgmlType.F32!, new Uint8Array(0))).toThrow(/bad shape/);
    expect(() => w.addTensor('x'.repeat(64), [1], GgmlType.F32!, new Uint8Array(4))).toThrow(/1\.\.63 bytes/);
    expect(() => w.addTensor('x', [1], 4, new Uint8Array(4))).toThrow(/unknown ggml type/);
    w.addTensor('x', [1], GgmlType.F32!, new Uint8Array(4));
    expect(() => w.addTensor('x', [1], GgmlType.F32!, new Uint8Array(4))).toThrow(/duplicate/);
    expect(() => w.set('k', T.ARRAY, [1], T.ARRAY)).toThrow(/non-array element type/);
    expect(() => new GgufWriter({ alignment: 24 })).toThrow(/power of 2/);
    expect(() => w.setString('s', 5 as unknown as string).headerBytes()).toThrow(/does not fit/);
  });

  it('honours a non-default alignment', async () => {
    const w = new GgufWriter({ alignment: 64 });
    w.addTensor('a', [1], GgmlType.F32!, new Uint8Array(4));
    w.addTensor('b', [1], GgmlType.F32!, new Uint8Array(4));
    const file = join(dir, 'align64.gguf');
    await w.write(file);
    const info = await readGgufHeader(file);
    expect(info.alignment).toBe(64);
    expect(info.dataOffset % 64).toBe(0);
    expect(info.tensors[1]!.offset).toBe(64);
  });
});

describe('weights', () => {
  it('converts to half precision with round-to-nearest-even', () => {
    expect(f16Bits(0)).toBe(0);
    expect(f16Bits(-0)).toBe(0x8000);
    expect(f16Bits(1)).toBe(0x3c00);
    expect(f16Bits(-2)).toBe(0xc000);
    expect(f16Bits(65504)).toBe(0x7bff);
    expect(f16Bits(65520)).toBe(0x7c00); // rounds to +inf
    expect(f16Bits(Infinity)).toBe(0x7c00);
    expect(f16Bits(NaN) & 0x7e00).toBe(0x7e00);
    expect(f16Bits(2 ** -24)).toBe(1); // smallest subnormal
    expect(f16Bits(2 ** -26)).toBe(0);
    expect(f16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie → even
    expect(f16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    for (const x of [0.02, -0.0003, 1234.5, 6.2e-5]) expect(Math.abs(f16Value(f16Bits(x)) - x) / Math.abs(x)).toBeLessThan(2 ** -11);
    for (const x of [3e-7, -4.5e-6]) expect(Math.abs(f16Value(f16Bits(x)) - x)).toBeLessThanOrEqual(2 ** -25); // subnormals
  });

  it('draws standard-normal quantiles and independent seeded streams', () => {
    const z = normalQuantiles();
    let mean = 0;
    let sq = 0;
    for (const v of z) {
      mean += v;
      sq += v * v;
    }
    expect(Math.abs(mean / z.length)).toBeLessThan(1e-9);
    expect(Math.sqrt(sq / z.length)).toBeCloseTo(1, 2);
    const at = (p: number) => z[Math.round(p * 65536 - 0.5)]!; // z[i] = Φ⁻¹((i + 0.5) / 65536)
    expect(at(0.8413447)).toBeCloseTo(1, 3);
    expect(at(0.975)).toBeCloseTo(1.96, 2);
    expect(at(0.5 - 0.3413447)).toBeCloseTo(-1, 3);
    const r1 = makeRandom(1, 'x');
    const r2 = makeRandom(1, 'x');
    const r3 = makeRandom(1, 'y');
    const a = [r1(), r1(), r1()];
    expect([r2(), r2(), r2()]).toEqual(a);
    expect([r3(), r3(), r3()]).not.toEqual(a);
  });

  it('q8_0 blocks dequantize to N(0, std²)', () => {
    const fill = normalWeights('q8_0', 0.02, 3, 'w')();
    const buf = new Uint8Array(34 * 4096);
    fill(buf);
    const dv = new DataView(buf.buffer);
    let s = 0;
    let s2 = 0;
    const n = 32 * 4096;
    for (let b = 0; b < 4096; b++) {
      const d = f16Value(dv.getUint16(b * 34, true));
      for (let k = 0; k < 32; k++) {
        const x = d * dv.getInt8(b * 34 + 2 + k);
        s += x;
        s2 += x * x;
      }
    }
    expect(Math.abs(s / n)).toBeLessThan(0.001);
    expect(Math.sqrt(s2 / n)).toBeGreaterThan(0.019);
    expect(Math.sqrt(s2 / n)).toBeLessThan(0.021);
  });

  it('knows the block sizes of ggml types', () => {
    const bs = (name: string) => {
      const t = GGML_TYPES.get(GgmlType[name]!)!;
      return [t.blockSize, t.typeSize];
    };
    expect(bs('F32')).toEqual([1, 4]);
    expect(bs('BF16')).toEqual([1, 2]);
    expect(bs('Q4_0')).toEqual([32, 18]);
    expect(bs('Q8_0')).toEqual([32, 34]);
    expect(bs('Q2_K')).toEqual([256, 84]);
    expect(bs('Q3_K')).toEqual([256, 110]);
    expect(bs('Q4_K')).toEqual([256, 144]);
    expect(bs('Q5_K')).toEqual([256, 176]);
    expect(bs('Q6_K')).toEqual([256, 210]);
    expect(bs('Q8_K')).toEqual([256, 292]);
    expect(bs('IQ2_XXS')).toEqual([256, 66]);
    expect(bs('IQ4_NL')).toEqual([32, 18]);
    expect(bs('IQ4_XS')).toEqual([256, 136]);
    expect(bs('IQ1_M')).toEqual([256, 56]);
    expect(bs('TQ2_0')).toEqual([256, 66]);
    expect(bs('MXFP4')).toEqual([32, 17]);
    expect(GGML_TYPES.has(4)).toBe(false); // Q4_2: removed
    expect(GGML_TYPES.has(31)).toBe(false); // Q4_0_4_4: removed
  });
});

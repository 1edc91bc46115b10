/**
 * Damaged GGUF files, generated at test time from valid models (never committed): truncations at many
 * offsets, flipped bytes in the header, the metadata, the tensor infos and the tensor data, absurd
 * counts / dimensions / string lengths, wrong magic and version, hyperparameters and tokenizer fields
 * with values llama.cpp must not trust, and the file-system cases (empty, a directory, a FIFO, a
 * dangling link, no read permission).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

/** Where each field of a valid GGUF file lies (byte offsets). */
export interface GgufLayout {
  kvs: Array<{ key: string; keyLenAt: number; typeAt: number; type: number; valueAt: number; elemType?: number; countAt?: number; count?: number; elemsAt?: number; end: number }>;
  tensors: Array<{ name: string; nameLenAt: number; nDimsAt: number; nDims: number; dimsAt: number; typeAt: number; offsetAt: number }>;
  /** End of the tensor infos. */
  headerSize: number;
  /** Start of the tensor data (headerSize padded to the alignment). */
  dataOffset: number;
}

const FIXED = [1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8];

/** Walks a valid GGUF buffer and records where every key/value and tensor info lies. */
export function ggufLayout(b: Buffer): GgufLayout {
  let p = 8;
  const nT = Number(b.readBigUInt64LE(p));
  const nKv = Number(b.readBigUInt64LE(p + 8));
  p = 24;
  const str = () => {
    const n = Number(b.readBigUInt64LE(p));
    const s = b.toString('utf8', p + 8, p + 8 + n);
    p += 8 + n;
    return s;
  };
  const skip = (type: number) => {
    if (type === 8) str();
    else p += FIXED[type]!;
  };
  const kvs: GgufLayout['kvs'] = [];
  let alignment = 32;
  for (let i = 0; i < nKv; i++) {
    const keyLenAt = p;
    const key = str();
    const typeAt = p;
    const type = b.readUInt32LE(p);
    p += 4;
    const valueAt = p;
    if (type === 9) {
      const elemType = b.readUInt32LE(p);
      const countAt = p + 4;
      const count = Number(b.readBigUInt64LE(countAt));
      p += 12;
      const elemsAt = p;
      for (let j = 0; j < count; j++) skip(elemType);
      kvs.push({ key, keyLenAt, typeAt, type, valueAt, elemType, countAt, count, elemsAt, end: p });
    } else {
      if (key === 'general.alignment') alignment = b.readUInt32LE(p);
      skip(type);
      kvs.push({ key, keyLenAt, typeAt, type, valueAt, end: p });
    }
  }
  const tensors: GgufLayout['tensors'] = [];
  for (let i = 0; i < nT; i++) {
    const nameLenAt = p;
    const name = str();
    const nDimsAt = p;
    const nDims = b.readUInt32LE(p);
    p += 4;
    const dimsAt = p;
    p += 8 * nDims;
    const typeAt = p;
    p += 4;
    const offsetAt = p;
    p += 8;
    tensors.push({ name, nameLenAt, nDimsAt, nDims, dimsAt, typeAt, offsetAt });
  }
  return { kvs, tensors, headerSize: p, dataOffset: Math.ceil(p / alignment) * alignment };
}

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface DamagedFile {
  /** Unique, file-name safe: `<source>-<what>`. */
  name: string;
  path: string;
  /** What was done. */
  what: string;
  /** Damage category. */
  kind: 'truncated' | 'header' | 'absurd' | 'metadata' | 'metadata-flip' | 'tensor-info-flip' | 'tensor-data' | 'fs';
  /** True when the file must be refused (bad input); false: llama.cpp may load it (run or fail cleanly). */
  mustFail: boolean;
  /** Only readable by root (chmod 000): run the check as an unprivileged user. */
  unreadable?: boolean;
}

/**
 * Writes the damaged variants of `source` (a valid GGUF) into `dir`. `tag` prefixes the names.
 * Returns them in a stable order (the same bytes on every run for the same source).
 */
export function damageModel(source: string, tag: string, dir: string, seed = 1): DamagedFile[] {
  mkdirSync(dir, { recursive: true });
  const src = readFileSync(source);
  const L = ggufLayout(src);
  const out: DamagedFile[] = [];
  const rnd = prng(seed);
  const emit = (what: string, kind: DamagedFile['kind'], bytes: Buffer, mustFail: boolean) => {
    const name = `${tag}-${out.length.toString().padStart(3, '0')}-${what.replace(/[^\w.-]+/g, '_').slice(0, 60)}.gguf`;
    const path = join(dir, name);
    writeFileSync(path, bytes);
    out.push({ name, path, what: `${tag}: ${what}`, kind, mustFail });
  };
  const patched = (f: (b: Buffer) => void) => {
    const b = Buffer.from(src);
    f(b);
    return b;
  };
  const kv = (key: string) => L.kvs.find((k) => k.key === key);
  const arch = src.toString('utf8', kv('general.architecture')!.valueAt + 8, kv('general.architecture')!.end);

  // Truncated anywhere: in the header, the metadata, the tensor infos, the padding and the data.
  const cuts = new Set([
    1, 3, 4, 6, 8, 15, 20, 24, 30, 40,
    Math.floor(L.headerSize * 0.1), Math.floor(L.headerSize * 0.33), Math.floor(L.headerSize * 0.5), Math.floor(L.headerSize * 0.8),
    L.tensors[0]!.nameLenAt + 3, L.tensors.at(-1)!.offsetAt + 4, L.headerSize - 1, L.headerSize, L.dataOffset,
    L.dataOffset + 1, L.dataOffset + 4096, Math.floor(src.length / 2), src.length - 4096, src.length - 1,
  ]);
  for (const n of [...cuts].filter((n) => n > 0 && n < src.length).sort((a, b) => a - b)) emit(`truncated-at-${n}`, 'truncated', src.subarray(0, n), true);

  // Header: magic, version, counts.
  emit('magic-byte0-flipped', 'header', patched((b) => (b[0] ^= 0xff)), true);
  emit('magic-lowercase-f', 'header', patched((b) => (b[3] ^= 0x20)), true);
  emit('magic-GGJT-legacy', 'header', patched((b) => b.write('tjgg', 0, 'latin1')), true);
  emit('magic-zip', 'header', patched((b) => b.write('PK\x03\x04', 0, 'latin1')), true);
  for (const v of [0, 1, 4, 0x03000000, 0xffffffff]) emit(`version-${v}`, 'header', patched((b) => b.writeUInt32LE(v, 4)), true);
  emit('tensor-count-high-byte-flipped', 'header', patched((b) => (b[15] ^= 0x80)), true);
  emit('kv-count-high-byte-flipped', 'header', patched((b) => (b[23] ^= 0x80)), true);
  emit('tensor-count-byte1-flipped', 'header', patched((b) => (b[9] ^= 0x01)), true);
  emit('kv-count-byte0-flipped', 'header', patched((b) => (b[16] ^= 0x04)), true);

  // Absurd counts, dimensions and string lengths.
  const t0 = L.tensors[0]!;
  const t1 = L.tensors[1]!;
  const tokens = kv('tokenizer.ggml.tokens')!;
  emit('tensor-count-2^40', 'absurd', patched((b) => b.writeBigUInt64LE(1n << 40n, 8)), true);
  emit('tensor-count-plus-1', 'absurd', patched((b) => b.writeBigUInt64LE(b.readBigUInt64LE(8) + 1n, 8)), true);
  emit('kv-count-2^64-1', 'absurd', patched((b) => b.writeBigUInt64LE(0xffffffffffffffffn, 16)), true);
  emit('kv-count-plus-3', 'absurd', patched((b) => b.writeBigUInt64LE(b.readBigUInt64LE(16) + 3n, 16)), true);
  emit('kv-count-0', 'absurd', patched((b) => b.writeBigUInt64LE(0n, 16)), true);
  emit('first-key-length-2^50', 'absurd', patched((b) => b.writeBigUInt64LE(1n << 50n, 24)), true);
  emit('first-key-length-0', 'absurd', patched((b) => b.writeBigUInt64LE(0n, 24)), true);
  emit('arch-string-length-2^40', 'absurd', patched((b) => b.writeBigUInt64LE(1n << 40n, kv('general.architecture')!.valueAt)), true);
  emit('token-array-count-2^60', 'absurd', patched((b) => b.writeBigUInt64LE(1n << 60n, tokens.countAt!)), true);
  emit('token-array-count-plus-1', 'absurd', patched((b) => b.writeBigUInt64LE(BigInt(tokens.count! + 1), tokens.countAt!)), true);
  emit('token-string-length-2^33', 'absurd', patched((b) => b.writeBigUInt64LE(1n << 33n, tokens.elemsAt! + 64 * 0)), true);
  emit('token-array-elem-type-array', 'absurd', patched((b) => b.writeUInt32LE(9, tokens.valueAt)), true);
  emit('tensor-name-length-2^45', 'absurd', patched((b) => b.writeBigUInt64LE(1n << 45n, t1.nameLenAt)), true);
  emit('tensor-ndims-0', 'absurd', patched((b) => b.writeUInt32LE(0, t0.nDimsAt)), true);
  emit('tensor-ndims-5', 'absurd', patched((b) => b.writeUInt32LE(5, t0.nDimsAt)), true);
  emit('tensor-ndims-2^31', 'absurd', patched((b) => b.writeUInt32LE(0x80000000, t1.nDimsAt)), true);
  emit('tensor-dim0-2^62', 'absurd', patched((b) => b.writeBigUInt64LE(1n << 62n, t0.dimsAt)), true);
  emit('tensor-dim-2^31', 'absurd', patched((b) => b.writeBigUInt64LE(1n << 31n, t0.dimsAt + 8 * (t0.nDims - 1))), true);
  emit('tensor-dim-0', 'absurd', patched((b) => b.writeBigUInt64LE(0n, t1.dimsAt)), true);
  emit('tensor-dim-doubled', 'absurd', patched((b) => b.writeBigUInt64LE(b.readBigUInt64LE(t1.dimsAt) * 2n, t1.dimsAt)), true);
  emit('tensor-type-99', 'absurd', patched((b) => b.writeUInt32LE(99, t1.typeAt)), true);
  emit('tensor-type-q8_0', 'absurd', patched((b) => b.writeUInt32LE(8, t1.typeAt)), true);
  emit('tensor-offset-misaligned', 'absurd', patched((b) => b.writeBigUInt64LE(b.readBigUInt64LE(t1.offsetAt) + 4n, t1.offsetAt)), true);
  emit('tensor-offset-2^60', 'absurd', patched((b) => b.writeBigUInt64LE(1n << 60n, L.tensors.at(-1)!.offsetAt)), true);
  emit('tensor-offset-overlap', 'absurd', patched((b) => b.writeBigUInt64LE(0n, t1.offsetAt)), true);

  // Metadata values llama.cpp must not be handed.
  const u32 = (key: string, v: number, mustFail = true) => {
    const k = kv(key);
    if (k && k.type === 4) emit(`${key}=${v}`, 'metadata', patched((b) => b.writeUInt32LE(v >>> 0, k.valueAt)), mustFail);
  };
  const f32 = (key: string, v: number, label: string, mustFail: boolean) => {
    const k = kv(key);
    if (k && k.type === 6) emit(`${key}=${label}`, 'metadata', patched((b) => b.writeFloatLE(v, k.valueAt)), mustFail);
  };
  u32(`${arch}.block_count`, 0);
  u32(`${arch}.block_count`, 100000);
  u32(`${arch}.block_count`, (kv(`${arch}.block_count`) ? src.readUInt32LE(kv(`${arch}.block_count`)!.valueAt) : 1) + 1);
  u32(`${arch}.embedding_length`, 0);
  u32(`${arch}.embedding_length`, 0x7fffffff);
  u32(`${arch}.attention.head_count`, 0);
  u32(`${arch}.attention.head_count`, 3);
  u32(`${arch}.attention.head_count_kv`, 0);
  u32(`${arch}.feed_forward_length`, 0xffffffff);
  u32(`${arch}.rope.dimension_count`, 1);
  u32(`${arch}.context_length`, 0);
  u32(`${arch}.context_length`, 0xffffffff, false);
  f32(`${arch}.attention.layer_norm_rms_epsilon`, NaN, 'NaN', false);
  f32(`${arch}.attention.layer_norm_rms_epsilon`, -1, '-1', false);
  f32(`${arch}.rope.freq_base`, 0, '0', false);
  u32('tokenizer.ggml.bos_token_id', 0xfffffff0, false);
  u32('tokenizer.ggml.eos_token_id', 1 << 30, false);
  u32('tokenizer.ggml.unknown_token_id', 0xffffffff, false);
  u32('general.alignment', 3);
  const archKv = kv('general.architecture')!;
  emit('architecture-unknown', 'metadata', patched((b) => b.fill('z', archKv.valueAt + 8, archKv.end)), true);
  emit('architecture-key-type-u32', 'metadata', patched((b) => b.writeUInt32LE(4, archKv.typeAt)), true);
  emit('first-value-type-13', 'metadata', patched((b) => b.writeUInt32LE(13, L.kvs[0]!.typeAt)), true);
  const model = kv('tokenizer.ggml.model')!;
  emit('tokenizer-model-unknown', 'metadata', patched((b) => b.fill('q', model.valueAt + 8, model.end)), true);
  emit('token-duplicated', 'metadata', patched((b) => {
    // make token 300's text equal to token 301's when both have the same length; else overwrite a byte
    let p = tokens.elemsAt!;
    const at: Array<{ off: number; len: number }> = [];
    for (let j = 0; j < tokens.count!; j++) {
      const n = Number(b.readBigUInt64LE(p));
      at.push({ off: p + 8, len: n });
      p += 8 + n;
    }
    const pair = at.findIndex((x, j) => j > 300 && x.len === at[j + 1]?.len && x.len >= 2);
    b.copy(b, at[pair]!.off, at[pair + 1]!.off, at[pair + 1]!.off + at[pair]!.len);
  }), true);
  const types = kv('tokenizer.ggml.token_type');
  if (types) emit('token-types-garbage', 'metadata', patched((b) => { for (let j = 0; j < 64; j++) b.writeInt32LE(0x7fffffff - j, types.elemsAt! + 4 * j); }), false);
  const scores = kv('tokenizer.ggml.scores');
  if (scores) emit('token-scores-NaN', 'metadata', patched((b) => { for (let j = 0; j < scores.count!; j++) b.writeFloatLE(NaN, scores.elemsAt! + 4 * j); }), false);
  // the byte-fallback tokens <0x00>..<0xFF> (SPM vocabularies): damage their text
  const byteTok = (() => {
    let p = tokens.elemsAt!;
    for (let j = 0; j < tokens.count!; j++) {
      const n = Number(src.readBigUInt64LE(p));
      if (src.toString('latin1', p + 8, p + 8 + n) === '<0x0A>') return p + 8;
      p += 8 + n;
    }
    return -1;
  })();
  if (byteTok >= 0) emit('newline-byte-token-renamed', 'metadata', patched((b) => b.write('<0xZZ>', byteTok, 'latin1')), false);

  // Random single-byte flips in the metadata (mostly token texts) and in the tensor infos.
  const metaStart = 24;
  const metaEnd = t0.nameLenAt;
  for (let i = 0; i < 12; i++) {
    const at = metaStart + Math.floor(rnd() * (metaEnd - metaStart));
    const x = 1 + Math.floor(rnd() * 255);
    emit(`metadata-byte-${at}-xor-${x}`, 'metadata-flip', patched((b) => (b[at] ^= x)), false);
  }
  for (let i = 0; i < 6; i++) {
    const at = metaEnd + Math.floor(rnd() * (L.headerSize - metaEnd));
    const x = 1 + Math.floor(rnd() * 255);
    emit(`tensor-info-byte-${at}-xor-${x}`, 'tensor-info-flip', patched((b) => (b[at] ^= x)), false);
  }

  // Tensor data: flipped bytes, NaN and Inf runs (loadable: must run or fail cleanly).
  for (let i = 0; i < 3; i++) {
    const at = L.dataOffset + Math.floor(rnd() * (src.length - L.dataOffset));
    emit(`data-byte-${at}-flipped`, 'tensor-data', patched((b) => (b[at] ^= 0xff)), false);
  }
  emit('data-NaN-run', 'tensor-data', patched((b) => { for (let p = L.dataOffset; p < L.dataOffset + 4096; p += 4) b.writeFloatLE(NaN, p); }), false);
  emit('data-Inf-everywhere-in-last-tensor', 'tensor-data', patched((b) => { for (let p = src.length - 4096; p + 4 <= src.length; p += 4) b.writeFloatLE(Infinity, p); }), false);
  return out;
}

/** The file-system cases: empty file, a directory, a FIFO, a dangling link, text, no read permission. */
export function fileSystemCases(source: string, dir: string): DamagedFile[] {
  mkdirSync(dir, { recursive: true });
  const out: DamagedFile[] = [];
  const add = (name: string, what: string, extra: Partial<DamagedFile> = {}) => out.push({ name, path: join(dir, name), what, kind: 'fs', mustFail: true, ...extra });
  writeFileSync(join(dir, 'empty.gguf'), '');
  add('empty.gguf', 'an empty file');
  mkdirSync(join(dir, 'folder.gguf'), { recursive: true });
  add('folder.gguf', 'a directory');
  writeFileSync(join(dir, 'text.gguf'), 'this is not a model, just a few words of text\n');
  add('text.gguf', 'a text file');
  symlinkSync(join(dir, 'nowhere.gguf'), join(dir, 'dangling.gguf'));
  add('dangling.gguf', 'a dangling symbolic link');
  add('missing.gguf', 'a file that does not exist');
  const fifo = spawnSync('mkfifo', [join(dir, 'pipe.gguf')]);
  if (fifo.status === 0) add('pipe.gguf', 'a FIFO (reading it would block)');
  const locked = join(dir, 'locked.gguf');
  writeFileSync(locked, readFileSync(source));
  spawnSync('chmod', ['000', locked]);
  add('locked.gguf', `no read permission (a copy of ${basename(source)}, mode 000)`, { unreadable: true });
  return out;
}

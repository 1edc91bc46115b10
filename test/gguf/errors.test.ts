import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { nodeHonouringPermissions } from '../helpers/privileges.js';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFixtureModel } from '../../fixtures/models.js';
import { builtinTokenizer } from '../../lib/engine/synthetic/tokenizer.js';
import { MoodaxisError } from '../../lib/engine/errors.js';
import { GgmlType, GgufValueType as T, GgufWriter, readGgufHeader, validateForLlama, type GgufInfo } from '../../lib/engine/gguf/index.js';
import { expectGgufError, findGgufString, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
/** A small valid GGUF: three keys and two F32 tensors. */
let base: Buffer;
/** The tiny preset: a realistic file with a 1.6k-token vocabulary and 39 tensors. */
let tiny: Buffer;
let tinyInfo: GgufInfo;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('errors'));
  const w = new GgufWriter();
  w.setString('x.name', 'abc').setU32('x.u', 7).setArray('x.arr', T.STRING, ['p', 'q']);
  w.addTensor('ta', [32, 2], GgmlType.F32!, new Uint8Array(256).fill(1));
  w.addTensor('tb', [8], GgmlType.F32!, new Uint8Array(32).fill(2));
  await w.write(join(dir, 'base.gguf'));
  base = await readFile(join(dir, 'base.gguf'));
  const tinyPath = await ensureFixtureModel('tiny', join(dir, 'fixtures'));
  tiny = await readFile(tinyPath);
  tinyInfo = await readGgufHeader(tinyPath);
});
afterAll(() => cleanup());

/** Writes `bytes` as `name` in the temp folder and reads it. */
async function readVariant(name: string, bytes: Buffer): Promise<GgufInfo> {
  const p = join(dir, name);
  await writeFile(p, bytes);
  return readGgufHeader(p);
}

/** A copy of `base` with `patch` applied. */
function patched(patch: (b: Buffer) => void, from: Buffer = base): Buffer {
  const b = Buffer.from(from);
  patch(b);
  return b;
}

/** Positions inside `base`. */
const at = {
  key: (k: string) => findGgufString(base, k),
  /** Start of tensor `name`'s info; fields follow: n_dims, dims, type, offset. */
  tensor: (name: string) => {
    const p = findGgufString(base, name) + 8 + Buffer.byteLength(name);
    return { nDims: p, dim: (i: number) => p + 4 + 8 * i, type: (nDims: number) => p + 4 + 8 * nDims, offset: (nDims: number) => p + 4 + 8 * nDims + 4 };
  },
};

describe('the base files are valid', () => {
  it('reads them', async () => {
    const info = await readVariant('ok.gguf', base);
    expect(info.tensors.map((t) => t.name)).toEqual(['ta', 'tb']);
    expect(info.metadata.get('x.arr')).toEqual(['p', 'q']);
    expect(tinyInfo.tensors.length).toBe(39);
  });
});

describe('file system problems', () => {
  it('missing file → ENOENT', async () => {
    await expectGgufError(readGgufHeader(join(dir, 'nope.gguf')), 'ENOENT', 'nope.gguf', 'no such file');
  });

  it('directory → EISDIR', async () => {
    await mkdir(join(dir, 'model.gguf.d'));
    await expectGgufError(readGgufHeader(join(dir, 'model.gguf.d')), 'EISDIR', 'model.gguf.d', 'is a directory');
  });

  it('empty file → EMPTY', async () => {
    await expectGgufError(readVariant('empty.gguf', Buffer.alloc(0)), 'EMPTY', 'empty.gguf', 'empty');
  });

  it.skipIf(!existsSync('/dev/null'))('device → NOT_FILE', async () => {
    await expectGgufError(readGgufHeader('/dev/null'), 'NOT_FILE', 'null', 'not a regular file');
  });

  it('unreadable file → EACCES', async () => {
    const p = join(dir, 'locked.gguf');
    await writeFile(p, base);
    await chmod(p, 0o000);
    if (process.getuid?.() !== 0) {
      await expectGgufError(readGgufHeader(p), 'EACCES', 'locked.gguf', 'permission denied');
      return;
    }
    // Root reads any file, so run the reader (its modules transpiled as they are) in a child process without the capabilities that let it.
    const probeDir = join(dir, 'probe');
    await mkdir(probeDir);
    // the GGUF module (lib/engine/gguf/*) and the one module it imports from above (lib/engine/errors.ts)
    const ggufDir = new URL('../../lib/engine/gguf/', import.meta.url);
    const transpile = (src: string) => ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    await mkdir(join(probeDir, 'gguf'), { recursive: true });
    for (const name of (await readdir(ggufDir)).filter((f) => f.endsWith('.ts'))) {
      await writeFile(join(probeDir, 'gguf', name.replace(/\.ts$/, '.js')), transpile(await readFile(new URL(name, ggufDir), 'utf8')));
    }
    await writeFile(join(probeDir, 'errors.js'), transpile(await readFile(new URL('../../lib/engine/errors.ts', import.meta.url), 'utf8')));
    await writeFile(join(probeDir, 'package.json'), JSON.stringify({ type: 'module' }));
    await writeFile(
      join(probeDir, 'probe.mjs'),
      `import { readGgufHeader } from './gguf/index.js';
       try { await readGgufHeader(process.argv[2]); console.log(JSON.stringify({ ok: true })); }
       catch (e) { console.log(JSON.stringify({ code: e.code, reason: e.reason, message: e.message })); }`,
    );
    for (const d of [dir, probeDir]) await chmod(d, 0o755);
    const probe = (file: string) => {
      const [cmd, args] = nodeHonouringPermissions([join(probeDir, 'probe.mjs'), file]);
      return promisify(execFile)(cmd, args, { encoding: 'utf8', timeout: 60_000 });
    };
    const r = await probe(p);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ code: 'BAD_INPUT', reason: 'EACCES', message: 'locked.gguf: permission denied: the file cannot be read' });
    // and the same reader, readable file, same user: no error (the probe itself works)
    await chmod(p, 0o644);
    const ok = await probe(p);
    expect(JSON.parse(ok.stdout)).toEqual({ ok: true });
  });
});

describe('header', () => {
  it('foreign magic → BAD_MAGIC with the bytes shown', async () => {
    const zip = patched((b) => b.write('PK\x03\x04', 0, 'latin1'));
    await expectGgufError(readVariant('stories.gguf', zip), 'BAD_MAGIC', 'stories.gguf', 'not a GGUF file (magic "PK\\x03\\x04", expected "GGUF")');
    const ggjt = patched((b) => b.write('tjgg', 0, 'latin1'));
    await expectGgufError(readVariant('old.bin', ggjt), 'BAD_MAGIC', 'old.bin', 'legacy GGJT');
    await expectGgufError(readVariant('short.gguf', Buffer.from('XY')), 'BAD_MAGIC', 'short.gguf', 'magic "XY"');
  });

  it('other versions → BAD_VERSION', async () => {
    for (const [v, text] of [[1, 'version 1 files must be re-converted'], [4, 'unsupported GGUF version 4'], [0, 'unsupported GGUF version 0'], [0x03000000, 'big-endian']] as const) {
      await expectGgufError(readVariant(`v${v}.gguf`, patched((b) => b.writeUInt32LE(v, 4))), 'BAD_VERSION', `v${v}.gguf`, text);
    }
    const v2 = await readVariant('v2.gguf', patched((b) => b.writeUInt32LE(2, 4)));
    expect(v2.version).toBe(2);
  });

  it('absurd counts → BAD_TENSOR / BAD_METADATA; counts the file cannot hold → TRUNCATED', async () => {
    await expectGgufError(readVariant('tc.gguf', patched((b) => b.writeBigUInt64LE(1n << 40n, 8))), 'BAD_TENSOR', 'tc.gguf', 'absurd tensor count 1099511627776');
    await expectGgufError(readVariant('kc.gguf', patched((b) => b.writeBigUInt64LE(0xffffffffffffffffn, 16))), 'BAD_METADATA', 'kc.gguf', 'absurd metadata key count');
    await expectGgufError(readVariant('tc2.gguf', patched((b) => b.writeBigUInt64LE(1000n, 8))), 'TRUNCATED', 'tc2.gguf', 'declares 1000 tensors', 'need at least');
  });
});

describe('truncated copies of the tiny model → TRUNCATED', () => {
  const cuts = () => {
    const infos = tinyInfo.headerSize;
    return [
      ['magic', 3],
      ['counts', 20],
      ['first key', 30],
      ['token list', 12_000],
      ['tensor infos', infos - 40],
      ['data start', tinyInfo.dataOffset],
      ['last byte', tiny.length - 1],
    ] as const;
  };
  it.each([0, 1, 2, 3, 4, 5, 6])('cut #%i', async (i) => {
    const [where, len] = cuts()[i]!;
    const name = `cut-${where.replace(/ /g, '-')}.gguf`;
    const g = await expectGgufError(readVariant(name, tiny.subarray(0, len)), 'TRUNCATED', name, 'truncated');
    if (where === 'last byte') expect(g.message).toBe(`${name}: truncated: tensor 'blk.3.ffn_up.weight' data ends at byte ${tiny.length} but the file has ${tiny.length - 1} bytes`);
    if (where === 'data start') expect(g.message).toContain(`tensor 'token_embd.weight' data ends at byte`);
    if (where === 'token list') expect(g.message).toContain(`metadata key 'tokenizer.ggml.tokens'`);
    if (where === 'tensor infos') expect(g.message).toMatch(/tensor '|tensor #/);
  });
});

describe('metadata', () => {
  it('absurd string lengths → BAD_METADATA', async () => {
    const k = at.key('x.name');
    await expectGgufError(readVariant('keylen.gguf', patched((b) => b.writeBigUInt64LE(1n << 50n, k))), 'BAD_METADATA', 'keylen.gguf', 'metadata key #', 'absurd length');
    const valueLen = k + 8 + 6 + 4;
    await expectGgufError(readVariant('strlen.gguf', patched((b) => b.writeBigUInt64LE(1n << 40n, valueLen))), 'BAD_METADATA', 'strlen.gguf', "metadata key 'x.name'", 'absurd length');
    await expectGgufError(readVariant('strlen2.gguf', patched((b) => b.writeBigUInt64LE(BigInt(base.length), valueLen))), 'TRUNCATED', 'strlen2.gguf', "metadata key 'x.name'", 'runs past the end');
  });

  it('absurd array lengths → BAD_METADATA', async () => {
    const k = at.key('x.arr');
    const countAt = k + 8 + 5 + 4 + 4;
    await expectGgufError(readVariant('arrlen.gguf', patched((b) => b.writeBigUInt64LE(1n << 60n, countAt))), 'BAD_METADATA', 'arrlen.gguf', "'x.arr'", 'absurd array length');
  });

  it('unknown value types and nested arrays → BAD_METADATA', async () => {
    const k = at.key('x.u');
    await expectGgufError(readVariant('vt.gguf', patched((b) => b.writeUInt32LE(13, k + 8 + 3))), 'BAD_METADATA', 'vt.gguf', "'x.u'", 'unknown value type 13');
    const a = at.key('x.arr');
    await expectGgufError(readVariant('nested.gguf', patched((b) => b.writeUInt32LE(T.ARRAY, a + 8 + 5 + 4))), 'BAD_METADATA', 'nested.gguf', 'nested');
  });

  it('duplicate and empty keys → BAD_METADATA', async () => {
    const w = new GgufWriter();
    w.setU32('k.aa', 1).setU32('k.ab', 2);
    const f = join(dir, 'dupsrc.gguf');
    await w.write(f);
    const src = await readFile(f);
    const second = findGgufString(src, 'k.ab');
    await expectGgufError(readVariant('dupkey.gguf', patched((b) => b.write('k.aa', second + 8, 'latin1'), src)), 'BAD_METADATA', 'dupkey.gguf', "duplicate metadata key 'k.aa'");
    await expectGgufError(readVariant('emptykey.gguf', patched((b) => b.writeBigUInt64LE(0n, second), src)), 'BAD_METADATA', 'emptykey.gguf', 'is empty');
  });

  it('bad general.alignment → BAD_METADATA', async () => {
    const k = at.key('general.alignment') + 8 + 17;
    await expectGgufError(readVariant('align3.gguf', patched((b) => b.writeUInt32LE(3, k + 4))), 'BAD_METADATA', 'align3.gguf', 'alignment 3 is not a power of 2');
    await expectGgufError(readVariant('alignT.gguf', patched((b) => b.writeUInt32LE(T.INT32, k))), 'BAD_METADATA', 'alignT.gguf', "'general.alignment' must be of type u32 but is i32");
  });
});

describe('tensor infos', () => {
  it('dimension count outside 1..4 → BAD_TENSOR', async () => {
    const t = at.tensor('ta');
    await expectGgufError(readVariant('ndims.gguf', patched((b) => b.writeUInt32LE(7, t.nDims))), 'BAD_TENSOR', 'ndims.gguf', "tensor 'ta' has 7 dimensions");
    await expectGgufError(readVariant('ndims0.gguf', patched((b) => b.writeUInt32LE(0, t.nDims))), 'BAD_TENSOR', 'ndims0.gguf', '0 dimensions');
  });

  it('zero or overflowing dimensions → BAD_TENSOR; dimensions past the file → TRUNCATED', async () => {
    const t = at.tensor('ta');
    await expectGgufError(readVariant('dim0.gguf', patched((b) => b.writeBigUInt64LE(0n, t.dim(1)))), 'BAD_TENSOR', 'dim0.gguf', "tensor 'ta' has size 0 in dimension 1");
    await expectGgufError(readVariant('dimneg.gguf', patched((b) => b.writeBigUInt64LE(0xffffffffffffff00n, t.dim(1)))), 'BAD_TENSOR', 'dimneg.gguf', 'absurd size');
    await expectGgufError(readVariant('dimovf.gguf', patched((b) => b.writeBigUInt64LE(1n << 62n, t.dim(1)))), 'BAD_TENSOR', 'dimovf.gguf', 'more elements than a 64-bit count can hold');
    await expectGgufError(readVariant('dimbig.gguf', patched((b) => b.writeBigUInt64LE(1n << 50n, t.dim(1)))), 'BAD_TENSOR', 'dimbig.gguf', 'absurdly large');
    await expectGgufError(readVariant('dimfile.gguf', patched((b) => b.writeBigUInt64LE(1000n, t.dim(1)))), 'TRUNCATED', 'dimfile.gguf', "tensor 'ta' data ends at byte");
  });

  it('unknown, removed or misfitting ggml types → BAD_TENSOR', async () => {
    const t = at.tensor('tb');
    await expectGgufError(readVariant('type99.gguf', patched((b) => b.writeUInt32LE(99, t.type(1)))), 'BAD_TENSOR', 'type99.gguf', "tensor 'tb' has unknown or unsupported ggml type 99");
    await expectGgufError(readVariant('type31.gguf', patched((b) => b.writeUInt32LE(31, t.type(1)))), 'BAD_TENSOR', 'type31.gguf', 'ggml type 31');
    await expectGgufError(readVariant('q8rows.gguf', patched((b) => b.writeUInt32LE(GgmlType.Q8_0!, t.type(1)))), 'BAD_TENSOR', 'q8rows.gguf', 'rows of 8 elements, not a multiple of the block size 32');
  });

  it('long, empty or duplicate names → BAD_TENSOR', async () => {
    const name = findGgufString(base, 'tb');
    await expectGgufError(readVariant('dupname.gguf', patched((b) => b.write('ta', name + 8, 'latin1'))), 'BAD_TENSOR', 'dupname.gguf', "duplicate tensor name 'ta'");
    await expectGgufError(readVariant('longname.gguf', patched((b) => b.writeBigUInt64LE(64n, name))), 'BAD_TENSOR', 'longname.gguf', 'is 64 bytes long; at most 63');
    await expectGgufError(readVariant('noname.gguf', patched((b) => b.writeBigUInt64LE(0n, name))), 'BAD_TENSOR', 'noname.gguf', 'empty name');
  });

  it('misaligned, overlapping or out-of-order offsets → BAD_TENSOR', async () => {
    const off = at.tensor('tb').offset(1);
    expect(base.readBigUInt64LE(off)).toBe(256n);
    await expectGgufError(readVariant('misaligned.gguf', patched((b) => b.writeBigUInt64LE(260n, off))), 'BAD_TENSOR', 'misaligned.gguf', "tensor 'tb' has data offset 260, not a multiple of the alignment 32");
    await expectGgufError(readVariant('overlap.gguf', patched((b) => b.writeBigUInt64LE(128n, off))), 'BAD_TENSOR', 'overlap.gguf', "tensor 'tb' has data offset 128, expected 256");
    await expectGgufError(readVariant('gap.gguf', patched((b) => b.writeBigUInt64LE(288n, off))), 'BAD_TENSOR', 'gap.gguf', 'expected 256');
    await expectGgufError(readVariant('huge.gguf', patched((b) => b.writeBigUInt64LE(1n << 60n, off))), 'BAD_TENSOR', 'huge.gguf', 'absurdly large');
  });
});

describe('validateForLlama', () => {
  const FILE = '/models/tiny.gguf';
  const clone = (edit: (i: GgufInfo) => void): GgufInfo => {
    const c: GgufInfo = { ...tinyInfo, metadata: new Map(tinyInfo.metadata), metadataTypes: new Map(tinyInfo.metadataTypes), tensors: tinyInfo.tensors.map((t) => ({ ...t, shape: [...t.shape] })) };
    edit(c);
    return c;
  };
  const check = (info: GgufInfo) => () => validateForLlama(info, FILE);

  it('accepts the fixture', () => {
    expect(check(tinyInfo)).not.toThrow();
  });

  it('unknown architectures → UNSUPPORTED_ARCH naming them', async () => {
    await expectGgufError(check(clone((i) => i.metadata.set('general.architecture', 'gpt5'))), 'UNSUPPORTED_ARCH', 'tiny.gguf', "unsupported architecture 'gpt5'");
    await expectGgufError(check(clone((i) => i.metadata.set('general.architecture', 'clip'))), 'UNSUPPORTED_ARCH', 'tiny.gguf', "'clip'", 'not a language model');
  });

  it('missing or insane hyperparameters → BAD_METADATA', async () => {
    await expectGgufError(check(clone((i) => i.metadata.delete('general.architecture'))), 'BAD_METADATA', 'tiny.gguf', "missing required metadata key 'general.architecture'");
    await expectGgufError(check(clone((i) => i.metadata.set('general.architecture', 'qwen2'))), 'BAD_METADATA', 'tiny.gguf', "missing required metadata key 'qwen2.block_count'");
    await expectGgufError(check(clone((i) => i.metadata.delete('llama.embedding_length'))), 'BAD_METADATA', 'tiny.gguf', "'llama.embedding_length'");
    await expectGgufError(check(clone((i) => i.metadata.set('llama.block_count', 0))), 'BAD_METADATA', 'tiny.gguf', "'llama.block_count' is 0, expected 1..512");
    await expectGgufError(check(clone((i) => i.metadata.set('llama.block_count', 600))), 'BAD_METADATA', 'tiny.gguf', 'is 600');
    await expectGgufError(check(clone((i) => i.metadata.set('llama.block_count', 'four'))), 'BAD_METADATA', 'tiny.gguf', 'must be an integer');
    await expectGgufError(check(clone((i) => i.metadata.set('llama.attention.head_count', 3))), 'BAD_METADATA', 'tiny.gguf', 'not a multiple');
    await expectGgufError(check(clone((i) => i.metadata.set('llama.rope.dimension_count', 8))), 'BAD_METADATA', 'tiny.gguf', 'rope.dimension_count is 8 but the head size is 16');
    await expectGgufError(check(clone((i) => i.metadata.delete('llama.attention.layer_norm_rms_epsilon'))), 'BAD_METADATA', 'tiny.gguf', 'layer_norm_rms_epsilon');
  });

  it('expert and next-n counts llama.cpp would assert on → BAD_METADATA', async () => {
    await expectGgufError(check(clone((i) => i.metadata.set('llama.expert_count', 2000))), 'BAD_METADATA', 'tiny.gguf', "'llama.expert_count' is 2000, expected 0..1024");
    await expectGgufError(check(clone((i) => i.metadata.set('llama.expert_count', 8))), 'BAD_METADATA', 'tiny.gguf', 'expert_used_count is missing or 0');
    await expectGgufError(check(clone((i) => i.metadata.set('llama.expert_used_count', 2))), 'BAD_METADATA', 'tiny.gguf', 'llama.expert_used_count is 2 but expert_count is 0');
    await expectGgufError(
      check(clone((i) => { i.metadata.set('llama.expert_count', 8); i.metadata.set('llama.expert_used_count', [2, 2, 9, 2]); })),
      'BAD_METADATA', 'tiny.gguf', 'is 9 but expert_count is 8',
    );
    await expectGgufError(check(clone((i) => i.metadata.set('llama.nextn_predict_layers', 5))), 'BAD_METADATA', 'tiny.gguf', "'llama.nextn_predict_layers' is 5, expected 0..4");
  });

  it('missing, misshapen or extra tensors → BAD_TENSOR', async () => {
    await expectGgufError(check(clone((i) => i.metadata.set('llama.block_count', 5))), 'BAD_TENSOR', 'tiny.gguf', "missing tensor 'blk.4.attn_norm.weight'");
    await expectGgufError(check(clone((i) => i.metadata.set('llama.block_count', 3))), 'BAD_TENSOR', 'tiny.gguf', "'blk.3.attn_norm.weight' belongs to block 3 but block_count is 3");
    await expectGgufError(check(clone((i) => (i.tensors = i.tensors.filter((t) => t.name !== 'blk.2.ffn_up.weight')))), 'BAD_TENSOR', 'tiny.gguf', "missing tensor 'blk.2.ffn_up.weight'");
    await expectGgufError(check(clone((i) => (i.tensors = i.tensors.filter((t) => t.name !== 'token_embd.weight')))), 'BAD_TENSOR', 'tiny.gguf', "missing tensor 'token_embd.weight'");
    await expectGgufError(check(clone((i) => (i.tensors.find((t) => t.name === 'blk.0.attn_k.weight')!.shape = [64, 64]))), 'BAD_TENSOR', 'tiny.gguf', "tensor 'blk.0.attn_k.weight' has shape [64, 64], expected [64, 32]");
    expect(check(clone((i) => (i.tensors = i.tensors.filter((t) => t.name !== 'output.weight'))))).not.toThrow(); // tied embeddings
  });

  it('tokenizers llama.cpp cannot load (or would abort on) → BAD_METADATA', async () => {
    await expectGgufError(check(clone((i) => i.metadata.delete('tokenizer.ggml.model'))), 'BAD_METADATA', 'tiny.gguf', "'tokenizer.ggml.model'");
    await expectGgufError(check(clone((i) => i.metadata.set('tokenizer.ggml.model', 'sentencepiece'))), 'BAD_METADATA', 'tiny.gguf', "unknown tokenizer model 'sentencepiece'");
    await expectGgufError(check(clone((i) => i.metadata.delete('tokenizer.ggml.tokens'))), 'BAD_METADATA', 'tiny.gguf', "'tokenizer.ggml.tokens'");
    const dupTokens = clone((i) => {
      const t = [...(i.metadata.get('tokenizer.ggml.tokens') as string[])];
      t[500] = t[400]!;
      i.metadata.set('tokenizer.ggml.tokens', t);
    });
    await expectGgufError(check(dupTokens), 'BAD_METADATA', 'tiny.gguf', 'twice (ids 400 and 500)', 'abort');
    const shortScores = clone((i) => i.metadata.set('tokenizer.ggml.scores', (i.metadata.get('tokenizer.ggml.scores') as number[]).slice(1)));
    await expectGgufError(check(shortScores), 'BAD_METADATA', 'tiny.gguf', 'tokenizer.ggml.scores has 1670 entries but there are 1671 tokens');
    await expectGgufError(check(clone((i) => i.metadata.set('tokenizer.ggml.model', 'gpt2'))), 'BAD_METADATA', 'tiny.gguf', 'merges');
  });

  it('vocab-only files pass with vocabOnly', async () => {
    const w = new GgufWriter();
    w.setString('general.architecture', 'llama');
    for (const kv of builtinTokenizer().kvs) w.set(kv.key, kv.type, kv.value, kv.elementType);
    const p = join(dir, 'vocab.gguf');
    await w.write(p);
    const info = await readGgufHeader(p);
    expect(info.tensors).toEqual([]);
    expect(() => validateForLlama(info, p, { vocabOnly: true })).not.toThrow();
    await expectGgufError(() => validateForLlama(info, p), 'BAD_METADATA', 'vocab.gguf', "'llama.block_count'");
  });

  it('errors are MoodaxisErrors (BAD_INPUT) carrying file, reason and detail', async () => {
    const g = await expectGgufError(check(clone((i) => i.metadata.set('general.architecture', 'gpt5'))), 'UNSUPPORTED_ARCH', 'tiny.gguf');
    expect(g).toBeInstanceOf(MoodaxisError);
    expect(g).toBeInstanceOf(Error);
    expect(g.code).toBe('BAD_INPUT');
    expect(g.file).toBe(FILE);
    expect(g.detail).toBe("unsupported architecture 'gpt5': the llama.cpp in this build does not know it");
  });
});

/** A cheap content identity of a GGUF file: {@link modelIdentity}. */
import { createHash } from 'node:crypto';
import { ggufError, isGgufError } from './error.js';
import { fsError, openModelFile } from './file.js';
import { readGgufHeader } from './reader.js';
import type { GgufInfo } from './types.js';

/** Size of each sampled tensor-data chunk in {@link modelIdentity}. */
export const IDENTITY_CHUNK = 64 * 1024;
/** Number of sampled chunks in {@link modelIdentity}. */
export const IDENTITY_SAMPLES = 16;

/**
 * A cheap content identity of a GGUF file: `'sha256:<hex>'`, computed without reading the whole file.
 *
 * Recipe (version 1; changing it changes every identity):
 *   sha256( "moodaxis-gguf-identity-v1\0"
 *         ‖ bytes [0, headerSize)                  header, all metadata, all tensor infos
 *         ‖ samples of the data section [dataOffset, fileSize):
 *             if it is at most 16 × 64 KiB long: all of it;
 *             else 16 chunks of 64 KiB starting at dataOffset + floor(i × (len − 64 KiB) / 15), i = 0..15
 *         ‖ fileSize as u64 little-endian )
 *
 * Two files with the same identity have the same metadata, tensor layout, size and sampled weights;
 * edits to weights between the samples go unnoticed (use a full sha256 for that). The file is validated
 * with {@link readGgufHeader} first, so the function throws GgufError for anything that is not a GGUF.
 */
export async function modelIdentity(path: string, info?: GgufInfo): Promise<string> {
  const meta = info ?? (await readGgufHeader(path));
  const { fh, size } = await openModelFile(path);
  try {
    if (size !== meta.fileSize) throw ggufError('EIO', path, `the file changed size while being read (${meta.fileSize} → ${size} bytes)`);
    const hash = createHash('sha256');
    hash.update('moodaxis-gguf-identity-v1\0');
    const readRange = async (start: number, len: number) => {
      const buf = Buffer.allocUnsafe(Math.min(len, 4 << 20));
      for (let done = 0; done < len; ) {
        const want = Math.min(buf.length, len - done);
        const { bytesRead } = await fh.read(buf, 0, want, start + done);
        if (bytesRead === 0) throw ggufError('TRUNCATED', path, `truncated: could not read bytes ${start + done}..${start + len}`);
        hash.update(buf.subarray(0, bytesRead));
        done += bytesRead;
      }
    };
    await readRange(0, meta.headerSize);
    const dataLen = size - meta.dataOffset;
    if (dataLen <= IDENTITY_SAMPLES * IDENTITY_CHUNK) {
      await readRange(meta.dataOffset, dataLen);
    } else {
      for (let i = 0; i < IDENTITY_SAMPLES; i++) {
        const start = meta.dataOffset + Math.floor((i * (dataLen - IDENTITY_CHUNK)) / (IDENTITY_SAMPLES - 1));
        await readRange(start, IDENTITY_CHUNK);
      }
    }
    const sizeBuf = Buffer.alloc(8);
    sizeBuf.writeBigUInt64LE(BigInt(size));
    hash.update(sizeBuf);
    return `sha256:${hash.digest('hex')}`;
  } catch (err) {
    if (isGgufError(err)) throw err;
    throw fsError(err, path);
  } finally {
    await fh.close();
  }
}

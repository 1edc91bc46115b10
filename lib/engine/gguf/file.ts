/** Opening a model file and reading it forward through a bounds-checked buffer. */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { ggufError, type GgufError } from './error.js';

const READ_CHUNK = 1 << 20;

/** Buffered forward reader over a FileHandle; every read is bounds-checked against the file size. */
export class Cursor {
  private buf: Buffer = Buffer.alloc(0);
  /** File offset of buf[0]. */
  private bufStart = 0;
  /** Number of valid bytes in buf. */
  private bufLen = 0;
  pos = 0;

  constructor(
    private readonly fh: FileHandle,
    readonly size: number,
    private readonly path: string,
  ) {}

  get remaining(): number {
    return this.size - this.pos;
  }

  /** True when `n` bytes at `pos` are already buffered. */
  has(n: number): boolean {
    return this.pos >= this.bufStart && this.pos + n <= this.bufStart + this.bufLen;
  }

  /** Buffers `n` bytes at `pos`, or throws TRUNCATED naming `what`. */
  async fill(n: number, what: () => string): Promise<void> {
    if (this.has(n)) return;
    if (n > this.remaining) {
      throw ggufError('TRUNCATED', this.path, `truncated: ${what()} needs bytes ${this.pos}..${this.pos + n} but the file has ${this.size} bytes`);
    }
    const len = Math.min(Math.max(n, READ_CHUNK), this.remaining);
    if (this.buf.length < len || this.buf.length > 4 * Math.max(len, READ_CHUNK)) this.buf = Buffer.allocUnsafe(Math.max(len, Math.min(READ_CHUNK, this.size)));
    let got = 0;
    while (got < len) {
      const { bytesRead } = await this.fh.read(this.buf, got, len - got, this.pos + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    this.bufStart = this.pos;
    this.bufLen = got;
    if (got < n) {
      throw ggufError('TRUNCATED', this.path, `truncated: ${what()} needs bytes ${this.pos}..${this.pos + n} but only ${this.pos + got} could be read (did the file shrink while being read?)`);
    }
  }

  private at(n: number): number {
    const o = this.pos - this.bufStart;
    this.pos += n;
    return o;
  }
  u8(): number { return this.buf.readUInt8(this.at(1)); }
  i8(): number { return this.buf.readInt8(this.at(1)); }
  u16(): number { return this.buf.readUInt16LE(this.at(2)); }
  i16(): number { return this.buf.readInt16LE(this.at(2)); }
  u32(): number { return this.buf.readUInt32LE(this.at(4)); }
  i32(): number { return this.buf.readInt32LE(this.at(4)); }
  f32(): number { return this.buf.readFloatLE(this.at(4)); }
  f64(): number { return this.buf.readDoubleLE(this.at(8)); }
  u64(): bigint { return this.buf.readBigUInt64LE(this.at(8)); }
  /** The u64 at `pos` without consuming it (must be buffered). */
  peekU64(): bigint { return this.buf.readBigUInt64LE(this.pos - this.bufStart); }
  i64(): bigint { return this.buf.readBigInt64LE(this.at(8)); }
  utf8(n: number): string {
    const o = this.at(n);
    return this.buf.toString('utf8', o, o + n);
  }
  bytes(n: number): Buffer {
    const o = this.at(n);
    return this.buf.subarray(o, o + n);
  }
}

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
export const toNumberOrBig = (v: bigint): number | bigint => (v <= SAFE && v >= -SAFE ? Number(v) : v);

export function fsError(err: unknown, path: string): GgufError {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return ggufError('ENOENT', path, 'no such file', { cause: err });
    case 'EISDIR':
      return ggufError('EISDIR', path, 'is a directory, not a GGUF file', { cause: err });
    case 'EACCES':
    case 'EPERM':
      return ggufError('EACCES', path, 'permission denied: the file cannot be read', { cause: err });
    default:
      return ggufError('EIO', path, `cannot read the file (${e?.code ?? String(err)})`, { cause: err });
  }
}

/** Opens `path` for reading after checking it is a non-empty regular file. */
export async function openModelFile(path: string): Promise<{ fh: FileHandle; size: number }> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    throw fsError(err, path);
  }
  if (st.isDirectory()) throw ggufError('EISDIR', path, 'is a directory, not a GGUF file');
  if (!st.isFile()) throw ggufError('NOT_FILE', path, 'is not a regular file (device, pipe or socket)');
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw fsError(err, path);
  }
  const size = st.size;
  if (size === 0) {
    await fh.close();
    throw ggufError('EMPTY', path, 'the file is empty (0 bytes)');
  }
  return { fh, size };
}

/**
 * The run journal: every finished response is appended as one JSON line to `journal.jsonl` in the
 * output folder, under a header that fingerprints the run's arguments. A rerun with the same arguments
 * reads it back and generates only what is missing; a run with other arguments starts a new journal.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { badInput } from '../engine/errors.js';
import type { Response } from './collect.js';

export interface JournalEntry extends Omit<Response, 'vector'> {
  vector: string; // base64 float32
}

export function encodeVector(v: Float32Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

export function decodeVector(s: string): Float32Array {
  const buf = Buffer.from(s, 'base64');
  const out = new Float32Array(buf.byteLength / 4);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

export function runKey(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}

export class Journal {
  private fd: number | null = null;
  readonly entries = new Map<string, Response>();

  /** Opens (or starts) the journal at `path` for the run identified by `key`. */
  constructor(readonly path: string, readonly key: string) {
    mkdirSync(dirname(path), { recursive: true });
    if (existsSync(path)) {
      const lines = readFileSync(path, 'utf8').split('\n');
      let header: { key?: string } = {};
      try {
        header = JSON.parse(lines[0] || '{}');
      } catch {
        header = {};
      }
      if (header.key === key) {
        for (const line of lines.slice(1)) {
          if (!line.trim()) continue;
          try {
            const e = JSON.parse(line) as JournalEntry;
            this.entries.set(e.key, { ...e, vector: decodeVector(e.vector) });
          } catch {
            // a line cut short by an interruption: that response is generated again
          }
        }
      } else {
        renameSync(path, `${path}.old`);
      }
    }
    const fresh = !existsSync(path);
    this.fd = openSync(path, 'a');
    if (fresh) appendFileSync(this.fd, `${JSON.stringify({ kind: 'moodaxis.journal', key })}\n`);
  }

  append(response: Response): void {
    if (this.fd === null) throw badInput(`${this.path}: journal is closed`);
    this.entries.set(response.key, response);
    appendFileSync(this.fd, `${JSON.stringify({ ...response, vector: encodeVector(response.vector) })}\n`);
  }

  /** Makes what was appended durable (called on interruption and at the end). */
  flush(): void {
    if (this.fd !== null) fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd === null) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = null;
  }
}

/** Writes a file atomically: a temporary file in the same folder, then a rename. */
export function writeFileAtomic(path: string, data: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

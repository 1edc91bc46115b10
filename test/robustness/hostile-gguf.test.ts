/**
 * Hostile model files (issue 8, part 1): at least 200 damaged GGUF files, generated at test time from the
 * two real models and two synthetic fixtures, each through `loadModel` in this process and through the
 * CLI (`fingerprint … --html`) in child processes. Every file the validator must refuse ends in a clear
 * error naming the file (exit 2); files llama.cpp may still load (a flipped byte in tensor data or in a
 * token text) either run or fail cleanly; nothing crashes, hangs or leaves a partial output.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFixtureModel } from '../../fixtures/models.js';
import { errorCode, loadModel, type Model } from '../../lib/engine/index.js';
import { validateDoc } from '../../lib/docs/read.js';
import { testModel, repoPath } from '../helpers/paths.js';
import { ensureBuilt } from '../helpers/cli.js';
import { damageModel, fileSystemCases, type DamagedFile } from './damage.js';
import { expectNamedError, expectNoCrash, outputsIn, pool, runCli, runNode, writeMiniAxisSet } from './helpers.js';

const LOAD_LIMIT_MS = 20_000;
const CLI_LIMIT_MS = 60_000;

let dir: string;
let files: DamagedFile[];
let miniAxes: string;

beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'moodaxis-hostile-'));
  chmodSync(dir, 0o755);
  const tiny = await ensureFixtureModel('tiny');
  const tinyChat = await ensureFixtureModel('tinyChat');
  files = [
    ...damageModel(testModel('stories260K.gguf'), 'stories', join(dir, 'models'), 1),
    ...damageModel(testModel('aidreams260K.gguf'), 'aidreams', join(dir, 'models'), 2),
    ...damageModel(tiny, 'tiny', join(dir, 'models'), 3),
    ...damageModel(tinyChat, 'tinychat', join(dir, 'models'), 4),
    ...fileSystemCases(testModel('stories260K.gguf'), join(dir, 'fs')),
  ];
  // a chat template that does not parse: the model loads, every chat request must fail cleanly
  const broken = Buffer.from(readFileSync(tinyChat));
  const at = broken.indexOf(Buffer.from('{%- for message in messages -%}'));
  broken.write('{%- for message in messages -%', at, 'latin1');
  const brokenPath = join(dir, 'models', 'tinychat-broken-chat-template.gguf');
  writeFileSync(brokenPath, broken);
  files.push({ name: basename(brokenPath), path: brokenPath, what: 'tinychat: chat template that does not parse', kind: 'metadata', mustFail: false });
  for (const d of [join(dir, 'models'), join(dir, 'fs')]) chmodSync(d, 0o755);
  miniAxes = writeMiniAxisSet(join(dir, 'mini-axes.json'));
  chmodSync(miniAxes, 0o644);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer after ${ms} ms (hang)`)), ms)))]).finally(() => clearTimeout(timer));
}

/** A library error is clear: bad input (or, at generation, a resource/native failure) and it names the file. */
function clearError(error: unknown, file: DamagedFile, allowed: string[]): string | null {
  const message = (error as Error)?.message ?? String(error);
  const code = errorCode(error);
  if (!allowed.includes(code)) return `${file.what}: error code ${code} (${message})`;
  if (!message.includes(basename(file.path))) return `${file.what}: the error does not name the file: ${message}`;
  const detail = message.slice(message.indexOf(basename(file.path)) + basename(file.path).length).replace(/^[:\s]+/, '');
  if (detail.length < 8) return `${file.what}: the error says nothing about what is wrong: ${message}`;
  return null;
}

describe('hostile GGUF files', () => {
  it('at least 200 damaged files of every kind are generated', () => {
    const byKind = Object.fromEntries([...new Set(files.map((f) => f.kind))].map((k) => [k, files.filter((f) => f.kind === k).length]));
    console.log(`damaged model files: ${files.length}`, byKind);
    expect(files.length).toBeGreaterThanOrEqual(200);
    for (const kind of ['truncated', 'header', 'absurd', 'metadata', 'metadata-flip', 'tensor-info-flip', 'tensor-data', 'fs']) expect(byKind[kind], kind).toBeGreaterThan(0);
    expect(new Set(files.map((f) => f.path)).size).toBe(files.length);
  });

  it('loadModel: a clear error naming the file for every file that must be refused; loadable ones run or fail cleanly', async () => {
    const problems: string[] = [];
    let loaded = 0;
    let generated = 0;
    let slowest = 0;
    for (const f of files.filter((x) => !x.unreadable)) {
      const t0 = performance.now();
      let model: Model | null = null;
      try {
        model = await withTimeout(loadModel(f.path, { gpu: 'cpu', threads: 1 }), LOAD_LIMIT_MS, f.what);
      } catch (error) {
        if ((error as Error).message.includes('(hang)')) problems.push((error as Error).message);
        else {
          const p = clearError(error, f, ['BAD_INPUT']);
          if (p) problems.push(p);
        }
      }
      if (model) {
        loaded++;
        if (f.mustFail) problems.push(`${f.what}: loaded, but must be refused`);
        try {
          // a plain prompt, a chat request (the template path) and the main-thread tokenizer
          const out = await withTimeout(
            model.generate([{ prompt: 'Once upon a time\nthere was a cat. é ✓' }, { messages: [{ role: 'system', content: 'Be happy.' }, { role: 'user', content: 'Hi\n?' }] }], { maxTokens: 4, parallel: 2 }),
            LOAD_LIMIT_MS,
            f.what,
          );
          if (out.length !== 2) problems.push(`${f.what}: ${out.length} results`);
          model.tokenize('a\nb é');
          generated++;
        } catch (error) {
          const p = (error as Error).message.includes('(hang)') ? (error as Error).message : clearError(error, f, ['BAD_INPUT', 'RESOURCE', 'NATIVE']);
          if (p) problems.push(p);
        } finally {
          await model.dispose();
        }
      }
      slowest = Math.max(slowest, performance.now() - t0);
    }
    console.log(`loadModel: ${files.length - 1} files in process, ${loaded} loaded (${generated} of them generated), slowest ${slowest.toFixed(0)} ms`);
    expect(problems).toEqual([]);
    expect(loaded).toBeGreaterThan(0); // the loadable kinds really were exercised
  });

  it('loadModel without read permission (as an unprivileged user): EACCES naming the file', async () => {
    const locked = files.find((f) => f.unreadable)!;
    const probe = join(dir, 'probe-load.mjs');
    writeFileSync(
      probe,
      `const { loadModel, errorCode } = await import(${JSON.stringify(repoPath('dist/lib/index.js'))});
       try { await loadModel(process.argv[2], { gpu: 'cpu', threads: 1 }); console.log(JSON.stringify({ ok: true })); }
       catch (e) { console.log(JSON.stringify({ code: errorCode(e), message: e.message })); }`,
    );
    chmodSync(probe, 0o644);
    const run = await runNode([probe, locked.path], { honourPermissions: true, timeoutMs: LOAD_LIMIT_MS });
    expectNoCrash(run, locked.what);
    expect(JSON.parse(run.stdout)).toEqual({ code: 'BAD_INPUT', message: 'locked.gguf: permission denied: the file cannot be read' });
  });

  it('CLI fingerprint on files of every kind and source: exit 2 with the file named, or a clean run; never a crash, a hang or a partial output', async () => {
    const problems: string[] = [];
    let succeeded = 0;
    let refused = 0;
    mkdirSync(join(dir, 'out'));
    chmodSync(join(dir, 'out'), 0o777);
    // the library test above takes every file; the CLI (a process each) takes two of every kind per
    // source model, every loadable one among them, so that it stays a few minutes on a busy 2-core machine
    const perGroup = new Map<string, number>();
    const sample = files.filter((f) => {
      const group = `${f.kind}/${f.name.split('-')[0]}`;
      const n = perGroup.get(group) ?? 0;
      perGroup.set(group, n + 1);
      return n < 2 || f.unreadable || f.name.includes('chat-template');
    });
    expect(new Set(sample.map((f) => f.kind)).size).toBe(new Set(files.map((f) => f.kind)).size);
    const runs = await pool(sample, 2, async (f, i) => {
      const out = join(dir, 'out', String(i));
      const args = ['fingerprint', f.path, '--gpu', 'cpu', '--max-tokens', '2', '--baseline-max-tokens', '2', '--no-cache', '--axes-file', miniAxes, '--out', out, '--html', '--quiet'];
      const run = await runCli(args, { timeoutMs: CLI_LIMIT_MS, env: { MOODAXIS_CACHE_DIR: join(dir, 'cache') }, honourPermissions: Boolean(f.unreadable) });
      return { f, run, out };
    });
    let slowest = 0;
    for (const { f, run, out } of runs) {
      slowest = Math.max(slowest, run.ms);
      try {
        expectNoCrash(run, f.what);
        if (run.status === 0) {
          if (f.mustFail) throw new Error(`${f.what}: the CLI succeeded, but the file must be refused`);
          succeeded++;
          const doc = JSON.parse(readFileSync(join(out, 'fingerprint.json'), 'utf8'));
          validateDoc(doc, 'fingerprint.json');
          expect(readFileSync(join(out, 'report.html'), 'utf8').trimEnd().endsWith('</html>'), f.what).toBe(true);
        } else {
          refused++;
          // bad input, whether the validator, llama.cpp's loader or the first generation found it
          expect(run.status, `${f.what}: ${run.stderr.slice(-400)}`).toBe(2);
          expectNamedError(run, f.path, f.what);
          expect(outputsIn(out), `${f.what}: partial outputs`).toEqual([]);
        }
      } catch (error) {
        problems.push((error as Error).message.split('\n').slice(0, 3).join(' | '));
      }
    }
    console.log(`CLI: ${runs.length} files, ${refused} refused, ${succeeded} ran to the end, slowest ${(slowest / 1000).toFixed(2)} s`);
    expect(problems).toEqual([]);
  }, 600_000);
});

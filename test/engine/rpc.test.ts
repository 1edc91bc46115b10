/**
 * llama.cpp's RPC backend on the real addon: two `moodaxis rpc-server` processes on this host (CPU, free
 * ports) take the layers of stories260K; a deterministic fingerprint through them equals the local one
 * to 1e-6 per axis. A server killed during a run: the call rejects naming it, this process lives on, the
 * journal is kept and a rerun (the server back) resumes to the same document. Bad `--rpc` values, an
 * unreachable server and a busy port are refused in one line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint, loadModel, type FingerprintDoc, type Model } from '../../lib/index.js';
import { cli, ensureBuilt } from '../helpers/cli.js';
import { repoPath, testModel } from '../helpers/paths.js';

const STORIES = testModel('stories260K.gguf');
const SMALL = { maxTokens: 8, baselineMaxTokens: 8, tokenDecay: 1.0, cache: false, axesFile: repoPath('test/data/story-mood.json') } as const;

/** A port nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

interface Served { port: number; child: ChildProcess; stderr: string }

/** `moodaxis rpc-server --gpu cpu` on `port`, once it says it listens. */
function startServer(port: number): Promise<Served> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [repoPath('bin/moodaxis.js'), 'rpc-server', '--port', String(port), '--gpu', 'cpu', '--threads', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const served: Served = { port, child, stderr: '' };
    child.stderr!.on('data', (c: Buffer) => {
      served.stderr += c.toString();
      if (served.stderr.includes('listening on')) resolve(served);
    });
    child.once('exit', (code) => reject(new Error(`rpc-server on ${port} exited (${code}): ${served.stderr}`)));
  });
}

function stop(served: Served | undefined): Promise<void> {
  if (!served || served.child.exitCode !== null || served.child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    served.child.once('exit', () => resolve());
    served.child.kill('SIGTERM');
  });
}

const endpoint = (s: Served) => `127.0.0.1:${s.port}`;

function expectSameScores(doc: FingerprintDoc, reference: FingerprintDoc) {
  expect(doc.responses.map((r) => r.text)).toEqual(reference.responses.map((r) => r.text));
  expect(doc.axes.map((a) => a.id)).toEqual(reference.axes.map((a) => a.id));
  doc.axes.forEach((axis, a) => {
    expect(axis.scores.length).toBe(reference.axes[a]!.scores.length);
    axis.scores.forEach((score, i) => expect(Math.abs(score - reference.axes[a]!.scores[i]!)).toBeLessThan(1e-6));
  });
}

describe('RPC: a model over two rpc-server processes on this host', () => {
  let dir: string;
  let servers: Served[] = [];
  let local: Model;
  let reference: FingerprintDoc;
  beforeAll(async () => {
    await ensureBuilt(); // the servers run the CLI, the model's process the compiled library (dist/)
    dir = await mkdtemp(join(tmpdir(), 'moodaxis-rpc-'));
    servers = await Promise.all([startServer(await freePort()), startServer(await freePort())]);
    local = await loadModel(STORIES, { gpu: 'cpu' });
    reference = await fingerprint(local, SMALL);
  }, 180_000);
  afterAll(async () => {
    await local?.dispose();
    await Promise.all(servers.map(stop));
    await rm(dir, { recursive: true, force: true });
  });

  it('the server says where it listens and warns that the protocol has no authentication', () => {
    for (const s of servers) {
      expect(s.stderr).toMatch(/no authentication and no encryption/);
      expect(s.stderr).toContain(`listening on ${endpoint(s)}`);
    }
  });

  it('a deterministic fingerprint through two servers equals the local one to 1e-6 per axis', async () => {
    const remote = await loadModel(STORIES, { gpu: 'cpu', rpc: servers.map(endpoint) });
    try {
      expect(remote.info.rpc).toEqual(servers.map(endpoint));
      const doc = await fingerprint(remote, SMALL);
      expect(doc.manifest.sampler.deterministic).toBe(true);
      expectSameScores(doc, reference);
    } finally {
      await remote.dispose();
    }
  });

  it('a server killed mid-run: the call rejects naming it, the journal is kept, a rerun resumes', async () => {
    const out = join(dir, 'resumed');
    const model = await loadModel(STORIES, { gpu: 'cpu', rpc: servers.map(endpoint) });
    const victim = servers[1]!;
    try {
      let killed = false;
      // one sequence at a time: the run is still going when the server dies
      const run = fingerprint(model, {
        ...SMALL,
        parallel: 1,
        out,
        onProgress: (done) => {
          if (done >= 3 && !killed) {
            killed = true;
            victim.child.kill('SIGKILL');
          }
        },
      });
      await expect(run).rejects.toMatchObject({ code: 'RESOURCE', message: expect.stringContaining(`RPC server 127.0.0.1:${victim.port} stopped answering`) });
      const journal = (await readFile(join(out, 'fingerprint.journal.jsonl'), 'utf8')).trim().split('\n');
      expect(journal.length - 1).toBeGreaterThanOrEqual(3);
      expect(journal.length - 1).toBeLessThan(reference.responses.length);
      // the next call, without the server, is refused before llama.cpp connects (no second abort)
      await expect(model.generate([{ prompt: 'Once' }], { maxTokens: 2 })).rejects.toMatchObject({ code: 'RESOURCE', message: expect.stringContaining(`127.0.0.1:${victim.port}: connection refused`) });
      // the server back on its port: the same model resumes from the journal
      servers[1] = await startServer(victim.port);
      const resumed = await fingerprint(model, { ...SMALL, out });
      expect(resumed.timing.restoredResponses).toBe(journal.length - 1);
      expectSameScores(resumed, reference);
    } finally {
      await model.dispose();
    }
  });

  it('bad servers are refused in one line: not host:port, a bad port, nothing listening', async () => {
    await expect(loadModel(STORIES, { gpu: 'cpu', rpc: ['foo'] })).rejects.toMatchObject({ code: 'BAD_INPUT', message: 'rpc: "foo" is not host:port (e.g. 192.168.1.10:50052)' });
    await expect(loadModel(STORIES, { gpu: 'cpu', rpc: ['127.0.0.1:99999'] })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringContaining('99999') });
    await expect(loadModel(STORIES, { gpu: 'cpu', rpc: [endpoint(servers[0]!)], replicas: 2 })).rejects.toMatchObject({ code: 'BAD_INPUT' });
    const closed = await freePort();
    await expect(loadModel(STORIES, { gpu: 'cpu', rpc: [`127.0.0.1:${closed}`] })).rejects.toMatchObject({ code: 'RESOURCE', message: expect.stringContaining(`RPC server 127.0.0.1:${closed}: connection refused`) });

    const bad = await cli(['generate', STORIES, '--prompt', 'x', '--max-tokens', '2', '--gpu', 'cpu', '--rpc', 'foo']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toEqual(['moodaxis: error: rpc: "foo" is not host:port (e.g. 192.168.1.10:50052)']);
    const gone = await cli(['generate', STORIES, '--prompt', 'x', '--max-tokens', '2', '--gpu', 'cpu', '--rpc', `127.0.0.1:${closed}`]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain(`RPC server 127.0.0.1:${closed}: connection refused`);
  });

  it('rpc-server refuses a busy port in one line, with a non-zero exit', async () => {
    const busy = await cli(['rpc-server', '--port', String(servers[0]!.port), '--gpu', 'cpu']);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toContain(`moodaxis: error: 127.0.0.1:${servers[0]!.port} is in use`);
    const badPort = await cli(['rpc-server', '--port', '70000']);
    expect(badPort.code).toBe(2);
  });
});

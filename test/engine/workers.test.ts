/**
 * The addon in worker_threads: each environment has its own Model class (per-environment instance data,
 * not a process-wide static), so two workers load a model each at the same time, generate, and give the
 * texts and vectors of the main thread; then they exit cleanly, with or without disposing their model.
 */
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../lib/engine/index.js';
import { ensureBuilt } from '../helpers/cli.js';
import { repoPath, testModel } from '../helpers/paths.js';

const PROMPTS = ['Once upon a time', 'The little dog', 'Lily and Tom went to the park'];
const OPTIONS = { temperature: 0, maxTokens: 24, deterministic: true, parallel: 2 };

interface Answer { texts: string[]; vectors: number[][] }

// The worker imports the compiled engine (worker threads do not run TypeScript).
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const { loadModel } = await import(workerData.engine);
  const model = await loadModel(workerData.model, { gpu: 'cpu', threads: 1 });
  const out = await model.generate(workerData.prompts.map((prompt) => ({ prompt })), workerData.options);
  if (workerData.dispose) await model.dispose();
  parentPort.postMessage({ texts: out.map((r) => r.text), vectors: out.map((r) => Array.from(r.vector)) });
})().catch((error) => parentPort.postMessage({ error: String(error && error.stack || error) }));
`;

function inWorker(model: string, dispose: boolean): Promise<{ answer: Answer; exitCode: number }> {
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { engine: pathToFileURL(repoPath('dist/lib/engine/index.js')).href, model, prompts: PROMPTS, options: OPTIONS, dispose },
  });
  let answer: (Answer & { error?: string }) | undefined;
  worker.on('message', (m: Answer & { error?: string }) => (answer = m));
  return new Promise((resolve, reject) => {
    worker.on('error', reject);
    worker.on('exit', (exitCode) => {
      if (!answer) return reject(new Error(`the worker for ${model} exited (${exitCode}) without an answer`));
      if (answer.error) return reject(new Error(answer.error));
      resolve({ answer, exitCode });
    });
  });
}

async function onMainThread(path: string): Promise<Answer> {
  const model = await loadModel(path, { gpu: 'cpu', threads: 1 });
  try {
    const out = await model.generate(PROMPTS.map((prompt) => ({ prompt })), OPTIONS);
    return { texts: out.map((r) => r.text), vectors: out.map((r) => Array.from(r.vector)) };
  } finally {
    await model.dispose();
  }
}

describe('the addon in worker threads', () => {
  const models = { stories: testModel('stories260K.gguf'), aidreams: testModel('aidreams260K.gguf') };
  let expected: Record<keyof typeof models, Answer>;
  beforeAll(async () => {
    await ensureBuilt();
    expected = { stories: await onMainThread(models.stories), aidreams: await onMainThread(models.aidreams) };
    expect(expected.stories.texts).not.toEqual(expected.aidreams.texts);
  }, 300_000);

  it('two workers load a model each at the same time and generate what the main thread does', async () => {
    const [stories, aidreams] = await Promise.all([inWorker(models.stories, true), inWorker(models.aidreams, true)]);
    expect(stories.answer.texts).toEqual(expected.stories.texts);
    expect(aidreams.answer.texts).toEqual(expected.aidreams.texts);
    expect(stories.answer.vectors).toEqual(expected.stories.vectors);
    expect(aidreams.answer.vectors).toEqual(expected.aidreams.vectors);
    expect([stories.exitCode, aidreams.exitCode]).toEqual([0, 0]);
  }, 300_000);

  it('workers on the same model that end without disposing it exit cleanly, and the main thread goes on', async () => {
    const runs = await Promise.all([inWorker(models.stories, false), inWorker(models.stories, false)]);
    for (const run of runs) {
      expect(run.answer.texts).toEqual(expected.stories.texts);
      expect(run.exitCode).toBe(0);
    }
    expect(await onMainThread(models.stories)).toEqual(expected.stories);
  }, 300_000);
});

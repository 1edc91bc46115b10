/**
 * The child process of isolate mode and of replicas (started by lib/engine/isolate.ts with
 * child_process.fork): loads one model with the ordinary engine API and serves its calls over IPC, one
 * message per call, events for progress, finished results and streamed text. It ignores SIGINT and
 * SIGTERM (the parent disposes it, so a Ctrl-C ends calls as cancelled, not as crashes) and exits when
 * the parent is gone.
 */
import { errorCode } from './errors.js';
import type { ErrorData, FromChild, GenerateReply, ToChild } from './isolate.js';
import { loadModel, type GenerateResult, type Model } from './model.js';

/** Progress events at most this often while the done count stays the same (tokens move every step). */
const PROGRESS_INTERVAL_MS = 100;

let model: Model | null = null;

/** Sends a message; resolves once it has been handed to the channel (false when the parent is gone). */
function send(message: FromChild): Promise<boolean> {
  return new Promise((resolve) => {
    try {
      process.send!(message, undefined, {}, (error) => resolve(!error));
    } catch {
      resolve(false);
    }
  });
}

function errorData(error: unknown): ErrorData {
  return { code: errorCode(error), message: error instanceof Error ? error.message : String(error) };
}

async function generate(message: Extract<ToChild, { kind: 'generate' }>) {
  const { id, want } = message;
  const sent = new Set<number>();
  let lastDone = -1;
  let lastAt = 0;
  const results = await model!.generate(message.requests, {
    ...message.options,
    onResult: (index: number, result: GenerateResult) => {
      sent.add(index);
      void send({ kind: 'result', id, index, result });
    },
    onWarning: (text: string) => void send({ kind: 'warning', id, message: text }),
    ...(want.progress
      ? {
          onProgress: (p: { done: number; total: number; tokens: number }) => {
            const now = Date.now();
            if (p.done === lastDone && now - lastAt < PROGRESS_INTERVAL_MS) return;
            lastDone = p.done;
            lastAt = now;
            void send({ kind: 'progress', id, ...p });
          },
        }
      : {}),
    ...(want.text ? { onText: (index: number, text: string) => void send({ kind: 'text', id, index, text }) } : {}),
  });
  const value: GenerateReply = { rest: results.flatMap((r, i): Array<[number, GenerateResult]> => (sent.has(i) ? [] : [[i, r]])), stats: model!.lastGenerateStats() };
  return value;
}

async function handle(message: ToChild) {
  switch (message.kind) {
    case 'load':
      try {
        // here, in the model's own process (an `rpc` load would otherwise start another one)
        model = await loadModel(message.path, { ...message.options, isolate: false, onWarning: (text) => void send({ kind: 'warning', id: null, message: text }) });
        await send({ kind: 'loaded', info: model.info });
      } catch (error) {
        await send({ kind: 'failed', error: errorData(error) });
        process.exit(1);
      }
      return;
    case 'generate':
    case 'hiddenStates':
      try {
        const value = message.kind === 'generate' ? await generate(message) : await model!.hiddenStates(message.tokens, message.layers);
        await send({ kind: 'reply', id: message.id, value });
      } catch (error) {
        await send({ kind: 'reply', id: message.id, error: errorData(error) });
      }
      return;
    case 'dispose':
      await model?.dispose().catch(() => undefined);
      await send({ kind: 'disposed' });
      process.exit(0);
  }
}

if (!process.send) {
  process.stderr.write('moodaxis: this is the entry of the model process of isolate mode and replicas; the library starts it (loadModel with isolate, gpus or replicas)\n');
  process.exit(2);
}
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);
process.on('disconnect', () => process.exit(0));
process.on('message', (message: ToChild) => void handle(message));

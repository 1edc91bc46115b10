/**
 * What every command shares: exit codes (2 for bad input, 1 for other failures, 130/143 on SIGINT /
 * SIGTERM), interruption (dispose the models in use so generation stops, journals are flushed, and the
 * process exits promptly), output streams and progress.
 */
import { errorCode } from '../engine/errors.js';
import { loadModel, type GpuChoice, type Model } from '../engine/model.js';
import { createProgress, useColor } from './format.js';

export interface CommonArgs {
  json?: boolean;
  quiet?: boolean;
  gpu?: GpuChoice;
}

const cleanups = new Set<() => Promise<void> | void>();
let interrupted = false;

export function onInterrupt(fn: () => Promise<void> | void): () => void {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

function handleSignal(signal: 'SIGINT' | 'SIGTERM') {
  const code = signal === 'SIGINT' ? 130 : 143;
  if (interrupted) process.exit(code);
  interrupted = true;
  process.stderr.write(`\nmoodaxis: ${signal === 'SIGINT' ? 'interrupted' : 'terminated'}; finished responses are kept in the journal, run the same command again to resume\n`);
  const timer = setTimeout(() => process.exit(code), 1500);
  timer.unref();
  Promise.allSettled([...cleanups].map((fn) => fn())).finally(() => process.exit(code));
}

export function installSignalHandlers(): void {
  process.on('SIGINT', () => handleSignal('SIGINT'));
  process.on('SIGTERM', () => handleSignal('SIGTERM'));
}

/** Prints an error for a person and sets the exit code: 2 for bad input, 1 otherwise. */
export function fail(error: unknown): void {
  if (interrupted) return;
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`moodaxis: error: ${message}\n`);
  if (code === 'INTERNAL' && process.env.MOODAXIS_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  process.exitCode = code === 'BAD_INPUT' ? 2 : 1;
}

export function status(args: CommonArgs, message: string): void {
  if (!args.quiet && !args.json) process.stderr.write(`moodaxis: ${message}\n`);
}

export function colorOut(): boolean {
  return useColor(process.stdout);
}

/** A progress reporter for generation on stderr (silent with --quiet or --json off a TTY). */
export function progressReporter(args: CommonArgs, label: string) {
  let bar: ReturnType<typeof createProgress> | null = null;
  return {
    update(done: number, total: number) {
      if (args.quiet) return;
      if (!bar) bar = createProgress({ total, label, stream: process.stderr, plainStep: args.json ? 0 : 0.25 });
      bar.update(done);
    },
    done() {
      bar?.done();
    },
  };
}

/** Loads a model for a command; it is disposed on interruption. */
export async function openModel(path: string, args: CommonArgs): Promise<Model> {
  // Automatic step-downs (CPU instead of a GPU too small, a lower default `parallel`) are said on stderr.
  const model = await loadModel(path, { gpu: args.gpu ?? 'auto', onWarning: (m) => !args.quiet && process.stderr.write(`moodaxis: warning: ${m}\n`) });
  onInterrupt(() => model.dispose());
  return model;
}

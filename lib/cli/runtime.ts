/**
 * What every command shares: exit codes (2 for bad input, 1 for other failures, 130/143 on SIGINT /
 * SIGTERM), interruption (dispose the models in use so generation stops, journals are flushed, and the
 * process exits promptly), output streams, progress, and the --out rule. Heavy modules (the engine and
 * its addon) load only when a command opens a model.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { badInput, errorCode } from '../engine/errors.js';
import type { GpuChoice, Model } from '../engine/model.js';
import type { ProgressDetail } from '../method/collect.js';
import { createProgress, useColor } from './format.js';
import { placementFrom, type PlacementArgs } from './placement.js';

export interface CommonArgs extends PlacementArgs {
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

/** A status line on stderr (hidden by --quiet and --json). */
export function status(args: CommonArgs, message: string): void {
  if (!args.quiet && !args.json) process.stderr.write(`moodaxis: ${message}\n`);
}

/** A warning on stderr (hidden by --quiet only). */
export function warn(args: CommonArgs, message: string): void {
  if (!args.quiet) process.stderr.write(`moodaxis: warning: ${message}\n`);
}

export function colorOut(): boolean {
  return useColor(process.stdout);
}

/** "12.3 s, 4,000 tokens generated, 239 responses from the journal": a run's own work, from its document's timing. */
export function workSummary(timing: { seconds: number; generatedTokens: number; restoredResponses?: number } | undefined): string {
  if (!timing) return '';
  const parts = [`${timing.seconds.toFixed(1)} s`, `${timing.generatedTokens.toLocaleString('en-US')} tokens generated`];
  if (timing.restoredResponses) parts.push(`${timing.restoredResponses} ${timing.restoredResponses === 1 ? 'response' : 'responses'} from the journal`);
  return parts.join(', ');
}

/**
 * A progress reporter for generation on stderr (silent with --quiet; with --json only on a TTY). The
 * first update of a resumed run says how many responses the journal already held.
 */
export function progressReporter(args: CommonArgs, label: string) {
  let bar: ReturnType<typeof createProgress> | null = null;
  let saidRestored = false;
  return {
    update(done: number, total: number, tokens?: number, detail?: ProgressDetail) {
      if (args.quiet) return;
      if (!saidRestored && detail && detail.restored > 0) {
        saidRestored = true;
        status(args, `resuming: ${detail.restored} of ${total} responses come from the journal`);
      }
      if (!bar) bar = createProgress({ total, label, stream: process.stderr, plainStep: args.json ? 0 : 0.25 });
      bar.update(done, { tokens, restored: detail?.restored, finishedTokens: detail?.finishedTokens });
    },
    done() {
      bar?.done();
    },
  };
}

/** Loads a model for a command (the engine loads here, not at startup); it is disposed on interruption. */
export async function openModel(path: string, args: CommonArgs): Promise<Model> {
  const { loadModel } = await import('../engine/model.js');
  // Automatic step-downs (CPU instead of a GPU too small, a lower default `parallel`) and a chat
  // template's absence are said on stderr.
  const model = await loadModel(path, { gpu: args.gpu ?? 'auto', ...placementFrom(args), onWarning: (m) => warn(args, m) });
  if (model.info.replicas) status(args, `${model.info.replicas} replicas of the model share the work`);
  onInterrupt(() => model.dispose());
  return model;
}

// ------------------------------------------------------------------ --out

/** `--out` for every command that writes files: a folder, written into under fixed file names. */
export const OUT_RULE = 'output folder (created when missing; its parent must exist)';

/** The model's default output folder: ./moodaxis-out/<model name>. */
export function defaultOutDir(modelName: string): string {
  return resolve(join('moodaxis-out', modelName.replace(/[^\w.-]+/g, '_')));
}

/**
 * The folder a command writes into: `--out` when given, else `fallback`. `--out` is always a folder:
 * refused when empty, when it is an existing file or looks like a file name (`report.html`), or when its
 * parent folder does not exist (no folder trees appear from a typo). `files` names what goes in it.
 */
export function outDir(out: string | undefined, fallback: string, files: string): string {
  if (out === undefined) return fallback;
  if (out.trim() === '') throw badInput(`--out needs a folder (moodaxis writes ${files} into it)`);
  const dir = resolve(out);
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw badInput(`--out ${out}: is a file; --out is a folder (moodaxis writes ${files} into it)`);
    return dir;
  }
  if (/\.(json|jsonl|html?|gguf|csv|txt)$/i.test(basename(dir)))
    throw badInput(`--out ${out}: looks like a file name; --out is a folder (moodaxis writes ${files} into it), e.g. --out ${dirname(out) === '.' ? 'out' : dirname(out)}`);
  if (!existsSync(dirname(dir))) throw badInput(`--out ${out}: the folder ${dirname(dir)} does not exist`);
  return dir;
}

/** A file flag (`--export FILE`): its folder must exist (none is created from a typo). */
export function outFile(flag: string, path: string): string {
  if (path.trim() === '') throw badInput(`${flag} needs a file name`);
  const file = resolve(path);
  if (!existsSync(dirname(file))) throw badInput(`${flag} ${path}: the folder ${dirname(file)} does not exist`);
  if (existsSync(file) && statSync(file).isDirectory()) throw badInput(`${flag} ${path}: is a folder; ${flag} names a file`);
  return file;
}

/**
 * What every command shares: exit codes (2 for bad input, 1 for other failures, 130/143 on SIGINT /
 * SIGTERM), interruption (dispose the models in use so generation stops, journals are flushed, and the
 * process exits promptly), output streams (a result as JSON or text, status lines, warnings), progress,
 * and the --out rule. Nothing here loads the engine (model-command.ts does, when a command opens a model).
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { PROTOCOL_DEFAULTS } from '../defaults.js';
import { badInput, errorCode } from '../engine/errors.js';
import type { GpuChoice } from '../engine/model.js';
import type { ProgressDetail } from '../method/response.js';
import { createProgress, fixed, useColor } from './format.js';
import type { PlacementArgs } from './placement.js';

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

/** A value as JSON on stdout (--json). */
function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** How a command shows its result. */
export interface ResultOutput<R> {
  /** What stdout shows without --json (a table, with its last newline), written as it is. */
  text(result: R): string;
  /** What --json prints (default: the result itself). */
  json?(result: R): unknown;
  /** The status line after it ("wrote …"), if any. */
  summary?(result: R): string | undefined;
}

/** Prints a command's result: JSON with --json, else its text; then its status line. */
export function printResult<R>(args: CommonArgs, result: R, output: ResultOutput<R>): void {
  if (args.json) printJson(output.json ? output.json(result) : result);
  else process.stdout.write(output.text(result));
  const summary = output.summary?.(result);
  if (summary) status(args, summary);
}

/** "12.3 s, 4,000 tokens generated, 239 responses from the journal": a run's own work, from its document's timing. */
export function workSummary(timing: { seconds: number; generatedTokens: number; restoredResponses?: number } | undefined): string {
  if (!timing) return '';
  const parts = [`${fixed(timing.seconds, { digits: 1 })} s`, `${timing.generatedTokens.toLocaleString('en-US')} tokens generated`];
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

// ------------------------------------------------------------------ --out

/** `--out` for every command that writes files: a folder, written into under fixed file names. */
export const OUT_RULE = 'output folder (created when missing; its parent must exist)';

/** Where a command writes without --out: ./moodaxis-out/<model> (report: the current folder). */
export const DEFAULT_OUT_TEXT = `./${PROTOCOL_DEFAULTS.outDir}/<model>`;

/** The model's default output folder: ./<PROTOCOL_DEFAULTS.outDir>/<model name>. */
export function defaultOutDir(modelName: string): string {
  return resolve(join(PROTOCOL_DEFAULTS.outDir, modelName.replace(/[^\w.-]+/g, '_')));
}

/**
 * The folder `--out` names, checked, or undefined without `--out` (the command's default then applies).
 * `--out` is always a folder: refused when empty, when it is an existing file or looks like a file name
 * (`report.html`), or when its parent folder does not exist (no folder trees appear from a typo).
 * `files` names what goes in it.
 */
export function outDir(out: string | undefined, files: string): string | undefined {
  if (out === undefined) return undefined;
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

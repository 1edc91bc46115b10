/**
 * The one runner of the commands that load a model (fingerprint, calibrate, score, stability,
 * benchmark, steer, drift, generate, validate --judge): it loads the model (the engine and its addon
 * load here, not at startup), disposes it at the end and on interruption, hands the run its output
 * folder and the library's progress and status callbacks, saves what the library does not write, and
 * prints the result (JSON with --json, else the command's text) and a last status line. Errors go to
 * main, which maps them to exit codes.
 */
import { ENGINE_DEFAULTS } from '../defaults.js';
import type { Model } from '../engine/model.js';
import { placementFrom } from './placement.js';
import { defaultOutDir, onInterrupt, printResult, progressReporter, status, warn, type CommonArgs, type ResultOutput } from './runtime.js';

/** Loads a model for a command; it is disposed on interruption. */
async function openModel(path: string, args: CommonArgs): Promise<Model> {
  const { loadModel } = await import('../engine/model.js');
  // Automatic step-downs (CPU instead of a GPU too small, a lower default `parallel`) and a chat
  // template's absence are said on stderr.
  const model = await loadModel(path, { gpu: args.gpu ?? ENGINE_DEFAULTS.gpu, ...placementFrom(args), onWarning: (m) => warn(args, m) });
  if (model.info.replicas) status(args, `${model.info.replicas} replicas of the model share the work`);
  onInterrupt(() => model.dispose());
  return model;
}

/** What a command's run gets: the loaded model, its output folder, and callbacks for the library's options. */
export interface ModelRun {
  model: Model;
  /** The output folder: --out when given, else ./moodaxis-out/<model name>. */
  out: string;
  /** Progress on stderr (a no-op for a command without a progress label). */
  onProgress: ReturnType<typeof progressReporter>['update'];
  /** A status line on stderr. */
  onStatus: (message: string) => void;
}

export interface ModelCommand<R> extends Omit<ResultOutput<R>, 'summary'> {
  /** The GGUF file. */
  model: string;
  /** --out, checked before the model loads (`outDir`); undefined: the model's default folder. */
  out?: string;
  /** The label of the progress bar; none: the command shows no progress. */
  progress?: string;
  /** The command's work on the loaded model. */
  run(run: ModelRun): Promise<R>;
  /** Writes the files of the result that the library does not write itself (after the progress bar ends). */
  save?(result: R, run: ModelRun): Promise<void> | void;
  /** The status line after the result ("wrote …"), if any. */
  summary?(result: R, run: ModelRun): string | undefined;
}

/** Loads the model, runs the command on it, prints the result, and disposes the model. */
export async function runModelCommand<R>(args: CommonArgs, command: ModelCommand<R>): Promise<R> {
  const model = await openModel(command.model, args);
  try {
    const progress = command.progress === undefined ? null : progressReporter(args, command.progress);
    const run: ModelRun = {
      model,
      out: command.out ?? defaultOutDir(model.info.name),
      onProgress: progress ? progress.update : () => {},
      onStatus: (m) => status(args, m),
    };
    const result = await command.run(run);
    progress?.done();
    await command.save?.(result, run);
    printResult(args, result, { ...command, summary: (r) => command.summary?.(r, run) });
    return result;
  } finally {
    await model.dispose();
  }
}

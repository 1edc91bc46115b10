/**
 * Flags shared by the commands, in groups, so that each command lists only the flags it uses: output
 * (--json, --quiet), the model's device (--gpu), sampling (--seed, --parallel, --deterministic) and the
 * token limits. A command module imports nothing heavy at the top: the library loads in its handler.
 */
import type { Argv } from 'yargs';
import type { RunSettings } from '../../method/settings.js';
import { placementOptions } from '../placement.js';
import type { CommonArgs } from '../runtime.js';

/** --json and --quiet (every command). */
export const outputOptions = (y: Argv, quiet = 'no progress or status lines (tables, results and warnings still print)', json = 'print JSON on stdout and nothing else') =>
  y
    .option('json', { type: 'boolean', default: false, describe: json })
    .option('quiet', { type: 'boolean', default: false, describe: quiet });

/** --gpu and the placement flags (commands that load a model). */
export const gpuOption = (y: Argv) => placementOptions(y.option('gpu', { requiresArg: true, choices: ['auto', 'cuda', 'cpu'] as const, default: 'auto' as const, describe: 'where to run the model' }));

/** --deterministic. */
export const deterministicOption = (y: Argv) =>
  y.option('deterministic', {
    type: 'boolean',
    describe: 'results independent of batching and close across CPU and GPU (the default on CPU; on a GPU slow: one sequence at a time)',
  });

/** --parallel and --deterministic: how sequences are batched. */
export const batchOptions = (y: Argv) =>
  deterministicOption(y.option('parallel', { type: 'number', requiresArg: true, describe: 'sequences generated at once (default 16 on CPU, 128 on CUDA)' }));

/** Which of the token limits a command uses. */
export interface RunOptionSet {
  /** --max-tokens: calibration (and evaluation) answers. */
  maxTokens?: string | false;
  /** --baseline-max-tokens: baseline answers. */
  baselineMaxTokens?: string | false;
  /** --compat: capture positions (commands that calibrate). */
  compat?: boolean;
}

/** The flags of commands that generate: --gpu, --seed, --parallel, --deterministic, the token limits they use, --json, --quiet. */
export const runOptions = (y: Argv, use: RunOptionSet = {}) => {
  let out = batchOptions(gpuOption(y)).option('seed', {
    type: 'number',
    requiresArg: true,
    default: 42,
    describe: 'run seed (per-response seeds derive from it; calibrated axes are cached per seed and settings)',
  });
  if (use.maxTokens !== false) out = out.option('max-tokens', { type: 'number', requiresArg: true, describe: use.maxTokens ?? 'new tokens per calibration answer (default 200)' });
  if (use.baselineMaxTokens) out = out.option('baseline-max-tokens', { type: 'number', requiresArg: true, describe: use.baselineMaxTokens });
  if (use.compat) out = out.option('compat', { choices: ['mood-axis'] as const, describe: "reproduce the reference code's capture positions" });
  return outputOptions(out);
};

export const BASELINE_TOKENS = 'new tokens per baseline answer (default 384)';

export type RunArgs = CommonArgs & { seed: number; parallel?: number; maxTokens?: number; baselineMaxTokens?: number; compat?: 'mood-axis'; deterministic?: boolean };

/** The run settings among a command's flags (the library fills in the defaults). */
export const settingsFrom = (a: RunArgs): Partial<RunSettings> => ({
  seed: a.seed,
  parallel: a.parallel,
  maxTokens: a.maxTokens,
  baselineMaxTokens: a.baselineMaxTokens,
  compat: a.compat ?? null,
  deterministic: a.deterministic,
});

/** A command: yargs command string, description, builder, and the handler (errors are handled by main). */
export interface Command {
  command: string;
  describe: string;
  builder: (y: Argv) => Argv<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  handler: (args: any) => Promise<void>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** Flags and settings shared by the commands that generate. */
import type { Argv } from 'yargs';
import { resolveSettings } from '../../method/settings.js';
import type { CommonArgs } from '../runtime.js';

export const runOptions = (y: Argv) =>
  y
    .option('seed', { type: 'number', default: 42, describe: 'run seed (per-response seeds derive from it)' })
    .option('parallel', { type: 'number', describe: 'sequences generated at once (default 16 on CPU, 128 on CUDA)' })
    .option('gpu', { choices: ['auto', 'cuda', 'cpu'] as const, default: 'auto' as const, describe: 'where to run the model' })
    .option('max-tokens', { type: 'number', describe: 'new tokens per calibration/evaluation response (default 200)' })
    .option('baseline-max-tokens', { type: 'number', describe: 'new tokens per baseline response (default 384)' })
    .option('compat', { choices: ['mood-axis'] as const, describe: "reproduce the reference code's capture positions" })
    .option('deterministic', {
      type: 'boolean',
      describe: 'results independent of batching and close across CPU/GPU (default on CPU; on a GPU: slow, one sequence at a time)',
    })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON on stdout and nothing else' })
    .option('quiet', { type: 'boolean', default: false, describe: 'no progress or status output' });

export type RunArgs = CommonArgs & { seed: number; parallel?: number; maxTokens?: number; baselineMaxTokens?: number; compat?: 'mood-axis'; deterministic?: boolean };

export const settingsFrom = (a: RunArgs) =>
  resolveSettings({ seed: a.seed, parallel: a.parallel, maxTokens: a.maxTokens, baselineMaxTokens: a.baselineMaxTokens, compat: a.compat ?? null, deterministic: a.deterministic });

/** A command: yargs command string, description, builder, and the handler (errors are handled by main). */
export interface Command {
  command: string;
  describe: string;
  builder: (y: Argv) => Argv<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  handler: (args: any) => Promise<void>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

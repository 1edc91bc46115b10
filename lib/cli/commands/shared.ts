/**
 * The command type, and the flags shared by the commands in groups, so that each command lists only
 * the flags it uses: output (--json, --quiet), the model's device (--gpu), sampling (--seed, --parallel,
 * --deterministic), the token limits, and the output folder (--out). Every group keeps the flags declared
 * before it, so a command's handler is typed by what its builder declares. A command module imports
 * nothing heavy at the top: the library loads in its handler.
 */
import type { ArgumentsCamelCase, Argv } from 'yargs';
import { ENGINE_DEFAULTS, PARALLEL_DEFAULTS, PROTOCOL_DEFAULTS, RUN_DEFAULTS } from '../../defaults.js';
import type { RunSettings } from '../../method/settings.js';
import { placementOptions } from '../placement.js';
import { DEFAULT_OUT_TEXT, OUT_RULE } from '../runtime.js';

/**
 * A command's arguments as its handler gets them: what its builder declared, --max-tokens also as
 * `maxTokens`. Nothing else: a misspelt name does not compile (yargs' own type lets any name through
 * as `unknown`).
 */
export type CommandArgs<A> = { [K in keyof ArgumentsCamelCase<A> as string extends K ? never : K]: ArgumentsCamelCase<A>[K] };

/**
 * A command (the pattern of yargs' `CommandModule<object, A>`): its yargs command string, description,
 * the builder that declares its positionals and flags, and the handler, which gets what the builder
 * declared. Errors thrown by the handler are handled by main.
 */
export interface Command<A> {
  command: string;
  describe: string;
  builder(y: Argv): Argv<A>;
  /** (A method, not a function property: a list of commands of different arguments is a `Command<unknown>[]`.) */
  handler(args: CommandArgs<A>): Promise<void>;
}

/** A command whose handler's argument type is inferred from its builder. */
export const defineCommand = <A>(command: Command<A>): Command<A> => command;

/** --json and --quiet (every command). */
export const outputOptions = <T>(y: Argv<T>, quiet = 'no progress or status lines (tables, results and warnings still print)', json = 'print JSON on stdout and nothing else') =>
  y
    .option('json', { type: 'boolean', default: false, describe: json })
    .option('quiet', { type: 'boolean', default: false, describe: quiet });

/** --gpu and the placement flags (commands that load a model). */
export const gpuOption = <T>(y: Argv<T>) => placementOptions(y.option('gpu', { requiresArg: true, choices: ['auto', 'cuda', 'cpu'] as const, default: ENGINE_DEFAULTS.gpu, describe: 'where to run the model' }));

/** --deterministic. */
export const deterministicOption = <T>(y: Argv<T>) =>
  y.option('deterministic', {
    type: 'boolean',
    describe: 'results independent of batching and close across CPU and GPU (the default on CPU; on a GPU slow: one sequence at a time)',
  });

/** The default of --parallel as the help says it. */
export const PARALLEL_TEXT = `default ${PARALLEL_DEFAULTS.cpu} on CPU; on CUDA ${PARALLEL_DEFAULTS.cuda}, fewer where their KV cache would take over half the free GPU memory`;

/** --parallel and --deterministic: how sequences are batched. */
export const batchOptions = <T>(y: Argv<T>) =>
  deterministicOption(y.option('parallel', { type: 'number', requiresArg: true, describe: `sequences generated at once (${PARALLEL_TEXT})` }));

/** Which of the token limits a command uses. */
export interface RunOptionSet {
  /** --max-tokens: calibration (and evaluation) answers. */
  maxTokens?: string | false;
  /** --baseline-max-tokens: baseline answers. */
  baselineMaxTokens?: string | false;
  /** --compat: capture positions (commands that calibrate). */
  compat?: boolean;
}

/** The flags a yargs instance declares. */
type FlagsOf<Y> = Y extends Argv<infer F> ? F : never;

/** The flags `runOptions` may add besides --gpu, --seed and the batching: undefined where the command leaves one out. */
export interface RunLimitFlags {
  'max-tokens'?: number;
  'baseline-max-tokens'?: number;
  compat?: 'mood-axis';
}

/** The flags of commands that generate: --gpu, --seed, --parallel, --deterministic, the token limits they use, --json, --quiet. */
export const runOptions = <T>(y: Argv<T>, use: RunOptionSet = {}) => {
  const out = batchOptions(gpuOption(y)).option('seed', {
    type: 'number',
    requiresArg: true,
    default: RUN_DEFAULTS.seed,
    describe: 'run seed (per-response seeds derive from it; calibrated axes are cached per seed and settings)',
  });
  // option() adds to the yargs instance it is called on; the flags added here are typed once, below
  if (use.maxTokens !== false) out.option('max-tokens', { type: 'number', requiresArg: true, describe: use.maxTokens ?? `new tokens per calibration answer (default ${RUN_DEFAULTS.maxTokens})` });
  if (use.baselineMaxTokens) out.option('baseline-max-tokens', { type: 'number', requiresArg: true, describe: use.baselineMaxTokens });
  if (use.compat) out.option('compat', { choices: ['mood-axis'] as const, describe: "reproduce the reference code's capture positions" });
  return outputOptions(out as Argv<FlagsOf<typeof out> & RunLimitFlags>);
};

export const BASELINE_TOKENS = `new tokens per baseline answer (default ${RUN_DEFAULTS.baselineMaxTokens})`;
/** --max-tokens of the commands whose answers are all alike (benchmark, drift). */
export const ANSWER_TOKENS = `new tokens per answer, the calibration answers included (default ${RUN_DEFAULTS.maxTokens})`;

/** <model>: the GGUF file of a command that loads a model. */
export const MODEL_ARG = { type: 'string', demandOption: true, describe: 'GGUF model file' } as const;

/** --axes (a calibrated axes file) and --cache, of the commands that calibrate when they find no axes. */
export const AXES_FLAG = { type: 'string', requiresArg: true, describe: 'calibrated axes file (from `moodaxis calibrate`) instead of the cache' } as const;
export const CACHE_FLAG = { type: 'boolean', default: PROTOCOL_DEFAULTS.cache, describe: 'reuse the axes calibrated for this model with the same seed and settings (--no-cache: calibrate again)' } as const;

/** The run flags `settingsFrom` reads. */
export type RunArgs = { seed: number; parallel?: number; maxTokens?: number; baselineMaxTokens?: number; compat?: 'mood-axis'; deterministic?: boolean };

/** The run settings among a command's flags (the library fills in the defaults). */
export const settingsFrom = (a: RunArgs): Partial<RunSettings> => ({
  seed: a.seed,
  parallel: a.parallel,
  maxTokens: a.maxTokens,
  baselineMaxTokens: a.baselineMaxTokens,
  compat: a.compat ?? null,
  deterministic: a.deterministic,
});

/**
 * --out: the folder the command writes `files` into (the same words as its errors, `outDir`), by
 * default ./moodaxis-out/<model> (`fallback` says another default).
 */
export const outFlag = (files: string, fallback = `default ${DEFAULT_OUT_TEXT}`) =>
  ({ type: 'string', requiresArg: true, describe: `${OUT_RULE} for ${files} (${fallback})` }) as const;

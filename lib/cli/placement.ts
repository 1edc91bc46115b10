/**
 * The flags that place a model beyond --gpu: data-parallel replicas (--gpus, --replicas), a child
 * process (--isolate), one model over several GPUs (--split-mode, --tensor-split, --main-gpu), and the
 * devices of llama.cpp RPC servers (--rpc).
 * The library checks the values; here the comma lists are read.
 */
import type { Argv } from 'yargs';
import { badInput } from '../engine/errors.js';
import type { PlacementOptions, SplitMode } from '../engine/placement.js';

export interface PlacementArgs {
  gpus?: string;
  replicas?: number;
  isolate?: boolean;
  splitMode?: SplitMode;
  tensorSplit?: string;
  mainGpu?: number;
  rpc?: string;
}

/** --gpus, --replicas, --isolate, --split-mode, --tensor-split, --main-gpu (commands that load a model). */
export const placementOptions = (y: Argv) =>
  y
    .option('gpus', { type: 'string', requiresArg: true, describe: 'data parallel: one model replica per GPU, `all` or indices like 0,1 (each in its own process; same results as one GPU)' })
    .option('replicas', { type: 'number', requiresArg: true, describe: 'replicas per GPU with --gpus (2 can overlap host and GPU work), or of the --gpu device (--gpu cpu: CPU replicas)' })
    .option('isolate', { type: 'boolean', describe: 'run the model in a child process: a llama.cpp abort (a CUDA error) becomes an error message, the journal is kept' })
    .option('split-mode', { requiresArg: true, choices: ['none', 'layer', 'row'] as const, describe: "one model over several GPUs, llama.cpp's split: none (--main-gpu only), layer (its default), row" })
    .option('tensor-split', { type: 'string', requiresArg: true, describe: 'share of the model per GPU, e.g. 3,1' })
    .option('main-gpu', { type: 'number', requiresArg: true, describe: 'the GPU of --split-mode none (for row: of intermediate results); default 0' })
    .option('rpc', { type: 'string', requiresArg: true, describe: 'llama.cpp RPC servers host:port,host:port (`moodaxis rpc-server`) whose devices take the layers; trusted networks only (no authentication)' });

/** A comma list of numbers (`3,1`), or a bad-input error naming the flag. */
function numberList(flag: string, value: string, integers: boolean): number[] {
  const parts = value.split(',').map((p) => p.trim());
  const numbers = parts.map(Number);
  if (parts.some((p) => p === '') || numbers.some((n) => !Number.isFinite(n) || (integers && (!Number.isInteger(n) || n < 0))))
    throw badInput(`${flag} ${value}: expected ${integers ? 'GPU indices like 0,1' : 'numbers like 3,1'}`);
  return numbers;
}

/** The library's placement options from the flags. */
export function placementFrom(a: PlacementArgs): PlacementOptions {
  const gpus = a.gpus === undefined ? undefined : a.gpus.trim() === 'all' ? ('all' as const) : numberList('--gpus', a.gpus, true);
  return {
    ...(gpus !== undefined ? { gpus } : {}),
    ...(a.replicas !== undefined ? { replicas: a.replicas } : {}),
    ...(a.isolate ? { isolate: true } : {}),
    ...(a.splitMode !== undefined ? { splitMode: a.splitMode } : {}),
    ...(a.tensorSplit !== undefined ? { tensorSplit: numberList('--tensor-split', a.tensorSplit, false) } : {}),
    ...(a.mainGpu !== undefined ? { mainGpu: a.mainGpu } : {}),
    ...(a.rpc !== undefined ? { rpc: a.rpc.split(',').map((s) => s.trim()) } : {}),
  };
}

/**
 * Where a model runs, beyond `gpu`: in a child process of its own (`isolate`), as several replicas
 * (`gpus`: one per CUDA device, `replicas`: how many per device, or on the CPU), or as one model spread
 * over several GPUs by llama.cpp (`splitMode`, `tensorSplit`, `mainGpu`). Checks the options (clear
 * BAD_INPUT errors) and turns `gpus` into the CUDA device ids the replica processes are pinned to.
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { NativeDevice } from './binding.js';
import { ENGINE_DEFAULTS } from '../defaults.js';
import { MoodaxisError, badInput } from './errors.js';
import { parseRpcServers } from './rpc.js';

/** llama.cpp's multi-GPU split: one GPU (`mainGpu`), whole layers per GPU, or rows of each matrix. */
export type SplitMode = 'none' | 'layer' | 'row';
export const SPLIT_MODES: readonly SplitMode[] = ['none', 'layer', 'row'];
/** llama_split_mode's values. */
export const splitModeValue: Record<SplitMode, number> = { none: 0, layer: 1, row: 2 };
/** llama_max_devices() at the pinned llama.cpp. */
export const MAX_SPLIT_DEVICES = 16;
const MAX_REPLICAS = 64;

export interface PlacementOptions {
  /**
   * Run the model in a child process: a llama.cpp abort there (a CUDA error: out of memory in a decode,
   * an unsupported op, a backend built for another driver) rejects the call with the child's last log
   * lines instead of ending this process; the next call starts the child again. Default false.
   */
  isolate?: boolean;
  /**
   * Data parallel: one model replica per CUDA device (`'all'`, or device indices as nvidia-smi numbers
   * them), each in its own child process pinned to its GPU; a generate call's requests are split across
   * them with the same results as one replica. Implies `isolate` and `gpu: 'cuda'`.
   */
  gpus?: 'all' | number[];
  /**
   * Replicas per device (default 1): with `gpus`, per listed GPU (2 can overlap one replica's host work
   * with the other's GPU work); without, on the device `gpu` chooses (with `gpu: 'cpu'`: CPU replicas,
   * the cores shared among them). More than 1 implies `isolate`.
   */
  replicas?: number;
  /** How llama.cpp spreads one model over the GPUs it sees: 'none' (only `mainGpu`), 'layer' (its default), 'row'. */
  splitMode?: SplitMode;
  /** Share of the model per GPU, e.g. [3, 1] (normalised by llama.cpp); default: by free memory. */
  tensorSplit?: number[];
  /** The GPU of split mode 'none' (or of intermediate results in 'row'); default 0. */
  mainGpu?: number;
  /**
   * llama.cpp RPC servers (`moodaxis rpc-server`) as `host:port`: their devices take the model's layers
   * (spread by their free memory, before the local GPUs), as llama.cpp's own `--rpc` does. Each is checked
   * to answer first. Implies `isolate` (llama.cpp's RPC client aborts its process when a server goes away
   * mid-run) unless `isolate: false` is given. Trusted networks only: the protocol has no authentication.
   */
  rpc?: string[];
}

/** How a model spanning several GPUs was split, as its info and the manifest record it. */
export interface SplitInfo {
  mode: SplitMode;
  /** GPUs the model is spread over. */
  gpus: number;
  tensorSplit?: number[];
  mainGpu?: number;
}

/** Checks the placement options; `gpu` is the load option of the same call. */
export function checkPlacement(options: PlacementOptions & { gpu?: string }): void {
  const { isolate, gpus, replicas, splitMode, tensorSplit, mainGpu, rpc } = options;
  if (isolate !== undefined && typeof isolate !== 'boolean') throw badInput(`isolate must be true or false, got ${String(isolate)}`);
  if (gpus !== undefined) {
    if (gpus !== 'all' && (!Array.isArray(gpus) || gpus.length === 0 || gpus.some((g) => !Number.isInteger(g) || g < 0 || g >= MAX_REPLICAS)))
      throw badInput(`gpus must be 'all' or a list of GPU indices (0, 1, …), got ${JSON.stringify(gpus)}`);
    if (Array.isArray(gpus) && new Set(gpus).size !== gpus.length) throw badInput(`gpus names a GPU twice (${gpus.join(',')}): for several replicas on one GPU, use replicas`);
    if (options.gpu === 'cpu') throw badInput("gpus runs one replica per CUDA device: not with gpu 'cpu' (for CPU replicas use replicas: N)");
  }
  if (replicas !== undefined && (!Number.isInteger(replicas) || replicas < 1 || replicas > MAX_REPLICAS))
    throw badInput(`replicas must be an integer between 1 and ${MAX_REPLICAS}, got ${String(replicas)}`);
  const split = splitMode !== undefined || tensorSplit !== undefined || mainGpu !== undefined;
  if (splitMode !== undefined && !SPLIT_MODES.includes(splitMode)) throw badInput(`splitMode must be none, layer or row, got ${String(splitMode)}`);
  if (tensorSplit !== undefined) {
    if (!Array.isArray(tensorSplit) || tensorSplit.length === 0 || tensorSplit.length > MAX_SPLIT_DEVICES || tensorSplit.some((x) => typeof x !== 'number' || !Number.isFinite(x) || x < 0))
      throw badInput(`tensorSplit must be 1 to ${MAX_SPLIT_DEVICES} shares (numbers ≥ 0, one per GPU, e.g. 3,1), got ${JSON.stringify(tensorSplit)}`);
    if (!tensorSplit.some((x) => x > 0)) throw badInput(`tensorSplit ${tensorSplit.join(',')}: give at least one GPU a share above 0`);
    if (splitMode === 'none') throw badInput("tensorSplit shares the model among GPUs: not with splitMode 'none' (which puts it on mainGpu)");
  }
  if (mainGpu !== undefined && (!Number.isInteger(mainGpu) || mainGpu < 0 || mainGpu >= MAX_SPLIT_DEVICES))
    throw badInput(`mainGpu must be a GPU index between 0 and ${MAX_SPLIT_DEVICES - 1}, got ${String(mainGpu)}`);
  if (split && options.gpu === 'cpu') throw badInput("splitMode, tensorSplit and mainGpu place a model on GPUs: not with gpu 'cpu'");
  if (split && gpus !== undefined) throw badInput('gpus pins one replica to each GPU, splitMode/tensorSplit/mainGpu spread one model over several: use one or the other');
  if (rpc !== undefined) {
    parseRpcServers(rpc);
    // each server serves one client at a time: replicas would wait on each other's connections
    if (gpus !== undefined || (replicas ?? 1) > 1) throw badInput('rpc spreads one model over the RPC servers, which serve one client at a time: not with gpus or replicas');
    if (split) throw badInput("rpc places the layers over the RPC servers' devices by their free memory: splitMode, tensorSplit and mainGpu do not combine with rpc");
  }
}

/**
 * The GPUs llama.cpp puts a model on among the visible `devices` (split mode 'none': `mainGpu` alone;
 * otherwise every GPU with a share), their name for the model's info, their free memory together, and
 * the split to record when the model spans several GPUs.
 */
export function gpusOfModel(devices: NativeDevice[], options: PlacementOptions): { device: string; free: number; split?: SplitInfo } {
  const { splitMode, tensorSplit, mainGpu } = options;
  const count = devices.length;
  const gpuList = count === 1 ? 'the one GPU here is 0' : `the GPUs here are 0…${count - 1}`;
  if (mainGpu !== undefined && mainGpu >= count) throw badInput(`mainGpu ${mainGpu}: there is no such GPU (${gpuList})`);
  if (tensorSplit && tensorSplit.length > count) throw badInput(`tensorSplit ${tensorSplit.join(',')} gives ${tensorSplit.length} shares but ${count === 1 ? 'one GPU is' : `${count} GPUs are`} visible`);
  const used = splitMode === 'none' ? [devices[mainGpu ?? 0]!] : devices.filter((_, i) => !tensorSplit || (tensorSplit[i] ?? 0) > 0);
  const names = used.map((d) => d.description || d.name);
  const device = names.length === 1 ? names[0]! : names.every((n) => n === names[0]) ? `${names.length} × ${names[0]}` : names.join(' + ');
  const free = used.reduce((sum, d) => sum + d.memoryFree, 0);
  // on one GPU the split changes nothing in the results: the document stays that of one GPU
  if (used.length < 2) return { device, free };
  const split: SplitInfo = { mode: splitMode ?? 'layer', gpus: used.length, ...(tensorSplit ? { tensorSplit } : {}), ...(mainGpu !== undefined ? { mainGpu } : {}) };
  return { device, free, split };
}

/** Whether the options ask for child processes (isolate, more than one replica, or RPC servers unless isolate is false). */
export function wantsChildProcesses(options: PlacementOptions): boolean {
  return options.isolate === true || (options.rpc !== undefined && options.isolate !== false) || options.gpus !== undefined || (options.replicas ?? 1) > 1;
}

/** One replica's process: the environment it is pinned by, its `gpu` choice and CPU threads. */
export interface ReplicaPlan {
  /** How errors name the replica ('GPU 1', 'replica 0'); empty for a single isolated model. */
  label: string;
  env: Record<string, string>;
  gpu: 'auto' | 'cuda' | 'cpu';
  threads: number | undefined;
}

const listGpus = () =>
  new Promise<string | null>((resolve) => execFile('nvidia-smi', ['-L'], { timeout: 15_000 }, (error, stdout) => resolve(error ? null : stdout)));

/**
 * The CUDA devices this process may use, as CUDA_VISIBLE_DEVICES entries: the entries of
 * CUDA_VISIBLE_DEVICES when it is set, else 0…n−1 for the n GPUs `nvidia-smi -L` (or the driver's
 * /proc/driver/nvidia/gpus) lists. Nothing here initialises CUDA.
 */
export async function visibleCudaDevices(): Promise<string[]> {
  const given = process.env.CUDA_VISIBLE_DEVICES;
  if (given !== undefined) return given.split(',').map((s) => s.trim()).filter((s) => s !== '' && s !== '-1');
  const listed = await listGpus();
  let count = listed ? listed.split('\n').filter((l) => /^GPU \d+:/.test(l)).length : 0;
  if (!listed) {
    try {
      count = readdirSync('/proc/driver/nvidia/gpus').length;
    } catch {
      count = 0;
    }
  }
  return Array.from({ length: count }, (_, i) => String(i));
}

/**
 * The replica processes of a load: with `gpus`, `replicas` per listed GPU, each pinned with
 * CUDA_VISIBLE_DEVICES (the child's CUDA runtime then sees its GPU alone: no context, memory or
 * llama.cpp layer split on the others); without, `replicas` alike on the device `gpu` chooses. The CPU
 * threads are shared among them (one core left free, as for one model).
 */
export async function replicaPlans(options: PlacementOptions & { gpu?: 'auto' | 'cuda' | 'cpu'; threads?: number }): Promise<ReplicaPlan[]> {
  const perDevice = options.replicas ?? 1;
  const slots: Array<Omit<ReplicaPlan, 'threads'>> = [];
  if (options.gpus === undefined) {
    for (let r = 0; r < perDevice; r++) slots.push({ label: perDevice > 1 ? `replica ${r}` : '', env: {}, gpu: options.gpu ?? ENGINE_DEFAULTS.gpu });
  } else {
    const visible = await visibleCudaDevices();
    if (visible.length === 0) throw new MoodaxisError('RESOURCE', 'gpus: no NVIDIA GPU is visible here (nvidia-smi -L lists none, or CUDA_VISIBLE_DEVICES is empty)');
    const chosen = options.gpus === 'all' ? visible.map((_, i) => i) : options.gpus;
    for (const index of chosen) {
      if (index >= visible.length) throw badInput(`gpus: there is no GPU ${index}: ${visible.length === 1 ? 'the one GPU here is 0' : `the GPUs here are 0…${visible.length - 1}`}`);
      const order = process.env.CUDA_DEVICE_ORDER || 'PCI_BUS_ID';
      for (let r = 0; r < perDevice; r++) slots.push({ label: `GPU ${index}${perDevice > 1 ? ` replica ${r}` : ''}`, env: { CUDA_VISIBLE_DEVICES: visible[index]!, CUDA_DEVICE_ORDER: order }, gpu: 'cuda' });
    }
  }
  const threads = options.threads ?? Math.max(1, Math.floor(Math.max(1, availableParallelism() - 1) / slots.length));
  return slots.map((slot) => ({ ...slot, threads }));
}

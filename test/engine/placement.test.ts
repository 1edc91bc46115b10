/**
 * Placement without a GPU at hand: which processes `gpus`/`replicas` start and how each is pinned
 * (CUDA_VISIBLE_DEVICES entries, given here the way a scheduler gives them), and which GPUs a split
 * spans among the devices llama.cpp lists, with the name, memory and split the manifest records.
 * The replicas themselves run in test/protocols/replicas.test.ts, the child process in isolate.test.ts.
 */
import { availableParallelism } from 'node:os';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { NativeDevice } from '../../lib/engine/binding.js';
import { gpusOfModel, replicaPlans } from '../../lib/engine/placement.js';

const GiB = 2 ** 30;
const h200 = (i: number, free: number): NativeDevice => ({ name: `CUDA${i}`, description: 'NVIDIA H200', type: 'gpu', memoryFree: free * GiB, memoryTotal: 140 * GiB });

describe('replica processes', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('pins one process per listed GPU through CUDA_VISIBLE_DEVICES, indices counted among the visible GPUs', async () => {
    vi.stubEnv('CUDA_VISIBLE_DEVICES', '3,5');
    vi.stubEnv('CUDA_DEVICE_ORDER', '');
    const all = await replicaPlans({ gpus: 'all' });
    // nvidia-smi's numbering (PCI bus order), not CUDA's fastest-first
    expect(all[0]!.env.CUDA_DEVICE_ORDER).toBe('PCI_BUS_ID');
    expect(all.map((p) => [p.label, p.env.CUDA_VISIBLE_DEVICES, p.gpu])).toEqual([
      ['GPU 0', '3', 'cuda'],
      ['GPU 1', '5', 'cuda'],
    ]);
    const two = await replicaPlans({ gpus: [1], replicas: 2, threads: 4 });
    expect(two.map((p) => [p.label, p.env.CUDA_VISIBLE_DEVICES, p.threads])).toEqual([
      ['GPU 1 replica 0', '5', 4],
      ['GPU 1 replica 1', '5', 4],
    ]);
    await expect(replicaPlans({ gpus: [2] })).rejects.toMatchObject({ code: 'BAD_INPUT', message: 'gpus: there is no GPU 2: the GPUs here are 0…1' });
    vi.stubEnv('CUDA_VISIBLE_DEVICES', '');
    await expect(replicaPlans({ gpus: 'all' })).rejects.toMatchObject({ code: 'RESOURCE', message: expect.stringMatching(/no NVIDIA GPU is visible/) });
  });

  it('CPU replicas share the cores (one left free), a single isolated model keeps them', async () => {
    const cpu = await replicaPlans({ gpu: 'cpu', replicas: 2 });
    expect(cpu.map((p) => [p.label, p.gpu, p.env])).toEqual([
      ['replica 0', 'cpu', {}],
      ['replica 1', 'cpu', {}],
    ]);
    expect(cpu[0]!.threads).toBe(Math.max(1, Math.floor((availableParallelism() - 1) / 2)));
    const [one] = await replicaPlans({ gpu: 'auto', isolate: true });
    expect(one).toEqual({ label: '', env: {}, gpu: 'auto', threads: Math.max(1, availableParallelism() - 1) });
  });
});

describe('one model over several GPUs', () => {
  const two = [h200(0, 100), h200(1, 120)];

  it('llama.cpp spreads a model over every GPU unless told: both count, and the split is recorded', () => {
    expect(gpusOfModel([h200(0, 100)], {})).toEqual({ device: 'NVIDIA H200', free: 100 * GiB });
    expect(gpusOfModel(two, {})).toEqual({ device: '2 × NVIDIA H200', free: 220 * GiB, split: { mode: 'layer', gpus: 2 } });
    expect(gpusOfModel(two, { splitMode: 'row', tensorSplit: [3, 1] })).toEqual({ device: '2 × NVIDIA H200', free: 220 * GiB, split: { mode: 'row', gpus: 2, tensorSplit: [3, 1] } });
  });

  it('split mode none keeps it on the main GPU; a zero share leaves a GPU out; one GPU records no split', () => {
    // on one GPU nothing is recorded: the documents are those of a one-GPU host (and of replicas)
    expect(gpusOfModel(two, { splitMode: 'none', mainGpu: 1 })).toEqual({ device: 'NVIDIA H200', free: 120 * GiB });
    expect(gpusOfModel(two, { tensorSplit: [0, 1] })).toEqual({ device: 'NVIDIA H200', free: 120 * GiB });
    expect(gpusOfModel([...two, h200(2, 50)], { tensorSplit: [1, 0, 1], mainGpu: 2 })).toEqual({ device: '2 × NVIDIA H200', free: 150 * GiB, split: { mode: 'layer', gpus: 2, tensorSplit: [1, 0, 1], mainGpu: 2 } });
    const mixed = gpusOfModel([h200(0, 100), { ...h200(1, 40), description: 'NVIDIA A100' }], {});
    expect(mixed.device).toBe('NVIDIA H200 + NVIDIA A100');
  });

  it('names a GPU or a share that is not there', () => {
    expect(() => gpusOfModel(two, { mainGpu: 2 })).toThrow('mainGpu 2: there is no such GPU (the GPUs here are 0…1)');
    expect(() => gpusOfModel(two, { tensorSplit: [3, 1, 1] })).toThrow('tensorSplit 3,1,1 gives 3 shares but 2 GPUs are visible');
  });
});

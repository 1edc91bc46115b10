/** `moodaxis doctor`: which build is in use, the backends and devices found, and each CUDA candidate's verdict. */
import { existsSync } from 'node:fs';
import { addonLocations, ensureCuda, nativeAddon, type NativeDevice } from '../engine/binding.js';
import type { GpuCandidate, NvidiaDriver } from '../engine/gpu-backends.js';

export interface DoctorReport {
  build: { kind: string; path: string };
  backends: string[];
  devices: NativeDevice[];
  cuda: {
    usable: boolean;
    reason: string | null;
    plugin: string | null;
    driver: NvidiaDriver | null;
    /** Each CUDA backend tried, in order, with its verdict (prebuilt addon only). */
    candidates: GpuCandidate[];
  };
  features: string;
  otherBuild: string | null;
}

export async function doctorReport(): Promise<DoctorReport> {
  const { addon, kind, path } = await nativeAddon();
  const cuda = await ensureCuda();
  const info = addon.systemInfo();
  const other = kind === 'source' ? addonLocations.prebuilt : addonLocations.source;
  return {
    build: { kind: kind === 'source' ? 'from source (cmake-js, llama.cpp linked in)' : 'prebuilt llama.cpp libraries (node-llama-cpp)', path },
    backends: info.backends,
    devices: info.devices,
    cuda: { usable: cuda.ok, reason: cuda.reason, plugin: cuda.plugin, driver: cuda.selection?.driver ?? null, candidates: cuda.selection?.candidates ?? [] },
    features: info.features,
    otherBuild: existsSync(other) ? other : null,
  };
}

const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

export function formatDoctor(r: DoctorReport): string {
  const lines = [
    `build     ${r.build.kind}`,
    `          ${r.build.path}`,
    `backends  ${r.backends.join(', ')}`,
    'devices',
    ...r.devices.map((d) => `  ${d.type.padEnd(4)} ${d.description || d.name}  ${gib(d.memoryFree)} free of ${gib(d.memoryTotal)}`),
    `driver    ${r.cuda.driver ? `NVIDIA ${r.cuda.driver.version}${r.cuda.driver.cuda ? ` (CUDA ${r.cuda.driver.cuda})` : ''}` : 'no NVIDIA driver'}`,
    `cuda      ${r.cuda.usable ? `usable${r.cuda.plugin ? ` (${r.cuda.plugin})` : ' (built in)'}` : `not usable: ${r.cuda.reason}`}`,
    ...r.cuda.candidates.map((c) => `  ${c.verdict.ok ? 'ok  ' : 'no  '} ${c.label}${c.verdict.ok ? ` on ${c.verdict.device}` : `: ${c.verdict.reason}`}${c.cached ? ' (checked before)' : ''}`),
    `features  ${r.features.trim()}`,
  ];
  if (r.otherBuild) lines.push(`also built ${r.otherBuild} (choose with MOODAXIS_BUILD=source|prebuilt)`);
  return lines.join('\n');
}

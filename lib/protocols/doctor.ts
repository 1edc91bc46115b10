/** `moodaxis doctor`: which build is in use, the backends and devices found, and whether CUDA is usable. */
import { addonLocations, cudaPlugin, ensureCuda, nativeAddon, type NativeDevice } from '../engine/binding.js';

export interface DoctorReport {
  build: { kind: string; path: string };
  backends: string[];
  devices: NativeDevice[];
  cuda: { usable: boolean; reason: string | null; plugin: string | null };
  features: string;
  otherBuild: string | null;
}

export async function doctorReport(): Promise<DoctorReport> {
  const { addon, kind, path } = await nativeAddon();
  const cuda = await ensureCuda();
  const info = addon.systemInfo();
  const other = kind === 'source' ? addonLocations.prebuilt : addonLocations.source;
  const { existsSync } = await import('node:fs');
  return {
    build: { kind: kind === 'source' ? 'from source (cmake-js, llama.cpp linked in)' : 'prebuilt llama.cpp libraries (node-llama-cpp)', path },
    backends: info.backends,
    devices: info.devices,
    cuda: { usable: cuda.ok, reason: cuda.reason, plugin: cudaPlugin() },
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
    `cuda      ${r.cuda.usable ? 'usable' : `not usable: ${r.cuda.reason}`}`,
    `features  ${r.features.trim()}`,
  ];
  if (r.otherBuild) lines.push(`also built ${r.otherBuild} (choose with MOODAXIS_BUILD=source|prebuilt)`);
  return lines.join('\n');
}

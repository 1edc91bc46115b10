/**
 * Choosing a CUDA backend that really works on this machine, without ever risking the process.
 *
 * llama.cpp aborts the whole process on a CUDA error (a backend compiled by a newer toolkit than the
 * driver supports dies in its first kernel launch). So before the prebuilt addon loads a CUDA backend
 * plugin, that plugin is proven in a child process (scripts/gpu-probe.mjs) with a real decode of a tiny
 * model on the GPU. The verdict is cached per driver and plugin file. Candidates, in order:
 *   1. node-llama-cpp's prebuilt CUDA backend (@node-llama-cpp/linux-x64-cuda, fetched when absent);
 *   2. its fallback backend (@node-llama-cpp/linux-x64-cuda-ext), only where its CUDA 12 runtime is present;
 *   3. a backend built here from the pinned source with this machine's CUDA toolkit (build-cuda/),
 *      built automatically at first GPU use when nvcc is present;
 * then the CPU, with one line that says why and what to do. MOODAXIS_CUDA_BACKENDS (paths separated by
 * ':') replaces the list, for experts and for tests.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildFailure, linesTo, runBuildScript } from './build-script.js';
import { packageRoot } from './package-root.js';

export type GpuCandidateId = 'prebuilt' | 'fallback' | 'source' | 'custom';

export interface GpuVerdict {
  ok: boolean;
  /** Why it cannot be used (null when ok). */
  reason: string | null;
  /** The GPU the test decode ran on, when ok. */
  device?: string;
  /** How long the check took (the child process, including a build when there was one). */
  seconds: number;
  checkedAt: string;
}

export interface GpuCandidate {
  id: GpuCandidateId;
  label: string;
  /** The backend plugin file, or null when there is none to try. */
  file: string | null;
  verdict: GpuVerdict;
  /** Whether the verdict came from the cache of earlier checks. */
  cached: boolean;
}

export interface NvidiaDriver {
  version: string;
  /** The newest CUDA version the driver supports ("13.0"), when nvidia-smi tells. */
  cuda: string | null;
}

export interface GpuSelection {
  driver: NvidiaDriver | null;
  candidates: GpuCandidate[];
  /** The first working candidate, or null. */
  chosen: GpuCandidate | null;
  /** One line for the user when no candidate works on a machine that has an NVIDIA driver. */
  message: string | null;
}

const PROBE_TIMEOUT_MS = 300_000;
const pin = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')).llamaCpp as { version: string; cuda: string; cudaFallback: string };
const verdictFile = () => join(packageRoot, 'build-deps', 'gpu-verdicts.json');
export const sourceBackendPath = join(packageRoot, 'build-cuda', 'libggml-cuda.so');

const run = (cmd: string, args: string[], timeout = 15_000) =>
  new Promise<string | null>((resolve) => execFile(cmd, args, { timeout }, (error, stdout) => resolve(error ? null : stdout)));

/** The NVIDIA kernel driver's version, or null when there is no NVIDIA driver. */
export async function nvidiaDriver(): Promise<NvidiaDriver | null> {
  let version: string | null = null;
  try {
    version = /Kernel Module(?:\s+for\s+\S+)?\s+([\d.]+)/.exec(readFileSync('/proc/driver/nvidia/version', 'utf8'))?.[1] ?? null;
  } catch {
    /* no NVIDIA kernel driver */
  }
  const smi = await run('nvidia-smi', []);
  version ??= smi ? /Driver Version:\s*([\d.]+)/.exec(smi)?.[1] ?? null : null;
  if (!version) return null;
  return { version, cuda: smi ? /CUDA Version:\s*([\d.]+)/.exec(smi)?.[1] ?? null : null };
}

/** Whether the dynamic loader knows every one of these libraries (ldconfig's cache, read once). */
async function hasLibraries(...sonames: string[]): Promise<boolean> {
  const out = (await run('ldconfig', ['-p'])) ?? (await run('/sbin/ldconfig', ['-p']));
  return out !== null && sonames.every((soname) => out.includes(soname));
}

/**
 * An installed package of the pinned version, else fetched once with npm pack (scripts/llama-paths.mjs),
 * in a child process so that a download of the CUDA package (143 MB) never blocks the event loop.
 */
export function pinnedPackageDir(name: string, log: (line: string) => void): Promise<string> {
  const paths = join(packageRoot, 'scripts', 'llama-paths.mjs');
  const script = `import(${JSON.stringify(pathToFileURL(paths).href)}).then((m) => console.log(m.pinnedPackage(${JSON.stringify(name)}, (l) => console.error(l)))).catch((e) => { console.error('error: ' + e.message); process.exitCode = 1; })`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      for (const line of c.toString().split('\n')) if (line.startsWith('fetching ')) log(line);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const dir = stdout.trim().split('\n').pop();
      if (code === 0 && dir) resolve(dir);
      else reject(new Error(/^error: (.*)$/m.exec(stderr)?.[1] ?? `could not find ${name} (exit ${code})`));
    });
  });
}

function pluginIn(dir: string, sub: string[]): string | null {
  const bins = join(dir, 'bins');
  if (!existsSync(bins)) return null;
  for (const platform of readdirSync(bins)) {
    const file = join(bins, platform, ...sub, 'libggml-cuda.so');
    if (existsSync(file)) return file;
  }
  return null;
}

const fileKey = (driver: NvidiaDriver | null, file: string) => {
  const st = statSync(file);
  return `${driver?.version ?? 'none'}|${file}|${st.size}|${st.mtimeMs}`;
};

async function readVerdicts(): Promise<Record<string, GpuVerdict>> {
  try {
    return JSON.parse(await readFile(verdictFile(), 'utf8')) as Record<string, GpuVerdict>;
  } catch {
    return {};
  }
}

async function saveVerdict(key: string, verdict: GpuVerdict): Promise<void> {
  try {
    const all = await readVerdicts();
    all[key] = verdict;
    // drop verdicts of files that are gone (a rebuilt backend, a temporary file)
    for (const k of Object.keys(all)) if (!existsSync(k.split('|')[1] ?? '')) delete all[k];
    await mkdir(join(packageRoot, 'build-deps'), { recursive: true });
    const tmp = `${verdictFile()}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(all, null, 2)}\n`);
    await rename(tmp, verdictFile());
  } catch {
    /* a read-only install: the check runs again next time */
  }
}

/** Words for a failed probe, from what the child printed last. */
export function explainProbeFailure(lines: string[], driver: NvidiaDriver | null, exit: string, answer?: string): string {
  const text = lines.join('\n');
  const driverText = driver ? `this one (${driver.version}${driver.cuda ? `, CUDA ${driver.cuda}` : ''})` : 'this one';
  const runtime = /(libcu\w+\.so\.\d+)/.exec(text);
  if (/unsupported toolchain|PTX JIT|no kernel image|CUDA driver version is insufficient/i.test(text))
    return `it was compiled for a newer driver than ${driverText} (${/CUDA error: [^\n]*/.exec(text)?.[0] ?? 'its kernels do not run'})`;
  if (runtime && /cannot open shared object|not found/i.test(text)) return `it needs ${runtime[1]}, which this machine does not have`;
  if (answer) return answer;
  const errorLine = [...lines].reverse().find((l) => /error|abort|fail/i.test(l));
  return `its test decode failed (${exit}${errorLine ? `: ${errorLine.trim()}` : ''})`;
}

interface ProbeAnswer { ok: boolean; error?: string; device?: string }

/** The child's JSON line, or null when it died before it could answer. */
function parseAnswer(stdout: string): ProbeAnswer | null {
  try {
    return JSON.parse(stdout.trim().split('\n').pop() ?? '') as ProbeAnswer;
  } catch {
    return null;
  }
}

/** Runs scripts/gpu-probe.mjs on one plugin; never throws. */
export function probeBackend(addonPath: string, plugin: string, modelPath: string, driver: NvidiaDriver | null): Promise<GpuVerdict> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(packageRoot, 'scripts', 'gpu-probe.mjs'), addonPath, plugin, modelPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, MOODAXIS_VERBOSE: '1' },
    });
    let stdout = '';
    const tail: string[] = [];
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => {
      for (const line of c.toString().split('\n')) if (line.trim()) tail.push(line);
      tail.splice(0, Math.max(0, tail.length - 40));
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), PROBE_TIMEOUT_MS);
    const done = (ok: boolean, reason: string | null, device?: string) => {
      clearTimeout(timer);
      resolve({ ok, reason, ...(device ? { device } : {}), seconds: Math.round((Date.now() - started) / 100) / 10, checkedAt: new Date().toISOString() });
    };
    child.on('error', (error) => done(false, `the check could not start: ${error.message}`));
    child.on('close', (code, signal) => {
      const result = parseAnswer(stdout);
      if (code === 0 && result?.ok) return done(true, null, result.device);
      if (result?.error) return done(false, explainProbeFailure([result.error, ...tail], driver, `exit ${code}`, result.error));
      const exit = signal === 'SIGKILL' ? `no answer within ${PROBE_TIMEOUT_MS / 1000} s` : signal ? `the process was killed by ${signal}` : `exit ${code}`;
      done(false, explainProbeFailure(tail, driver, exit));
    });
  });
}

export interface SelectOptions {
  addonPath: string;
  /** A tiny model for the test decode. */
  probeModel: () => Promise<string>;
  /** Progress lines (fetching, building, checking), for stderr. */
  log: (line: string) => void;
  /** Build the CUDA backend from source when nvcc is present and nothing else works (default true). */
  build?: boolean;
}

function nvccPath(): string | null {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/local/cuda/bin']) if (dir && existsSync(join(dir, 'nvcc'))) return join(dir, 'nvcc');
  return null;
}

async function buildSourceBackend(log: (line: string) => void): Promise<string | null> {
  const run = await runBuildScript(['--cuda-backend'], linesTo(log)).catch((error: Error) => ({ code: null, output: `build failed: the build could not start: ${error.message}` }));
  return run.code === 0 ? null : `the build failed: ${buildFailure(run)}`;
}

/** Tries the candidates in order and returns what each one said. */
export async function selectCudaBackend(options: SelectOptions): Promise<GpuSelection> {
  const custom = process.env.MOODAXIS_CUDA_BACKENDS?.split(':').filter(Boolean);
  const driver = await nvidiaDriver();
  const candidates: GpuCandidate[] = [];
  const now = () => new Date().toISOString();
  const skip = (id: GpuCandidateId, label: string, reason: string, file: string | null = null): GpuCandidate => ({
    id, label, file, cached: false, verdict: { ok: false, reason, seconds: 0, checkedAt: now() },
  });
  if (!driver && !custom) return { driver, candidates, chosen: null, message: null };

  const verdicts = await readVerdicts();
  const check = async (id: GpuCandidateId, label: string, file: string): Promise<GpuCandidate> => {
    const key = fileKey(driver, file);
    if (verdicts[key]) return { id, label, file, verdict: verdicts[key]!, cached: true };
    options.log(`checking ${label} with a test decode on the GPU (${file})…`);
    const verdict = await probeBackend(options.addonPath, file, await options.probeModel(), driver);
    await saveVerdict(key, verdict);
    options.log(verdict.ok ? `${label} works on ${verdict.device} (checked in ${verdict.seconds} s; kept for later runs)` : `${label} cannot be used: ${verdict.reason}`);
    return { id, label, file, verdict, cached: false };
  };
  const tryNext = async (id: GpuCandidateId, label: string, make: (label: string) => Promise<GpuCandidate>) => {
    const candidate = await make(label).catch((error: Error) => skip(id, label, error.message));
    candidates.push(candidate);
    return candidate.verdict.ok ? candidate : null;
  };

  if (custom) {
    for (const file of custom) {
      const chosen = await tryNext('custom', `the CUDA backend ${file}`, async (label) => (existsSync(file) ? check('custom', label, file) : skip('custom', label, 'no such file', file)));
      if (chosen) return { driver, candidates, chosen, message: null };
    }
  } else {
    const prebuilt = await tryNext('prebuilt', `node-llama-cpp's prebuilt CUDA backend (${pin.cuda} ${pin.version})`, async (label) => {
      const file = pluginIn(await pinnedPackageDir(pin.cuda, options.log), []);
      return file ? check('prebuilt', label, file) : skip('prebuilt', label, 'the package holds no libggml-cuda.so');
    });
    if (prebuilt) return { driver, candidates, chosen: prebuilt, message: null };

    const fallback = await tryNext('fallback', `node-llama-cpp's fallback CUDA backend (${pin.cudaFallback})`, async (label) => {
      if (!(await hasLibraries('libcudart.so.12', 'libcublas.so.12')))
        return skip('fallback', label, 'it needs the CUDA 12 runtime (libcudart.so.12, libcublas.so.12), which this machine does not have');
      const file = pluginIn(await pinnedPackageDir(pin.cudaFallback, options.log), ['fallback']);
      return file ? check('fallback', label, file) : skip('fallback', label, 'the package holds no fallback/libggml-cuda.so');
    });
    if (fallback) return { driver, candidates, chosen: fallback, message: null };

    const source = await tryNext('source', 'the CUDA backend built here from source', async (label) => {
      if (!existsSync(sourceBackendPath)) {
        if (!nvccPath()) return skip('source', label, 'no CUDA toolkit (nvcc) to build it with');
        if (options.build === false) return skip('source', label, 'not built yet (npx moodaxis build --gpu cuda)');
        const started = Date.now();
        options.log(`building llama.cpp's CUDA backend from source with this machine's CUDA toolkit (about 4 min on 16 cores; kept for later runs)…`);
        const failure = await buildSourceBackend(options.log);
        if (failure) return skip('source', label, failure);
        options.log(`the CUDA backend was built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
      }
      return check('source', label, sourceBackendPath);
    });
    if (source) return { driver, candidates, chosen: source, message: null };
  }

  const driverText = driver ? `driver ${driver.version}${driver.cuda ? `, CUDA ${driver.cuda}` : ''}` : 'no NVIDIA driver';
  const causes = candidates.map((c) => `${c.label}: ${c.verdict.reason}`).join('; ');
  const remedy = custom
    ? 'check the files in MOODAXIS_CUDA_BACKENDS'
    : nvccPath()
      ? 'see the build log: npx moodaxis build --gpu cuda'
      : 'update the NVIDIA driver, or install the CUDA toolkit (nvcc) and run `npx moodaxis build --gpu cuda`';
  return { driver, candidates, chosen: null, message: `no usable CUDA backend (${driverText}): ${causes}. Running on the CPU; to use the GPU, ${remedy}` };
}

/** Drops the cached verdicts (after a driver or toolkit change, `moodaxis build --gpu cuda` does this). */
export async function forgetVerdicts(): Promise<void> {
  await writeFile(verdictFile(), '{}\n').catch(() => undefined);
}


#!/usr/bin/env node
// Builds the moodaxis addon.
//   (default)          compile only our addon against node-llama-cpp's prebuilt llama.cpp (seconds) -> build/Release
//   --from-source      build llama.cpp too with cmake-js, from MOODAXIS_LLAMA_CPP_SOURCE or the bundled
//                      source at the pinned commit -> build-source/Release
//   --gpu cuda         with --from-source: add CUDA (architectures from MOODAXIS_CUDA_ARCHITECTURES)
//   --tools            with --from-source: also build llama-batched-bench and llama-quantize (benchmarks)
//   --cuda-backend     build only llama.cpp's CUDA backend, as a plugin for the prebuilt addon, from the
//                      pinned source with this machine's CUDA toolkit -> build-cuda/libggml-cuda.so
//                      (architecture: MOODAXIS_CUDA_ARCHITECTURES, else the GPU's, else cmake's native)
//   --rpc-backend      build only ggml-rpc (llama.cpp's RPC backend: client and server), as a plugin for the
//                      prebuilt addon, from the pinned source -> build-rpc/libggml-rpc.so (CPU only, no CUDA
//                      toolkit needed; node-llama-cpp's prebuilt packages do not ship it)
//   --if-missing       do nothing when an addon is already built (npm install hook)
//   --verbose          stream the compiler's output (to stderr) instead of keeping it for a failure
// Nothing is ever written to stdout: a build started at first use must not corrupt `--json` output.
// The compiler's output goes to build-deps/build.log; a failed build prints its error lines.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { checkoutFromBundle, depsDir, dropFetchedPackages, headersRoot, packageDir, packageRoot, prebuiltDir, prebuiltLibraries } from './llama-paths.mjs';

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};
const log = (msg) => process.stderr.write(`moodaxis: ${msg}\n`);

export const addonPaths = {
  prebuilt: join(packageRoot, 'build', 'Release', 'moodaxis.node'),
  source: join(packageRoot, 'build-source', 'Release', 'moodaxis.node'),
};
const cudaPluginPath = join(packageRoot, 'build-cuda', 'libggml-cuda.so');
const rpcPluginPath = join(packageRoot, 'build-rpc', 'libggml-rpc.so');

const buildLog = join(depsDir, 'build.log');
const TOOLCHAIN_HINT = 'a C++17 compiler (g++ or clang++), make and python3 are needed (Debian/Ubuntu: apt-get install g++ make python3)';

/** The lines of a compiler's output that say what went wrong (errors first, then the tail). */
function failureLines(output) {
  const lines = output.split('\n').map((l) => l.trimEnd()).filter(Boolean);
  const errors = lines.filter((l) => /\berror\b|fatal|undefined reference|not found|No such file/i.test(l));
  const picked = errors.length ? errors.slice(0, 20) : lines.slice(-20);
  return picked.map((l) => `  ${l}`).join('\n');
}

/**
 * Runs a build step. Its output goes to the build log (and to stderr with --verbose), never to stdout;
 * cmake's "[ 42%]" lines become a progress line every 10 %.
 */
function run(cmd, cmdArgs, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, cmdArgs, { cwd: packageRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    const chunks = [];
    let shownPercent = -10;
    const take = (chunk) => {
      chunks.push(chunk);
      if (flag('--verbose')) process.stderr.write(chunk);
      const percents = [...chunk.toString().matchAll(/^\[\s*(\d+)%\]/gm)].map((m) => Number(m[1]));
      const top = Math.max(-1, ...percents);
      if (!flag('--verbose') && top >= shownPercent + 10) {
        shownPercent = top - (top % 10);
        log(`  ${shownPercent} %`);
      }
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', (error) => reject(new Error(`${cmd}: ${error.message}`)));
    child.on('close', (code) => {
      const output = Buffer.concat(chunks).toString();
      appendFileSync(buildLog, `$ ${cmd} ${cmdArgs.join(' ')}\n${output}\n`);
      if (code === 0) return resolve();
      const step = cmdArgs[0] ? `${cmdArgs[0].split('/').pop()} ${cmdArgs[1] ?? ''}` : cmd;
      reject(new Error(`${step} failed (exit ${code}):\n${failureLines(output)}\nFull log: ${buildLog}`));
    });
  });
}

/** Whether a command is on PATH. */
const have = (tool) => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;

/** llama.cpp's source: MOODAXIS_LLAMA_CPP_SOURCE, else the pinned bundle checked out into build-deps/. */
function llamaSource() {
  if (process.env.MOODAXIS_LLAMA_CPP_SOURCE) return process.env.MOODAXIS_LLAMA_CPP_SOURCE;
  const source = checkoutFromBundle(join(depsDir, 'llama.cpp'), [], log);
  dropFetchedPackages();
  return source;
}

/** Refuses early, with what to install, when the compiler toolchain node-gyp needs is missing. */
function checkToolchain() {
  const missing = [];
  if (!have(process.env.CXX || 'c++') && !have('g++') && !have('clang++')) missing.push('a C++ compiler');
  if (!have('make')) missing.push('make');
  if (!have('python3')) missing.push('python3');
  if (missing.length) throw new Error(`${missing.join(', ')} not found: ${TOOLCHAIN_HINT}`);
}

function nodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const root = dirname(dirname(process.execPath));
  return existsSync(join(root, 'include', 'node', 'node.h')) ? root : null;
}

async function buildPrebuilt() {
  const dir = prebuiltDir();
  if (!dir) throw new Error(`@node-llama-cpp/${process.platform}-${process.arch} (the prebuilt llama.cpp libraries) is not installed for this platform; build from source instead: npm run build:source`);
  checkToolchain();
  const gyp = join(packageDir('node-gyp'), 'bin', 'node-gyp.js');
  const started = Date.now();
  headersRoot(log);
  log('compiling the addon against the prebuilt llama.cpp libraries…');
  const nd = nodeDir();
  await run(process.execPath, [gyp, 'rebuild', '--silent', `--jobs=${Math.max(1, cpus().length)}`, ...(nd ? [`--nodedir=${nd}`] : [])]);
  // the prebuilt libraries beside the addon (its RUNPATH is $ORIGIN), as relative links into
  // @node-llama-cpp/<platform> rather than copies (24 MB); a copy where links are not possible
  const { link, cpuVariants } = prebuiltLibraries(dir);
  const release = dirname(addonPaths.prebuilt);
  for (const f of [...link, ...cpuVariants]) {
    rmSync(join(release, f), { force: true });
    try {
      symlinkSync(relative(release, join(dir, f)), join(release, f));
    } catch {
      copyFileSync(join(dir, f), join(release, f));
    }
  }
  dropFetchedPackages();
  log(`built ${addonPaths.prebuilt} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

async function buildFromSource() {
  const gpu = option('--gpu', process.env.MOODAXIS_GPU || 'cpu');
  const source = llamaSource();
  const cmakeJs = join(packageDir('cmake-js'), 'bin', 'cmake-js');
  const defs = [`--CDLLAMA_CPP_SOURCE=${source}`, `--CDMOODAXIS_GPU=${gpu}`];
  if (gpu === 'cuda') defs.push(`--CDCMAKE_CUDA_ARCHITECTURES=${process.env.MOODAXIS_CUDA_ARCHITECTURES || 'native'}`);
  if (flag('--tools')) defs.push('--CDMOODAXIS_TOOLS=ON');
  log(`building llama.cpp (${gpu}) and the addon from ${source}; this takes minutes…`);
  const started = Date.now();
  mkdirSync(join(packageRoot, 'build-source'), { recursive: true });
  const env = { CMAKE_BUILD_PARALLEL_LEVEL: String(Math.max(1, cpus().length)) };
  // configure every time (quick on a configured tree) so that changed options take effect
  await run(process.execPath, [cmakeJs, 'configure', '--out', 'build-source', '--config', 'Release', ...defs], env);
  await run(process.execPath, [cmakeJs, 'build', '--out', 'build-source', '--config', 'Release'], env);
  log(`built ${addonPaths.source} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

/** The GPU's compute capability as CMake wants it ("90"), from nvidia-smi; null when it cannot tell. */
function gpuArchitecture() {
  const res = spawnSync('nvidia-smi', ['--query-gpu=compute_cap', '--format=csv,noheader'], { stdio: ['ignore', 'pipe', 'ignore'], timeout: 15_000 });
  const caps = res.status === 0 ? [...new Set(res.stdout.toString().split('\n').map((l) => l.trim().replace('.', '')).filter((l) => /^\d+$/.test(l)))] : [];
  return caps.length ? caps.join(';') : null;
}

/**
 * Builds one llama.cpp backend from the pinned source as a loadable plugin (GGML_BACKEND_DL, shared) in
 * `tree` and installs its library at `dest` (via a .partial file). `what` names it in the progress lines.
 */
async function buildBackendPlugin({ what, target, tree, dest, cmakeFlags, duration }) {
  const source = llamaSource();
  const jobs = String(Math.max(1, cpus().length));
  log(`building llama.cpp's ${what} from ${source} (${jobs} jobs; ${duration})…`);
  const started = Date.now();
  await run('cmake', [
    '-S', source, '-B', tree, '-DCMAKE_BUILD_TYPE=Release', ...cmakeFlags,
    '-DGGML_BACKEND_DL=ON', '-DBUILD_SHARED_LIBS=ON', '-DGGML_NATIVE=OFF',
    '-DLLAMA_BUILD_TESTS=OFF', '-DLLAMA_BUILD_EXAMPLES=OFF', '-DLLAMA_BUILD_TOOLS=OFF', '-DLLAMA_BUILD_SERVER=OFF', '-DLLAMA_CURL=OFF',
  ]);
  await run('cmake', ['--build', tree, '--config', 'Release', '--target', target, '-j', jobs]);
  const library = `lib${target}.so`;
  const built = ['bin', 'lib', `ggml/src/${target}`, 'ggml/src'].map((d) => join(tree, d, library)).find((f) => existsSync(f));
  if (!built) throw new Error(`the ${what} was built but ${library} was not found under ${tree}`);
  copyFileSync(built, `${dest}.partial`);
  renameSync(`${dest}.partial`, dest);
  log(`built ${dest} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

async function buildCudaBackend() {
  if (!have('cmake')) throw new Error('cmake not found: building the CUDA backend needs cmake ≥ 3.18 and the CUDA toolkit (nvcc)');
  const nvcc = have('nvcc') ? 'nvcc' : existsSync('/usr/local/cuda/bin/nvcc') ? '/usr/local/cuda/bin/nvcc' : null;
  if (!nvcc) throw new Error('nvcc not found: building the CUDA backend needs the CUDA toolkit (nvcc on PATH or /usr/local/cuda)');
  const archs = process.env.MOODAXIS_CUDA_ARCHITECTURES || gpuArchitecture() || 'native';
  await buildBackendPlugin({
    what: `CUDA backend for architecture ${archs}`, target: 'ggml-cuda', tree: join(packageRoot, 'build-cuda', 'cmake'), dest: cudaPluginPath,
    cmakeFlags: [`-DCMAKE_CUDA_COMPILER=${nvcc}`, '-DGGML_CUDA=ON', `-DCMAKE_CUDA_ARCHITECTURES=${archs}`],
    duration: 'about 4 min on 16 cores',
  });
}

async function buildRpcBackend() {
  if (!have('cmake')) throw new Error('cmake not found: building the RPC backend needs cmake ≥ 3.18 and a C++17 compiler');
  checkToolchain();
  // Like the prebuilt CPU variants, it must use the libggml-base.so the addon has loaded already (one ggml:
  // one registry, one logger, our abort callback): unversioned sonames make it need `libggml-base.so`, the
  // prebuilt library's soname, and no RUNPATH leads to the copy built here. TCP only (no RDMA), so that it
  // needs nothing beyond the C++ runtime.
  await buildBackendPlugin({
    what: 'RPC backend (ggml-rpc)', target: 'ggml-rpc', tree: join(packageRoot, 'build-rpc', 'cmake'), dest: rpcPluginPath,
    cmakeFlags: ['-DCMAKE_PLATFORM_NO_VERSIONED_SONAME=ON', '-DCMAKE_SKIP_RPATH=ON', '-DGGML_RPC=ON', '-DGGML_RPC_RDMA=OFF', '-DGGML_OPENMP=OFF', '-DLLAMA_OPENSSL=OFF'],
    duration: 'about 30 s on 2 cores; kept for later runs',
  });
}

try {
  if (flag('--if-missing') && (existsSync(addonPaths.prebuilt) || existsSync(addonPaths.source))) process.exit(0);
  mkdirSync(depsDir, { recursive: true });
  writeFileSync(buildLog, '');
  if (flag('--cuda-backend')) await buildCudaBackend();
  else if (flag('--rpc-backend')) await buildRpcBackend();
  else if (flag('--from-source')) await buildFromSource();
  else await buildPrebuilt();
} catch (error) {
  log(`build failed: ${error.message}`);
  process.exit(1);
}

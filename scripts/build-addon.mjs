#!/usr/bin/env node
// Builds the moodaxis addon.
//   (default)          compile only our addon against node-llama-cpp's prebuilt llama.cpp (seconds) -> build/Release
//   --from-source      build llama.cpp too with cmake-js, from MOODAXIS_LLAMA_CPP_SOURCE or the bundled
//                      source at the pinned commit -> build-source/Release
//   --gpu cuda         with --from-source: add CUDA (architectures from MOODAXIS_CUDA_ARCHITECTURES)
//   --tools            with --from-source: also build llama-batched-bench and llama-quantize (benchmarks)
//   --if-missing       do nothing when an addon is already built (npm install hook)
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { checkoutFromBundle, packageDir, packageRoot, prebuiltDir, prebuiltLibraries } from './llama-paths.mjs';

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

function run(cmd, cmdArgs, env = {}) {
  const res = spawnSync(cmd, cmdArgs, { cwd: packageRoot, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env } });
  if (res.error) throw new Error(`${cmd}: ${res.error.message}`);
  if (res.status !== 0) throw new Error(`${cmd} ${cmdArgs.slice(0, 3).join(' ')} … exited with code ${res.status}`);
}

function nodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const root = dirname(dirname(process.execPath));
  return existsSync(join(root, 'include', 'node', 'node.h')) ? root : null;
}

function buildPrebuilt() {
  const dir = prebuiltDir();
  if (!dir) throw new Error(`node-llama-cpp has no prebuilt llama.cpp for ${process.platform}-${process.arch}; run: npm run build:source`);
  const gyp = join(packageDir('node-gyp'), 'bin', 'node-gyp.js');
  const started = Date.now();
  log('compiling the addon against the prebuilt llama.cpp libraries…');
  const nd = nodeDir();
  run(process.execPath, [gyp, 'rebuild', '--silent', `--jobs=${Math.max(1, cpus().length)}`, ...(nd ? [`--nodedir=${nd}`] : [])]);
  const { link, cpuVariants } = prebuiltLibraries(dir);
  for (const f of [...link, ...cpuVariants]) copyFileSync(join(dir, f), join(dirname(addonPaths.prebuilt), f));
  log(`built ${addonPaths.prebuilt} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

function buildFromSource() {
  const gpu = option('--gpu', process.env.MOODAXIS_GPU || 'cpu');
  const source = process.env.MOODAXIS_LLAMA_CPP_SOURCE || checkoutFromBundle(join(packageRoot, 'build-deps', 'llama.cpp'));
  const cmakeJs = join(packageDir('cmake-js'), 'bin', 'cmake-js');
  const defs = [`--CDLLAMA_CPP_SOURCE=${source}`, `--CDMOODAXIS_GPU=${gpu}`];
  if (gpu === 'cuda') defs.push(`--CDCMAKE_CUDA_ARCHITECTURES=${process.env.MOODAXIS_CUDA_ARCHITECTURES || 'native'}`);
  if (flag('--tools')) defs.push('--CDMOODAXIS_TOOLS=ON');
  log(`building llama.cpp (${gpu}) and the addon from ${source}; this takes minutes…`);
  const started = Date.now();
  mkdirSync(join(packageRoot, 'build-source'), { recursive: true });
  const env = { CMAKE_BUILD_PARALLEL_LEVEL: String(Math.max(1, cpus().length)) };
  // configure every time (quick on a configured tree) so that changed options take effect
  run(process.execPath, [cmakeJs, 'configure', '--out', 'build-source', '--config', 'Release', ...defs], env);
  run(process.execPath, [cmakeJs, 'build', '--out', 'build-source', '--config', 'Release'], env);
  log(`built ${addonPaths.source} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

try {
  if (flag('--if-missing') && (existsSync(addonPaths.prebuilt) || existsSync(addonPaths.source))) process.exit(0);
  if (flag('--from-source')) buildFromSource();
  else buildPrebuilt();
} catch (error) {
  log(`build failed: ${error.message}`);
  process.exit(1);
}

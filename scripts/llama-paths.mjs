// Where the llama.cpp pieces come from: node-llama-cpp's source bundle (pinned commit) and its prebuilt
// libraries for this platform. Shared by the build script and binding.gyp's helper.
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(packageRoot, 'package.json'));


/** The folder of an installed package, found the way Node looks (node_modules upwards), exports ignored. */
export function packageDir(name) {
  for (const base of require.resolve.paths(name) ?? []) {
    const dir = join(base, name);
    if (existsSync(join(dir, 'package.json'))) return dir;
  }
  return null;
}

export function bundlePath() {
  const dir = packageDir('node-llama-cpp');
  const bundle = dir && join(dir, 'llama', 'gitRelease.bundle');
  if (!bundle || !existsSync(bundle)) {
    throw new Error('node-llama-cpp 3.21.1 with llama/gitRelease.bundle is required (run npm install)');
  }
  return bundle;
}

/** The prebuilt binaries folder of @node-llama-cpp/<variant> (linux-x64, linux-x64-cuda), or null. */
export function prebuiltDir(variant = `${process.platform}-${process.arch}`) {
  const dir = packageDir(`@node-llama-cpp/${variant}`);
  if (!dir) return null;
  const bins = join(dir, 'bins');
  if (!existsSync(bins)) return null;
  const sub = readdirSync(bins).find((d) => existsSync(join(bins, d, 'libggml-base.so')));
  return sub ? join(bins, sub) : null;
}

function git(args, cwd) {
  try {
    return execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();
  } catch (error) {
    if (error.code === 'ENOENT') throw new Error('git is needed to unpack the llama.cpp source bundle; install git');
    throw new Error(`git ${args.join(' ')} failed: ${String(error.stderr || error.message).trim()}`);
  }
}

/** Checks out `paths` of the pinned llama.cpp commit from the bundle into `dest` (once). Returns dest. */
export function checkoutFromBundle(dest, paths = []) {
  const marker = join(dest, '.moodaxis-checkout');
  if (existsSync(marker)) return dest;
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dirname(dest), { recursive: true });
  git(['clone', '--quiet', '--no-checkout', bundlePath(), dest]);
  git(['-c', 'advice.detachedHead=false', 'checkout', '--quiet', 'HEAD', '--', ...(paths.length ? paths : ['.'])], dest);
  execFileSync('touch', [marker]);
  return dest;
}

/** Folder with include/llama.h and ggml/include: MOODAXIS_LLAMA_CPP_SOURCE or the bundle's headers. */
export function headersRoot() {
  const fromEnv = process.env.MOODAXIS_LLAMA_CPP_SOURCE;
  if (fromEnv && existsSync(join(fromEnv, 'include', 'llama.h'))) return fromEnv;
  return checkoutFromBundle(join(packageRoot, 'build-deps', 'llama-headers'), ['include', 'ggml/include']);
}

/** The prebuilt shared libraries our addon links and ships beside itself. */
export function prebuiltLibraries(dir) {
  const files = readdirSync(dir);
  const pick = (re) => {
    const f = files.find((name) => re.test(name));
    if (!f) throw new Error(`${dir}: no file matching ${re}`);
    return f;
  };
  return {
    link: [pick(/^libllama\.v[\d.]+\.so$/), pick(/^libggml\.v[\d.]+\.so$/), 'libggml-base.so'],
    cpuVariants: files.filter((f) => /^libggml-cpu-.*\.so$/.test(f)),
  };
}

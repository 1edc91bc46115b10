// Where the llama.cpp pieces come from: node-llama-cpp's source bundle (pinned commit) and its prebuilt
// libraries for this platform. Shared by the build script, binding.gyp's helper and the GPU backend search.
//
// moodaxis does not depend on node-llama-cpp at run time: that package pulls ~680 MB of prebuilt binaries
// for every platform and GPU API. Only @node-llama-cpp/<platform> (the CPU libraries our addon links) is
// an optional dependency. The source bundle (headers for the addon, or a whole build from source) and the
// CUDA packages are taken from node_modules when a pinned copy is installed there, otherwise fetched
// once with `npm pack` (from npm's cache when it holds them) into build-deps/.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(packageRoot, 'package.json'));

/** The pinned llama.cpp distribution: package.json's `llamaCpp` field is the one place it is named. */
export const llamaPin = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')).llamaCpp;

/** Where fetched packages and unpacked sources live (inside the package, like build/). */
export const depsDir = join(packageRoot, 'build-deps');

/** The folder of an installed package, found the way Node looks (node_modules upwards), exports ignored. */
export function packageDir(name) {
  for (const base of require.resolve.paths(name) ?? []) {
    const dir = join(base, name);
    if (existsSync(join(dir, 'package.json'))) return dir;
  }
  return null;
}

/** How to run npm from here: the npm that runs this install, else npm on PATH. */
function npmCommand() {
  const cli = process.env.npm_execpath;
  return cli && /\.c?js$/.test(cli) ? [process.execPath, [cli]] : ['npm', []];
}

/**
 * An installed package of the pinned version, else `npm pack name@version` unpacked into build-deps/
 * (once). Returns its folder. `log` reports a fetch, which can take a while for the CUDA package.
 */
export function pinnedPackage(name, log = () => {}) {
  const version = llamaPin.version;
  const installed = packageDir(name);
  if (installed && JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')).version === version) return installed;
  const dest = join(depsDir, 'packages', `${name.replace('/', '+')}-${version}`);
  if (existsSync(join(dest, 'package.json'))) return dest;
  log(`fetching ${name}@${version} with npm pack…`);
  const tmp = `${dest}.partial`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const [cmd, pre] = npmCommand();
  let tgz;
  try {
    const out = execFileSync(cmd, [...pre, 'pack', `${name}@${version}`, '--prefer-offline', '--silent', '--pack-destination', tmp], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
    tgz = join(tmp, out.toString().trim().split('\n').pop());
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    const why = String(error.stderr || error.message).trim().split('\n').slice(-3).join(' ');
    throw new Error(`could not fetch ${name}@${version} from the npm registry or npm's cache (${why}); install it with: npm install ${name}@${version}`);
  }
  execFileSync('tar', ['xzf', tgz, '-C', tmp], { stdio: ['ignore', 'ignore', 'pipe'] });
  rmSync(tgz);
  renameSync(join(tmp, 'package'), dest);
  rmSync(tmp, { recursive: true, force: true });
  return dest;
}

/** Removes the source package fetched with npm pack once its files were taken (npm's cache keeps it). */
export function dropFetchedPackages() {
  rmSync(join(depsDir, 'packages', `${llamaPin.package}-${llamaPin.version}`), { recursive: true, force: true });
}

/** llama.cpp's source at the pinned commit, as the git bundle node-llama-cpp ships. */
export function bundlePath(log) {
  const bundle = join(pinnedPackage(llamaPin.package, log), 'llama', 'gitRelease.bundle');
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: the pinned ${llamaPin.package} has no source bundle`);
  return bundle;
}

/** The prebuilt CPU libraries' folder of @node-llama-cpp/<platform> (an optional dependency), or null. */
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
export function checkoutFromBundle(dest, paths = [], log = () => {}) {
  const marker = join(dest, '.moodaxis-checkout');
  if (existsSync(marker)) return dest;
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dirname(dest), { recursive: true });
  git(['clone', '--quiet', '--no-checkout', bundlePath(log), dest]);
  git(['-c', 'advice.detachedHead=false', 'checkout', '--quiet', 'HEAD', '--', ...(paths.length ? paths : ['.'])], dest);
  const commit = git(['rev-parse', 'HEAD'], dest);
  rmSync(join(dest, '.git'), { recursive: true, force: true }); // the files are what we need, not the history
  execFileSync('sh', ['-c', `echo ${commit} > "$1"`, 'sh', marker]);
  return dest;
}

/** Folder with include/llama.h and ggml/include: MOODAXIS_LLAMA_CPP_SOURCE or the bundle's headers. */
export function headersRoot(log) {
  const fromEnv = process.env.MOODAXIS_LLAMA_CPP_SOURCE;
  if (fromEnv && existsSync(join(fromEnv, 'include', 'llama.h'))) return fromEnv;
  return checkoutFromBundle(join(depsDir, 'llama-headers'), ['include', 'ggml/include'], log);
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
    // ggml_backend_load_all_from_path loads these from the addon's folder (the RPC backend too, when a
    // prebuilt package ships it: then no plugin is built for it)
    cpuVariants: files.filter((f) => /^libggml-cpu-.*\.so$/.test(f) || f === 'libggml-rpc.so'),
  };
}

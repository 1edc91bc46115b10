// Values binding.gyp asks for: `sources`, `includes`, `libs` (one per line / space separated).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { headersRoot, packageRoot, prebuiltDir, prebuiltLibraries } from './llama-paths.mjs';

const what = process.argv[2];
if (what === 'sources') {
  const list = readFileSync(join(packageRoot, 'native', 'sources.txt'), 'utf8').split('\n').filter(Boolean);
  console.log(list.join(' '));
} else if (what === 'includes') {
  const root = headersRoot();
  console.log([join(root, 'include'), join(root, 'ggml', 'include')].join(' '));
} else if (what === 'libs') {
  const dir = prebuiltDir();
  if (!dir) throw new Error(`no prebuilt llama.cpp libraries for ${process.platform}-${process.arch}: build from source (npm run build:source)`);
  const { link } = prebuiltLibraries(dir);
  console.log([`-L${dir}`, ...link.map((f) => `-l:${f}`)].join(' '));
} else {
  throw new Error(`gyp-config: unknown request ${what}`);
}

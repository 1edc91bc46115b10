import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder holding moodaxis's package.json, from source (lib/…) or compiled (dist/lib/…) code alike. */
function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'native'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('moodaxis: cannot find the package root');
    dir = parent;
  }
}

export const packageRoot = findPackageRoot();

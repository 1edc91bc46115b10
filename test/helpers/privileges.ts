/**
 * Root reads a mode-000 file anyway. Tests of "permission denied" therefore run their child process as
 * root without the two capabilities that override file permissions (setpriv, util-linux), instead of as
 * another user: another user could not read a checkout that lives under a 0700 folder (/root, mktemp -d).
 */
export const AS_ROOT = process.getuid?.() === 0;

/** [command, args] that run `node ...args` so that file permissions apply to it, wherever the checkout is. */
export function nodeHonouringPermissions(args: string[]): [string, string[]] {
  return AS_ROOT ? ['setpriv', ['--bounding-set=-dac_override,-dac_read_search', '--', process.execPath, ...args]] : [process.execPath, args];
}

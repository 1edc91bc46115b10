import { readFile } from 'node:fs/promises';
import { badInput } from './errors.js';

/** Reads a user's input file as text; a missing, unreadable or directory path is BAD_INPUT naming it. */
export async function readInputText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw badInput(`${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, expected a file' : `cannot read (${code})`}`);
  }
}

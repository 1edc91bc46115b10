/** The models and the study's data kept in the repository are the files their READMEs describe. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { referenceData, repoPath, testModel } from '../helpers/paths.js';

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('files kept for the tests', () => {
  it('each model has the sha256 its README gives', () => {
    const readme = readFileSync(repoPath('test/models/README.md'), 'utf8');
    for (const name of ['stories260K.gguf', 'aidreams260K.gguf'] as const) {
      const row = readme.split('\n').find((l) => l.startsWith(`| ${name} |`));
      expect(row, name).toBeDefined();
      expect(row!.split('|').map((c) => c.trim()).at(-2)).toBe(sha256(testModel(name)));
    }
  });

  it('each reference file has the sha256 its README gives', () => {
    const listed = readFileSync(repoPath('test/reference/README.md'), 'utf8')
      .split('\n')
      .map((l) => /^([0-9a-f]{64})  mood-axis\/(.+)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null);
    expect(listed.length).toBe(19);
    for (const [, hash, rel] of listed) expect(sha256(referenceData(rel!)), rel).toBe(hash);
  });
});

/** A real fingerprint of stories260K on the three story-benchmark axes (8-token answers), for validate's tests. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fingerprint, loadModel, type FingerprintDoc, type Model } from '../../lib/index.js';
import { repoPath, testModel } from '../helpers/paths.js';

export const STORY_BENCHMARK = repoPath('test/data/story-benchmark.json');

export interface StoryFingerprint {
  model: Model;
  dir: string;
  fp: FingerprintDoc;
  /** dir/fp/fingerprint.json */
  fpFile: string;
  dispose(): Promise<void>;
}

export async function storyFingerprint(prefix: string): Promise<StoryFingerprint> {
  const model = await loadModel(testModel('stories260K.gguf'), { gpu: 'cpu' });
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const fp = await fingerprint(model, { maxTokens: 8, baselineMaxTokens: 8, tokenDecay: 1.0, cache: false, axesFile: STORY_BENCHMARK, out: join(dir, 'fp') });
  return {
    model,
    dir,
    fp,
    fpFile: join(dir, 'fp', 'fingerprint.json'),
    async dispose() {
      await model.dispose();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

import { fileURLToPath } from 'node:url';

export const repoPath = (rel: string) => fileURLToPath(new URL(`../../${rel}`, import.meta.url));

/** The real trained test models kept in test/models (licenses and sha256 in its README). */
export const testModel = (name: 'stories260K.gguf' | 'aidreams260K.gguf') => repoPath(`test/models/${name}`);

/** The reference study's published data kept in test/reference/mood-axis. */
export const referenceData = (rel: string) => repoPath(`test/reference/mood-axis/${rel}`);

/** Where engine tests run the model: MOODAXIS_TEST_GPU=cuda runs the suite on the GPU machine. */
export const TEST_GPU = (process.env.MOODAXIS_TEST_GPU ?? 'cpu') as 'cpu' | 'cuda';

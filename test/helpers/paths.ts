import { fileURLToPath } from 'node:url';

/** The real trained test models in ../shared/models (CI has shared/ beside the clone). */
export const sharedModel = (name: 'stories260K.gguf' | 'aidreams260K.gguf') =>
  process.env.MOODAXIS_SHARED_MODELS
    ? `${process.env.MOODAXIS_SHARED_MODELS}/${name}`
    : fileURLToPath(new URL(`../../../shared/models/${name}`, import.meta.url));

export const repoPath = (rel: string) => fileURLToPath(new URL(`../../${rel}`, import.meta.url));

/** Where engine tests run the model: MOODAXIS_TEST_GPU=cuda runs the suite on the GPU machine. */
export const TEST_GPU = (process.env.MOODAXIS_TEST_GPU ?? 'cpu') as 'cpu' | 'cuda';

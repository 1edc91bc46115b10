import { fileURLToPath } from 'node:url';

/** The real trained test models in ../shared/models (CI has shared/ beside the clone). */
export const sharedModel = (name: 'stories260K.gguf' | 'aidreams260K.gguf') =>
  fileURLToPath(new URL(`../../../shared/models/${name}`, import.meta.url));

export const repoPath = (rel: string) => fileURLToPath(new URL(`../../${rel}`, import.meta.url));

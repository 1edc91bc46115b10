import { loadModel, type GpuChoice, type Model } from '../engine/model.js';

/** Library calls take a loaded model or a path; a path is loaded here and disposed after the call. */
export async function withModel<T>(modelOrPath: Model | string, gpu: GpuChoice | undefined, fn: (model: Model) => Promise<T>): Promise<T> {
  if (typeof modelOrPath !== 'string') return fn(modelOrPath);
  const model = await loadModel(modelOrPath, { gpu });
  try {
    return await fn(model);
  } finally {
    await model.dispose();
  }
}

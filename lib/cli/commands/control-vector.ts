/** `--control-vector FILE[:SCALE]` (fingerprint, steer, generate). */
import type { ControlVectorInput, Model } from '../../engine/model.js';
import { status, warn, type CommonArgs } from '../runtime.js';

/** Repeatable (the vectors add up, as with llama.cpp): its value is the list of FILE[:SCALE] given. */
export const controlVectorOption = {
  type: 'string',
  describe: "apply a llama.cpp control-vector GGUF (ours, cvector-generator's, repeng's) times SCALE (FILE:SCALE, default 1); repeat to add several",
  requiresArg: true,
  coerce: (given: string | string[]): string[] => ([] as string[]).concat(given),
} as const;

/** Reads the --control-vector files for a loaded model; warnings (e.g. another model's hint) go to stderr. */
export async function loadControlVectorArgs(a: CommonArgs & { controlVector?: string[] }, model: Model): Promise<ControlVectorInput | null> {
  const specs = a.controlVector ?? [];
  if (specs.length === 0) return null;
  const [{ loadControlVectors }, { layerList }] = await Promise.all([import('../../method/control-vector.js'), import('../../protocols/wording.js')]);
  const loaded = await loadControlVectors(specs, model.info);
  for (const w of loaded.warnings) warn(a, w);
  const window = loaded.input ? layerList(Array.from({ length: loaded.input.layerEnd - loaded.input.layerStart + 1 }, (_, i) => loaded.input!.layerStart + i)) : 'no layer (all zero)';
  status(a, `control vector${specs.length > 1 ? 's' : ''} ${specs.join(' + ')} on ${window}`);
  return loaded.input;
}

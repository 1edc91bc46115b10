/**
 * Comparing two fingerprints ("base vs instruct"): per axis the mean score of each, the delta B − A,
 * the std ratio B / A ("suppressed" below PROTOCOL_DEFAULTS.compare.suppressedRatio: B's style varies
 * far less on that axis), and whether the axis moved more than a threshold, so that a CI job can catch
 * a model update that changed the model's style (the CLI exits 1 then).
 */
import { PROTOCOL_DEFAULTS } from '../defaults.js';
import { readDocFile } from '../docs/read.js';
import type { CompareAxis, CompareDoc, CompareSide, FingerprintDoc } from '../docs/types.js';
import { badInput } from '../engine/errors.js';

const DEFAULTS = PROTOCOL_DEFAULTS.compare;

function side(doc: FingerprintDoc, file: string): CompareSide {
  const m = doc.manifest;
  return { file, model: m.model.name, identity: m.model.identity, questions: `${m.questions.name} ${m.questions.version}`, baselineQuestions: doc.axes[0]?.scores.length ?? 0 };
}

export function compareFingerprints(a: FingerprintDoc, b: FingerprintDoc, options: { threshold?: number; files?: [string, string] } = {}): CompareDoc {
  const threshold = options.threshold ?? DEFAULTS.threshold;
  if (!(Number.isFinite(threshold) && threshold >= 0)) throw badInput(`threshold must be a number ≥ 0, got ${threshold}`);
  const [fa, fb] = options.files ?? ['A', 'B'];
  const byId = new Map(b.axes.map((x) => [x.id, x]));
  const axes: CompareAxis[] = [];
  for (const x of a.axes) {
    const y = byId.get(x.id);
    if (!y) continue;
    const delta = y.mean - x.mean;
    const stdRatio = x.std > 0 ? y.std / x.std : null;
    axes.push({
      id: x.id,
      positive: x.positive,
      negative: x.negative,
      a: { mean: x.mean, std: x.std },
      b: { mean: y.mean, std: y.std },
      delta,
      stdRatio,
      suppressed: stdRatio !== null && stdRatio < DEFAULTS.suppressedRatio,
      moved: Math.abs(delta) > threshold,
    });
  }
  const inA = new Set(a.axes.map((x) => x.id));
  const onlyInA = a.axes.filter((x) => !byId.has(x.id)).map((x) => x.id);
  const onlyInB = b.axes.filter((x) => !inA.has(x.id)).map((x) => x.id);
  if (axes.length === 0) throw badInput(`${fa} and ${fb} have no axis in common (${[...inA].join(', ')} vs ${b.axes.map((x) => x.id).join(', ')})`);
  const notes: string[] = [];
  const ma = a.manifest;
  const mb = b.manifest;
  if (ma.model.identity !== mb.model.identity) notes.push(`different models: ${ma.model.name} vs ${mb.model.name} (each scored on its own axes)`);
  if (ma.questions.name !== mb.questions.name || ma.questions.version !== mb.questions.version)
    notes.push(`different question sets: ${ma.questions.name} ${ma.questions.version} vs ${mb.questions.name} ${mb.questions.version}`);
  const samp = (m: typeof ma) => JSON.stringify([m.sampler.temperature, m.sampler.topK, m.sampler.topP, m.sampler.maxTokens, m.sampler.baselineMaxTokens, m.capture]);
  if (samp(ma) !== samp(mb)) notes.push('different sampler or capture settings (see the manifests)');
  const sys = (m: typeof ma) => (m.systemPrompt as { sha256?: string } | undefined)?.sha256 ?? null;
  const tpl = (m: typeof ma) => JSON.stringify(m.templateKwargs ?? {});
  if (sys(ma) !== sys(mb)) notes.push(`different system prompts: ${sys(ma) ? `sha256 ${sys(ma)!.slice(0, 12)}` : 'none'} vs ${sys(mb) ? `sha256 ${sys(mb)!.slice(0, 12)}` : 'none'} (the deltas show what it changes)`);
  if (tpl(ma) !== tpl(mb)) notes.push(`different chat-template variables: ${tpl(ma)} vs ${tpl(mb)}`);
  if (onlyInA.length) notes.push(`only in ${fa}: ${onlyInA.join(', ')}`);
  if (onlyInB.length) notes.push(`only in ${fb}: ${onlyInB.join(', ')}`);
  return {
    kind: 'moodaxis.compare',
    schemaVersion: 1,
    a: side(a, fa),
    b: side(b, fb),
    threshold,
    axes,
    onlyInA,
    onlyInB,
    moved: axes.filter((x) => x.moved).map((x) => x.id),
    suppressed: axes.filter((x) => x.suppressed).map((x) => x.id),
    notes,
  };
}

/** Reads two fingerprint files and compares them. */
export async function compareFiles(fileA: string, fileB: string, options: { threshold?: number } = {}): Promise<CompareDoc> {
  const threshold = options.threshold ?? DEFAULTS.threshold;
  if (!(Number.isFinite(threshold) && threshold >= 0)) throw badInput(`--threshold must be a number ≥ 0, got ${threshold}`);
  const a = await readDocFile(fileA, 'moodaxis.fingerprint');
  const b = await readDocFile(fileB, 'moodaxis.fingerprint');
  return compareFingerprints(a, b, { threshold, files: [fileA, fileB] });
}

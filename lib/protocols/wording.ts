/**
 * The words that go with the numbers, shared by the CLI tables and the HTML report so that both say
 * the same thing: ICC agreement, undefined correlations, truncated answers, the sample-size verdict and
 * the benchmark's warning for a model without a chat template. Pure functions of document fields.
 */
import { PROTOCOL_DEFAULTS } from '../defaults.js';
import type { StabilityDoc, Truncation } from '../docs/types.js';

/** A number for the wording: `digits` decimals, typographic minus. */
function plain(x: number, digits: number): string {
  const s = Math.abs(x).toFixed(digits);
  return x < 0 && Number(s) !== 0 ? `\u2212${s}` : s;
}

export type IccAgreement = 'no agreement' | 'poor' | 'moderate' | 'good' | 'excellent';

/**
 * Agreement of an ICC in words: below 0 "no agreement" (the raters disagree more than chance: the
 * between-rater or residual variance exceeds the between-subject variance); then the usual bands
 * poor < 0.5 ≤ moderate < 0.75 ≤ good < 0.9 ≤ excellent. Null for an undefined ICC.
 */
export function iccAgreement(value: number | null | undefined): IccAgreement | null {
  if (value === null || value === undefined || !Number.isFinite(value)) return null;
  if (value < 0) return 'no agreement';
  return value < 0.5 ? 'poor' : value < 0.75 ? 'moderate' : value < 0.9 ? 'good' : 'excellent';
}

/**
 * An ICC for a table cell: the number, and "(no agreement)" after a negative one; "n/a (undefined)"
 * when there is none. `format` writes the number (default 3 decimals, typographic minus).
 */
export function iccText(value: number | null | undefined, format: (x: number) => string = (x) => plain(x, 3)): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return 'n/a (undefined)';
  return value < 0 ? `${format(value)} (no agreement)` : format(value);
}

/**
 * Pearson r(score, length) for a table cell: the signed number, or why it is undefined: every answer
 * had the same length ("n/a (constant length)", e.g. all stopped at the token cap) or the scores do
 * not vary ("n/a (constant score)").
 */
export function lengthRText(r: number | null | undefined, constantLength: boolean | undefined, digits = 2): string {
  if (r === null || r === undefined || !Number.isFinite(r)) return constantLength ? 'n/a (constant length)' : 'n/a (constant score)';
  const s = plain(r, digits);
  return r > 0 && Number(s) !== 0 ? `+${s}` : s;
}

/**
 * The warning for many answers cut at the token cap (share ≥ 0.2 of them), or null when there is
 * nothing to warn about. `what` names the answers ("baseline answers").
 */
export function truncationWarning(t: Truncation | undefined, what = 'baseline answers'): string | null {
  if (!t || !t.warn) return null;
  const share = Math.round(t.share * 100);
  return `${t.capped} of ${t.total} ${what} (${share} %) stopped at the ${t.maxTokens}-token cap: they are cut short, so their scores and the length statistics describe truncated text; raise the token cap (--baseline-max-tokens) for a full picture`;
}

/**
 * The sample-size verdict: "axes stabilise at n = 10 (…)" or why they do not. Documents before the
 * split-half curve compared subsets with the full set, which reaches 1 at n = all by construction: they
 * get no verdict. `axisName` names an axis for people (default: its id).
 */
export function sampleSizeVerdict(ss: StabilityDoc['sampleSize'], axisName: (id: string) => string = (id) => id): string {
  const threshold = ss.threshold ?? PROTOCOL_DEFAULTS.stability.stableCosine;
  if (ss.method !== 'split-half') return 'sample-size curve of an older version (subsets against the full set): no verdict';
  const largest = ss.n[ss.n.length - 1];
  if (ss.stabilisesAt === null) {
    const unstable = Object.entries(ss.perAxis)
      .filter(([, e]) => !e.medianCosine.some((c) => c >= threshold))
      .map(([id]) => axisName(id));
    return `axes do not stabilise up to n = ${largest} questions per half: the split-half cosine stays below ${threshold}${unstable.length ? ` for ${unstable.join(', ')}` : ''}`;
  }
  return `axes stabilise at n = ${ss.stabilisesAt} questions per half (split-half cosine ≥ ${threshold} on every axis)`;
}

/**
 * The benchmark's warning for a model without a chat template: its "system prompt" scenarios cannot
 * give the instruction a system role, so the model reads it as text to continue.
 */
export const NO_CHAT_TEMPLATE_WARNING =
  'this model has no chat template: the "system prompt" scenarios put the instruction as plain text before the question, which the model reads as text to continue rather than as a system instruction, and the follow-up turns are joined as plain text; the pass rate says little about instruction following';

/** A drift category as a person reads it: "passive_aggression" → "passive aggression". */
export function categoryLabel(id: string): string {
  return id.replace(/[_-]+/g, ' ');
}

/** The drift protocol's warning for a model without a chat template: its conversations are plain text. */
export const DRIFT_NO_CHAT_TEMPLATE_WARNING =
  'this model has no chat template: the user turns and its own answers are joined as plain text, which it reads as text to continue rather than as a conversation; the drift says little about how it answers a hostile user';

// How counts, axes and layers are written: plurals that agree with the count, an axis as
// "positive/negative", layers as "layer 3", "layers 2, 5" or "layers 4–9" (never a one-value range).

/** "1 axis", "2 axes". */
export function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** An axis as a person reads it: "warm/cold" (its id, warm_cold, is for flags, JSON and file names). */
export function axisLabel(axis: { positive: string; negative: string }): string {
  return `${axis.positive}/${axis.negative}`;
}

/** "layer 3", "layers 2, 5", "layers 4–9" (consecutive runs of three or more as a range). */
export function layerList(layers: readonly number[]): string {
  const sorted = [...new Set(layers)].sort((a, b) => a - b);
  if (sorted.length === 0) return 'no layers';
  if (sorted.length === 1) return `layer ${sorted[0]}`;
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    if (j - i >= 2) parts.push(`${sorted[i]}–${sorted[j]}`);
    else for (let k = i; k <= j; k++) parts.push(String(sorted[k]));
    i = j + 1;
  }
  return `layers ${parts.join(', ')}`;
}

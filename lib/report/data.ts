/**
 * Pure data helpers for the report: grouping documents by model, aligning baseline responses with
 * scores, and the few statistics the report recomputes for display (Pearson r, least squares).
 */
import * as stats from '../stats/index.js';
import type { DeadZone, FingerprintDoc, Manifest, ProtocolDoc, ResponseRecord, StabilityDoc, SteerDoc } from '../docs/types.js';
import { MODEL_COLORS } from './svg.js';

/** One model (one fingerprint, or a model that only appears in stability/steer documents). */
export interface ModelSeries {
  key: string;
  label: string;
  color: string;
  manifest: Manifest;
  fingerprint: FingerprintDoc | null;
  stability: StabilityDoc[];
  steer: SteerDoc[];
}

function modelKey(m: Manifest): string {
  return `${m.model.identity}\u0000${m.model.name}`;
}

/**
 * Group documents by model. Each fingerprint is its own series (two runs of one model stay
 * apart); stability and steer documents attach to the first fingerprint of the same model identity,
 * or form a series of their own.
 */
export function groupByModel(docs: ProtocolDoc[]): ModelSeries[] {
  const series: ModelSeries[] = [];
  const labels = new Map<string, number>();
  const add = (manifest: Manifest, fingerprint: FingerprintDoc | null): ModelSeries => {
    const base = manifest.model.name || manifest.model.path || 'model';
    const count = (labels.get(base) ?? 0) + 1;
    labels.set(base, count);
    const s: ModelSeries = {
      key: modelKey(manifest),
      label: count > 1 ? `${base} (${count})` : base,
      color: MODEL_COLORS[series.length % MODEL_COLORS.length]!,
      manifest,
      fingerprint,
      stability: [],
      steer: [],
    };
    series.push(s);
    return s;
  };
  for (const d of docs) if (d.kind === 'moodaxis.fingerprint') add(d.manifest, d);
  const find = (m: Manifest): ModelSeries => {
    const k = modelKey(m);
    return (
      series.find((s) => s.key === k) ??
      series.find((s) => s.manifest.model.identity === m.model.identity) ??
      add(m, null)
    );
  };
  for (const d of docs) {
    if (d.kind === 'moodaxis.stability') find(d.manifest).stability.push(d);
    else if (d.kind === 'moodaxis.steer') find(d.manifest).steer.push(d);
    else if (d.kind === 'moodaxis.validation' || d.kind === 'moodaxis.drift') find(d.manifest); // its model appears in the header
  }
  return series;
}

/**
 * The baseline responses, aligned with `axes[].scores`: those whose questionId starts with
 * `baseline/`, in order. Fallbacks when no id has that prefix: the responses with pole 'none', or
 * all responses when their number equals the number of scores. Null when they cannot be aligned.
 */
export function baselineResponses(doc: FingerprintDoc): ResponseRecord[] | null {
  const nScores = doc.axes[0]?.scores.length ?? 0;
  if (nScores === 0) return null;
  let rs = doc.responses.filter((r) => r.questionId.startsWith('baseline/'));
  if (rs.length === 0) rs = doc.responses.filter((r) => r.pole === 'none');
  if (rs.length === 0 && doc.responses.length === nScores) rs = doc.responses;
  return rs.length === nScores ? rs : null;
}

/** Token counts of the baseline responses aligned with the scores, or null. */
export function baselineTokens(doc: FingerprintDoc): number[] | null {
  return baselineResponses(doc)?.map((r) => r.tokens) ?? null;
}

/** Baseline question labels aligned with the scores (for tooltips); empty strings when unknown. */
export function baselineQuestions(doc: FingerprintDoc): string[] {
  const rs = baselineResponses(doc);
  if (!rs) return new Array<string>(doc.axes[0]?.scores.length ?? 0).fill('');
  return rs.map((r) => `${r.questionId}: ${r.question}`);
}

/** The mean, NaN for no values (a report draws what it can of odd documents, never throws). */
export const mean = (xs: number[]): number => (xs.length ? stats.mean(xs) : NaN);

/** Pearson r; NaN when either variable is constant or the lengths differ. */
export const pearson = (x: number[], y: number[]): number => (x.length === y.length && x.length >= 2 ? stats.pearson(x, y) : NaN);

/** Least-squares line y = a + b x; null when x is constant or the lengths differ. */
export function leastSquares(x: number[], y: number[]): { a: number; b: number } | null {
  const fit = x.length === y.length && x.length >= 2 ? stats.linearFit(x, y) : null;
  return fit && { a: fit.intercept, b: fit.slope };
}

/**
 * The dead-zone rows to show for a model: those of its stability run when it has one (they include
 * the stability term), else the fingerprint's (usually partial).
 */
export function deadZonesFor(s: ModelSeries): { rows: DeadZone[]; source: 'stability' | 'fingerprint' } | null {
  const st = s.stability.find((d) => d.deadZones.length > 0);
  if (st) return { rows: st.deadZones, source: 'stability' };
  if (s.fingerprint && s.fingerprint.deadZones.length > 0) return { rows: s.fingerprint.deadZones, source: 'fingerprint' };
  return null;
}

/**
 * Synthetic but plausible protocol documents for report tests: seeded pseudo-random numbers,
 * the seven built-in axes, 30 baseline questions. Statistics (mean, std, PCA, correlations, length
 * confound, dead-zone terms) are computed from the synthetic scores with the formulas of docs/method.md, so
 * the documents are internally consistent.
 */
import type { AxisSummary, DeadZone, FingerprintDoc, Manifest, ResponseRecord, StabilityDoc, SteerDoc, Structure } from '../../lib/docs/types.js';
import { profileStructure, truncation } from '../../lib/protocols/analysis.js';

export const AXES: Array<[id: string, positive: string, negative: string]> = [
  ['warm_cold', 'warm', 'cold'],
  ['patient_irritated', 'patient', 'irritated'],
  ['confident_cautious', 'confident', 'cautious'],
  ['proactive_reluctant', 'proactive', 'reluctant'],
  ['empathetic_analytical', 'empathetic', 'analytical'],
  ['formal_casual', 'formal', 'casual'],
  ['verbose_concise', 'verbose', 'concise'],
];

export const BASELINE_QUESTIONS = [
  'How do tides work?', 'What causes the Northern Lights?', 'How do volcanoes form?', 'What is the water table?',
  'How do bees make honey?', 'What causes wind?', 'How do fish breathe underwater?', 'What is permafrost?',
  'How do caves form?', 'What causes ocean currents?', 'How do touchscreens work?', 'What is fiber optic cable?',
  'How do solar panels generate electricity?', 'What is a semiconductor?', 'How do microwave ovens heat food?',
  'What is RAM in a computer?', 'How do noise-canceling headphones work?', 'What is a transistor?',
  'How do electric motors work?', 'What is bandwidth?', 'What is the Dewey Decimal System?', 'How do time zones work?',
  'What is the metric system?', 'How does mail delivery work?', 'What is crop rotation?',
  'How do traffic lights coordinate?', 'What is a census?', 'How do libraries organize books?',
  'What is daylight saving time?', 'How do escalators work?',
];

/** mulberry32 */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(r: () => number): number {
  const u = Math.max(1e-12, r());
  const v = r();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

const clip = (x: number, lo = -1, hi = 1) => Math.min(hi, Math.max(lo, x));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std0 = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));

export function pearson(x: number[], y: number[]): number {
  const mx = mean(x);
  const my = mean(y);
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < x.length; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
    syy += (y[i]! - my) ** 2;
  }
  return sxx && syy ? sxy / Math.sqrt(sxx * syy) : 0;
}

/** The dead-zone severity, written out. `stabilityCos` null gives the partial form. */
export function deadZone(axis: AxisSummary, stabilityCos: number | null, asymmetric = false): DeadZone {
  const A = clip(2 * (1 - axis.auc), 0, 1);
  const D = clip(1 - Math.min(axis.dprime / 3, 1), 0, 1);
  const snr = axis.std > 0 ? Math.abs(axis.mean) / axis.std : 3;
  const N = 1 - Math.min(snr / 3, 1);
  const S = stabilityCos === null ? null : clip(1 - stabilityCos, 0, 1);
  const severity = S === null ? (0.3 * A + 0.3 * D + 0.2 * N) / 0.8 : 0.3 * A + 0.3 * D + 0.2 * S + 0.2 * N;
  const equalWeight = S === null ? (A + D + N) / 3 : (A + D + S + N) / 4;
  const level = severity < 0.15 ? 'healthy' : severity < 0.3 ? 'weak' : 'dead';
  const kind: DeadZone['kind'] = [];
  if (level !== 'healthy') {
    if (D >= 0.5) kind.push('hard');
    if (S !== null && S >= 0.3) kind.push('soft');
    if (asymmetric) kind.push('asymmetric');
  }
  return { axis: axis.id, severity, equalWeight, partial: S === null, terms: { accuracy: A, separation: D, stability: S, snr: N }, level, kind };
}

export function manifest(opts: { name: string; identity: string; demo?: boolean; seed?: number; architecture?: string; layers?: number; hiddenSize?: number }): Manifest {
  const layers = opts.layers ?? 32;
  return {
    tool: { name: 'moodaxis', version: '0.1.0' },
    createdAt: '2026-03-02T10:15:00.000Z',
    model: {
      path: `/models/${opts.name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.Q4_K_M.gguf`,
      name: opts.name,
      identity: opts.identity,
      architecture: opts.architecture ?? 'llama',
      layers,
      hiddenSize: opts.hiddenSize ?? 4096,
      chatTemplate: true,
      backend: 'cuda',
      ...(opts.demo ? { demo: true } : {}),
    },
    capture: { layers: [layers - 4, layers - 3, layers - 2, layers - 1], layerWeights: [0.1, 0.2, 0.3, 0.4], tokenDecay: 0.9, compat: null },
    sampler: { temperature: 0.7, topK: 50, topP: 0.9, order: 'top-k,top-p,temperature', seed: opts.seed ?? 42, parallel: 4, maxTokens: 200, baselineMaxTokens: 384 },
    questions: { name: 'moodaxis-en', version: '1.0.0' },
  };
}

export interface FingerprintOptions {
  seed: number;
  name: string;
  identity?: string;
  demo?: boolean;
  /** Target mean per axis (7 values); random when absent. */
  means?: number[];
  /** Axis index that calibrates badly (becomes a dead zone). */
  weakAxis?: number;
  /** Calibration responses placed before the baseline ones (as the fingerprint protocol writes them). */
  extraResponses?: number;
  structure?: boolean;
}

export function sampleFingerprint(o: FingerprintOptions): FingerprintDoc {
  const r = rng(o.seed);
  const nQ = BASELINE_QUESTIONS.length;
  const means = o.means ?? AXES.map(() => (r() - 0.5) * 1.0);
  const loadings = AXES.map(() => [normal(r) * 0.09, normal(r) * 0.06]);
  const noise = AXES.map(() => 0.05 + r() * 0.12);
  const factors = BASELINE_QUESTIONS.map(() => [normal(r), normal(r)]);
  const verbose = AXES.findIndex((a) => a[0] === 'verbose_concise');
  const cols: number[][] = AXES.map((_, ai) => factors.map((f) => clip(means[ai]! + loadings[ai]![0]! * f[0]! + loadings[ai]![1]! * f[1]! + noise[ai]! * normal(r))));
  const tokens = cols[verbose]!.map((v) => Math.round(clip(190 + 260 * (v - means[verbose]!) + 55 * normal(r), 18, 384)));
  const axes: AxisSummary[] = AXES.map(([id, positive, negative], ai) => {
    const scores = cols[ai]!;
    const weak = ai === o.weakAxis;
    const auc = weak ? 0.64 + r() * 0.06 : 0.86 + r() * 0.135;
    const dprime = weak ? 0.5 + r() * 0.4 : 1.6 + (auc - 0.86) * 14 + r() * 0.5;
    return { id, positive, negative, auc, dprime, mean: mean(scores), std: std0(scores), min: Math.min(...scores), max: Math.max(...scores), scores };
  });
  const responses: ResponseRecord[] = [];
  for (let i = 0; i < (o.extraResponses ?? 0); i++) {
    const [axisId, positive, negative] = AXES[i % AXES.length]!;
    const pole = i % 2 === 0 ? 'positive' : 'negative';
    responses.push({
      questionId: `${axisId}/A/${String(Math.floor(i / 2) + 1).padStart(2, '0')}`,
      question: 'What should I consider when choosing a bicycle?',
      pole,
      text: `(${pole === 'positive' ? positive : negative}) Think about where you will ride, how far, and your budget.`,
      tokens: 40 + i,
      stopReason: 'eos',
    });
  }
  BASELINE_QUESTIONS.forEach((q, i) => {
    responses.push({
      questionId: `baseline/${String(i + 1).padStart(2, '0')}`,
      question: q,
      pole: 'none',
      text: `${q.replace(/\?$/, '')} — in short: it comes down to a few physical processes working together. ` + 'More detail follows. '.repeat(3),
      tokens: tokens[i]!,
      stopReason: tokens[i]! >= 384 ? 'length' : 'eos',
    });
  });
  // the protocol's own structure statistics (null for undefined correlations, constantLength)
  const structure: Structure | null = o.structure !== false ? profileStructure(AXES.map((a) => a[0]), cols, tokens) : null;
  const generated = tokens.reduce((a, b) => a + b, 0);
  return {
    kind: 'moodaxis.fingerprint',
    schemaVersion: 1,
    manifest: manifest({ name: o.name, identity: o.identity ?? `sha256:${(o.seed * 2654435761 >>> 0).toString(16).padStart(8, '0')}${'0'.repeat(56)}`, demo: o.demo, seed: 42 }),
    axes,
    responses,
    structure,
    deadZones: axes.map((a, ai) => deadZone(a, null, ai === o.weakAxis)),
    truncation: truncation(responses.filter((x) => x.pole === 'none').map((x) => x.stopReason), 384),
    timing: { seconds: generated / 38 + 4.2, generatedTokens: responses.reduce((a, r) => a + r.tokens, 0) },
  };
}

export function sampleStability(fp: FingerprintDoc, seed: number): StabilityDoc {
  const r = rng(seed);
  const kRuns = 5;
  const testRetest = fp.axes.map((a) => {
    const weak = a.auc < 0.75;
    const icc21 = weak ? 0.35 + r() * 0.25 : 0.7 + r() * 0.27;
    const half = 0.05 + r() * 0.12;
    return { axis: a.id, icc21, ci: [Math.max(-0.2, icc21 - half * 1.3), Math.min(0.995, icc21 + half * 0.7)] as [number, number], icc2k: (kRuns * icc21) / (1 + (kRuns - 1) * icc21) };
  });
  const calibrationSets = fp.axes.map((a) => {
    const weak = a.auc < 0.75;
    const base = weak ? 0.55 : 0.86;
    const c = () => Math.min(0.995, base + r() * 0.12);
    const cosines = { AB: c(), AC: c(), BC: c() };
    return { axis: a.id, cosines, stabilityCosine: (cosines.AB + cosines.AC + cosines.BC) / 3, icc2k: weak ? 0.5 + r() * 0.2 : 0.85 + r() * 0.13 };
  });
  const n = [5, 10, 15];
  const perAxis = Object.fromEntries(fp.axes.map((a) => {
    const weak = a.auc < 0.75;
    const scale = weak ? 14 : 6 + r() * 3;
    const floor = weak ? 0.8 : 0.99;
    return [a.id, {
      medianCosine: n.map((v) => floor - (floor - 0.45) * Math.exp(-v / scale)),
      auc: n.map((v) => a.auc - (a.auc - 0.55) * Math.exp(-v / 5)),
    }];
  }));
  const stabilisesAt = n.find((_, j) => Object.values(perAxis).every((e) => e.medianCosine[j]! >= 0.9)) ?? null;
  return {
    kind: 'moodaxis.stability',
    schemaVersion: 1,
    manifest: { ...fp.manifest, createdAt: '2026-03-02T12:40:00.000Z' },
    testRetest,
    calibrationSets,
    sampleSize: { n, perAxis, stabilisesAt, draws: 20, method: 'split-half', threshold: 0.9 },
    deadZones: fp.axes.map((a) => deadZone(a, calibrationSets.find((c) => c.axis === a.id)!.stabilityCosine, a.auc < 0.75)),
  };
}

export function sampleSteer(fp: FingerprintDoc, axisId: string, seed: number): SteerDoc {
  const r = rng(seed);
  const axis = fp.axes.find((a) => a.id === axisId)!;
  const alphas = [-4, -2, -1, 0, 1, 2, 4];
  const gain = 0.28 + r() * 0.1;
  const others = fp.axes.filter((a) => a.id !== axisId);
  const leakGain = Object.fromEntries(others.map((a) => [a.id, normal(r) * 0.035]));
  const rows = alphas.map((alpha) => {
    const meanScore = clip(Math.tanh(axis.mean + gain * alpha) + normal(r) * 0.03);
    const leakage = Object.fromEntries(others.map((a) => [a.id, leakGain[a.id]! * alpha + normal(r) * 0.015]));
    const repetition = Math.min(0.9, 0.03 + 0.012 * alpha * alpha + r() * 0.01);
    const tone = alpha > 0 ? axis.positive : alpha < 0 ? axis.negative : 'neutral';
    return {
      alpha,
      meanScore,
      leakage,
      repetition,
      samples: [`(${tone}, α ${alpha}) Tides are caused mainly by the Moon's gravity pulling on the oceans…`, `(${tone}) A second sample response.`],
    };
  });
  const xs = rows.map((x) => x.alpha);
  const ys = rows.map((x) => x.meanScore);
  const mx = mean(xs), my = mean(ys);
  const slope = xs.reduce((s, x, i) => s + (x - mx) * (ys[i]! - my), 0) / xs.reduce((s, x) => s + (x - mx) ** 2, 0);
  return {
    kind: 'moodaxis.steer',
    schemaVersion: 1,
    manifest: { ...fp.manifest, createdAt: '2026-03-02T14:05:00.000Z' },
    axis: axisId,
    layers: [14, 15, 16],
    alphas: rows,
    slope,
    spearman: 0.96,
    range: [Math.min(...xs), Math.max(...xs)],
    unit: 0.1,
  };
}

/** One model with a stability run and two steering sweeps. */
export function singleModelDocs(): { fp: FingerprintDoc; stability: StabilityDoc; steer: SteerDoc[] } {
  const fp = sampleFingerprint({ seed: 7, name: 'Llama-3.1-8B-Instruct', means: [0.18, 0.42, 0.31, 0.12, -0.22, 0.35, 0.55], weakAxis: 1 });
  return { fp, stability: sampleStability(fp, 11), steer: [sampleSteer(fp, 'warm_cold', 21), sampleSteer(fp, 'verbose_concise', 22)] };
}

/** Two different models for the comparison report (the second one a demo model). */
export function twoModelDocs(): [FingerprintDoc, FingerprintDoc] {
  return [
    sampleFingerprint({ seed: 7, name: 'Llama-3.1-8B-Instruct', means: [0.18, 0.42, 0.31, 0.12, -0.22, 0.35, 0.55], weakAxis: 1 }),
    sampleFingerprint({ seed: 99, name: 'Qwen2.5-7B-Instruct', means: [-0.05, 0.1, -0.36, 0.47, -0.12, 0.42, 0.2], weakAxis: 4, demo: true, extraResponses: 2 }),
  ];
}

/**
 * A run like the tiny stories models give: every baseline answer stops at the 384-token cap
 * (constant length), one axis pinned at +1 (clipped scores), one reversed axis (d′ < 0), a negative
 * calibration-set ICC and a sample-size curve that never reaches 0.9.
 */
export function cappedRunDocs(): { fp: FingerprintDoc; stability: StabilityDoc; steer: SteerDoc } {
  const fp = sampleFingerprint({ seed: 13, name: 'aidreams260K', weakAxis: 2 });
  const pinned = fp.axes[3]!;
  pinned.scores = pinned.scores.map((v, i) => (i % 3 === 0 ? v : 1));
  Object.assign(pinned, { mean: mean(pinned.scores), std: std0(pinned.scores), min: Math.min(...pinned.scores), max: 1 });
  const low = fp.axes[5]!;
  low.scores = low.scores.map((v, i) => (i % 4 === 0 ? -1 : v));
  Object.assign(low, { mean: mean(low.scores), std: std0(low.scores), min: -1, max: Math.max(...low.scores) });
  fp.axes[2]!.dprime = -0.06;
  fp.axes[2]!.auc = 0.48;
  for (const r of fp.responses) {
    r.tokens = 384;
    r.stopReason = 'length';
  }
  fp.structure = profileStructure(fp.axes.map((a) => a.id), fp.axes.map((a) => a.scores), fp.responses.map((r) => r.tokens));
  fp.deadZones = fp.axes.map((a) => deadZone(a, null));
  fp.truncation = truncation(fp.responses.map((r) => r.stopReason), 384);
  const stability = sampleStability(fp, 17);
  stability.calibrationSets[2]!.icc2k = -2.56;
  stability.testRetest[4]!.icc21 = -0.31;
  stability.testRetest[4]!.ci = [-0.6, 0.05];
  stability.testRetest[4]!.icc2k = -2.2;
  for (const e of Object.values(stability.sampleSize.perAxis)) e.medianCosine = e.medianCosine.map((c) => Math.min(c, 0.62 + c * 0.2));
  stability.sampleSize.stabilisesAt = null;
  stability.truncation = truncation(new Array<'length'>(150).fill('length'), 384);
  return { fp, stability, steer: sampleSteer(fp, 'warm_cold', 23) };
}

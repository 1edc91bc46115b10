/**
 * The JSON documents that the protocols write and that `lib/report` and `compare` read.
 * Every document carries `kind` and `schemaVersion`; readers refuse other kinds and versions.
 */
import type { SplitInfo } from '../engine/placement.js';
import type { RunTiming } from '../method/journal.js';

/** Identity of the model and of every setting that shaped the numbers. */
export interface Manifest {
  tool: { name: 'moodaxis'; version: string };
  createdAt: string;
  model: {
    path: string;
    name: string;
    /** Content hash of the GGUF (sha256 over header + tensor data sample, see lib/engine/gguf.ts modelIdentity). */
    identity: string;
    architecture: string;
    layers: number;
    hiddenSize: number;
    chatTemplate: boolean;
    backend: string;
    /** llama.cpp's split, when the model spanned several GPUs. */
    split?: SplitInfo;
    demo?: boolean;
  };
  capture: { layers: number[]; layerWeights: number[]; tokenDecay: number; compat: 'mood-axis' | null };
  sampler: { temperature: number; topK: number; topP: number; order: string; seed: number; parallel: number; maxTokens: number; baselineMaxTokens?: number; deterministic?: boolean };
  questions: { name: string; version: string };
  [extra: string]: unknown;
}

export interface AxisSummary {
  id: string;
  positive: string;
  negative: string;
  /** Held-out quality of the calibrated axis. */
  auc: number;
  dprime: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  /** One score per baseline question, in question order. */
  scores: number[];
}

export interface ResponseRecord {
  questionId: string;
  question: string;
  text: string;
  tokens: number;
  stopReason: 'eos' | 'length';
  /** The pole instruction the response was generated under ('none': baseline). */
  pole?: 'positive' | 'negative' | 'none';
  /** Tokens of its <think> blocks, excluded from the capture (absent: none); thinkCut: the budget ran out. */
  thinkTokens?: number;
  thinkCut?: boolean;
}

export interface DeadZone {
  axis: string;
  severity: number;
  equalWeight: number;
  partial: boolean;
  terms: { accuracy: number; separation: number; stability: number | null; snr: number };
  level: 'healthy' | 'weak' | 'dead';
  kind: Array<'hard' | 'soft' | 'asymmetric'>;
}

export interface Structure {
  pc1Share: number;
  participationRatio: number;
  eigenvalues: number[];
  axes: string[];
  /** Pearson r between axes over baseline questions, axes × axes; null where undefined (an axis with constant scores). */
  correlation: Array<Array<number | null>>;
  /**
   * Per axis Pearson r(score, tokens), null where undefined: every answer had the same length
   * (`constantLength`, e.g. all stopped at the token cap) or the axis' scores are constant.
   * Mean |cross-axis r| over the defined pairs before and after regressing out length (null: none defined).
   */
  lengthConfound: { perAxis: Record<string, number | null>; constantLength?: boolean; meanAbsCrossRBefore: number | null; meanAbsCrossRAfter: number | null };
}

/** Answers that stopped at the token cap (`stopReason: 'length'`). `warn`: share ≥ 0.2 (TRUNCATION_WARN_SHARE). */
export interface Truncation {
  capped: number;
  total: number;
  share: number;
  maxTokens: number;
  warn: boolean;
}

export interface FingerprintDoc {
  kind: 'moodaxis.fingerprint';
  schemaVersion: 1;
  manifest: Manifest;
  axes: AxisSummary[];
  responses: ResponseRecord[];
  structure: Structure | null;
  deadZones: DeadZone[];
  /** Baseline answers that stopped at the token cap (absent in documents of older versions). */
  truncation?: Truncation;
  timing: RunTiming;
  /** Present when answers had <think> blocks: how many, and how many ran out of the think budget. */
  thinking?: { answersWithThink: number; outOfBudget: number; budget: number };
}

export interface StabilityDoc {
  kind: 'moodaxis.stability';
  schemaVersion: 1;
  manifest: Manifest;
  /** Test-retest ICC over repeated baseline runs, per axis (an axis whose ICC is undefined, e.g. constant scores, is left out and named in `notes`). */
  testRetest: Array<{ axis: string; icc21: number; ci: [number, number]; icc2k: number; /** The matrix: baseline questions × runs. */ scores?: number[][] }>;
  /**
   * Calibration sets A, B, C per axis that has sets B and C: pairwise cosines of the directions, their mean
   * (the stability cosine) and ICC(2,k) of the baseline scores with the three calibrations as raters
   * (null when undefined, e.g. constant scores). Empty when no axis has sets B and C.
   */
  calibrationSets: Array<{ axis: string; cosines: { AB: number; AC: number; BC: number }; stabilityCosine: number; icc2k: number | null }>;
  /**
   * Sample-size curve. method 'split-half': n = questions per half, medianCosine = median cosine between
   * the directions of two disjoint halves of n questions (`draws` random splits per n). stabilisesAt:
   * the smallest n whose median cosine is ≥ `threshold` (0.9) for every axis (per axis in perAxis);
   * null when not reached. Documents without `method` compared subsets with the full set (always 1 at
   * n = all).
   */
  sampleSize: { n: number[]; perAxis: Record<string, { medianCosine: number[]; auc: number[]; stabilisesAt?: number | null }>; stabilisesAt: number | null; draws?: number; method?: 'split-half'; threshold?: number };
  deadZones: DeadZone[];
  /** Retest settings: runs (raters), baseline questions (subjects), bootstrap resamples and seed. */
  retest?: { runs: number; questions: number; bootstrap: number; seed: number };
  /** Axes without calibration sets B and C: no calibration-set stability, partial dead-zone severity. */
  missingSets?: string[];
  /** Anything a reader should know (missing sets, undefined statistics, negative ICCs, truncated answers). */
  notes?: string[];
  /** Baseline answers (all runs) that stopped at the token cap. */
  truncation?: Truncation;
  timing?: RunTiming;
}

export interface SteerAlpha {
  alpha: number;
  /** Mean score on the steered axis of the steered answers, re-read by the unsteered model. */
  meanScore: number;
  /** Per other axis: its mean score at this α minus its mean score at α = 0. */
  leakage: Record<string, number>;
  /** 1 − distinct word 3-grams / word 3-grams, per answer, averaged over the answers. */
  repetition: number;
  /** Two answers (the first two questions), the same questions at every α. */
  samples: string[];
  /** Mean steered-axis score of the hidden states while steering (the push itself, not only the text). */
  inPassScore?: number;
  /** Mean generated tokens per answer. */
  meanTokens?: number;
}

export interface SteerDoc {
  kind: 'moodaxis.steer';
  schemaVersion: 1;
  manifest: Manifest;
  axis: string;
  /** Steered blocks. */
  layers: number[];
  alphas: SteerAlpha[];
  /** Least-squares slope of meanScore on α. */
  slope: number;
  /** Spearman ρ of meanScore and α. */
  spearman: number;
  /** Effective α range: around α = 0, where the score moves monotonically and repetition stays < 0.3. */
  range: [number, number];
  /** α = 1 pushes the state by `unit` × h̄ (the fraction of the mean hidden-state norm). */
  unit?: number;
  /** h̄ per steered block, in the order of `layers`. */
  norms?: number[];
  /** --sweep-layers: every window tried, and the recommended one (null: none kept repetition < 0.3). */
  sweep?: Array<{ layers: number[]; shift: number; maxRepetition: number; slope: number; spearman: number }>;
  recommended?: number[] | null;
}

export type { ValidationDoc } from './validation-doc.js';
import type { ValidationDoc } from './validation-doc.js';

export type { DriftDoc } from './drift.js';
import type { DriftDoc } from './drift.js';

export type ProtocolDoc = FingerprintDoc | StabilityDoc | SteerDoc | ValidationDoc | DriftDoc;

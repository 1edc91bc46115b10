/**
 * The JSON documents that the protocols write and that `lib/report` and `compare` read.
 * Every document carries `kind` and `schemaVersion`; readers refuse other kinds and versions.
 */

/** Identity of the model and of every setting that shaped the numbers (METHOD §2). */
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
  /** Pearson r between axes over baseline questions, axes × axes. */
  correlation: number[][];
  lengthConfound: { perAxis: Record<string, number>; meanAbsCrossRBefore: number; meanAbsCrossRAfter: number };
}

export interface FingerprintDoc {
  kind: 'moodaxis.fingerprint';
  schemaVersion: 1;
  manifest: Manifest;
  axes: AxisSummary[];
  responses: ResponseRecord[];
  structure: Structure | null;
  deadZones: DeadZone[];
  timing: { seconds: number; generatedTokens: number };
}

export interface StabilityDoc {
  kind: 'moodaxis.stability';
  schemaVersion: 1;
  manifest: Manifest;
  /** Test-retest ICC over repeated baseline runs, per axis. */
  testRetest: Array<{ axis: string; icc21: number; ci: [number, number]; icc2k: number }>;
  calibrationSets: Array<{ axis: string; cosines: { AB: number; AC: number; BC: number }; stabilityCosine: number; icc2k: number }>;
  sampleSize: { n: number[]; perAxis: Record<string, { medianCosine: number[]; auc: number[] }>; stabilisesAt: number | null };
  deadZones: DeadZone[];
}

export interface SteerDoc {
  kind: 'moodaxis.steer';
  schemaVersion: 1;
  manifest: Manifest;
  axis: string;
  layers: number[];
  alphas: Array<{ alpha: number; meanScore: number; leakage: Record<string, number>; repetition: number; samples: string[] }>;
  slope: number;
  spearman: number;
  range: [number, number];
}

export type ProtocolDoc = FingerprintDoc | StabilityDoc | SteerDoc;

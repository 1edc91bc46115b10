// moodaxis public API.
export * from './engine/index.js';
export { RUN_DEFAULTS, PARALLEL_DEFAULTS, CAPTURE_WEIGHTS, PROMPT_TEMPLATE, ENGINE_DEFAULTS, PROTOCOL_DEFAULTS } from './defaults.js';
export type {
  AxesDoc,
  CalibratedAxis,
  ScoreDoc,
  FingerprintDoc,
  StabilityDoc,
  SteerDoc,
  SteerAlpha,
  BenchmarkDoc,
  CompareDoc,
  ValidationDoc,
  ValidationAxis,
  ValidationPoint,
  DriftDoc,
  ProtocolDoc,
  Manifest,
  DeadZone,
  Structure,
  RunTiming,
} from './docs/types.js';
export { readAxesFile, writeAxesFile, parseAxesDoc } from './docs/axes.js';
export { readDoc, readDocFile, parseDoc, validateDoc } from './docs/read.js';
export type { RunOptions, OutputOptions, RunSettings } from './method/settings.js';
export type { ProgressCallback, ProgressDetail } from './method/response.js';
export { calibrate, scoreVector } from './method/calibrate.js';
export type { CalibrateOptions, CalibrationSet } from './method/calibrate.js';
export { score } from './method/score.js';
export type { ScoreItem, ScoreOptions } from './method/score.js';
export { builtinAxisSet, loadAxisSet, parseAxisSet } from './method/axes-file.js';
export type { AxisSet, AxisDef } from './method/axes-file.js';
export { fingerprint } from './protocols/fingerprint.js';
export type { FingerprintOptions } from './protocols/fingerprint.js';
export type { AxesRunOptions } from './protocols/axes-source.js';
export { steer, exportSteeringVector, steeringVector, defaultSteerLayers, sweepWindows, repetitionRate, effectiveRange } from './protocols/steer.js';
export type { SteerOptions } from './protocols/steer.js';
export {
  buildControlVector,
  writeControlVectorFile,
  readControlVectorFile,
  loadControlVectors,
  parseControlVectorSpec,
  sumControlVectors,
  toEngineControlVector,
} from './method/control-vector.js';
export type { ControlVector, ControlVectorFile, LoadedControlVectors } from './method/control-vector.js';
export { stability, readStabilityFile } from './protocols/stability.js';
export type { StabilityOptions } from './protocols/stability.js';
export { benchmark } from './protocols/benchmark.js';
export type { BenchmarkOptions } from './protocols/benchmark.js';
export { compareFingerprints, compareFiles } from './protocols/compare.js';
export { renderReport } from './report/html.js';
export { icc, effectiveDimensionality, deadZoneSeverity, pearson, spearman } from './stats/index.js';
export { validateWithRatings, buildValidation } from './protocols/validate.js';
export type { ValidationOptions, RatedCell } from './protocols/validate.js';
export { validationStats, pooledSpearman } from './stats/validation.js';
export { validateWithJudge, rubricPrompt } from './protocols/judge.js';
export type { JudgeOptions } from './protocols/judge.js';

// moodaxis public API.
export * from './engine/index.js';
export { calibrate, scoreVector } from './method/calibrate.js';
export type { CalibrateOptions, CalibrationSet } from './method/calibrate.js';
export { score } from './method/score.js';
export type { ScoreDoc, ScoreItem, ScoreOptions } from './method/score.js';
export { readAxesFile, writeAxesFile, parseAxesDoc } from './method/axes-doc.js';
export type { AxesDoc, CalibratedAxis } from './method/axes-doc.js';
export { builtinAxisSet, loadAxisSet, parseAxisSet } from './method/axes-file.js';
export type { AxisSet, AxisDef } from './method/axes-file.js';
export { fingerprint } from './protocols/fingerprint.js';
export type { FingerprintOptions } from './protocols/fingerprint.js';
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
  DEFAULT_ALPHA_UNIT,
} from './method/control-vector.js';
export type { ControlVector, ControlVectorFile, LoadedControlVectors } from './method/control-vector.js';
export type { FingerprintDoc, StabilityDoc, SteerDoc, SteerAlpha, ProtocolDoc, Manifest, DeadZone, Structure } from './protocols/types.js';
export { stability, readStabilityFile } from './protocols/stability.js';
export type { StabilityOptions } from './protocols/stability.js';
export { benchmark } from './protocols/benchmark.js';
export type { BenchmarkDoc, BenchmarkOptions } from './protocols/benchmark.js';
export { compareFingerprints, compareFiles } from './protocols/compare.js';
export type { CompareDoc } from './protocols/compare.js';
export { renderReport } from './report/html.js';
export { icc, effectiveDimensionality, deadZoneSeverity, pearson, spearman } from './stats/index.js';
export { validateWithRatings, buildValidation } from './protocols/validate.js';
export type { ValidationOptions, RatedCell } from './protocols/validate.js';
export type { ValidationDoc, ValidationAxis, ValidationPoint } from './protocols/validation-doc.js';
export { validationStats, pooledSpearman } from './stats/validation.js';
export { validateWithJudge, rubricPrompt } from './protocols/judge.js';
export type { JudgeOptions } from './protocols/judge.js';

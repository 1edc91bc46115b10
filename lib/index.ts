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
export type { FingerprintDoc, StabilityDoc, SteerDoc, ProtocolDoc, Manifest, DeadZone, Structure } from './protocols/types.js';
export { renderReport } from './report/html.js';
export { icc, effectiveDimensionality, deadZoneSeverity, pearson, spearman } from './stats/index.js';

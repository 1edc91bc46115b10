/** Pure statistics of the moodaxis method (docs/method.md §2, §4, §5, §8–§10): no I/O, numbers in, numbers out. */
export * from './random.js';
export * from './descriptive.js';
export * from './correlation.js';
export * from './separation.js';
export * from './bootstrap.js';
export * from './icc.js';
export * from './pca.js';
export * from './deadzone.js';
export * from './calibration.js';
export * from './sample-size.js';
export * from './npy.js';
export * from './drift.js';

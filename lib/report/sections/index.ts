/** The report's sections, one file each; common.ts holds what they share. */
export { collectAxes, type AxisInfo } from './common.js';
export { profileSection } from './profile.js';
export { stripsSection } from './strips.js';
export { qualitySection } from './quality.js';
export { deadZonesSection } from './dead-zones.js';
export { iccSection } from './icc.js';
export { pcaSection } from './pca.js';
export { lengthSection } from './length.js';
export { steerSection } from './steer.js';
export { compareSection } from './compare.js';
export { driftSection } from './drift.js';
export { validationSection } from './validation.js';

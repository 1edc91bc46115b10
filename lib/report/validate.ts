/**
 * Checks that a parsed JSON value is a protocol document the report can read (lib/protocols/types.ts):
 * kind, schemaVersion and every field the report uses. Errors name the file and the field.
 */
import type {
  DeadZone,
  FingerprintDoc,
  Manifest,
  ProtocolDoc,
  StabilityDoc,
  SteerDoc,
  Structure,
} from '../protocols/types.js';
import { MoodaxisError } from '../engine/errors.js';
import { checkDrift } from './drift-check.js';
import { checkValidation } from './validation-check.js';

export const DOC_KINDS = ['moodaxis.fingerprint', 'moodaxis.stability', 'moodaxis.steer', 'moodaxis.validation', 'moodaxis.drift'] as const;
export const SCHEMA_VERSION = 1;

/** An input document that cannot be used: a MoodaxisError whose `code` is always 'BAD_INPUT'. */
export class BadInputError extends MoodaxisError {
  constructor(
    message: string,
    /** The file (or other source name) given to validateDoc. */
    readonly source: string,
    /** The offending field, e.g. `axes[2].scores` ('' for the whole document). */
    readonly field: string,
  ) {
    super('BAD_INPUT', message);
    this.name = 'BadInputError';
  }
}

type Obj = Record<string, unknown>;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (typeof v === 'object') return 'an object';
  return String(v);
}

export class Checker {
  constructor(readonly source: string) {}

  fail(path: string, message: string): never {
    throw new BadInputError(`${this.source}: ${path || '(document)'}: ${message}`, this.source, path);
  }

  obj(v: unknown, path: string): Obj {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(path, `expected an object, got ${describe(v)}`);
    return v as Obj;
  }

  str(o: Obj, key: string, path: string): string {
    const v = o[key];
    if (typeof v !== 'string') this.fail(join(path, key), `expected a string, got ${v === undefined ? 'nothing' : describe(v)}`);
    return v;
  }

  num(o: Obj, key: string, path: string): number {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(join(path, key), `expected a number, got ${v === undefined ? 'nothing' : describe(v)}`);
    return v;
  }

  numOrNull(o: Obj, key: string, path: string): number | null {
    const v = o[key];
    if (v === null) return null;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(join(path, key), `expected a number or null, got ${v === undefined ? 'nothing' : describe(v)}`);
    return v;
  }

  bool(o: Obj, key: string, path: string, optional = false): void {
    const v = o[key];
    if (optional && v === undefined) return;
    if (typeof v !== 'boolean') this.fail(join(path, key), `expected true or false, got ${v === undefined ? 'nothing' : describe(v)}`);
  }

  arr(o: Obj, key: string, path: string): unknown[] {
    const v = o[key];
    if (!Array.isArray(v)) this.fail(join(path, key), `expected an array, got ${v === undefined ? 'nothing' : describe(v)}`);
    return v;
  }

  nums(o: Obj, key: string, path: string, length?: number): number[] {
    return this.numsAt(o[key], join(path, key), length);
  }

  numsAt(v: unknown, p: string, length?: number): number[] {
    if (!Array.isArray(v)) this.fail(p, `expected an array of numbers, got ${v === undefined ? 'nothing' : describe(v)}`);
    const bad = v.findIndex((x) => typeof x !== 'number' || !Number.isFinite(x));
    if (bad >= 0) this.fail(p, `expected an array of numbers (item ${bad} is ${describe(v[bad])})`);
    if (length !== undefined && v.length !== length) this.fail(p, `expected ${length} numbers, got ${v.length}`);
    return v as number[];
  }

  /** An array of numbers where null marks an undefined value (e.g. a correlation with a constant variable). */
  numsOrNullAt(v: unknown, p: string, length?: number): Array<number | null> {
    if (!Array.isArray(v)) this.fail(p, `expected an array of numbers or nulls, got ${v === undefined ? 'nothing' : describe(v)}`);
    const bad = v.findIndex((x) => x !== null && (typeof x !== 'number' || !Number.isFinite(x)));
    if (bad >= 0) this.fail(p, `expected an array of numbers or nulls (item ${bad} is ${describe(v[bad])})`);
    if (length !== undefined && v.length !== length) this.fail(p, `expected ${length} values, got ${v.length}`);
    return v as Array<number | null>;
  }

  numRecord(o: Obj, key: string, path: string): Record<string, number> {
    const rec = this.obj(o[key], join(path, key));
    for (const k of Object.keys(rec)) this.num(rec, k, join(path, key));
    return rec as Record<string, number>;
  }

  numOrNullRecord(o: Obj, key: string, path: string): Record<string, number | null> {
    const rec = this.obj(o[key], join(path, key));
    for (const k of Object.keys(rec)) this.numOrNull(rec, k, join(path, key));
    return rec as Record<string, number | null>;
  }

  oneOf<T extends string>(o: Obj, key: string, path: string, values: readonly T[]): T {
    const v = o[key];
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      this.fail(join(path, key), `expected one of ${values.map((x) => JSON.stringify(x)).join(', ')}, got ${v === undefined ? 'nothing' : describe(v)}`);
    }
    return v as T;
  }
}

export function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function checkManifest(c: Checker, v: unknown, path: string): Manifest {
  const m = c.obj(v, path);
  const tool = c.obj(m.tool, join(path, 'tool'));
  if (tool.name !== 'moodaxis') c.fail(join(path, 'tool.name'), `expected "moodaxis", got ${describe(tool.name)}`);
  c.str(tool, 'version', join(path, 'tool'));
  c.str(m, 'createdAt', path);
  const mp = join(path, 'model');
  const model = c.obj(m.model, mp);
  for (const k of ['path', 'name', 'identity', 'architecture', 'backend']) c.str(model, k, mp);
  c.num(model, 'layers', mp);
  c.num(model, 'hiddenSize', mp);
  c.bool(model, 'chatTemplate', mp);
  c.bool(model, 'demo', mp, true);
  const cp = join(path, 'capture');
  const capture = c.obj(m.capture, cp);
  c.nums(capture, 'layers', cp);
  c.nums(capture, 'layerWeights', cp);
  c.num(capture, 'tokenDecay', cp);
  if (capture.compat !== null && capture.compat !== 'mood-axis') c.fail(join(cp, 'compat'), `expected "mood-axis" or null, got ${describe(capture.compat)}`);
  const sp = join(path, 'sampler');
  const sampler = c.obj(m.sampler, sp);
  for (const k of ['temperature', 'topK', 'topP', 'seed', 'parallel', 'maxTokens']) c.num(sampler, k, sp);
  c.str(sampler, 'order', sp);
  if (sampler.baselineMaxTokens !== undefined) c.num(sampler, 'baselineMaxTokens', sp);
  c.bool(sampler, 'deterministic', sp, true);
  const qp = join(path, 'questions');
  const q = c.obj(m.questions, qp);
  c.str(q, 'name', qp);
  c.str(q, 'version', qp);
  return m as unknown as Manifest;
}

function checkDeadZones(c: Checker, v: unknown, path: string): DeadZone[] {
  if (!Array.isArray(v)) c.fail(path, `expected an array, got ${v === undefined ? 'nothing' : describe(v)}`);
  v.forEach((item, i) => {
    const p = `${path}[${i}]`;
    const dz = c.obj(item, p);
    c.str(dz, 'axis', p);
    c.num(dz, 'severity', p);
    c.num(dz, 'equalWeight', p);
    c.bool(dz, 'partial', p);
    const tp = join(p, 'terms');
    const terms = c.obj(dz.terms, tp);
    c.num(terms, 'accuracy', tp);
    c.num(terms, 'separation', tp);
    c.numOrNull(terms, 'stability', tp);
    c.num(terms, 'snr', tp);
    c.oneOf(dz, 'level', p, ['healthy', 'weak', 'dead'] as const);
    const kinds = c.arr(dz, 'kind', p);
    kinds.forEach((k, j) => {
      if (k !== 'hard' && k !== 'soft' && k !== 'asymmetric') c.fail(`${p}.kind[${j}]`, `expected "hard", "soft" or "asymmetric", got ${describe(k)}`);
    });
  });
  return v as DeadZone[];
}

function checkTruncation(c: Checker, v: unknown, path: string): void {
  const t = c.obj(v, path);
  for (const k of ['capped', 'total', 'share', 'maxTokens']) c.num(t, k, path);
  c.bool(t, 'warn', path);
}

function checkStructure(c: Checker, v: unknown, path: string): Structure | null {
  if (v === null) return null;
  const s = c.obj(v, path);
  c.num(s, 'pc1Share', path);
  c.num(s, 'participationRatio', path);
  c.nums(s, 'eigenvalues', path);
  const axes = c.arr(s, 'axes', path);
  axes.forEach((a, i) => {
    if (typeof a !== 'string') c.fail(`${path}.axes[${i}]`, `expected a string, got ${describe(a)}`);
  });
  const corr = c.arr(s, 'correlation', path);
  if (corr.length !== axes.length) c.fail(join(path, 'correlation'), `expected ${axes.length} rows (one per axis), got ${corr.length}`);
  corr.forEach((row, i) => c.numsOrNullAt(row, `${path}.correlation[${i}]`, axes.length));
  const lp = join(path, 'lengthConfound');
  const lc = c.obj(s.lengthConfound, lp);
  c.numOrNullRecord(lc, 'perAxis', lp);
  c.bool(lc, 'constantLength', lp, true);
  c.numOrNull(lc, 'meanAbsCrossRBefore', lp);
  c.numOrNull(lc, 'meanAbsCrossRAfter', lp);
  return s as unknown as Structure;
}

function checkFingerprint(c: Checker, d: Obj): FingerprintDoc {
  const axes = c.arr(d, 'axes', '');
  if (axes.length === 0) c.fail('axes', 'expected at least one axis');
  let nScores = -1;
  axes.forEach((item, i) => {
    const p = `axes[${i}]`;
    const a = c.obj(item, p);
    c.str(a, 'id', p);
    c.str(a, 'positive', p);
    c.str(a, 'negative', p);
    for (const k of ['auc', 'dprime', 'mean', 'std', 'min', 'max']) c.num(a, k, p);
    const scores = c.nums(a, 'scores', p);
    if (nScores < 0) nScores = scores.length;
    else if (scores.length !== nScores) c.fail(`${p}.scores`, `expected ${nScores} scores (as axes[0]), got ${scores.length}`);
  });
  const responses = c.arr(d, 'responses', '');
  responses.forEach((item, i) => {
    const p = `responses[${i}]`;
    const r = c.obj(item, p);
    c.str(r, 'questionId', p);
    c.str(r, 'question', p);
    c.str(r, 'text', p);
    c.num(r, 'tokens', p);
    c.oneOf(r, 'stopReason', p, ['eos', 'length'] as const);
    if (r.pole !== undefined) c.oneOf(r, 'pole', p, ['positive', 'negative', 'none'] as const);
  });
  if (!('structure' in d)) c.fail('structure', 'expected an object or null, got nothing');
  checkStructure(c, d.structure, 'structure');
  checkDeadZones(c, d.deadZones, 'deadZones');
  if (d.truncation !== undefined) checkTruncation(c, d.truncation, 'truncation');
  const timing = c.obj(d.timing, 'timing');
  c.num(timing, 'seconds', 'timing');
  c.num(timing, 'generatedTokens', 'timing');
  return d as unknown as FingerprintDoc;
}

function checkStability(c: Checker, d: Obj): StabilityDoc {
  c.arr(d, 'testRetest', '').forEach((item, i) => {
    const p = `testRetest[${i}]`;
    const t = c.obj(item, p);
    c.str(t, 'axis', p);
    c.num(t, 'icc21', p);
    c.nums(t, 'ci', p, 2);
    c.num(t, 'icc2k', p);
    if (t.scores !== undefined) c.arr(t, 'scores', p).forEach((row, j) => c.numsAt(row, `${p}.scores[${j}]`));
  });
  c.arr(d, 'calibrationSets', '').forEach((item, i) => {
    const p = `calibrationSets[${i}]`;
    const t = c.obj(item, p);
    c.str(t, 'axis', p);
    const cos = c.obj(t.cosines, join(p, 'cosines'));
    for (const k of ['AB', 'AC', 'BC']) c.num(cos, k, join(p, 'cosines'));
    c.num(t, 'stabilityCosine', p);
    c.numOrNull(t, 'icc2k', p);
  });
  const ss = c.obj(d.sampleSize, 'sampleSize');
  const ns = c.nums(ss, 'n', 'sampleSize');
  const per = c.obj(ss.perAxis, 'sampleSize.perAxis');
  for (const k of Object.keys(per)) {
    const p = `sampleSize.perAxis.${k}`;
    const e = c.obj(per[k], p);
    c.nums(e, 'medianCosine', p, ns.length);
    c.nums(e, 'auc', p, ns.length);
    if (e.stabilisesAt !== undefined) c.numOrNull(e, 'stabilisesAt', p);
  }
  c.numOrNull(ss, 'stabilisesAt', 'sampleSize');
  if (ss.method !== undefined && ss.method !== 'split-half') c.fail('sampleSize.method', `expected "split-half", got ${describe(ss.method)}`);
  if (ss.threshold !== undefined) c.num(ss, 'threshold', 'sampleSize');
  checkDeadZones(c, d.deadZones, 'deadZones');
  if (d.truncation !== undefined) checkTruncation(c, d.truncation, 'truncation');
  if (d.missingSets !== undefined) {
    c.arr(d, 'missingSets', '').forEach((a, i) => {
      if (typeof a !== 'string') c.fail(`missingSets[${i}]`, `expected a string, got ${describe(a)}`);
    });
  }
  if (d.notes !== undefined) {
    c.arr(d, 'notes', '').forEach((a, i) => {
      if (typeof a !== 'string') c.fail(`notes[${i}]`, `expected a string, got ${describe(a)}`);
    });
  }
  return d as unknown as StabilityDoc;
}

function checkSteer(c: Checker, d: Obj): SteerDoc {
  c.str(d, 'axis', '');
  c.nums(d, 'layers', '');
  const alphas = c.arr(d, 'alphas', '');
  alphas.forEach((item, i) => {
    const p = `alphas[${i}]`;
    const a = c.obj(item, p);
    c.num(a, 'alpha', p);
    c.num(a, 'meanScore', p);
    c.numRecord(a, 'leakage', p);
    c.num(a, 'repetition', p);
    c.arr(a, 'samples', p).forEach((s, j) => {
      if (typeof s !== 'string') c.fail(`${p}.samples[${j}]`, `expected a string, got ${describe(s)}`);
    });
    if (a.inPassScore !== undefined) c.num(a, 'inPassScore', p);
    if (a.meanTokens !== undefined) c.num(a, 'meanTokens', p);
  });
  c.num(d, 'slope', '');
  c.num(d, 'spearman', '');
  c.nums(d, 'range', '', 2);
  if (d.unit !== undefined) c.num(d, 'unit', '');
  if (d.norms !== undefined) c.nums(d, 'norms', '', (d.layers as number[]).length);
  if (d.sweep !== undefined) {
    c.arr(d, 'sweep', '').forEach((item, i) => {
      const p = `sweep[${i}]`;
      const w = c.obj(item, p);
      c.nums(w, 'layers', p);
      for (const k of ['shift', 'maxRepetition', 'slope', 'spearman']) c.num(w, k, p);
    });
  }
  if (d.recommended !== undefined && d.recommended !== null) c.nums(d, 'recommended', '');
  return d as unknown as SteerDoc;
}

/**
 * Check a parsed JSON document and return it typed. Throws a {@link BadInputError}
 * (`code === 'BAD_INPUT'`) whose message names `source` and the offending field, e.g.
 * `a.json: axes[2].scores: expected an array of numbers (item 4 is null)`.
 */
export function validateDoc(json: unknown, source: string): ProtocolDoc {
  const c = new Checker(source);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    c.fail('', `expected a moodaxis protocol document (a JSON object), got ${describe(json)}`);
  }
  const d = json as Obj;
  const kind = c.oneOf(d, 'kind', '', DOC_KINDS);
  if (d.schemaVersion !== SCHEMA_VERSION) {
    const newer = typeof d.schemaVersion === 'number' && d.schemaVersion > SCHEMA_VERSION;
    c.fail('schemaVersion', `expected ${SCHEMA_VERSION}, got ${d.schemaVersion === undefined ? 'nothing' : describe(d.schemaVersion)}${newer ? ' (written by a newer moodaxis?)' : ''}`);
  }
  checkManifest(c, d.manifest, 'manifest');
  switch (kind) {
    case 'moodaxis.fingerprint':
      return checkFingerprint(c, d);
    case 'moodaxis.stability':
      return checkStability(c, d);
    case 'moodaxis.steer':
      return checkSteer(c, d);
    case 'moodaxis.validation':
      return checkValidation(c, d);
    case 'moodaxis.drift':
      return checkDrift(c, d);
  }
}

/** Parse JSON text and validate it; a syntax error is a BAD_INPUT error naming the file too. */
export function parseDoc(text: string, source: string): ProtocolDoc {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new BadInputError(`${source}: not valid JSON (${(err as Error).message})`, source, '');
  }
  return validateDoc(json, source);
}

/**
 * The zod schemas of the documents a reader checks before using one (lib/docs/types.ts): kind,
 * schemaVersion and every field the report, compare and the CLI read. A problem is said as
 * `expected …, got …` at the offending field (the reader adds the file), e.g.
 * `axes[2].scores: expected an array of numbers (item 4 is null)`.
 */
import { z } from 'zod';

/** A value as a problem message shows it: short strings quoted, arrays by length. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (typeof v === 'object') return 'an object';
  return String(v);
}

const got = (v: unknown) => (v === undefined ? 'nothing' : describeValue(v));

/** Creation params whose type error reads `expected <what>, got <value>`. */
const expecting = (what: string): z.RawCreateParams => ({
  errorMap: (issue, ctx) => ({ message: issue.code === z.ZodIssueCode.invalid_type ? `expected ${what}, got ${got(ctx.data)}` : ctx.defaultError }),
});

export const text = z.string(expecting('a string'));
export const num = z.number(expecting('a number')).finite({ message: 'expected a finite number' });
export const numOrNull = z.number(expecting('a number or null')).finite({ message: 'expected a finite number' }).nullable();
export const bool = z.boolean(expecting('true or false'));
export const obj = <T extends z.ZodRawShape>(shape: T, what = 'an object') => z.object(shape, expecting(what)).passthrough();
export const arr = <T extends z.ZodTypeAny>(item: T) => z.array(item, expecting('an array'));
export const record = <T extends z.ZodTypeAny>(value: T) => z.record(value, expecting('an object'));

/** One of `values`; `label` says them in the message (default `one of "a", "b"`). */
export function oneOf<const T extends [string, ...string[]]>(values: T, label = values.length === 1 ? JSON.stringify(values[0]) : `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`) {
  return z.enum(values, { errorMap: (_issue, ctx) => ({ message: `expected ${label}, got ${got(ctx.data)}` }) });
}

/** A problem found by a check across fields; fatal, so that checks of the fields around it do not run on bad data. */
function fail(ctx: z.RefinementCtx, path: Array<string | number>, message: string): void {
  ctx.addIssue({ code: z.ZodIssueCode.custom, path, message, fatal: true });
}

/** An array of finite numbers (`nulls`: or nulls), of `length` when given. */
export function numbers(length?: number, nulls = false) {
  const what = nulls ? 'numbers or nulls' : 'numbers';
  return z.unknown().superRefine((v, ctx) => {
    if (!Array.isArray(v)) return fail(ctx, [], `expected an array of ${what}, got ${got(v)}`);
    const bad = v.findIndex((x) => !(nulls && x === null) && !(typeof x === 'number' && Number.isFinite(x)));
    if (bad >= 0) return fail(ctx, [], `expected an array of ${what} (item ${bad} is ${describeValue(v[bad])})`);
    if (length !== undefined && v.length !== length) fail(ctx, [], `expected ${length} ${nulls ? 'values' : 'numbers'}, got ${v.length}`);
  });
}

/** Arrays of numbers in `rows` whose length must be `length` (checked once the rest is valid). */
function lengths(ctx: z.RefinementCtx, rows: Array<[Array<string | number>, unknown]>, length: number, unit = 'numbers'): void {
  for (const [path, row] of rows) if ((row as unknown[]).length !== length) return fail(ctx, path, `expected ${length} ${unit}, got ${(row as unknown[]).length}`);
}

// ---------------------------------------------------------------------------------------------------
// Parts

export const manifestSchema = obj({
  tool: obj({ name: oneOf(['moodaxis']), version: text }),
  createdAt: text,
  model: obj({ path: text, name: text, identity: text, architecture: text, backend: text, layers: num, hiddenSize: num, chatTemplate: bool, demo: bool.optional() }),
  capture: obj({ layers: numbers(), layerWeights: numbers(), tokenDecay: num, compat: oneOf(['mood-axis'], '"mood-axis" or null').nullable() }),
  sampler: obj({ temperature: num, topK: num, topP: num, seed: num, parallel: num, maxTokens: num, order: text, baselineMaxTokens: num.optional(), deterministic: bool.optional() }),
  questions: obj({ name: text, version: text }),
});

const deadZones = arr(
  obj({
    axis: text,
    severity: num,
    equalWeight: num,
    partial: bool,
    terms: obj({ accuracy: num, separation: num, stability: numOrNull, snr: num }),
    level: oneOf(['healthy', 'weak', 'dead']),
    kind: arr(oneOf(['hard', 'soft', 'asymmetric'])),
  }),
);

const truncation = obj({ capped: num, total: num, share: num, maxTokens: num, warn: bool });

const structure = obj(
  {
    pc1Share: num,
    participationRatio: num,
    eigenvalues: numbers(),
    axes: arr(text),
    correlation: arr(numbers(undefined, true)),
    lengthConfound: obj({ perAxis: record(numOrNull), constantLength: bool.optional(), meanAbsCrossRBefore: numOrNull, meanAbsCrossRAfter: numOrNull }),
  },
  'an object or null',
)
  .superRefine((s, ctx) => {
    const n = s.axes.length;
    if (s.correlation.length !== n) return fail(ctx, ['correlation'], `expected ${n} rows (one per axis), got ${s.correlation.length}`);
    lengths(ctx, s.correlation.map((row, i) => [['correlation', i], row]), n, 'values');
  })
  .nullable();

const timing = obj({ seconds: num, generatedTokens: num });
const strings = arr(text);
const poles = oneOf(['positive', 'negative', 'none']);

// ---------------------------------------------------------------------------------------------------
// Documents (after kind, schemaVersion: see lib/docs/read.ts)

const fingerprintAxes = arr(obj({ id: text, positive: text, negative: text, auc: num, dprime: num, mean: num, std: num, min: num, max: num, scores: numbers() })).superRefine((axes, ctx) => {
  if (axes.length === 0) return fail(ctx, [], 'expected at least one axis');
  const n = (axes[0]!.scores as number[]).length;
  axes.forEach((a, i) => {
    const m = (a.scores as number[]).length;
    if (m !== n) fail(ctx, [i, 'scores'], `expected ${n} scores (as axes[0]), got ${m}`);
  });
});

export const fingerprintSchema = obj({
  manifest: manifestSchema,
  axes: fingerprintAxes,
  responses: arr(obj({ questionId: text, question: text, text: text, tokens: num, stopReason: oneOf(['eos', 'length']), pole: poles.optional() })),
  structure,
  deadZones,
  truncation: truncation.optional(),
  timing,
});

export const stabilitySchema = obj({
  manifest: manifestSchema,
  testRetest: arr(obj({ axis: text, icc21: num, ci: numbers(2), icc2k: num, scores: arr(numbers()).optional() })),
  calibrationSets: arr(obj({ axis: text, cosines: obj({ AB: num, AC: num, BC: num }), stabilityCosine: num, icc2k: numOrNull })),
  sampleSize: obj({
    n: numbers(),
    perAxis: record(obj({ medianCosine: numbers(), auc: numbers(), stabilisesAt: numOrNull.optional() })),
    stabilisesAt: numOrNull,
    method: oneOf(['split-half']).optional(),
    threshold: num.optional(),
  }).superRefine((ss, ctx) => {
    const n = (ss.n as number[]).length;
    lengths(ctx, Object.entries(ss.perAxis).flatMap(([k, e]) => [[['perAxis', k, 'medianCosine'], e.medianCosine], [['perAxis', k, 'auc'], e.auc]] as Array<[string[], unknown]>), n);
  }),
  deadZones,
  truncation: truncation.optional(),
  missingSets: strings.optional(),
  notes: strings.optional(),
});

export const steerSchema = obj({
  manifest: manifestSchema,
  axis: text,
  layers: numbers(),
  alphas: arr(obj({ alpha: num, meanScore: num, leakage: record(num), repetition: num, samples: strings, inPassScore: num.optional(), meanTokens: num.optional() })),
  slope: num,
  spearman: num,
  range: numbers(2),
  unit: num.optional(),
  norms: numbers().optional(),
  sweep: arr(obj({ layers: numbers(), shift: num, maxRepetition: num, slope: num, spearman: num })).optional(),
  recommended: numbers().nullable().optional(),
}).superRefine((d, ctx) => {
  if (d.norms !== undefined) lengths(ctx, [[['norms'], d.norms]], (d.layers as number[]).length);
});

const correlation = { n: num, rho: numOrNull, ci: numbers(2).nullable() };

export const validationSchema = obj({
  manifest: manifestSchema,
  fingerprint: obj({ file: text, createdAt: text }),
  bootstrap: obj({ resamples: num, seed: num, level: num }),
  responses: obj({ rated: num, ratingsPerResponse: obj({ min: num, max: num }) }),
  axes: arr(
    obj({
      id: text,
      positive: text,
      negative: text,
      ...correlation,
      flags: arr(oneOf(['negative', 'ci-includes-0', 'undefined'])),
      points: arr(obj({ questionId: text, pole: poles, score: num, rating: num, ratings: num })),
    }),
  ),
  pooled: obj(correlation),
  flagged: strings,
  notes: strings,
});

const estimate = { slope: numOrNull, delta: num, slopeCI: numbers(2).nullable(), deltaCI: numbers(2).nullable() };

export const driftSchema = obj({
  manifest: manifestSchema,
  turns: num,
  bootstrap: obj({ resamples: num, seed: num, level: num }),
  scenarioSet: obj({ name: text }),
  axes: arr(obj({ positive: text, negative: text, id: text })),
  categories: arr(obj({ id: text, control: bool, scenarios: num, axes: arr(obj({ axis: text, ...estimate, turnMeans: numbers(), vsControl: obj(estimate).nullable() })) })),
  conversations: arr(z.unknown()),
  warnings: arr(z.unknown()),
}).superRefine((d, ctx) => {
  const ids = d.axes.map((a) => a.id);
  d.categories.forEach((cat, i) =>
    cat.axes.forEach((a, j) => {
      if (!ids.includes(a.axis)) fail(ctx, ['categories', i, 'axes', j, 'axis'], `"${a.axis}" is not among axes[].id`);
      else lengths(ctx, [[['categories', i, 'axes', j, 'turnMeans'], a.turnMeans]], d.turns);
    }),
  );
});

/** The schema of each document kind the report reads. */
export const DOC_SCHEMAS = {
  'moodaxis.fingerprint': fingerprintSchema,
  'moodaxis.stability': stabilitySchema,
  'moodaxis.steer': steerSchema,
  'moodaxis.validation': validationSchema,
  'moodaxis.drift': driftSchema,
} as const;

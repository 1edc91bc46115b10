/**
 * Axis-set files (docs/method.md §0): the built-in `axes/builtin.json` and users' custom files.
 *
 * A file holds a name, a version, a list of bipolar axes (each with its pole instructions, calibration
 * and evaluation questions, optionally paraphrased calibration sets B and C, and optionally a plain
 * prompt template for models without a chat template) and the baseline questions.
 *
 * Every problem is reported as an `AxesFileError` (code `BAD_INPUT`) whose message names the file and
 * the field, e.g. `story-mood.json: axes[0].calibration: expected at least 4 questions, got 1`.
 */
import { readFileSync, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** Used when an axis gives no `promptTemplate` (docs/method.md §1: contents joined by blank lines). */
export const DEFAULT_PROMPT_TEMPLATE = '{instruction}\n\n{question}';

/** Minimum number of questions per list in any axis-set file. */
export const MIN_QUESTIONS = { calibration: 4, evaluation: 2, baseline: 2 } as const;

export class AxesFileError extends Error {
  readonly code = 'BAD_INPUT' as const;
  /** The file (or source name) the problem is in. */
  readonly file: string;
  /** One line per problem, each `file: field: message`. */
  readonly issues: string[];

  constructor(file: string, issues: string[]) {
    super(issues.join('\n'));
    this.name = 'AxesFileError';
    this.file = file;
    this.issues = issues;
  }
}

// ---------------------------------------------------------------------------------------------------
// Schema

const SNAKE_CASE = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;

const nonEmptyText = (what: string) =>
  z.string().trim().min(1, { message: `${what} must not be empty` });

const questionList = (min: number) =>
  z.array(nonEmptyText('question')).superRefine((list, ctx) => {
    if (list.length < min) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `expected at least ${min} questions, got ${list.length}`,
      });
    }
  });

const paraphraseSetSchema = z
  .object({
    positiveInstruction: nonEmptyText('instruction'),
    negativeInstruction: nonEmptyText('instruction'),
    calibration: questionList(MIN_QUESTIONS.calibration),
  })
  .strict();

const axisSchema = z
  .object({
    id: z.string().regex(SNAKE_CASE, {
      message: 'must be snake_case (lower-case letters and digits separated by single underscores, starting with a letter)',
    }),
    positive: nonEmptyText('pole name'),
    negative: nonEmptyText('pole name'),
    description: z.string().optional(),
    positiveInstruction: nonEmptyText('instruction'),
    negativeInstruction: nonEmptyText('instruction'),
    promptTemplate: z
      .string()
      .refine((t) => t.includes('{question}'), { message: 'must contain the placeholder {question}' })
      .default(DEFAULT_PROMPT_TEMPLATE),
    calibration: questionList(MIN_QUESTIONS.calibration),
    evaluation: questionList(MIN_QUESTIONS.evaluation),
    sets: z
      .object({ B: paraphraseSetSchema.optional(), C: paraphraseSetSchema.optional() })
      .strict()
      .default({}),
  })
  .strict();

const axisSetSchema = z
  .object({
    $schema: z.string().optional(),
    name: nonEmptyText('name'),
    version: nonEmptyText('version').default('custom'),
    description: z.string().optional(),
    axes: z.array(axisSchema).min(1, { message: 'expected at least 1 axis, got 0' }),
    baseline: questionList(MIN_QUESTIONS.baseline),
  })
  .strict();

export type AxisSet = z.output<typeof axisSetSchema>;
export type AxisDef = AxisSet['axes'][number];

// ---------------------------------------------------------------------------------------------------
// Error formatting

/** `['axes', 0, 'calibration', 2]` -> `axes[0].calibration[2]`. */
export function formatPath(p: ReadonlyArray<string | number>): string {
  let out = '';
  for (const part of p) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out === '' ? '(top level)' : out;
}

export function formatIssue(issue: z.ZodIssue): string {
  switch (issue.code) {
    case z.ZodIssueCode.invalid_type:
      if (issue.received === 'undefined') return 'required field is missing';
      return `expected ${issue.expected === 'object' ? 'an object' : issue.expected}, got ${issue.received}`;
    case z.ZodIssueCode.unrecognized_keys:
      return `unknown ${issue.keys.length === 1 ? 'key' : 'keys'} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    default:
      return issue.message;
  }
}

/** Lower-cased, NFKC, punctuation and spacing folded: two questions are the same when this is equal. */
export function normaliseQuestion(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\u2018\u2019\u02bc]/g, "'")
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

function quote(text: string): string {
  return JSON.stringify(text.length > 120 ? `${text.slice(0, 117)}...` : text);
}

/**
 * Checks the parsed set for duplicate axis ids, and for an axis whose evaluation questions are also among
 * its own calibration questions (sets A, B or C): that would score the axis on what it was fitted on.
 * Questions may repeat across axes (a shared pool of neutral questions, as repeng and cvector-generator
 * users keep): every axis is fitted on its own, so nothing leaks.
 */
function crossChecks(set: AxisSet): string[] {
  const problems: string[] = [];
  const ids = new Map<string, number>();
  set.axes.forEach((axis, i) => {
    const first = ids.get(axis.id);
    if (first !== undefined) problems.push(`axes[${i}].id: duplicate axis id ${quote(axis.id)} (also axes[${first}].id)`);
    else ids.set(axis.id, i);
  });

  set.axes.forEach((axis, i) => {
    const calibration = new Map<string, string>();
    const lists: Array<[string[], string]> = [[axis.calibration, `axes[${i}].calibration`]];
    for (const k of ['B', 'C'] as const) if (axis.sets[k]) lists.push([axis.sets[k]!.calibration, `axes[${i}].sets.${k}.calibration`]);
    for (const [list, where] of lists) list.forEach((q, j) => calibration.set(normaliseQuestion(q), `${where}[${j}]`));
    axis.evaluation.forEach((q, j) => {
      const also = calibration.get(normaliseQuestion(q));
      if (also) problems.push(`axes[${i}].evaluation[${j}]: question ${quote(q)} is also a calibration question of the same axis (${also}); an axis must be evaluated on questions it was not fitted on`);
    });
  });
  return problems;
}

// ---------------------------------------------------------------------------------------------------
// Parsing and loading

/**
 * Validates an already-parsed JSON value. `sourceName` prefixes every error message (usually the
 * file name). Fills defaults: `version` "custom", `promptTemplate` DEFAULT_PROMPT_TEMPLATE, `sets` {}.
 */
export function parseAxisSet(json: unknown, sourceName: string): AxisSet {
  const result = axisSetSchema.safeParse(json);
  if (!result.success) {
    const issues = result.error.issues.map((iss) => `${sourceName}: ${formatPath(iss.path)}: ${formatIssue(iss)}`);
    throw new AxesFileError(sourceName, issues);
  }
  const problems = crossChecks(result.data);
  if (problems.length > 0) throw new AxesFileError(sourceName, problems.map((p) => `${sourceName}: ${p}`));
  return result.data;
}

/**
 * Offset of the first JSON syntax error in `s` (strict JSON, as JSON.parse), or null if none found.
 * Used only after JSON.parse failed, because some Node versions report no position.
 */
function jsonErrorOffset(s: string): number | null {
  let i = 0;
  const ws = () => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === '\n' || s[i] === '\r')) i++;
  };
  const expect = (ch: string) => {
    if (s[i] !== ch) throw i;
    i++;
  };
  const str = () => {
    expect('"');
    for (;;) {
      if (i >= s.length) throw i;
      const c = s.charCodeAt(i);
      if (c === 0x22) return void i++;
      if (c < 0x20) throw i;
      if (c === 0x5c) {
        i++;
        const e = s[i];
        if (e === 'u') {
          for (let k = 1; k <= 4; k++) if (!/[0-9a-fA-F]/.test(s[i + k] ?? '')) throw i + k;
          i += 5;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i++;
        else throw i;
      } else i++;
    }
  };
  const value = (): void => {
    ws();
    const c = s[i];
    if (c === '{') {
      i++;
      ws();
      if (s[i] === '}') return void i++;
      for (;;) {
        ws();
        str();
        ws();
        expect(':');
        value();
        ws();
        if (s[i] === ',') i++;
        else return expect('}');
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (s[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (s[i] === ',') i++;
        else return expect(']');
      }
    }
    if (c === '"') return str();
    for (const lit of ['true', 'false', 'null']) {
      if (s.startsWith(lit, i)) return void (i += lit.length);
    }
    const num = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
    num.lastIndex = i;
    const m = num.exec(s);
    if (!m || m[0] === '' || m[0] === '-') throw m ? i + m[0].length : i;
    i += m[0].length;
  };
  try {
    value();
    ws();
    return i < s.length ? i : null;
  } catch (pos) {
    return typeof pos === 'number' ? pos : null;
  }
}

/** JSON.parse's message, cleaned, with "at line L column C" (1-based) of the first syntax error. */
function describeJsonError(err: unknown, text: string): string {
  const raw = err instanceof Error ? err.message : String(err);
  const fromV8 = /in JSON at position (\d+)/.exec(raw);
  let what = raw
    .replace(/,\s*(?:\.\.\.)?"[\s\S]*"(?:\.\.\.)? is not valid JSON$/, '')
    .replace(/\s*\(line \d+ column \d+\)/, '')
    .replace(/\s+in JSON at position \d+/, '')
    .replace(/\s+at position \d+$/, '')
    .replace(/[\u0000-\u001f]/g, (ch) => JSON.stringify(ch).slice(1, -1))
    .trim();
  if (what === '') what = 'syntax error';
  let pos = jsonErrorOffset(text);
  if (pos === null && fromV8) pos = Number(fromV8[1]);
  if (pos === null) return what;
  if (pos >= text.length) return /end/i.test(what) ? what : `${what} at end of file`;
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const column = pos - before.lastIndexOf('\n');
  return `${what} at line ${line} column ${column}`;
}

/** Parses text read from `sourceName`. */
export function parseAxisSetText(text: string, sourceName: string): AxisSet {
  return parseAxisSet(parseJsonText(text, sourceName), sourceName);
}

/** JSON text of a data file (a BOM allowed); an empty file or a syntax error names the file, line and column. */
export function parseJsonText(text: string, sourceName: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.trim() === '') throw new AxesFileError(sourceName, [`${sourceName}: not valid JSON (the file is empty)`]);
  try {
    return JSON.parse(body);
  } catch (err) {
    throw new AxesFileError(sourceName, [`${sourceName}: not valid JSON (${describeJsonError(err, body)})`]);
  }
}

export function readErrorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT') return 'file not found';
  if (e?.code === 'EISDIR') return 'is a directory, not a file';
  if (e?.code === 'EACCES' || e?.code === 'EPERM') return 'permission denied';
  return `cannot read file (${e instanceof Error ? e.message : String(err)})`;
}

/** Reads and validates an axis-set file. Error messages start with the path as given. */
export async function loadAxisSet(file: string): Promise<AxisSet> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new AxesFileError(file, [`${file}: ${readErrorText(err)}`]);
  }
  return parseAxisSetText(text, file);
}

// ---------------------------------------------------------------------------------------------------
// Built-in set

let packageRootCache: string | undefined;

/**
 * The package root: the nearest directory above this module that holds package.json and
 * axes/builtin.json (works from `lib/method/axes-file.ts` under vitest and from
 * `dist/lib/method/axes-file.js` when built or installed).
 */
export function packageRoot(): string {
  if (packageRootCache) return packageRootCache;
  const start = path.dirname(fileURLToPath(import.meta.url));
  let firstWithPackageJson: string | undefined;
  for (let dir = start; ; ) {
    if (existsSync(path.join(dir, 'package.json'))) {
      firstWithPackageJson ??= dir;
      if (existsSync(path.join(dir, 'axes', 'builtin.json'))) return (packageRootCache = dir);
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new AxesFileError('axes/builtin.json', [
    `axes/builtin.json: not found in any directory above ${start}` +
      (firstWithPackageJson ? ` (nearest package.json: ${firstWithPackageJson})` : ''),
  ]);
}

/** Absolute path of the built-in axis-set file. */
export function builtinAxesPath(): string {
  return path.join(packageRoot(), 'axes', 'builtin.json');
}

let builtinCache: AxisSet | undefined;

/** The built-in axis set (axes/builtin.json), validated; each call returns a fresh copy. */
export function builtinAxisSet(): AxisSet {
  if (!builtinCache) {
    const file = builtinAxesPath();
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new AxesFileError(file, [`${file}: ${readErrorText(err)}`]);
    }
    builtinCache = parseAxisSetText(text, 'axes/builtin.json');
  }
  return structuredClone(builtinCache);
}

// ---------------------------------------------------------------------------------------------------
// Prompts and question ids

/**
 * Renders a prompt for a model without a chat template. `{instruction}` and `{question}` are replaced
 * in one pass (placeholders inside the substituted texts are left alone).
 * - With no instruction (baseline), a line that holds only `{instruction}` is dropped together with
 *   the blank lines after it, so the default template yields just the question; elsewhere
 *   `{instruction}` becomes empty.
 * - With an instruction and a template lacking `{instruction}`, the instruction is put before the
 *   question, separated by a blank line (as a template that rejects the system role, docs/method.md §1).
 */
export function renderPlainPrompt(template: string, instruction: string | null | undefined, question: string): string {
  const instr = instruction?.trim() ?? '';
  let tpl = template;
  let q = question;
  if (instr === '') {
    tpl = tpl.replace(/^[ \t]*\{instruction\}[ \t]*(?:\r?\n[ \t]*)*(?:\r?\n|$)/gm, '');
  } else if (!tpl.includes('{instruction}')) {
    q = `${instr}\n\n${question}`;
  }
  return tpl.replace(/\{(instruction|question)\}/g, (_, name: string) => (name === 'question' ? q : instr));
}

/** Which list a question comes from: calibration (set A), evaluation, paraphrase sets B / C, baseline. */
export type QuestionSetKind = 'cal' | 'eval' | 'B' | 'C' | 'baseline';

/**
 * Stable question id from a 0-based index, at least two digits: `warm_cold/cal/07`,
 * `warm_cold/eval/03`, `warm_cold/B/12`, `baseline/05` (axisId is ignored for the baseline).
 */
export function questionId(axisId: string | null, set: QuestionSetKind, index: number): string {
  if (!Number.isInteger(index) || index < 0) throw new RangeError(`questionId: index must be a non-negative integer, got ${index}`);
  const n = String(index).padStart(2, '0');
  if (set === 'baseline') return `baseline/${n}`;
  if (!axisId) throw new RangeError(`questionId: an axis id is needed for set ${set}`);
  return `${axisId}/${set}/${n}`;
}

/** One question with its stable id. */
export interface QuestionRef {
  id: string;
  axis: string | null;
  set: QuestionSetKind;
  index: number;
  text: string;
}

/** The questions of one list of one axis (or the baseline, with axis null), with their ids. */
export function questionsOf(set: AxisSet, axisId: string | null, kind: QuestionSetKind): QuestionRef[] {
  let list: string[] | undefined;
  if (kind === 'baseline') list = set.baseline;
  else {
    const axis = set.axes.find((a) => a.id === axisId);
    if (!axis) throw new RangeError(`no axis ${JSON.stringify(axisId)} in ${set.name}`);
    list = kind === 'cal' ? axis.calibration : kind === 'eval' ? axis.evaluation : axis.sets[kind]?.calibration;
    if (!list) return [];
  }
  return list.map((text, index) => ({
    id: questionId(axisId, kind, index),
    axis: kind === 'baseline' ? null : axisId,
    set: kind,
    index,
    text,
  }));
}

/** The pole instructions that go with a calibration set (A = the axis' own, B / C = its paraphrases). */
export function poleInstructions(axis: AxisDef, set: 'A' | 'B' | 'C' = 'A'): { positive: string; negative: string } | null {
  if (set === 'A') return { positive: axis.positiveInstruction, negative: axis.negativeInstruction };
  const s = axis.sets[set];
  return s ? { positive: s.positiveInstruction, negative: s.negativeInstruction } : null;
}

/**
 * Axis-set files (docs/method.md §0): the built-in `axes/builtin.json` and users' custom files.
 *
 * A file holds a name, a version, a list of bipolar axes (each with its pole instructions, calibration
 * and evaluation questions, optionally paraphrased calibration sets B and C, and optionally a plain
 * prompt template for models without a chat template) and the baseline questions.
 *
 * Every problem is reported as a `MoodaxisError` (code `BAD_INPUT`, `issues`) whose message names the file and
 * the field, e.g. `story-mood.json: axes[0].calibration: expected at least 4 questions, got 1`.
 */
import { readFileSync, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { PROMPT_TEMPLATE } from '../defaults.js';
import { fileIssuesError, issueLines, parseJsonText, readErrorText } from '../docs/json.js';

/** Minimum number of questions per list in any axis-set file. */
export const MIN_QUESTIONS = { calibration: 4, evaluation: 2, baseline: 2 } as const;

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
      .default(PROMPT_TEMPLATE),
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
 * file name). Fills defaults: `version` "custom", `promptTemplate` PROMPT_TEMPLATE, `sets` {}.
 */
export function parseAxisSet(json: unknown, sourceName: string): AxisSet {
  const result = axisSetSchema.safeParse(json);
  if (!result.success) {
    throw fileIssuesError(sourceName, issueLines(sourceName, result.error));
  }
  const problems = crossChecks(result.data);
  if (problems.length > 0) throw fileIssuesError(sourceName, problems.map((p) => `${sourceName}: ${p}`));
  return result.data;
}

/** Parses text read from `sourceName`. */
export function parseAxisSetText(text: string, sourceName: string): AxisSet {
  return parseAxisSet(parseJsonText(text, sourceName), sourceName);
}

/** Reads and validates an axis-set file. Error messages start with the path as given. */
export async function loadAxisSet(file: string): Promise<AxisSet> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw fileIssuesError(file, [`${file}: ${readErrorText(err)}`]);
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
  throw fileIssuesError('axes/builtin.json', [
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
      throw fileIssuesError(file, [`${file}: ${readErrorText(err)}`]);
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

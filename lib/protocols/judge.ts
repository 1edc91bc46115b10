/**
 * The local judge of `moodaxis validate --judge JUDGE.gguf`: a GGUF model rates every baseline response
 * of a fingerprint on every axis, 1 (negative pole) to 5 (positive pole), from a rubric built from the
 * axis' pole names and pole instructions. Every answer parses: the one generated token is chosen only
 * among the judge's token ids for "1".."5" (an allowed-token list in the native host sampler, greedy).
 * Batched like every protocol, journaled in the output folder and resumable.
 */
import { dirname } from 'node:path';
import { readDocFile } from '../docs/read.js';
import { runKey } from '../docs/run-key.js';
import type { FingerprintDoc, ResponseRecord, ValidationDoc } from '../docs/types.js';
import { badInput, MoodaxisError } from '../engine/errors.js';
import type { GpuChoice, Model } from '../engine/model.js';
import { builtinAxisSet, loadAxisSet, type AxisSet } from '../method/axes-file.js';
import { collectResponses } from '../method/collect.js';
import { Journal, journalPath } from '../method/journal.js';
import { withModel } from '../method/model-ref.js';
import type { ProgressCallback, ResponseJob } from '../method/response.js';
import { buildValidation, scoredResponses, writeValidation, type RatedCell, type ValidationOptions } from './validate.js';

export const JUDGE_DIGITS = ['1', '2', '3', '4', '5'] as const;

/** What the judge is told about one axis. */
export interface RubricAxis {
  id: string;
  positive: string;
  negative: string;
  /** The pole instructions of the axis set, when known. */
  positiveInstruction?: string;
  negativeInstruction?: string;
}

export const RUBRIC_VERSION = 1;

/** The rubric prompt for one response on one axis. It ends where the rating digit is written. */
export function rubricPrompt(axis: RubricAxis, question: string, response: string): string {
  const hint = (instruction: string | undefined) => (instruction ? ` (as an answer written under the instruction: "${instruction}")` : '');
  return [
    `Rate how the response below sounds on one scale: ${axis.positive} versus ${axis.negative}.`,
    `5 = clearly ${axis.positive}${hint(axis.positiveInstruction)}`,
    `4 = somewhat ${axis.positive}`,
    `3 = neither, or both equally`,
    `2 = somewhat ${axis.negative}`,
    `1 = clearly ${axis.negative}${hint(axis.negativeInstruction)}`,
    '',
    `Question: ${question}`,
    `Response: ${response}`,
    '',
    `Answer with one digit from 1 (${axis.negative}) to 5 (${axis.positive}).`,
    'Rating:',
  ].join('\n');
}

/**
 * The judge's token ids for each digit: every single token that writes the digit right after "Rating:",
 * with or without a space ("3" and " 3" may be different tokens). BAD_INPUT when a digit has none.
 */
export function digitTokens(model: Model): Map<number, number> {
  const digitOf = new Map<number, number>();
  const head = model.tokenize('Rating:', { addSpecial: false });
  for (const d of JUDGE_DIGITS) {
    for (const spelling of [d, ` ${d}`]) {
      const all = model.tokenize(`Rating:${spelling}`, { addSpecial: false });
      const samePrefix = all.length === head.length + 1 && head.every((t, i) => all[i] === t);
      if (samePrefix && !digitOf.has(all[head.length]!)) digitOf.set(all[head.length]!, Number(d));
    }
    if (![...digitOf.values()].includes(Number(d))) throw badInput(`${model.info.path}: the judge's vocabulary has no single token for the digit "${d}" after "Rating:"; choose another judge model`);
  }
  return digitOf;
}

/** The rubric axes: pole names from the fingerprint, pole instructions from the axis set when it has the axis. */
export function rubricAxes(fp: FingerprintDoc, axisSet: AxisSet | null): RubricAxis[] {
  return fp.axes.map((a) => {
    const def = axisSet?.axes.find((x) => x.id === a.id);
    return { id: a.id, positive: a.positive, negative: a.negative, ...(def ? { positiveInstruction: def.positiveInstruction, negativeInstruction: def.negativeInstruction } : {}) };
  });
}

/** The axis set the fingerprint was made with: the given file, else the built-in set when its name matches. */
async function axisSetFor(fp: FingerprintDoc, axesFile: string | undefined): Promise<AxisSet | null> {
  if (axesFile) return loadAxisSet(axesFile);
  const builtin = builtinAxisSet();
  return fp.manifest.questions.name === builtin.name ? builtin : null;
}

export interface JudgeOptions extends ValidationOptions {
  /** The judge: a GGUF path or a loaded model. */
  judge: string | Model;
  gpu?: GpuChoice;
  parallel?: number;
  /** The axis set with the pole instructions (default: the built-in set when the fingerprint used it). */
  axesFile?: string;
  onProgress?: ProgressCallback;
  /** Warnings, e.g. that the judge is the model being measured. */
  onWarning?: (message: string) => void;
}

/** The judge's ratings of every baseline response on every axis (journaled in `journalDir`). */
async function judgeRatings(judge: Model, baseline: ResponseRecord[], axes: RubricAxis[], journalDir: string | null, runId: string, options: JudgeOptions) {
  const digitOf = digitTokens(judge);
  const jobs: Array<ResponseJob & { axis: string; record: ResponseRecord }> = axes.flatMap((axis) =>
    baseline.map((r) => ({
      key: `${r.questionId}|${axis.id}`,
      question: { id: r.questionId, axis: axis.id, set: 'baseline' as const, index: 0, text: rubricPrompt(axis, r.question, r.text) },
      pole: 'none' as const,
      instruction: null,
      promptTemplate: '{question}',
      maxTokens: 1,
      axis: axis.id,
      record: r,
    })),
  );
  const journal = journalDir ? new Journal(journalPath(journalDir, 'validation'), runId) : undefined;
  let answers;
  try {
    answers = await collectResponses(judge, jobs, {
      seed: 0,
      parallel: options.parallel,
      temperature: 0,
      deterministic: judge.info.backend === 'cpu',
      capture: false,
      allowedTokens: [...digitOf.keys()],
      journal,
      onProgress: options.onProgress,
    });
  } finally {
    journal?.close();
  }
  const cells: RatedCell[] = jobs.map((j) => {
    const text = answers.get(j.key)!.text.trim();
    const rating = Number(text);
    if (!(Number.isInteger(rating) && rating >= 1 && rating <= 5)) throw new MoodaxisError('INTERNAL', `judge answer ${JSON.stringify(text)} for ${j.key} is not a digit 1–5`);
    return { questionId: j.record.questionId, pole: 'none', axis: j.axis, ratings: [rating] };
  });
  return { cells, digitOf };
}

/** `validate --judge`: a fingerprint file rated by a local judge model; writes validation.json. */
export async function validateWithJudge(fingerprintFile: string, options: JudgeOptions): Promise<ValidationDoc> {
  const fp = await readDocFile(fingerprintFile, 'moodaxis.fingerprint');
  const baseline = scoredResponses(fp, fingerprintFile);
  const axes = rubricAxes(fp, await axisSetFor(fp, options.axesFile));
  const outDir = options.out === null ? null : (options.out ?? dirname(fingerprintFile));
  return withModel(options.judge, options.gpu, async (judge) => {
    const notes: string[] = [];
    if (judge.info.identity === fp.manifest.model.identity) {
      const warning = `the judge ${judge.info.name} is the model being measured: its ratings are not independent of its hidden states`;
      options.onWarning?.(warning);
      notes.push(warning);
    }
    const missing = axes.filter((a) => !a.positiveInstruction).map((a) => a.id);
    if (missing.length) notes.push(`the rubric of ${missing.join(', ')} has pole names only (no axis set with their instructions; give --axes-file)`);
    const runId = runKey({ kind: 'judge', judge: judge.info.identity, fingerprint: [fp.manifest.model.identity, fp.manifest.createdAt], rubric: RUBRIC_VERSION, axes });
    const { cells, digitOf } = await judgeRatings(judge, baseline, axes, outDir, runId, options);
    const source = {
      kind: 'judge',
      model: { path: judge.info.path, name: judge.info.name, identity: judge.info.identity, architecture: judge.info.architecture, chatTemplate: judge.info.chatTemplate !== null },
      sameModel: judge.info.identity === fp.manifest.model.identity,
      rubric: { version: RUBRIC_VERSION, example: rubricPrompt(axes[0]!, '{question}', '{response}'), axes },
      scale: [1, 5],
      sampling: 'one generated token, greedy among the token ids of "1".."5" (native allowed-token list)',
      digitTokens: Object.fromEntries([...digitOf].map(([id, d]) => [String(id), d])),
    };
    const doc = buildValidation(fp, fingerprintFile, cells, source, options);
    doc.notes.unshift(...notes);
    writeValidation(doc, fingerprintFile, outDir);
    return doc;
  });
}

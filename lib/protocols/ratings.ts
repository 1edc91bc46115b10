/**
 * The ratings file of `moodaxis validate --ratings`: CSV with a header naming the columns
 * questionId, pole, axis, rating (any order; other columns, e.g. a rater id, are ignored). One row per
 * rater, response and axis; `rating` is a number on any scale where higher means the positive pole.
 * The file is untrusted: its size and row count are capped, and every bad row is refused naming the
 * file, the line and the column.
 */
import { stat } from 'node:fs/promises';
import { badInput } from '../engine/errors.js';
import { readInputText } from '../engine/input.js';

export const RATINGS_COLUMNS = ['questionId', 'pole', 'axis', 'rating'] as const;
export const MAX_RATINGS_BYTES = 16 * 1024 * 1024;
export const MAX_RATINGS_ROWS = 200_000;
export const POLES = ['positive', 'negative', 'none'] as const;
export type Pole = (typeof POLES)[number];

export interface RatingRow {
  /** 1-based line in the file. */
  line: number;
  questionId: string;
  pole: Pole;
  axis: string;
  rating: number;
}

/** What a row is checked against: the responses (questionId + pole) and the axis ids that exist. */
export interface RatingTargets {
  /** Where the responses and axes come from, for error messages (e.g. the fingerprint's file). */
  source: string;
  hasResponse(questionId: string, pole: Pole): boolean;
  axes: string[];
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** Splits one CSV line into fields: commas separate, double quotes enclose a field ("" is a quote). */
export function splitCsvLine(line: string, where: () => string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) throw badInput(`${where()}: a quoted field is not closed`);
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += line[i++];
      }
      if (i < line.length && line[i] !== ',') throw badInput(`${where()}: text after a closing quote`);
    } else {
      const end = line.indexOf(',', i);
      field = line.slice(i, end < 0 ? line.length : end);
      i = end < 0 ? line.length : end;
    }
    fields.push(field.trim());
    if (i >= line.length) return fields;
    i++; // the comma
  }
}

/** Parses and checks ratings text (see the module comment). `file` names the file in errors. */
export function parseRatings(text: string, file: string, targets: RatingTargets): RatingRow[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const headerAt = lines.findIndex((l) => l.trim() !== '');
  const expected = RATINGS_COLUMNS.join(',');
  if (headerAt < 0) throw badInput(`${file}: empty file; expected a header line "${expected}" and one row per rating`);
  const header = splitCsvLine(lines[headerAt]!, () => `${file}: line ${headerAt + 1}`);
  const missing = RATINGS_COLUMNS.filter((c) => !header.includes(c));
  if (missing.length) {
    throw badInput(`${file}: line ${headerAt + 1}: missing header: no column ${missing.map((c) => `"${c}"`).join(', ')} (expected a header line "${expected}")`);
  }
  const dup = header.find((h, i) => h !== '' && header.indexOf(h) !== i);
  if (dup) throw badInput(`${file}: line ${headerAt + 1}: column "${dup}" appears twice in the header`);
  const col = Object.fromEntries(RATINGS_COLUMNS.map((c) => [c, header.indexOf(c)])) as Record<(typeof RATINGS_COLUMNS)[number], number>;
  const axes = new Set(targets.axes);
  const rows: RatingRow[] = [];
  for (let k = headerAt + 1; k < lines.length; k++) {
    const raw = lines[k]!;
    if (raw.trim() === '') continue;
    const line = k + 1;
    if (rows.length >= MAX_RATINGS_ROWS) throw badInput(`${file}: more than ${MAX_RATINGS_ROWS.toLocaleString('en-US')} rating rows (the limit); split the file or average raters first`);
    const fields = splitCsvLine(raw, () => `${file}: line ${line}`);
    if (fields.length !== header.length) throw badInput(`${file}: line ${line}: ${fields.length} fields, the header has ${header.length}`);
    const at = (c: keyof typeof col) => `${file}: line ${line}, column ${col[c] + 1} (${c})`;
    const questionId = fields[col.questionId]!;
    const pole = fields[col.pole]!;
    const axis = fields[col.axis]!;
    const ratingText = fields[col.rating]!;
    if (!questionId) throw badInput(`${at('questionId')}: empty question id`);
    if (!(POLES as readonly string[]).includes(pole)) throw badInput(`${at('pole')}: unknown pole "${pole}" (expected positive, negative or none; baseline responses have pole none)`);
    if (!targets.hasResponse(questionId, pole as Pole)) throw badInput(`${at('questionId')}: unknown response: no question id "${questionId}" with pole "${pole}" in ${targets.source}`);
    if (!axes.has(axis)) throw badInput(`${at('axis')}: unknown axis "${axis}" (${targets.source} has ${targets.axes.join(', ')})`);
    if (!NUMBER.test(ratingText) || !Number.isFinite(Number(ratingText))) throw badInput(`${at('rating')}: not a number: "${ratingText.slice(0, 40)}"`);
    rows.push({ line, questionId, pole: pole as Pole, axis, rating: Number(ratingText) });
  }
  if (rows.length === 0) throw badInput(`${file}: no rating rows after the header`);
  return rows;
}

/** Reads a ratings file (size capped before reading) and parses it. */
export async function readRatingsFile(file: string, targets: RatingTargets): Promise<{ rows: RatingRow[]; text: string }> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch {
    size = 0; // readInputText names the problem
  }
  if (size > MAX_RATINGS_BYTES) throw badInput(`${file}: ${(size / 1048576).toFixed(1)} MiB, more than the ${MAX_RATINGS_BYTES / 1048576} MiB a ratings file may have`);
  const text = await readInputText(file);
  return { rows: parseRatings(text, file, targets), text };
}

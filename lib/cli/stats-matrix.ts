/**
 * The matrices and results of `moodaxis stats icc|pca FILE`: the project's statistics on a researcher's own matrix. FILE is CSV
 * (comma, semicolon (decimal commas allowed), tab or whitespace separated; an optional header line;
 * an optional first column of row labels; blank lines and lines starting with # skipped) or JSON (an
 * array of rows, or { "matrix": [...] }). Rows are subjects (ICC) or observations (PCA), columns
 * raters or variables. Errors name the line and column (CSV) or the row and column (JSON).
 */
import { readInputText } from '../engine/input.js';
import { badInput } from '../engine/errors.js';
import { anovaMeanSquares, effectiveDimensionality, icc, iccFromMeanSquares, ICC_FORMS, type IccModel } from '../stats/index.js';
import { fixed } from './format.js';

export interface ParsedMatrix {
  matrix: number[][];
  /** Column names from a CSV header line. */
  columns: string[] | null;
  /** Row labels from a CSV label column. */
  labels: string[] | null;
}

const quoted = (s: string) => JSON.stringify(s.length > 30 ? `${s.slice(0, 27)}...` : s);

function toNumber(cell: string): number | null {
  const t = cell.trim().replace(/^"(.*)"$/, '$1').trim();
  if (t === '' || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return null;
  const v = Number(t);
  return Number.isFinite(v) ? v : null;
}

/** Tab, semicolon (then a decimal comma is accepted: 1,5;2), comma, or whitespace, from the first line. */
function splitter(line: string): (l: string) => string[] {
  if (line.includes('\t')) return (l) => l.split('\t');
  if (line.includes(';')) return (l) => l.split(';').map((c) => (/^\s*[+-]?\d*,\d+\s*$/.test(c) ? c.replace(',', '.') : c));
  if (line.includes(',')) return (l) => l.split(',');
  return (l) => l.trim().split(/\s+/);
}

export function parseCsvMatrix(text: string, source: string): ParsedMatrix {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/).map((l, i) => ({ no: i + 1, text: l })).filter((l) => l.text.trim() !== '' && !l.text.trimStart().startsWith('#'));
  if (lines.length === 0) throw badInput(`${source}: no data (the file is empty)`);
  const split = splitter(lines[0].text);
  let rows = lines.map((l) => ({ no: l.no, cells: split(l.text) }));
  let columns: string[] | null = null;
  if (rows[0].cells.some((c) => toNumber(c) === null && c.trim() !== '') && rows.length > 1) {
    columns = rows[0].cells.map((c) => c.trim().replace(/^"(.*)"$/, '$1'));
    rows = rows.slice(1);
  }
  let labels: string[] | null = null;
  if (rows.every((r) => toNumber(r.cells[0]) === null && r.cells[0].trim() !== '')) {
    labels = rows.map((r) => r.cells[0].trim().replace(/^"(.*)"$/, '$1'));
    rows = rows.map((r) => ({ no: r.no, cells: r.cells.slice(1) }));
    if (columns) columns = columns.slice(1);
  }
  const offset = labels ? 1 : 0;
  const width = rows[0].cells.length;
  const matrix = rows.map((r) => {
    if (r.cells.length !== width)
      throw badInput(`${source}: line ${r.no}: ${r.cells.length} values, expected ${width} (as line ${rows[0].no}); the matrix must be rectangular`);
    return r.cells.map((cell, j) => {
      const v = toNumber(cell);
      if (v === null) throw badInput(`${source}: line ${r.no}, column ${j + 1 + offset}: ${cell.trim() === '' ? 'empty cell' : `${quoted(cell.trim())} is not a number`}`);
      return v;
    });
  });
  return { matrix, columns, labels };
}

export function parseJsonMatrix(text: string, source: string): ParsedMatrix {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw badInput(`${source}: not valid JSON (${(error as Error).message})`);
  }
  const rows = Array.isArray(json) ? json : (json as { matrix?: unknown })?.matrix;
  const where = Array.isArray(json) ? '' : 'matrix';
  if (!Array.isArray(rows)) throw badInput(`${source}: expected an array of rows or { "matrix": [[...], ...] }`);
  if (rows.length === 0) throw badInput(`${source}: ${where || '(document)'}: no rows`);
  const width = Array.isArray(rows[0]) ? rows[0].length : -1;
  const matrix = rows.map((row, i) => {
    if (!Array.isArray(row)) throw badInput(`${source}: ${where}[${i}] (row ${i + 1}): expected an array of numbers`);
    if (row.length !== width) throw badInput(`${source}: ${where}[${i}] (row ${i + 1}): ${row.length} values, expected ${width} (as row 1); the matrix must be rectangular`);
    return row.map((v, j) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw badInput(`${source}: ${where}[${i}][${j}] (row ${i + 1}, column ${j + 1}): ${JSON.stringify(v)} is not a number`);
      return v;
    });
  });
  return { matrix, columns: null, labels: null };
}

export async function readMatrixFile(path: string): Promise<ParsedMatrix> {
  const text = await readInputText(path);
  const body = text.replace(/^\uFEFF/, '');
  const json = /\.json$/i.test(path) || /^\s*[[{]/.test(body);
  return json ? parseJsonMatrix(body, path) : parseCsvMatrix(body, path);
}

export interface IccResult {
  statistic: 'icc';
  file: string;
  model: IccModel;
  value: number | null;
  ci?: [number | null, number | null];
  bootstrap?: number;
  seed?: number;
  subjects: number;
  raters: number;
  meanSquares: { msr: number; msc: number; mse: number };
  /** All four Shrout–Fleiss forms. */
  all: Record<IccModel, number | null>;
}

export interface PcaResult {
  statistic: 'pca';
  file: string;
  rows: number;
  columns: number;
  eigenvalues: number[];
  pc1Share: number;
  participationRatio: number;
  /** "x.xx / k". */
  effectiveDimensionality: string;
}

const orNull = (x: number) => (Number.isFinite(x) ? x : null);

export function iccStatistic(matrix: number[][], file: string, options: { model: IccModel; bootstrap?: number; seed?: number }): IccResult {
  if (matrix.length < 2 || matrix[0].length < 2) throw badInput(`${file}: ICC needs at least 2 rows (subjects) and 2 columns (raters), got ${matrix.length} × ${matrix[0]?.length ?? 0}`);
  const ms = anovaMeanSquares(matrix);
  const r = icc(matrix, { model: options.model, bootstrap: options.bootstrap, seed: options.seed ?? 0 });
  return {
    statistic: 'icc',
    file,
    model: options.model,
    value: orNull(r.value),
    ...(r.ci ? { ci: [orNull(r.ci[0]), orNull(r.ci[1])] as [number | null, number | null], bootstrap: options.bootstrap, seed: options.seed ?? 0 } : {}),
    subjects: ms.n,
    raters: ms.k,
    meanSquares: { msr: ms.msr, msc: ms.msc, mse: ms.mse },
    all: Object.fromEntries(ICC_FORMS.map((m) => [m, orNull(iccFromMeanSquares(ms, m))])) as Record<IccModel, number | null>,
  };
}

export function pcaStatistic(matrix: number[][], file: string): PcaResult {
  if (matrix.length < 2 || matrix[0].length < 1) throw badInput(`${file}: PCA needs at least 2 rows, got ${matrix.length}`);
  const r = effectiveDimensionality(matrix);
  if (r.eigenvalues.length === 0) throw badInput(`${file}: every column is constant: no variance, no principal components`);
  const k = matrix[0].length;
  return {
    statistic: 'pca',
    file,
    rows: matrix.length,
    columns: k,
    eigenvalues: r.eigenvalues,
    pc1Share: r.pc1Share,
    participationRatio: r.participationRatio,
    effectiveDimensionality: `${fixed(r.participationRatio)} / ${k}`,
  };
}



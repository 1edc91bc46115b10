/**
 * Reading JSON data files and reporting what is wrong with them, one style for every file moodaxis
 * reads (axis sets, scenario sets, calibrated axes, protocol documents): JSON syntax errors with line and
 * column, zod schema problems as `file: field: message`, each a BAD_INPUT MoodaxisError naming the file.
 */
import { z } from 'zod';
import { badInput, type MoodaxisError } from '../engine/errors.js';

/** The error of a file that cannot be used: BAD_INPUT with the `file` and its `issues`, one line per problem (`file: field: message`). */
export function fileIssuesError(file: string, issues: string[]): MoodaxisError {
  return badInput(issues.join('\n'), { file, issues });
}

/** `['axes', 0, 'calibration', 2]` -> `axes[0].calibration[2]`. */
export function formatPath(p: ReadonlyArray<string | number>, root = '(top level)'): string {
  let out = '';
  for (const part of p) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out === '' ? root : out;
}

/** What a zod issue says: the schema's own message (lib/docs/schemas.ts: `expected …, got …`), else ours for zod's defaults. */
export function formatIssue(issue: z.ZodIssue): string {
  if (issue.message.startsWith('expected ')) return issue.message;
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

/** Every problem zod found, one line each: `source: field: message`. */
export function issueLines(source: string, error: z.ZodError, root?: string): string[] {
  return error.issues.map((iss) => `${source}: ${formatPath(iss.path, root)}: ${formatIssue(iss)}`);
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

/** JSON text of a data file (a BOM allowed); an empty file or a syntax error names the file, line and column. */
export function parseJsonText(text: string, sourceName: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.trim() === '') throw fileIssuesError(sourceName, [`${sourceName}: not valid JSON (the file is empty)`]);
  try {
    return JSON.parse(body);
  } catch (err) {
    throw fileIssuesError(sourceName, [`${sourceName}: not valid JSON (${describeJsonError(err, body)})`]);
  }
}

export function readErrorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT') return 'file not found';
  if (e?.code === 'EISDIR') return 'is a directory, not a file';
  if (e?.code === 'EACCES' || e?.code === 'EPERM') return 'permission denied';
  return `cannot read file (${e instanceof Error ? e.message : String(err)})`;
}


/**
 * Terminal output helpers: the number format of every table, colour decisions (NO_COLOR / FORCE_COLOR /
 * TTY), ANSI-aware widths, aligned tables, centred score bars, a stderr progress bar, and the
 * fingerprint summary table. No dependencies.
 */
import type { FingerprintDoc } from '../docs/types.js';
import { lengthRText, truncationWarning } from '../protocols/wording.js';

// ------------------------------------------------------------------ numbers

/** How `fixed` writes a number besides its decimals. */
export interface NumberStyle {
  /** Decimals (default 2). */
  digits?: number;
  /** A '+' before a positive number ('positive'), or before zero too ('nonnegative'); default none. */
  plus?: 'positive' | 'nonnegative';
  /** A number that rounds to zero is written as a plain zero: "0.00", never "-0.00" or "+0.00". */
  plainZero?: boolean;
  /** What a missing number (null, undefined, NaN, ±∞) is written as (default '—'). */
  missing?: string;
}

/** A number with fixed decimals, the one number format of the CLI's tables and lines. */
export function fixed(x: number | null | undefined, style: NumberStyle = {}): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return style.missing ?? '—';
  const text = x.toFixed(style.digits ?? 2);
  if (style.plainZero && Number(text) === 0) return text.replace('-', '');
  const plus = style.plus === 'nonnegative' ? x >= 0 : style.plus === 'positive' && x > 0;
  return plus ? `+${text}` : text;
}

/** A share as a percentage: 0.125 → "12.5 %" with `digits` 1 (default 0). */
export function percent(share: number, digits = 0): string {
  return `${fixed(share * 100, { digits })} %`;
}

// ------------------------------------------------------------------ colour

export interface ColorStream {
  isTTY?: boolean;
  hasColors?: () => boolean;
}

/**
 * Whether to write ANSI colours to `stream`. Order (as Node's own util.inspect):
 * FORCE_COLOR set → on, unless it is '0' or 'false'; else NO_COLOR set and non-empty → off;
 * else on only for a TTY whose TERM is not 'dumb'.
 */
export function useColor(stream: ColorStream | undefined = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return !(force === '0' || force.toLowerCase() === 'false');
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (!stream?.isTTY) return false;
  if (env.TERM === 'dumb') return false;
  return true;
}

export interface Colors {
  enabled: boolean;
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  blue(s: string): string;
  magenta(s: string): string;
  cyan(s: string): string;
  gray(s: string): string;
}

function sgr(open: number, close: number, enabled: boolean): (s: string) => string {
  return enabled ? (s: string) => (s === '' ? s : `\x1b[${open}m${s}\x1b[${close}m`) : (s: string) => s;
}

/** Colour functions; identity functions when `enabled` is false. */
export function createColors(enabled: boolean): Colors {
  return {
    enabled,
    bold: sgr(1, 22, enabled),
    dim: sgr(2, 22, enabled),
    red: sgr(31, 39, enabled),
    green: sgr(32, 39, enabled),
    yellow: sgr(33, 39, enabled),
    blue: sgr(34, 39, enabled),
    magenta: sgr(35, 39, enabled),
    cyan: sgr(36, 39, enabled),
    gray: sgr(90, 39, enabled),
  };
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g;

export function stripAnsi(s: string): string {
  return s.replace(ANSI, '');
}

function isWide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1faff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  );
}

/** Columns a string occupies in a terminal (ANSI codes ignored, CJK/emoji double, combining marks zero). */
export function visibleWidth(s: string): number {
  let w = 0;
  for (const ch of stripAnsi(s)) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) continue;
    if ((cp >= 0x300 && cp <= 0x36f) || cp === 0x200b || cp === 0x200d || (cp >= 0xfe00 && cp <= 0xfe0f)) continue;
    w += isWide(cp) ? 2 : 1;
  }
  return w;
}

export function pad(s: string, width: number, align: 'left' | 'right' | 'center' = 'left'): string {
  const gap = Math.max(0, width - visibleWidth(s));
  if (align === 'right') return ' '.repeat(gap) + s;
  if (align === 'center') return ' '.repeat(Math.floor(gap / 2)) + s + ' '.repeat(gap - Math.floor(gap / 2));
  return s + ' '.repeat(gap);
}

// ------------------------------------------------------------------ table

export interface Column {
  header: string;
  align?: 'left' | 'right' | 'center';
  /** Minimum width in columns. */
  minWidth?: number;
}

export interface TableOptions {
  /** 'box': unicode box-drawing (light); 'plain': columns separated by spaces, header rule. */
  border?: 'box' | 'plain';
  /** Colour the header and rules (ANSI); default false. */
  color?: boolean;
  /** Spaces between columns in 'plain' mode (default 2). */
  gap?: number;
  /** Spaces before every line (default 0). */
  indent?: number;
}

/**
 * Aligned text table. Cells may contain ANSI colour codes; widths use the visible width.
 * Returns the lines joined by '\n', without a trailing newline.
 */
export function table(columns: Array<string | Column>, rows: Array<Array<string | number>>, opts: TableOptions = {}): string {
  const cols: Column[] = columns.map((c) => (typeof c === 'string' ? { header: c } : c));
  const cells = rows.map((r) => cols.map((_, i) => (r[i] === undefined ? '' : String(r[i]))));
  const widths = cols.map((c, i) => Math.max(c.minWidth ?? 0, visibleWidth(c.header), ...cells.map((r) => visibleWidth(r[i]!))));
  const c = createColors(opts.color ?? false);
  const ind = ' '.repeat(opts.indent ?? 0);
  const align = (i: number) => cols[i]!.align ?? 'left';
  const out: string[] = [];
  if ((opts.border ?? 'box') === 'box') {
    const rule = (l: string, m: string, r: string) => ind + c.gray(l + widths.map((w) => '─'.repeat(w + 2)).join(m) + r);
    const v = c.gray('│');
    const line = (vals: string[], header = false) =>
      ind + v + vals.map((s, i) => ' ' + pad(header ? c.bold(s) : s, widths[i]!, align(i)) + ' ').join(v) + v;
    out.push(rule('┌', '┬', '┐'));
    out.push(line(cols.map((x) => x.header), true));
    out.push(rule('├', '┼', '┤'));
    for (const r of cells) out.push(line(r));
    out.push(rule('└', '┴', '┘'));
  } else {
    const gap = ' '.repeat(opts.gap ?? 2);
    const line = (vals: string[], header = false) => (ind + vals.map((s, i) => pad(header ? c.bold(s) : s, widths[i]!, align(i))).join(gap)).replace(/\s+$/, '');
    out.push(line(cols.map((x) => x.header), true));
    out.push(ind + c.gray(widths.map((w) => '─'.repeat(w)).join(gap)));
    for (const r of cells) out.push(line(r));
  }
  return out.join('\n');
}

// ------------------------------------------------------------------ bar

export interface BarOptions {
  min?: number;
  max?: number;
  /** Total width in terminal columns (default 17: 8 + centre mark + 8). */
  width?: number;
  color?: boolean;
}

const LEFT_EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉', '█'];
/** Right-aligned partial blocks with wide font support: only 1/8 (▕), 1/2 (▐) and full. */
function rightPartial(eighths: number): string {
  if (eighths <= 0) return '';
  if (eighths <= 2) return '▕';
  if (eighths <= 5) return '▐';
  return '█';
}

/**
 * A centred bar for a score: the zero point sits in the middle (for min < 0 < max); positive values
 * fill to the right, negative ones to the left, with eighth-block resolution on the right side
 * (▏▎▍▌▋▊▉) and ▕/▐ on the left. Empty cells are '░'. With an odd width the middle cell is a
 * '│' zero mark. Always exactly `width` columns; a non-finite value gives an empty track.
 *
 *   bar(0.5)  → "░░░░░░░░│████░░░░"     bar(-0.25) → "░░░░░░██│░░░░░░░░"
 */
export function bar(value: number, opts: BarOptions = {}): string {
  const min = opts.min ?? -1;
  const max = opts.max ?? 1;
  const width = Math.max(1, Math.floor(opts.width ?? 17));
  const c = createColors(opts.color ?? false);
  const origin = Math.min(max, Math.max(min, 0));
  const span = max - min || 1;
  const mark = min < 0 && max > 0 && width % 2 === 1 && width >= 3 ? 1 : 0;
  const cells = width - mark;
  const leftCells = Math.round((cells * (origin - min)) / span);
  const rightCells = cells - leftCells;
  const track = (k: number) => c.gray('░'.repeat(Math.max(0, k)));
  let left = track(leftCells);
  let right = track(rightCells);
  if (Number.isFinite(value)) {
    const v = Math.min(max, Math.max(min, value));
    if (v > origin && rightCells > 0) {
      const e = Math.round(((v - origin) / (max - origin)) * rightCells * 8);
      const full = Math.floor(e / 8);
      const part = LEFT_EIGHTHS[e % 8]!;
      const used = full + (part ? 1 : 0);
      right = c.green('█'.repeat(full) + part) + track(rightCells - used);
    } else if (v < origin && leftCells > 0) {
      const e = Math.round(((origin - v) / (origin - min)) * leftCells * 8);
      const full = Math.floor(e / 8);
      const part = rightPartial(e % 8);
      const used = full + (part ? 1 : 0);
      left = track(leftCells - used) + c.magenta(part + '█'.repeat(full));
    }
  }
  return left + (mark ? c.dim('│') : '') + right;
}

// ------------------------------------------------------------------ progress

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  total: number;
  label?: string;
  stream?: ProgressStream;
  /** Clock in ms (tests). */
  now?: () => number;
  /** Minimum ms between TTY redraws (default 100). */
  interval?: number;
  /** Off a TTY: print a line at every this fraction of the total (default 0.1); 0 = print nothing. */
  plainStep?: number;
  color?: boolean;
}

/** What a progress update knows besides the count (all optional). */
export interface ProgressWork {
  /** Tokens generated by this run so far (those of unfinished responses included). */
  tokens?: number;
  /** Tokens of the responses this run has finished. */
  finishedTokens?: number;
  /** Responses that came from a journal (done before this run: not counted in its rate). */
  restored?: number;
  note?: string;
}

export interface Progress {
  update(done: number, work?: ProgressWork): void;
  done(note?: string): void;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return '–/s';
  if (perSecond < 1) return `${fixed(perSecond * 60, { digits: 1 })}/min`;
  return `${perSecond < 10 ? fixed(perSecond, { digits: 1 }) : Math.round(perSecond)}/s`;
}

/** Seconds over which the shown ETA follows a new estimate (an exponential moving average in time). */
const ETA_SMOOTHING_SECONDS = 5;

/**
 * Remaining seconds from this run's own work. With token counts: the mean length of the responses
 * finished so far gives the tokens still to generate (less those of responses already under way),
 * at this run's token rate, which stays steady while responses finish in bursts. Without them:
 * remaining responses at this run's response rate. Responses restored from a journal count as done
 * but not as work. NaN until this run has finished a response.
 */
export function estimateRemaining(p: { done: number; total: number; elapsed: number } & ProgressWork): number {
  const own = p.done - (p.restored ?? 0);
  if (own <= 0 || p.elapsed <= 0) return NaN;
  const left = Math.max(0, p.total - p.done);
  const { tokens = 0, finishedTokens = 0 } = p;
  if (tokens > 0 && finishedTokens > 0) {
    const remainingTokens = Math.max(0, left * (finishedTokens / own) - (tokens - finishedTokens));
    return remainingTokens / (tokens / p.elapsed);
  }
  return left / (own / p.elapsed);
}

/**
 * A progress bar on stderr: `label ▕███████▍     ▏ 12/30  40%  1.3/s  ETA 0:14`.
 * On a TTY it redraws one line in place (throttled); elsewhere it prints a plain line at every
 * `plainStep` of the total (sparse, log friendly) and a final summary from done(). The rate counts
 * only this run's responses (not those restored from a journal); the ETA is smoothed.
 */
export function createProgress(opts: ProgressOptions): Progress {
  const stream = opts.stream ?? process.stderr;
  const now = opts.now ?? (() => Date.now());
  const tty = !!stream.isTTY;
  const total = Math.max(0, opts.total);
  const label = opts.label ?? '';
  const interval = opts.interval ?? 100;
  const step = opts.plainStep ?? 0.1;
  const c = createColors(opts.color ?? (tty && useColor(stream)));
  const start = now();
  let count = 0;
  let work: ProgressWork = {};
  let lastDraw = -Infinity;
  let lastBucket = -1;
  let finished = false;
  let shown: { eta: number; at: number } | null = null;

  const stats = () => {
    const t = now();
    const elapsed = Math.max(1e-9, (t - start) / 1000);
    const rate = (count - (work.restored ?? 0)) / elapsed;
    const raw = estimateRemaining({ ...work, done: count, total, elapsed });
    let eta = raw;
    if (Number.isFinite(raw) && shown && Number.isFinite(shown.eta)) {
      const dt = Math.max(0, (t - shown.at) / 1000);
      const weight = 1 - Math.exp(-dt / ETA_SMOOTHING_SECONDS);
      eta = weight * raw + (1 - weight) * Math.max(0, shown.eta - dt);
    }
    shown = { eta, at: t };
    const frac = total > 0 ? Math.min(1, count / total) : 1;
    return { elapsed, rate, eta, frac };
  };

  const render = (note?: string) => {
    const { rate, eta, frac } = stats();
    const nums = `${String(count).padStart(String(total).length)}/${total}`;
    const pctText = `${Math.floor(frac * 100)}%`.padStart(4);
    const tail = `${nums} ${pctText}  ${formatRate(rate)}  ETA ${count >= total ? '0:00' : formatDuration(eta)}${note ? '  ' + note : ''}`;
    const cols = stream.columns && stream.columns > 20 ? stream.columns : 80;
    const room = cols - visibleWidth(label) - visibleWidth(tail) - 4;
    const bw = Math.max(0, Math.min(30, room));
    let barText = '';
    if (bw >= 5) {
      const e = Math.round(frac * bw * 8);
      const full = Math.floor(e / 8);
      const part = LEFT_EIGHTHS[e % 8]!;
      barText = '▕' + c.cyan('█'.repeat(full) + part) + ' '.repeat(bw - full - (part ? 1 : 0)) + '▏ ';
    }
    return `${label ? c.bold(label) + ' ' : ''}${barText}${tail}`;
  };

  const update = (done: number, next: ProgressWork = {}) => {
    if (finished) return;
    count = Math.max(0, Math.min(total, Math.floor(done)));
    work = next;
    if (tty) {
      const t = now();
      if (t - lastDraw < interval && count < total) return;
      lastDraw = t;
      stream.write(`\r\x1b[2K${render(next.note)}`);
    } else if (step > 0 && total > 0) {
      // the first bucket is where a resumed run starts: lines come at each further step
      const bucket = Math.floor(count / total / step + 1e-9);
      if (lastBucket < 0) lastBucket = bucket;
      else if (bucket > lastBucket && count < total) {
        lastBucket = bucket;
        const { rate, eta } = stats();
        stream.write(`${label ? label + ' ' : ''}${count}/${total} (${Math.floor((count / total) * 100)}%) ${formatRate(rate)} ETA ${formatDuration(eta)}${next.note ? ' ' + next.note : ''}\n`);
      }
    }
  };

  return {
    update,
    done(note?: string) {
      if (finished) return;
      const { elapsed, rate } = stats();
      if (tty) {
        stream.write(`\r\x1b[2K${render(note)}\n`);
      } else if (step > 0) {
        const restored = work.restored ? `, ${work.restored} from the journal` : '';
        stream.write(`${label ? label + ' ' : ''}${count}/${total} done in ${formatDuration(elapsed)} (${formatRate(rate)}${restored})${note ? ' ' + note : ''}\n`);
      }
      finished = true;
    },
  };
}

// ------------------------------------------------------------------ fingerprint table

/** The fingerprint's numbers: 2 decimals, no "-0.00"; a score with its sign. */
const PLAIN_ZERO: NumberStyle = { plainZero: true };
const SCORE: NumberStyle = { plainZero: true, plus: 'positive' };

export interface FingerprintTableOptions {
  color?: boolean;
  border?: 'box' | 'plain';
  /** Width of the score bar (default 17). */
  barWidth?: number;
}

/**
 * The fingerprint as a terminal table: negative pole, score bar, positive pole, mean ± std, AUC, d′
 * and the dead-zone level when the document has dead zones (a '*' marks a partial severity).
 * A title line names the model; a footer gives effective dimensionality and PC1 share when present.
 */
export function formatFingerprintTable(doc: FingerprintDoc, opts: FingerprintTableOptions = {}): string {
  const color = opts.color ?? false;
  const c = createColors(color);
  const dz = new Map(doc.deadZones.map((d) => [d.axis, d]));
  const hasDz = doc.deadZones.length > 0;
  const columns: Column[] = [
    { header: '− pole', align: 'right' },
    { header: 'score (−1 … +1)', align: 'left', minWidth: opts.barWidth ?? 17 },
    { header: '+ pole', align: 'left' },
    { header: 'mean ± std', align: 'right' },
    { header: 'AUC', align: 'right' },
    { header: 'd′', align: 'right' },
  ];
  if (hasDz) columns.push({ header: 'dead zone', align: 'left' });
  const levelColor = { healthy: c.green, weak: c.yellow, dead: c.red } as const;
  const rows = doc.axes.map((a) => {
    const row = [
      a.negative,
      bar(a.mean, { width: opts.barWidth ?? 17, color }),
      a.positive,
      `${fixed(a.mean, SCORE)} ± ${fixed(a.std, PLAIN_ZERO)}`,
      a.auc < 0.75 ? c.yellow(fixed(a.auc, PLAIN_ZERO)) : fixed(a.auc, PLAIN_ZERO),
      fixed(a.dprime, PLAIN_ZERO),
    ];
    if (hasDz) {
      const d = dz.get(a.id);
      row.push(d ? `${levelColor[d.level](d.level)} ${c.dim(fixed(d.severity, PLAIN_ZERO) + (d.partial ? '*' : ''))}${d.kind.length ? c.dim(' ' + d.kind.join(',')) : ''}` : '—');
    }
    return row;
  });
  const m = doc.manifest.model;
  const lines = [`${c.bold(m.name)}${m.demo ? ' ' + c.yellow('[demo]') : ''} ${c.dim(`${m.architecture} · ${doc.axes[0]?.scores.length ?? 0} baseline questions`)}`];
  lines.push(table(columns, rows, { border: opts.border ?? 'box', color }));
  const foot: string[] = [];
  if (doc.structure) foot.push(`effective dimensionality ${fixed(doc.structure.participationRatio, PLAIN_ZERO)} / ${doc.structure.axes.length}`, `PC1 ${percent(doc.structure.pc1Share, 1)}`);
  if (doc.deadZones.some((d) => d.partial)) foot.push('* partial severity (no stability run)');
  if (foot.length) lines.push(c.dim(foot.join(' · ')));
  lines.push(legend(`score: mean ± std over the questions · AUC, d′: how well calibration split the poles (yellow < 0.75)${hasDz ? ' · dead zone: level, severity 0–1' : ''}`, color));
  const truncated = truncationWarning(doc.truncation);
  if (truncated) lines.push(c.yellow(`warning: ${truncated}`));
  if (doc.structure?.lengthConfound.constantLength) lines.push(c.dim(`r(score, answer length): ${lengthRText(null, true)}`));
  return lines.join('\n');
}

/** A one-line legend under a table, dimmed when colour is on. */
export function legend(text: string, color = false): string {
  return createColors(color).dim(`legend: ${text}`);
}

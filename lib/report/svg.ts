/**
 * Small hand-written SVG/HTML helpers for the report: escaping, number formatting, scales,
 * tick generation and colour scales. No dependencies, no DOM.
 */

const MINUS = '\u2212';

/** Escape text for HTML/SVG element content and double-quoted attributes. */
export function esc(value: unknown): string {
  return String(value)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** A coordinate for an SVG attribute: short, locale-free, never NaN. */
export function n(x: number): string {
  if (!Number.isFinite(x)) return '0';
  const r = Math.round(x * 100) / 100;
  return Object.is(r, -0) ? '0' : String(r);
}

/** A number for people: fixed decimals, typographic minus, optional plus sign, em dash when unknown. */
export function fmt(x: number | null | undefined, digits = 2, opts: { sign?: boolean } = {}): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '\u2014';
  let s = Math.abs(x).toFixed(digits);
  const zero = Number(s) === 0;
  if (x < 0 && !zero) s = MINUS + s;
  else if (opts.sign && !zero) s = '+' + s;
  return s;
}

/** A share in [0, 1] as a percentage. */
export function pct(x: number | null | undefined, digits = 1): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '\u2014';
  return `${fmt(x * 100, digits)}\u202f%`;
}

export type Scale = (x: number) => number;

export function linear(d0: number, d1: number, r0: number, r1: number): Scale {
  const span = d1 - d0 || 1;
  return (x: number) => r0 + ((x - d0) / span) * (r1 - r0);
}

export function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

/** "Nice" tick values covering [min, max] (about `count` of them). */
export function ticks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (min === max) return [min];
  const raw = (max - min) / Math.max(1, count);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const norm = raw / mag;
  const step = (norm >= 5 ? 10 : norm >= 2 ? 5 : norm >= 1 ? 2 : 1) * mag;
  const out: number[] = [];
  const start = Math.ceil(min / step - 1e-9) * step;
  for (let v = start; v <= max + step * 1e-9; v += step) out.push(Math.round(v / step) * step);
  return out;
}

/** Extend [min, max] outwards to tick multiples; a degenerate range gets padding. */
export function niceDomain(min: number, max: number, count = 5): [number, number] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (min === max) {
    const pad = Math.abs(min) > 0 ? Math.abs(min) * 0.1 : 1;
    return [min - pad, max + pad];
  }
  const raw = (max - min) / Math.max(1, count);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const norm = raw / mag;
  const step = (norm >= 5 ? 10 : norm >= 2 ? 5 : norm >= 1 ? 2 : 1) * mag;
  return [Math.floor(min / step) * step, Math.ceil(max / step) * step];
}

// ---------------------------------------------------------------- colours

/** Series colours (one per model), distinguishable with common colour-vision deficiencies. */
export const MODEL_COLORS = ['#2563eb', '#e8590c', '#0f9d58', '#9333ea', '#d6336c', '#0e7490', '#a16207', '#475569'];

/** Colours for the seven axes (leakage lines, sample-size curves). */
export const AXIS_COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#b07aa1', '#9c755f', '#edc948', '#bab0ac', '#ff9da7'];

function hexToRgb(hex: string): [number, number, number] {
  const h = hex.replace('#', '');
  return [parseInt(h.slice(0, 2), 16), parseInt(h.slice(2, 4), 16), parseInt(h.slice(4, 6), 16)];
}

function rgbToHex([r, g, b]: [number, number, number]): string {
  return '#' + [r, g, b].map((v) => clamp(Math.round(v), 0, 255).toString(16).padStart(2, '0')).join('');
}

/** Piecewise-linear interpolation through evenly spaced colour stops, t in [0, 1]. */
export function interpolate(stops: string[], t: number): string {
  if (!Number.isFinite(t)) return '#e5e7eb';
  const x = clamp(t, 0, 1) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = hexToRgb(stops[i]!);
  const b = hexToRgb(stops[i + 1]!);
  return rgbToHex([a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f]);
}

/** Sequential "badness" scale for [0, 1] (0 = fine, 1 = worst): pale yellow to dark red. */
export const SEVERITY_STOPS = ['#fffbe6', '#ffeda0', '#fed976', '#feb24c', '#fd8d3c', '#fc4e2a', '#e31a1c', '#b10026'];
export function severityColor(t: number): string {
  return interpolate(SEVERITY_STOPS, t);
}

/** Traffic-light scale for [0, 1] badness: green (fine), amber, red (worst). */
export const QUALITY_STOPS = ['#16a34a', '#84cc16', '#eab308', '#f97316', '#dc2626'];
export function qualityColor(t: number): string {
  return interpolate(QUALITY_STOPS, t);
}

/** Diverging scale for [-1, 1]: blue (negative), near-white (0), red (positive). */
export const DIVERGING_STOPS = ['#2166ac', '#4393c3', '#92c5de', '#d1e5f0', '#f7f7f7', '#fddbc7', '#f4a582', '#d6604d', '#b2182b'];
export function divergingColor(x: number): string {
  return interpolate(DIVERGING_STOPS, (clamp(x, -1, 1) + 1) / 2);
}

/** Dark or light text for legibility on a background colour. */
export function textOn(bg: string): string {
  const [r, g, b] = hexToRgb(bg).map((v) => {
    const c = v / 255;
    return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
  }) as [number, number, number];
  const lum = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return lum > 0.4 ? '#1f2937' : '#ffffff';
}

// ---------------------------------------------------------------- svg building

/** The smallest font size (user units) that a chart's text uses (.ring-label, .cell-sm in the report's CSS). */
export const SMALLEST_CHART_FONT = 10.5;
/** Text must stay at least this many CSS pixels tall on screen. */
export const MIN_TEXT_PX = 10;

/**
 * Opens a chart. It scales down with its container, but never below the width at which its smallest
 * text would fall under MIN_TEXT_PX: narrower containers scroll it sideways (figures scroll on x).
 */
export function svgOpen(width: number, height: number, label: string, cls = 'chart'): string {
  const minWidth = Math.ceil((width * MIN_TEXT_PX) / SMALLEST_CHART_FONT);
  return `<svg class="${cls}" viewBox="0 0 ${n(width)} ${n(height)}" width="${n(width)}" height="${n(height)}" style="min-width:${minWidth}px" role="img" aria-label="${esc(label)}">`;
}

export function text(x: number, y: number, content: string, attrs = ''): string {
  return `<text x="${n(x)}" y="${n(y)}"${attrs ? ' ' + attrs : ''}>${esc(content)}</text>`;
}

export function line(x1: number, y1: number, x2: number, y2: number, attrs = ''): string {
  return `<line x1="${n(x1)}" y1="${n(y1)}" x2="${n(x2)}" y2="${n(y2)}"${attrs ? ' ' + attrs : ''}/>`;
}

export function polyPath(points: Array<[number, number]>, close = true): string {
  if (points.length === 0) return '';
  return points.map(([x, y], i) => `${i ? 'L' : 'M'}${n(x)} ${n(y)}`).join('') + (close ? 'Z' : '');
}

/** Spread label positions apart (sorted by y) so that no two are closer than `gap`. */
export function declutter(ys: number[], gap: number, min = -Infinity, max = Infinity): number[] {
  const order = ys.map((y, i) => ({ y, i })).sort((a, b) => a.y - b.y);
  const out = new Array<number>(ys.length);
  let prev = -Infinity;
  for (const o of order) {
    const y = Math.max(o.y, prev + gap, min);
    out[o.i] = y;
    prev = y;
  }
  // push back from the bottom edge if needed
  let next = Infinity;
  for (let k = order.length - 1; k >= 0; k--) {
    const i = order[k]!.i;
    const y = Math.min(out[i]!, next - gap, max);
    out[i] = y;
    next = y;
  }
  return out;
}

/** Deterministic jitter in [-1, 1] from an integer (for dot plots). */
export function jitter(i: number, salt = 0): number {
  let h = (i + 1) * 374761393 + salt * 668265263;
  h = (h ^ (h >>> 13)) * 1274126177;
  h = h ^ (h >>> 16);
  return ((h >>> 0) / 4294967295) * 2 - 1;
}

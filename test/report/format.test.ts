import { describe, expect, it } from 'vitest';
import {
  bar,
  createColors,
  createProgress,
  formatDuration,
  formatFingerprintTable,
  stripAnsi,
  table,
  useColor,
  visibleWidth,
} from '../../lib/cli/format.js';
import { sampleFingerprint, sampleStability } from './sample-docs.js';

const tty = { isTTY: true };
const pipe = { isTTY: false };

describe('useColor', () => {
  it('is on for a TTY and off for a pipe', () => {
    expect(useColor(tty, {})).toBe(true);
    expect(useColor(pipe, {})).toBe(false);
    expect(useColor(undefined, {})).toBe(false);
    expect(useColor(tty, { TERM: 'dumb' })).toBe(false);
  });

  it('respects NO_COLOR (any non-empty value) even on a TTY', () => {
    expect(useColor(tty, { NO_COLOR: '1' })).toBe(false);
    expect(useColor(tty, { NO_COLOR: 'yes' })).toBe(false);
    expect(useColor(tty, { NO_COLOR: '' })).toBe(true);
  });

  it('respects FORCE_COLOR on pipes, and FORCE_COLOR=0 on TTYs', () => {
    expect(useColor(pipe, { FORCE_COLOR: '1' })).toBe(true);
    expect(useColor(pipe, { FORCE_COLOR: '' })).toBe(true);
    expect(useColor(tty, { FORCE_COLOR: '0' })).toBe(false);
    expect(useColor(tty, { FORCE_COLOR: 'false' })).toBe(false);
  });

  it('colour helpers are identities when disabled', () => {
    const off = createColors(false);
    expect(off.red('x')).toBe('x');
    expect(off.bold('warm')).toBe('warm');
    const on = createColors(true);
    expect(on.red('x')).toBe('\x1b[31mx\x1b[39m');
    expect(stripAnsi(on.bold(on.green('ok')))).toBe('ok');
  });
});

describe('visibleWidth', () => {
  it('ignores ANSI codes and counts wide characters twice', () => {
    expect(visibleWidth('\x1b[31mabc\x1b[39m')).toBe(3);
    expect(visibleWidth('日本')).toBe(4);
    expect(visibleWidth('d′ ± −')).toBe(6);
    expect(visibleWidth('░▏█')).toBe(3);
  });
});

describe('bar', () => {
  it('is exactly `width` columns for every value', () => {
    for (const width of [5, 8, 10, 16, 17, 20, 31]) {
      for (const v of [-1.5, -1, -0.73, -0.5, -0.26, -0.01, 0, 0.004, 0.2, 0.49, 0.5, 0.99, 1, 2, NaN]) {
        expect(visibleWidth(bar(v, { width })), `width ${width}, value ${v}`).toBe(width);
        expect(visibleWidth(bar(v, { width, color: true })), `coloured, width ${width}, value ${v}`).toBe(width);
      }
    }
  });

  it('fills from the centre: right for positive, left for negative', () => {
    expect(bar(0, { width: 17 })).toBe('░░░░░░░░│░░░░░░░░');
    expect(bar(1, { width: 17 })).toBe('░░░░░░░░│████████');
    expect(bar(-1, { width: 17 })).toBe('████████│░░░░░░░░');
    expect(bar(0.5, { width: 17 })).toBe('░░░░░░░░│████░░░░');
    expect(bar(-0.5, { width: 17 })).toBe('░░░░████│░░░░░░░░');
    expect(bar(0.5, { width: 16 })).toBe('░░░░░░░░████░░░░');
    expect(bar(5, { width: 17 })).toBe(bar(1, { width: 17 }));
  });

  it('uses eighth blocks for resolution', () => {
    expect(bar(1 / 16, { width: 17 })).toBe('░░░░░░░░│▌░░░░░░░');
    expect(bar(3 / 64, { width: 17 })).toBe('░░░░░░░░│▍░░░░░░░');
    expect(bar(0.1, { width: 17 })).toBe('░░░░░░░░│▊░░░░░░░');
    expect(bar(-1 / 16, { width: 17 })).toBe('░░░░░░░▐│░░░░░░░░');
    expect(bar(-1 / 64, { width: 17 })).toBe('░░░░░░░▕│░░░░░░░░');
  });

  it('supports other ranges', () => {
    expect(bar(0.5, { min: 0, max: 1, width: 10 })).toBe('█████░░░░░');
    expect(bar(0.75, { min: 0.5, max: 1, width: 8 })).toBe('████░░░░');
  });
});

describe('table', () => {
  const rows = [
    ['warm', '0.5', 'x'],
    ['patient', '-0.25', 'longer cell'],
    ['\x1b[31mred\x1b[39m', '12.125', ''],
  ];

  it('box: every line has the same visible width and columns line up', () => {
    const t = table(['axis', { header: 'value', align: 'right' }, 'note'], rows);
    const lines = t.split('\n');
    expect(lines).toHaveLength(7);
    const w = visibleWidth(lines[0]!);
    for (const l of lines) expect(visibleWidth(l)).toBe(w);
    expect(lines[0]).toMatch(/^┌─+┬─+┬─+┐$/);
    expect(lines[2]).toMatch(/^├─+┼─+┼─+┤$/);
    expect(lines[6]).toMatch(/^└─+┴─+┴─+┘$/);
    // right-aligned numbers end in the same column
    const ends = [3, 4, 5].map((i) => stripAnsi(lines[i]!).indexOf(' │', stripAnsi(lines[i]!).indexOf('│', 1)));
    expect(new Set(ends).size).toBe(1);
    expect(stripAnsi(lines[3]!)).toContain('│ warm    │    0.5 │ x           │');
    expect(stripAnsi(lines[5]!)).toContain('│ red     │ 12.125 │             │');
  });

  it('plain: aligned columns separated by spaces, no trailing spaces', () => {
    const t = table(['axis', { header: 'value', align: 'right' }, 'note'], rows, { border: 'plain' });
    const lines = t.split('\n').map(stripAnsi);
    expect(lines[0]).toBe('axis      value  note');
    expect(lines[1]).toBe('───────  ──────  ───────────');
    expect(lines[2]).toBe('warm        0.5  x');
    expect(lines[3]).toBe('patient   -0.25  longer cell');
    expect(lines[4]).toBe('red      12.125');
  });

  it('writes no ANSI codes unless asked', () => {
    expect(table(['a'], [['b']])).not.toContain('\x1b[');
    expect(table(['a'], [['b']], { color: true })).toContain('\x1b[');
  });
});

describe('createProgress', () => {
  function fakeStream(isTTY: boolean) {
    const chunks: string[] = [];
    return { chunks, stream: { isTTY, columns: 100, write: (s: string) => chunks.push(s) } };
  }

  it('draws in place on a TTY with counts, percentage, rate and ETA', () => {
    let t = 0;
    const { chunks, stream } = fakeStream(true);
    const p = createProgress({ total: 30, label: 'baseline', stream, now: () => t, color: false });
    t = 10_000;
    p.update(10);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]).toMatch(/^\r\x1b\[2Kbaseline ▕█+[▏▎▍▌▋▊▉]? +▏ 10\/30  33%  1\.0\/s  ETA 0:20$/);
    t = 10_050;
    p.update(11); // throttled
    expect(chunks).toHaveLength(1);
    t = 30_000;
    p.update(30);
    p.done();
    expect(chunks.at(-1)).toMatch(/30\/30 100% .*ETA 0:00\n$/);
    for (const ch of chunks) expect(visibleWidth(ch.replace(/^\r/, ''))).toBeLessThanOrEqual(100);
  });

  it('prints only sparse plain lines off a TTY', () => {
    let t = 0;
    const { chunks, stream } = fakeStream(false);
    const p = createProgress({ total: 200, label: 'calibrate', stream, now: () => t });
    for (let i = 1; i <= 200; i++) {
      t += 500;
      p.update(i);
    }
    p.done();
    expect(chunks.length).toBe(10); // 10 %, 20 % … 90 %, then the final line
    expect(chunks.every((c) => c.endsWith('\n') && !c.includes('\r') && !c.includes('\x1b'))).toBe(true);
    expect(chunks[0]).toBe('calibrate 20/200 (10%) 2.0/s ETA 1:30\n');
    expect(chunks.at(-1)).toBe('calibrate 200/200 done in 1:40 (2.0/s)\n');
  });

  it('can be silent off a TTY', () => {
    const { chunks, stream } = fakeStream(false);
    const p = createProgress({ total: 5, stream, plainStep: 0 });
    for (let i = 1; i <= 5; i++) p.update(i);
    p.done();
    expect(chunks).toEqual([]);
  });

  it('formats durations', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(75)).toBe('1:15');
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(formatDuration(NaN)).toBe('--:--');
  });
});

describe('formatFingerprintTable', () => {
  const fp = sampleFingerprint({ seed: 7, name: 'Llama-3.1-8B-Instruct', means: [0.18, 0.42, 0.31, 0.12, -0.22, 0.35, 0.55], weakAxis: 1 });

  it('lists every axis with bar, mean ± std, AUC, d′ and dead-zone level', () => {
    const out = formatFingerprintTable(fp, { color: false });
    expect(out).not.toContain('\x1b[');
    const lines = out.split('\n');
    expect(lines[0]).toContain('Llama-3.1-8B-Instruct');
    expect(out).toContain('mean ± std');
    expect(out).toContain('AUC');
    expect(out).toContain('d′');
    expect(out).toContain('dead zone');
    for (const a of fp.axes) {
      const row = lines.find((l) => l.includes(` ${a.positive} `) && l.includes(` ${a.negative} `))!;
      expect(row, a.id).toBeDefined();
      expect(row).toContain(a.auc.toFixed(2));
      expect(row).toContain(`± ${a.std.toFixed(2)}`);
      expect(row).toContain(bar(a.mean));
      expect(row).toMatch(/ (healthy|weak|dead) \d\.\d\d\*/);
    }
    const tableLines = lines.slice(1, 1 + 4 + fp.axes.length);
    const w = visibleWidth(tableLines[0]!);
    for (const l of tableLines) expect(visibleWidth(l)).toBe(w);
    expect(out).toMatch(/effective dimensionality \d\.\d\d \/ 7 · PC1 \d+\.\d %/);
    expect(out).toContain('* partial severity');
  });

  it('uses colour only when asked, and the stability dead zones are not partial', () => {
    const full = { ...fp, deadZones: sampleStability(fp, 11).deadZones };
    const out = formatFingerprintTable(full, { color: true });
    expect(out).toContain('\x1b[');
    expect(stripAnsi(out)).not.toContain('* partial');
    const plain = formatFingerprintTable({ ...fp, deadZones: [], structure: null }, { border: 'plain' });
    expect(plain).not.toContain('dead zone');
    expect(plain).not.toContain('│ ');
  });
});

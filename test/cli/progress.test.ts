/** Progress after a resume (rates from this run's own work) and a smoothed, token-based ETA; how counts, axes and layers are written. */
import { describe, expect, it } from 'vitest';
import { createProgress, estimateRemaining } from '../../lib/cli/format.js';
import { workSummary } from '../../lib/cli/runtime.js';
import { phasedProgress } from '../../lib/method/collect.js';
import { type ProgressDetail } from '../../lib/method/response.js';
import { axisLabel, layerList, plural } from '../../lib/protocols/wording.js';

function plainStream() {
  const lines: string[] = [];
  return { lines, stream: { isTTY: false, write: (s: string) => lines.push(s) } };
}

describe('progress of a resumed run', () => {
  it('rates and ETA count only this run\'s work, not the responses restored from the journal', () => {
    let t = 0;
    const { lines, stream } = plainStream();
    const p = createProgress({ total: 590, label: 'fingerprint', stream, now: () => t, plainStep: 0.25 });
    p.update(239, { restored: 239, tokens: 0, finishedTokens: 0 }); // the journal's responses, at once
    expect(lines).toEqual([]);
    t = 20_000;
    p.update(300, { restored: 239, tokens: 6100, finishedTokens: 6100 }); // 61 responses of 100 tokens in 20 s
    expect(lines).toEqual(['fingerprint 300/590 (50%) 3.0/s ETA 1:35\n']); // 3.05/s; 290 left × 100 tokens at 305 tokens/s
    t = 40_000;
    p.done();
    expect(lines.at(-1)).toBe('fingerprint 300/590 done in 0:40 (1.5/s, 239 from the journal)\n');
  });

  it('the ETA follows tokens, so responses finishing in bursts do not swing it', () => {
    // 16 sequences in parallel, 100 tokens each at 100 tokens/s in all: every 16 s a burst of 16 responses
    const total = 64;
    const at = (s: number) => {
      const tokens = s * 100;
      const done = Math.min(total, Math.floor(tokens / 1600) * 16);
      return { done, tokens, finishedTokens: done * 100, elapsed: s };
    };
    const truth = (s: number) => 64 - s;
    for (const s of [17, 20, 25, 31]) {
      const e = estimateRemaining({ ...at(s), total });
      expect(Math.abs(e - truth(s)), `t = ${s} s`).toBeLessThan(1e-9);
    }
    // by response counts alone the same moments give 47 s at t = 17 and 62.5 s at t = 31 (the swing users saw)
    expect(estimateRemaining({ done: 16, total, elapsed: 17 })).toBeCloseTo(51, 9);
    expect(estimateRemaining({ done: 16, total, elapsed: 31 })).toBeCloseTo(93, 9);
    expect(estimateRemaining({ done: 10, total, elapsed: 5, restored: 10 })).toBeNaN();
  });

  it('a new estimate moves the shown ETA gradually (exponential average over about 5 s)', () => {
    let t = 0;
    const { lines, stream } = plainStream();
    const p = createProgress({ total: 100, stream, now: () => t, plainStep: 0.1 });
    p.update(0);
    t = 10_000;
    p.update(10); // 1/s → 90 s
    t = 11_000;
    p.update(20); // 10 more in 1 s: the raw estimate drops to 44 s
    const eta = (line: string) => {
      const [m, s] = / ETA (\d+):(\d\d)/.exec(line)!.slice(1).map(Number);
      return m! * 60 + s!;
    };
    expect(eta(lines[0]!)).toBe(90);
    const second = eta(lines[1]!);
    expect(second).toBeLessThan(89);
    expect(second).toBeGreaterThan(60);
  });

  it('phases add up: counts from offsets, tokens and restored responses summed', () => {
    const seen: Array<[number, number, number, ProgressDetail | undefined]> = [];
    const phase = phasedProgress((d, t, tok, det) => seen.push([d, t, tok, det]), 30);
    phase(0)!(5, 10, 0, { restored: 5, finishedTokens: 0 });
    phase(0)!(10, 10, 400, { restored: 5, finishedTokens: 400 });
    phase(10)!(2, 20, 0, { restored: 2, finishedTokens: 0 });
    phase(10)!(20, 20, 900, { restored: 2, finishedTokens: 900 });
    expect(seen.at(-1)).toEqual([30, 30, 1300, { restored: 7, finishedTokens: 1300 }]);
    expect(phasedProgress(undefined, 3)(0)).toBeUndefined();
  });

  it('the summary line says what this run generated and what came from the journal', () => {
    expect(workSummary({ seconds: 1.23, generatedTokens: 11520 })).toBe('1.2 s, 11,520 tokens generated');
    expect(workSummary({ seconds: 0.1, generatedTokens: 0, restoredResponses: 590 })).toBe('0.1 s, 0 tokens generated, 590 responses from the journal');
  });
});

describe('words', () => {
  it('plurals agree, axes read positive/negative, a single layer is never a range', () => {
    expect(plural(1, 'axis', 'axes')).toBe('1 axis');
    expect(plural(7, 'axis', 'axes')).toBe('7 axes');
    expect(axisLabel({ positive: 'warm', negative: 'cold' })).toBe('warm/cold');
    expect(layerList([3])).toBe('layer 3');
    expect(layerList([1, 1])).toBe('layer 1');
    expect(layerList([2, 3])).toBe('layers 2, 3');
    expect(layerList([4, 5, 6, 7, 9])).toBe('layers 4–7, 9');
  });
});

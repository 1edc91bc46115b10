import { describe, expect, it } from 'vitest';
import { PROTOCOL_DEFAULTS } from '../../lib/defaults.js';
import { profileStructure, truncation } from '../../lib/protocols/analysis.js';
import type { StabilityDoc } from '../../lib/docs/types.js';
import { iccAgreement, iccText, lengthRText, NO_CHAT_TEMPLATE_WARNING, sampleSizeVerdict, truncationWarning } from '../../lib/protocols/wording.js';

describe('ICC in words', () => {
  it('a negative ICC says "no agreement"', () => {
    expect(iccAgreement(-2.56)).toBe('no agreement');
    expect(iccText(-2.56)).toBe('−2.560 (no agreement)');
    expect(iccText(-2.56, (x) => x.toFixed(3))).toBe('-2.560 (no agreement)');
  });
  it('the usual bands above 0; undefined stays undefined', () => {
    expect([0, 0.49, 0.5, 0.75, 0.9].map(iccAgreement)).toEqual(['poor', 'poor', 'moderate', 'good', 'excellent']);
    expect(iccText(0.8123)).toBe('0.812');
    expect(iccAgreement(null)).toBeNull();
    expect(iccText(null)).toBe('n/a (undefined)');
    expect(iccText(NaN)).toBe('n/a (undefined)');
  });
});

describe('length correlation', () => {
  it('every answer at the cap: r is null in the document and "n/a (constant length)" in words', () => {
    const tokens = new Array<number>(30).fill(384);
    const scores = [tokens.map((_, i) => Math.sin(i)), tokens.map((_, i) => Math.cos(i * 0.7))];
    const st = profileStructure(['warm_cold', 'formal_casual'], scores, tokens);
    expect(st.lengthConfound.perAxis).toEqual({ warm_cold: null, formal_casual: null });
    expect(st.lengthConfound.constantLength).toBe(true);
    expect(lengthRText(st.lengthConfound.perAxis.warm_cold, st.lengthConfound.constantLength)).toBe('n/a (constant length)');
    // the JSON keeps null (never 0)
    expect(JSON.parse(JSON.stringify(st)).lengthConfound.perAxis.warm_cold).toBeNull();
  });
  it('a constant axis: its correlations are null, the others defined', () => {
    const tokens = Array.from({ length: 20 }, (_, i) => 50 + i * 7);
    const varying = tokens.map((t) => t / 200 + Math.sin(t));
    const st = profileStructure(['a', 'b'], [new Array<number>(20).fill(1), varying], tokens);
    expect(st.lengthConfound.perAxis.a).toBeNull();
    expect(st.lengthConfound.perAxis.b).toEqual(expect.any(Number));
    expect(st.lengthConfound.constantLength).toBe(false);
    expect(st.correlation[0]![1]).toBeNull();
    expect(st.correlation[1]![1]).toBeCloseTo(1, 12);
    expect(st.lengthConfound.meanAbsCrossRBefore).toBeNull();
    expect(lengthRText(st.lengthConfound.perAxis.a, false)).toBe('n/a (constant score)');
    expect(lengthRText(0.123, false)).toBe('+0.12');
    expect(lengthRText(-0.5, false)).toBe('−0.50');
  });
});

describe('truncated answers', () => {
  it('"many" = at least 20 % of the answers stop at the cap', () => {
    expect(PROTOCOL_DEFAULTS.truncationWarnShare).toBe(0.2);
    const of30 = (capped: number) => truncation(Array.from({ length: 30 }, (_, i) => (i < capped ? 'length' : 'eos')), 384);
    expect(of30(5)).toEqual({ capped: 5, total: 30, share: 5 / 30, maxTokens: 384, warn: false });
    expect(truncationWarning(of30(5))).toBeNull();
    expect(of30(6).warn).toBe(true);
    expect(truncationWarning(of30(30))).toBe(
      '30 of 30 baseline answers (100 %) stopped at the 384-token cap: they are cut short, so their scores and the length statistics describe truncated text; raise the token cap (--baseline-max-tokens) for a full picture',
    );
    expect(truncationWarning(undefined)).toBeNull();
    expect(truncation([], 8).warn).toBe(false);
  });
});

describe('sample-size verdict', () => {
  const base: StabilityDoc['sampleSize'] = {
    n: [5, 10, 15],
    perAxis: { warm_cold: { medianCosine: [0.7, 0.92, 0.95], auc: [0.8, 0.9, 0.9] }, formal_casual: { medianCosine: [0.5, 0.6, 0.7], auc: [0.6, 0.6, 0.6] } },
    stabilisesAt: null,
    method: 'split-half',
    threshold: 0.9,
  };
  it('not reached: names the axes that never get there', () => {
    expect(sampleSizeVerdict(base)).toBe('axes do not stabilise up to n = 15 questions per half: the split-half cosine stays below 0.9 for formal_casual');
    expect(sampleSizeVerdict(base, (id) => id.replace('_', '/'))).toMatch(/for formal\/casual$/);
  });
  it('reached', () => {
    expect(sampleSizeVerdict({ ...base, stabilisesAt: 10 })).toBe('axes stabilise at n = 10 questions per half (split-half cosine ≥ 0.9 on every axis)');
  });
  it('a document of the older curve (subsets against the full set) gets no verdict', () => {
    expect(sampleSizeVerdict({ ...base, method: undefined, stabilisesAt: 30 })).toMatch(/no verdict/);
  });
});

describe('no METHOD references in words users read', () => {
  it('the benchmark warning explains itself', () => {
    expect(NO_CHAT_TEMPLATE_WARNING).toMatch(/no chat template/);
    expect(NO_CHAT_TEMPLATE_WARNING).not.toMatch(/METHOD|§/);
  });
});

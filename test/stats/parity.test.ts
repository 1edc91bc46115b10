/**
 * Parity with the reference study's published data, kept in test/reference/mood-axis (MIT, sha256 in its README).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  bootstrapMeanCI,
  cosine,
  effectiveDimensionality,
  icc,
  mean,
  parseNpz,
  percentileInterval,
  std,
} from '../../lib/stats/index.js';
import { covariance, jacobiEigenvalues } from './helpers.js';
import { referenceData } from '../helpers/paths.js';

const readJson = <T>(rel: string): T => JSON.parse(readFileSync(referenceData(rel), 'utf8')) as T;

interface Replication {
  runs: Array<{ seed: number; passed: number; total: number; accuracy: number; scenarios: Record<string, { mood_values: Array<Record<string, number>> }> }>;
}
interface SummaryEntry {
  accuracy_mean: number;
  accuracy_std: number;
  accuracy_ci_lower: number;
  accuracy_ci_upper: number;
  axis_icc: Record<string, number>;
}
const summary = readJson<Record<string, SummaryEntry>>('benchmark_replication/replication_summary.json');

/** Y[scenario][run] = the axis score at the scenario's last turn; null when a run lacks the axis. */
function benchmarkMatrix(rep: Replication, axis: string): number[][] | null {
  const scenarios = Object.keys(rep.runs[0]!.scenarios);
  const rows = scenarios.map((name) => rep.runs.map((run) => run.scenarios[name]!.mood_values.at(-1)![axis]));
  return rows.every((r) => r.every((v) => typeof v === 'number')) ? (rows as number[][]) : null;
}

describe('benchmark replication (replication_summary.json)', () => {
  for (const [model, s] of Object.entries(summary)) {
    const rep = readJson<Replication>(`benchmark_replication/${model}_replication.json`);

    it(`${model}: every published ICC(2,1) to 1e-9 (subjects = 9 scenarios, raters = 5 runs)`, () => {
      const axes = Object.keys(rep.runs[0]!.scenarios[Object.keys(rep.runs[0]!.scenarios)[0]!]!.mood_values.at(-1)!);
      const ours: Record<string, number> = {};
      for (const axis of axes) {
        const y = benchmarkMatrix(rep, axis);
        if (y) ours[axis] = icc(y, { model: '2,1' }).value;
      }
      expect(Object.keys(ours).sort()).toEqual(Object.keys(s.axis_icc).sort());
      for (const [axis, published] of Object.entries(s.axis_icc)) {
        expect(Math.abs(ours[axis]! - published), `${model} ${axis}: ours ${ours[axis]} vs ${published}`).toBeLessThan(1e-9);
      }
    });

    it(`${model}: pass-rate mean, std and bootstrap CI`, () => {
      const rates = rep.runs.map((r) => r.passed / r.total);
      expect(rates).toEqual(rep.runs.map((r) => r.accuracy));
      expect(mean(rates)).toBeCloseTo(s.accuracy_mean, 12);
      expect(std(rates)).toBeCloseTo(s.accuracy_std, 12);

      // Seeded Monte Carlo bootstrap, 10,000 resamples of the five per-run pass rates. The bootstrap means
      // lie on a 1/45 grid, so a Monte Carlo percentile can land one grid step (0.022 > 0.02) away from the
      // exact one: for mistral_7b (P(mean ≤ 0.800) = 0.974) about a quarter of seeds give upper = 0.800
      // instead of the published 0.822. Seed 42 does not; the exact check below is seed-free.
      const ci = bootstrapMeanCI(rates, { resamples: 10_000, seed: 42 });
      expect(Math.abs(ci.lower - s.accuracy_ci_lower)).toBeLessThanOrEqual(0.02);
      expect(Math.abs(ci.upper - s.accuracy_ci_upper)).toBeLessThanOrEqual(0.02);

      // Exact bootstrap distribution (all 5^5 equally likely resamples): its percentile interval is
      // what 10,000 resamples estimate, and it equals the published CI exactly.
      const means: number[] = [];
      for (let c = 0; c < 5 ** 5; c++) {
        let sum = 0;
        for (let k = 0, x = c; k < 5; k++, x = Math.floor(x / 5)) sum += rates[x % 5]!;
        means.push(sum / 5);
      }
      const [lo, hi] = percentileInterval(means, 0.95);
      expect(lo).toBeCloseTo(s.accuracy_ci_lower, 12);
      expect(hi).toBeCloseTo(s.accuracy_ci_upper, 12);
    });
  }
});

describe('baseline structure (baselines/*_baseline.json)', () => {
  const models = ['deepseek_7b', 'gemma_9b', 'llama_8b', 'mistral_7b', 'qwen_7b', 'yi_9b'];
  const profile = (model: string): number[][] => {
    const b = readJson<{ axes: Record<string, { values: number[] }> }>(`baselines/${model}_baseline.json`);
    const cols = Object.values(b.axes).map((a) => a.values);
    expect(cols).toHaveLength(7);
    return cols[0]!.map((_, i) => cols.map((c) => c[i]!));
  };

  it('DeepSeek 7B: participation ratio 3.66 / 7 as the study reports', () => {
    const r = effectiveDimensionality(profile('deepseek_7b'));
    expect(r.participationRatio.toFixed(2)).toBe('3.66');
    // proactive/reluctant is constant (all 1.0 after clipping): only six positive eigenvalues.
    expect(r.eigenvalues).toHaveLength(6);
  });

  it('Gemma 2 9B: PC1 share 87.9 % as the study reports', () => {
    const r = effectiveDimensionality(profile('gemma_9b'));
    expect((100 * r.pc1Share).toFixed(1)).toBe('87.9');
  });

  // Second method: numpy 2.4 (np.linalg.eigvalsh(np.cov(M, rowvar=False))), and an in-test Jacobi decomposition.
  const NUMPY: Record<string, { pr: number; pc1: number }> = {
    deepseek_7b: { pr: 3.6580395079198205, pc1: 0.3822699242404383 },
    gemma_9b: { pr: 1.2833671092475876, pc1: 0.8794865726419662 },
    llama_8b: { pr: 2.413042406045598, pc1: 0.5945273415333326 },
    mistral_7b: { pr: 2.7844559891856493, pc1: 0.47806060272100354 },
    qwen_7b: { pr: 1.9093318363030847, pc1: 0.6996799420200598 },
    yi_9b: { pr: 1.8505053717959619, pc1: 0.6964229262663973 },
  };
  it.each(models)('%s: participation ratio and PC1 share vs numpy and a direct decomposition', (model) => {
    const m = profile(model);
    const r = effectiveDimensionality(m);
    expect(r.participationRatio).toBeCloseTo(NUMPY[model]!.pr, 10);
    expect(r.pc1Share).toBeCloseTo(NUMPY[model]!.pc1, 10);
    const direct = jacobiEigenvalues(covariance(m)).filter((l) => l > 1e-12);
    r.eigenvalues.forEach((l, i) => expect(l).toBeCloseTo(direct[i]!, 12));
  });
});

describe('axis stability (axis_stability/)', () => {
  const sets = Object.fromEntries(
    (['A', 'B', 'C'] as const).map((s) => [s, parseNpz(new Uint8Array(readFileSync(referenceData(`axis_stability/llama_8b_set_${s}_axes.npz`))))]),
  );
  const analysis = readJson<{
    cosine_similarity: Record<string, Record<string, number>>;
    per_axis_summary: Record<string, { mean_cosine: number; min_cosine: number; max_cosine: number }>;
  }>('axis_stability/llama_8b_analysis.json');

  it('the .npz files hold one float32[4096] unit vector per axis, an IQR scale each, and the axis names', () => {
    const a = sets.A!;
    const names = a._axes!.data as string[];
    expect(a._axes!.dtype).toBe('<U21');
    expect(names).toEqual(['warm_cold', 'patient_irritated', 'confident_cautious', 'proactive_reluctant', 'empathetic_analytical', 'formal_casual', 'verbose_concise']);
    for (const axis of names) {
      expect(a[axis]!.dtype).toBe('<f4');
      expect(a[axis]!.shape).toEqual([4096]);
      expect(cosine(a[axis]!.data as Float32Array, a[axis]!.data as Float32Array)).toBeCloseTo(1, 6);
      expect(a[`${axis}_scale`]!.shape).toEqual([]);
      expect((a[`${axis}_scale`]!.data as Float64Array)[0]).toBeGreaterThan(0);
    }
  });

  it('every published pairwise cosine (float32 dot in the study, float64 here: within 1e-6)', () => {
    let n = 0;
    for (const [pair, perAxis] of Object.entries(analysis.cosine_similarity)) {
      const [p, q] = pair.split('_vs_') as [string, string];
      for (const [axis, published] of Object.entries(perAxis)) {
        const ours = cosine(sets[p]![axis]!.data as Float32Array, sets[q]![axis]!.data as Float32Array);
        expect(Math.abs(ours - published), `${pair} ${axis}: ${ours} vs ${published}`).toBeLessThan(1e-6);
        n++;
      }
    }
    expect(n).toBe(21);
  });

  it('per-axis mean / min / max stability cosine', () => {
    for (const [axis, s] of Object.entries(analysis.per_axis_summary)) {
      const cs = [['A', 'B'], ['A', 'C'], ['B', 'C']].map(([p, q]) => cosine(sets[p!]![axis]!.data as Float32Array, sets[q!]![axis]!.data as Float32Array));
      expect(Math.abs(mean(cs) - s.mean_cosine)).toBeLessThan(1e-6);
      expect(Math.abs(Math.min(...cs) - s.min_cosine)).toBeLessThan(1e-6);
      expect(Math.abs(Math.max(...cs) - s.max_cosine)).toBeLessThan(1e-6);
    }
  });

  it('qwen_7b_baseline_projections.json: ICC(2,k) of baseline scores, raters = calibration sets A, B, C', () => {
    // The study publishes no ICC for this file; the expected values come from numpy (second method).
    const proj = readJson<Record<'A' | 'B' | 'C', Record<string, number[]>>>('axis_stability/qwen_7b_baseline_projections.json');
    const NUMPY_ICC2K: Record<string, number> = {
      warm_cold: 0.8897787030011556,
      patient_irritated: 0.13842109704993036,
      confident_cautious: 0.45100868899306207,
      proactive_reluctant: 0.7736762226805777,
      empathetic_analytical: 0.8982452558555243,
      formal_casual: 0.7810552494089856,
      verbose_concise: 0.9150470661977452,
    };
    expect(Object.keys(proj.A).sort()).toEqual(Object.keys(NUMPY_ICC2K).sort());
    for (const [axis, expected] of Object.entries(NUMPY_ICC2K)) {
      const y = proj.A[axis]!.map((_, i) => [proj.A[axis]![i]!, proj.B[axis]![i]!, proj.C[axis]![i]!]);
      expect(y).toHaveLength(30);
      expect(icc(y, { model: '2,k' }).value).toBeCloseTo(expected, 12);
    }
  });
});

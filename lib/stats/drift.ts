/**
 * Drift statistics of multi-turn conversations: one axis' scores of a group of scenarios, each a row of
 * per-turn scores (all rows the same length). The trend of a group is the OLS slope of score against
 * turn number (1, 2, …) over every (scenario, turn) point, and delta = mean(last turn) − mean(first
 * turn). CIs: seeded percentile bootstrap resampling scenarios within the group; the difference from
 * the controls resamples both groups independently in each replicate.
 */
import { percentileInterval, resampleIndices } from './bootstrap.js';
import { linearFit } from './correlation.js';
import { seededRandom } from './random.js';

/** scores[scenario][turn]. */
export type TurnScores = ReadonlyArray<ReadonlyArray<number>>;

export interface Trend {
  /** OLS slope of score against turn number (score units per turn); null with fewer than 2 turns. */
  slope: number | null;
  /** Mean of the last turn minus mean of the first turn. */
  delta: number;
  /** Mean score at each turn, over the scenarios. */
  turnMeans: number[];
}

export interface DriftEstimate {
  slope: number | null;
  slopeCI: [number, number] | null;
  delta: number;
  deltaCI: [number, number] | null;
}

export interface DriftStats extends DriftEstimate {
  turnMeans: number[];
  /** This group minus the controls (null without controls). */
  vsControl: DriftEstimate | null;
}

export interface DriftBootstrap {
  resamples: number;
  seed: number;
  level: number;
}

function turnsOf(rows: TurnScores, what: string): number {
  if (rows.length === 0) throw new Error(`${what}: no scenarios`);
  const turns = rows[0]!.length;
  if (turns === 0) throw new Error(`${what}: no turns`);
  if (rows.some((r) => r.length !== turns)) throw new Error(`${what}: every scenario needs ${turns} turns`);
  return turns;
}

/** The trend of the rows picked by `pick` (scenario indices, repeats allowed). */
export function trend(rows: TurnScores, pick: ReadonlyArray<number> = rows.map((_, i) => i)): Trend {
  const turns = turnsOf(rows, 'trend');
  const turnMeans = Array.from({ length: turns }, (_, t) => pick.reduce((s, i) => s + rows[i]![t]!, 0) / pick.length);
  // every scenario has every turn, so the pooled OLS slope equals the slope of the per-turn means
  const fit = turns > 1 ? linearFit(turnMeans.map((_, t) => t + 1), turnMeans) : null;
  return { slope: fit ? fit.slope : null, delta: turnMeans[turns - 1]! - turnMeans[0]!, turnMeans };
}

const interval = (reps: number[], level: number): [number, number] | null => {
  const ci = percentileInterval(reps, level);
  return Number.isFinite(ci[0]) ? ci : null;
};

/**
 * Slope and delta of `group`, each with a bootstrap CI, and the same for group minus `control` (when
 * given). Reproducible: the same seed gives the same CIs.
 */
export function driftStats(group: TurnScores, control: TurnScores | null, options: DriftBootstrap): DriftStats {
  const turns = turnsOf(group, 'drift');
  if (control && turnsOf(control, 'drift controls') !== turns) throw new Error(`drift: the controls have ${control[0]!.length} turns, the scenarios ${turns}`);
  const own = trend(group);
  const base = control ? trend(control) : null;
  const rng = seededRandom(options.seed);
  const reps = { slope: [] as number[], delta: [] as number[], dSlope: [] as number[], dDelta: [] as number[] };
  for (let r = 0; r < options.resamples; r++) {
    const g = trend(group, resampleIndices(group.length, rng));
    reps.delta.push(g.delta);
    if (g.slope !== null) reps.slope.push(g.slope);
    if (control) {
      const c = trend(control, resampleIndices(control.length, rng));
      reps.dDelta.push(g.delta - c.delta);
      if (g.slope !== null && c.slope !== null) reps.dSlope.push(g.slope - c.slope);
    }
  }
  const level = options.level;
  return {
    slope: own.slope,
    slopeCI: own.slope === null ? null : interval(reps.slope, level),
    delta: own.delta,
    deltaCI: interval(reps.delta, level),
    turnMeans: own.turnMeans,
    vsControl:
      base === null
        ? null
        : {
            slope: own.slope === null || base.slope === null ? null : own.slope - base.slope,
            slopeCI: own.slope === null ? null : interval(reps.dSlope, level),
            delta: own.delta - base.delta,
            deltaCI: interval(reps.dDelta, level),
          },
  };
}

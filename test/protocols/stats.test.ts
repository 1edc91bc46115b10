import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { iccStatistic, parseCsvMatrix, parseJsonMatrix, pcaStatistic } from '../../lib/cli/stats-matrix.js';
import { cli, ensureBuilt } from '../helpers/cli.js';

let LABEL = 1;

// Shrout & Fleiss (1979), Table 2: 6 targets rated by 4 judges. Worked by hand (exact fractions):
// grand mean 127/24; MSR = 1349/120, MSC = 2339/72, MSE = 367/360;
// ICC(2,1) = (MSR − MSE) / (MSR + 3 MSE + 4 (MSC − MSE)/6) = 184/635 ≈ 0.2898 (the paper: .29),
// ICC(2,k) = 736/1187 (.62), ICC(3,1) = 920/1287 (.71), ICC(3,k) = 3680/4047 (.91).
const SHROUT_FLEISS_CSV = `# Shrout & Fleiss 1979, table 2
judge 1,judge 2,judge 3,judge 4
9,2,5,8
6,1,3,2
8,4,6,8
7,1,2,6
10,5,6,9
6,2,4,7
`;
// The same with a label column: target,judge 1,… and t1,9,2,5,8 …
const LABELLED_CSV = SHROUT_FLEISS_CSV.replace('judge 1', 'target,judge 1').replace(/^(\d+,\d+,\d+,\d+)$/gm, (line) => `t${LABEL++},${line}`);
describe('matrix files', () => {
  it('CSV: header and label column recognised, delimiters detected', () => {
    const m = parseCsvMatrix(LABELLED_CSV, 'sf.csv');
    expect(m.columns).toEqual(['judge 1', 'judge 2', 'judge 3', 'judge 4']);
    expect(m.labels).toEqual(['t1', 't2', 't3', 't4', 't5', 't6']);
    expect(m.matrix[0]).toEqual([9, 2, 5, 8]);
    expect(parseCsvMatrix('1;2\n3;4\n', 'x').matrix).toEqual([[1, 2], [3, 4]]);
    expect(parseCsvMatrix('a;b\n1,5;2\n3;-0,25\n', 'x').matrix).toEqual([[1.5, 2], [3, -0.25]]);
    expect(parseCsvMatrix('1\t2\n3\t4\n', 'x').matrix).toEqual([[1, 2], [3, 4]]);
    expect(parseCsvMatrix('1 2\n 3  4\n', 'x').matrix).toEqual([[1, 2], [3, 4]]);
    expect(parseCsvMatrix('"1.5",-2e-1\r\n3,4\r\n', 'x').matrix).toEqual([[1.5, -0.2], [3, 4]]);
    expect(parseJsonMatrix('{"matrix": [[1, 2], [3, 4]]}', 'x').matrix).toEqual([[1, 2], [3, 4]]);
  });

  it('ragged and non-numeric input: errors name the line (row) and column', () => {
    expect(() => parseCsvMatrix('a,b,c\n1,2,3\n4,5\n', 'r.csv')).toThrow('r.csv: line 3: 2 values, expected 3 (as line 2); the matrix must be rectangular');
    expect(() => parseCsvMatrix('1,2,3\n4,x,6\n', 'n.csv')).toThrow('n.csv: line 2, column 2: "x" is not a number');
    expect(() => parseCsvMatrix('id,a,b\nq1,1,2\nq2,,3\n', 'e.csv')).toThrow('e.csv: line 3, column 2: empty cell');
    expect(() => parseCsvMatrix('\n# only a comment\n', 'z.csv')).toThrow('z.csv: no data');
    expect(() => parseJsonMatrix('[[1,2],[3]]', 'r.json')).toThrow('r.json: [1] (row 2): 1 values, expected 2 (as row 1)');
    expect(() => parseJsonMatrix('[[1,2],[3,"4"]]', 'n.json')).toThrow('n.json: [1][1] (row 2, column 2): "4" is not a number');
    expect(() => parseJsonMatrix('{"rows": []}', 'o.json')).toThrow('o.json: expected an array of rows');
  });

  it('ICC and PCA of hand-checked matrices', () => {
    const { matrix } = parseCsvMatrix(SHROUT_FLEISS_CSV, 'sf.csv');
    const r = iccStatistic(matrix, 'sf.csv', { model: '2,1' });
    expect(r.value).toBeCloseTo(184 / 635, 12);
    expect(r.all['2,k']).toBeCloseTo(736 / 1187, 12);
    expect(r.all['3,1']).toBeCloseTo(920 / 1287, 12);
    expect(r.all['3,k']).toBeCloseTo(3680 / 4047, 12);
    expect(r.meanSquares.msr).toBeCloseTo(1349 / 120, 12);
    expect(r.meanSquares.msc).toBeCloseTo(2339 / 72, 12);
    expect(r.meanSquares.mse).toBeCloseTo(367 / 360, 12);
    // (±1, 0), (0, ±2): covariance (ddof 1) diag(2/3, 8/3): PC1 share 0.8, participation ratio (10/3)² / (68/9) = 25/17
    const p = pcaStatistic([[1, 0], [-1, 0], [0, 2], [0, -2]], 'x');
    expect(p.eigenvalues[0]).toBeCloseTo(8 / 3, 12);
    expect(p.eigenvalues[1]).toBeCloseTo(2 / 3, 12);
    expect(p.pc1Share).toBeCloseTo(0.8, 12);
    expect(p.participationRatio).toBeCloseTo(25 / 17, 12);
    expect(p.effectiveDimensionality).toBe('1.47 / 2');
  });
});

describe('moodaxis stats (CLI)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'moodaxis-stats-'));
    await ensureBuilt();
  }, 180_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const write = async (name: string, text: string) => {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  };

  it('icc: table and JSON, with a seeded bootstrap CI', async () => {
    const csv = await write('sf.csv', LABELLED_CSV);
    const t = await cli(['stats', 'icc', csv]);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/ICC\(2,1\) \*\s*│\s*0\.2898/);
    expect(t.stdout).toMatch(/ICC\(3,k\)\s*│\s*0\.9093/);
    expect(t.stdout).toMatch(/n = 6 subjects × k = 4 raters/);
    const j = await cli(['stats', 'icc', csv, '--model', '3,1', '--bootstrap', '500', '--seed', '7', '--json']);
    expect(j.code).toBe(0);
    const r = JSON.parse(j.stdout);
    expect(r.value).toBeCloseTo(920 / 1287, 12);
    expect(r.model).toBe('3,1');
    expect(r.bootstrap).toBe(500);
    expect(r.ci[0]).toBeLessThan(r.ci[1]);
    const again = JSON.parse((await cli(['stats', 'icc', csv, '--model', '3,1', '--bootstrap', '500', '--seed', '7', '--json'])).stdout);
    expect(again.ci).toEqual(r.ci);
    const json = await write('sf.json', JSON.stringify(parseCsvMatrix(SHROUT_FLEISS_CSV, 'x').matrix));
    expect(JSON.parse((await cli(['stats', 'icc', json, '--json'])).stdout).value).toBeCloseTo(184 / 635, 12);
  });

  it('pca: eigenvalues, PC1 share and "x.xx / k"', async () => {
    const csv = await write('p.csv', '1,0\n-1,0\n0,2\n0,-2\n');
    const t = await cli(['stats', 'pca', csv]);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/effective dimensionality \(participation ratio\) 1\.47 \/ 2 · PC1 80\.0 %/);
    const j = JSON.parse((await cli(['stats', 'pca', csv, '--json'])).stdout);
    expect(j.participationRatio).toBeCloseTo(25 / 17, 12);
  });

  it('bad input exits 2 with the line and column', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['icc', await write('ragged.csv', '1,2,3\n4,5\n')], /ragged\.csv: line 2: 2 values, expected 3/],
      [['icc', await write('word.csv', '1,2\n3,four\n')], /word\.csv: line 2, column 2: "four" is not a number/],
      [['pca', await write('bad.json', '[[1, 2], [3, null]]')], /bad\.json: \[1\]\[1\] \(row 2, column 2\): null is not a number/],
      [['icc', await write('one.csv', '1,2\n')], /one\.csv: ICC needs at least 2 rows \(subjects\) and 2 columns \(raters\), got 1 × 2/],
      [['pca', await write('flat.csv', '1,2\n1,2\n1,2\n')], /flat\.csv: every column is constant/],
      [['icc', join(dir, 'none.csv')], /none\.csv: no such file/],
      [['icc', await write('ok.csv', '1,2\n3,5\n'), '--bootstrap', '0'], /--bootstrap must be a whole number ≥ 1, got 0/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(['stats', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    const wrong = await cli(['stats', 'mean', join(dir, 'ok.csv')]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/stats: --statistic: "mean" is not one of "icc", "pca"|"mean" is not one of/);
  });
});

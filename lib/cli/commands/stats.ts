/** `moodaxis stats icc|pca FILE` (the parsing and the statistics: ../stats-matrix.ts, loaded when it runs). */
import { PROTOCOL_DEFAULTS } from '../../defaults.js';
import { ICC_FORMS, type IccModel } from '../../stats/icc.js';
import { legend, table } from '../format.js';
import { outputOptions, type Command } from './shared.js';


const f = (x: number | null, d = 4) => (x === null ? 'undefined' : x.toFixed(d));

async function handler(a: { statistic: 'icc' | 'pca'; file: string; form: IccModel; bootstrap?: number; seed: number; json?: boolean; quiet?: boolean }) {
  const { readMatrixFile, iccStatistic, pcaStatistic, ICC_MODELS } = await import('../stats-matrix.js');
  const { badInput } = await import('../../engine/errors.js');
  if (a.bootstrap !== undefined && !(Number.isInteger(a.bootstrap) && a.bootstrap >= 1)) throw badInput(`--bootstrap must be a whole number ≥ 1, got ${a.bootstrap}`);
  if (!(Number.isInteger(a.seed) && a.seed >= 0 && a.seed < 2 ** 32)) throw badInput(`--seed must be a whole number between 0 and 2^32 − 1, got ${a.seed}`);
  const { matrix } = await readMatrixFile(a.file);
  if (a.statistic === 'icc') {
    const r = iccStatistic(matrix, a.file, { model: a.form, bootstrap: a.bootstrap, seed: a.seed });
    if (a.json) return void process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    if (a.quiet) return void process.stdout.write(`${f(r.value)}\n`);
    const rows = ICC_MODELS.map((m) => [`ICC(${m})${m === r.model ? ' *' : ''}`, f(r.all[m]), m === r.model && r.ci ? `[${f(r.ci[0])}, ${f(r.ci[1])}]` : '']);
    process.stdout.write(`${table(['statistic', 'value', r.ci ? `95 % CI (${r.bootstrap} resamples, seed ${r.seed})` : ''], rows)}\n`);
    process.stdout.write(`${legend(`* the form asked for (--form ${r.model}) · (2,·): raters random, (3,·): fixed · (·,1): one rater, (·,k): mean of k`)}\n`);
    process.stdout.write(`n = ${r.subjects} subjects × k = ${r.raters} raters · MSR ${r.meanSquares.msr.toPrecision(4)}, MSC ${r.meanSquares.msc.toPrecision(4)}, MSE ${r.meanSquares.mse.toPrecision(4)}\n`);
  } else {
    const r = pcaStatistic(matrix, a.file);
    if (a.json) return void process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    if (a.quiet) return void process.stdout.write(`${r.effectiveDimensionality}\n`);
    const rows = r.eigenvalues.map((l, i) => [`PC${i + 1}`, l.toPrecision(4), `${((l / r.eigenvalues.reduce((s, x) => s + x, 0)) * 100).toFixed(1)} %`]);
    process.stdout.write(`${table(['component', 'eigenvalue', 'share'], rows)}\n`);
    process.stdout.write(`${legend('share: of the total variance · effective dimensionality: (Σλ)² / Σλ² of the k columns')}\n`);
    process.stdout.write(`effective dimensionality (participation ratio) ${r.effectiveDimensionality} · PC1 ${(r.pc1Share * 100).toFixed(1)} % · ${r.rows} rows\n`);
  }
}

export const statsCommand: Command = {
  command: 'stats <statistic> <file>',
  describe: 'ICC or PCA (effective dimensionality) of a CSV or JSON matrix, rows = subjects',
  builder: (y) =>
    outputOptions(y, 'print only the statistic: the ICC of --form, or the effective dimensionality')
      .positional('statistic', { choices: ['icc', 'pca'] as const, demandOption: true, describe: 'icc: Shrout–Fleiss ICC; pca: eigenvalues, PC1 share, participation ratio' })
      .positional('file', { type: 'string', demandOption: true, describe: 'CSV or JSON matrix, one row per subject' })
      .option('form', { alias: 'model', choices: ICC_FORMS, default: '2,1' as IccModel, requiresArg: true, describe: 'ICC form (icc only; --model is its old name)' })
      .option('bootstrap', { type: 'number', requiresArg: true, describe: 'bootstrap resamples over subjects for a 95 % CI (icc only)' })
      .option('seed', { type: 'number', default: PROTOCOL_DEFAULTS.stats.seed, requiresArg: true, describe: 'seed of the bootstrap' }),
  handler,
};

/** `moodaxis stats icc|pca FILE` (the parsing and the statistics: ../stats-matrix.ts, loaded when it runs). */
import { PROTOCOL_DEFAULTS } from '../../defaults.js';
import { ICC_FORMS, type IccModel } from '../../stats/icc.js';
import { fixed, legend, percent, table } from '../format.js';
import { printResult } from '../runtime.js';
import { defineCommand, outputOptions } from './shared.js';

/** A statistic: 4 decimals, "undefined" when there is none. */
const f = (x: number | null) => fixed(x, { digits: 4, missing: 'undefined' });

export const statsCommand = defineCommand({
  command: 'stats <statistic> <file>',
  describe: 'ICC or PCA (effective dimensionality) of a CSV or JSON matrix, rows = subjects',
  builder: (y) =>
    outputOptions(y, 'print only the statistic: the ICC of --form, or the effective dimensionality')
      .positional('statistic', { choices: ['icc', 'pca'] as const, demandOption: true, describe: 'icc: Shrout–Fleiss ICC; pca: eigenvalues, PC1 share, participation ratio' })
      .positional('file', { type: 'string', demandOption: true, describe: 'CSV or JSON matrix, one row per subject' })
      .option('form', { alias: 'model', choices: ICC_FORMS, default: '2,1' as IccModel, requiresArg: true, describe: 'ICC form (icc only; --model is its old name)' })
      .option('bootstrap', { type: 'number', requiresArg: true, describe: 'bootstrap resamples over subjects for a 95 % CI (icc only)' })
      .option('seed', { type: 'number', default: PROTOCOL_DEFAULTS.stats.seed, requiresArg: true, describe: 'seed of the bootstrap' }),
  async handler(a) {
    const { readMatrixFile, iccStatistic, pcaStatistic } = await import('../stats-matrix.js');
    const { badInput } = await import('../../engine/errors.js');
    if (a.bootstrap !== undefined && !(Number.isInteger(a.bootstrap) && a.bootstrap >= 1)) throw badInput(`--bootstrap must be a whole number ≥ 1, got ${a.bootstrap}`);
    if (!(Number.isInteger(a.seed) && a.seed >= 0 && a.seed < 2 ** 32)) throw badInput(`--seed must be a whole number between 0 and 2^32 − 1, got ${a.seed}`);
    const { matrix } = await readMatrixFile(a.file);
    if (a.statistic === 'icc') {
      printResult(a, iccStatistic(matrix, a.file, { model: a.form, bootstrap: a.bootstrap, seed: a.seed }), {
        text(r) {
          if (a.quiet) return `${f(r.value)}\n`;
          const rows = ICC_FORMS.map((m) => [`ICC(${m})${m === r.model ? ' *' : ''}`, f(r.all[m]), m === r.model && r.ci ? `[${f(r.ci[0])}, ${f(r.ci[1])}]` : '']);
          return [
            table(['statistic', 'value', r.ci ? `95 % CI (${r.bootstrap} resamples, seed ${r.seed})` : ''], rows),
            legend(`* the form asked for (--form ${r.model}) · (2,·): raters random, (3,·): fixed · (·,1): one rater, (·,k): mean of k`),
            `n = ${r.subjects} subjects × k = ${r.raters} raters · MSR ${r.meanSquares.msr.toPrecision(4)}, MSC ${r.meanSquares.msc.toPrecision(4)}, MSE ${r.meanSquares.mse.toPrecision(4)}\n`,
          ].join('\n');
        },
      });
    } else {
      printResult(a, pcaStatistic(matrix, a.file), {
        text(r) {
          if (a.quiet) return `${r.effectiveDimensionality}\n`;
          const total = r.eigenvalues.reduce((s, x) => s + x, 0);
          const rows = r.eigenvalues.map((l, i) => [`PC${i + 1}`, l.toPrecision(4), percent(l / total, 1)]);
          return [
            table(['component', 'eigenvalue', 'share'], rows),
            legend('share: of the total variance · effective dimensionality: (Σλ)² / Σλ² of the k columns'),
            `effective dimensionality (participation ratio) ${r.effectiveDimensionality} · PC1 ${percent(r.pc1Share, 1)} · ${r.rows} rows\n`,
          ].join('\n');
        },
      });
    }
  },
});

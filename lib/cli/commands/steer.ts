import { join } from 'node:path';
import { PROTOCOL_DEFAULTS, RUN_DEFAULTS } from '../../defaults.js';
import { badInput } from '../../engine/errors.js';
import type { SteerDoc } from '../../docs/types.js';
import { fixed, legend, percent, table, type NumberStyle } from '../format.js';
import { runModelCommand } from '../model-command.js';
import { colorOut, outDir, outFile } from '../runtime.js';
import { controlVectorOption, loadControlVectorArgs } from './control-vector.js';
import { axisLabel, layerList } from '../../protocols/wording.js';
import { defineCommand, MODEL_ARG, outFlag, runOptions, settingsFrom } from './shared.js';

const DEFAULTS = PROTOCOL_DEFAULTS.steer;

/** Steer's numbers: signed, zero with a '+' (α = +0.0). */
const SIGNED: NumberStyle = { plus: 'nonnegative' };
const f = (x: number, digits = 2) => fixed(x, { ...SIGNED, digits });
const short = (s: string, n = 60) => {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > n ? `${t.slice(0, n - 1)}…` : t;
};

/** The steer document as terminal tables; `label` writes an axis id as "warm/cold". */
export function formatSteer(doc: SteerDoc, label: (id: string) => string = (id) => id, color = false): string {
  const others = Object.keys(doc.alphas[0]?.leakage ?? {});
  const rows = doc.alphas.map((r) => {
    const worst = others.reduce<[string, number] | null>((w, id) => (w && Math.abs(w[1]) >= Math.abs(r.leakage[id]!) ? w : [id, r.leakage[id]!]), null);
    return [f(r.alpha, 1), f(r.meanScore), percent(r.repetition), worst ? `${label(worst[0])} ${f(worst[1])}` : '–', short(r.samples[0] ?? '')];
  });
  const lines = [table(['α', `${label(doc.axis)} score`, 'repetition', 'largest leakage', 'sample'], rows, { color })];
  lines.push(legend('α: strength · score: mean on the axis · repetition: repeated word 3-grams · leakage: the other axis that moved most from α = 0', color));
  lines.push(
    `slope ${f(doc.slope)} per α · Spearman ρ ${fixed(doc.spearman)} · effective α range ${doc.range[0]} … ${doc.range[1]} · ${layerList(doc.layers)}` +
      (doc.norms ? ` · h̄ ${doc.norms.map((n) => n.toPrecision(3)).join(', ')}` : '') +
      ` · α = 1 is ${percent(doc.unit ?? DEFAULTS.alphaUnit)} of h̄`,
  );
  if (doc.sweep) {
    lines.push('');
    lines.push(table(['layers', 'shift', 'max repetition', 'ρ'], doc.sweep.map((s) => [layerList(s.layers).replace(/^layers? /, ''), f(s.shift), percent(s.maxRepetition), fixed(s.spearman)]), { color }));
    lines.push(legend('shift: score at the largest α minus at the smallest · ρ: Spearman of score and α', color));
    lines.push(doc.recommended ? `recommended ${layerList(doc.recommended)}` : `no window kept repetition under ${Math.round(DEFAULTS.repetitionLimit * 100)} % with a positive shift`);
  }
  return lines.join('\n');
}

export const steerCommand = defineCommand({
  command: 'steer <model>',
  describe: 'steer the model along an axis (control vectors) and measure score, leakage and repetition per strength α',
  builder: (y) =>
    runOptions(y, { maxTokens: false, baselineMaxTokens: `new tokens per steered answer (default ${RUN_DEFAULTS.baselineMaxTokens})` })
      .positional('model', MODEL_ARG)
      .option('axes', { type: 'string', demandOption: true, requiresArg: true, describe: 'calibrated axes file of this model (`moodaxis calibrate`)' })
      .option('axis', { type: 'string', demandOption: true, requiresArg: true, describe: 'the axis to steer, by id, e.g. warm_cold' })
      .option('alpha', { type: 'string', default: DEFAULTS.alphas.join(','), requiresArg: true, describe: `strengths, comma-separated; α = 1 pushes the state by ${Math.round(DEFAULTS.alphaUnit * 100)} % of its mean norm` })
      .option('layers', { type: 'string', requiresArg: true, describe: 'steered layers: a-b or a,b,c (default: the middle third)' })
      .option('questions', { type: 'number', requiresArg: true, describe: 'use the first N baseline questions (default all)' })
      .option('repeats', { type: 'number', default: DEFAULTS.repeats, requiresArg: true, describe: 'answers per question (different seeds)' })
      .option('unit', { type: 'number', default: DEFAULTS.alphaUnit, requiresArg: true, describe: 'fraction of the mean hidden-state norm h̄ that α = 1 stands for' })
      .option('sweep-layers', { type: 'boolean', default: false, describe: `try layer windows and recommend the one with the largest shift under ${Math.round(DEFAULTS.repetitionLimit * 100)} % repetition` })
      .option('export', { type: 'string', requiresArg: true, describe: 'also write the steering vector as a llama.cpp control-vector GGUF file (its folder must exist)' })
      .option('export-alpha', { type: 'number', default: DEFAULTS.exportAlpha, requiresArg: true, describe: 'the α the exported file holds (a load scale multiplies it)' })
      .option('control-vector', controlVectorOption)
      .option('axes-file', { type: 'string', requiresArg: true, describe: 'custom axis set whose baseline questions to ask (default built-in)' })
      .option('out', outFlag('steer-<axis>.json')),
  async handler(a) {
    const [{ parseAlphas, parseLayers, steer, steerDocName, exportSteeringVector }, { readAxesFile }] = await Promise.all([import('../../protocols/steer.js'), import('../../docs/axes.js')]);
    const alphas = parseAlphas(a.alpha);
    const layerChoice = a.layers !== undefined ? parseLayers(String(a.layers)) : undefined;
    if (!Number.isFinite(a.exportAlpha)) throw badInput(`--export-alpha must be a number, got ${a.exportAlpha}`);
    const out = outDir(a.out, `steer-${a.axis}.json`);
    const exportPath = a.export === undefined ? undefined : outFile('--export', a.export);
    const axes = await readAxesFile(a.axes);
    const labels = new Map(axes.axes.map((x) => [x.id, axisLabel(x)]));
    await runModelCommand(a, {
      model: a.model,
      out,
      progress: 'steer',
      async run({ model, out, onProgress, onStatus }) {
        const controlVector = await loadControlVectorArgs(a, model);
        return steer(model, {
          ...settingsFrom(a),
          axes,
          axis: a.axis,
          alphas,
          layers: layerChoice,
          questions: a.questions,
          repeats: a.repeats,
          unit: a.unit,
          sweepLayers: a.sweepLayers,
          controlVector,
          axesFile: a.axesFile,
          out,
          onProgress,
          onStatus,
        });
      },
      // the library writes steer-<axis>.json and its journal into `out`
      async save(doc, { model, onStatus }) {
        if (exportPath) {
          await exportSteeringVector(exportPath, axes, doc, model.info, a.exportAlpha);
          onStatus(`wrote ${exportPath}: ${layerList(doc.layers)} at α ${a.exportAlpha} (a load scale multiplies it: --control-vector ${a.export}:2 here, llama-cli --control-vector-scaled ${a.export}:2 in llama.cpp)`);
        }
      },
      text: (doc) => `${formatSteer(doc, (id) => labels.get(id) ?? id, colorOut())}\n`,
      summary: (doc, { out }) => `wrote ${join(out, `${steerDocName(doc.axis)}.json`)}`,
    });
  },
});

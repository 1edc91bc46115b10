import { resolve } from 'node:path';
import { badInput } from '../../engine/errors.js';
import type { ControlVectorInput, Model } from '../../engine/model.js';
import { readAxesFile } from '../../method/axes-doc.js';
import { loadControlVectors } from '../../method/control-vector.js';
import { writeFileAtomic } from '../../method/journal.js';
import { DEFAULT_ALPHAS, exportSteeringVector, parseAlphas, parseLayers, steer } from '../../protocols/steer.js';
import type { SteerDoc } from '../../protocols/types.js';
import { table } from '../format.js';
import { openModel, progressReporter, status, type CommonArgs } from '../runtime.js';
import { runOptions, settingsFrom, type Command, type RunArgs } from './shared.js';

/** `--control-vector FILE[:scale]`, repeatable (the vectors add up, as with llama.cpp). */
export const controlVectorOption = {
  type: 'string',
  describe: 'apply a llama.cpp control-vector GGUF (ours, cvector-generator\'s, repeng\'s), scaled; repeat to add several',
  requiresArg: true,
} as const;

/** Reads the --control-vector files for a loaded model; warnings (e.g. another model hint) go to stderr. */
export async function loadControlVectorArgs(a: CommonArgs & { controlVector?: string | string[] }, model: Model): Promise<ControlVectorInput | null> {
  const specs = a.controlVector === undefined ? [] : Array.isArray(a.controlVector) ? a.controlVector : [a.controlVector];
  if (specs.length === 0) return null;
  const loaded = await loadControlVectors(specs, model.info);
  for (const w of loaded.warnings) status(a, `warning: ${w}`);
  status(a, `control vector${specs.length > 1 ? 's' : ''} ${specs.join(' + ')} on blocks ${loaded.input ? `${loaded.input.layerStart}–${loaded.input.layerEnd}` : '(all zero)'}`);
  return loaded.input;
}

type SteerArgs = RunArgs & {
  model: string;
  axes: string;
  axis: string;
  alpha: string;
  layers?: string;
  questions?: number;
  repeats: number;
  unit: number;
  sweepLayers: boolean;
  export?: string;
  exportAlpha: number;
  controlVector?: string | string[];
  axesFile?: string;
  out?: string;
};

const f = (x: number, digits = 2) => (x >= 0 ? '+' : '') + x.toFixed(digits);
const short = (s: string, n = 60) => {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > n ? `${t.slice(0, n - 1)}…` : t;
};

export function formatSteer(doc: SteerDoc): string {
  const others = Object.keys(doc.alphas[0]?.leakage ?? {});
  const rows = doc.alphas.map((r) => {
    const worst = others.reduce<[string, number] | null>((w, id) => (w && Math.abs(w[1]) >= Math.abs(r.leakage[id]!) ? w : [id, r.leakage[id]!]), null);
    return [f(r.alpha, 1), f(r.meanScore), `${(r.repetition * 100).toFixed(0)} %`, worst ? `${worst[0]} ${f(worst[1])}` : '–', short(r.samples[0] ?? '')];
  });
  const lines = [table(['α', `${doc.axis} score`, 'repetition', 'largest leakage', 'sample'], rows)];
  lines.push(
    `slope ${f(doc.slope, 3)} per α · Spearman ρ ${doc.spearman.toFixed(2)} · effective α range ${doc.range[0]} … ${doc.range[1]} · blocks ${doc.layers.join(', ')}` +
      (doc.norms ? ` · h̄ ${doc.norms.map((n) => n.toPrecision(3)).join(', ')}` : '') +
      ` · α = 1 is ${((doc.unit ?? 0.1) * 100).toFixed(0)} % of h̄`,
  );
  if (doc.sweep) {
    lines.push('');
    lines.push(table(['blocks', 'shift', 'max repetition', 'ρ'], doc.sweep.map((s) => [s.layers.length > 2 ? `${s.layers[0]}–${s.layers[s.layers.length - 1]}` : s.layers.join(', '), f(s.shift), `${(s.maxRepetition * 100).toFixed(0)} %`, s.spearman.toFixed(2)])));
    lines.push(doc.recommended ? `recommended blocks ${doc.recommended[0]}–${doc.recommended[doc.recommended.length - 1]}` : 'no window kept repetition under 30 % with a positive shift');
  }
  return lines.join('\n');
}

async function handler(a: SteerArgs) {
  const alphas = parseAlphas(a.alpha);
  const layers = a.layers !== undefined ? parseLayers(String(a.layers)) : undefined;
  if (!(Number.isFinite(a.exportAlpha))) throw badInput(`--export-alpha must be a number, got ${a.exportAlpha}`);
  const axes = await readAxesFile(a.axes);
  const model = await openModel(a.model, a);
  const progress = progressReporter(a, 'steer');
  try {
    const controlVector = await loadControlVectorArgs(a, model);
    const doc = await steer(model, axes, {
      ...settingsFrom(a),
      axis: a.axis,
      alphas,
      layers,
      questions: a.questions,
      repeats: a.repeats,
      unit: a.unit,
      sweepLayers: a.sweepLayers,
      controlVector,
      axesFile: a.axesFile,
      onProgress: (done, total) => progress.update(done, total),
      onStatus: (m) => status(a, m),
    });
    progress.done();
    if (a.out) writeFileAtomic(resolve(a.out), `${JSON.stringify(doc, null, 2)}\n`);
    if (a.export) {
      await exportSteeringVector(resolve(a.export), axes, doc, model.info, a.exportAlpha);
      status(a, `wrote ${a.export}: blocks ${doc.layers.join(', ')} at α ${a.exportAlpha} (load it with a scale to get another α: --control-vector ${a.export}:2 or llama-cli --control-vector-scaled ${a.export} 2)`);
    }
    if (a.json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    else if (!a.quiet) {
      process.stdout.write(`${formatSteer(doc)}\n`);
      if (a.out) status(a, `wrote ${a.out}`);
    }
  } finally {
    await model.dispose();
  }
}

export const steerCommand: Command = {
  command: 'steer <model>',
  describe: 'steer the model along an axis (control vectors) and measure score, leakage and repetition per strength α',
  builder: (y) =>
    runOptions(y)
      .positional('model', { type: 'string', demandOption: true, describe: 'GGUF model file' })
      .option('axes', { type: 'string', demandOption: true, describe: 'calibrated axes file of this model (`moodaxis calibrate`)' })
      .option('axis', { type: 'string', demandOption: true, describe: 'the axis to steer, e.g. warm_cold' })
      .option('alpha', { type: 'string', default: DEFAULT_ALPHAS.join(','), describe: 'strengths, comma-separated; α = 1 pushes the state by 10 % of its mean norm' })
      .option('layers', { type: 'string', describe: 'steered blocks: a-b or a,b,c (default: the middle third)' })
      .option('questions', { type: 'number', describe: 'use the first N baseline questions (default all)' })
      .option('repeats', { type: 'number', default: 1, describe: 'answers per question (different seeds)' })
      .option('unit', { type: 'number', default: 0.1, describe: 'fraction of the mean hidden-state norm h̄ that α = 1 stands for' })
      .option('sweep-layers', { type: 'boolean', default: false, describe: 'try layer windows and recommend the one with the largest shift under 30 % repetition' })
      .option('export', { type: 'string', describe: 'write the steering vector as a llama.cpp control-vector GGUF' })
      .option('export-alpha', { type: 'number', default: 1, describe: 'the α the exported file holds (a load scale multiplies it)' })
      .option('control-vector', controlVectorOption)
      .option('axes-file', { type: 'string', describe: 'custom axis set whose baseline questions to ask (default built-in)' })
      .option('out', { type: 'string', describe: 'also write the steer document (JSON) here' }),
  handler,
};

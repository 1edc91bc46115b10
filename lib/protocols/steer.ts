/**
 * Steering: push the residual stream along one axis while generating and measure what the
 * model's answers do.
 *
 * For each α, answers to the baseline questions are generated with the control vector
 * α · u · h̄_l · v / k on the steered blocks (lib/method/control-vector.ts; u = 0.1 by default, so α = 1 is
 * a push of 10 % of the mean state length h̄), with the same seeds at every α. Each answer is then
 * re-read by the unsteered model (teacher-forced on its own tokens, at the positions and with the
 * weights the axes were calibrated with) and scored on every axis: the score says what the text
 * carries, not the push itself (the states captured while steering contain the added vector and would
 * move with α even if the words did not; their mean is reported as `inPassScore`).
 *
 * h̄_l is measured on the α = 0 answers: the mean norm of block l's output over the generated positions
 * (the axes file's `meanNorm` is an average over the capture blocks only; the norm grows with depth,
 * about 2.5× from block 1 to block 4 in stories260K).
 *
 * Per α: mean score on the steered axis, leakage (other axes' mean minus their mean at α = 0),
 * repetition (1 − distinct word 3-grams / word 3-grams per answer, averaged over answers; words are
 * runs of letters, digits and apostrophes, lower-cased; answers under three words count 0) and two
 * sample answers. Summary: least-squares slope of the mean score on α, Spearman ρ, and the effective
 * range: from α = 0 outwards in both directions, the α values reached while the mean score keeps
 * moving monotonically (non-decreasing upwards, non-increasing downwards) and every answer set stays
 * under 30 % repetition.
 */
import { join } from 'node:path';
import { PROTOCOL_DEFAULTS, PROMPT_TEMPLATE } from '../defaults.js';
import { assertAxesFit, resolveAxes } from '../docs/axes.js';
import type { AxesDoc, CalibratedAxis, SteerAlpha, SteerDoc } from '../docs/types.js';
import { writeDocFile } from '../docs/write.js';
import { badInput } from '../engine/errors.js';
import { deriveSeed, type ControlVectorInput, type GenerateRequest, type GenerateResult, type Model, type ModelInfo } from '../engine/model.js';
import { questionsOf, renderPlainPrompt, type QuestionRef } from '../method/axes-file.js';
import { resolveAxisSet, scoreVector } from '../method/calibrate.js';
import { jobKey } from '../method/collect.js';
import { addEngineControlVectors, buildControlVector, toEngineControlVector, writeControlVectorFile, type ControlVector } from '../method/control-vector.js';
import { withModel } from '../method/model-ref.js';
import { buildManifest, captureOptions, isDeterministic, resolveSettings, type OutputOptions, type RunOptions } from '../method/settings.js';
import { linearFit, mean, spearman as spearmanRho } from '../stats/index.js';
import { axisLabel, layerList, plural } from './wording.js';

const DEFAULTS = PROTOCOL_DEFAULTS.steer;

/** The baseline questions of the axis set (`axesFile`, `axisSet`) are asked; `out` receives steer-<axis>.json. */
export interface SteerOptions extends RunOptions, OutputOptions {
  /** Calibrated axes of this model: an axes file (`calibrate`) or the document. */
  axes: string | AxesDoc;
  /** The axis to steer (its id). */
  axis: string;
  /** Steering strengths (α = 0 is added when missing: leakage and h̄ are measured there). Default PROTOCOL_DEFAULTS.steer.alphas. */
  alphas?: number[];
  /** Steered blocks (each 1 … L−1); default {@link defaultSteerLayers}. */
  layers?: number[];
  /** Use the first N baseline questions (default all). */
  questions?: number;
  /** Answers per question, each with its own seed [PROTOCOL_DEFAULTS.steer.repeats]. */
  repeats?: number;
  /** Fraction of h̄ that α = 1 stands for [PROTOCOL_DEFAULTS.steer.alphaUnit]. */
  unit?: number;
  /** h̄ per steered block: 'measured' (default: on the α = 0 answers), 'axes' (the axis's meanNorm), or numbers per block of `layers`. */
  norms?: 'measured' | 'axes' | number[];
  /** Try layer windows and recommend one: true for the default windows ({@link sweepWindows}), or the windows. */
  sweepLayers?: boolean | number[][];
  /** Another control vector applied at every α, α = 0 included (e.g. from --control-vector files). */
  controlVector?: ControlVectorInput | null;
}

/** The document file of a steer run: steer-<axis>.json. */
export const steerDocName = (axis: string) => `steer-${axis}`;

/** The middle third of the stack: blocks ⌈L/3⌉ … ⌊2L/3⌋ (within 1 … L−1). */
export function defaultSteerLayers(layers: number): number[] {
  if (layers < 2) throw badInput(`a model with ${layers} block(s) cannot be steered (block 0 never is)`);
  const start = Math.max(1, Math.ceil(layers / 3));
  const end = Math.max(start, Math.min(layers - 1, Math.floor((2 * layers) / 3)));
  return range(Math.min(start, layers - 1), end);
}

/** Windows for --sweep-layers: width w = max(1, round((L−1)/4)) every ⌈w/2⌉ blocks, plus the default window. */
export function sweepWindows(layers: number, extra: number[] = defaultSteerLayers(layers)): number[][] {
  const last = layers - 1;
  const w = Math.max(1, Math.round(last / 4));
  const stride = Math.max(1, Math.ceil(w / 2));
  const out: number[][] = [];
  for (let s = 1; s + w - 1 <= last; s += stride) out.push(range(s, s + w - 1));
  if (out.length && out[out.length - 1]![w - 1] !== last) out.push(range(last - w + 1, last));
  if (!out.some((win) => win.join() === extra.join())) out.push(extra);
  return out;
}

/** "a-b", "a,b,c" or "a" → block list. */
export function parseLayers(spec: string): number[] {
  const text = spec.trim();
  const m = /^(\d+)\s*-\s*(\d+)$/.exec(text);
  if (m) {
    const [a, b] = [Number(m[1]), Number(m[2])];
    if (b < a) throw badInput(`--layers ${spec}: the end comes before the start`);
    return range(a, b);
  }
  if (!/^\d+(\s*,\s*\d+)*$/.test(text)) throw badInput(`--layers ${spec}: expected a-b (a window of layers) or a list like 3,4,5`);
  return text.split(',').map((x) => Number(x.trim()));
}

/** "−4,−2,0,2,4" → numbers. */
export function parseAlphas(spec: string): number[] {
  const parts = spec.split(',').map((x) => x.trim().replace(/^−/, '-'));
  const values = parts.map(Number);
  const bad = parts.findIndex((p, i) => p === '' || !Number.isFinite(values[i]!));
  if (bad >= 0) throw badInput(`--alpha ${spec}: ${JSON.stringify(parts[bad])} is not a number`);
  return values;
}

/** Word 3-gram repetition of one text: 1 − distinct / total (0 under three words). */
export function repetitionRate(text: string): number {
  const words = text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];
  if (words.length < 3) return 0;
  const grams = new Set<string>();
  for (let i = 0; i + 2 < words.length; i++) grams.add(`${words[i]} ${words[i + 1]} ${words[i + 2]}`);
  return 1 - grams.size / (words.length - 2);
}

/** Least-squares slope of y on x (0 when x is constant). */
export function leastSquaresSlope(x: number[], y: number[]): number {
  return linearFit(x, y)?.slope ?? 0;
}

/**
 * Effective α range: start at the α closest to 0 and extend upwards while the mean score does not fall
 * and repetition stays under the limit, and downwards while it does not rise and repetition stays
 * under the limit.
 */
export function effectiveRange(rows: Array<Pick<SteerAlpha, 'alpha' | 'meanScore' | 'repetition'>>, limit = DEFAULTS.repetitionLimit): [number, number] {
  const pts = [...rows].sort((a, b) => a.alpha - b.alpha);
  if (pts.length === 0) return [0, 0];
  let zero = 0;
  pts.forEach((p, i) => {
    if (Math.abs(p.alpha) < Math.abs(pts[zero]!.alpha)) zero = i;
  });
  if (pts[zero]!.repetition >= limit) return [pts[zero]!.alpha, pts[zero]!.alpha];
  let hi = zero;
  while (hi + 1 < pts.length && pts[hi + 1]!.meanScore >= pts[hi]!.meanScore && pts[hi + 1]!.repetition < limit) hi++;
  let lo = zero;
  while (lo - 1 >= 0 && pts[lo - 1]!.meanScore <= pts[lo]!.meanScore && pts[lo - 1]!.repetition < limit) lo--;
  return [pts[lo]!.alpha, pts[hi]!.alpha];
}

/** The steering vector of one axis: α · u · h̄_l · v / k on the given blocks. */
export function steeringVector(
  axis: CalibratedAxis,
  options: { alpha: number; layers: number[]; norms?: number[] | number; unit?: number; model: Pick<ModelInfo, 'architecture'> },
): ControlVector {
  return buildControlVector(axis, { alpha: options.alpha, layers: options.layers, norms: options.norms, unit: options.unit, modelHint: options.model.architecture });
}

/**
 * Writes the steering vector of a steer result as a llama.cpp control-vector GGUF at strength α
 * (default 1: the file then holds one α unit, and a load scale is the α, e.g.
 * `llama-cli --control-vector-scaled vec.gguf:2` or `moodaxis … --control-vector vec.gguf:2` is α = 2).
 * Every block 1 … L−1 gets a tensor (zeros outside the steered window), as cvector-generator writes.
 */
export async function exportSteeringVector(
  path: string,
  axes: AxesDoc,
  doc: Pick<SteerDoc, 'axis' | 'layers' | 'norms' | 'unit'>,
  model: Pick<ModelInfo, 'architecture' | 'layers' | 'hiddenSize' | 'identity'>,
  alpha = 1,
): Promise<ControlVector> {
  const axis = findAxis(axes, doc.axis, 'axes');
  const cv = steeringVector(axis, { alpha, layers: doc.layers, norms: doc.norms, unit: doc.unit, model });
  toEngineControlVector(cv, model); // checks blocks and hidden size
  await writeControlVectorFile(path, cv, {
    modelLayers: model.layers,
    provenance: {
      axis: doc.axis,
      alpha,
      alpha_unit: doc.unit ?? DEFAULTS.alphaUnit,
      layers: doc.layers,
      norms: doc.norms ?? doc.layers.map(() => axis.meanNorm),
      model_identity: model.identity,
    },
  });
  return cv;
}

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}

function findAxis(axes: AxesDoc, id: string, source: string): CalibratedAxis {
  const axis = axes.axes.find((a) => a.id === id);
  if (!axis) throw badInput(`${source}: no axis ${JSON.stringify(id)}; the axes are ${axes.axes.map((a) => a.id).join(', ')}`);
  return axis;
}

function checkLayers(layers: number[], model: ModelInfo, what: string): number[] {
  if (layers.length === 0) throw badInput(`${what}: no layers given`);
  for (const l of layers)
    if (!Number.isInteger(l) || l < 1 || l >= model.layers)
      throw badInput(`${what}: layer ${l} cannot be steered: ${model.name} has ${model.layers} layers and layers 1–${model.layers - 1} can be (layer 0 never is)`);
  const sorted = [...new Set(layers)].sort((a, b) => a - b);
  if (sorted.length !== layers.length) throw badInput(`${what}: a layer is given twice`);
  return sorted;
}

interface AlphaRun {
  alpha: number;
  results: GenerateResult[];
  /** Re-read scores: [axis][answer]. */
  scores: number[][];
  inPass: number[];
}

export async function steer(modelOrPath: Model | string, options: SteerOptions): Promise<SteerDoc> {
  if (!options?.axes) throw badInput('steer: options.axes (an axes file or document) is required');
  if (typeof options.axis !== 'string') throw badInput('steer: options.axis (the axis to steer) is required');
  const { doc: axes, source } = await resolveAxes(options.axes);
  const axis = findAxis(axes, options.axis, source);
  const axisIndex = axes.axes.indexOf(axis);
  const axisSet = await resolveAxisSet(options);
  // Capture as the axes were calibrated.
  const settings = resolveSettings({
    ...options,
    layers: axes.manifest.capture.layers,
    layerWeights: axes.manifest.capture.layerWeights,
    tokenDecay: axes.manifest.capture.tokenDecay,
    compat: axes.manifest.capture.compat,
  });
  const alphas = [...new Set([...(options.alphas ?? DEFAULTS.alphas), 0])].sort((a, b) => a - b);
  for (const a of alphas) if (!Number.isFinite(a)) throw badInput(`alphas: ${a} is not a finite number`);
  const unit = options.unit ?? DEFAULTS.alphaUnit;
  const repeats = options.repeats ?? DEFAULTS.repeats;
  if (!(Number.isInteger(repeats) && repeats >= 1)) throw badInput(`repeats must be a positive integer, got ${repeats}`);
  const status = options.onStatus ?? (() => {});

  return withModel(modelOrPath, options.gpu, async (model) => {
    assertAxesFit(axes, model.info, source);
    const base = checkLayers(options.layers ?? defaultSteerLayers(model.info.layers), model.info, 'layers');
    const windows = options.sweepLayers
      ? (options.sweepLayers === true ? sweepWindows(model.info.layers, base) : options.sweepLayers).map((w, i) => checkLayers(w, model.info, `sweepLayers[${i}]`))
      : [base];
    if (Array.isArray(options.norms)) {
      if (windows.length > 1 || options.norms.length !== base.length) throw badInput(`norms: give one h̄ per steered block (${base.length}), and no layer sweep`);
      options.norms.forEach((h) => {
        if (!(Number.isFinite(h) && h > 0)) throw badInput(`norms: ${h} is not a positive number`);
      });
    }

    let questions: QuestionRef[] = questionsOf(axisSet, null, 'baseline');
    if (options.questions !== undefined) {
      if (!(Number.isInteger(options.questions) && options.questions >= 1)) throw badInput(`questions must be a positive integer, got ${options.questions}`);
      if (options.questions > questions.length) status(`${axisSet.name} has ${questions.length} baseline questions; using all of them`);
      questions = questions.slice(0, options.questions);
    }
    // Repeat 0 has the fingerprint's baseline seed: α = 0 reproduces its answers at the same settings.
    const requests: GenerateRequest[] = questions.flatMap((q) =>
      Array.from({ length: repeats }, (_, r) => {
        const key = r === 0 ? jobKey(q, 'none') : jobKey(q, 'none', `r${r}`);
        const req = model.info.chatTemplate
          ? { messages: [{ role: 'user' as const, content: q.text }] }
          : { prompt: renderPlainPrompt(PROMPT_TEMPLATE, null, q.text) };
        return { ...req, seed: deriveSeed(settings.seed, key) };
      }),
    );

    // Capture: the axes' blocks (their weights) plus, norms only (weight 0), the steered blocks.
    const axesCapture = captureOptions(model, settings);
    const normLayers = [...new Set(windows.flat())].filter((l) => !axesCapture.layers.includes(l)).sort((a, b) => a - b);
    const deepest = Math.max(...axesCapture.layers);
    // In compat mode the deepest captured block is read after the final norm: never add a deeper one.
    const extra = settings.compat ? normLayers.filter((l) => l < deepest) : normLayers;
    const genCapture = {
      ...axesCapture,
      layers: [...axesCapture.layers, ...extra],
      layerWeights: [...axesCapture.layerWeights, ...extra.map(() => 0)],
    };
    const deterministic = isDeterministic(model, settings);
    const sampler = {
      temperature: settings.temperature,
      topK: settings.topK,
      topP: settings.topP,
      seed: settings.seed,
      parallel: settings.parallel,
      deterministic,
      maxTokens: settings.baselineMaxTokens,
      ignoreEos: settings.ignoreEos,
    };
    const total = requests.length * (1 + windows.length * (alphas.length - 1));
    // Progress as every protocol reports it: answers done, tokens generated, and those of the finished answers.
    let done = 0;
    let tokens = 0;
    let finishedTokens = 0;
    const progress = (n: number, running: number) => options.onProgress?.(done + n, total, tokens + running, { restored: 0, finishedTokens });

    const generate = async (cv: ControlVectorInput | null): Promise<GenerateResult[]> => {
      const out = await model.generate(requests, {
        ...sampler,
        capture: genCapture,
        controlVector: cv,
        onResult: (_, r) => (finishedTokens += r.tokens),
        onProgress: (p) => progress(p.done, p.tokens),
      });
      done += requests.length;
      tokens += out.reduce((sum, r) => sum + r.tokens, 0);
      return out;
    };
    /** Teacher-forced re-read of the answers by the unsteered model: vectors as the axes expect them. */
    const reread = async (results: GenerateResult[]): Promise<Float32Array[]> => {
      const forced = results.map((r, i) => ({ r, i })).filter(({ r }) => r.tokenIds.length > 0);
      const vectors: Float32Array[] = results.map(() => new Float32Array(model.info.hiddenSize)); // an empty answer: no positions, a zero vector (as generation gives)
      if (forced.length) {
        const out = await model.generate(
          forced.map(({ r, i }) => ({ ...requests[i]!, response: r.tokenIds })),
          { seed: settings.seed, parallel: settings.parallel, deterministic, capture: axesCapture },
        );
        out.forEach((o, j) => (vectors[forced[j]!.i] = o.vector));
      }
      return vectors;
    };
    const run = async (alpha: number, results: GenerateResult[]): Promise<AlphaRun> => {
      const vectors = await reread(results);
      const nAxes = axesCapture.layers.length;
      return {
        alpha,
        results,
        scores: axes.axes.map((a) => vectors.map((v) => scoreVector(a, v))),
        // The captured vector holds the axes' blocks only (extra blocks have weight 0).
        inPass: results.map((r) => (r.layerNorms.length >= nAxes ? scoreVector(axis, r.vector) : NaN)),
      };
    };

    status(`steering ${axisLabel(axis)} on ${plural(questions.length, 'question', 'questions')} × ${repeats} at α ${alphas.join(', ')}; ${windows.length > 1 ? `${windows.length} layer windows` : layerList(base)}`);
    const zeroResults = await generate(options.controlVector ?? null);
    const zero = await run(0, zeroResults);
    const measured = new Map<number, number>();
    genCapture.layers.forEach((layer, idx) => {
      const norms = zeroResults.filter((r) => r.capturedTokens > 0).map((r) => r.layerNorms[idx]!);
      if (norms.length) measured.set(layer, mean(norms));
    });
    const normsFor = (win: number[]): number[] => {
      if (Array.isArray(options.norms)) return options.norms;
      if (options.norms === 'axes') return win.map(() => axis.meanNorm);
      return win.map((l) => measured.get(l) ?? axis.meanNorm);
    };

    const windowRows: Array<{ layers: number[]; norms: number[]; rows: SteerAlpha[] }> = [];
    for (const win of windows) {
      const norms = normsFor(win);
      const runs: AlphaRun[] = [];
      for (const alpha of alphas) {
        if (alpha === 0) {
          runs.push(zero);
          continue;
        }
        const cv = toEngineControlVector(steeringVector(axis, { alpha, layers: win, norms, unit, model: model.info }), model.info);
        runs.push(await run(alpha, await generate(addEngineControlVectors(cv, options.controlVector))));
      }
      const rows = runs.map((r): SteerAlpha => {
        const leakage: Record<string, number> = {};
        axes.axes.forEach((a, i) => {
          if (i !== axisIndex) leakage[a.id] = mean(r.scores[i]!) - mean(zero.scores[i]!);
        });
        const inPass = r.inPass.filter(Number.isFinite);
        return {
          alpha: r.alpha,
          meanScore: mean(r.scores[axisIndex]!),
          leakage,
          repetition: mean(r.results.map((x) => repetitionRate(x.text))),
          samples: r.results.filter((_, i) => i % repeats === 0).slice(0, 2).map((x) => x.text),
          ...(inPass.length ? { inPassScore: mean(inPass) } : {}),
          meanTokens: mean(r.results.map((x) => x.tokens)),
        };
      });
      windowRows.push({ layers: win, norms, rows });
    }

    const summary = (rows: SteerAlpha[]) => {
      const xs = rows.map((r) => r.alpha);
      const ys = rows.map((r) => r.meanScore);
      const rho = spearmanRho(xs, ys);
      return { slope: leastSquaresSlope(xs, ys), spearman: Number.isFinite(rho) ? rho : 0 };
    };
    let chosen = windowRows[0]!;
    let sweep: SteerDoc['sweep'];
    let recommended: number[] | null | undefined;
    if (options.sweepLayers) {
      sweep = windowRows.map((w) => ({
        layers: w.layers,
        shift: w.rows[w.rows.length - 1]!.meanScore - w.rows[0]!.meanScore,
        maxRepetition: Math.max(...w.rows.map((r) => r.repetition)),
        ...summary(w.rows),
      }));
      const ok = sweep.map((s, i) => ({ s, i })).filter(({ s }) => s.maxRepetition < DEFAULTS.repetitionLimit && s.shift > 0);
      ok.sort((a, b) => b.s.shift - a.s.shift);
      recommended = ok.length ? ok[0]!.s.layers : null;
      const baseIndex = windowRows.findIndex((w) => w.layers.join() === base.join());
      chosen = windowRows[ok.length ? ok[0]!.i : Math.max(0, baseIndex)]!;
      status(recommended ? `recommended ${layerList(recommended)} (score shift ${ok[0]!.s.shift.toFixed(2)})` : `no layer window kept repetition under ${DEFAULTS.repetitionLimit * 100} % with a positive shift`);
    }
    const { slope, spearman } = summary(chosen.rows);
    const doc: SteerDoc = {
      kind: 'moodaxis.steer',
      schemaVersion: 1,
      manifest: buildManifest(model, settings, axisSet, {
        steer: {
          unit,
          questions: questions.length,
          repeats,
          maxTokens: settings.baselineMaxTokens,
          scoring: 'answers re-read by the unsteered model (teacher-forced)',
          normsFrom: Array.isArray(options.norms) ? 'given' : options.norms === 'axes' ? 'axes meanNorm' : 'alpha 0 answers',
          ...(options.controlVector ? { extraControlVector: { layerStart: options.controlVector.layerStart, layerEnd: options.controlVector.layerEnd } } : {}),
        },
      }),
      axis: axis.id,
      layers: chosen.layers,
      alphas: chosen.rows,
      slope,
      spearman,
      range: effectiveRange(chosen.rows),
      unit,
      norms: chosen.norms,
      ...(sweep ? { sweep, recommended: recommended ?? null } : {}),
    };
    if (options.out) writeDocFile(join(options.out, `${steerDocName(doc.axis)}.json`), doc);
    return doc;
  });
}

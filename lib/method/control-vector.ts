/**
 * Control vectors (docs/method.md §7): steering directions added to the residual stream while generating.
 *
 * - Built from a calibrated axis: block l of the steered window gets α · u · h̄_l · v / k, with v the
 *   axis's unit direction, h̄_l the mean hidden-state norm at block l, k the number of steered blocks
 *   and u the α unit (default 0.1). The residual stream keeps what each block adds, so by the end of
 *   the window the state has been pushed along v by α · u · h̄ in all: α = 1 is a push of 10 % of the
 *   model's own typical state length, the same meaning in every model and for every window width.
 *   (With u = 1, α = ±1 already turns a small model's answers into "day day day": a push of a whole
 *   state length swamps the state. Tenths put the useful range at about α ∈ [−4, 4].)
 * - Written and read as llama.cpp control-vector GGUF files, the format of llama.cpp's
 *   `common_control_vector_load` (what `llama-cli --control-vector[-scaled]` loads) and of the files
 *   that llama.cpp's cvector-generator and repeng write: `general.architecture = "controlvector"`,
 *   `controlvector.model_hint` (the model's architecture), `controlvector.layer_count` (i32, the number
 *   of direction tensors) and one F32 tensor `direction.<block>` of hiddenSize values per block,
 *   blocks 1…L−1 (block 0 is never steered). A file's vectors are multiplied by the load scale
 *   (`FILE:scale`, like llama.cpp's `--control-vector-scaled FILE:SCALE`) and several files add up.
 * - Converted to the engine's input (`generate(…, { controlVector })`): (L−1) × hiddenSize floats, block
 *   1 first, with the block window to apply.
 */
import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { PROTOCOL_DEFAULTS } from '../defaults.js';
import { badInput } from '../engine/errors.js';
import { GgmlType, GgufValueType, GgufWriter, isGgufError, readGgufHeader, type GgufInfo, type GgufValue } from '../engine/gguf/index.js';
import type { ControlVectorInput, ModelInfo } from '../engine/model.js';
import type { CalibratedAxis } from '../docs/types.js';

export const CONTROL_VECTOR_ARCH = 'controlvector';

/** A control vector: one direction per steered block (already scaled), all of hiddenSize floats. */
export interface ControlVector {
  hiddenSize: number;
  /** Block index (1 … L−1) → the vector added to that block's output. */
  directions: Map<number, Float32Array>;
  /** Architecture of the model it was made for (`controlvector.model_hint`), when known. */
  modelHint: string | null;
}

/** A control-vector file as read, with its provenance keys. */
export interface ControlVectorFile extends ControlVector {
  path: string;
  /** `controlvector.layer_count` when present. */
  layerCount: number | null;
  /** Every metadata key of the file (e.g. the `moodaxis.*` keys this module writes). */
  metadata: Map<string, GgufValue>;
}

/** The model facts a control vector must fit. */
export type ControlVectorTarget = Pick<ModelInfo, 'layers' | 'hiddenSize' | 'architecture'>;

export interface BuildControlVectorOptions {
  /** Steering strength, in units of `unit` × h̄ (the total push along v by the end of the window). */
  alpha: number;
  /** Fraction of h̄ that α = 1 stands for (default PROTOCOL_DEFAULTS.steer.alphaUnit). */
  unit?: number;
  /** Blocks to steer (each 1 … L−1). */
  layers: number[];
  /**
   * h̄ per steered block, in the order of `layers`, or one number for all (e.g. the axis's meanNorm).
   * Default: the axis's meanNorm.
   */
  norms?: number | number[];
  /** Split α over the blocks (default true: α·u·h̄_l·v/k per block); false: α·u·h̄_l·v at every block. */
  split?: boolean;
  modelHint?: string | null;
}

/** α · u · h̄_l · v (/ k) at each chosen block. */
export function buildControlVector(axis: Pick<CalibratedAxis, 'id' | 'vector' | 'meanNorm'>, options: BuildControlVectorOptions): ControlVector {
  const { alpha, layers } = options;
  if (!Number.isFinite(alpha)) throw badInput(`alpha must be a finite number, got ${alpha}`);
  const unit = options.unit ?? PROTOCOL_DEFAULTS.steer.alphaUnit;
  if (!(Number.isFinite(unit) && unit > 0)) throw badInput(`the α unit must be a positive number, got ${unit}`);
  if (layers.length === 0) throw badInput('a control vector needs at least one layer');
  const norms = options.norms ?? axis.meanNorm;
  const perLayer = Array.isArray(norms) ? norms : layers.map(() => norms);
  if (perLayer.length !== layers.length) throw badInput(`norms: ${perLayer.length} values for ${layers.length} layers`);
  perLayer.forEach((h, i) => {
    if (!(Number.isFinite(h) && h > 0))
      throw badInput(`h̄ at layer ${layers[i]} is ${h}: the axes file has no hidden-state norm (meanNorm); recalibrate, or give the norms`);
  });
  const k = options.split === false ? 1 : layers.length;
  const directions = new Map<number, Float32Array>();
  layers.forEach((layer, i) => {
    if (!Number.isInteger(layer) || layer < 1) throw badInput(`layer ${layer} cannot be steered (layers 1 … L−1)`);
    if (directions.has(layer)) throw badInput(`layer ${layer} is given twice`);
    const f = (alpha * unit * perLayer[i]!) / k;
    directions.set(layer, Float32Array.from(axis.vector, (x) => x * f));
  });
  return { hiddenSize: axis.vector.length, directions, modelHint: options.modelHint ?? null };
}

/** Σ scale_i · cv_i (block by block). */
export function sumControlVectors(parts: Array<{ vector: ControlVector; scale?: number }>): ControlVector {
  if (parts.length === 0) throw badInput('no control vectors to add');
  const hiddenSize = parts[0]!.vector.hiddenSize;
  const directions = new Map<number, Float32Array>();
  for (const { vector, scale = 1 } of parts) {
    if (vector.hiddenSize !== hiddenSize) throw badInput(`control vectors of hidden sizes ${hiddenSize} and ${vector.hiddenSize} cannot be added`);
    for (const [layer, dir] of vector.directions) {
      let acc = directions.get(layer);
      if (!acc) directions.set(layer, (acc = new Float32Array(hiddenSize)));
      for (let i = 0; i < hiddenSize; i++) acc[i]! += scale * dir[i]!;
    }
  }
  return { hiddenSize, directions, modelHint: parts[0]!.vector.modelHint };
}

/**
 * Checks a control vector against a model: same hidden size, blocks 1 … L−1. `source` names the file
 * (or 'control vector') in the errors.
 */
export function assertControlVectorFits(cv: ControlVector, model: ControlVectorTarget, source = 'control vector'): void {
  for (const [layer, dir] of cv.directions) {
    if (dir.length !== model.hiddenSize)
      throw badInput(`${source}: direction.${layer}: has ${dir.length} values, but the model has hidden size ${model.hiddenSize}`);
    if (layer < 1 || layer >= model.layers)
      throw badInput(`${source}: direction.${layer}: layer ${layer} is out of range: the model has ${model.layers} layers and layers 1–${model.layers - 1} can be steered`);
  }
}

/**
 * The engine's input: (L−1) × hiddenSize floats, block 1 first, applied over the smallest window holding
 * every non-zero direction (files that write zeros for every other block steer only their window).
 * Null when every direction is zero: adding nothing is no control vector.
 */
export function toEngineControlVector(cv: ControlVector, model: ControlVectorTarget, source = 'control vector'): ControlVectorInput | null {
  assertControlVectorFits(cv, model, source);
  const d = model.hiddenSize;
  const data = new Float32Array((model.layers - 1) * d);
  let layerStart = Infinity;
  let layerEnd = -Infinity;
  for (const [layer, dir] of cv.directions) {
    if (!dir.some((x) => x !== 0)) continue;
    data.set(dir, (layer - 1) * d);
    layerStart = Math.min(layerStart, layer);
    layerEnd = Math.max(layerEnd, layer);
  }
  return Number.isFinite(layerStart) ? { data, layerStart, layerEnd } : null;
}

// ------------------------------------------------------------------------------------------ files

export interface WriteControlVectorOptions {
  /** Blocks of the model (L): a tensor is written for every block 1 … L−1 (zeros outside the vector), as cvector-generator does. Default: only the vector's blocks. */
  modelLayers?: number;
  /** Extra provenance, written as `moodaxis.<key>` (llama.cpp ignores it). */
  provenance?: Record<string, string | number | number[]>;
}

/** Writes a llama.cpp control-vector GGUF. */
export async function writeControlVectorFile(path: string, cv: ControlVector, options: WriteControlVectorOptions = {}): Promise<void> {
  const layers = options.modelLayers
    ? Array.from({ length: options.modelLayers - 1 }, (_, i) => i + 1)
    : [...cv.directions.keys()].sort((a, b) => a - b);
  for (const layer of cv.directions.keys())
    if (!layers.includes(layer)) throw badInput(`${path}: direction.${layer} is outside layers 1–${(options.modelLayers ?? 1) - 1}`);
  if (layers.length === 0) throw badInput(`${path}: a control vector needs at least one direction`);
  const w = new GgufWriter();
  w.setString('general.architecture', CONTROL_VECTOR_ARCH);
  w.setString(`${CONTROL_VECTOR_ARCH}.model_hint`, cv.modelHint ?? '');
  w.setI32(`${CONTROL_VECTOR_ARCH}.layer_count`, layers.length);
  for (const [key, value] of Object.entries(options.provenance ?? {})) {
    if (typeof value === 'string') w.setString(`moodaxis.${key}`, value);
    else if (typeof value === 'number') w.setF32(`moodaxis.${key}`, value);
    else w.setArray(`moodaxis.${key}`, GgufValueType.FLOAT32, value);
  }
  for (const layer of layers) {
    const dir = cv.directions.get(layer) ?? new Float32Array(cv.hiddenSize);
    const bytes = new Uint8Array(dir.length * 4);
    const view = new DataView(bytes.buffer);
    dir.forEach((x, i) => view.setFloat32(i * 4, x, true));
    w.addTensor(`direction.${layer}`, [cv.hiddenSize], GgmlType.F32!, bytes);
  }
  await w.write(path);
}

/** Reads a control-vector GGUF (ours, llama.cpp cvector-generator's, repeng's). Errors name the file and the field. */
export async function readControlVectorFile(path: string): Promise<ControlVectorFile> {
  let info: GgufInfo;
  try {
    info = await readGgufHeader(path);
  } catch (error) {
    if (isGgufError(error)) throw badInput(`${path}: not a readable control-vector file: ${error.detail}`, { cause: error });
    throw error;
  }
  const fail = (field: string, why: string): never => {
    throw badInput(`${path}: ${field}: ${why}`);
  };
  const arch = info.metadata.get('general.architecture');
  if (arch !== CONTROL_VECTOR_ARCH) {
    fail('general.architecture', arch === undefined
      ? `missing; a control vector has "${CONTROL_VECTOR_ARCH}"`
      : `is ${JSON.stringify(arch)}, expected "${CONTROL_VECTOR_ARCH}"${info.tensors.some((t) => t.name === 'token_embd.weight') ? ' (this is a model file, not a control vector)' : ''}`);
  }
  const hint = info.metadata.get(`${CONTROL_VECTOR_ARCH}.model_hint`);
  if (hint !== undefined && typeof hint !== 'string') fail(`${CONTROL_VECTOR_ARCH}.model_hint`, `expected a string, got ${typeof hint}`);
  const count = info.metadata.get(`${CONTROL_VECTOR_ARCH}.layer_count`);
  if (count !== undefined && !(typeof count === 'number' && Number.isInteger(count) && count >= 0))
    fail(`${CONTROL_VECTOR_ARCH}.layer_count`, `expected a non-negative integer, got ${String(count)}`);
  if (info.tensors.length === 0) fail('tensors', 'the file has no direction tensors');

  let hiddenSize = -1;
  const directions = new Map<number, Float32Array>();
  const fh = await open(path, 'r');
  try {
    for (const t of info.tensors) {
      const field = `tensor '${t.name}'`;
      const m = /^direction\.(\d+)$/.exec(t.name);
      if (!m) fail(field, 'expected a tensor named direction.<layer>');
      const layer = Number(m![1]);
      if (layer === 0) fail(field, 'layer 0 cannot be steered (direction tensors start at direction.1)');
      if (t.type !== GgmlType.F32) fail(field, `has type ${t.typeName}, expected F32`);
      if (t.shape.slice(1).some((n) => n !== 1)) fail(field, `has shape [${t.shape.join(', ')}], expected one dimension [hiddenSize]`);
      const n = t.shape[0]!;
      if (hiddenSize === -1) hiddenSize = n;
      else if (n !== hiddenSize) fail(field, `has ${n} values, but the tensors before it have ${hiddenSize}`);
      const buf = Buffer.alloc(t.byteSize);
      const { bytesRead } = await fh.read(buf, 0, t.byteSize, info.dataOffset + t.offset);
      if (bytesRead !== t.byteSize) fail(field, 'its data runs past the end of the file');
      const values = new Float32Array(n);
      for (let i = 0; i < n; i++) values[i] = buf.readFloatLE(i * 4);
      if (values.some((x) => !Number.isFinite(x))) fail(field, 'holds values that are not finite (NaN or infinity)');
      // llama.cpp adds directions given twice for one layer; so do we.
      const prev = directions.get(layer);
      if (prev) for (let i = 0; i < n; i++) prev[i]! += values[i]!;
      else directions.set(layer, values);
    }
  } finally {
    await fh.close();
  }
  return {
    path,
    hiddenSize,
    directions,
    modelHint: typeof hint === 'string' ? hint : null,
    layerCount: typeof count === 'number' ? count : null,
    metadata: info.metadata,
  };
}

/** `FILE[:scale]` → { path, scale } (the suffix counts as a scale only when it is a number). */
export function parseControlVectorSpec(spec: string): { path: string; scale: number } {
  const at = spec.lastIndexOf(':');
  if (at > 0) {
    const tail = spec.slice(at + 1).trim();
    if (tail !== '' && /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(tail)) return { path: spec.slice(0, at), scale: Number(tail) };
  }
  if (spec.trim() === '') throw badInput('--control-vector needs a file name (FILE or FILE:scale)');
  // `warm.gguf:abc` where warm.gguf exists: the scale is what is wrong, not the file name.
  if (at > 0 && !existsSync(spec) && existsSync(spec.slice(0, at)))
    throw badInput(`--control-vector ${spec}: the scale ${JSON.stringify(spec.slice(at + 1))} is not a number (FILE:SCALE, e.g. ${spec.slice(0, at)}:2)`);
  return { path: spec, scale: 1 };
}

export interface LoadedControlVectors {
  /** The engine input (null when every direction is zero). */
  input: ControlVectorInput | null;
  vector: ControlVector;
  /** Not fatal: e.g. a model hint naming another architecture. */
  warnings: string[];
}

/**
 * Reads control-vector files (`FILE[:scale]` strings or { path, scale }), checks them against the
 * model and adds them up (scaled), as llama.cpp does with several --control-vector options.
 */
export async function loadControlVectors(specs: Array<string | { path: string; scale?: number }>, model: ControlVectorTarget): Promise<LoadedControlVectors> {
  const parts: Array<{ vector: ControlVector; scale: number }> = [];
  const warnings: string[] = [];
  for (const spec of specs) {
    const { path, scale = 1 } = typeof spec === 'string' ? parseControlVectorSpec(spec) : spec;
    if (!Number.isFinite(scale)) throw badInput(`${path}: the scale must be a finite number, got ${scale}`);
    const file = await readControlVectorFile(path);
    assertControlVectorFits(file, model, path);
    // repeng writes the Hugging Face model type (e.g. "mistral" for a llama-architecture GGUF): a hint, not a rule.
    if (file.modelHint && file.modelHint !== model.architecture)
      warnings.push(`${path}: controlvector.model_hint is "${file.modelHint}" but the model's architecture is "${model.architecture}"`);
    parts.push({ vector: file, scale });
  }
  const vector = sumControlVectors(parts);
  return { input: toEngineControlVector(vector, model), vector, warnings };
}

/** Adds two engine inputs (either may be null). */
export function addEngineControlVectors(a: ControlVectorInput | null | undefined, b: ControlVectorInput | null | undefined): ControlVectorInput | null {
  if (!a) return b ?? null;
  if (!b) return a;
  if (a.data.length !== b.data.length) throw badInput('control vectors for different models cannot be added');
  const data = Float32Array.from(a.data, (x, i) => x + b.data[i]!);
  return { data, layerStart: Math.min(a.layerStart, b.layerStart), layerEnd: Math.max(a.layerEnd, b.layerEnd) };
}

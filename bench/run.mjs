#!/usr/bin/env node
// moodaxis benchmark: the full fingerprint workload measured side by side with llama.cpp's own
// llama-batched-bench (same build, same model, same parallelism) and the reference study's pipeline
// (HF transformers, GPU mode). Prints a table last and writes bench-results.json.
//
//   node bench/run.mjs --mode gpu [--parallel default,256,256:host-topk,128] [--phases build,model,reference,run]
//     (a variant is a parallelism, or `default` for what `moodaxis fingerprint` picks; `:host-topk` turns the
//     device top-k off for that row: the lever measured side by side)
//   node bench/run.mjs --mode cpu            (this machine: stories260K and a 1B-ish synthetic shape)
//
// GPU mode needs MOODAXIS_LLAMA_CPP_SOURCE (the pinned llama.cpp tree) and CUDA; see BENCHMARKS.md.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const mode = opt('mode', 'cpu');
const phases = new Set(opt('phases', 'build,model,reference,run').split(','));
const variants = opt('parallel', mode === 'gpu' ? 'default,256,256:host-topk,128' : '16').split(',').map((v) => {
  const [p, flag] = v.split(':');
  return { label: v, parallel: p === 'default' ? undefined : Number(p), hostTopK: flag === 'host-topk' };
});
const cacheDir = join(root, '.bench-cache');
const outDir = process.env.OUT || join(root, 'bench-results');
mkdirSync(cacheDir, { recursive: true });
mkdirSync(outDir, { recursive: true });
const results = { mode, date: new Date().toISOString(), commit: process.env.MOODAXIS_COMMIT ?? git('rev-parse', '--short', 'HEAD'), rows: [] };
const log = (m) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

function git(...a) {
  const r = spawnSync('git', a, { cwd: root });
  return r.status === 0 ? r.stdout.toString().trim() : 'unknown';
}

function run(cmd, cmdArgs, opts = {}) {
  const t0 = performance.now();
  const r = spawnSync(cmd, cmdArgs, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 28, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${cmdArgs.join(' ')} failed (${r.status}): ${(r.stderr || '').slice(-2000)}`);
  return { stdout: r.stdout, stderr: r.stderr, seconds: (performance.now() - t0) / 1000 };
}

function findTool(name) {
  for (const dir of [join(root, 'build-source', 'bin'), join(root, 'build-source', 'llama.cpp', 'bin')]) {
    if (existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

/**
 * Peak GPU memory in use while `fn` runs: one nvidia-smi, started once, prints the memory in use every 200 ms
 * (`-lms`), read as it comes. (A fresh nvidia-smi per sample, run with spawnSync, blocked this process's event
 * loop and initialized NVML five times a second beside the work it measured.)
 */
async function withGpuMemory(fn) {
  let peak = 0;
  let smi = null;
  try {
    smi = spawn('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits', '-lms', '200'], { stdio: ['ignore', 'pipe', 'ignore'] });
    smi.on('error', () => {});  // (no nvidia-smi: no peak)
    let pending = '';
    smi.stdout.on('data', (d) => {
      const lines = (pending + d).split('\n');
      pending = lines.pop();
      for (const line of lines) {
        const mib = line.trim() ? Number(line) : NaN;
        if (Number.isFinite(mib)) peak = Math.max(peak, mib);
      }
    });
  } catch {
    smi = null;
  }
  try {
    const value = await fn();
    return { value, peakMiB: peak };
  } finally {
    smi?.kill();
  }
}

async function buildPhase() {
  if (mode !== 'gpu') return;
  const marker = join(root, 'build-source', 'Release', 'moodaxis.node');
  if (existsSync(marker) && findTool('llama-batched-bench') && findTool('llama-quantize')) {
    log('reusing the CUDA build in build-source/');
    return;
  }
  log('building llama.cpp with CUDA + the addon + llama-batched-bench/llama-quantize…');
  const r = run(process.execPath, ['scripts/build-addon.mjs', '--from-source', '--gpu', 'cuda', '--tools'], { stdio: ['ignore', 'ignore', 'pipe'] });
  results.buildSeconds = r.seconds;
  log(`built in ${r.seconds.toFixed(0)} s`);
}

async function modelPhase() {
  const { ensureFixtureModel } = await import('../dist/fixtures/models.js');
  if (mode !== 'gpu') return;
  const q4 = join(cacheDir, 'llama3-8b-shape-Q4_K_M.gguf');
  if (existsSync(q4)) {
    log(`reusing ${q4}`);
    return;
  }
  let t0 = performance.now();
  const q8 = await ensureFixtureModel('llama3_8b', cacheDir);
  results.modelWriteSeconds = (performance.now() - t0) / 1000;
  log(`wrote ${q8} in ${results.modelWriteSeconds.toFixed(0)} s`);
  const quantize = findTool('llama-quantize');
  if (!quantize) throw new Error('llama-quantize was not built (run the build phase)');
  const r = run(quantize, ['--allow-requantize', q8, `${q4}.tmp`, 'Q4_K_M', String(cpus().length)]);
  run('mv', [`${q4}.tmp`, q4]);
  results.quantizeSeconds = r.seconds;
  log(`quantized to Q4_K_M in ${r.seconds.toFixed(0)} s`);
}

// The reference result is kept in the cache folder, so a later call on a warm machine reuses it.
const referenceCache = join(cacheDir, 'reference.json');

function referencePhase() {
  if (mode !== 'gpu') return Promise.resolve(null);
  log('HF transformers reference (bf16)…');
  return new Promise((res) => {
    const child = spawn('python3', [join(root, 'bench', 'reference_hf.py')], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      if (code !== 0) {
        log(`reference failed: ${err.slice(-800)}`);
        return res(null);
      }
      const value = JSON.parse(out.trim().split('\n').pop());
      writeFileSync(referenceCache, JSON.stringify(value));
      res(value);
    });
  });
}

// `batch` is llama.cpp's n_batch: batched-bench decodes its prompts in pieces of that many tokens, and llama.cpp
// splits a piece into ubatches of all its sequences at equal widths (a piece of 128 sequences × 16 tokens makes
// ubatches of 128 × 8 at ubatch 1024).
function batchedBench(modelPath, parallel, gen, promptTokens = 128, ubatch = 512, batch = Math.max(2048, ubatch)) {
  const tool = findTool('llama-batched-bench');
  if (!tool) return null;
  const a = ['-m', modelPath, '-c', String(parallel * (promptTokens + gen + 64)), '-b', String(batch), '-ub', String(ubatch), '-npp', String(promptTokens), '-ntg', String(gen), '-npl', String(parallel), '-t', String(Math.max(1, cpus().length - 1))];  // the engine's default thread count
  if (mode === 'gpu') a.push('-ngl', '99', '-fa', 'on');
  const r = run(tool, a);
  const row = r.stdout.split('\n').find((l) => new RegExp(`^\\|\\s+${promptTokens}\\s+\\|`).test(l));
  if (!row) return null;
  const cells = row.split('|').map((c) => c.trim()).filter(Boolean);
  return { tgTokS: Number(cells[7]), ppTokS: Number(cells[5]), raw: row };
}

async function ourWorkload(modelPath, parallel, { gpu, maxTokens, baselineMaxTokens, hostTopK = false }) {
  if (hostTopK) process.env.MOODAXIS_DEVICE_TOP_K = '0';
  else delete process.env.MOODAXIS_DEVICE_TOP_K;
  const { loadModel } = await import('../dist/lib/engine/index.js');
  const { fingerprint } = await import('../dist/lib/protocols/fingerprint.js');
  const { builtinAxisSet } = await import('../dist/lib/method/axes-file.js');
  const t0 = performance.now();
  const measured = await withGpuMemory(async () => {
    const model = await loadModel(modelPath, { gpu });
    const loadSeconds = (performance.now() - t0) / 1000;
    const doc = await fingerprint(model, { axisSet: builtinAxisSet(), parallel, maxTokens, baselineMaxTokens, ignoreEos: true, cache: false });
    const stats = model.lastGenerateStats();
    await model.dispose();
    delete process.env.MOODAXIS_DEVICE_TOP_K;
    return { doc, stats, loadSeconds };
  });
  const wall = (performance.now() - t0) / 1000;
  const { doc, stats, loadSeconds } = measured.value;
  return {
    wallSeconds: wall,
    loadSeconds,
    parallelUsed: stats ? stats.parallel : null,
    responses: doc.responses.length,
    tokens: doc.timing.generatedTokens,
    tokS: doc.timing.generatedTokens / wall,
    stepTokS: stats ? (stats.stepTokens / stats.stepMs) * 1000 : null,
    prefillSeconds: stats ? stats.prefillMs / 1000 : null,
    prefillTokens: stats ? stats.prefillTokens : null,
    sharedPrefixTokens: stats ? stats.sharedTokens : null,
    uniquePromptTokens: stats ? stats.uniquePromptTokens : null,
    computedPromptTokens: stats ? stats.computedPromptTokens : null,
    streamCopies: stats ? stats.streamCopies : null,
    movedSequences: stats ? stats.movedSequences : null,
    prefillDecodes: stats ? stats.prefillDecodes : null,
    prefillUbatches: stats ? stats.prefillUbatches : null,
    steps: stats ? stats.steps : null,
    stepUbatches: stats ? stats.stepUbatches : null,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    peakGpuMiB: measured.peakMiB || null,
  };
}

/**
 * The engine's prefill alone at one shape: `parallel` prompts of `promptTokens` tokens that share no prefix (so
 * no stream copies), one token generated each; timed on a second call, after the context's creation and CUDA's
 * first use of the kernels. To set beside batched-bench's PP at the same shape.
 */
async function prefillThroughput(modelPath, parallel, promptTokens) {
  const { loadModel } = await import('../dist/lib/engine/index.js');
  const model = await loadModel(modelPath, { gpu: 'cuda' });
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const token = () => 1000 + Math.floor(next() * (model.info.vocabSize - 1000));
  const reqs = () => Array.from({ length: parallel }, () => ({ tokens: Array.from({ length: promptTokens }, token) }));
  await model.generate(reqs(), { maxTokens: 1, parallel });
  await model.generate(reqs(), { maxTokens: 1, parallel });
  const s = model.lastGenerateStats();
  await model.dispose();
  return { tokS: (s.computedPromptTokens / s.prefillMs) * 1000, decodes: s.prefillDecodes, evaluations: s.prefillUbatches };
}

/** Throughput of generate alone at `parallel`, prompts ~promptWords + 8 tokens, `gen` tokens each, capture on/off. */
async function generateThroughput(modelPath, parallel, gen, capture, gpu, promptWords = 120) {
  const { loadModel } = await import('../dist/lib/engine/index.js');
  const model = await loadModel(modelPath, { gpu });
  const prompt = 'word '.repeat(promptWords);
  const reqs = Array.from({ length: parallel }, (_, i) => ({ prompt: `${i} ${prompt}` }));
  await model.generate(reqs.slice(0, 2), { maxTokens: 4, parallel, capture: capture ? undefined : false });
  await model.generate(reqs, { maxTokens: gen, ignoreEos: true, parallel, capture: capture ? undefined : false });
  const s = model.lastGenerateStats();
  await model.dispose();
  return (s.stepTokens / s.stepMs) * 1000;
}

async function main() {
  if (!existsSync(join(root, 'dist', 'lib', 'index.js'))) run('npx', ['tsc', '-p', 'tsconfig.build.json']);
  const cachedReference = existsSync(referenceCache) ? JSON.parse(readFileSync(referenceCache, 'utf8')) : null;
  if (cachedReference && !phases.has('reference')) log('reusing the reference result in .bench-cache/reference.json');
  const reference = phases.has('reference') ? referencePhase() : Promise.resolve(cachedReference);
  if (phases.has('build')) await buildPhase();
  if (phases.has('model')) await modelPhase();
  results.reference = await reference;
  if (!phases.has('run')) return finish();
  if (mode === 'gpu') {
    process.env.MOODAXIS_BUILD = 'source';
    const model = join(cacheDir, 'llama3-8b-shape-Q4_K_M.gguf');
    const perParallel = new Map();  // generate alone and batched-bench, once per parallelism
    for (const v of variants) {
      log(`our fingerprint workload, ${v.label}…`);
      const ours = await ourWorkload(model, v.parallel, { gpu: 'cuda', maxTokens: 200, baselineMaxTokens: 384, hostTopK: v.hostTopK });
      const p = ours.parallelUsed ?? v.parallel;
      if (!perParallel.has(p)) {
        log(`generate alone at parallel ${p}: no capture / capture…`);
        const genNoCapture = await generateThroughput(model, p, 200, false, 'cuda');
        const genCapture = await generateThroughput(model, p, 200, true, 'cuda');
        log(`llama-batched-bench at ${p}…`);
        perParallel.set(p, { genNoCapture, genCapture, batchedBench: batchedBench(model, p, 200) });
      }
      results.rows.push({ variant: v.label, parallel: p, ours, ...perParallel.get(p) });
    }
    // The ideal takes PP at llama.cpp's default ubatch (512); the engine's prefill evaluates up to
    // batchTokensDefault tokens at once on a GPU: PP at that size too, for the prefill against both.
    const { batchTokensDefault } = await import('../dist/lib/engine/model.js');
    const engineBatch = batchTokensDefault('cuda');
    if (engineBatch !== 512) {
      log(`llama-batched-bench PP at ubatch ${engineBatch}…`);
      const parallel = Math.max(...results.rows.map((r) => r.parallel));
      results.ppAtEngineBatch = { ubatch: engineBatch, ...batchedBench(model, parallel, 4, 128, engineBatch) };
    }
    // The shape of the prefill's largest batches: prompts past their shared prefix feed about 16 tokens each,
    // so a batch of the engine's size holds that many sequences (64 at 1024). PP at that shape in batched-bench
    // and in the engine (no shared prefixes there), to split the prefill into its tokens at that speed and the rest.
    const shapeTokens = 16, parallel = Math.max(...results.rows.map((r) => r.parallel));
    log(`prefill at ${engineBatch / shapeTokens} sequences × ${shapeTokens} tokens per ubatch: llama-batched-bench, then the engine…`);
    const shapeBb = batchedBench(model, parallel, 1, shapeTokens, engineBatch, engineBatch);
    results.ppAtPrefillShape = { ubatch: engineBatch, promptTokens: shapeTokens, ppTokS: shapeBb?.ppTokS ?? null, engine: await prefillThroughput(model, parallel, shapeTokens) };
  } else {
    const stories = resolve(root, 'test', 'models', 'stories260K.gguf');
    for (const { parallel: p } of variants) {
      log(`stories260K fingerprint workload at parallel ${p}…`);
      const ours = await ourWorkload(stories, p, { gpu: 'cpu', maxTokens: 200, baselineMaxTokens: 384 });
      const genCapture = await generateThroughput(stories, p, 64, true, 'cpu');
      const genNoCapture = await generateThroughput(stories, p, 64, false, 'cpu');
      results.rows.push({ model: 'stories260K', parallel: p, ours, genNoCapture, genCapture, batchedBench: batchedBench(stories, p, 64) });
    }
    // A 1B-ish synthetic shape (16 blocks, d 2048, Llama 3 vocabulary, Q8_0): generation throughput only,
    // short prompts and answers (the full workload would take hours on a small CPU).
    const { ensureFixtureModel } = await import('../dist/fixtures/models.js');
    const oneB = await ensureFixtureModel('llama1b', cacheDir);
    const [p, gen, words] = [8, 16, 12];
    log(`1B-shape generate at parallel ${p}, ${gen} tokens: no capture / capture, then llama-batched-bench…`);
    const genNoCapture = await generateThroughput(oneB, p, gen, false, 'cpu', words);
    const genCapture = await generateThroughput(oneB, p, gen, true, 'cpu', words);
    results.rows.push({ model: 'llama1b-shape', parallel: p, ours: null, genNoCapture, genCapture, batchedBench: batchedBench(oneB, p, gen, 16) });
  }
  finish();
}

function finish() {
  writeFileSync(join(outDir, 'bench-results.json'), JSON.stringify(results, null, 2));
  const f = (x, d = 0) => (x == null || !Number.isFinite(x) ? '–' : x.toFixed(d));
  const lines = [`moodaxis bench (${mode}) ${results.date} commit ${results.commit}`];
  const ref = results.reference;
  if (ref) lines.push(`reference (HF bf16, ${ref.device}): one response ${f(ref.per_response_s, 1)} s (${f(ref.per_response_tok_s, 1)} tok/s incl. hidden-state pass); batched ${ref.batched}: ${f(ref.batched_tok_s)} tok/s`);
  // The ideal on llama.cpp's kernels: load + unique prompt tokens (the distinct prefixes of the prompts, a
  // property of the workload: what any prefill must compute) ÷ batched-bench PP + generated tokens ÷ the best
  // TG. The prefill column also gives the time against the tokens prefill computed (shared ones fed again to
  // fill a batch evenly included), the measure of earlier rounds.
  const bestTg = Math.max(0, ...results.rows.map((r) => r.batchedBench?.tgTokS ?? 0));
  const bestPp = Math.max(0, ...results.rows.map((r) => r.batchedBench?.ppTokS ?? 0));
  const uniquePrompt = (o) => o.uniquePromptTokens ?? null;
  const idealOf = (o) => (bestTg && bestPp && uniquePrompt(o) != null ? o.loadSeconds + uniquePrompt(o) / bestPp + o.tokens / bestTg : null);
  if (results.rows.some((r) => r.ours)) {
    lines.push('| variant | parallel used | wall s | ideal s | wall / ideal | step tok/s ÷ batched-bench TG at that parallel | prefill s ÷ (unique prompt tokens ÷ PP) (÷ computed tokens ÷ PP) |');
    for (const r of results.rows) {
      if (!r.ours) continue;
      const ideal = idealOf(r.ours);
      const bb = r.batchedBench;
      const prefillIdeal = bestPp && uniquePrompt(r.ours) ? uniquePrompt(r.ours) / bestPp : null;
      lines.push(`| ${r.variant ?? r.parallel} | ${r.parallel} | ${f(r.ours.wallSeconds, 1)} | ${f(ideal, 1)} | ${ideal ? f(r.ours.wallSeconds / ideal, 2) + '×' : '–'} | ${bb?.tgTokS && r.ours.stepTokS ? f((100 * r.ours.stepTokS) / bb.tgTokS, 1) + ' %' : '–'} (gen alone: ${bb?.tgTokS ? f((100 * r.genCapture) / bb.tgTokS, 1) + ' %' : '–'}) | ${prefillIdeal && r.ours.prefillSeconds != null ? f(r.ours.prefillSeconds / prefillIdeal, 2) + '×' : '–'} (${bestPp && r.ours.computedPromptTokens && r.ours.prefillSeconds != null ? f(r.ours.prefillSeconds / (r.ours.computedPromptTokens / bestPp), 2) + '×' : '–'}; ${r.ours.uniquePromptTokens ?? '–'} unique, ${r.ours.computedPromptTokens ?? '–'} computed, ${r.ours.streamCopies ?? '–'} stream copies) |`);
    }
  }
  const engineBatchPp = results.ppAtEngineBatch?.ppTokS;
  for (const r of results.rows) {
    if (engineBatchPp && r.ours?.uniquePromptTokens && r.ours.prefillSeconds != null)
      lines.push(`${r.variant ?? r.parallel}: prefill ÷ (unique prompt tokens ÷ batched-bench PP at the engine's ubatch ${results.ppAtEngineBatch.ubatch}, ${f(engineBatchPp)} tok/s) = ${f(r.ours.prefillSeconds / (r.ours.uniquePromptTokens / engineBatchPp), 2)}×`);
    const shape = results.ppAtPrefillShape;
    if (shape?.ppTokS && r.ours?.computedPromptTokens && r.ours.prefillSeconds != null) {
      const atShape = r.ours.computedPromptTokens / shape.ppTokS;
      const copies = r.ours.streamCopies != null ? r.ours.streamCopies - (r.ours.movedSequences ?? 0) : null;
      lines.push(`${r.variant ?? r.parallel}: PP at ${shape.ubatch / shape.promptTokens} sequences × ${shape.promptTokens} tokens per ubatch ${shape.ubatch}: batched-bench ${f(shape.ppTokS)} tok/s, the engine ${f(shape.engine.tokS)} tok/s; prefill ${f(r.ours.prefillSeconds, 2)} s = ${r.ours.computedPromptTokens} computed tokens ÷ batched-bench's ${f(atShape, 2)} s + ${f(r.ours.prefillSeconds - atShape, 2)} s (${copies ?? '–'} stream copies, ${r.ours.prefillDecodes} decodes)`);
    }
    if (r.ours?.prefillUbatches != null) lines.push(`${r.variant ?? r.parallel}: prefill ${r.ours.prefillDecodes} decodes in ${r.ours.prefillUbatches} graph evaluations; ${r.ours.steps} steps in ${r.ours.stepUbatches}`);
  }
  lines.push('| parallel | wall s (load incl.) | load s | prefill s (shared/prompt tokens) | tokens | tok/s | step tok/s | gen no-capture | gen capture | batched-bench TG | capture/bb | RSS MiB | GPU MiB | vs ref 1-by-1 | vs ref batched |');
  for (const r of results.rows) {
    const bb = r.batchedBench?.tgTokS;
    const refSerial = ref && r.ours ? (ref.per_response_s * (r.ours.tokens / 200)) / r.ours.wallSeconds : null;
    const refBatched = ref && r.ours ? r.ours.tokS / ref.batched_tok_s : null;
    if (!r.ours) {
      lines.push(`| ${r.model} ${r.parallel} (generate only) | – | – | – | – | – | – | ${f(r.genNoCapture)} | ${f(r.genCapture)} | ${f(bb)} | ${bb ? f((100 * r.genCapture) / bb, 1) + ' %' : '–'} | – | – | – | – |`);
      continue;
    }
    lines.push(`| ${r.model ? `${r.model} ` : ''}${r.variant ?? r.parallel} | ${f(r.ours.wallSeconds, 1)} | ${f(r.ours.loadSeconds, 1)} | ${f(r.ours.prefillSeconds, 1)} (${r.ours.sharedPrefixTokens ?? '–'}/${r.ours.prefillTokens ?? '–'}) | ${r.ours.tokens} | ${f(r.ours.tokS)} | ${f(r.ours.stepTokS)} | ${f(r.genNoCapture)} | ${f(r.genCapture)} | ${f(bb)} | ${bb ? f((100 * r.genCapture) / bb, 1) + ' %' : '–'} | ${f(r.ours.peakRssMiB)} | ${f(r.ours.peakGpuMiB)} | ${refSerial ? f(refSerial, 0) + '×' : '–'} | ${refBatched ? f(refBatched, 1) + '×' : '–'} |`);
  }
  console.log(lines.join('\n'));
}

main().catch((e) => {
  console.error(e);
  finish();
  process.exit(1);
});

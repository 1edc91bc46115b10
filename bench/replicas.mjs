#!/usr/bin/env node
// Scaling out on one host, measured side by side in one run: the full fingerprint workload with one
// model in this process, the same model in a child process (isolate), two replicas on the first GPU,
// one replica per GPU (--gpus all), and one model split over the GPUs by llama.cpp (layer, row).
// Prints a table with each configuration's time against the first, and writes bench-results/replicas.json.
//
//   node bench/replicas.mjs --mode gpu [--parallel 128] [--runs 1] [--split-check]
//   node bench/replicas.mjs --mode cpu [--runs 3]     (stories260K: isolate and CPU-replica overhead)
//
// GPU mode runs the 8B-shape workload of bench/run.mjs (Llama-3-8B shape, Q4_K_M, 590 responses,
// 123,520 tokens with ignoreEos) on the CUDA build; when the model or the build is missing it runs
// `node bench/run.mjs --mode gpu --phases build,model` first. --split-check also compares a short
// deterministic fingerprint split over the GPUs (layer) with one GPU, per axis (slow: each sequence alone).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const root = new URL('..', import.meta.url).pathname;
const { values: flags } = parseArgs({
  options: { mode: { type: 'string', default: 'cpu' }, runs: { type: 'string' }, parallel: { type: 'string' }, 'split-check': { type: 'boolean', default: false } },
});
const mode = flags.mode;
const gpuMode = mode === 'gpu';
const runs = Number(flags.runs ?? (gpuMode ? 1 : 3));
const parallel = Number(flags.parallel ?? (gpuMode ? 128 : 16));
const splitCheck = flags['split-check'];
const outDir = process.env.OUT || join(root, 'bench-results');
const log = (m) => process.stderr.write(`[replicas ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
const sh = (cmd, a) => spawnSync(cmd, a, { cwd: root, encoding: 'utf8' });

const modelPath = gpuMode ? join(root, '.bench-cache', 'llama3-8b-shape-Q4_K_M.gguf') : join(root, 'test', 'models', 'stories260K.gguf');
// the workload of bench/run.mjs on both: calibration and evaluation answers of 200 tokens, baseline answers of 384
const workload = { maxTokens: 200, baselineMaxTokens: 384 };

function gpuNames() {
  const r = sh('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader']);
  return r.status === 0 ? r.stdout.trim().split('\n') : [];
}

function gpuMemoryUsedMiB() {
  const r = sh('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits']);
  return r.status === 0 ? r.stdout.trim().split('\n').map(Number) : null;
}

/**
 * CPU seconds of this process and of its reaped children (user + system, /proc/self/stat, USER_HZ 100):
 * what a configuration costs the machine, steadier than wall time on a shared one.
 */
function cpuSeconds() {
  const fields = readFileSync('/proc/self/stat', 'utf8').replace(/^.*\) /, '').split(' ');
  return fields.slice(11, 15).reduce((sum, ticks) => sum + Number(ticks), 0) / 100;
}

/** The configurations, first one the reference. */
function configurations(gpus) {
  if (!gpuMode)
    return [
      { name: 'one model, in process', load: { gpu: 'cpu' } },
      { name: 'isolate (child process)', load: { gpu: 'cpu', isolate: true } },
      { name: '2 CPU replicas', load: { gpu: 'cpu', replicas: 2 } },
    ];
  // on a host with several GPUs llama.cpp spreads one model over all of them unless told otherwise
  const oneGpu = gpus > 1 ? { splitMode: 'none' } : {};
  const list = [
    { name: '1 GPU, in process', load: { gpu: 'cuda', ...oneGpu } },
    { name: '1 GPU, isolate (child process)', load: { gpu: 'cuda', isolate: true, ...oneGpu } },
    { name: '2 replicas on GPU 0', load: { gpus: [0], replicas: 2 } },
  ];
  if (gpus > 1) {
    list.push({ name: `--gpus all (${gpus} replicas)`, load: { gpus: 'all' } });
    list.push({ name: `split-mode layer over ${gpus} GPUs`, load: { gpu: 'cuda', splitMode: 'layer' } });
    list.push({ name: `split-mode row over ${gpus} GPUs`, load: { gpu: 'cuda', splitMode: 'row' } });
  }
  return list;
}

async function measure(config) {
  const { loadModel } = await import('../dist/lib/engine/index.js');
  const { fingerprint } = await import('../dist/lib/protocols/fingerprint.js');
  const { builtinAxisSet } = await import('../dist/lib/method/axes-file.js');
  const cpu0 = cpuSeconds();
  const t0 = performance.now();
  const model = await loadModel(modelPath, config.load);
  const loadSeconds = (performance.now() - t0) / 1000;
  const gpuMiB = gpuMemoryUsedMiB();
  try {
    const t1 = performance.now();
    const doc = await fingerprint(model, { axisSet: builtinAxisSet(), parallel, ...workload, ignoreEos: true, cache: false });
    const workSeconds = (performance.now() - t1) / 1000;
    const stats = model.lastGenerateStats();
    await model.dispose();
    // the replica processes have ended and been reaped: their CPU time is in cutime/cstime
    const cpuAll = cpuSeconds() - cpu0;
    return { loadSeconds, workSeconds, cpuSeconds: cpuAll, tokens: doc.timing.generatedTokens, responses: doc.responses.length, device: model.info.device ?? 'cpu', split: model.info.split ?? null, replicas: model.info.replicas ?? 1, gpuMiBAfterLoad: gpuMiB, stats };
  } finally {
    await model.dispose();
  }
}

/** Largest per-axis difference of the mean score (and of any one score) between one GPU and a layer split, deterministic. */
async function splitAgreement() {
  const { loadModel } = await import('../dist/lib/engine/index.js');
  const { fingerprint } = await import('../dist/lib/protocols/fingerprint.js');
  const { builtinAxisSet } = await import('../dist/lib/method/axes-file.js');
  const short = { axisSet: builtinAxisSet(), maxTokens: 16, baselineMaxTokens: 16, deterministic: true, cache: false };
  const docs = [];
  for (const load of [{ gpu: 'cuda', splitMode: 'none' }, { gpu: 'cuda', splitMode: 'layer' }]) {
    log(`split check: deterministic fingerprint (16 tokens) with ${JSON.stringify(load)}…`);
    const model = await loadModel(modelPath, load);
    try {
      docs.push(await fingerprint(model, short));
    } finally {
      await model.dispose();
    }
  }
  const [one, split] = docs;
  const texts = one.responses.filter((r, i) => r.text === split.responses[i].text).length;
  const perAxis = one.axes.map((a, i) => ({ axis: a.id, meanDiff: Math.abs(a.mean - split.axes[i].mean), maxScoreDiff: Math.max(...a.scores.map((s, j) => Math.abs(s - split.axes[i].scores[j]))) }));
  return { identicalTexts: texts, responses: one.responses.length, perAxis, largestMeanDiff: Math.max(...perAxis.map((p) => p.meanDiff)) };
}

async function main() {
  if (!existsSync(join(root, 'dist', 'lib', 'index.js'))) {  // (a GPU machine gets dist/ built here)
    const tsc = sh('npx', ['tsc', '-p', 'tsconfig.build.json']);
    if (tsc.status !== 0) throw new Error(`tsc failed: ${tsc.stdout}${tsc.stderr}`);
  }
  if (gpuMode) {
    if (!existsSync(modelPath) || !existsSync(join(root, 'build-source', 'Release', 'moodaxis.node'))) {
      log('the CUDA build or the 8B-shape model is missing: node bench/run.mjs --mode gpu --phases build,model');
      const r = spawnSync(process.execPath, ['bench/run.mjs', '--mode', 'gpu', '--phases', 'build,model'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
      if (r.status !== 0) throw new Error('bench/run.mjs --phases build,model failed');
    }
    process.env.MOODAXIS_BUILD = 'source';
  }
  const cards = gpuNames();
  const gpus = cards.length;
  const results = { mode, date: new Date().toISOString(), commit: process.env.MOODAXIS_COMMIT ?? (sh('git', ['rev-parse', '--short', 'HEAD']).stdout || 'unknown').trim(), cards, parallel, workload, rows: [] };
  const list = configurations(gpus);
  // runs alternate through the configurations, so that a slow moment of the machine is shared among them
  for (let run = 0; run < runs; run++) {
    for (const config of list) {
      log(`${config.name} (run ${run + 1} of ${runs})…`);
      const r = await measure(config);
      log(`  load ${r.loadSeconds.toFixed(1)} s, workload ${r.workSeconds.toFixed(1)} s, ${r.tokens} tokens`);
      results.rows.push({ config: config.name, load: config.load, run, ...r });
    }
  }
  if (splitCheck && gpus > 1) results.splitCheck = await splitAgreement();
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'replicas.json'), JSON.stringify(results, null, 2));
  print(results, list);
}

function print(results, list) {
  const median = (xs) => {
    const sorted = [...xs].sort((a, b) => a - b);
    const mid = (sorted.length - 1) / 2;
    return (sorted[Math.floor(mid)] + sorted[Math.ceil(mid)]) / 2;
  };
  const f = (x, d = 1) => (x == null || !Number.isFinite(x) ? '–' : x.toFixed(d));
  const lines = [`moodaxis replicas bench (${results.mode}) ${results.date} commit ${results.commit}${results.cards.length ? `; ${results.cards.join('; ')}` : ''}`];
  lines.push(`workload: full fingerprint, ${results.rows[0]?.responses ?? '?'} responses, ${results.rows[0]?.tokens ?? '?'} tokens (ignoreEos), parallel ${results.parallel} per replica; median of ${runs} run(s)`);
  lines.push('| configuration | device | load s | workload s | tok/s | workload vs first | load + workload vs first | CPU s, all processes | GPU MiB after load |');
  lines.push('|---|---|---|---|---|---|---|---|---|');
  const med = list.map((c) => {
    const rows = results.rows.filter((r) => r.config === c.name);
    return { c, rows, load: median(rows.map((r) => r.loadSeconds)), work: median(rows.map((r) => r.workSeconds)), cpu: median(rows.map((r) => r.cpuSeconds)) };
  });
  const [first] = med;
  for (const m of med) {
    const r = m.rows[0];
    lines.push(`| ${m.c.name} | ${r.device}${r.split ? ` (${r.split.mode})` : ''} | ${f(m.load)} | ${f(m.work)} | ${f(r.tokens / m.work, 0)} | ${f(m.work / first.work, 3)}× | ${f((m.load + m.work) / (first.load + first.work), 3)}× | ${f(m.cpu)} | ${r.gpuMiBAfterLoad ? r.gpuMiBAfterLoad.join(' + ') : '–'} |`);
  }
  if (results.splitCheck) {
    const s = results.splitCheck;
    lines.push(`split check (deterministic, 16 tokens): ${s.identicalTexts} of ${s.responses} texts identical; largest per-axis mean difference ${s.largestMeanDiff.toExponential(2)}; per axis: ${s.perAxis.map((p) => `${p.axis} ${p.meanDiff.toExponential(1)}`).join(', ')}`);
  }
  console.log(lines.join('\n'));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

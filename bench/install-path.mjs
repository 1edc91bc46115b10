#!/usr/bin/env node
// The GPU path a user gets from `npm install` alone, measured on the GPU machine (BENCHMARKS.md).
//
//   node bench/install-path.mjs first-use MODEL   `moodaxis fingerprint MODEL` with nothing prepared: the
//                                                 CUDA candidates are checked (and the backend built from
//                                                 source when needed) inside that one command
//   node bench/install-path.mjs compare MODEL     the full fingerprint workload on the prebuilt addon with
//                                                 the CUDA backend that won, then on the `build:cuda` addon,
//                                                 one after another in this call
// Logs and JSON go to $OUT (or bench-results/); a table is printed last.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const [mode, model] = process.argv.slice(2);
const out = process.env.OUT || join(root, 'bench-results');
mkdirSync(out, { recursive: true });
const log = (m) => process.stderr.write(`[install-path ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

/** Runs node with args; stderr to a log file, stdout returned. */
function node(args, env, logName) {
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      for (const line of d.toString().split('\n')) if (/moodaxis: (checking|building|the CUDA|built|node-llama|no usable|.*cannot be used|.*works on)/.test(line)) log(line.trim());
    });
    child.on('close', (code, signal) => {
      writeFileSync(join(out, logName), stderr);
      const seconds = (performance.now() - t0) / 1000;
      if (code !== 0) rej(new Error(`node ${args.join(' ')} ended with ${signal ?? code} after ${seconds.toFixed(0)} s; see ${logName}`));
      else res({ stdout, seconds });
    });
  });
}

async function workload() {
  // one full fingerprint workload in this process (MOODAXIS_BUILD picks the addon)
  const { loadModel } = await import('../dist/lib/engine/index.js');
  const { fingerprint } = await import('../dist/lib/protocols/fingerprint.js');
  const { builtinAxisSet } = await import('../dist/lib/method/axes-file.js');
  const t0 = performance.now();
  const m = await loadModel(model, { gpu: 'cuda' });
  const loadSeconds = (performance.now() - t0) / 1000;
  const doc = await fingerprint(m, { axisSet: builtinAxisSet(), maxTokens: 200, baselineMaxTokens: 384, ignoreEos: true, cache: false });
  const stats = m.lastGenerateStats();
  const { backend, device } = m.info;
  await m.dispose();
  const wall = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ backend, device, wall, loadSeconds, tokens: doc.timing.generatedTokens, tokS: doc.timing.generatedTokens / wall, stepTokS: stats ? (stats.stepTokens / stats.stepMs) * 1000 : null, parallel: stats?.parallel ?? null }));
}

async function firstUse() {
  const fp = await node([join(root, 'bin', 'moodaxis.js'), 'fingerprint', model, '--out', join(out, 'first-use')], {}, 'first-use.log');
  const doc = JSON.parse(readFileSync(join(out, 'first-use', 'fingerprint.json'), 'utf8'));
  const doctor = JSON.parse((await node([join(root, 'bin', 'moodaxis.js'), 'doctor', '--json'], {}, 'doctor.log')).stdout);
  const result = { seconds: fp.seconds, backend: doc.manifest.model?.backend ?? doc.manifest.backend ?? null, tokens: doc.timing?.generatedTokens, doctor: doctor.cuda };
  writeFileSync(join(out, 'first-use.json'), JSON.stringify(result, null, 2));
  console.log(`first use: \`moodaxis fingerprint\` ended in ${fp.seconds.toFixed(0)} s on ${JSON.stringify(result.backend)} (${result.tokens} tokens)`);
  for (const c of doctor.cuda.candidates) console.log(`  ${c.verdict.ok ? 'ok' : 'no'}  ${c.label}: ${c.verdict.ok ? c.verdict.device : c.verdict.reason} (${c.verdict.seconds} s)`);
}

async function compare() {
  const rows = [];
  for (const [name, build] of [['npm install (prebuilt addon + CUDA backend)', 'prebuilt'], ['build:cuda (llama.cpp linked in)', 'source']]) {
    log(`full workload on ${name}…`);
    const r = await node([fileURLToPath(import.meta.url), 'workload', model], { MOODAXIS_BUILD: build }, `workload-${build}.log`);
    rows.push({ name, ...JSON.parse(r.stdout.trim().split('\n').pop()) });
  }
  writeFileSync(join(out, 'compare.json'), JSON.stringify(rows, null, 2));
  console.log('| path | device | parallel | wall s (load incl.) | load s | tokens | tok/s | step tok/s |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.name} | ${r.device} | ${r.parallel} | ${r.wall.toFixed(1)} | ${r.loadSeconds.toFixed(1)} | ${r.tokens} | ${r.tokS.toFixed(0)} | ${r.stepTokS?.toFixed(0)} |`);
}

if (mode === 'workload') await workload();
else if (mode === 'first-use') await firstUse();
else if (mode === 'compare') await compare();
else {
  process.stderr.write('usage: node bench/install-path.mjs first-use|compare MODEL\n');
  process.exit(2);
}

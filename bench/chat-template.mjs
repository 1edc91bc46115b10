#!/usr/bin/env node
// Chat templates rendered in the budgeted worker (this tree) against the main-thread rendering they
// replaced (a git ref), side by side in one run: loading the chat-templated tiny model and its
// fingerprint (590 prompts), then the rendering of those 590 prompts alone, ten times (the first, and the median of the
// others). Each measurement runs in its own child process, alternating before/after, so both see the
// same machine load.
//
//   node bench/chat-template.mjs [--before <ref>, default: the merge base with main] [--rounds 3] [--max-tokens 4]
//
// Needs dist/ built here (npm run build); the `before` tree is exported with git archive into
// .bench-cache/before-<ref> and compiled there (node_modules, native/ and build/ are linked from here).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: flags } = parseArgs({ options: { before: { type: 'string' }, rounds: { type: 'string', default: '3' }, 'max-tokens': { type: 'string', default: '4' } } });
const rounds = Number(flags.rounds);
const maxTokens = Number(flags['max-tokens']);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cache = join(root, '.bench-cache');
const log = (m) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

function run(cmd, argv, cwd) {
  const r = spawnSync(cmd, argv, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

const ref = flags.before ?? run('git', ['merge-base', 'HEAD', 'main'], root).trim();

/** The `before` tree, compiled: <cache>/before-<sha>. */
function beforeTree() {
  const sha = run('git', ['rev-parse', '--short', ref], root).trim();
  const dir = join(cache, `before-${sha}`);
  if (existsSync(join(dir, 'dist/lib/index.js'))) return { dir, sha };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  log(`exporting ${ref} (${sha}) into ${dir} and compiling it`);
  run('sh', ['-c', `git archive ${sha} lib fixtures axes package.json tsconfig.json tsconfig.build.json | tar -x -C ${dir}`], root);
  for (const link of ['node_modules', 'native', 'build']) symlinkSync(join(root, link), join(dir, link));
  run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], dir);
  return { dir, sha };
}

// One measurement, in a child process: the fingerprint, then the rendering of the prompts it sent.
const CHILD = `
const [tree, fixtures, maxTokens] = process.argv.slice(1);
const lib = await import(tree + '/dist/lib/index.js');
const { ensureFixtureModel } = await import(tree + '/dist/fixtures/models.js');
const path = await ensureFixtureModel('tinyChat', fixtures);
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
let t = performance.now();
const fingerprintCpu0 = cpu();
const model = await lib.loadModel(path, { gpu: 'cpu' });
const generate = model.generate.bind(model);
const conversations = [];
model.generate = (requests, options) => {
  for (const r of requests) if (r.messages) conversations.push(r.messages);
  return generate(requests, options);
};
await lib.fingerprint(model, { maxTokens: Number(maxTokens), baselineMaxTokens: Number(maxTokens), cache: false });
const fingerprintMs = performance.now() - t;
const fingerprintCpuMs = cpu() - fingerprintCpu0;
const chat = await import(tree + '/dist/lib/engine/chat.js');
const render = async () => {
  const t0 = performance.now();
  const c0 = cpu();
  if (chat.renderChats) {
    const sandbox = await import(tree + '/dist/lib/engine/template-sandbox.js');
    await chat.renderChats(model.info.chatTemplate, conversations, { bosText: '', eosText: '<|im_end|>' }, sandbox.templateBudget());
  } else {
    for (const c of conversations) model.renderPrompt(c);
  }
  return [performance.now() - t0, cpu() - c0];
};
const renderMs = [];
const renderCpuMs = [];
for (let i = 0; i < 10; i++) {
  const [wall, cpuMs] = await render();
  renderMs.push(wall);
  renderCpuMs.push(cpuMs);
}
await model.dispose();
process.stdout.write(JSON.stringify({ prompts: conversations.length, fingerprintMs, fingerprintCpuMs, renderMs, renderCpuMs }));
`;

function measure(tree) {
  const out = run(process.execPath, ['--input-type=module', '-e', CHILD, tree, join(cache, 'models'), String(maxTokens)], root);
  return JSON.parse(out);
}

if (!existsSync(join(root, 'dist/lib/engine/template-sandbox.js'))) throw new Error('dist/ is not built here: npm run build');
const before = beforeTree();
const rows = { before: [], after: [] };
for (let i = 0; i < rounds; i++) {
  for (const [name, tree] of [['before', before.dir], ['after', root]]) {
    const m = measure(tree);
    rows[name].push(m);
    log(`round ${i + 1} ${name}: load + fingerprint ${m.fingerprintMs.toFixed(0)} ms (CPU ${m.fingerprintCpuMs.toFixed(0)} ms), rendering its ${m.prompts} prompts ${m.renderMs.map((x) => x.toFixed(0)).join(' / ')} ms`);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const both = (xs, digits) => `${median(xs).toFixed(digits)} / ${Math.min(...xs).toFixed(digits)}`.padStart(14);
const line = (name, label) => {
  const r = rows[name];
  return `${label.padEnd(36)} ${both(r.map((m) => m.fingerprintMs), 0)} ${both(r.map((m) => m.fingerprintCpuMs), 0)} ${both(r.map((m) => m.renderMs[0]), 1)} ${both(r.map((m) => median(m.renderMs.slice(1))), 1)} ${both(r.map((m) => median(m.renderCpuMs.slice(1))), 1)}`;
};
console.log(`tinyChat load + fingerprint (${rows.after[0].prompts} prompts, max tokens ${maxTokens}), ${rounds} rounds, ms as median / min`);
console.log(`${''.padEnd(36)} ${'load+fingerpr.'.padStart(14)} ${'its CPU time'.padStart(14)} ${'render 1st'.padStart(14)} ${'render again'.padStart(14)} ${'its CPU time'.padStart(14)}`);
console.log('(CPU time: all threads of the process, llama.cpp included; less sensitive to other load than wall time)');
console.log(line('before', `before (${before.sha}, main thread)`));
console.log(line('after', 'after (template worker)'));

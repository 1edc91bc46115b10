#!/usr/bin/env node
// Correctness of the CUDA path (run on the GPU machine with a CUDA build in build-source/):
//  1. hidden states per layer vs HF transformers output_hidden_states (same F32 weights), rel. error
//  2. captured vectors on stories260K: CUDA vs CPU, rel. error
//  3. a stories260K fingerprint on CUDA vs CPU (same seeds): largest per-axis difference of mean scores,
//     in deterministic mode and in the fast default
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

process.env.MOODAXIS_BUILD ??= 'source';
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const models = process.env.MOODAXIS_TEST_MODELS ?? resolve(root, 'test', 'models');
const { loadModel } = await import('../dist/lib/engine/index.js');
const { fingerprint } = await import('../dist/lib/protocols/fingerprint.js');
const { ensureFixtureModel } = await import('../dist/fixtures/models.js');
const out = {};
const relErr = (a, b) => {
  let n = 0, d = 0;
  for (let i = 0; i < a.length; i++) { n += (a[i] - b[i]) ** 2; d += b[i] ** 2; }
  return Math.sqrt(n / d);
};

// 1. HF comparison on a small F32 llama written by our fixture writer
{
  const dir = mkdtempSync(join(tmpdir(), 'mx-hf-'));
  const path = await ensureFixtureModel({ name: 'hf-check', layers: 4, hiddenSize: 256, ffSize: 512, heads: 8, kvHeads: 4, contextLength: 512, seed: 5, type: 'f32', chatTemplate: null, tokenizer: 'builtin' }, dir);
  const model = await loadModel(path, { gpu: 'cuda' });
  const prompt = model.tokenize('Once upon a time there was a little robot', { addSpecial: true });
  const [gen] = await model.generate([{ prompt: 'Once upon a time there was a little robot' }], { temperature: 0, maxTokens: 16, deterministic: true });
  const ids = Int32Array.from([...prompt, ...gen.tokenIds]);
  const layers = [0, 1, 2];
  const ours = await model.hiddenStates(ids, layers);
  await model.dispose();
  writeFileSync(join(dir, 'ids.json'), JSON.stringify({ ids: Array.from(ids), layers }));
  const py = spawnSync('python3', [join(root, 'bench', 'hf_states.py'), path, join(dir, 'ids.json'), join(dir, 'hf.json')], {
    encoding: 'utf8', env: { ...process.env, PYTHONPATH: join(process.env.MOODAXIS_LLAMA_CPP_SOURCE ?? '', 'gguf-py') },
  });
  if (py.status !== 0) out.hf = { error: py.stderr.slice(-1500) };
  else {
    const hf = JSON.parse(readFileSync(join(dir, 'hf.json'), 'utf8')).states;
    const d = 256;
    out.hf = {};
    for (const [i, l] of layers.entries()) {
      const a = [], b = [];
      for (let p = prompt.length; p < ids.length; p++) { a.push(...ours[i].subarray(p * d, (p + 1) * d)); b.push(...hf[l][p]); }
      out.hf[`block ${l}`] = relErr(a, b);
    }
  }
}

// 2. CUDA vs CPU vectors, stories260K, greedy
{
  const prompts = ['Once upon a time', 'The little dog', 'Tom had a red ball', 'Lily went to the park', 'The sun was hot', 'A big fish', 'Sue and Ben', 'One day'];
  const vecs = {};
  for (const gpu of ['cpu', 'cuda']) {
    const m = await loadModel(join(models, 'stories260K.gguf'), { gpu });
    vecs[gpu] = await m.generate(prompts.map((p) => ({ prompt: p })), { temperature: 0, maxTokens: 24, deterministic: true, parallel: 8 });
    out[`backend ${gpu}`] = m.info.backend + (m.info.device ? ` (${m.info.device})` : '');
    await m.dispose();
  }
  out.vectors = vecs.cpu.map((r, i) => ({ sameText: r.text === vecs.cuda[i].text, relErr: relErr(vecs.cuda[i].vector, r.vector) }));
  out.maxVectorRelErr = Math.max(...out.vectors.filter((v) => v.sameText).map((v) => v.relErr));
}

// 3. fingerprint CUDA vs CPU, built-in axes, same seeds: deterministic mode (F32 KV cache, no flash
// attention, on CUDA each sequence alone: exact F32 kernels) and the fast default (CUDA batched with flash
// attention, F16 KV cache, TF32 matrix products for F32 weights)
const modes = (process.env.MOODAXIS_CHECK_FINGERPRINTS ?? 'deterministic:24,deterministic:200,default:24').split(',');
for (const m of modes) {
  const [mode, tokens] = [m.split(':')[0], Number(m.split(':')[1])];
  const docs = {};
  for (const gpu of ['cpu', 'cuda']) {
    const t0 = performance.now();
    docs[gpu] = await fingerprint(join(models, 'stories260K.gguf'), { gpu, maxTokens: tokens, baselineMaxTokens: tokens, cache: false, deterministic: mode === 'deterministic' });
    out[`fingerprint ${mode} ${tokens} tokens ${gpu} seconds`] = (performance.now() - t0) / 1000;
  }
  const sameText = docs.cpu.responses.filter((r, i) => r.text === docs.cuda.responses[i].text).length;
  const diff = Object.fromEntries(docs.cpu.axes.map((a, i) => [a.id, Math.abs(a.mean - docs.cuda.axes[i].mean)]));
  out[`fingerprint ${mode} ${tokens} tokens`] = { sameTextResponses: `${sameText}/${docs.cpu.responses.length}`, diff, max: Math.max(...Object.values(diff)) };
}
console.log(JSON.stringify(out, null, 2));
if (process.env.OUT) writeFileSync(join(process.env.OUT, 'gpu-checks.json'), JSON.stringify(out, null, 2));

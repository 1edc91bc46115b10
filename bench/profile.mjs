// Step throughput of generate under option combinations (GPU): where the gap to llama-batched-bench is.
//   node bench/profile.mjs MODEL [parallel=64] [gen=200]
import { loadModel } from '../dist/lib/engine/index.js';
const [path, parallel = '64', gen = '200'] = process.argv.slice(2);
const model = await loadModel(path, { gpu: 'cuda' });
const reqs = Array.from({ length: Number(parallel) }, (_, i) => ({ prompt: `${i} ${'word '.repeat(120)}` }));
await model.generate(reqs.slice(0, 2), { maxTokens: 4 });
for (const [label, o] of [
  ['device top-k, capture', { deviceTopK: true }],
  ['device top-k, no capture', { capture: false, deviceTopK: true }],
  ['host sampling, capture', { deviceTopK: false }],
  ['host sampling, no capture', { capture: false, deviceTopK: false }],
  ['host greedy, no capture', { capture: false, temperature: 0, deviceTopK: false }],
  ['backend sampling, capture', { backendSampling: true }],
  ['backend sampling, no capture', { capture: false, backendSampling: true }],
]) {
  const t0 = performance.now();
  await model.generate(reqs, { maxTokens: Number(gen), ignoreEos: true, parallel: Number(parallel), ...o });
  const s = model.lastGenerateStats();
  const per = (ms) => (ms / s.steps).toFixed(2);
  console.log(`${label.padEnd(30)} step ${((s.stepTokens / s.stepMs) * 1000).toFixed(0)} tok/s, ${per(s.stepMs)} ms/step (in llama_decode ${per(s.decodeMs)}, of it capture ${per(s.captureMs)}; waiting ${per(s.waitMs)}; sampling ${per(s.sampleMs)}; prefill included), prefill ${(s.prefillMs).toFixed(0)} ms, wall ${((performance.now() - t0) / 1000).toFixed(2)} s`);
}
await model.dispose();

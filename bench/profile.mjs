// Step throughput of generate under option combinations (GPU): where the gap to llama-batched-bench is.
//   node bench/profile.mjs MODEL [parallel=64] [gen=200] [modes=all, comma-separated: topk,topk-nocap,host,...]
// Switches read when a context is made (MOODAXIS_CAPTURE_SUMS, MOODAXIS_GRAPH_TAP, MOODAXIS_TOP_K_BLOCKS)
// apply to the whole run: compare them in separate runs.
import { loadModel } from '../dist/lib/engine/index.js';
const [path, parallel = '64', gen = '200', modes = 'all'] = process.argv.slice(2);
const all = {
  topk: ['device top-k, capture', { deviceTopK: true }],
  'topk-nocap': ['device top-k, no capture', { capture: false, deviceTopK: true }],
  host: ['host sampling, capture', { deviceTopK: false }],
  'host-nocap': ['host sampling, no capture', { capture: false, deviceTopK: false }],
  greedy: ['host greedy, no capture', { capture: false, temperature: 0, deviceTopK: false }],
  backend: ['backend sampling, capture', { backendSampling: true }],
  'backend-nocap': ['backend sampling, no capture', { capture: false, backendSampling: true }],
};
const chosen = modes === 'all' ? Object.keys(all) : modes.split(',');
const model = await loadModel(path, { gpu: 'cuda' });
const reqs = Array.from({ length: Number(parallel) }, (_, i) => ({ prompt: `${i} ${'word '.repeat(120)}` }));
await model.generate(reqs.slice(0, 2), { maxTokens: 4 });
const env = ['MOODAXIS_CAPTURE_SUMS', 'MOODAXIS_GRAPH_TAP', 'MOODAXIS_TOP_K_BLOCKS'].filter((k) => process.env[k] !== undefined).map((k) => `${k}=${process.env[k]}`).join(' ');
for (const key of chosen) {
  const [label, o] = all[key];
  const t0 = performance.now();
  await model.generate(reqs, { maxTokens: Number(gen), ignoreEos: true, parallel: Number(parallel), ...o });
  const s = model.lastGenerateStats();
  const per = (ms) => (ms / s.steps).toFixed(2);
  console.log(`${(label + (env ? ` [${env}]` : '')).padEnd(30)} step ${((s.stepTokens / s.stepMs) * 1000).toFixed(0)} tok/s, ${per(s.stepMs)} ms/step (in llama_decode ${per(s.decodeMs)}, of it capture ${per(s.captureMs)}; waiting ${per(s.waitMs)}; sampling ${per(s.sampleMs)}; prefill included), prefill ${(s.prefillMs).toFixed(0)} ms, wall ${((performance.now() - t0) / 1000).toFixed(2)} s`);
}
await model.dispose();

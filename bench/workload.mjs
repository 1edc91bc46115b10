// The benchmark's fingerprint workload alone (590 responses, ignoreEos, default settings unless given),
// with the engine's statistics: where the time of one run goes.
//   node bench/workload.mjs MODEL [gpu=cuda] [parallel=default]
// MOODAXIS_TRACE_PREFILL=1 adds a line per prefill decode (tokens, prompts, ubatches, stream copies, ms).
import { loadModel } from '../dist/lib/engine/index.js';
import { fingerprint } from '../dist/lib/protocols/fingerprint.js';
import { builtinAxisSet } from '../dist/lib/method/axes-file.js';
const [path, gpu = 'cuda', parallelArg] = process.argv.slice(2);
const t0 = performance.now();
const model = await loadModel(path, { gpu });
const loadSeconds = (performance.now() - t0) / 1000;
const parallel = parallelArg ? Number(parallelArg) : undefined;
const doc = await fingerprint(model, { axisSet: builtinAxisSet(), parallel, maxTokens: 200, baselineMaxTokens: 384, ignoreEos: true, cache: false });
const wallSeconds = (performance.now() - t0) / 1000;
const s = model.lastGenerateStats();
await model.dispose();
const ms = (v) => Number(v.toFixed(1));
console.log(JSON.stringify({
  wallSeconds: ms(wallSeconds), loadSeconds: ms(loadSeconds), responses: doc.responses.length, tokens: doc.timing.generatedTokens,
  stepTokS: Math.round((s.stepTokens / s.stepMs) * 1000), perStepMs: { step: ms(s.stepMs / s.steps), capture: ms(s.captureMs / s.steps), sample: ms(s.sampleMs / s.steps), wait: ms(s.waitMs / s.steps) },
  ...s,
}));

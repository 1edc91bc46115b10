// The benchmark workload's prefill plan without a GPU: a tiny model with Llama 3's tokenizer and chat
// template (fixtures: llama3Tiny) runs the fingerprint workload of bench/run.mjs on the CPU with a GPU's
// batch size and planning costs, so the prompts, admission waves, prefix sharing and batches are the 8B's on
// the GPU. Prints a line per prefill decode (MOODAXIS_TRACE_PREFILL) and the totals; the times are the CPU's.
//   node bench/prefill-plan.mjs [parallel=256]
// MOODAXIS_BATCH_TOKENS (default 1024) and MOODAXIS_PREFILL_COSTS (default 128,12: evalCostTokens and
// copyCostTokens) choose the GPU's settings; the Llama 3 vocabulary is looked up as fixtures/models.ts says.
process.env.MOODAXIS_BATCH_TOKENS ??= '1024';
process.env.MOODAXIS_PREFILL_COSTS ??= '128,12';
process.env.MOODAXIS_COMPACT_TAIL ??= '1';
process.env.MOODAXIS_TRACE_PREFILL ??= '1';
const { ensureFixtureModel } = await import('../dist/fixtures/models.js');
const { loadModel } = await import('../dist/lib/engine/index.js');
const { fingerprint } = await import('../dist/lib/protocols/fingerprint.js');
const { builtinAxisSet } = await import('../dist/lib/method/axes-file.js');
const parallel = Number(process.argv[2] ?? 256);
const model = await loadModel(await ensureFixtureModel('llama3Tiny'), { gpu: 'cpu' });
await fingerprint(model, { axisSet: builtinAxisSet(), parallel, maxTokens: 200, baselineMaxTokens: 384, ignoreEos: true, cache: false });
const s = model.lastGenerateStats();
await model.dispose();
console.log(`batch ${process.env.MOODAXIS_BATCH_TOKENS}, costs ${process.env.MOODAXIS_PREFILL_COSTS}, parallel ${s.parallel}: ` +
  `${s.prefillDecodes} prefill decodes in ${s.prefillUbatches} graph evaluations, ${s.computedPromptTokens} prompt tokens computed ` +
  `(${s.uniquePromptTokens} distinct-prefix tokens, ${s.sharedTokens} shared), ${s.streamCopies - s.movedSequences} stream copies in prefill (and ${s.movedSequences} moving sequences in the tail)`);

// The benchmark workload's prefill plan without a GPU: bench/workload.mjs on the CPU with a tiny model that has
// Llama 3's tokenizer and chat template (fixtures: llama3Tiny), at a GPU's batch size and planning costs, so
// the prompts, admission waves, prefix sharing and batches are the 8B's on the GPU. Prints a line per prefill
// decode (MOODAXIS_TRACE_PREFILL) and the totals; the times are the CPU's.
//   node bench/prefill-plan.mjs [parallel=256]
// MOODAXIS_BATCH_TOKENS (default 1024) and MOODAXIS_PREFILL_COSTS (default 128,12: evalCostTokens and
// copyCostTokens) choose the GPU's settings; the Llama 3 vocabulary is looked up as fixtures/models.ts says.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ensureFixtureModel } from '../dist/fixtures/models.js';
const env = { MOODAXIS_BATCH_TOKENS: '1024', MOODAXIS_PREFILL_COSTS: '128,12', MOODAXIS_COMPACT_TAIL: '1', MOODAXIS_TRACE_PREFILL: '1', ...process.env };
const parallel = process.argv[2] ?? '256';
const workload = fileURLToPath(new URL('./workload.mjs', import.meta.url));
const run = spawnSync(process.execPath, [workload, await ensureFixtureModel('llama3Tiny'), 'cpu', parallel], { env, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
if (run.status !== 0) process.exit(run.status ?? 1);
const s = JSON.parse(run.stdout.trim().split('\n').pop());
console.log(`batch ${env.MOODAXIS_BATCH_TOKENS}, costs ${env.MOODAXIS_PREFILL_COSTS}, parallel ${s.parallel}: ` +
  `${s.prefillDecodes} prefill decodes in ${s.prefillUbatches} graph evaluations, ${s.computedPromptTokens} prompt tokens computed ` +
  `(${s.uniquePromptTokens} distinct-prefix tokens, ${s.sharedTokens} shared), ${s.streamCopies - s.movedSequences} stream copies in prefill (and ${s.movedSequences} moving sequences in the tail)`);

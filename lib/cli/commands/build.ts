import { ensureCuda } from '../../engine/binding.js';
import { runBuildScript } from '../../engine/build-script.js';
import { MoodaxisError } from '../../engine/errors.js';
import { forgetVerdicts } from '../../engine/gpu-backends.js';
import { doctorReport, formatDoctor } from '../../protocols/doctor.js';
import { printResult } from '../runtime.js';
import { defineCommand } from './shared.js';

/** Runs scripts/build-addon.mjs; everything it prints goes to stderr. */
async function buildScript(args: string[]): Promise<void> {
  const run = await runBuildScript(args, (chunk) => process.stderr.write(chunk));
  if (run.code !== 0) throw new MoodaxisError('NATIVE', `the build failed (exit ${run.code}); its error lines are above`);
}

export const buildCommand = defineCommand({
  command: 'build',
  describe: "build the native addon, or llama.cpp's CUDA backend with this machine's CUDA toolkit, then show what runs",
  builder: (y) =>
    y
      .option('gpu', { choices: ['cpu', 'cuda'] as const, default: 'cpu' as const, describe: 'cuda: build the CUDA backend from the pinned llama.cpp source (needs nvcc and cmake; about 4 min on 16 cores)' })
      .option('from-source', { type: 'boolean', default: false, describe: 'build all of llama.cpp into the addon instead (minutes)' })
      .option('verbose', { type: 'boolean', default: false, describe: "stream the compiler's output to stderr" })
      .option('json', { type: 'boolean', default: false, describe: 'print the resulting doctor report as JSON' }),
  async handler(a) {
    const extra = a.verbose ? ['--verbose'] : [];
    if (a.fromSource) await buildScript(['--from-source', '--gpu', a.gpu, ...extra]);
    else if (a.gpu === 'cuda') {
      await buildScript(['--cuda-backend', ...extra]);
      await forgetVerdicts();
      await ensureCuda({ build: false });
    } else await buildScript(extra);
    printResult(a, await doctorReport(), { text: (report) => `${formatDoctor(report)}\n` });
  },
});

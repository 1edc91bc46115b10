import { printResult } from '../runtime.js';
import { defineCommand, outputOptions } from './shared.js';

export const doctorCommand = defineCommand({
  command: 'doctor',
  describe: 'report the build, backends and devices, and whether CUDA is usable',
  builder: (y) => outputOptions(y, 'print only the cuda line ("cuda usable" or "cuda not usable")'),
  async handler(a) {
    const { doctorReport, formatDoctor } = await import('../../protocols/doctor.js');
    printResult(a, await doctorReport(), { text: (report) => (a.quiet ? `cuda ${report.cuda.usable ? 'usable' : 'not usable'}\n` : `${formatDoctor(report)}\n`) });
  },
});

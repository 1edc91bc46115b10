import { outputOptions, type Command } from './shared.js';

async function handler(a: { json?: boolean; quiet?: boolean }) {
  const { doctorReport, formatDoctor } = await import('../../protocols/doctor.js');
  const report = await doctorReport();
  if (a.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else if (a.quiet) process.stdout.write(`cuda ${report.cuda.usable ? 'usable' : 'not usable'}\n`);
  else process.stdout.write(`${formatDoctor(report)}\n`);
}

export const doctorCommand: Command = {
  command: 'doctor',
  describe: 'report the build, backends and devices, and whether CUDA is usable',
  builder: (y) => outputOptions(y, 'print only the cuda line ("cuda usable" or "cuda not usable")'),
  handler,
};

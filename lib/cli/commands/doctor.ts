import { doctorReport, formatDoctor } from '../../protocols/doctor.js';
import type { Command } from './shared.js';

async function handler(a: { json?: boolean }) {
  const report = await doctorReport();
  process.stdout.write(a.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatDoctor(report)}\n`);
}

export const doctorCommand: Command = {
  command: 'doctor',
  describe: 'report the build, backends and devices, and whether CUDA is usable',
  builder: (y) => y.option('json', { type: 'boolean' }),
  handler,
};

// Every CLI command, in the order `moodaxis --help` lists them. One module per command.
import { calibrateCommand } from './calibrate.js';
import { doctorCommand } from './doctor.js';
import { fingerprintCommand } from './fingerprint.js';
import { scoreCommand } from './score.js';
import type { Command } from './shared.js';

export const commands: Command[] = [
  fingerprintCommand,
  calibrateCommand,
  scoreCommand,
  doctorCommand,
];

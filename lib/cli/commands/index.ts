// Every CLI command, in the order `moodaxis --help` lists them. One module per command; none loads the
// library at import (each handler imports what it runs), so `moodaxis <command> --help` starts fast.
import { benchmarkCommand } from './benchmark.js';
import { buildCommand } from './build.js';
import { calibrateCommand } from './calibrate.js';
import { compareCommand } from './compare.js';
import { doctorCommand } from './doctor.js';
import { driftCommand } from './drift.js';
import { fingerprintCommand } from './fingerprint.js';
import { generateCommand } from './generate.js';
import { reportCommand } from './report.js';
import { rpcServerCommand } from './rpc-server.js';
import { scoreCommand } from './score.js';
import type { Command } from './shared.js';
import { stabilityCommand } from './stability.js';
import { statsCommand } from './stats.js';
import { steerCommand } from './steer.js';
import { validateCommand } from './validate.js';

/** (Each command is typed by its own arguments; main registers them all alike.) */
export const commands: Command<unknown>[] = [
  fingerprintCommand,
  calibrateCommand,
  scoreCommand,
  stabilityCommand,
  benchmarkCommand,
  steerCommand,
  driftCommand,
  generateCommand,
  compareCommand,
  validateCommand,
  reportCommand,
  statsCommand,
  doctorCommand,
  rpcServerCommand,
  buildCommand,
];

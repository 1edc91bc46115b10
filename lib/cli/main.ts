/**
 * The moodaxis command line: thin over the library API. Each command (commands/*.ts) parses flags,
 * calls the library, prints a table (or JSON with --json); errors map to exit codes (2: bad input,
 * 1: other) in runtime.ts.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { commands } from './commands/index.js';
import { fail, installSignalHandlers } from './runtime.js';

/** `--alpha -4,-2,0,2,4`: a value that starts with a minus and a digit belongs to the option before it. */
export function joinNegativeValues(argv: string[]): string[] {
  const out: string[] = [];
  for (const arg of argv) {
    const prev = out[out.length - 1];
    if (/^-\d/.test(arg) && prev?.startsWith('--') && !prev.includes('=')) out[out.length - 1] = `${prev}=${arg}`;
    else out.push(arg);
  }
  return out;
}

export async function main(argv = hideBin(process.argv)): Promise<void> {
  installSignalHandlers();
  let cli = yargs(joinNegativeValues(argv))
    .scriptName('moodaxis')
    .usage('$0 <command> [options]\n\nBehavioural fingerprint of an open-weight LLM from its hidden states.');
  for (const c of commands) {
    cli = cli.command(c.command, c.describe, c.builder, async (args) => {
      try {
        await c.handler(args);
      } catch (error) {
        fail(error);
      }
    });
  }
  await cli
    .demandCommand(1, 'give a command (moodaxis --help lists them)')
    .strict()
    .fail((msg, err, y) => {
      if (err) throw err;
      process.stderr.write(`${y.help()}\n`);
      process.stderr.write(`moodaxis: error: ${msg}\n`);
      process.exit(2);
    })
    .wrap(Math.min(110, process.stdout.columns || 100))
    .help()
    .version()
    .parseAsync();
}

/**
 * The moodaxis command line: thin over the library API. Each command (commands/*.ts) parses flags,
 * calls the library, prints a table (or JSON with --json); errors map to exit codes (2: bad input,
 * 1: other) in runtime.ts.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { commands } from './commands/index.js';
import { fail, installSignalHandlers } from './runtime.js';

export async function main(argv = hideBin(process.argv)): Promise<void> {
  installSignalHandlers();
  let cli = yargs(argv)
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

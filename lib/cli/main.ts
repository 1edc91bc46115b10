/**
 * The moodaxis command line: thin over the library API. Each command (commands/*.ts) parses flags,
 * loads what it needs (the library, the addon, the report) only when it runs, calls the library, and
 * prints a table (or JSON with --json); errors map to exit codes (2: bad input and usage mistakes,
 * 1: other) in runtime.ts. A usage mistake is one line with a suggestion, never the whole help.
 */
import { createRequire } from 'node:module';
import type { Argv } from 'yargs';
import { commands } from './commands/index.js';
import { DEFAULT_OUT_TEXT, fail, installSignalHandlers } from './runtime.js';
import { notANumber, usageMessage, type UsageContext } from './usage.js';

// yargs' CommonJS build: its help wraps at word boundaries (the ESM build cuts words at the column edge).
const require = createRequire(import.meta.url);
const yargs = require('yargs') as (args: string[]) => Argv;

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

/** Help width: the terminal's, else $COLUMNS, else 80 (at least 40). */
function helpWidth(): number {
  return Math.max(40, process.stdout.columns || Number(process.env.COLUMNS) || 80);
}

const commandName = (c: { command: string }) => c.command.split(' ')[0]!;
const positionalNames = (c: { command: string }) => [...c.command.matchAll(/[<[](\w+)(?:\.\.)?[>\]]/g)].map((m) => m[1]!);

export async function main(argv = process.argv.slice(2)): Promise<void> {
  installSignalHandlers();
  const args = joinNegativeValues(argv);
  const optionsOf = new Map<string, string[]>();
  const given = commands.find((c) => commandName(c) === args[0]) ?? null;
  let cli = yargs(args)
    .scriptName('moodaxis')
    .usage('$0 <command> [options]\n\nBehavioural fingerprint of an open-weight LLM from its hidden states.')
    .epilogue(
      `--out is always a folder: a command writes its files into it under fixed names (fingerprint.json, stability.json, benchmark.json, steer-<axis>.json, axes.json, report.html), by default ${DEFAULT_OUT_TEXT} (report: the current folder). Calibrated axes are cached per model, seed and sampler settings: another --seed calibrates again.`,
    );
  for (const c of commands) {
    cli = cli.command(
      c.command,
      c.describe,
      (y) => {
        const built = c.builder(y);
        optionsOf.set(commandName(c), Object.keys((built as unknown as { getOptions(): { key: Record<string, unknown> } }).getOptions().key));
        return built;
      },
      async (parsed) => {
        try {
          const nan = notANumber(parsed as Record<string, unknown>, args);
          if (nan) return usageError(`${commandName(c)}: ${nan} (see moodaxis ${commandName(c)} --help)`);
          await c.handler(parsed);
        } catch (error) {
          fail(error);
        }
      },
    );
  }
  await cli
    .demandCommand(1, 'give a command')
    .strict()
    .fail((msg, err) => {
      // yargs' own usage errors (YError) are usage mistakes; any other error is a bug: thrown on
      if (err && err.name !== 'YError') throw err;
      const ctx: UsageContext = {
        command: given ? commandName(given) : null,
        positionals: given ? positionalNames(given) : [],
        options: given ? (optionsOf.get(commandName(given)) ?? []) : [],
        commands: commands.map(commandName),
      };
      usageError(usageMessage(msg ?? err?.message ?? 'usage error', ctx, args));
    })
    .wrap(helpWidth())
    .help()
    .version()
    .parseAsync();
}

function usageError(message: string): void {
  process.stderr.write(`moodaxis: error: ${message}\n`);
  process.exit(2);
}

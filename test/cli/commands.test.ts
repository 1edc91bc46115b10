/**
 * The command type and the one number format of the CLI: a handler gets what its builder declares
 * (typed: a misspelt flag does not compile), --control-vector is always a list, and `fixed` writes
 * each table's numbers as that table always has (signs, a rounded zero, missing values).
 */
import { createRequire } from 'node:module';
import type { Argv } from 'yargs';
import { describe, expect, it } from 'vitest';
import { generateCommand } from '../../lib/cli/commands/generate.js';
import { defineCommand, runOptions } from '../../lib/cli/commands/shared.js';
import { fixed, percent } from '../../lib/cli/format.js';

// the CommonJS build, as main.ts loads it
const yargs = createRequire(import.meta.url)('yargs') as (args: string[]) => Argv;

/** Parses `args` with one command registered as main registers it; resolves to what its handler got. */
async function parsedBy<A>(command: { command: string; describe: string; builder: (y: Argv) => Argv<A> }, args: string[]): Promise<Record<string, unknown>> {
  let got: Record<string, unknown> | null = null;
  await yargs(args)
    .command(command.command, command.describe, command.builder, (parsed) => {
      got = parsed as Record<string, unknown>;
    })
    .strict()
    .parseAsync();
  return got!;
}

describe('Command', () => {
  it("hands the handler the flags its builder declares, camelCased and typed (a misspelt one does not compile)", async () => {
    const seen: Array<{ seed: number; maxTokens: number | undefined; parallel: number | undefined; model: string }> = [];
    const command = defineCommand({
      command: 'run <model>',
      describe: 'a run',
      builder: (y) => runOptions(y, { compat: true }).positional('model', { type: 'string', demandOption: true }),
      async handler(a) {
        seen.push({ seed: a.seed, maxTokens: a.maxTokens, parallel: a.parallel, model: a.model });
        // @ts-expect-error: no such flag
        void a.maxTokns;
        // @ts-expect-error: --seed is a number
        void (a.seed satisfies string);
      },
    });
    await yargs(['run', 'm.gguf', '--seed', '3', '--max-tokens', '9']).command(command.command, command.describe, command.builder, (parsed) => command.handler(parsed)).strict().parseAsync();
    expect(seen).toEqual([{ seed: 3, maxTokens: 9, parallel: undefined, model: 'm.gguf' }]);
  });

  it('--control-vector is the list of the files given, once or repeated, and absent without one', async () => {
    const base = ['generate', 'm.gguf', '--prompt', 'Hi'];
    expect((await parsedBy(generateCommand, base)).controlVector).toBeUndefined();
    expect((await parsedBy(generateCommand, [...base, '--control-vector', 'a.gguf:2'])).controlVector).toEqual(['a.gguf:2']);
    expect((await parsedBy(generateCommand, [...base, '--control-vector', 'a.gguf:2', '--control-vector', 'b.gguf'])).controlVector).toEqual(['a.gguf:2', 'b.gguf']);
  });
});

describe('fixed: the number format of the tables', () => {
  it('two decimals by default, or as many as asked; no sign unless asked', () => {
    expect(fixed(0.734)).toBe('0.73');
    expect(fixed(-0.734)).toBe('-0.73');
    expect(fixed(0.12345, { digits: 4 })).toBe('0.1235');
    expect(fixed(2, { digits: 1 })).toBe('2.0');
  });

  it("'+' before positive numbers (compare, drift, validate), or before zero too (steer's α column)", () => {
    expect(fixed(0.5, { plus: 'positive' })).toBe('+0.50');
    expect(fixed(0, { plus: 'positive' })).toBe('0.00');
    expect(fixed(0.001, { plus: 'positive' })).toBe('+0.00');
    expect(fixed(-0.5, { plus: 'positive' })).toBe('-0.50');
    expect(fixed(0, { plus: 'nonnegative', digits: 1 })).toBe('+0.0');
    expect(fixed(-1, { plus: 'nonnegative', digits: 1 })).toBe('-1.0');
  });

  it('a number that rounds to zero keeps its minus unless plainZero (the fingerprint table) drops it, and the plus too', () => {
    expect(fixed(-0.00004, { digits: 3 })).toBe('-0.000');
    expect(fixed(-0.001, { plainZero: true })).toBe('0.00');
    expect(fixed(0.001, { plainZero: true, plus: 'positive' })).toBe('0.00');
    expect(fixed(0.25, { plainZero: true, plus: 'positive' })).toBe('+0.25');
  });

  it("a missing number (null, undefined, NaN, ±∞) is '—', or the table's own word", () => {
    for (const x of [null, undefined, NaN, Infinity, -Infinity]) expect(fixed(x)).toBe('—');
    expect(fixed(null, { digits: 4, missing: 'undefined' })).toBe('undefined');
  });

  it('percent: a share as a percentage with a space before %', () => {
    expect(percent(0.125, 1)).toBe('12.5 %');
    expect(percent(0.5555)).toBe('56 %');
    expect(percent(0)).toBe('0 %');
  });
});

/**
 * Usage mistakes, said in one line: an unknown command or option with the closest known one ("did you
 * mean"), a missing argument or option in one style, a number option that is not a number. The caller
 * prints `moodaxis: error: <message>` and exits 2; nothing here dumps the help.
 */

/** Edit distance (insertions, deletions, substitutions, adjacent swaps). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The known name closest to `given`, when it is close enough to be a typo (or a prefix of it). */
export function closest(given: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const k of known) {
    const dist = k.startsWith(given) && given.length >= 3 ? 0.5 : editDistance(given, k);
    if (dist < bestDistance) [best, bestDistance] = [k, dist];
  }
  return best !== null && bestDistance <= Math.max(1, Math.floor(given.length / 3)) ? best : null;
}

/** What the positional arguments are, for "missing …" messages. */
const ARGUMENT_WORDS: Record<string, string> = {
  model: 'a GGUF model file',
  a: 'fingerprint.json A',
  b: 'fingerprint.json B',
  docs: 'fingerprint, stability or steer JSON files',
  statistic: 'icc or pca',
  file: 'a CSV or JSON matrix',
};

/** "missing <model> (a GGUF model file)": the one style for every missing argument or option. */
export function missingArgument(name: string): string {
  return `missing <${name}>${ARGUMENT_WORDS[name] ? ` (${ARGUMENT_WORDS[name]})` : ''}`;
}

export interface UsageContext {
  /** The command given (first word), when it is a known one. */
  command: string | null;
  /** Its positional argument names, in order. */
  positionals: string[];
  /** Its option names (without dashes). */
  options: string[];
  /** Every command name. */
  commands: string[];
}

const seeHelp = (command: string | null) => (command ? `see moodaxis ${command} --help` : 'see moodaxis --help');

/** Rewrites a yargs validation message as one line with a pointer to --help (and a suggestion when there is one). */
export function usageMessage(yargsMessage: string, ctx: UsageContext, argv: string[]): string {
  const prefix = ctx.command ? `${ctx.command}: ` : '';
  const unknown = /^Unknown arguments?: (.*)$/s.exec(yargsMessage);
  if (unknown) {
    const names = unknown[1]!.split(', ').map((s) => s.trim());
    if (!ctx.command) {
      const word = argv.find((a) => !a.startsWith('-')) ?? names[0]!;
      const guess = closest(word, ctx.commands);
      return `unknown command "${word}"${guess ? `; did you mean ${guess}?` : ''} (${seeHelp(null)})`;
    }
    const parts = names.map((n) => {
      const flag = argv.find((a) => a.replace(/^-+/, '').split('=')[0] === n) ? `--${n}` : `"${n}"`;
      if (!flag.startsWith('--')) return `unexpected argument ${flag}`;
      const guess = closest(n, ctx.options);
      return `unknown option ${flag}${guess ? `; did you mean --${guess}?` : ''}`;
    });
    return `${prefix}${parts.join('; ')} (${seeHelp(ctx.command)})`;
  }
  const notEnough = /^Not enough non-option arguments: got (\d+), need at least (\d+)/.exec(yargsMessage);
  if (notEnough) {
    const got = Number(notEnough[1]);
    const missing = ctx.positionals.slice(got, Number(notEnough[2])).map(missingArgument);
    return `${prefix}${missing.join(', ') || 'missing arguments'} (${seeHelp(ctx.command)})`;
  }
  const missingOption = /^Missing required arguments?: (.*)$/.exec(yargsMessage);
  if (missingOption) return `${prefix}${missingOption[1]!.split(', ').map((n) => (ctx.positionals.includes(n) ? missingArgument(n) : `missing --${n}`)).join(', ')} (${seeHelp(ctx.command)})`;
  const noValue = /^Not enough arguments following: (.*)$/.exec(yargsMessage);
  if (noValue) return `${prefix}--${noValue[1]} needs a value (${seeHelp(ctx.command)})`;
  const invalid = /^Invalid values:\s*Argument: ([\w-]+), Given: (.*), Choices: (.*)$/s.exec(yargsMessage);
  if (invalid) return `${prefix}--${invalid[1]}: ${invalid[2]} is not one of ${invalid[3]!.trim()} (${seeHelp(ctx.command)})`;
  return `${prefix}${yargsMessage.replace(/\s*\n\s*/g, ' ')} (${seeHelp(ctx.command)})`;
}

/** The text given for option `name` on the command line (`--name value` or `--name=value`). */
export function givenValue(argv: string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === `--${name}`) return argv[i + 1];
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return undefined;
}

/** A number option yargs parsed to NaN: "--threshold: expected a number, got "abc"". */
export function notANumber(args: Record<string, unknown>, argv: string[]): string | null {
  for (const [key, value] of Object.entries(args)) {
    if (typeof value !== 'number' || !Number.isNaN(value) || /[A-Z]/.test(key)) continue;
    const given = givenValue(argv, key);
    return `--${key}: expected a number, got ${given === undefined ? 'nothing' : JSON.stringify(given)}`;
  }
  return null;
}

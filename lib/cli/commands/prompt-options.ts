/**
 * The prompt flags of the commands that produce or score answers (fingerprint, benchmark, stability,
 * score): your own system prompt, chat-template variables, and thinking on/off.
 */
import { readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { RUN_DEFAULTS } from '../../defaults.js';
import type { TemplateKwargs } from '../../engine/chat.js';
import { badInput } from '../../engine/errors.js';

export const promptOptions = <T>(y: Argv<T>) =>
  y
    .option('system', { type: 'string', describe: 'your system prompt: the answers are produced (and scored) under it; calibration keeps its pole instructions' })
    .option('system-file', { type: 'string', describe: 'the system prompt from a UTF-8 text file' })
    .option('template-kwarg', { type: 'string', array: true, describe: 'key=value for the chat template (repeatable; true/false and numbers are typed)' })
    .option('thinking', { choices: ['on', 'off'] as const, describe: 'shortcut for --template-kwarg enable_thinking=true|false' })
    .option('think-budget', { type: 'number', describe: `tokens allowed in a <think> block before it is closed (default ${RUN_DEFAULTS.thinkBudget}); --max-tokens counts the visible answer` });

export interface PromptArgs {
  system?: string;
  systemFile?: string;
  templateKwarg?: string[];
  thinking?: 'on' | 'off';
  thinkBudget?: number;
}

const MAX_SYSTEM_BYTES = 1 << 20;

/** `key=value` → a typed template variable ("true"/"false" → boolean, a decimal number → number). */
export function parseTemplateKwarg(arg: string): [string, string | number | boolean] {
  const eq = arg.indexOf('=');
  const key = eq > 0 ? arg.slice(0, eq).trim() : '';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw badInput(`--template-kwarg ${JSON.stringify(arg)}: expected key=value with a key made of letters, digits and _`);
  const raw = arg.slice(eq + 1);
  if (raw === 'true' || raw === 'false') return [key, raw === 'true'];
  if (/^-?\d+(\.\d+)?$/.test(raw)) return [key, Number(raw)];
  return [key, raw];
}

function readSystemFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw badInput(`--system-file ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, expected a file' : `cannot read (${code})`}`);
  }
  if (Buffer.byteLength(text) > MAX_SYSTEM_BYTES) throw badInput(`--system-file ${path}: more than 1 MiB`);
  if (text.trim() === '') throw badInput(`--system-file ${path}: the file is empty`);
  return text.replace(/\r?\n$/, '');
}

/** The run settings of the prompt flags (`system`, `templateKwargs`). */
export function promptSettings(a: PromptArgs): { system?: string; templateKwargs?: TemplateKwargs; thinkBudget?: number } {
  if (a.system !== undefined && a.systemFile !== undefined) throw badInput('give --system or --system-file, not both');
  const system = a.systemFile !== undefined ? readSystemFile(a.systemFile) : a.system;
  if (system !== undefined && system.trim() === '') throw badInput('--system: the system prompt is empty');
  const kwargs: TemplateKwargs = Object.fromEntries((a.templateKwarg ?? []).map(parseTemplateKwarg));
  if (a.thinking) {
    if ('enable_thinking' in kwargs && kwargs.enable_thinking !== (a.thinking === 'on')) throw badInput('--thinking contradicts --template-kwarg enable_thinking');
    kwargs.enable_thinking = a.thinking === 'on';
  }
  if (a.thinkBudget !== undefined && !(Number.isInteger(a.thinkBudget) && a.thinkBudget >= 0 && a.thinkBudget <= 1 << 20)) throw badInput(`--think-budget must be an integer 0–1048576, got ${a.thinkBudget}`);
  return {
    ...(system !== undefined ? { system } : {}),
    ...(Object.keys(kwargs).length ? { templateKwargs: kwargs } : {}),
    ...(a.thinkBudget !== undefined ? { thinkBudget: a.thinkBudget } : {}),
  };
}

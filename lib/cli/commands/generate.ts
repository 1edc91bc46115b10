/**
 * `moodaxis generate MODEL (--prompt TEXT | --messages FILE | [--system TEXT] --user TEXT)`: one answer
 * from the model, optionally steered with control vectors: the library's `model.generate` on one
 * request, without hidden-state capture. The engine reports finished answers, not tokens as they come,
 * so the text prints when the answer is done (on a TTY too); --json adds the token ids and the stop reason.
 */
import { RUN_DEFAULTS } from '../../defaults.js';
import { badInput } from '../../engine/errors.js';
import type { ChatMessage } from '../../engine/chat.js';
import type { GenerateRequest } from '../../engine/model.js';
import { openModel, status, type CommonArgs } from '../runtime.js';
import { controlVectorOption, loadControlVectorArgs } from './control-vector.js';
import { deterministicOption, gpuOption, outputOptions, type Command } from './shared.js';

type GenerateArgs = CommonArgs & {
  model: string;
  prompt?: string;
  messages?: string;
  system?: string;
  user?: string;
  maxTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
  deterministic?: boolean;
  controlVector?: string | string[];
};

const ROLES = ['system', 'user', 'assistant'];

/** A messages file: a JSON array of { role, content }, or { "messages": [...] }. Errors name the file and the entry. */
export function parseMessages(text: string, source: string): ChatMessage[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw badInput(`${source}: not valid JSON (${(error as Error).message})`);
  }
  const list = Array.isArray(json) ? json : (json as { messages?: unknown } | null)?.messages;
  if (!Array.isArray(list)) throw badInput(`${source}: expected an array of { "role": …, "content": … } or { "messages": [...] }`);
  if (list.length === 0) throw badInput(`${source}: no messages`);
  return list.map((m, i) => {
    const entry = m as { role?: unknown; content?: unknown } | null;
    if (!entry || typeof entry.role !== 'string' || !ROLES.includes(entry.role)) throw badInput(`${source}: messages[${i}].role: expected "system", "user" or "assistant", got ${JSON.stringify(entry?.role)}`);
    if (typeof entry.content !== 'string') throw badInput(`${source}: messages[${i}].content: expected a string`);
    return { role: entry.role as ChatMessage['role'], content: entry.content };
  });
}

/** The one request the flags describe: --prompt, --messages, or --user with an optional --system. */
export async function requestFrom(a: Pick<GenerateArgs, 'prompt' | 'messages' | 'system' | 'user'>): Promise<{ request: GenerateRequest; from: string }> {
  const given = [a.prompt !== undefined && '--prompt', a.messages !== undefined && '--messages', (a.user !== undefined || a.system !== undefined) && '--system/--user'].filter(Boolean);
  if (given.length === 0) throw badInput('generate: missing --prompt TEXT, --messages FILE or --user TEXT (see moodaxis generate --help)');
  if (given.length > 1) throw badInput(`generate: give one of --prompt, --messages or --system/--user, not ${given.join(' and ')}`);
  if (a.prompt !== undefined) return { request: { prompt: a.prompt }, from: 'prompt' };
  if (a.messages !== undefined) {
    const { readInputText } = await import('../../engine/input.js');
    return { request: { messages: parseMessages(await readInputText(a.messages), a.messages) }, from: 'messages' };
  }
  if (a.user === undefined) throw badInput('generate: --system needs --user (the question the system message frames)');
  const messages: ChatMessage[] = a.system !== undefined ? [{ role: 'system', content: a.system }] : [];
  messages.push({ role: 'user', content: a.user });
  return { request: { messages }, from: 'messages' };
}

async function handler(a: GenerateArgs) {
  const { request } = await requestFrom(a);
  const model = await openModel(a.model, a);
  try {
    const controlVector = await loadControlVectorArgs(a, model);
    const deterministic = a.deterministic ?? model.info.backend === 'cpu';
    // On a terminal the text streams as it is generated (about every 100 ms); elsewhere it prints once.
    const streaming = !a.json && process.stdout.isTTY === true;
    let shown = 0;
    const show = (text: string) => {
      if (text.length > shown) process.stdout.write(text.slice(shown));
      shown = Math.max(shown, text.length);
    };
    const [result] = await model.generate([{ ...request, seed: a.seed }], {
      ...(streaming ? { onText: (_index: number, text: string) => show(text) } : {}),
      maxTokens: a.maxTokens,
      temperature: a.temperature,
      topK: a.topK,
      topP: a.topP,
      seed: a.seed,
      deterministic,
      capture: false,
      controlVector,
    });
    const r = result!;
    if (a.json) {
      const doc = {
        kind: 'moodaxis.generation',
        model: { path: model.info.path, name: model.info.name, identity: model.info.identity, chatTemplate: model.info.chatTemplate !== null },
        sampler: { temperature: a.temperature, topK: a.topK, topP: a.topP, seed: a.seed, maxTokens: a.maxTokens, deterministic },
        controlVector: a.controlVector === undefined ? null : ([] as string[]).concat(a.controlVector),
        text: r.text,
        tokenIds: Array.from(r.tokenIds),
        tokens: r.tokens,
        promptTokens: r.promptTokens,
        stopReason: r.stopReason,
      };
      process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    } else {
      if (streaming) show(r.text);
      else process.stdout.write(r.text);
      if (!r.text.endsWith('\n')) process.stdout.write('\n');
      status(a, `${r.tokens} tokens, stopped by ${r.stopReason === 'eos' ? 'the end-of-generation token' : `the limit (--max-tokens ${a.maxTokens})`}`);
    }
  } finally {
    await model.dispose();
  }
}

export const generateCommand: Command = {
  command: 'generate <model>',
  describe: 'generate one answer (a prompt, or chat messages), optionally steered with control vectors',
  builder: (y) =>
    outputOptions(deterministicOption(gpuOption(y)), 'no status line (the text, or the JSON, still prints)', 'print JSON on stdout and nothing else: text, token ids, stop reason')
      .positional('model', { type: 'string', demandOption: true, describe: 'GGUF model file' })
      .option('prompt', { type: 'string', requiresArg: true, describe: 'raw prompt text (no chat template)' })
      .option('messages', { type: 'string', requiresArg: true, describe: 'JSON file: [{ "role": "system"|"user"|"assistant", "content": … }, …], rendered with the chat template' })
      .option('system', { type: 'string', requiresArg: true, describe: 'system message (with --user)' })
      .option('user', { type: 'string', requiresArg: true, describe: 'user message, rendered with the chat template (a model without one gets the plain text, with a warning)' })
      .option('max-tokens', { type: 'number', default: RUN_DEFAULTS.maxTokens, requiresArg: true, describe: 'new tokens at most' })
      .option('temperature', { type: 'number', default: RUN_DEFAULTS.temperature, requiresArg: true, describe: 'sampling temperature; 0 is greedy (always the most likely token)' })
      .option('top-k', { type: 'number', default: RUN_DEFAULTS.topK, requiresArg: true, describe: 'sample among the k most likely tokens (0: all)' })
      .option('top-p', { type: 'number', default: RUN_DEFAULTS.topP, requiresArg: true, describe: 'then among the smallest set holding this probability' })
      .option('seed', { type: 'number', default: RUN_DEFAULTS.seed, requiresArg: true, describe: 'seed of the sampler (the same seed and settings give the same answer)' })
      .option('control-vector', controlVectorOption),
  handler,
};

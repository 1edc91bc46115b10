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
import { runModelCommand } from '../model-command.js';
import { controlVectorOption, loadControlVectorArgs } from './control-vector.js';
import { defineCommand, deterministicOption, gpuOption, MODEL_ARG, outputOptions } from './shared.js';

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
export async function requestFrom(a: { prompt?: string; messages?: string; system?: string; user?: string }): Promise<{ request: GenerateRequest; from: string }> {
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

export const generateCommand = defineCommand({
  command: 'generate <model>',
  describe: 'generate one answer (a prompt, or chat messages), optionally steered with control vectors',
  builder: (y) =>
    outputOptions(deterministicOption(gpuOption(y)), 'no status line (the text, or the JSON, still prints)', 'print JSON on stdout and nothing else: text, token ids, stop reason')
      .positional('model', MODEL_ARG)
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
  async handler(a) {
    const { request } = await requestFrom(a);
    // On a terminal the text streams as it is generated (about every 100 ms); elsewhere it prints once.
    const streaming = !a.json && process.stdout.isTTY === true;
    let shown = 0;
    /** The text not yet on stdout. */
    const unshown = (text: string) => {
      const rest = text.slice(shown);
      shown = Math.max(shown, text.length);
      return rest;
    };
    await runModelCommand(a, {
      model: a.model,
      async run({ model }) {
        const controlVector = await loadControlVectorArgs(a, model);
        const deterministic = a.deterministic ?? model.info.backend === 'cpu';
        const [result] = await model.generate([{ ...request, seed: a.seed }], {
          ...(streaming ? { onText: (_index: number, text: string) => process.stdout.write(unshown(text)) } : {}),
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
        return {
          kind: 'moodaxis.generation',
          model: { path: model.info.path, name: model.info.name, identity: model.info.identity, chatTemplate: model.info.chatTemplate !== null },
          sampler: { temperature: a.temperature, topK: a.topK, topP: a.topP, seed: a.seed, maxTokens: a.maxTokens, deterministic },
          controlVector: a.controlVector ?? null,
          text: r.text,
          tokenIds: Array.from(r.tokenIds),
          tokens: r.tokens,
          promptTokens: r.promptTokens,
          stopReason: r.stopReason,
        };
      },
      // the rest of the answer (all of it when it did not stream), ending with a newline
      text: (doc) => `${unshown(doc.text)}${doc.text.endsWith('\n') ? '' : '\n'}`,
      summary: (doc) => `${doc.tokens} tokens, stopped by ${doc.stopReason === 'eos' ? 'the end-of-generation token' : `the limit (--max-tokens ${a.maxTokens})`}`,
    });
  },
});

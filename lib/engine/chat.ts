/**
 * Turning messages into the prompt text a model expects (docs/method.md §1): the model's own Jinja chat
 * template when it has one; contents joined by blank lines when it has none; the system text moved into
 * the user turn when the template rejects a system role. Also decides whether the tokenizer may add a
 * BOS (never a second one) and whether the prompt leaves a <think> block open. The template is code from
 * the model file: it runs in the template worker, under a budget (template-sandbox.ts).
 */
import { badInput } from './errors.js';
import { renderInSandbox, type TemplateBudget, type TemplateJob } from './template-sandbox.js';

export type Role = 'system' | 'user' | 'assistant';
export interface ChatMessage { role: Role; content: string }

export interface RenderedPrompt {
  text: string;
  /** Let the tokenizer add BOS: false when the template already wrote it. */
  addSpecial: boolean;
  /** Parse control tokens written in the text (true for templates, false for plain text). */
  parseSpecial: boolean;
  /** The prompt ends inside an open <think> block. */
  startInThink: boolean;
  /** How the system message was placed. */
  system: 'template' | 'merged' | 'plain' | 'none';
}

export interface TemplateTokens { bosText: string; eosText: string }

/** Extra variables for the Jinja template, e.g. `{ enable_thinking: false }` (`--template-kwarg`). */
export type TemplateKwargs = Record<string, string | number | boolean>;

function opensThink(text: string): boolean {
  const open = text.lastIndexOf('<think>');
  return open >= 0 && text.indexOf('</think>', open) < 0;
}

/** Moves a leading system message into the first user turn. */
export function mergeSystem(messages: ChatMessage[]): ChatMessage[] {
  if (messages[0]?.role !== 'system') return messages;
  const [system, ...rest] = messages;
  const firstUser = rest.findIndex((m) => m.role === 'user');
  if (firstUser < 0) return [{ role: 'user', content: system.content }, ...rest];
  return rest.map((m, i) => (i === firstUser ? { role: 'user', content: `${system.content}\n\n${m.content}` } : m));
}

/** The prompt text of messages for a model without a chat template: the contents, blank-line separated. */
function plainPrompt(messages: ChatMessage[]): RenderedPrompt {
  return {
    text: messages.map((m) => m.content).join('\n\n'),
    addSpecial: true,
    parseSpecial: false,
    startInThink: false,
    system: messages.some((m) => m.role === 'system') ? 'plain' : 'none',
  };
}

/**
 * Renders every conversation with the model's template (in the template worker, under `budget`: one
 * call for all of them, a second only for those whose system message must be merged). A template
 * that fails, produces an empty prompt or exceeds its budget is BAD_INPUT.
 */
export async function renderChats(
  template: string | null,
  conversations: ChatMessage[][],
  tokens: TemplateTokens,
  budget: TemplateBudget,
  kwargs: TemplateKwargs = {},
): Promise<RenderedPrompt[]> {
  if (conversations.some((messages) => messages.length === 0)) throw badInput('a request has no messages');
  if (!template) return conversations.map(plainPrompt);
  const job = (messages: ChatMessage[]): TemplateJob => ({
    variables: { ...kwargs, messages, add_generation_prompt: true, bos_token: tokens.bosText, eos_token: tokens.eosText },
    maxCharacters: 2 * messages.reduce((n, m) => n + m.content.length, 0) + budget.extraCharacters,
  });
  const failed = (error: string) => badInput(`the model's chat template failed: ${error}`);
  const first = await renderInSandbox(template, conversations.map(job), budget);
  const texts: string[] = [];
  const systems: RenderedPrompt['system'][] = [];
  // Conversations whose system message goes into the first user turn: the template rejected it, or
  // dropped it silently.
  const toMerge: number[] = [];
  first.forEach((outcome, i) => {
    const messages = conversations[i]!;
    const system = messages.find((m) => m.role === 'system');
    systems.push(system ? 'template' : 'none');
    texts.push('text' in outcome ? outcome.text : '');
    if ('error' in outcome) {
      if (!system) throw failed(outcome.error);
      toMerge.push(i);
    } else if (system && system.content.trim() && !outcome.text.includes(system.content.trim())) {
      toMerge.push(i);
    }
  });
  if (toMerge.length > 0) {
    const merged = await renderInSandbox(template, toMerge.map((i) => job(mergeSystem(conversations[i]!))), budget);
    merged.forEach((outcome, k) => {
      if ('error' in outcome) throw failed(outcome.error);
      texts[toMerge[k]!] = outcome.text;
      systems[toMerge[k]!] = 'merged';
    });
  }
  return texts.map((text, i) => {
    if (text.trim() === '') throw badInput(`the model's chat template produced an empty prompt`);
    const bosWritten = tokens.bosText !== '' && text.startsWith(tokens.bosText);
    return { text, addSpecial: !bosWritten, parseSpecial: true, startInThink: opensThink(text), system: systems[i]! };
  });
}

/**
 * Turning messages into the prompt text a model expects (METHOD §1): the model's own Jinja chat
 * template when it has one; contents joined by blank lines when it has none; the system text moved into
 * the user turn when the template rejects a system role. Also decides whether the tokenizer may add a
 * BOS (never a second one) and whether the prompt leaves a <think> block open.
 */
import { Template } from '@huggingface/jinja';
import { badInput } from './errors.js';

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

const compiled = new Map<string, Template>();
function compile(source: string): Template {
  let t = compiled.get(source);
  if (!t) {
    try {
      t = new Template(source);
    } catch (error) {
      throw badInput(`the model's chat template does not parse as Jinja: ${(error as Error).message}`);
    }
    compiled.set(source, t);
  }
  return t;
}

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

export function renderChat(template: string | null, messages: ChatMessage[], tokens: TemplateTokens, kwargs: TemplateKwargs = {}): RenderedPrompt {
  if (messages.length === 0) throw badInput('a request has no messages');
  const hasSystem = messages.some((m) => m.role === 'system');
  if (!template) {
    return {
      text: messages.map((m) => m.content).join('\n\n'),
      addSpecial: true,
      parseSpecial: false,
      startInThink: false,
      system: hasSystem ? 'plain' : 'none',
    };
  }
  const t = compile(template);
  const render = (msgs: ChatMessage[]) =>
    t.render({ ...kwargs, messages: msgs, add_generation_prompt: true, bos_token: tokens.bosText, eos_token: tokens.eosText });
  let text: string;
  let system: RenderedPrompt['system'] = hasSystem ? 'template' : 'none';
  try {
    text = render(messages);
  } catch (error) {
    if (!hasSystem) throw badInput(`the model's chat template failed: ${(error as Error).message}`);
    try {
      text = render(mergeSystem(messages));
      system = 'merged';
    } catch (second) {
      throw badInput(`the model's chat template failed: ${(second as Error).message}`);
    }
  }
  // A template that drops the system message silently is treated like one that rejects it.
  if (system === 'template') {
    const systemText = messages.find((m) => m.role === 'system')!.content;
    if (systemText.trim() && !text.includes(systemText.trim())) {
      text = render(mergeSystem(messages));
      system = 'merged';
    }
  }
  const bosWritten = tokens.bosText !== '' && text.startsWith(tokens.bosText);
  return { text, addSpecial: !bosWritten, parseSpecial: true, startInThink: opensThink(text), system };
}

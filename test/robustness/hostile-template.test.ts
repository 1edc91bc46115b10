/**
 * A model's chat template is code from an untrusted file. A corpus of hostile templates, each in an
 * otherwise valid model written at test time by the project's GGUF writer, must end in a BAD_INPUT
 * refusal naming the file, with the process alive, the event loop ticking throughout, and a good model
 * in the same process still correct afterwards. Also: the budget's settings, templates in the style of
 * real models rendering within the small budget these tests use, the CLI path (dist/), and the GGUF
 * size caps that protect the same way against sizes claimed by the file.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GgufValueType } from '../../lib/engine/gguf/index.js';
import { renderChats, type ChatMessage } from '../../lib/engine/chat.js';
import { loadModel, type GenerateResult, type Model } from '../../lib/engine/index.js';
import { TEMPLATE_BUDGET_ENV, templateBudget, type TemplateBudget } from '../../lib/engine/template-sandbox.js';
import { buildLlamaModel } from '../../lib/engine/synthetic/llama-model.js';
import { builtinVocabulary } from '../../lib/engine/synthetic/tokenizer.js';
import { CHATML_NO_SYSTEM_TEMPLATE, FIXTURE_PRESETS, LLAMA3_TEMPLATE } from '../../fixtures/models.js';
import { CHATML_TEMPLATE } from '../../lib/engine/synthetic/models.js';
import { ensureBuilt } from '../helpers/cli.js';
import { runCli } from './helpers.js';

/** Short enough for a loaded 2-core machine's test run; real templates render a prompt in well under 1 ms. */
const TEST_BUDGET: Partial<TemplateBudget> = { ms: 1000 };

const dir = mkdtempSync(join(tmpdir(), 'moodaxis-hostile-template-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes the tiny chat model with `template` (and any other changes) as `<name>.gguf`. */
async function writeModel(name: string, template: string, edit?: (w: Awaited<ReturnType<typeof buildLlamaModel>>) => void): Promise<string> {
  const w = await buildLlamaModel({ ...FIXTURE_PRESETS.tinyChat(), name, chatTemplate: template });
  edit?.(w);
  const path = join(dir, `${name}.gguf`);
  await w.write(path);
  return path;
}

interface Hostile {
  name: string;
  template: string;
  refusal: RegExp;
  /** It takes long enough (a budget of time or memory) that the event loop must have ticked meanwhile. */
  long?: boolean;
  budget?: Partial<TemplateBudget>;
}

const HUNDRED = '0123456789'.repeat(10);
const HOSTILE: Hostile[] = [
  { name: 'loop-1e8', template: "{% for i in range(100000000) %}x{% endfor %}{{ messages[0]['content'] }}", refusal: /exceeded its budget \(1\d{3} ms\)$/, long: true },
  { name: 'nested-loops', template: '{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}hi', refusal: /exceeded its budget \(1\d{3} ms\)$/, long: true },
  { name: 'grow-namespace-tilde', template: "{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}", refusal: /exceeded its budget \(\d+ characters\)$/ },
  { name: 'grow-set-plus', template: "{% set s = messages[0]['content'] %}{% for i in range(64) %}{% set s = s + s %}{% endfor %}{{ s }}", refusal: /exceeded its budget \(\d+ characters\)$/ },
  {
    name: 'grow-list-memory',
    template: '{% set ns = namespace(l=[1]) %}{% for i in range(40) %}{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l | length }}',
    refusal: /exceeded its budget \(16 MB of memory\)$/,
    long: true,
    budget: { ms: 120_000, heapMb: 16 },
  },
  // (reaching the stack limit takes about a second on a loaded machine: the time budget is not what is tested)
  { name: 'deep-nesting', template: `${'{% if true %}'.repeat(20000)}x${'{% endif %}'.repeat(20000)}`, refusal: /exceeded its budget \(4 MB of stack\)$/, budget: { ms: 120_000 } },
  { name: 'huge-output', template: `{% for i in range(5000) %}${HUNDRED}{% endfor %}`, refusal: /exceeded its budget \(65\d{3} characters\)$/ },
  { name: 'raises', template: "{{ raise_exception('no chat for you') }}", refusal: /the model's chat template failed: no chat for you$/ },
  { name: 'empty-prompt', template: '{% if false %}{{ messages }}{% endif %}  ', refusal: /the model's chat template produced an empty prompt$/ },
];

const GOOD_REQUEST = [{ messages: [{ role: 'system' as const, content: 'Be warm.' }, { role: 'user' as const, content: 'Hi?' }] }];
const GOOD_OPTIONS = { temperature: 0, maxTokens: 4, parallel: 1 };
const digest = (r: GenerateResult[]) => r.map((x) => ({ text: x.text, ids: Array.from(x.tokenIds), promptTokens: x.promptTokens }));

describe('hostile chat templates', () => {
  let good: Model;
  let baseline: ReturnType<typeof digest>;
  const paths = new Map<string, string>();

  beforeAll(async () => {
    for (const h of HOSTILE) paths.set(h.name, await writeModel(h.name, h.template));
    good = await loadModel(await writeModel('good-chat', CHATML_TEMPLATE), { gpu: 'cpu', threads: 1 });
    baseline = digest(await good.generate(GOOD_REQUEST, GOOD_OPTIONS));
  });
  afterAll(() => good?.dispose());

  it.each(HOSTILE)('$name: refused naming the file, the event loop ticking, a good model correct afterwards', async (h) => {
    const model = await loadModel(paths.get(h.name)!, { gpu: 'cpu', threads: 1, templateBudget: { ...TEST_BUDGET, ...h.budget } });
    try {
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 5);
      let ticksAtRefusal = -1;
      const error = await model.generate(GOOD_REQUEST, GOOD_OPTIONS).then(
        () => null,
        (e: Error & { code?: string }) => {
          ticksAtRefusal = ticks;
          return e;
        },
      );
      clearInterval(ticker);
      expect(error, 'the template was rendered, but must be refused').not.toBeNull();
      expect(error!.code).toBe('BAD_INPUT');
      expect(error!.message.startsWith(`${h.name}.gguf: `), error!.message).toBe(true);
      expect(error!.message).toMatch(h.refusal);
      // Rendering on the main thread would block it from the call to the refusal: no tick between.
      if (h.long) expect(ticksAtRefusal).toBeGreaterThanOrEqual(3);
      // renderPrompt takes the same path
      await expect(model.renderPrompt(GOOD_REQUEST[0]!.messages)).rejects.toThrow(h.refusal);
    } finally {
      await model.dispose();
    }
    expect(digest(await good.generate(GOOD_REQUEST, GOOD_OPTIONS))).toEqual(baseline);
  });

  it('the CLI (bin/moodaxis.js, running dist/) refuses the 10⁸-iteration loop with exit 2 and writes no result', async () => {
    await ensureBuilt();
    const out = join(dir, 'cli-out');
    const run = await runCli(['fingerprint', paths.get('loop-1e8')!, '--gpu', 'cpu', '--max-tokens', '2', '--baseline-max-tokens', '2', '--no-cache', '--out', out], {
      env: { [TEMPLATE_BUDGET_ENV]: '1000' },
      timeoutMs: 90_000,
    });
    expect(run.timedOut).toBe(false);
    expect(run.signal).toBeNull();
    // a fingerprint renders 590 prompts in one call (1000 ms + 5 ms each): time or memory runs out first
    expect(run.stderr).toMatch(/loop-1e8\.gguf: the chat template exceeded its budget \((\d+ ms|256 MB of memory)\)/);
    expect(run.status).toBe(2);
    expect(existsSync(join(out, 'fingerprint.json'))).toBe(false);
  });
});

describe('the template budget', () => {
  it('has generous defaults, takes ms from the environment, and refuses nonsense', () => {
    const saved = process.env[TEMPLATE_BUDGET_ENV];
    try {
      delete process.env[TEMPLATE_BUDGET_ENV];
      expect(templateBudget()).toEqual({ ms: 5000, msPerPrompt: 5, heapMb: 256, extraCharacters: 65_536 });
      process.env[TEMPLATE_BUDGET_ENV] = '750';
      expect(templateBudget().ms).toBe(750);
      expect(templateBudget({ ms: 40 }).ms).toBe(40);
      process.env[TEMPLATE_BUDGET_ENV] = 'soon';
      expect(() => templateBudget()).toThrow(/MOODAXIS_TEMPLATE_BUDGET_MS must be an integer between 1 and 3600000, got soon/);
      delete process.env[TEMPLATE_BUDGET_ENV];
      expect(() => templateBudget({ heapMb: 1 })).toThrow(/templateBudget\.heapMb must be an integer between 16 and 65536, got 1/);
    } finally {
      if (saved === undefined) delete process.env[TEMPLATE_BUDGET_ENV];
      else process.env[TEMPLATE_BUDGET_ENV] = saved;
    }
  });

  it('loadModel refuses a bad budget before reading the model', async () => {
    await expect(loadModel(join(dir, 'absent.gguf'), { templateBudget: { ms: 0 } })).rejects.toThrow(/templateBudget\.ms must be an integer/);
  });
});

// Short templates written here in the style of real models' (not copied from them), next to the
// repository's fixture templates (ChatML as Qwen 2.5 writes it, Llama 3, ChatML without system).
const QWEN3_STYLE = [
  '{%- for m in messages -%}',
  "{%- if m.role == 'assistant' and '</think>' in m.content -%}{%- set c = m.content.split('</think>')[-1] | trim -%}{%- else -%}{%- set c = m.content -%}{%- endif -%}",
  "{{- '<|im_start|>' + m.role + '\\n' + c + '<|im_end|>\\n' -}}",
  '{%- endfor -%}',
  "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n<think>\\n' -}}{%- endif -%}",
].join('');
const GEMMA2_STYLE = [
  '{{ bos_token }}',
  "{%- if messages[0]['role'] == 'system' -%}{{ raise_exception('System role not supported') }}{%- endif -%}",
  "{%- for m in messages -%}{%- set role = 'model' if m['role'] == 'assistant' else m['role'] -%}",
  "{{ '<start_of_turn>' + role + '\\n' + m['content'] | trim + '<end_of_turn>\\n' }}",
  '{%- endfor -%}',
  "{%- if add_generation_prompt -%}{{ '<start_of_turn>model\\n' }}{%- endif -%}",
].join('');
const MISTRAL_STYLE = [
  '{{- bos_token -}}',
  "{%- if messages[0]['role'] == 'system' -%}{%- set sys = messages[0]['content'] -%}{%- set rest = messages[1:] -%}{%- else -%}{%- set sys = '' -%}{%- set rest = messages -%}{%- endif -%}",
  '{%- for m in rest -%}',
  "{%- if m['role'] == 'user' -%}{{- '[INST] ' + (sys + '\\n\\n' if sys and loop.last else '') + m['content'] + '[/INST]' -}}",
  "{%- else -%}{{- ' ' + m['content'] + eos_token -}}{%- endif -%}",
  '{%- endfor -%}',
].join('');
const DEEPSEEK_STYLE = [
  "{%- set ns = namespace(system='') -%}",
  "{%- for m in messages -%}{%- if m['role'] == 'system' -%}{%- set ns.system = m['content'] -%}{%- endif -%}{%- endfor -%}",
  '{{- bos_token + ns.system -}}',
  "{%- for m in messages -%}{%- if m['role'] == 'user' -%}{{- '<｜User｜>' + m['content'] -}}",
  "{%- elif m['role'] == 'assistant' -%}{{- '<｜Assistant｜>' + m['content'] + eos_token -}}{%- endif -%}{%- endfor -%}",
  "{%- if add_generation_prompt -%}{{- '<｜Assistant｜>' -}}{%- endif -%}",
].join('');

describe('templates in the style of real models render within the small test budget', () => {
  const conversation: ChatMessage[] = [
    { role: 'system', content: 'Answer warmly.' },
    { role: 'user', content: 'How are you?' },
    { role: 'assistant', content: '<think>be nice</think>Fine, thanks.' },
    { role: 'user', content: 'And the weather?' },
  ];
  const styles: Array<[string, string, string, 'template' | 'merged']> = [
    ['Llama 3', LLAMA3_TEMPLATE, '<|start_header_id|>system<|end_header_id|>\n\nAnswer warmly.<|eot_id|>', 'template'],
    ['Qwen 2.5 (ChatML)', CHATML_TEMPLATE, '<|im_start|>system\nAnswer warmly.<|im_end|>', 'template'],
    ['Qwen 3', QWEN3_STYLE, '<|im_start|>assistant\nFine, thanks.<|im_end|>', 'template'],
    ['Gemma 2', GEMMA2_STYLE, '<start_of_turn>user\nAnswer warmly.\n\nHow are you?<end_of_turn>', 'merged'],
    ['ChatML without system', CHATML_NO_SYSTEM_TEMPLATE, '<|im_start|>user\nAnswer warmly.\n\nHow are you?<|im_end|>', 'merged'],
    ['Mistral', MISTRAL_STYLE, '[INST] Answer warmly.\n\nAnd the weather?[/INST]', 'template'],
    ['DeepSeek', DEEPSEEK_STYLE, '<s>Answer warmly.<｜User｜>How are you?', 'template'],
  ];
  it.each(styles)('%s', async (_, template, expected, system) => {
    // 590 prompts, as many as a fingerprint renders, in one call.
    const conversations = Array.from({ length: 590 }, (_, i) => conversation.map((m) => (m.role === 'user' && m.content.startsWith('How') ? { ...m, content: `${m.content} (${i})` } : m)));
    conversations[0] = conversation;
    const rendered = await renderChats(template, conversations, { bosText: '<s>', eosText: '</s>' }, templateBudget(TEST_BUDGET));
    expect(rendered).toHaveLength(590);
    expect(rendered[0]!.text).toContain(expected);
    expect(rendered[0]!.system).toBe(system);
    expect(rendered[589]!.text).toContain('How are you? (589)');
  });
});

describe('sizes the file claims are capped', () => {
  const load = (path: string) => loadModel(path, { gpu: 'cpu', threads: 1 });

  it('a chat template over 1 MiB', async () => {
    const path = await writeModel('template-2mib', `{{ messages[0]['content'] }}${'x'.repeat(2 << 20)}`);
    await expect(load(path)).rejects.toThrow(/^template-2mib\.gguf: tokenizer\.chat_template is 2097180 bytes long; at most 1048576 are allowed$/);
  });

  it('a claimed context length over 16M tokens', async () => {
    const path = await writeModel('context-huge', CHATML_TEMPLATE, (w) => w.setU32('llama.context_length', (1 << 24) + 1));
    await expect(load(path)).rejects.toThrow(/^context-huge\.gguf: metadata key 'llama\.context_length' is 16777217, expected 1\.\.16777216$/);
  });

  it('a token text over 64 KiB', async () => {
    const path = await writeModel('token-long', CHATML_TEMPLATE, (w) => {
      const { tokens } = builtinVocabulary();
      tokens[300] = 'y'.repeat(70_000);
      w.setArray('tokenizer.ggml.tokens', GgufValueType.STRING, tokens);
    });
    await expect(load(path)).rejects.toThrow(/^token-long\.gguf: tokenizer\.ggml\.tokens: token 300 is 70000 bytes long; at most 65536 are allowed$/);
  });
});

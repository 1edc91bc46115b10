import { badInput } from '../../engine/errors.js';
import type { ScoreItem } from '../../method/score.js';
import { colorOut, openModel } from '../runtime.js';
import { batchOptions, gpuOption, outputOptions, type Command } from './shared.js';
import { promptOptions, promptSettings, type PromptArgs } from './prompt-options.js';

async function readScoreItems(a: { input?: string; text?: string; question: string }): Promise<ScoreItem[]> {
  if (a.text !== undefined) return [{ question: a.question, response: a.text }];
  if (!a.input) throw badInput('score: missing --text "…" or --input responses.jsonl (see moodaxis score --help)');
  const { readInputText } = await import('../../engine/input.js');
  const body = await readInputText(a.input);
  return body.split('\n').flatMap((line, i) => {
    if (!line.trim()) return [];
    let item: ScoreItem;
    try {
      item = JSON.parse(line);
    } catch (error) {
      throw badInput(`${a.input}: line ${i + 1}: not valid JSON (${(error as Error).message})`);
    }
    if (typeof item?.response !== 'string') throw badInput(`${a.input}: line ${i + 1}: response: expected a string`);
    return [{ question: typeof item.question === 'string' ? item.question : '', response: item.response }];
  });
}

async function handler(a: PromptArgs & { model: string; axes: string; input?: string; text?: string; question: string; parallel?: number; deterministic?: boolean; gpu?: 'auto' | 'cuda' | 'cpu'; json?: boolean; quiet?: boolean }) {
  const items = await readScoreItems(a);
  const [{ readAxesFile, assertAxesFit }, { score }, { table, legend }, { axisLabel }] = await Promise.all([
    import('../../docs/axes.js'),
    import('../../method/score.js'),
    import('../format.js'),
    import('../../protocols/wording.js'),
  ]);
  const axes = await readAxesFile(a.axes);
  const model = await openModel(a.model, a);
  try {
    assertAxesFit(axes, model.info, a.axes); // refused naming the file
    // Teacher-forced: nothing is sampled, so there is no seed; the capture settings come from the axes file.
    const doc = await score(model, items, { axes, parallel: a.parallel, deterministic: a.deterministic, ...promptSettings(a) });
    if (a.json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    else {
      process.stdout.write(`${table(['#', 'tokens', ...axes.axes.map(axisLabel)], doc.items.map((it, i) => [i + 1, it.tokens, ...axes.axes.map((x) => it.scores[x.id]!.toFixed(2))]))}\n`);
      process.stdout.write(`${legend('one row per response · tokens: its length · each axis: its score, −1 … +1 (the positive pole > 0)', colorOut())}\n`);
    }
  } finally {
    await model.dispose();
  }
}

export const scoreCommand: Command = {
  command: 'score <model>',
  describe: 'score given responses on calibrated axes (read teacher-forced: nothing is generated)',
  builder: (y) =>
    promptOptions(outputOptions(batchOptions(gpuOption(y)), 'no warnings on stderr (score prints no progress)')
      .positional('model', { type: 'string', demandOption: true, describe: 'GGUF model file (the one the axes were calibrated on)' })
      .option('axes', { type: 'string', demandOption: true, requiresArg: true, describe: 'axes file from `moodaxis calibrate` (its axes.json)' })
      .option('input', { type: 'string', requiresArg: true, describe: 'JSON lines: {"question": …, "response": …}' })
      .option('text', { type: 'string', describe: 'one response to score' })
      .option('question', { type: 'string', default: '', describe: 'the question --text answers' })),
  handler,
};

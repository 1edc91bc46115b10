import { readInputText } from '../../engine/input.js';
import { badInput } from '../../engine/errors.js';
import { score, type ScoreItem } from '../../method/score.js';
import { table } from '../format.js';
import { openModel } from '../runtime.js';
import { runOptions, type Command, type RunArgs } from './shared.js';
import { promptOptions, promptSettings, type PromptArgs } from './prompt-options.js';


async function readScoreItems(a: { input?: string; text?: string; question: string }): Promise<ScoreItem[]> {
  if (a.text !== undefined) return [{ question: a.question, response: a.text }];
  if (!a.input) throw badInput('give --text "…" or --input responses.jsonl');
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

async function handler(a: RunArgs & PromptArgs & { model: string; axes: string; input?: string; text?: string; question: string }) {
  const items = await readScoreItems(a);
  const model = await openModel(a.model, a);
  try {
    const doc = await score(model, a.axes, items, { parallel: a.parallel, ...promptSettings(a) });
    if (a.json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    else if (!a.quiet) {
      const axes = Object.keys(doc.items[0]?.scores ?? {});
      process.stdout.write(`${table(['#', 'tokens', ...axes], doc.items.map((it, i) => [i + 1, it.tokens, ...axes.map((k) => it.scores[k].toFixed(2))]))}\n`);
    }
  } finally {
    await model.dispose();
  }
}

export const scoreCommand: Command = {
  command: 'score <model>',
  describe: 'score given responses teacher-forced on calibrated axes',
  builder: (y) =>
    promptOptions(runOptions(y))
      .positional('model', { type: 'string', demandOption: true })
      .option('axes', { type: 'string', demandOption: true })
      .option('input', { type: 'string', describe: 'JSON lines: {"question": …, "response": …}' })
      .option('text', { type: 'string', describe: 'one response to score' })
      .option('question', { type: 'string', default: '', describe: 'the question --text answers' }),
  handler,
};

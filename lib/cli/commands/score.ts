import { badInput } from '../../engine/errors.js';
import type { ScoreItem } from '../../method/score.js';
import { fixed, legend, table } from '../format.js';
import { runModelCommand } from '../model-command.js';
import { colorOut } from '../runtime.js';
import { batchOptions, defineCommand, gpuOption, outputOptions } from './shared.js';
import { promptOptions, promptSettings } from './prompt-options.js';

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

export const scoreCommand = defineCommand({
  command: 'score <model>',
  describe: 'score given responses on calibrated axes (read teacher-forced: nothing is generated)',
  builder: (y) =>
    promptOptions(outputOptions(batchOptions(gpuOption(y)), 'no warnings on stderr (score prints no progress)')
      .positional('model', { type: 'string', demandOption: true, describe: 'GGUF model file (the one the axes were calibrated on)' })
      .option('axes', { type: 'string', demandOption: true, requiresArg: true, describe: 'axes file from `moodaxis calibrate` (its axes.json)' })
      .option('input', { type: 'string', requiresArg: true, describe: 'JSON lines: {"question": …, "response": …}' })
      .option('text', { type: 'string', describe: 'one response to score' })
      .option('question', { type: 'string', default: '', describe: 'the question --text answers' })),
  async handler(a) {
    const items = await readScoreItems(a);
    const [{ readAxesFile, assertAxesFit }, { score }, { axisLabel }] = await Promise.all([
      import('../../docs/axes.js'),
      import('../../method/score.js'),
      import('../../protocols/wording.js'),
    ]);
    const axes = await readAxesFile(a.axes);
    await runModelCommand(a, {
      model: a.model,
      async run({ model }) {
        assertAxesFit(axes, model.info, a.axes); // refused naming the file
        // Teacher-forced: nothing is sampled, so there is no seed; the capture settings come from the axes file.
        return score(model, items, { axes, parallel: a.parallel, deterministic: a.deterministic, ...promptSettings(a) });
      },
      text: (doc) =>
        `${table(['#', 'tokens', ...axes.axes.map(axisLabel)], doc.items.map((it, i) => [i + 1, it.tokens, ...axes.axes.map((x) => fixed(it.scores[x.id]))]))}\n` +
        `${legend('one row per response · tokens: its length · each axis: its score, −1 … +1 (the positive pole > 0)', colorOut())}\n`,
    });
  },
});

import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MoodaxisError } from '../../lib/engine/errors.js';
import { builtinAxesPath, builtinAxisSet, loadAxisSet, normaliseQuestion, parseAxisSet, poleInstructions, questionId, questionsOf, renderPlainPrompt, type AxisSet } from '../../lib/method/axes-file.js';
import { PROMPT_TEMPLATE } from '../../lib/defaults.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BUILTIN_FILE = path.join(ROOT, 'axes', 'builtin.json');

const AXIS_IDS = [
  'warm_cold',
  'patient_irritated',
  'confident_cautious',
  'proactive_reluctant',
  'empathetic_analytical',
  'formal_casual',
  'verbose_concise',
];

/** Independent of the loader's own normalisation: lower case, letters and digits only. */
const norm = (q: string) => q.toLowerCase().replace(/[’']/g, "'").replace(/[^a-z0-9]+/g, ' ').trim();

interface Placed {
  where: string;
  text: string;
}

function allQuestions(set: AxisSet): Placed[] {
  const out: Placed[] = [];
  for (const a of set.axes) {
    a.calibration.forEach((text, i) => out.push({ where: `${a.id}/cal/${i}`, text }));
    a.evaluation.forEach((text, i) => out.push({ where: `${a.id}/eval/${i}`, text }));
    for (const k of ['B', 'C'] as const) a.sets[k]?.calibration.forEach((text, i) => out.push({ where: `${a.id}/${k}/${i}`, text }));
  }
  set.baseline.forEach((text, i) => out.push({ where: `baseline/${i}`, text }));
  return out;
}

const sentences = (s: string) => s.split(/(?<=[.!?])\s+(?=[A-Z])/).filter((x) => x.trim() !== '');

describe('built-in axis set', () => {
  const set = builtinAxisSet();

  it('validates from the raw file and is versioned', async () => {
    const raw = JSON.parse(await readFile(BUILTIN_FILE, 'utf8'));
    expect(raw.version).toBe('1.0.0');
    const parsed = parseAxisSet(raw, 'builtin.json');
    expect(parsed.name).toBe('moodaxis-builtin');
    expect(parsed.version).toBe('1.0.0');
    expect(await loadAxisSet(BUILTIN_FILE)).toEqual(set);
    expect(builtinAxesPath()).toBe(BUILTIN_FILE);
  });

  it('has the seven axes in order, poles matching ids', () => {
    expect(set.axes.map((a) => a.id)).toEqual(AXIS_IDS);
    for (const a of set.axes) expect(`${a.positive}_${a.negative}`).toBe(a.id);
  });

  it('has the right number of questions per set and axis', () => {
    for (const a of set.axes) {
      expect(a.calibration, a.id).toHaveLength(30);
      expect(a.evaluation, a.id).toHaveLength(10);
      expect(a.sets.B?.calibration, a.id).toHaveLength(20);
      expect(a.sets.C?.calibration, a.id).toHaveLength(20);
    }
    expect(set.baseline).toHaveLength(30);
    const total = (k: (a: AxisSet['axes'][number]) => number) => set.axes.reduce((s, a) => s + k(a), 0);
    expect(total((a) => a.calibration.length)).toBe(210);
    expect(total((a) => a.evaluation.length)).toBe(70);
    expect(total((a) => a.sets.B!.calibration.length)).toBe(140);
    expect(total((a) => a.sets.C!.calibration.length)).toBe(140);
    expect(allQuestions(set)).toHaveLength(590);
  });

  it('never repeats a question anywhere (case- and punctuation-insensitive)', () => {
    const seen = new Map<string, string>();
    const dups: string[] = [];
    for (const q of allQuestions(set)) {
      for (const key of [norm(q.text), normaliseQuestion(q.text)]) {
        const prev = seen.get(key);
        if (prev !== undefined && prev !== q.where) dups.push(`${q.where} = ${prev}: ${q.text}`);
        seen.set(key, q.where);
      }
    }
    expect(dups).toEqual([]);
  });

  it('has no near-duplicate questions (content-word overlap)', () => {
    const stop = new Set(
      'a an the i my me to do how what is of in for on and or it at can should with be are does m ve s t that this you your from which why when there before after get'.split(' '),
    );
    const words = allQuestions(set).map((q) => ({ ...q, w: new Set(norm(q.text).split(' ').filter((x) => !stop.has(x))) }));
    const close: string[] = [];
    for (let i = 0; i < words.length; i++) {
      for (let j = i + 1; j < words.length; j++) {
        const a = words[i]!.w;
        const b = words[j]!.w;
        const inter = [...a].filter((x) => b.has(x)).length;
        const jaccard = inter / (a.size + b.size - inter);
        if (jaccard >= 0.7) close.push(`${words[i]!.where} ~ ${words[j]!.where}`);
      }
    }
    expect(close).toEqual([]);
  });

  it('has well-formed single English questions', () => {
    for (const q of allQuestions(set)) {
      expect(q.text, q.where).toBe(q.text.trim());
      expect(q.text.length, q.where).toBeGreaterThanOrEqual(12);
      expect(q.text.length, q.where).toBeLessThanOrEqual(140);
      expect(q.text, q.where).toMatch(/^[A-Z][\x20-\x7e]*[?.]$/);
    }
  });

  it('has non-empty pole instructions of 1-3 sentences, B and C paraphrasing A', () => {
    for (const a of set.axes) {
      const A = poleInstructions(a, 'A')!;
      const B = poleInstructions(a, 'B')!;
      const C = poleInstructions(a, 'C')!;
      for (const [name, ins] of Object.entries({ A, B, C })) {
        for (const pole of ['positive', 'negative'] as const) {
          const text = ins[pole];
          expect(text.trim().length, `${a.id} ${name} ${pole}`).toBeGreaterThan(20);
          const n = sentences(text).length;
          expect(n, `${a.id} ${name} ${pole}: ${text}`).toBeGreaterThanOrEqual(1);
          expect(n, `${a.id} ${name} ${pole}: ${text}`).toBeLessThanOrEqual(3);
        }
        expect(ins.positive).not.toBe(ins.negative);
      }
      for (const pole of ['positive', 'negative'] as const) {
        const texts = [A[pole], B[pole], C[pole]].map(norm);
        expect(new Set(texts).size, `${a.id} ${pole}`).toBe(3);
      }
    }
    // every instruction text is distinct across the whole file
    const all = set.axes.flatMap((a) =>
      [poleInstructions(a, 'A')!, poleInstructions(a, 'B')!, poleInstructions(a, 'C')!].flatMap((p) => [p.positive, p.negative]),
    );
    expect(new Set(all.map(norm)).size).toBe(all.length);
  });

  it('fills the default prompt template and returns independent copies', () => {
    for (const a of set.axes) expect(a.promptTemplate).toBe(PROMPT_TEMPLATE);
    const copy = builtinAxisSet();
    copy.axes[0]!.calibration.push('mutated?');
    copy.baseline.length = 0;
    const again = builtinAxisSet();
    expect(again.axes[0]!.calibration).toHaveLength(30);
    expect(again.baseline).toHaveLength(30);
  });
});

// ---------------------------------------------------------------------------------------------------

function validCustom(): Record<string, any> {
  return {
    name: 'story-mood',
    axes: [
      {
        id: 'hopeful_gloomy',
        positive: 'hopeful',
        negative: 'gloomy',
        positiveInstruction: 'Answer in a hopeful, upbeat way.',
        negativeInstruction: 'Answer in a gloomy, downbeat way.',
        calibration: ['Tell me about autumn.', 'Describe a harbour at dawn.', 'What happens at a village fair?', 'Describe an old library.'],
        evaluation: ['Describe a rainy street.', 'What is a lighthouse keeper like?'],
      },
    ],
    baseline: ['Describe a train station.', 'Tell me about a mountain lake.'],
  };
}

describe('custom axis-set files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'moodaxis-axes-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function write(name: string, content: unknown): Promise<string> {
    const file = path.join(dir, name);
    await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
    return file;
  }

  async function failure(name: string, content: unknown): Promise<MoodaxisError> {
    const file = await write(name, content);
    try {
      await loadAxisSet(file);
    } catch (err) {
      expect(err).toBeInstanceOf(MoodaxisError);
      expect((err as MoodaxisError).code).toBe('BAD_INPUT');
      expect((err as Error).message).toContain(name);
      return err as MoodaxisError;
    }
    throw new Error(`expected ${name} to be rejected`);
  }

  it('accepts a minimal file and fills defaults', async () => {
    const set = await loadAxisSet(await write('ok.json', validCustom()));
    expect(set.version).toBe('custom');
    expect(set.axes[0]!.promptTemplate).toBe(PROMPT_TEMPLATE);
    expect(set.axes[0]!.sets).toEqual({});
    expect(poleInstructions(set.axes[0]!, 'B')).toBeNull();
  });

  it('accepts optional sets, version, a prompt template and a BOM', async () => {
    const doc = validCustom();
    doc.version = '2.1';
    doc.axes[0].promptTemplate = '### Instruction\n{instruction}\n### Question\n{question}\n### Answer\n';
    doc.axes[0].sets = {
      B: {
        positiveInstruction: 'Be optimistic.',
        negativeInstruction: 'Be pessimistic.',
        calibration: ['Describe a field of wheat.', 'Tell me about a ferry crossing.', 'Describe a bakery.', 'What is a night market like?'],
      },
    };
    const set = await loadAxisSet(await write('full.json', '\uFEFF' + JSON.stringify(doc)));
    expect(set.version).toBe('2.1');
    expect(set.axes[0]!.sets.B?.calibration).toHaveLength(4);
    expect(set.axes[0]!.sets.C).toBeUndefined();
  });

  it('names file and field for a missing field', async () => {
    const doc = validCustom();
    delete doc.axes[0].negativeInstruction;
    const err = await failure('story-mood.json', doc);
    expect(err.message).toMatch(/story-mood\.json: axes\[0\]\.negativeInstruction: required field is missing/);

    const doc2 = validCustom();
    delete doc2.baseline;
    expect((await failure('no-baseline.json', doc2)).message).toMatch(/no-baseline\.json: baseline: required field is missing/);
  });

  it('names file and field for a wrong type', async () => {
    const doc = validCustom();
    doc.axes[0].calibration = 'Tell me about autumn.';
    const err = await failure('wrong-type.json', doc);
    expect(err.message).toMatch(/wrong-type\.json: axes\[0\]\.calibration: expected array, got string/);

    const doc2 = validCustom();
    doc2.axes[0].evaluation[1] = 42;
    expect((await failure('wrong-item.json', doc2)).message).toMatch(/wrong-item\.json: axes\[0\]\.evaluation\[1\]: expected string, got number/);

    expect((await failure('array-root.json', [])).message).toMatch(/array-root\.json: \(top level\): expected an object, got array/);
  });

  it('names file and field for too few questions', async () => {
    const doc = validCustom();
    doc.axes[0].calibration = ['Tell me about autumn.'];
    const err = await failure('story-mood.json', doc);
    expect(err.issues!.map((l) => l.replace(dir + path.sep, ''))).toContain(
      'story-mood.json: axes[0].calibration: expected at least 4 questions, got 1',
    );

    const doc2 = validCustom();
    doc2.axes[0].evaluation = ['Describe a rainy street.'];
    doc2.baseline = [];
    const err2 = await failure('few.json', doc2);
    expect(err2.message).toMatch(/few\.json: axes\[0\]\.evaluation: expected at least 2 questions, got 1/);
    expect(err2.message).toMatch(/few\.json: baseline: expected at least 2 questions, got 0/);

    const doc3 = validCustom();
    doc3.axes[0].sets = { C: { positiveInstruction: 'x', negativeInstruction: 'y', calibration: ['Describe a canal.'] } };
    expect((await failure('few-c.json', doc3)).message).toMatch(/few-c\.json: axes\[0\]\.sets\.C\.calibration: expected at least 4 questions, got 1/);
  });

  it('rejects duplicate axis ids with the offending id', async () => {
    const doc = validCustom();
    const second = structuredClone(doc.axes[0]);
    second.calibration = ['Describe a desert.', 'Tell me about a ski slope.', 'What is a fishing boat like?', 'Describe a garden shed.'];
    second.evaluation = ['Describe a bus ride.', 'Tell me about a bridge.'];
    doc.axes.push(second);
    const err = await failure('dup-id.json', doc);
    expect(err.message).toMatch(/dup-id\.json: axes\[1\]\.id: duplicate axis id "hopeful_gloomy" \(also axes\[0\]\.id\)/);
  });

  it('refuses an evaluation question that is also a calibration question of the same axis, naming both', async () => {
    const doc = validCustom();
    doc.axes[0].evaluation[0] = 'tell me about AUTUMN!';
    expect((await failure('leak.json', doc)).message).toMatch(
      /leak\.json: axes\[0\]\.evaluation\[0\]: question "tell me about AUTUMN!" is also a calibration question of the same axis \(axes\[0\]\.calibration\[0\]\)/,
    );
  });

  it('accepts questions shared across axes and with the baseline (one pool of neutral questions)', async () => {
    const doc = validCustom();
    const second = structuredClone(doc.axes[0]);
    second.id = 'calm_tense';
    doc.axes.push(second); // the same calibration and evaluation questions as axes[0]
    doc.baseline.push(doc.axes[0].calibration[0]);
    const set = await loadAxisSet(await write('shared-pool.json', doc));
    expect(set.axes.map((a) => a.id)).toEqual(['hopeful_gloomy', 'calm_tense']);
  });

  it('rejects bad ids, empty texts, unknown keys and templates without {question}', async () => {
    const doc = validCustom();
    doc.axes[0].id = 'Hopeful-Gloomy';
    doc.axes[0].positiveInstruction = '   ';
    doc.axes[0].calibraton = [];
    doc.axes[0].promptTemplate = '{instruction} then answer';
    const err = await failure('misc.json', doc);
    expect(err.message).toMatch(/misc\.json: axes\[0\]\.id: must be snake_case/);
    expect(err.message).toMatch(/misc\.json: axes\[0\]\.positiveInstruction: instruction must not be empty/);
    expect(err.message).toMatch(/misc\.json: axes\[0\]: unknown key "calibraton"/);
    expect(err.message).toMatch(/misc\.json: axes\[0\]\.promptTemplate: must contain the placeholder \{question\}/);
    expect(err.issues).toHaveLength(4);
  });

  it('reports invalid JSON with line and column', async () => {
    const err = await failure('bad.json', '{\n  "name": "x",\n    axes: []\n}\n');
    expect(err.message).toMatch(/^.*bad\.json: not valid JSON \(.+ at line 3 column 5\)$/);

    const err2 = await failure('bad2.json', '{\n  "name": "x",\n  "axes": [}\n');
    expect(err2.message).toMatch(/bad2\.json: not valid JSON \(Unexpected token '?\}'? at line 3 column 12\)$/);

    // V8 quotes a long excerpt for some errors; it must not leak into the message
    const long = '{\n' + '  "k": "' + 'x'.repeat(200) + '",\n'.repeat(1) + '  "m": tru\n}';
    expect((await failure('bad3.json', long)).message).toMatch(/bad3\.json: not valid JSON \([^\n]+ at line 3 column 8\)$/);

    expect((await failure('empty.json', '')).message).toMatch(/empty\.json: not valid JSON \(the file is empty\)/);
  });

  it('reports a missing file by name', async () => {
    const file = path.join(dir, 'nowhere.json');
    await expect(loadAxisSet(file)).rejects.toThrow(MoodaxisError);
    await expect(loadAxisSet(file)).rejects.toThrow(/nowhere\.json: file not found/);
    await expect(loadAxisSet(file)).rejects.toMatchObject({ code: 'BAD_INPUT' });
  });

  it('parseAxisSet uses the given source name', () => {
    expect(() => parseAxisSet({ name: 'x' }, 'inline')).toThrow(/^inline: axes: required field is missing/m);
  });
});

// ---------------------------------------------------------------------------------------------------

describe('prompts and ids', () => {
  it('renders plain prompts', () => {
    expect(renderPlainPrompt(PROMPT_TEMPLATE, 'Be warm.', 'How are you?')).toBe('Be warm.\n\nHow are you?');
    expect(renderPlainPrompt(PROMPT_TEMPLATE, '', 'How are you?')).toBe('How are you?');
    expect(renderPlainPrompt(PROMPT_TEMPLATE, null, 'How are you?')).toBe('How are you?');
    expect(renderPlainPrompt('Q: {question}\nA:', 'Be warm.', 'Hi?')).toBe('Q: Be warm.\n\nHi?\nA:');
    expect(renderPlainPrompt('Q: {question}\nA:', undefined, 'Hi?')).toBe('Q: Hi?\nA:');
    expect(renderPlainPrompt('Sys\n{instruction}\n\nUser: {question}\nBot:', '', 'Hi?')).toBe('Sys\nUser: Hi?\nBot:');
    // placeholders inside substituted text stay literal
    expect(renderPlainPrompt('{instruction}\n\n{question}', 'Say {question}', 'Why {instruction}?')).toBe('Say {question}\n\nWhy {instruction}?');
  });

  it('gives stable question ids', () => {
    expect(questionId('warm_cold', 'cal', 7)).toBe('warm_cold/cal/07');
    expect(questionId('warm_cold', 'eval', 3)).toBe('warm_cold/eval/03');
    expect(questionId('warm_cold', 'B', 12)).toBe('warm_cold/B/12');
    expect(questionId('warm_cold', 'C', 0)).toBe('warm_cold/C/00');
    expect(questionId(null, 'baseline', 5)).toBe('baseline/05');
    expect(questionId('warm_cold', 'baseline', 5)).toBe('baseline/05');
    expect(() => questionId('warm_cold', 'cal', -1)).toThrow(RangeError);
    expect(() => questionId('warm_cold', 'cal', 1.5)).toThrow(RangeError);
  });

  it('lists questions with ids', () => {
    const set = builtinAxisSet();
    const cal = questionsOf(set, 'warm_cold', 'cal');
    expect(cal).toHaveLength(30);
    expect(cal[7]).toMatchObject({ id: 'warm_cold/cal/07', axis: 'warm_cold', set: 'cal', index: 7, text: set.axes[0]!.calibration[7] });
    expect(questionsOf(set, null, 'baseline')[5]!.id).toBe('baseline/05');
    expect(questionsOf(set, 'verbose_concise', 'C')).toHaveLength(20);
    const ids = AXIS_IDS.flatMap((a) => (['cal', 'eval', 'B', 'C'] as const).flatMap((k) => questionsOf(set, a, k).map((q) => q.id)));
    ids.push(...questionsOf(set, null, 'baseline').map((q) => q.id));
    expect(new Set(ids).size).toBe(590);
  });
});

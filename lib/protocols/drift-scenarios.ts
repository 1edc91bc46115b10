/**
 * Drift scenario files: conversations of user turns, grouped by category; the category `neutral`
 * holds the friendly controls. Built-in: axes/drift-scenarios.json. Custom files are untrusted input:
 * validated with zod (every error names the file and the field) and capped in size.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { MoodaxisError } from '../engine/errors.js';
import { fileIssuesError, issueLines, parseJsonText, readErrorText } from '../docs/json.js';
import { packageRoot } from '../method/axes-file.js';

/** The category of the friendly control conversations. */
export const NEUTRAL_CATEGORY = 'neutral';
export const MAX_SCENARIO_FILE_BYTES = 2 * 1024 * 1024;
export const MAX_SCENARIOS = 500;
export const MAX_TURNS = 50;
export const MAX_TURN_CHARS = 2000;

const ID = /^[a-z][a-z0-9]*(?:[_-][a-z0-9]+)*$/;

const scenarioSchema = z
  .object({
    id: z.string().regex(ID, { message: 'expected a lower-case id (letters, digits, _ or -), e.g. "sarcasm-1"' }),
    category: z.string().regex(ID, { message: `expected a lower-case category id, e.g. "sarcasm" (controls: "${NEUTRAL_CATEGORY}")` }),
    turns: z
      .array(z.string().trim().min(1, { message: 'a turn must not be empty' }).max(MAX_TURN_CHARS, { message: `a turn may have at most ${MAX_TURN_CHARS} characters` }))
      .min(2, { message: 'expected at least 2 turns' })
      .max(MAX_TURNS, { message: `expected at most ${MAX_TURNS} turns` }),
  })
  .strict();

const scenarioSetSchema = z
  .object({
    $schema: z.string().optional(),
    name: z.string().trim().min(1, { message: 'name must not be empty' }),
    version: z.string().default('custom'),
    description: z.string().optional(),
    scenarios: z.array(scenarioSchema).min(2).max(MAX_SCENARIOS, { message: `expected at most ${MAX_SCENARIOS} scenarios` }),
  })
  .strict();

export type DriftScenarioSet = z.output<typeof scenarioSetSchema>;

function crossChecks(set: DriftScenarioSet): string[] {
  const problems: string[] = [];
  const seen = new Map<string, number>();
  const turns = set.scenarios[0]!.turns.length;
  set.scenarios.forEach((s, i) => {
    const first = seen.get(s.id);
    if (first !== undefined) problems.push(`scenarios[${i}].id: duplicate id ${JSON.stringify(s.id)} (also scenarios[${first}].id)`);
    else seen.set(s.id, i);
    if (s.turns.length !== turns) problems.push(`scenarios[${i}].turns: ${s.turns.length} turns, but scenarios[0] has ${turns} (every scenario needs the same number of turns)`);
  });
  if (!set.scenarios.some((s) => s.category === NEUTRAL_CATEGORY)) problems.push(`scenarios: no control scenario (category "${NEUTRAL_CATEGORY}"); drift is measured against the controls`);
  if (!set.scenarios.some((s) => s.category !== NEUTRAL_CATEGORY)) problems.push(`scenarios: only "${NEUTRAL_CATEGORY}" scenarios; at least one other category is needed`);
  return problems;
}

/** Validates parsed JSON; `source` prefixes every message. */
export function parseScenarioSet(json: unknown, source: string): DriftScenarioSet {
  const result = scenarioSetSchema.safeParse(json);
  if (!result.success) throw fileIssuesError(source, issueLines(source, result.error));
  const problems = crossChecks(result.data);
  if (problems.length) throw fileIssuesError(source, problems.map((p) => `${source}: ${p}`));
  return result.data;
}

/** Reads (size capped first) and validates a scenario file. */
export function loadScenarioSet(file: string): DriftScenarioSet {
  let text: string;
  try {
    const size = statSync(file).size;
    if (size > MAX_SCENARIO_FILE_BYTES) throw fileIssuesError(file, [`${file}: ${(size / 1048576).toFixed(1)} MiB, more than the ${MAX_SCENARIO_FILE_BYTES / 1048576} MiB a scenario file may have`]);
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof MoodaxisError) throw err;
    throw fileIssuesError(file, [`${file}: ${readErrorText(err)}`]);
  }
  return parseScenarioSet(parseJsonText(text, file), file);
}

/** Absolute path of the built-in scenario file. */
export function builtinScenariosPath(): string {
  return join(packageRoot(), 'axes', 'drift-scenarios.json');
}

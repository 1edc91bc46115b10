/**
 * `moodaxis report A.json [B.json …] --out report.html`: one self-contained HTML page from protocol
 * documents (fingerprint, stability, steer). Every input is validated first (errors name the file and
 * the field, exit 2); the page is written atomically, so a failed run leaves no partial report.
 */
import { readInputText } from '../../engine/input.js';
import { resolve } from 'node:path';
import { badInput } from '../../engine/errors.js';
import { writeFileAtomic } from '../../method/journal.js';
import { renderReport } from '../../report/html.js';
import { parseDoc } from '../../report/validate.js';
import type { ProtocolDoc } from '../../protocols/types.js';
import { status } from '../runtime.js';
import type { Command } from './shared.js';

export async function readProtocolDoc(path: string): Promise<ProtocolDoc> {
  const text = await readInputText(path);
  return parseDoc(text, path);
}

async function handler(a: { docs: string[]; out: string; title?: string; quiet?: boolean }) {
  if (a.docs.length === 0) throw badInput('give at least one document: moodaxis report fingerprint.json [more.json …] --out report.html');
  const docs: ProtocolDoc[] = [];
  for (const path of a.docs) docs.push(await readProtocolDoc(path));
  const out = resolve(a.out);
  writeFileAtomic(out, renderReport(docs, a.title ? { title: a.title } : {}));
  status(a, `wrote ${out} (${docs.length} document${docs.length === 1 ? '' : 's'})`);
}

export const reportCommand: Command = {
  command: 'report <docs..>',
  describe: 'render fingerprint, stability and steer documents into one self-contained HTML report',
  builder: (y) =>
    y
      .positional('docs', { type: 'string', array: true, demandOption: true, describe: 'fingerprint.json, stability.json or steer.json files' })
      .option('out', { type: 'string', default: 'report.html', describe: 'HTML file to write' })
      .option('title', { type: 'string', describe: 'page title (default: moodaxis report · <models>)' })
      .option('quiet', { type: 'boolean', default: false, describe: 'no status output' }),
  handler,
};

/**
 * `moodaxis report A.json [B.json …] --out DIR`: one self-contained HTML page (DIR/report.html) from
 * protocol documents (fingerprint, stability, steer). Every input is validated first (errors name the
 * file and the field, exit 2); the page is written atomically, so a failed run leaves no partial report.
 */
import { join, resolve } from 'node:path';
import type { ProtocolDoc } from '../../docs/types.js';
import { OUT_RULE, outDir, status } from '../runtime.js';
import { outputOptions, type Command } from './shared.js';

export async function readProtocolDoc(path: string): Promise<ProtocolDoc> {
  const { readDoc } = await import('../../docs/read.js');
  return readDoc(path);
}

async function handler(a: { docs: string[]; out?: string; title?: string; json?: boolean; quiet?: boolean }) {
  const dir = outDir(a.out, resolve('.'), 'report.html');
  const docs: ProtocolDoc[] = [];
  for (const path of a.docs) docs.push(await readProtocolDoc(path));
  const [{ renderReport }, { writeFileAtomic }] = await Promise.all([import('../../report/html.js'), import('../../docs/write.js')]);
  const file = join(dir, 'report.html');
  writeFileAtomic(file, renderReport(docs, a.title ? { title: a.title } : {}));
  if (a.json) process.stdout.write(`${JSON.stringify({ report: file, documents: a.docs.map((p) => resolve(p)) }, null, 2)}\n`);
  status(a, `wrote ${file} (${docs.length} document${docs.length === 1 ? '' : 's'})`);
}

export const reportCommand: Command = {
  command: 'report <docs..>',
  describe: 'render fingerprint, stability and steer documents into one self-contained HTML report (report.html)',
  builder: (y) =>
    outputOptions(y, 'no status line', 'print JSON on stdout and nothing else: the report file and its documents')
      .positional('docs', { type: 'string', array: true, demandOption: true, describe: 'fingerprint.json, stability.json or steer JSON files' })
      .option('out', { type: 'string', requiresArg: true, describe: `${OUT_RULE} for report.html (default: the current folder)` })
      .option('title', { type: 'string', requiresArg: true, describe: 'page title (default: moodaxis report · <models>)' }),
  handler,
};

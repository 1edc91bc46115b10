/**
 * `moodaxis report A.json [B.json …] --out DIR`: one self-contained HTML page (DIR/report.html) from
 * protocol documents (fingerprint, stability, steer). Every input is validated first (errors name the
 * file and the field, exit 2); the page is written atomically, so a failed run leaves no partial report.
 */
import { join, resolve } from 'node:path';
import type { ProtocolDoc } from '../../docs/types.js';
import { plural } from '../../protocols/wording.js';
import { outDir, printResult } from '../runtime.js';
import { defineCommand, outFlag, outputOptions } from './shared.js';

export async function readProtocolDoc(path: string): Promise<ProtocolDoc> {
  const { readDoc } = await import('../../docs/read.js');
  return readDoc(path);
}

export const reportCommand = defineCommand({
  command: 'report <docs..>',
  describe: 'render fingerprint, stability and steer documents into one self-contained HTML report (report.html)',
  builder: (y) =>
    outputOptions(y, 'no status line', 'print JSON on stdout and nothing else: the report file and its documents')
      .positional('docs', { type: 'string', array: true, demandOption: true, describe: 'fingerprint.json, stability.json or steer JSON files' })
      .option('out', outFlag('report.html', 'default: the current folder'))
      .option('title', { type: 'string', requiresArg: true, describe: 'page title (default: moodaxis report · <models>)' }),
  async handler(a) {
    const dir = outDir(a.out, 'report.html') ?? resolve('.');
    const docs: ProtocolDoc[] = [];
    for (const path of a.docs) docs.push(await readProtocolDoc(path));
    const [{ renderReport }, { writeFileAtomic }] = await Promise.all([import('../../report/html.js'), import('../../docs/write.js')]);
    const file = join(dir, 'report.html');
    writeFileAtomic(file, renderReport(docs, a.title ? { title: a.title } : {}));
    printResult(a, { report: file, documents: a.docs.map((p) => resolve(p)) }, { text: () => '', summary: () => `wrote ${file} (${plural(docs.length, 'document', 'documents')})` });
  },
});

/**
 * The layers of lib/: every import of every file (static, `import type`, `export … from` and dynamic
 * `import()`), read with TypeScript's own pre-processor, checked against the layer order
 *
 *   defaults (a leaf) < stats < engine < docs < method < protocols < report < cli < index
 *
 * - lib/defaults.ts imports nothing; lib/stats imports nothing from lib;
 * - engine nothing from docs, method, protocols, report or cli;
 * - docs nothing from method, protocols, report or cli;
 * - method nothing from protocols, report or cli;
 * - protocols nothing from report or cli, and one protocol does not import another (shared pieces
 *   belong a layer down; the helpers listed in PROTOCOL_HELPERS are shared by design);
 * - report nothing from engine (but its errors), method or cli: it reads documents (lib/docs);
 * - nothing in lib imports fixtures/;
 * - no import cycle, type-only imports included.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { repoPath } from '../helpers/paths.js';

const ROOT = repoPath('.');
const LIB = join(ROOT, 'lib');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.isFile() && e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Repository-relative path of every file a file imports (relative specifiers only; packages and node: are left out). */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles
    .map((f) => f.fileName)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => relative(ROOT, resolve(dirname(file), spec)).replace(/\.js$/, '.ts').split('\\').join('/'));
}

const files = tsFiles(LIB).map((f) => relative(ROOT, f).split('\\').join('/')).sort();
const graph = new Map(files.map((f) => [f, importsOf(join(ROOT, f))]));

const LAYERS = ['defaults', 'stats', 'engine', 'docs', 'method', 'protocols', 'report', 'cli', 'index'] as const;
type Layer = (typeof LAYERS)[number] | 'fixtures' | 'other';

function layerOf(path: string): Layer {
  if (path === 'lib/defaults.ts') return 'defaults';
  if (path === 'lib/index.ts') return 'index';
  if (path.startsWith('fixtures/')) return 'fixtures';
  const top = /^lib\/([^/]+)\//.exec(path)?.[1];
  return (LAYERS as readonly string[]).includes(top ?? '') ? (top as Layer) : 'other';
}

/** What each layer must not import (beyond the layer order, which the check below applies to all). */
const EXTRA_FORBIDDEN: Partial<Record<Layer, (target: string) => boolean>> = {
  // The report reads documents: of the engine only its error class.
  report: (t) => (layerOf(t) === 'engine' && t !== 'lib/engine/errors.ts') || layerOf(t) === 'method',
};

/**
 * Modules of lib/protocols that several protocols share by design (not protocols themselves). Every
 * other module there is a protocol and imports no other protocol.
 */
const PROTOCOL_HELPERS = new Set(['analysis', 'axes-source', 'cache', 'wording', 'ratings', 'drift-scenarios'].map((m) => `lib/protocols/${m}.ts`));
/** Parts of one protocol kept in several files: validation by ratings (validate) or by a judge model (judge). */
const SAME_PROTOCOL = [new Set(['lib/protocols/validate.ts', 'lib/protocols/judge.ts'])];


describe('layers of lib/', () => {
  it('reads the imports of every file', () => {
    expect(files.length).toBeGreaterThan(50);
    // the parser sees every form: a static import, `export … from` and a dynamic import()
    expect(graph.get('lib/index.ts')).toContain('lib/engine/index.ts');
    expect(graph.get('lib/cli/commands/fingerprint.ts')!.some((t) => t.startsWith('lib/protocols/'))).toBe(true);
    for (const [file, targets] of graph) for (const t of targets) if (layerOf(t) !== 'fixtures') expect(files, `${file} imports ${t}`).toContain(t);
    expect(files.filter((f) => layerOf(f) === 'other')).toEqual([]);
  });

  it('nothing imports upward', () => {
    const problems: string[] = [];
    for (const [file, targets] of graph) {
      const from = layerOf(file);
      for (const t of targets) {
        const to = layerOf(t);
        if (to === 'fixtures') continue; // its own rule below
        if (from === 'defaults') problems.push(`${file} imports ${t}: lib/defaults.ts imports nothing`);
        else if (from === 'stats' && to !== 'stats') problems.push(`${file} imports ${t}: lib/stats imports nothing from lib`);
        else if (LAYERS.indexOf(to as (typeof LAYERS)[number]) > LAYERS.indexOf(from as (typeof LAYERS)[number])) problems.push(`${file} (${from}) imports ${t} (${to}), a layer above it`);
        else if (EXTRA_FORBIDDEN[from]?.(t)) problems.push(`${file} (${from}) must not import ${t}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('protocols do not import each other', () => {
    const isProtocol = (f: string) => layerOf(f) === 'protocols' && !PROTOCOL_HELPERS.has(f);
    const problems: string[] = [];
    for (const [file, targets] of graph) {
      if (!isProtocol(file)) continue;
      for (const t of targets) if (isProtocol(t) && t !== file && !SAME_PROTOCOL.some((s) => s.has(file) && s.has(t))) problems.push(`${file} imports ${t}`);
    }
    expect(problems).toEqual([]);
  });

  it('nothing in lib/ imports fixtures/', () => {
    const importers = [...graph].filter(([, targets]) => targets.some((t) => layerOf(t) === 'fixtures')).map(([f]) => f);
    expect(importers, 'lib/ files that import fixtures/').toEqual([]);
  });

  it('has no import cycle (type-only imports included)', () => {
    // Tarjan's strongly connected components; a component of more than one file, or a file importing itself, is a cycle.
    const index = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const onStack = new Set<string>();
    const cycles: string[][] = [];
    let next = 0;
    const visit = (v: string) => {
      index.set(v, next);
      low.set(v, next++);
      stack.push(v);
      onStack.add(v);
      for (const w of graph.get(v) ?? []) {
        if (!graph.has(w)) continue;
        if (!index.has(w)) {
          visit(w);
          low.set(v, Math.min(low.get(v)!, low.get(w)!));
        } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
      if (low.get(v) === index.get(v)) {
        const component: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          component.push(w);
        } while (w !== v);
        if (component.length > 1 || graph.get(v)!.includes(v)) cycles.push(component.sort());
      }
    };
    for (const f of files) if (!index.has(f)) visit(f);
    expect(cycles).toEqual([]);
  });
});

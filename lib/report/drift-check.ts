/** Checks of a drift.json document (every field the report and the CLI use). */
import type { DriftDoc } from '../protocols/drift.js';
import type { Checker } from './validate.js';

type Obj = Record<string, unknown>;

function checkEstimate(c: Checker, o: Obj, path: string): void {
  c.numOrNull(o, 'slope', path);
  c.num(o, 'delta', path);
  for (const k of ['slopeCI', 'deltaCI']) if (o[k] !== null) c.nums(o, k, path, 2);
}

export function checkDrift(c: Checker, d: Obj): DriftDoc {
  const turns = c.num(d, 'turns', '');
  const bs = c.obj(d.bootstrap, 'bootstrap');
  for (const k of ['resamples', 'seed', 'level']) c.num(bs, k, 'bootstrap');
  const set = c.obj(d.scenarioSet, 'scenarioSet');
  c.str(set, 'name', 'scenarioSet');
  const axisIds = c.arr(d, 'axes', '').map((item, i) => {
    const a = c.obj(item, `axes[${i}]`);
    for (const k of ['positive', 'negative']) c.str(a, k, `axes[${i}]`);
    return c.str(a, 'id', `axes[${i}]`);
  });
  c.arr(d, 'categories', '').forEach((item, i) => {
    const p = `categories[${i}]`;
    const cat = c.obj(item, p);
    c.str(cat, 'id', p);
    c.bool(cat, 'control', p);
    c.num(cat, 'scenarios', p);
    c.arr(cat, 'axes', p).forEach((ai, j) => {
      const q = `${p}.axes[${j}]`;
      const a = c.obj(ai, q);
      const id = c.str(a, 'axis', q);
      if (!axisIds.includes(id)) c.fail(`${q}.axis`, `"${id}" is not among axes[].id`);
      checkEstimate(c, a, q);
      c.nums(a, 'turnMeans', q, turns);
      if (a.vsControl !== null) checkEstimate(c, c.obj(a.vsControl, `${q}.vsControl`), `${q}.vsControl`);
    });
  });
  c.arr(d, 'conversations', '');
  c.arr(d, 'warnings', '');
  return d as unknown as DriftDoc;
}

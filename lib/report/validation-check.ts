/** Checks of a validation.json document (every field the report and the CLI use). */
import type { ValidationDoc } from '../protocols/validation-doc.js';
import type { Checker } from './validate.js';

type Obj = Record<string, unknown>;

function checkCorrelation(c: Checker, o: Obj, path: string): void {
  c.num(o, 'n', path);
  c.numOrNull(o, 'rho', path);
  if (o.ci !== null) c.nums(o, 'ci', path, 2);
}

export function checkValidation(c: Checker, d: Obj): ValidationDoc {
  const fp = c.obj(d.fingerprint, 'fingerprint');
  c.str(fp, 'file', 'fingerprint');
  c.str(fp, 'createdAt', 'fingerprint');
  const bs = c.obj(d.bootstrap, 'bootstrap');
  for (const k of ['resamples', 'seed', 'level']) c.num(bs, k, 'bootstrap');
  const rs = c.obj(d.responses, 'responses');
  c.num(rs, 'rated', 'responses');
  const per = c.obj(rs.ratingsPerResponse, 'responses.ratingsPerResponse');
  c.num(per, 'min', 'responses.ratingsPerResponse');
  c.num(per, 'max', 'responses.ratingsPerResponse');
  c.arr(d, 'axes', '').forEach((item, i) => {
    const p = `axes[${i}]`;
    const a = c.obj(item, p);
    for (const k of ['id', 'positive', 'negative']) c.str(a, k, p);
    checkCorrelation(c, a, p);
    c.arr(a, 'flags', p).forEach((f, j) => {
      if (f !== 'negative' && f !== 'ci-includes-0' && f !== 'undefined') c.fail(`${p}.flags[${j}]`, `expected "negative", "ci-includes-0" or "undefined", got ${JSON.stringify(f)}`);
    });
    c.arr(a, 'points', p).forEach((pt, j) => {
      const q = `${p}.points[${j}]`;
      const o = c.obj(pt, q);
      c.str(o, 'questionId', q);
      c.oneOf(o, 'pole', q, ['positive', 'negative', 'none'] as const);
      for (const k of ['score', 'rating', 'ratings']) c.num(o, k, q);
    });
  });
  checkCorrelation(c, c.obj(d.pooled, 'pooled'), 'pooled');
  for (const k of ['flagged', 'notes']) {
    c.arr(d, k, '').forEach((s, i) => {
      if (typeof s !== 'string') c.fail(`${k}[${i}]`, `expected a string, got ${JSON.stringify(s)}`);
    });
  }
  return d as unknown as ValidationDoc;
}

/**
 * Line and column of a field in a JSON cluster input (src/cluster/json-locate.ts): the same place the
 * yaml package's parser gives, found in one scan, so an error deep in a large kubectl dump is reported
 * in seconds (re-parsing a 47 MB dump as YAML to find the line took 100 s and 2.7 GB).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { InputError } from '../src/core/errors';
import { parseClusterText } from '../src/cluster';
import { jsonLocate } from '../src/cluster/json-locate';
import { lineColOf, type PathSeg } from '../src/cluster/source';

const FIX = path.resolve(__dirname, '..', '..', 'test', 'fixtures-cluster');

/** Every path to a value in `v`. */
function paths(v: unknown, prefix: PathSeg[] = [], out: PathSeg[][] = []): PathSeg[][] {
  out.push(prefix);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...prefix, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...prefix, k], out);
  return out;
}

describe('cluster: JSON field positions', () => {
  it('every field of the JSON fixtures is at the line and column the yaml parser gives', () => {
    let checked = 0;
    for (const name of fs.readdirSync(FIX).filter((f) => /\.(json|conf|conflist)$/.test(f))) {
      const text = fs.readFileSync(path.join(FIX, name), 'utf8').replace(/^\uFEFF/, '');
      if (!/^\s*[[{]/.test(text)) continue;
      const lc = new YAML.LineCounter();
      const doc = YAML.parseDocument(text, { lineCounter: lc });
      for (const p of paths(JSON.parse(text))) {
        const node = doc.getIn(p, true) as { range?: [number, number, number] } | undefined;
        if (!node?.range) continue;
        const at = jsonLocate(text, p);
        assert.ok(at !== null, `${name} ${JSON.stringify(p)}`);
        assert.deepEqual(lineColOf(text, at), lc.linePos(node.range[0]), `${name} ${JSON.stringify(p)}`);
        checked++;
      }
    }
    assert.ok(checked > 200, `only ${checked} fields checked`);
  });

  it('a missing key: the position of its object', () => {
    const text = '{\n  "a": {\n    "b": 1\n  },\n  "c": [1, {"d": "x\\"y"}]\n}';
    assert.deepEqual(lineColOf(text, jsonLocate(text, ['a', 'zz'])!), { line: 2, col: 8 });
    assert.deepEqual(lineColOf(text, jsonLocate(text, ['c', 1, 'd'])!), { line: 5, col: 18 });
  });

  it('a wrong value at the end of a 10 MB kubectl object is reported with its line in seconds', () => {
    // one ConfigMap whose data (skipped: no config key) comes before its metadata
    const data: Record<string, string> = {};
    for (let k = 0; k < 200000; k++) data[`note-${k}`] = 'x'.repeat(40);
    const text = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', data, metadata: { name: 5 } }, null, 2);
    assert.ok(text.length > 10e6);
    const t0 = Date.now();
    let e: unknown;
    try {
      parseClusterText('big.json', text);
    } catch (x) {
      e = x;
    }
    const seconds = (Date.now() - t0) / 1000;
    assert.ok(e instanceof InputError, String(e));
    const line = text.slice(0, text.lastIndexOf('"name": 5')).split('\n').length;
    assert.match(e.message, new RegExp(`metadata\\.name: expected a string, found number 5 \\(line ${line}, column 13\\)`));
    assert.ok(seconds < 10, `${seconds} s`);
  });
});

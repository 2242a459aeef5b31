/**
 * Issue 10, "An engine a newcomer can change" and "no behaviour keyed on a name", checked on the source
 * with the TypeScript compiler API (the parser only: no type checking, a few hundred ms):
 *   1. no function, method, constructor, accessor or arrow in src/vfp/** and src/pipeline/** is longer
 *      than 120 lines (from its first line, the signature, to its last, the closing brace);
 *   2. no behaviour in src/vfp/** keyed on a layer, group or rule name: no string literal equal to or
 *      starting with a name HNS uses for a layer or a rule family (HNS_NAMES) in a comparison (=== !== ==
 *      != and switch cases) or as the argument of a string or map look-up method (startsWith, includes,
 *      indexOf, has, get, ...); and no `.name` compared with, or looked up in (`x.name.startsWith(...)`),
 *      any string literal. Names that compile builds (object literal `name:` properties, call arguments
 *      such as group('LB_OUT', ...)) and trace text are not behaviour and are not flagged.
 * Each offender is printed with file:line. KNOWN_LONG_TODAY and KNOWN_NAME_KEYED_TODAY held what the
 * main before issue 10 had (emptied by issue 10): the test fails on any offender not listed, and on a
 * listed one that is gone (remove it from the list), so the lists only shrink.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

const ROOT = path.resolve(__dirname, '..', '..');
const MAX_LINES = 120;

/** Layer names and rule-name families HNS (and compile.ts) use. */
const HNS_NAMES = ['SLB_NAT_LAYER', 'LB', 'SLB_LB_LAYER', 'VNET', 'LB_HOST_', 'ACL_ENDPOINT_LAYER', 'LB_DSR'];

/** Methods whose string argument makes a look-up or a test: a literal there keys behaviour on it. */
const LOOKUP_METHODS = new Set(['startsWith', 'endsWith', 'includes', 'indexOf', 'lastIndexOf', 'match', 'search', 'localeCompare', 'has', 'get']);

const COMPARISONS = new Set([ts.SyntaxKind.EqualsEqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsEqualsToken, ts.SyntaxKind.EqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsToken]);

/**
 * Functions over MAX_LINES let through, as `file: name` (one entry each). Issue 10 emptied it (on the
 * main before it: compile.ts compileCluster 343 lines, engine.ts Dataplane.one 128, Dataplane.slow 376):
 * keep it empty; an entry that no longer offends fails the test.
 */
const KNOWN_LONG_TODAY: string[] = [];

/**
 * Name-keyed behaviour let through, as `file: expression` (one entry per occurrence). Issue 10 emptied it
 * (on the main before it: engine.ts `layer.name === 'VNET'`, `=== 'LB'`, `=== 'SLB_LB_LAYER'`,
 * `=== 'SLB_NAT_LAYER'`, `hostRule.name.startsWith('LB_HOST_')`, `layerName === 'LB'`): keep it empty.
 */
const KNOWN_NAME_KEYED_TODAY: string[] = [];

/** The .ts files under `dir` (relative to ROOT), sorted. */
function sources(dir: string): string[] {
  const abs = path.join(ROOT, dir);
  return (fs.readdirSync(abs, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => path.join(dir, f).split(path.sep).join('/'))
    .sort();
}

function parse(rel: string): ts.SourceFile {
  return ts.createSourceFile(rel, fs.readFileSync(path.join(ROOT, rel), 'utf8'), ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
}

function lineOf(sf: ts.SourceFile, pos: number): number {
  return sf.getLineAndCharacterOfPosition(pos).line + 1;
}

/** A readable name for a function-like node: `Class.method`, `name`, or `<arrow> in OUTER`. */
function functionName(node: ts.FunctionLikeDeclaration): string {
  const own = (n: ts.Node): string | null => {
    const named = n as ts.Node & { name?: ts.Node };
    if (named.name !== undefined && (ts.isIdentifier(named.name) || ts.isStringLiteral(named.name) || ts.isPrivateIdentifier(named.name))) return named.name.text;
    return null;
  };
  if (ts.isConstructorDeclaration(node)) return `${own(node.parent) ?? '<class>'}.constructor`;
  if (ts.isMethodDeclaration(node) || ts.isGetAccessor(node) || ts.isSetAccessor(node)) {
    const cls = ts.isClassLike(node.parent) ? (own(node.parent) ?? '<class>') : '<object>';
    return `${cls}.${own(node) ?? '<computed>'}`;
  }
  const direct = own(node);
  if (direct !== null) return direct;
  const p = node.parent;
  if ((ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p)) && own(p) !== null) return own(p) as string;
  for (let up: ts.Node | undefined = p; up !== undefined; up = up.parent) {
    if (ts.isFunctionLike(up)) return `<function> in ${functionName(up as ts.FunctionLikeDeclaration)}`;
  }
  return '<function> at top level';
}

interface Long {
  key: string;
  at: string;
  lines: number;
}

/** The functions of `rel` longer than MAX_LINES. */
function longFunctions(rel: string): Long[] {
  const sf = parse(rel);
  const out: Long[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isFunctionLike(n) && (n as ts.FunctionLikeDeclaration).body !== undefined) {
      const first = lineOf(sf, n.getStart(sf));
      const lines = lineOf(sf, n.getEnd()) - first + 1;
      if (lines > MAX_LINES) out.push({ key: `${rel}: ${functionName(n as ts.FunctionLikeDeclaration)}`, at: `${rel}:${first}`, lines });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

function isStringLit(n: ts.Node): n is ts.StringLiteral | ts.NoSubstitutionTemplateLiteral {
  return ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n);
}

function isHnsName(n: ts.Node): boolean {
  return isStringLit(n) && HNS_NAMES.some((h) => n.text === h || n.text.startsWith(h));
}

/** `x.name` (or `x?.name`). */
function isNameAccess(n: ts.Node): boolean {
  return ts.isPropertyAccessExpression(n) && n.name.text === 'name';
}

/** True when `n` keys behaviour on a name (see the module comment). */
function keyedOnName(n: ts.Node): boolean {
  if (ts.isBinaryExpression(n) && COMPARISONS.has(n.operatorToken.kind)) {
    const sides = [n.left, n.right];
    if (sides.some(isHnsName)) return true;
    return (isNameAccess(n.left) && isStringLit(n.right)) || (isNameAccess(n.right) && isStringLit(n.left));
  }
  if (ts.isCallExpression(n) && ts.isPropertyAccessExpression(n.expression) && LOOKUP_METHODS.has(n.expression.name.text)) {
    if (n.arguments.some(isHnsName)) return true;
    return isNameAccess(n.expression.expression) && n.arguments.some(isStringLit);
  }
  if (ts.isCaseClause(n)) {
    if (isHnsName(n.expression)) return true;
    return isStringLit(n.expression) && isNameAccess(n.parent.parent.expression);
  }
  return false;
}

interface Keyed {
  key: string;
  at: string;
}

/** The name-keyed expressions of `rel`, as `file: expression` (whitespace collapsed) and file:line. */
function nameKeyed(rel: string): Keyed[] {
  const sf = parse(rel);
  const out: Keyed[] = [];
  const visit = (n: ts.Node): void => {
    if (keyedOnName(n)) {
      const text = ts.isCaseClause(n) ? `case ${n.expression.getText(sf)}` : n.getText(sf);
      out.push({ key: `${rel}: ${text.replace(/\s+/g, ' ')}`, at: `${rel}:${lineOf(sf, n.getStart(sf))}` });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

/** Offenders not excused by `known` (a multiset: one entry per occurrence), and entries left over. */
function against(found: { key: string; at: string }[], known: string[]): { unexpected: string[]; stale: string[] } {
  const left = new Map<string, number>();
  for (const k of known) left.set(k, (left.get(k) ?? 0) + 1);
  const unexpected: string[] = [];
  for (const f of found) {
    const n = left.get(f.key) ?? 0;
    if (n > 0) left.set(f.key, n - 1);
    else unexpected.push(`${f.at}  ${f.key}`);
  }
  const stale: string[] = [];
  for (const [k, n] of left) for (let j = 0; j < n; j++) stale.push(`${k} (listed, not found: remove it from the list)`);
  return { unexpected, stale };
}

describe('code shape (issue 10)', () => {
  it(`no function in src/vfp or src/pipeline is longer than ${MAX_LINES} lines`, () => {
    const found = [...sources('src/vfp'), ...sources('src/pipeline')].flatMap(longFunctions);
    assert.ok(sources('src/vfp').length > 0 && sources('src/pipeline').length > 0, 'no source found');
    if (found.length > 0) console.log(`\n  functions over ${MAX_LINES} lines:\n${found.map((f) => `    ${f.at}  ${f.key.slice(f.key.indexOf(': ') + 2)}  ${f.lines} lines`).join('\n')}\n`);
    const listed = found.map((f) => ({ key: f.key, at: `${f.at} (${f.lines} lines)` }));
    assert.deepEqual(against(listed, KNOWN_LONG_TODAY), { unexpected: [], stale: [] });
  });

  it('no behaviour in src/vfp is keyed on a layer, group or rule name', () => {
    const found = sources('src/vfp').flatMap(nameKeyed);
    if (found.length > 0) console.log(`\n  name-keyed behaviour:\n${found.map((f) => `    ${f.at}  ${f.key.slice(f.key.indexOf(': ') + 2)}`).join('\n')}\n`);
    assert.deepEqual(against(found, KNOWN_NAME_KEYED_TODAY), { unexpected: [], stale: [] });
  });

  it('the name scan finds what it is meant to find (and leaves names that are built or printed)', () => {
    const probe = (code: string): string[] => {
      const sf = ts.createSourceFile('probe.ts', code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
      const hits: string[] = [];
      const visit = (n: ts.Node): void => {
        if (keyedOnName(n)) hits.push(n.getText(sf));
        ts.forEachChild(n, visit);
      };
      visit(sf);
      return hits;
    };
    const flagged = [
      "if (layer.name === 'VNET') x();",
      "if ('SLB_NAT_LAYER' !== l.name) x();",
      "const h = rule.name.startsWith('LB_HOST_');",
      "const k = kind === 'LB_DSR';",
      "switch (layer.name) { case 'ACL_ENDPOINT_LAYER': break; }",
      "switch (k) { case 'SLB_LB_LAYER': break; }",
      "const g = byName.get('VNET');",
      "const z = group.name === 'ANYTHING';",
      'const t = r.name.includes(`X`);',
    ];
    for (const code of flagged) assert.equal(probe(code).length, 1, `not flagged: ${code}`);
    const clean = [
      "const l = { name: 'VNET', priority: 500 };",
      "const g = group('LB_OUT', 100, DIR_OUT, rules);",
      "T.open(T_LAYER, 'VNET');",
      'const n = `LB_HOST_${id}_${vip}`;',
      'if (n.name === nodeName) x();',
      "const p = key.startsWith('timeouts.');",
    ];
    for (const code of clean) assert.deepEqual(probe(code), [], `flagged: ${code}`);
  });
});

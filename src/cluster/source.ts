/**
 * Reading cluster input files: text -> documents -> `Field`s that know their file and field path.
 *
 * JSON text is parsed with JSON.parse (fast, for large kubectl dumps); YAML (also multi-document `---`)
 * with the fast reader of yaml-subset.ts when the text is inside its subset (the same values; issue 12,
 * start-up), else with the `yaml` package. Positions are computed only when an error is reported: the YAML document, or
 * one scan of the JSON text (json-locate.ts), maps a field path to a line and column. Every accessor on `Field`
 * checks the type and throws InputError(file, {fieldPath}, detail) naming the path, e.g.
 * `items[3].spec.ports[0].port`, and the line when it is known.
 */

import type * as YAML from 'yaml';
import { yaml } from './yaml';
import { readYamlSubset } from './yaml-subset';
import { InputError } from '../core/errors';
import { normalizeIp, tryParseCidr, formatCidr, tryParseIPv4, type Cidr } from '../core/ip';
import { parseMac } from './mac';
import { checkValueLimits, MAX_NESTING, MAX_YAML_ALIASES } from './limits';
import { jsonLocate } from './json-locate';

export type PathSeg = string | number;

/** Where a fact came from: a file and a field path in it. */
export interface Where {
  file: string;
  path: string;
}

/** `file:path` (or just `file` for the whole document), the form used in diagnostics' `source`. */
export function whereText(w: Where): string {
  return w.path ? `${w.file}:${w.path}` : w.file;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** Formats a path as `items[3].spec.ports[0].port`; keys that are not identifiers as `annotations["a.b/c"]`. */
export function formatPath(path: readonly PathSeg[]): string {
  // Built by join, not +=: the text is one flat string rather than a rope of one piece per segment (a
  // Where is kept per fact until the merge: about half the draft's memory was these ropes, issue 12)
  const parts: string[] = [];
  for (const seg of path) {
    if (typeof seg === 'number') parts.push(`[${seg}]`);
    else if (IDENT.test(seg)) parts.push(parts.length === 0 ? seg : `.${seg}`);
    else parts.push(`[${JSON.stringify(seg)}]`);
  }
  return parts.join('');
}

/** One parsed document of a file (a file with `---` holds several). */
export class SourceDoc {
  /** Path prefix inside the file: `documents[1]` for the second YAML document, `data["net-conf.json"]` for embedded JSON. */
  readonly prefix: PathSeg[];
  private readonly locate: (path: PathSeg[]) => { line: number; col: number } | null;

  constructor(
    readonly file: string,
    readonly value: unknown,
    prefix: PathSeg[],
    locate: (path: PathSeg[]) => { line: number; col: number } | null,
  ) {
    this.prefix = prefix;
    this.locate = locate;
  }

  /** Line and column (1-based) of the node at `path` (relative to this document), when known. */
  position(path: PathSeg[]): { line: number; col: number } | null {
    try {
      return this.locate(path);
    } catch {
      return null;
    }
  }

  /** The root of this document, as a Field. `ci` makes key lookups case-insensitive (Go's encoding/json). */
  root(ci = false): Field {
    return new Field(this, [], this.value, ci);
  }

  /** A document parsed from a string value inside this one (a ConfigMap's `data["net-conf.json"]`). */
  embedded(at: PathSeg[], value: unknown): SourceDoc {
    // the outer position only when an error asks for it
    let outer: { line: number; col: number } | null | undefined;
    return new SourceDoc(this.file, value, [...this.prefix, ...at], () => (outer === undefined ? (outer = this.position(at)) : outer));
  }
}

/** A value at a path in a document, with typed accessors that fail with the file and the path. */
export class Field {
  constructor(
    readonly doc: SourceDoc,
    readonly path: PathSeg[],
    readonly value: unknown,
    /** Case-insensitive key lookup (Go-decoded formats: CNI, net-conf, HNS). */
    readonly ci: boolean,
  ) {}

  /** The field path in the file, e.g. `items[3].spec.ports[0].port`. */
  get pathText(): string {
    return formatPath([...this.doc.prefix, ...this.path]);
  }

  get where(): Where {
    return { file: this.doc.file, path: this.pathText };
  }

  /** Throws InputError naming this field (and its line when known). */
  fail(detail: string): never {
    const pos = this.doc.position(this.path);
    throw new InputError(this.doc.file, { fieldPath: this.pathText || '(document)' }, pos ? `${detail} (line ${pos.line}, column ${pos.col})` : detail);
  }

  /** True when the value is absent or null. */
  get absent(): boolean {
    return this.value === undefined || this.value === null;
  }

  isObject(): boolean {
    return typeof this.value === 'object' && this.value !== null && !Array.isArray(this.value);
  }

  /** The actual key in this object matching `key` (case-insensitively when `ci`), or undefined. */
  keyOf(key: string): string | undefined {
    if (!this.isObject()) return undefined;
    const obj = this.value as Record<string, unknown>;
    if (Object.prototype.hasOwnProperty.call(obj, key)) return key;
    if (!this.ci) return undefined;
    const lower = key.toLowerCase();
    for (const k of Object.keys(obj)) if (k.toLowerCase() === lower) return k;
    return undefined;
  }

  has(key: string): boolean {
    const k = this.keyOf(key);
    return k !== undefined && (this.value as Record<string, unknown>)[k] != null;
  }

  /** The child at `key` (absent when missing). Fails when this is not an object. */
  get(key: string): Field {
    if (!this.isObject()) this.fail(`expected an object, found ${describe(this.value)}`);
    const k = this.keyOf(key);
    const v = k === undefined ? undefined : (this.value as Record<string, unknown>)[k];
    return new Field(this.doc, [...this.path, k ?? key], v, this.ci);
  }

  /** Walks several keys: `f.at('spec', 'ports')`. Absent parents give an absent child. */
  at(...keys: string[]): Field {
    let f: Field = this;
    for (const k of keys) {
      if (f.absent) return new Field(this.doc, [...f.path, k], undefined, this.ci);
      f = f.get(k);
    }
    return f;
  }

  /** The same path holding another value (one piece of a comma-separated string, an env value). */
  withValue(value: unknown): Field {
    return new Field(this.doc, this.path, value, this.ci);
  }

  /** Fails when this is absent. */
  required(what = 'this field'): Field {
    if (this.absent) this.fail(`${what} is required`);
    return this;
  }

  object(): Field {
    if (!this.isObject()) this.fail(`expected an object, found ${describe(this.value)}`);
    return this;
  }

  keys(): string[] {
    return this.isObject() ? Object.keys(this.value as object) : [];
  }

  /** Array elements; fails on a non-array. */
  items(): Field[] {
    if (!Array.isArray(this.value)) this.fail(`expected a list, found ${describe(this.value)}`);
    return (this.value as unknown[]).map((v, i) => new Field(this.doc, [...this.path, i], v, this.ci));
  }

  /** Array elements, or [] when absent. */
  optItems(): Field[] {
    return this.absent ? [] : this.items();
  }

  string(): string {
    if (typeof this.value !== 'string') this.fail(`expected a string, found ${describe(this.value)}`);
    return this.value as string;
  }

  optString(): string | undefined {
    return this.absent ? undefined : this.string();
  }

  /** A non-empty string. */
  name(): string {
    const s = this.string();
    if (s.trim() === '') this.fail('must not be empty');
    return s;
  }

  /** An integer in [min, max]; numeric strings are accepted only when `fromString` (annotations, env files). */
  int(min: number, max: number, fromString = false): number {
    let v = this.value;
    if (fromString && typeof v === 'string' && /^-?[0-9]+$/.test(v.trim())) v = Number(v.trim());
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(`expected an integer, found ${describe(this.value)}`);
    const n = v as number;
    if (n < min || n > max) this.fail(`${n} is out of range ${min}..${max}`);
    return n;
  }

  optInt(min: number, max: number, fromString = false): number | undefined {
    return this.absent ? undefined : this.int(min, max, fromString);
  }

  /** A boolean; `"true"`/`"false"` strings are accepted only when `fromString` (annotations, env files). */
  bool(fromString = false): boolean {
    if (typeof this.value === 'boolean') return this.value;
    if (fromString && typeof this.value === 'string') {
      const s = this.value.trim().toLowerCase();
      if (s === 'true' || s === '1') return true;
      if (s === 'false' || s === '0') return false;
    }
    return this.fail(`expected true or false, found ${describe(this.value)}`);
  }

  optBool(fromString = false): boolean | undefined {
    return this.absent ? undefined : this.bool(fromString);
  }

  /** One of the given strings (exact; or case-insensitive when `ci`); returns the canonical spelling. */
  oneOf<T extends string>(choices: readonly T[]): T {
    const s = this.string();
    const hit = choices.find((c) => c === s || (this.ci && c.toLowerCase() === s.toLowerCase()));
    if (hit === undefined) this.fail(`${JSON.stringify(s)} is not one of ${choices.join(', ')}`);
    return hit as T;
  }

  /** An IPv4 or IPv6 address, normalised. */
  ip(): string {
    const s = this.string().trim();
    const n = normalizeIp(s);
    if (n === null) this.fail(`${JSON.stringify(s)} is not an IP address`);
    return n as string;
  }

  ipv4(): string {
    const s = this.string().trim();
    if (tryParseIPv4(s) < 0) this.fail(`${JSON.stringify(s)} is not an IPv4 address`);
    return normalizeIp(s) as string;
  }

  optIp(): string | undefined {
    return this.absent || this.value === '' ? undefined : this.ip();
  }

  /** A CIDR, normalised to its network (`10.244.4.1/24` -> `10.244.4.0/24`). A bare address is taken as /32 (/128) when `bareOk`. */
  cidr(bareOk = false): string {
    return formatCidr(this.parsedCidr(bareOk));
  }

  parsedCidr(bareOk = false): Cidr {
    const s = this.string().trim();
    let c = tryParseCidr(s);
    if (!c && bareOk) {
      const ip = normalizeIp(s);
      if (ip) c = tryParseCidr(`${ip}/${ip.includes(':') ? 128 : 32}`);
    }
    if (!c) this.fail(`${JSON.stringify(s)} is not a CIDR (address/prefix-length)`);
    return c as Cidr;
  }

  /** A MAC in any of the usual forms, normalised to `aa:bb:cc:dd:ee:ff`. */
  mac(): string {
    const s = this.string();
    const m = parseMac(s);
    if (m === null) this.fail(`${JSON.stringify(s)} is not a MAC address`);
    return m as string;
  }

  optMac(): string | undefined {
    return this.absent || this.value === '' ? undefined : this.mac();
  }
}

/** A short description of a JSON value for error messages. */
export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return `${typeof v} ${String(v)}`;
}

/** UTF-8 byte length of a string (no Buffer: this module also runs in the browser page). */
function utf8Length(s: string): number {
  return new TextEncoder().encode(s).length;
}

/** Line and column (1-based) of a character index in `text`. */
export function lineColOf(text: string, index: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < index && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, col: index - lineStart + 1 };
}

/**
 * Index of the first JSON syntax error in `text` (JSON.parse does not always say where, on Node 20).
 * A recursive-descent scan of RFC 8259 grammar; returns text.length when the error is at the end.
 * It recurses once per level of nesting, so it stops at MAX_NESTING levels (limits.ts) and reports the
 * bracket that opens one level too many as `tooDeep` instead of overflowing the stack.
 */
function jsonErrorOffset(text: string): { offset: number; tooDeep: boolean } {
  let i = 0;
  let depth = 0;
  let tooDeep = false;
  const n = text.length;
  const ws = () => {
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const str = () => {
    if (text[i] !== '"') fail();
    i++;
    while (i < n && text[i] !== '"') {
      const c = text.charCodeAt(i);
      if (c < 0x20) fail();
      if (text[i] === '\\') {
        i++;
        if (text[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail();
          i += 4;
        } else if (!'"\\/bfnrt'.includes(text[i] ?? 'x')) fail();
      }
      i++;
    }
    if (i >= n) fail();
    i++;
  };
  const nest = () => {
    if (++depth > MAX_NESTING) {
      tooDeep = true;
      fail();
    }
    i++;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      nest();
      ws();
      if (text[i] === '}') {
        i++;
        depth--;
        return;
      }
      for (;;) {
        ws();
        str();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          depth--;
          return;
        }
        fail();
      }
    }
    if (c === '[') {
      nest();
      ws();
      if (text[i] === ']') {
        i++;
        depth--;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          depth--;
          return;
        }
        fail();
      }
    }
    if (c === '"') return str();
    const m = /^(?:-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null)/.exec(text.slice(i, i + 400));
    if (!m) fail();
    i += (m as RegExpExecArray)[0].length;
  };
  try {
    value();
    ws();
    if (i < n) fail();
  } catch (at) {
    if (typeof at === 'number') return { offset: Math.min(at, n), tooDeep };
    throw at;
  }
  return { offset: n, tooDeep };
}

/**
 * A YAML document as plain values, within the limits of limits.ts: aliases may expand to at most
 * MAX_YAML_ALIASES nodes' worth (the yaml package's check), nesting and strings as checkValueLimits.
 */
function yamlToJs(file: string, d: YAML.Document, prefix: PathSeg[], body?: string, lc?: YAML.LineCounter): unknown {
  const complex = collectionKey(d);
  if (complex !== null) throw complexKey(file, complex, prefix, body, lc);
  let value: unknown;
  try {
    value = d.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (e) {
    const where = { fieldPath: formatPath(prefix) || '(document)' };
    if (/unresolved alias/i.test((e as Error).message)) throw unresolvedAlias(file, d, where, body, lc, e as Error);
    if (/alias/i.test((e as Error).message)) {
      throw new InputError(file, where, `too many aliases: expanding this document's YAML aliases (*name) would exceed the limit of ${MAX_YAML_ALIASES} nodes (an alias bomb?)`);
    }
    if (e instanceof RangeError) throw new InputError(file, where, `lists and maps nest too deep to read (the limit is ${MAX_NESTING} levels)`);
    throw e;
  }
  checkValueLimits(file, value, prefix);
  return value;
}

/**
 * The first map key that is itself a list or map (YAML's `? [a, b]` complex keys). No config a node runs
 * has one, and a plain object can only hold it as the text the yaml package makes of it (with a Node
 * warning on stderr), so it is bad input rather than a value used in silence.
 */
function collectionKey(d: YAML.Document): YAML.Node | null {
  const Y = yaml();
  let found: YAML.Node | null = null;
  Y.visit(d, {
    Pair(_key, pair) {
      if (Y.isCollection(pair.key)) {
        found = pair.key;
        return Y.visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

/** The error for a collection key: its byte offset, line and column in a file, else the document's field path. */
function complexKey(file: string, key: YAML.Node, prefix: PathSeg[], body: string | undefined, lc: YAML.LineCounter | undefined): InputError {
  const detail = 'a map key that is a list or a map (YAML `? ...` complex key): config keys are plain words';
  if (key.range && body !== undefined && lc !== undefined) {
    const pos = lc.linePos(key.range[0]);
    return new InputError(file, { offset: utf8Length(body.slice(0, key.range[0])) }, `${detail} (line ${pos.line}, column ${pos.col})`);
  }
  return new InputError(file, { fieldPath: formatPath(prefix) || '(document)' }, detail);
}

/**
 * The error for an alias (`*name`) whose anchor (`&name`) is not set before it: names the alias and, for a
 * file (`body` and `lc` given), its byte offset, line and column. A value that starts with `*` (a wildcard
 * address such as `*:10256`) is read by YAML as an alias, hence the hint to quote it.
 */
function unresolvedAlias(
  file: string,
  d: YAML.Document,
  where: { fieldPath: string },
  body: string | undefined,
  lc: YAML.LineCounter | undefined,
  e: Error,
): InputError {
  let alias: YAML.Alias | undefined;
  yaml().visit(d, {
    Alias(_key, node) {
      if (node.resolve(d) === undefined) {
        alias = node;
        return yaml().visit.BREAK;
      }
      return undefined;
    },
  });
  const name = alias?.source ?? e.message.replace(/^.*?\): /s, '');
  const hint = `; a value that starts with \`*\` must be quoted in YAML (\`'*${name}'\`), or define the anchor \`&${name}\` before it`;
  const detail = `YAML alias \`*${name}\` refers to an anchor \`&${name}\` that is not defined before it`;
  if (alias?.range && body !== undefined && lc !== undefined) {
    const pos = lc.linePos(alias.range[0]);
    return new InputError(file, { offset: utf8Length(body.slice(0, alias.range[0])) }, `${detail} (line ${pos.line}, column ${pos.col})${hint}`);
  }
  return new InputError(file, where, `${detail}${hint}`);
}

/**
 * A config embedded as a string inside another (a ConfigMap's `data["net-conf.json"]`), parsed within the
 * same limits as a file: JSON when `json`, else YAML (one document). Returns the error text instead of
 * throwing when the text is not valid, so the caller decides (JSON keys are errors, other keys are skipped);
 * a limit crossed is always an InputError naming the field.
 */
export function parseEmbedded(f: Field, text: string, json: boolean): { value: unknown } | { error: string } {
  const path = [...f.doc.prefix, ...f.path];
  if (json) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      return { error: (e as Error).message };
    }
    checkValueLimits(f.doc.file, value, path);
    return { value };
  }
  const fast = readYamlSubset(text, true);
  if (fast !== null) {
    checkValueLimits(f.doc.file, fast[0], path);
    return { value: fast[0] };
  }
  const d = yaml().parseDocument(text, { prettyErrors: false });
  if (d.errors.length > 0) {
    if (/Maximum call stack/.test(d.errors[0].message)) f.fail(`the embedded YAML nests deeper than the parser can follow (the limit is ${MAX_NESTING} levels)`);
    return { error: d.errors[0].message.split('\n')[0] };
  }
  return { value: yamlToJs(f.doc.file, d, path) };
}

/**
 * A hint when JSON stops at a space character JSON does not allow (microsoft/windows-container-networking
 * example/flannel_overlay.conf @ b96345f1 is indented with U+00A0): Go's encoding/json, which the CNI plugins
 * and containerd use, refuses it too, so the node would not load that file either.
 */
function oddSpace(body: string, pos: number): string {
  const c = body.charCodeAt(pos);
  if (!(c === 0xa0 || c === 0xfeff || c === 0x3000 || (c >= 0x2000 && c <= 0x200b))) return '';
  return `; the character there is U+${c.toString(16).toUpperCase().padStart(4, '0')}, a space JSON does not allow (Go's JSON reader, used by the CNI plugins, refuses it too): replace it with plain spaces`;
}

/** A locator over one YAML document. */
function yamlLocator(doc: YAML.Document, lc: YAML.LineCounter): (path: PathSeg[]) => { line: number; col: number } | null {
  return (path) => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node && node.range) return lc.linePos(node.range[0]);
    }
    return null;
  };
}

/**
 * The documents yaml-subset.ts read from `body` (one value per document of the file, null for an empty one),
 * made as the yaml package's are below: empty documents skipped, the same prefixes (`documents[k]`, k the
 * document's index in the file, when it holds several non-empty ones) and limits. Their positions come from
 * the yaml package, which reads the text when an error first asks for one (so a message names the line and
 * column it named before; a run without errors never loads the package).
 */
function subsetDocs(file: string, body: string, values: unknown[]): SourceDoc[] {
  let read: { docs: YAML.Document[]; lc: YAML.LineCounter } | undefined;
  const positions = () => {
    if (read === undefined) {
      const lc = new (yaml().LineCounter)();
      const all = yaml().parseAllDocuments(body, { lineCounter: lc, prettyErrors: false });
      read = { docs: Array.isArray(all) ? all : [], lc };
    }
    return read;
  };
  const several = values.filter((v) => v !== null).length > 1;
  const out: SourceDoc[] = [];
  values.forEach((value, k) => {
    if (value === null) return;
    const prefix: PathSeg[] = several ? ['documents', k] : [];
    checkValueLimits(file, value, prefix);
    out.push(new SourceDoc(file, value, prefix, (path) => yamlLocator(positions().docs[k], positions().lc)(path)));
  });
  return out;
}

/**
 * Whether a YAML document is empty: nothing, only comments, or only its `---` marker (value null), as the
 * trailing `---` that kubectl, helm and kustomize output often ends with. Such documents are skipped.
 */
function emptyDocument(d: YAML.Document): boolean {
  return d.contents === null || (yaml().isScalar(d.contents) && d.contents.value === null);
}

/**
 * What a cluster file that gave no document holds (detect.ts refuses it, exit 2 naming the file): `the file
 * is empty` for no bytes or blank lines only; when its lines are only `---` / `...` markers and comments, that
 * (a YAML stream of only those has no document: YAML 1.2.2 section 9.2, and the yaml package reads none), so
 * a file that was cut or templated to nothing is not called empty; else its documents are all null (`~`).
 */
export function noDocumentText(text: string): string {
  let markers = 0;
  let comments = 0;
  let other = 0;
  const kinds = new Set<string>(); // which markers: `---` (document start), `...` (document end)
  for (const line of text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/)) {
    const t = line.trim();
    if (t === '') continue;
    const m = /^(---|\.\.\.)(\s*$|\s+#)/.exec(line);
    const marker = m !== null;
    if (m !== null) {
      markers++;
      kinds.add(m[1]);
    }
    if (t.startsWith('#') || (marker && t.includes('#'))) comments++;
    else if (!marker) other++;
  }
  if (markers + comments + other === 0) return 'the file is empty';
  if (other > 0) return 'the file has no cluster input: its YAML documents are all empty (null)';
  const named = ['---', '...'].filter((k) => kinds.has(k)).map((k) => `\`${k}\``).join(' and ');
  const only = markers > 0 && comments > 0 ? `${named} markers and comments` : markers > 0 ? `${named} markers` : 'comments';
  return `the file has no YAML document: only ${only}`;
}

/**
 * Parses a JSON or YAML text into documents. JSON is tried first when the text starts with `{` or `[`;
 * YAML handles the rest (including `---` separated documents). Empty documents (a trailing `---`) are dropped;
 * `documents[k]` in a field path counts every document of the file, so k is the one a reader counts there.
 */
export function parseDocuments(file: string, text: string): SourceDoc[] {
  const body = text.replace(/^\uFEFF/, '');
  const first = body.trimStart()[0];
  if (first === '{' || first === '[') {
    let value: unknown;
    let jsonError: Error | null = null;
    try {
      value = JSON.parse(body);
    } catch (e) {
      jsonError = e as Error;
    }
    if (!jsonError) {
      checkValueLimits(file, value);
      const locate = (p: PathSeg[]) => {
        const at = jsonLocate(body, p);
        return at === null ? null : lineColOf(body, at);
      };
      return [new SourceDoc(file, value, [], locate)];
    }
    const { offset: pos, tooDeep } = jsonErrorOffset(body);
    const lc = lineColOf(body, pos);
    const why = tooDeep
      ? `lists and objects nest more than ${MAX_NESTING} levels deep (the limit)`
      : jsonError.message.replace(/, (\.\.\.)?".*" is not valid JSON$/s, '').replace(/ in JSON at position \d+.*$/s, '');
    throw new InputError(file, { offset: utf8Length(body.slice(0, pos)) }, `${tooDeep ? '' : 'not valid JSON: '}${why}${oddSpace(body, pos)} (line ${lc.line}, column ${lc.col})`);
  }
  const fast = readYamlSubset(body);
  if (fast !== null) return subsetDocs(file, body, fast);
  const lc = new (yaml().LineCounter)();
  const docs = yaml().parseAllDocuments(body, { lineCounter: lc, prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [];
  const out: SourceDoc[] = [];
  const several = list.filter((d) => !emptyDocument(d)).length > 1;
  for (let i = 0; i < list.length; i++) {
    const d = list[i];
    if (d.errors.length > 0) {
      const err = d.errors[0];
      const pos = lc.linePos(err.pos[0]);
      // The parser catches its own stack overflow (near 800 levels) and reports it as a syntax error.
      const why = /Maximum call stack/.test(err.message) ? `lists and maps nest deeper than the YAML parser can follow (the limit is ${MAX_NESTING} levels)` : `not valid YAML: ${err.message.split('\n')[0]}`;
      throw new InputError(file, { offset: utf8Length(body.slice(0, err.pos[0])) }, `${why} (line ${pos.line}, column ${pos.col})`);
    }
    if (emptyDocument(d)) continue;
    const prefix: PathSeg[] = several ? ['documents', i] : [];
    const value = yamlToJs(file, d, prefix, body, lc);
    out.push(new SourceDoc(file, value, prefix, yamlLocator(d, lc)));
  }
  return out;
}

/**
 * A fast reader for the YAML that cluster files are written in (issue 12, start-up): `kubectl get ... -o
 * yaml` output and hand-written manifests of Nodes, Pods, Services, EndpointSlices and ConfigMaps. Loading
 * and running the `yaml` package cost about 60 ms of CPU for a 4 KB file, more than the rest of an `explain`;
 * this reader is a few hundred lines in the CLI's bundle and reads such a file in well under a millisecond.
 *
 * It gives the values the `yaml` package (2.x, `parseAllDocuments(...).toJS()`, YAML 1.2 core schema)
 * gives, or gives up (null) BEFORE returning anything, and then source.ts reads the text with the yaml
 * package exactly as before: errors, positions and exotic files behave as they did. A differential test
 * (test/yaml-subset.test.ts) reads every YAML file of the repository, generated dumps and a set of tricky
 * texts with both readers and compares the values deep-equal.
 *
 * The subset:
 * - documents separated by `---` lines (a comment may follow the marker); empty documents are dropped by the
 *   caller as before; comments (`#` at a line start or after a space), blank lines; CRLF line ends;
 * - block mappings and block sequences, indented with spaces, including a sequence at its key's indentation
 *   (`containers:\n- name: x`, as kubectl writes) and compact forms (`- name: x`, `- - a`);
 * - keys: plain or quoted scalars on one line, followed by `:` and a space or the line end (`key : v` too);
 *   plain keys are resolved as plain values and kept as strings as the yaml package keeps them (`1: x` is
 *   key "1", `null: x` and `~: x` key "", `0x1F: x` key "31");
 * - values: plain scalars on one line (core schema: null `~` `null` `Null` `NULL` or empty; booleans `true`
 *   `True` `TRUE` `false` ...; ints `12`, `+12`, `-0`, `0o17`, `0x1F`; floats `1.5`, `.5`, `1e3`, `-.inf`,
 *   `.nan`; anything else a string: `yes`, `on`, `off` are strings in YAML 1.2), also over several lines as
 *   kubectl folds a long value at 80 columns (each line below indented more than the collection; blank lines
 *   between); single-quoted scalars (`'it''s'`), also over several lines; double-quoted scalars on one line
 *   (the escapes `\0 \a \b \t \n \v \f \r \e \  \" \/ \\ \N \_ \L \P \xXX
 *   \uXXXX \UXXXXXXXX`); literal `|` and folded `>` block scalars, with `-` (strip) or no chomping indicator
 *   and an optional indentation indicator `1`-`9`, as in a ConfigMap holding kube-proxy's or flannel's
 *   config; flow mappings and sequences on one line (`{app: web}`, `[{ip: 10.0.0.1}]`, `[]`, `{}`).
 * Outside the subset, so read by the yaml package: anchors `&a`, aliases `*a`, tags `!x`, directives `%YAML`,
 * the `...` marker, explicit keys `? `, complex keys, merge keys `<<`, the key `__proto__`, duplicate keys
 * (an error there), tabs anywhere, control characters, a lone CR, U+0085, U+2028/2029, U+FEFF in the text,
 * double-quoted scalars over several lines, flow collections over several lines or with a trailing comma,
 * an empty value or a single-pair mapping inside a flow collection, a continuation line of a plain scalar
 * that starts with an indicator or holds `: ` or ` #`, keep chomping `|+`, a whitespace-only
 * line in a block scalar with more spaces than its indentation, a document that is one scalar, keys longer
 * than 1000 characters (quoted ones too), nesting deeper than 64 levels, and anything that is an error.
 * Positions (line, column) are not kept: source.ts asks the yaml package for them when an error is reported.
 */

/** Thrown (one shared object: no stack to build) when the text leaves the subset. */
const OUTSIDE = { outside: true } as const;

function outside(): never {
  throw OUTSIDE;
}

const NL = 10;
const SP = 32;
const DQ = 34;
const HASH = 35;
const SQ = 39;
const DASH = 45;
const COLON = 58;

/** Characters the reader leaves to the yaml package wherever they are (tabs, controls, odd line breaks). */
const UNREAD = /[\t\r\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff]/;
/** Deepest nesting read here; deeper texts go to the yaml package (whose limits and errors then apply). */
const MAX_DEPTH = 64;
/** Longest key read here, plain or quoted, quotes included (the yaml package refuses an implicit key over 1024 characters). */
const MAX_KEY = 1000;

/**
 * `enabled: false` sends every text to the yaml package (bench/cluster-scale.ts times both readers on the
 * same dump; the tests load clusters both ways and compare). Not a user setting.
 */
export const yamlSubset = { enabled: true };

/**
 * The values of the non-empty documents of `text` (a BOM already removed), or null when the text is
 * outside the subset (see the module comment). `single`: the text must be one document without markers
 * (a ConfigMap's embedded config, read by the yaml package's parseDocument).
 */
export function readYamlSubset(text: string, single = false): unknown[] | null {
  if (!yamlSubset.enabled) return null;
  let s = text;
  if (s.includes('\r')) s = s.replace(/\r\n/g, '\n');
  if (UNREAD.test(s)) return null;
  try {
    const docs = new Reader(s).documents(single);
    return single && docs.length !== 1 ? null : docs;
  } catch (e) {
    if (e === OUTSIDE) return null;
    throw e;
  }
}

/** Whether `c` (a char code) may not start a plain scalar (YAML 1.2 c-indicator, but `-?:`, handled apart). */
function indicator(c: number): boolean {
  switch (c) {
    case 0x5b: // [
    case 0x5d: // ]
    case 0x7b: // {
    case 0x7d: // }
    case 0x2c: // ,
    case HASH:
    case 0x26: // &
    case 0x2a: // *
    case 0x21: // !
    case 0x7c: // |
    case 0x3e: // >
    case SQ:
    case DQ:
    case 0x25: // %
    case 0x40: // @
    case 0x60: // `
      return true;
    default:
      return false;
  }
}

/** Flow indicators: `,[]{}`. */
function flowIndicator(c: number): boolean {
  return c === 0x2c || c === 0x5b || c === 0x5d || c === 0x7b || c === 0x7d;
}

const NULL_RE = /^(?:~|[Nn]ull|NULL)$/;
const BOOL_RE = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const OCT_RE = /^0o[0-7]+$/;
const INT_RE = /^[-+]?[0-9]+$/;
const HEX_RE = /^0x[0-9a-fA-F]+$/;
const NAN_RE = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const EXP_RE = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const FLOAT_RE = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;

/**
 * A plain scalar's value by the YAML 1.2 core schema, tested in the yaml package's order (its
 * schema/core/schema.js: null, bool, intOct, int, intHex, floatNaN, floatExp, float; each tag's `test` and
 * `resolve` as there: ints by parseInt, floats by parseFloat).
 */
export function plainValue(v: string): unknown {
  if (v === '') return null;
  const c = v.charCodeAt(0);
  // every non-string form starts with one of ~ n N t T f F + - . 0-9
  if (!(c === 0x7e || c === 0x6e || c === 0x4e || c === 0x74 || c === 0x54 || c === 0x66 || c === 0x46 || c === 0x2b || c === DASH || c === 0x2e || (c >= 0x30 && c <= 0x39))) return v;
  if (NULL_RE.test(v)) return null;
  if (BOOL_RE.test(v)) return c === 0x74 || c === 0x54;
  if (OCT_RE.test(v)) return parseInt(v.substring(2), 8);
  if (INT_RE.test(v)) return parseInt(v, 10);
  if (HEX_RE.test(v)) return parseInt(v.substring(2), 16);
  if (NAN_RE.test(v)) return v.slice(-3).toLowerCase() === 'nan' ? NaN : c === DASH ? -Infinity : Infinity;
  if (EXP_RE.test(v) || FLOAT_RE.test(v)) return parseFloat(v);
  return v;
}

/** A plain key as the yaml package keeps it in a plain object (nodes/addPairToJSMap.js stringifyKey). */
function plainKey(raw: string): string {
  const v = plainValue(raw);
  return v === null ? '' : String(v);
}

/** The double-quoted escapes (the yaml package's compose/resolve-flow-scalar.js escapeCodes, but tab). */
const ESCAPES: Record<string, string> = {
  '0': '\0',
  a: '\x07',
  b: '\b',
  e: '\x1b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  N: '\u0085',
  _: '\u00a0',
  L: '\u2028',
  P: '\u2029',
  ' ': ' ',
  '"': '"',
  '/': '/',
  '\\': '\\',
};
const HEX_LENGTH: Record<string, number> = { x: 2, u: 4, U: 8 };

/**
 * The reader. After each node it leaves a "pending line": `ind` is the indentation of the next line
 * with content (blank and comment lines skipped) and `pos` its first character, or `ind` is -1 at the
 * end of the text or at a document marker (`pos` then at the marker's line start).
 */
class Reader {
  private pos = 0;
  /** Offset of the current line's first character. */
  private line = 0;
  private ind = -1;
  private depth = 0;
  private readonly n: number;

  constructor(private readonly s: string) {
    this.n = s.length;
  }

  /**
   * The documents: one per `---` marker (null when it has no content, as the yaml package gives), and the
   * content before the first marker when there is some.
   */
  documents(single: boolean): unknown[] {
    const docs: unknown[] = [];
    let open = false; // the current document has its root
    let marked = false; // a marker began the current document, which has no root yet
    this.advance();
    for (;;) {
      if (this.ind === -1) {
        if (marked) docs.push(null);
        if (this.pos >= this.n) return docs;
        if (single || this.s.charCodeAt(this.pos) !== DASH) outside(); // `...`, or a marker in an embedded text
        this.pos += 3;
        this.endLine();
        this.advance();
        open = false;
        marked = true;
        continue;
      }
      if (open || (this.ind === 0 && this.s.charCodeAt(this.pos) === 0x25)) outside(); // content after the root; a directive
      docs.push(this.root());
      open = true;
      marked = false;
    }
  }

  /** A document's root: a block mapping or sequence, or a flow collection (one scalar: outside). */
  private root(): unknown {
    const c = this.ind;
    if (this.seqEntry()) return this.seq(c);
    const ch = this.s.charCodeAt(this.pos);
    if (ch === 0x5b || ch === 0x7b) {
      const v = this.flow();
      this.endLine();
      this.advance();
      return v;
    }
    if (this.keyEnd() < 0) outside();
    return this.map(c);
  }

  /** Sets the pending line (see the class comment); `pos` must be at a line start. */
  private advance(): void {
    const s = this.s;
    for (;;) {
      if (this.pos >= this.n) {
        this.ind = -1;
        return;
      }
      const start = this.pos;
      this.line = start;
      let p = start;
      while (s.charCodeAt(p) === SP) p++;
      const c = s.charCodeAt(p);
      if (p >= this.n) {
        this.pos = p;
        this.ind = -1;
        return;
      }
      if (c === NL || c === HASH) {
        const e = c === NL ? p : s.indexOf('\n', p);
        this.pos = e < 0 ? this.n : e + 1;
        continue;
      }
      if (p === start && this.marker(p)) {
        this.pos = p;
        this.ind = -1;
        return;
      }
      this.pos = p;
      this.ind = p - start;
      return;
    }
  }

  /** Whether a document marker (`---` or `...` then a space or the line end) starts at `p`, a line start. */
  private marker(p: number): boolean {
    const s = this.s;
    const c = s.charCodeAt(p);
    if (c !== DASH && c !== 0x2e) return false;
    if (s.charCodeAt(p + 1) !== c || s.charCodeAt(p + 2) !== c) return false;
    const after = s.charCodeAt(p + 3);
    return p + 3 >= this.n || after === SP || after === NL;
  }

  /** The rest of the line after a token: spaces, then a comment (after at least one space) or the end. */
  private endLine(): void {
    const s = this.s;
    const from = this.pos;
    let p = from;
    while (s.charCodeAt(p) === SP) p++;
    const c = s.charCodeAt(p);
    if (c === HASH) {
      if (p === from && s.charCodeAt(from - 1) !== SP) outside(); // `'a'#b`: no space before the comment
      const e = s.indexOf('\n', p);
      p = e < 0 ? this.n : e;
    } else if (c !== NL && p < this.n) outside();
    this.pos = p < this.n ? p + 1 : this.n;
    this.line = this.pos;
  }

  /** Whether `pos` is at a block sequence entry: `-` then a space or the line end. */
  private seqEntry(): boolean {
    if (this.s.charCodeAt(this.pos) !== DASH) return false;
    const c = this.s.charCodeAt(this.pos + 1);
    return c === SP || c === NL || this.pos + 1 >= this.n;
  }

  private enter(): void {
    if (++this.depth > MAX_DEPTH) outside();
  }

  /** A block mapping whose keys are at column `c`, the first at `pos`. */
  private map(c: number): Record<string, unknown> {
    this.enter();
    const obj: Record<string, unknown> = {};
    for (;;) {
      const key = this.key();
      const v = this.mapValue(c);
      if (Object.hasOwn(obj, key)) outside(); // a duplicate key is an error of the yaml package
      obj[key] = v;
      if (this.ind < c) break;
      if (this.ind > c) outside();
    }
    this.depth--;
    return obj;
  }

  /** A block sequence whose `-` are at column `c`, the first at `pos`. */
  private seq(c: number): unknown[] {
    this.enter();
    const arr: unknown[] = [];
    for (;;) {
      this.pos++;
      arr.push(this.seqItem(c));
      if (this.ind < c) break;
      if (this.ind > c) outside();
      if (!this.seqEntry()) break; // the key of the mapping this sequence is a value of (`key:\n- a\nnext: b`)
    }
    this.depth--;
    return arr;
  }

  /**
   * Skips the spaces after a key's `:` or an entry's `-`; when nothing but a comment follows on the line,
   * moves to the next pending line (advance) and returns true: the value, if any, is on lines below.
   */
  private restEmpty(): boolean {
    const s = this.s;
    while (s.charCodeAt(this.pos) === SP) this.pos++;
    const ch = s.charCodeAt(this.pos);
    if (ch !== NL && ch !== HASH && this.pos < this.n) return false;
    this.endLine();
    this.advance();
    return true;
  }

  /** The value after a key's `:` (`pos` just after it) of a mapping at column `c`. */
  private mapValue(c: number): unknown {
    if (this.restEmpty()) {
      if (this.ind > c) return this.block(c);
      if (this.ind === c && this.seqEntry()) return this.seq(c);
      return null;
    }
    return this.inline(c);
  }

  /** A sequence item after its `-` (at column `c`). */
  private seqItem(c: number): unknown {
    if (this.restEmpty()) return this.ind > c ? this.block(c) : null;
    const col = this.pos - this.line;
    if (this.seqEntry()) return this.seq(col);
    if (this.keyEnd() >= 0) return this.map(col);
    return this.inline(c);
  }

  /** A node on lines of its own, indented more than `owner`, at the pending line. */
  private block(owner: number): unknown {
    const c = this.ind;
    if (this.seqEntry()) return this.seq(c);
    if (this.keyEnd() >= 0) return this.map(c);
    const ch = this.s.charCodeAt(this.pos);
    if (ch === 0x7c || ch === 0x3e) outside(); // a block scalar header on a line of its own
    return this.inline(owner);
  }

  /** A value that starts on the current line (after `key: ` or `- `), in a collection at column `owner`. */
  private inline(owner: number): unknown {
    const ch = this.s.charCodeAt(this.pos);
    let v: unknown;
    if (ch === 0x7c || ch === 0x3e) return this.blockScalar(owner);
    if (ch === DQ) v = this.doubleQuoted();
    else if (ch === SQ) v = this.quotedEnd(this.pos) < 0 ? this.singleQuotedLines(owner) : this.singleQuoted();
    else if (ch === 0x5b || ch === 0x7b) v = this.flow();
    else {
      const start = this.pos;
      const first = this.plain(false, false);
      const end = this.plainLines(owner);
      if (end >= 0) {
        this.advance();
        return plainValue(unfoldLines(this.s.slice(start, end)));
      }
      v = plainValue(first);
    }
    this.endLine();
    this.advance();
    return v;
  }

  /**
   * The lines a plain scalar that ends its first line goes on over (kubectl's YAML writer folds a long value
   * at 80 columns: kubernetes/kubernetes#32335): the lines below indented more than `owner`, blank lines
   * between them; a comment line or a line indented `owner` or less ends it. Returns the end of its text
   * (and `pos` is then at the next line), or -1 when it has one line. Outside the subset: a continuation line
   * that starts with an indicator or holds `: `, ` #` or ends with `:`.
   */
  private plainLines(owner: number): number {
    const s = this.s;
    let p = this.pos;
    while (s.charCodeAt(p) === SP) p++;
    if (p < this.n && s.charCodeAt(p) !== NL) return -1; // a comment ends it on this line
    let end = -1;
    while (p < this.n) {
      const start = ++p; // past the line break
      while (s.charCodeAt(p) === SP) p++;
      const c = s.charCodeAt(p);
      if (p >= this.n || c === NL) continue;
      if (p - start <= owner || c === HASH) break;
      if (indicator(c) || c === DASH || c === 0x3f || c === COLON) outside();
      let e = s.indexOf('\n', p);
      if (e < 0) e = this.n;
      let last = e;
      while (s.charCodeAt(last - 1) === SP) last--;
      const text = s.slice(p, last);
      if (text.includes(': ') || text.includes(' #') || text.endsWith(':')) outside();
      end = last;
      p = e;
    }
    if (end >= 0) {
      const nl = s.indexOf('\n', end);
      this.pos = nl < 0 ? this.n : nl + 1;
      this.line = this.pos;
    }
    return end;
  }

  /**
   * A single-quoted scalar over several lines at `pos` (kubectl folds a long quoted value too), each line
   * below the first blank or indented more than `owner`; unfolded as the yaml package unfolds it.
   */
  private singleQuotedLines(owner: number): string {
    const s = this.s;
    const start = this.pos;
    let i = start + 1;
    for (;;) {
      if (i >= this.n) outside();
      const c = s.charCodeAt(i);
      if (c === SQ) {
        if (s.charCodeAt(i + 1) !== SQ) break;
        i++;
      } else if (c === NL) {
        let p = i + 1;
        while (s.charCodeAt(p) === SP) p++;
        if (p < this.n && s.charCodeAt(p) !== NL && p - (i + 1) <= owner) outside();
      }
      i++;
    }
    this.pos = i + 1;
    return unfoldLines(s.slice(start + 1, i)).replace(/''/g, "'");
  }

  /**
   * The offset of the `:` that ends a key starting at `pos` on this line (a quoted scalar, or a plain
   * scalar up to `: ` or `:` at the line end), or -1 when the line holds no key there.
   */
  private keyEnd(): number {
    const s = this.s;
    const c = s.charCodeAt(this.pos);
    let p: number;
    if (c === DQ || c === SQ) {
      p = this.quotedEnd(this.pos);
      if (p < 0) return -1;
      while (s.charCodeAt(p) === SP) p++;
    } else {
      if (!this.plainStart(this.pos, false)) return -1;
      for (p = this.pos; ; p++) {
        const ch = s.charCodeAt(p);
        if (ch === NL || p >= this.n) return -1;
        if (ch === HASH && s.charCodeAt(p - 1) === SP) return -1;
        if (ch === COLON) {
          const after = s.charCodeAt(p + 1);
          if (after === SP || after === NL || p + 1 >= this.n) return p;
        }
      }
    }
    if (s.charCodeAt(p) !== COLON) return -1;
    const after = s.charCodeAt(p + 1);
    return after === SP || after === NL || p + 1 >= this.n ? p : -1;
  }

  /** The key at `pos` (see keyEnd), as a string; `pos` ends after its `:`. */
  private key(): string {
    const end = this.keyEnd();
    if (end < 0 || end - this.pos > MAX_KEY) outside();
    const c = this.s.charCodeAt(this.pos);
    let key: string;
    if (c === DQ) key = this.doubleQuoted();
    else if (c === SQ) key = this.singleQuoted();
    else {
      const raw = this.s.slice(this.pos, end).trimEnd();
      if (raw === '<<') outside(); // a merge key in YAML 1.1
      key = plainKey(raw);
    }
    if (key === '__proto__') outside();
    this.pos = end + 1;
    return key;
  }

  /** The offset just after the quoted scalar starting at `p`, or -1 when it does not end on this line. */
  private quotedEnd(p: number): number {
    const s = this.s;
    const q = s.charCodeAt(p);
    for (let i = p + 1; i < this.n; i++) {
      const c = s.charCodeAt(i);
      if (c === NL) return -1;
      if (q === DQ && c === 0x5c) i++;
      else if (c === q) {
        if (q === SQ && s.charCodeAt(i + 1) === SQ) i++;
        else return i + 1;
      }
    }
    return -1;
  }

  /** Whether a plain scalar may start at `p` (not an indicator; `-?:` only before a safe character). */
  private plainStart(p: number, flow: boolean): boolean {
    const s = this.s;
    const c = s.charCodeAt(p);
    if (p >= this.n || c === NL || c === SP || indicator(c)) return false;
    if (c === DASH || c === 0x3f || c === COLON) {
      const next = s.charCodeAt(p + 1);
      return !(p + 1 >= this.n || next === SP || next === NL || (flow && flowIndicator(next)));
    }
    return true;
  }

  /**
   * The text of a plain scalar at `pos` on this line (trailing spaces trimmed; `pos` ends after it). In a
   * flow collection it ends before `,[]{}` and before a `:` that is followed by a space or one of them
   * (`key` says a key may end there, else that is outside); a ` #` comment ends it. Outside the subset: a
   * `: ` in a block value (a mapping on the line of a key).
   */
  private plain(flow: boolean, key: boolean): string {
    const s = this.s;
    const start = this.pos;
    if (!this.plainStart(start, flow)) outside();
    let p = start;
    for (; p < this.n; p++) {
      const c = s.charCodeAt(p);
      if (c === NL) break;
      if (c === HASH && s.charCodeAt(p - 1) === SP) break;
      if (c === COLON) {
        const next = s.charCodeAt(p + 1);
        if (next === SP || next === NL || p + 1 >= this.n || (flow && flowIndicator(next))) {
          if (!key) outside();
          break;
        }
      }
      if (flow && flowIndicator(c)) break;
    }
    let e = p;
    while (e > start && s.charCodeAt(e - 1) === SP) e--;
    this.pos = e;
    return s.slice(start, e);
  }

  /** A double-quoted scalar on one line at `pos`; `pos` ends after its closing quote. */
  private doubleQuoted(): string {
    const s = this.s;
    let out = '';
    let from = this.pos + 1;
    for (let i = from; ; i++) {
      if (i >= this.n) outside();
      const c = s.charCodeAt(i);
      if (c === NL) outside();
      if (c === DQ) {
        this.pos = i + 1;
        return out + s.slice(from, i);
      }
      if (c !== 0x5c) continue;
      out += s.slice(from, i);
      const e = s[i + 1];
      const len = HEX_LENGTH[e];
      if (len !== undefined) {
        const hex = s.slice(i + 2, i + 2 + len);
        if (hex.length !== len || !/^[0-9a-fA-F]+$/.test(hex)) outside();
        const code = parseInt(hex, 16);
        if (code > 0x10ffff) outside();
        out += String.fromCodePoint(code);
        i += 1 + len;
      } else {
        const r = Object.hasOwn(ESCAPES, e) ? ESCAPES[e] : undefined;
        if (r === undefined) outside(); // an invalid escape, or `\` at the line end (a continued line)
        out += r;
        i += 1;
      }
      from = i + 1;
    }
  }

  /** A single-quoted scalar on one line at `pos`; `pos` ends after its closing quote. */
  private singleQuoted(): string {
    const end = this.quotedEnd(this.pos);
    if (end < 0) outside();
    const v = this.s.slice(this.pos + 1, end - 1).replace(/''/g, "'");
    this.pos = end;
    return v;
  }

  /** A flow collection on one line at `pos` (`[` or `{`); `pos` ends after its closing bracket. */
  private flow(): unknown {
    this.enter();
    const s = this.s;
    const isMap = s.charCodeAt(this.pos) === 0x7b;
    const close = isMap ? 0x7d : 0x5d;
    const obj: Record<string, unknown> = {};
    const arr: unknown[] = [];
    this.pos++;
    this.flowSpaces();
    if (s.charCodeAt(this.pos) === close) {
      this.pos++;
      this.depth--;
      return isMap ? obj : arr;
    }
    for (;;) {
      if (isMap) {
        const key = this.flowKey();
        const v = this.flowItem(false);
        if (Object.hasOwn(obj, key)) outside();
        obj[key] = v;
      } else arr.push(this.flowItem(false));
      this.flowSpaces();
      const c = s.charCodeAt(this.pos++);
      if (c === close) break;
      if (c !== 0x2c) outside();
      this.flowSpaces();
      if (s.charCodeAt(this.pos) === close) outside(); // a trailing comma
    }
    this.depth--;
    return isMap ? obj : arr;
  }

  /** Spaces inside a flow collection; the line may not end there (a collection over lines is outside). */
  private flowSpaces(): void {
    const s = this.s;
    while (s.charCodeAt(this.pos) === SP) this.pos++;
    if (this.pos >= this.n || s.charCodeAt(this.pos) === NL || s.charCodeAt(this.pos) === HASH) outside();
  }

  /** A flow mapping's key and its `: ` (`pos` ends at the value). */
  private flowKey(): string {
    const s = this.s;
    const c = s.charCodeAt(this.pos);
    let key: string;
    if (c === DQ) key = this.doubleQuoted();
    else if (c === SQ) key = this.singleQuoted();
    else {
      const raw = this.plain(true, true);
      if (raw === '<<' || raw.length > MAX_KEY) outside();
      key = plainKey(raw);
    }
    if (key === '__proto__') outside();
    while (s.charCodeAt(this.pos) === SP) this.pos++;
    if (s.charCodeAt(this.pos) !== COLON || s.charCodeAt(this.pos + 1) !== SP) outside(); // `{a}`, `{a:b}`, `{"a":1}`
    this.pos += 2;
    this.flowSpaces();
    return key;
  }

  /** A value inside a flow collection (an empty one, `{a: }`, is outside). */
  private flowItem(key: boolean): unknown {
    const c = this.s.charCodeAt(this.pos);
    if (c === 0x5b || c === 0x7b) return this.flow();
    if (c === DQ) return this.doubleQuoted();
    if (c === SQ) return this.singleQuoted();
    return plainValue(this.plain(true, key));
  }

  /**
   * A literal (`|`) or folded (`>`) block scalar at `pos`, the value of a collection at column `owner`,
   * resolved as the yaml package's compose/resolve-block-scalar.js does. Its content lines are indented
   * by the indentation indicator plus `owner`, or by the first content line's indentation, which must be
   * more than `owner`; the first line indented less ends it.
   */
  private blockScalar(owner: number): string {
    const s = this.s;
    const folded = s.charCodeAt(this.pos) === 0x3e;
    this.pos++;
    let strip = false;
    let indent = 0;
    for (let k = 0; k < 2; k++) {
      const c = s.charCodeAt(this.pos);
      if (c === DASH && !strip) strip = true;
      else if (c >= 0x31 && c <= 0x39 && indent === 0) indent = c - 0x30;
      else break;
      this.pos++;
    }
    this.endLine(); // also refuses `|+`, `|0` and other headers
    const lines = this.blockLines(indent === 0 ? -1 : owner + indent, owner);
    this.advance();
    if (lines.text.length === 0) return '';
    const body = folded ? foldLines(lines.text, lines.more) : lines.text.join('\n');
    return '\n'.repeat(lines.leading) + body + (strip ? '' : '\n');
  }

  /**
   * The lines of a block scalar from `pos` (a line start): indented by `m` (-1: by the first content
   * line's indentation, which must exceed `owner`). `text`: the lines from the first to the last content
   * line, the indentation removed (blank lines ''); `more`: which of them are indented more than `m`;
   * `leading`: blank lines before the first. `pos` ends at the first line not in the scalar.
   */
  private blockLines(m: number, owner: number): { text: string[]; more: boolean[]; leading: number } {
    const s = this.s;
    const text: string[] = [];
    const more: boolean[] = [];
    let leading = 0;
    let blanks = 0;
    let maxBlank = 0;
    while (this.pos < this.n) {
      const start = this.pos;
      let p = start;
      while (s.charCodeAt(p) === SP) p++;
      const k = p - start;
      if (p >= this.n || s.charCodeAt(p) === NL) {
        blanks++;
        maxBlank = Math.max(maxBlank, k);
        this.pos = p < this.n ? p + 1 : p;
        continue;
      }
      if (m < 0) {
        if (k <= owner) break;
        m = k;
      }
      if (k < m) break;
      if (maxBlank > m) outside(); // a whitespace-only line indented more than the content
      if (text.length === 0) leading = blanks;
      else for (; blanks > 0; blanks--) text.push(''), more.push(false);
      blanks = 0;
      maxBlank = 0;
      const e = s.indexOf('\n', p);
      text.push(s.slice(start + m, e < 0 ? this.n : e));
      more.push(k > m);
      this.pos = e < 0 ? this.n : e + 1;
    }
    if (m >= 0 && maxBlank > m) outside();
    this.line = this.pos; // the start of the line that ends the scalar (or the end), for advance()
    return { text, more, leading };
  }
}

/**
 * The lines of a plain or quoted scalar joined as the yaml package joins them (compose/resolve-flow-scalar.js
 * unfoldLines; spaces only, as this reader refuses tabs): the first line's trailing and the last line's
 * leading spaces dropped, each line between trimmed, a line break a space and blank lines line breaks.
 */
function unfoldLines(source: string): string {
  const lines = source.split('\n');
  if (lines.length === 1) return source;
  let res = lines[0].replace(/ +$/, '');
  let sep = ' ';
  for (let i = 1; i < lines.length - 1; i++) {
    const lm = lines[i].replace(/^ +| +$/g, '');
    if (lm === '') {
      if (sep === '\n') res += sep;
      else sep = '\n';
    } else {
      res += sep + lm;
      sep = ' ';
    }
  }
  return res + sep + lines[lines.length - 1].replace(/^ +/, '');
}

/**
 * A folded block scalar's lines joined as the yaml package joins them (compose/resolve-block-scalar.js):
 * a line break between two lines of text is a space, blank lines are line breaks, and lines indented more
 * than the content keep their breaks.
 */
function foldLines(lines: string[], more: boolean[]): string {
  let value = '';
  let sep = '';
  let prevMore = false;
  for (let i = 0; i < lines.length; i++) {
    const content = lines[i];
    if (more[i]) {
      if (sep === ' ') sep = '\n';
      else if (!prevMore && sep === '\n') sep = '\n\n';
      value += sep + content;
      sep = '\n';
      prevMore = true;
    } else if (content === '') {
      if (sep === '\n') value += '\n';
      else sep = '\n';
    } else {
      value += sep + content;
      sep = ' ';
      prevMore = false;
    }
  }
  return value;
}

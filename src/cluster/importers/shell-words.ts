/**
 * Command lines split into words as a shell would, for the kube-proxy command lines Windows nodes run
 * (cmdline.ts): a file holding `kube-proxy.exe --flag=value ...`, a PowerShell start.ps1 line with
 * backtick continuations, a `wins cli process run --args "..."` string, a script in a ConfigMap.
 *
 * Two dialects, told from the text: PowerShell when it has a backtick at a line end, `$env:`, or a line
 * that starts with the call operator `&`; POSIX sh otherwise.
 * - Both: words split at blanks; a newline, `;`, `|`, `&&`, `||` end a command; `#` at a word start
 *   starts a comment to the line end; `'...'` is literal; `"..."` keeps blanks and expands variables.
 * - POSIX: `\` + newline continues the line; `\` before a quote, blank, `\`, `$` or backtick escapes it
 *   (any other `\` stays, so `C:\k\kube-proxy.exe` keeps its backslashes); backticks are a command
 *   substitution.
 * - PowerShell: backtick + newline continues the line, backtick + character is that character; `''`
 *   inside single quotes and `""` inside double quotes are a quote; `\` is an ordinary character.
 * A word that holds a variable or command substitution outside single quotes (`$vip`, `$env:NODE_NAME`,
 * `${X}`, `$(...)`, a backtick substitution in sh) is `dynamic`: its value is only known when the script
 * runs. The word keeps the text as written (`$env:NODE_NAME`) so a diagnostic can show it.
 */

export interface Word {
  /** The word after quote removal (variables left as written). */
  text: string;
  /** Index in the source text where the word starts. */
  start: number;
  /** True when the shell would substitute part of it at run time. */
  dynamic: boolean;
}

export interface Command {
  words: Word[];
  /** 1-based line of the command's first word. */
  line: number;
}

export type Dialect = 'posix' | 'powershell';

export function dialectOf(text: string): Dialect {
  return /`\r?\n|\$env:|^[ \t]*&[ \t"'$]/im.test(text) ? 'powershell' : 'posix';
}

/** An unterminated quote: where it opens. */
export class ShellSyntaxError extends Error {
  constructor(
    readonly at: number,
    detail: string,
  ) {
    super(detail);
  }
}

const POSIX_ESCAPABLE = new Set(['"', "'", '\\', ' ', '\t', '$', '`']);

/** Splits `text` into commands of words (see the module comment). Throws ShellSyntaxError on an unterminated quote. */
export function shellCommands(text: string, dialect: Dialect = dialectOf(text), base = 0): Command[] {
  return new Splitter(text, dialect, base).run();
}

class Splitter {
  private i = 0;
  private readonly out: Command[] = [];
  private words: Word[] = [];
  private cur: Word | null = null;
  private line = 1;
  private cmdLine = 1;

  constructor(
    private readonly s: string,
    private readonly ps: Dialect,
    private readonly base: number,
  ) {}

  run(): Command[] {
    while (this.i < this.s.length) this.step();
    this.endCommand();
    return this.out;
  }

  private word(): Word {
    if (this.cur === null) {
      this.cur = { text: '', start: this.base + this.i, dynamic: false };
      if (this.words.length === 0) this.cmdLine = this.line;
    }
    return this.cur;
  }

  private endWord(): void {
    if (this.cur !== null) this.words.push(this.cur);
    this.cur = null;
  }

  private endCommand(): void {
    this.endWord();
    if (this.words.length > 0) this.out.push({ words: this.words, line: this.cmdLine });
    this.words = [];
  }

  private step(): void {
    const s = this.s;
    const c = s[this.i];
    const next = s[this.i + 1];
    if (c === '\n') {
      this.line++;
      this.i++;
      return this.endCommand();
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      this.i++;
      return this.endWord();
    }
    if ((c === ';' || c === '|' || (c === '&' && (next === '&' || this.words.length > 0 || this.cur !== null))) && this.cur === null) {
      this.i += (c === '|' || c === '&') && next === c ? 2 : 1;
      return this.endCommand();
    }
    if (c === '#' && this.cur === null) {
      while (this.i < s.length && s[this.i] !== '\n') this.i++;
      return;
    }
    if (this.continuation(c)) return;
    if (c === "'") return this.single();
    if (c === '"') return this.double();
    if (c === '$') return this.variable(this.word());
    if (c === '`' && this.ps === 'posix') return this.backquote(this.word());
    if (c === '`' || (c === '\\' && this.ps === 'posix' && next !== undefined && POSIX_ESCAPABLE.has(next))) {
      this.word().text += next ?? '';
      this.i += 2;
      return;
    }
    this.word().text += c;
    this.i++;
  }

  /** A line continuation (backtick or backslash before a newline): skipped, the command goes on. */
  private continuation(c: string): boolean {
    const esc = this.ps === 'powershell' ? '`' : '\\';
    if (c !== esc) return false;
    const rest = this.s.slice(this.i + 1, this.i + 3);
    const len = rest.startsWith('\r\n') ? 3 : rest.startsWith('\n') ? 2 : 0;
    if (len === 0) return false;
    this.i += len;
    this.line++;
    this.endWord();
    return true;
  }

  private single(): void {
    const w = this.word();
    const open = this.i;
    this.i++;
    for (;;) {
      if (this.i >= this.s.length) throw new ShellSyntaxError(this.base + open, 'a single quote that is never closed');
      const c = this.s[this.i];
      if (c === "'" && this.ps === 'powershell' && this.s[this.i + 1] === "'") {
        w.text += "'";
        this.i += 2;
        continue;
      }
      this.i++;
      if (c === "'") return;
      if (c === '\n') this.line++;
      w.text += c;
    }
  }

  private double(): void {
    const w = this.word();
    const open = this.i;
    this.i++;
    for (;;) {
      if (this.i >= this.s.length) throw new ShellSyntaxError(this.base + open, 'a double quote that is never closed');
      const c = this.s[this.i];
      const next = this.s[this.i + 1];
      if (c === '"' && this.ps === 'powershell' && next === '"') {
        w.text += '"';
        this.i += 2;
        continue;
      }
      if (c === '"') {
        this.i++;
        return;
      }
      if (c === '$') {
        this.variable(w);
        continue;
      }
      const esc = this.ps === 'powershell' ? c === '`' : c === '\\' && next !== undefined && '"\\$`\n'.includes(next);
      if (esc && next !== undefined) {
        if (next === '\n') this.line++;
        else w.text += next;
        this.i += 2;
        continue;
      }
      if (c === '`' && this.ps === 'posix') {
        this.backquote(w);
        continue;
      }
      if (c === '\n') this.line++;
      w.text += c;
      this.i++;
    }
  }

  /** `$name`, `$env:NAME`, `${...}`, `$(...)`: copied as written, and the word marked dynamic. A lone `$` is a character. */
  private variable(w: Word): void {
    const s = this.s;
    const start = this.i;
    const next = s[this.i + 1];
    if (next === '(' || next === '{') {
      const close = next === '(' ? ')' : '}';
      let depth = 0;
      let j = this.i + 1;
      for (; j < s.length; j++) {
        if (s[j] === next) depth++;
        else if (s[j] === close && --depth === 0) break;
      }
      if (j >= s.length) throw new ShellSyntaxError(this.base + start, `a ${next === '(' ? '$(' : '${'} that is never closed`);
      this.i = j + 1;
    } else {
      const m = /^\$(?:env:)?[A-Za-z_][A-Za-z0-9_]*/i.exec(s.slice(this.i, this.i + 256));
      if (m === null) {
        w.text += '$';
        this.i++;
        return;
      }
      this.i += m[0].length;
    }
    w.text += s.slice(start, this.i);
    w.dynamic = true;
  }

  private backquote(w: Word): void {
    const end = this.s.indexOf('`', this.i + 1);
    if (end < 0) throw new ShellSyntaxError(this.base + this.i, 'a backquote command substitution that is never closed');
    w.text += this.s.slice(this.i, end + 1);
    w.dynamic = true;
    this.i = end + 1;
  }
}

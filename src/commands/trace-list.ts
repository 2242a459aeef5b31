/**
 * The TRACE arguments of `vfp-emu replay` as a list of captures (issue 12, "Many captures at once").
 *
 * Each argument is one of:
 * - a file: replayed as it is (its format is found from its content, as for one trace);
 * - a folder: its captures, the regular files (symlinks followed) whose names end in `.pcap`, `.pcapng` or
 *   `.cap` (any case), not those starting with `.`, not its sub-folders; a folder with none is bad usage;
 * - a glob pattern, quoted so that the shell leaves it alone (`'caps/*.pcapng'`): `*` any run of characters
 *   and `?` one character within a name, `[abc]`, `[a-z]`, `[!a]` one character of a set, `**` a whole
 *   path segment matching any number of folders (none included), and as the last segment every file below
 *   (`'caps/**'`, as bash's globstar); names starting with `.` only match a
 *   pattern segment starting with `.`, as in a shell. Every regular file that matches is taken, whatever
 *   its name ends in (the pattern is the user's filter); a pattern that matches none is bad usage. An
 *   argument that names an existing file is that file, even when its name holds `*` or `?`. The matcher is
 *   written here: Node 20 has no stable fs.glob, and the project takes no dependency for this.
 * Folders and patterns give their captures sorted by path (by UTF-16 code unit, not by locale), so that the
 * order (that of the merged summary's `traces`) is the same on every machine; arguments keep their order.
 * The same file twice (after `..` and symlinks) is refused by name: its counts would be added twice.
 * A run is multi-trace (one merged summary, per-trace outputs in folders) when the command line gives more
 * than one argument, a folder or a pattern, even if that finds one capture: the form of the command decides
 * what --out names, never the number of files found.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../core/errors';

/** File names a folder's captures end in (the readers detect pcap and pcapng by content). */
export const CAPTURE_NAME = /\.(pcapng|pcap|cap)$/i;

export interface TraceList {
  traces: string[];
  /** More than one argument, or a folder, or a pattern (see the module comment). */
  multi: boolean;
}

const GLOB_CHARS = /[*?[]/;

/** The captures the TRACE arguments name (see the module comment); throws UsageError. */
export function expandTraces(args: readonly string[]): TraceList {
  if (args.length === 0) return { traces: [], multi: false };
  const one = args[0];
  if (args.length === 1 && (one === '-' || (!isFolder(one) && (fs.existsSync(one) || !GLOB_CHARS.test(one))))) return { traces: [one], multi: false };
  const traces: string[] = [];
  for (const a of args) {
    if (a === '-') throw new UsageError('replay: TRACE - (stdin) cannot be one of several traces; give files, folders or patterns');
    if (isFolder(a)) traces.push(...folderCaptures(a));
    else if (!fs.existsSync(a) && GLOB_CHARS.test(a)) traces.push(...globFiles(a));
    else traces.push(a);
  }
  refuseTwice(traces);
  return { traces, multi: true };
}

function isFolder(p: string): boolean {
  return fs.statSync(p, { throwIfNoEntry: false })?.isDirectory() === true;
}

function isFile(p: string): boolean {
  return fs.statSync(p, { throwIfNoEntry: false })?.isFile() === true;
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function folderCaptures(dir: string): string[] {
  const names = fs
    .readdirSync(dir)
    .filter((n) => !n.startsWith('.') && CAPTURE_NAME.test(n))
    .map((n) => path.join(dir, n))
    .filter(isFile)
    .sort(byCodeUnit);
  if (names.length === 0) throw new UsageError(`replay: folder ${dir} holds no capture (files named *.pcap, *.pcapng or *.cap)`);
  return names;
}

/** The regular files that `pattern` matches, sorted (see the module comment). */
export function globFiles(pattern: string): string[] {
  const abs = path.isAbsolute(pattern);
  const segs = pattern.split('/').filter((s, k) => s !== '' || k === 0);
  const fixed: string[] = [];
  while (segs.length > 1 && !GLOB_CHARS.test(segs[0])) fixed.push(segs.shift() as string);
  const base = fixed.length === 0 ? (abs ? '/' : '') : fixed.join('/') || '/';
  const found = new Set<string>();
  walk(base, segs, found);
  const out = [...found].filter(isFile).sort(byCodeUnit);
  if (out.length === 0) throw new UsageError(`replay: pattern ${pattern} matches no file`);
  return out;
}

function walk(dir: string, segs: readonly string[], found: Set<string>): void {
  const [seg, ...rest] = segs;
  const join = (n: string): string => (dir === '' ? n : path.join(dir, n));
  if (seg === '**') {
    if (rest.length > 0) walk(dir, rest, found); // no folder
    else for (const n of listFolder(dir)) if (!n.startsWith('.')) found.add(join(n)); // a last `**`: every file below, as bash's globstar
    for (const n of listFolder(dir)) if (!n.startsWith('.') && isFolder(join(n))) walk(join(n), segs, found);
    return;
  }
  const names = GLOB_CHARS.test(seg) ? listFolder(dir).filter((n) => segmentRegex(seg).test(n)) : [seg];
  for (const n of names) {
    if (rest.length === 0) found.add(join(n));
    else if (isFolder(join(n))) walk(join(n), rest, found);
  }
}

function listFolder(dir: string): string[] {
  try {
    return fs.readdirSync(dir === '' ? '.' : dir);
  } catch {
    return []; // unreadable: nothing matches there
  }
}

/** A pattern segment as an anchored regex: `*`, `?`, `[set]`, `[!set]`; a leading `.` is never matched by a wildcard. */
function segmentRegex(seg: string): RegExp {
  let re = seg.startsWith('.') ? '' : '(?!\\.)';
  for (let k = 0; k < seg.length; k++) {
    const c = seg[k];
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[' && seg.indexOf(']', k + 2) > 0) {
      const end = seg.indexOf(']', k + 2);
      let set = seg.slice(k + 1, end);
      const negate = set.startsWith('!') || set.startsWith('^');
      if (negate) set = set.slice(1);
      re += `[${negate ? '^' : ''}${set.replace(/[\\\]^]/g, '\\$&')}]`;
      k = end;
    } else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

/** The same file named twice (by two arguments, or a file and its folder) is refused by name. */
function refuseTwice(traces: readonly string[]): void {
  const seen = new Map<string, string>();
  for (const t of traces) {
    let key: string;
    try {
      key = fs.realpathSync(t);
    } catch {
      key = path.resolve(t); // missing: the reader says so
    }
    const first = seen.get(key);
    if (first !== undefined) throw new UsageError(`replay: trace ${t} is the same file as ${first}: each capture is replayed once`);
    seen.set(key, t);
  }
}

/** The name of a trace's own outputs in an --out or --verdicts folder: its file name without the capture suffix. */
export function outputStem(trace: string): string {
  const base = path.basename(trace);
  const stem = base.replace(CAPTURE_NAME, '');
  return stem === '' ? base : stem;
}

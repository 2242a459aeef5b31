/**
 * Where a field path's value starts in a JSON text, for error messages (`(line 2125759, column 18)`).
 * One pass without recursion and without building anything: a 47 MB kubectl dump is located in well
 * under a second. (It used to be re-parsed as YAML, which took 100 s and 2.7 GB for that dump.)
 * The text is known to be valid JSON (JSON.parse accepted it), so the scan only tracks containers, keys
 * and indexes.
 */

import type { PathSeg } from './source';

interface Frame {
  obj: boolean;
  /** The current member's key (objects) or the current element's index (lists). */
  seg: string | number;
  /** Objects: the next string is a key. */
  expectKey: boolean;
  /** This container is at a prefix of the path. */
  ok: boolean;
}

/** End index (exclusive) of the string starting at `i` (a `"`). */
function stringEnd(text: string, i: number): number {
  let j = i + 1;
  for (;;) {
    const q = text.indexOf('"', j);
    if (q < 0) return text.length;
    let bs = 0;
    for (let k = q - 1; text.charCodeAt(k) === 92; k--) bs++;
    if (bs % 2 === 0) return q + 1;
    j = q + 1;
  }
}

/**
 * The offset of the value at `path` in `text`, or of its deepest parent that exists (the path of a
 * missing key ends in that key); null when not even the root is found.
 */
export function jsonLocate(text: string, path: readonly PathSeg[]): number | null {
  const stack: Frame[] = [];
  let best: number | null = null;
  const n = text.length;
  /** A value starts at `i`: is it at the path (or a prefix of it)? */
  const start = (i: number): boolean => {
    const d = stack.length;
    const top = d > 0 ? stack[d - 1] : null;
    if (top && !top.obj) top.seg = (top.seg as number) + 1;
    const ok = top === null ? true : top.ok && d <= path.length && top.seg === path[d - 1];
    if (ok) best = i;
    return ok;
  };
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b || c === 0x5b) {
      const ok = start(i);
      if (ok && stack.length === path.length) return i;
      stack.push({ obj: c === 0x7b, seg: c === 0x7b ? '' : -1, expectKey: c === 0x7b, ok });
    } else if (c === 0x7d || c === 0x5d) {
      const f = stack.pop();
      if (f && f.ok && stack.length < path.length && best !== null) return best;
    } else if (c === 0x2c) {
      const top = stack[stack.length - 1];
      if (top && top.obj) top.expectKey = true;
    } else if (c === 0x22) {
      const end = stringEnd(text, i);
      const top = stack[stack.length - 1];
      if (top && top.obj && top.expectKey) {
        const raw = text.slice(i + 1, end - 1);
        top.seg = raw.includes('\\') ? (JSON.parse(text.slice(i, end)) as string) : raw;
        top.expectKey = false;
      } else if (start(i) && stack.length === path.length) return i;
      i = end - 1;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39) || c === 0x74 || c === 0x66 || c === 0x6e) {
      if (start(i) && stack.length === path.length) return i;
      while (i + 1 < n && !/[,\]}\s]/.test(text[i + 1])) i++;
    }
  }
  return best;
}

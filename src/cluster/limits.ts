/**
 * Parse limits for cluster inputs: what a hostile or broken config file may cost before it is refused.
 * Every limit, when crossed, is an InputError naming the file and where (byte offset, or field path), so
 * the CLI prints `vfp-emu: FILE ...: ...` and exits 2; never `internal error`.
 *
 * - Size: a file is read up to `maxConfigBytes` (default 64 MiB, `--max-config-bytes N` on replay,
 *   explain and rules) with a bounded loop (load.ts); one byte more and it is refused, so `/dev/zero` or a
 *   FIFO that never ends costs at most the cap. The largest real kubectl dump we know of (5,000 nodes,
 *   150,000 pods, -o json) is about 40 MiB. A kubectl List in a regular JSON file is streamed
 *   (stream-list.ts): the cap then bounds each item and the envelope, what is held at once, not the file.
 * - Nesting: 256 levels of lists and maps (kubectl objects nest about 12 deep). JSON that JSON.parse
 *   refuses is re-scanned to find the error's offset; that scan stops at the limit instead of recursing
 *   until the stack overflows. The yaml package's own parser overflows its stack near 800 levels and
 *   reports it as a parse error, which source.ts words as nesting too deep.
 * - YAML aliases: the yaml package's `maxAliasCount` (1,000): an alias bomb (`b: &b [*a,*a,...]`) is
 *   refused before it expands.
 * - Strings: any scalar or key longer than 1 MiB characters (a ConfigMap, which may carry an embedded
 *   config as one string, is itself at most 1 MiB in Kubernetes).
 * Names have their own, smaller caps, the API server's (validate.ts).
 */

import { InputError } from '../core/errors';
import { formatPath, type PathSeg } from './source';

export const DEFAULT_MAX_CONFIG_BYTES = 64 * 1024 * 1024;
export const MAX_NESTING = 256;
export const MAX_STRING_CHARS = 1024 * 1024;
export const MAX_YAML_ALIASES = 1000;

interface Frame {
  value: unknown;
  /** Keys of an object (null for a list). */
  keys: string[] | null;
  /** Next child. */
  i: number;
}

/** The field path of the child each frame is at (every frame's `i` has already moved past it). */
function pathOf(stack: Frame[], prefix: readonly PathSeg[]): PathSeg[] {
  const out: PathSeg[] = [...prefix];
  for (const f of stack) out.push(f.keys ? f.keys[f.i - 1] : f.i - 1);
  return out;
}

function tooLong(file: string, path: PathSeg[], what: string, length: number): never {
  throw new InputError(file, { fieldPath: formatPath(path) || '(document)' }, `${what} is ${length} characters long, more than the limit of ${MAX_STRING_CHARS} (1 MiB)`);
}

/**
 * Walks a parsed document without recursion and throws an InputError at the first list or map nested
 * deeper than MAX_NESTING, or the first string (value or key) longer than MAX_STRING_CHARS, naming its
 * field path (`above`: the levels of lists and maps that hold `value` in its file, for a streamed List's
 * item). Also stops on a cyclic value (a YAML alias to its own ancestor), as nesting too deep.
 */
export function checkValueLimits(file: string, value: unknown, prefix: readonly PathSeg[] = [], above = 0): void {
  if (typeof value === 'string') {
    if (value.length > MAX_STRING_CHARS) tooLong(file, [...prefix], 'this string', value.length);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const stack: Frame[] = [{ value, keys: Array.isArray(value) ? null : Object.keys(value), i: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const n = top.keys ? top.keys.length : (top.value as unknown[]).length;
    if (top.i >= n) {
      stack.pop();
      continue;
    }
    const key = top.keys ? top.keys[top.i] : null;
    const child = key !== null ? (top.value as Record<string, unknown>)[key] : (top.value as unknown[])[top.i];
    top.i++;
    if (key !== null && key.length > MAX_STRING_CHARS) tooLong(file, pathOf(stack, prefix), 'a key here', key.length);
    if (typeof child === 'string') {
      if (child.length > MAX_STRING_CHARS) tooLong(file, pathOf(stack, prefix), 'this string', child.length);
    } else if (typeof child === 'object' && child !== null) {
      if (stack.length + above >= MAX_NESTING) {
        const path = pathOf(stack, prefix);
        const shown = `${formatPath(path.slice(0, 8))}…(${path.length} levels)`;
        throw new InputError(file, { fieldPath: shown }, `lists and maps nest more than ${MAX_NESTING} levels deep here (the limit; kubectl objects nest about 12)`);
      }
      stack.push({ value: child, keys: Array.isArray(child) ? null : Object.keys(child), i: 0 });
    }
  }
}

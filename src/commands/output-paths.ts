/**
 * The output paths of a command, checked before anything is opened or truncated (issue 9: `--out`
 * naming the input trace cut a user's 65 MB capture to 1.4 MB). `checkOutputPaths` refuses, with a
 * UsageError (exit status 2) naming both paths:
 * - an output that is the same file as an input (the trace, a --cluster file) or as another output.
 *   "The same file" follows what open(2) would reach: symlinks and `..` (realpath), hard links (device
 *   and inode of an existing file); a file not there yet is its folder's realpath plus its name (a
 *   dangling symlink is followed to the name it would create). Trace `-` is stdin: when the shell
 *   redirected a file into it (`< cap.pcap`), that file is an input too.
 * - an output that is a folder, an existing output file that is not writable (access(2) W_OK), or an
 *   output whose folder is missing, not a folder, or not writable (W_OK; for a symlink, the folder of
 *   the file it leads to, where the temporary file is made): outputs are written to a temporary file in their folder and renamed, and the report is only
 *   written at the end, so this is found before the long work, not after it.
 * Allowed without the folder checks:
 * - `-` (issue 13: what a shell user expects of `--out -`): stdout, as /dev/stdout is; the caller writes it
 *   to fd 1 under the name /dev/stdout (replay.ts stdoutAsDevice), never to a file named `-`.
 * - /dev/stdout and /dev/stderr (also /dev/fd/1, /dev/fd/2, /proc/self/fd/1, /proc/self/fd/2): written
 *   straight to fd 1 / fd 2 (never reopened or renamed, output-files.ts); when that fd is a regular file
 *   (`>> cap.pcapng`), its device and inode are checked against the inputs and the other outputs as a
 *   named file's are. At most one output per stream (two would interleave into a file no reader
 *   parses). The caller learns which output took stdout (`stdout`), so that replay can keep stdout for
 *   it alone (see runReplayCommand).
 * - other character devices (/dev/null, /dev/full, a terminal): nothing there can be overwritten; any
 *   number of outputs may name /dev/null.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../core/errors';
import { standardStream } from '../pipeline/output-files';

/** A path on the command line and what it is there for (`the trace`, `--cluster`, `--out`). */
interface NamedPath {
  what: string;
  path: string;
}

interface OutputPlan {
  /** The output written to stdout (`--verdicts /dev/stdout`), or null. */
  stdout: NamedPath | null;
  /** The output written to stderr, or null. */
  stderr: NamedPath | null;
}

export { standardStream };

/** Checks the outputs against the inputs and each other (see the module comment); throws UsageError. */
export function checkOutputPaths(inputs: readonly NamedPath[], outputs: readonly NamedPath[]): OutputPlan {
  const plan: OutputPlan = { stdout: null, stderr: null };
  const seen = new Map<string, NamedPath>();
  for (const input of inputs) {
    const key = inputKey(input.path);
    if (key !== null && !seen.has(key)) seen.set(key, input);
  }
  for (const output of outputs) {
    const stream = output.path === '-' ? 'stdout' : standardStream(output.path);
    if (stream !== null) {
      const taken = plan[stream];
      if (taken !== null) throw new UsageError(`${taken.what} ${taken.path} and ${output.what} ${output.path} both write ${stream}: give one of them a file`);
      plan[stream] = output;
      // written to the fd itself (output-files.ts): when the shell redirected it into a file
      // (`--verdicts /dev/stdout >> cap.pcapng`), that file is this output
      const key = streamKey(stream === 'stdout' ? 1 : 2);
      if (key === null) continue;
      const other = seen.get(key);
      if (other !== undefined) throw new UsageError(`${output.what} ${output.path} is the same file as ${other.what} ${other.path}: refusing to overwrite it`);
      seen.set(key, output);
      continue;
    }
    const key = outputKey(output);
    if (key === null) continue;
    const other = seen.get(key);
    if (other !== undefined) throw new UsageError(`${output.what} ${output.path} is the same file as ${other.what} ${other.path}: refusing to overwrite it`);
    seen.set(key, output);
  }
  return plan;
}

/** Identity of the file a standard stream was redirected into: device and inode when a regular file, else null. */
function streamKey(fd: number): string | null {
  try {
    const st = fs.fstatSync(fd);
    return st.isFile() ? `${st.dev}:${st.ino}` : null;
  } catch {
    return null;
  }
}

/** Identity of an input: device and inode when it exists and is a regular file, else null. */
function inputKey(p: string): string | null {
  let st: fs.Stats;
  try {
    st = p === '-' ? fs.fstatSync(0) : fs.statSync(p);
  } catch {
    return null; // the reader says what is wrong with it
  }
  return st.isFile() ? `${st.dev}:${st.ino}` : null;
}

/**
 * Identity of an output, after checking that it can be created: device and inode when it exists, its
 * folder's realpath and its name when not; null for a character device or another non-file (a FIFO).
 */
function outputKey(o: NamedPath): string | null {
  let st: fs.Stats | null = null;
  try {
    st = fs.statSync(o.path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return folderError(o, path.dirname(o.path), e);
  }
  if (st !== null && st.isDirectory()) throw new UsageError(`${o.what} ${o.path}: is a folder; give a file name`);
  if (st !== null && !st.isFile()) return null;
  if (st !== null) {
    // replaced by a temporary file in the folder of what the name leads to (a symlink's target):
    // that file must be writable (as an ordinary open would require) and that folder too
    try {
      fs.accessSync(o.path, fs.constants.W_OK);
    } catch (e) {
      throw new UsageError(`${o.what} ${o.path}: cannot write it (${(e as NodeJS.ErrnoException).code ?? 'EACCES'})`);
    }
    checkFolder(o, path.dirname(realTarget(o)));
    return `${st.dev}:${st.ino}`;
  }
  const target = followLinks(o.path);
  checkFolder(o, path.dirname(target));
  try {
    return `${fs.realpathSync(path.dirname(target))}/${path.basename(target)}`;
  } catch (e) {
    return folderError(o, path.dirname(target), e);
  }
}

/** The realpath of an existing output (where its temporary file goes). */
function realTarget(o: NamedPath): string {
  try {
    return fs.realpathSync(o.path);
  } catch (e) {
    return folderError(o, path.dirname(o.path), e);
  }
}

/** Folder `dir` of output `o` (its own, or its symlink target's) exists, is a folder, and this process may create files in it. */
function checkFolder(o: NamedPath, dir: string): void {
  try {
    if (!fs.statSync(dir).isDirectory()) throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' });
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (e) {
    folderError(o, dir, e);
  }
}

function folderError(o: NamedPath, dir: string, e: unknown): never {
  const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
  throw new UsageError(`${o.what} ${o.path}: cannot create files in its folder ${dir} (${code})`);
}

/** Where open(O_CREAT) on `p` creates the file: its symlinks followed (a dangling one names the target). */
function followLinks(p: string): string {
  for (let hops = 0; hops < 40; hops++) {
    let link: string;
    try {
      link = fs.readlinkSync(p);
    } catch {
      return p; // not a link (or not there): the name itself
    }
    p = path.resolve(path.dirname(p), link);
  }
  return p;
}

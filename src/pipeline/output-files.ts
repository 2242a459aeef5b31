/**
 * Writing the replay's output files (verdict records, output pcapng, report), from the main thread or from
 * the split worker (pipeline.ts, W = 2): whole buffers with short writes retried, failures reported as the
 * CLI reports a file it cannot write (the file, the call, the errno code; exit status 2), and every file
 * written whole (`AtomicOutput`): the one way an output of `replay` is created.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const STREAM_NAMES: Record<string, 'stdout' | 'stderr'> = {
  '/dev/stdout': 'stdout',
  '/dev/fd/1': 'stdout',
  '/proc/self/fd/1': 'stdout',
  [`/proc/${process.pid}/fd/1`]: 'stdout',
  '/dev/stderr': 'stderr',
  '/dev/fd/2': 'stderr',
  '/proc/self/fd/2': 'stderr',
  [`/proc/${process.pid}/fd/2`]: 'stderr',
};

/** 'stdout' or 'stderr' when `p` names that standard stream (/dev/stdout, /dev/fd/1, /proc/self/fd/1, ...), else null. */
export function standardStream(p: string): 'stdout' | 'stderr' | null {
  return STREAM_NAMES[path.resolve(p)] ?? null;
}

/**
 * A failed write to output file `file`: the error with `path`, `syscall` and `code` set, which the CLI
 * prints as `vfp-emu: FILE: cannot write it (CODE)`.
 */
export function outputWriteError(file: string, code: string | undefined, message: string, stack?: string): NodeJS.ErrnoException {
  const e = new Error(message.startsWith(`${file}: `) ? message : `${file}: ${message}`) as NodeJS.ErrnoException;
  e.path = file;
  e.syscall = 'write';
  e.code = code ?? 'EIO';
  if (stack !== undefined) e.stack = stack;
  return e;
}

/**
 * A write to output `file` failed because it is stdout and its reader went away (EPIPE: `| head`): not an
 * error of the run but a stop (pipeline.ts), that output dropped from then on.
 */
export function isClosedStdout(file: string, e: unknown): boolean {
  return (e as NodeJS.ErrnoException)?.code === 'EPIPE' && standardStream(file) === 'stdout';
}

/** Runs `write`; a failure becomes `outputWriteError(file, ...)`. */
export function writing(file: string, write: () => void): void {
  try {
    write();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (typeof err?.code !== 'string') throw e;
    throw outputWriteError(file, err.code, err.message, err.stack);
  }
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes `len` bytes of `buf` from `at` (looping on short writes). EAGAIN (fd 1 or 2 is a pipe made
 * non-blocking, by libuv or by another process sharing it) waits 1 ms and retries, as core/stdout.ts does.
 */
export function writeAll(fd: number, buf: Uint8Array, at: number, len: number): void {
  let done = 0;
  while (done < len) {
    try {
      done += fs.writeSync(fd, buf, at + done, len - done);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

/** fs.writevSync, with EAGAIN waited out as in `writeAll` (returns the bytes written, maybe fewer). */
export function writevAll(fd: number, views: Uint8Array[]): number {
  for (;;) {
    try {
      return fs.writevSync(fd, views);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

/** A failed open/rename of output `file` (the final name, not the temporary one), as the CLI prints it. */
function outputError(file: string, syscall: string, e: unknown): NodeJS.ErrnoException {
  const err = e as NodeJS.ErrnoException;
  if (typeof err?.code !== 'string') return err;
  const out = new Error(`${file}: cannot ${syscall} it (${err.code})`) as NodeJS.ErrnoException;
  out.path = file;
  out.syscall = syscall;
  out.code = err.code;
  return out;
}

/**
 * An output file written whole: opened as a temporary file in the folder of the final name, renamed onto
 * it by `commit` once complete, removed by `abort`. So a reader of the final name sees the file it held
 * before or the new one whole, never a part; and a run that fails (a write error, an internal error, a
 * second Ctrl-C) leaves a user's existing file untouched.
 *
 * Decisions:
 * - The temporary file is `.NAME.vfp-emu-PID.tmp` (hidden; says what made it), in the same folder
 *   (rename(2) is atomic only within one file system), created exclusively (O_EXCL: never through a link
 *   planted there, never shared with another run; `-K` is appended if the name is taken), with the mode a
 *   new file gets (0666 less the umask) or, when it replaces a file, that file's permission bits (not
 *   setuid/setgid: the new file is the writer's). A file that exists but is not writable is refused as
 *   an ordinary open would refuse it.
 * - A symbolic link to a regular file: the temporary file goes next to the link's target and replaces the
 *   target; the link stays.
 * - A name of a standard stream (`standardStream`: /dev/stdout, /dev/stderr, /dev/fd/1, /proc/self/fd/2,
 *   ...) is written to fd 1 / fd 2 itself: never reopened, never renamed, never closed. Reopening it would
 *   follow the link to whatever the shell redirected the stream into (`>> cap.pcapng`) and replace that
 *   file; the checks against the inputs (commands/output-paths.ts) compare fstat of the fd instead.
 * - Other special files (anything but a regular file: /dev/null, a FIFO, a character device, a
 *   socket) are written in place: renaming onto them would replace the device or FIFO with a regular file
 *   and the reader at the other end would get nothing. Such a file is as whole as its reader makes it.
 * - Leftovers: a run killed at once (SIGKILL, the OOM killer) cannot remove its temporary file. `open`
 *   removes those of the same NAME in that folder whose PID is no running process (`removeLeftovers`).
 * - No fsync: this guards against failed and interrupted runs, not power cuts (flushing a GB of output
 *   would cost more than the run).
 * - Every open temporary file is listed (`discardAll`) so that a second Ctrl-C (stop.ts) can remove them
 *   before the process exits.
 */
export class AtomicOutput {
  private static readonly live = new Set<AtomicOutput>();
  private closed = false;

  private constructor(
    /** The final name, as the user gave it (for messages). */
    readonly file: string,
    readonly fd: number,
    /** The temporary file, or null when written in place (a special file). */
    private readonly temp: string | null,
    /** Where the temporary file goes on commit (the final name, or a link's target). */
    private readonly target: string,
    /** fd 1 or 2 (a standard stream): never closed here. */
    private readonly borrowed = false,
  ) {
    if (temp !== null) AtomicOutput.live.add(this);
  }

  /** Opens output `file` (see the class comment); errors name `file` (exit status 2 in the CLI). */
  static open(file: string): AtomicOutput {
    const stream = standardStream(file);
    if (stream !== null) return new AtomicOutput(file, stream === 'stdout' ? 1 : 2, null, file, true);
    let target = file;
    let st: fs.Stats | null = null;
    try {
      st = fs.statSync(file);
      if (fs.lstatSync(file).isSymbolicLink()) target = fs.realpathSync(file);
    } catch {
      st = null; // absent (or a dangling link: written in place below, as open would)
    }
    if ((st !== null && !st.isFile()) || (st === null && isLink(file))) return AtomicOutput.inPlace(file);
    try {
      if (st !== null) fs.accessSync(target, fs.constants.W_OK);
    } catch (e) {
      throw outputError(file, 'open', e);
    }
    const dir = path.dirname(target);
    const base = path.basename(target);
    removeLeftovers(dir, base);
    for (let k = 0; ; k++) {
      const temp = path.join(dir, `.${base}.vfp-emu-${process.pid}${k > 0 ? `-${k}` : ''}.tmp`);
      let fd: number;
      try {
        fd = fs.openSync(temp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o666);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST' && k < 100) continue;
        throw outputError(file, 'open', e);
      }
      const out = new AtomicOutput(file, fd, temp, target);
      if (st !== null) {
        try {
          fs.fchmodSync(fd, st.mode & 0o777);
        } catch (e) {
          out.abort();
          throw outputError(file, 'open', e);
        }
      }
      return out;
    }
  }

  private static inPlace(file: string): AtomicOutput {
    try {
      return new AtomicOutput(file, fs.openSync(file, 'w'), null, file);
    } catch (e) {
      throw outputError(file, 'open', e);
    }
  }

  /** Closes the file and renames it onto the final name (a special file: closes it). */
  commit(): void {
    if (this.closed) return;
    try {
      this.release();
      if (this.temp !== null) fs.renameSync(this.temp, this.target);
    } catch (e) {
      if (this.temp !== null) unlinkQuietly(this.temp);
      throw outputError(this.file, (e as NodeJS.ErrnoException).syscall === 'rename' ? 'rename' : 'write', e);
    }
  }

  /** Closes the file and removes the temporary file; the final name is left as it was. Never throws. */
  abort(): void {
    if (this.closed) return;
    try {
      this.release();
    } catch {
      // closing is all that is left to do with it
    }
    if (this.temp !== null) unlinkQuietly(this.temp);
  }

  /** Marks this output done (commit or abort: once) and closes its descriptor unless it is fd 1/2 (borrowed). */
  private release(): void {
    this.closed = true;
    AtomicOutput.live.delete(this);
    if (!this.borrowed) fs.closeSync(this.fd);
  }

  /** Removes every temporary file still open (a second Ctrl-C, just before the process exits). */
  static discardAll(): void {
    for (const o of [...AtomicOutput.live]) o.abort();
  }

  /** Writes `text` to `file` whole (the report): written, then renamed; on failure the final name is untouched. */
  static writeFile(file: string, text: string): void {
    const out = AtomicOutput.open(file);
    try {
      const bytes = Buffer.from(text, 'utf8');
      writing(file, () => writeAll(out.fd, bytes, 0, bytes.length));
      out.commit();
    } finally {
      out.abort();
    }
  }
}

/**
 * Removes the temporary files of NAME (`base`) in `dir` left by runs that died without cleaning up (SIGKILL,
 * the OOM killer): `.NAME.vfp-emu-PID.tmp` or `.NAME.vfp-emu-PID-K.tmp` whose PID is no running process
 * (kill(PID, 0) fails with ESRCH). A live PID (another run writing NAME now, or a process that reused the
 * number) keeps its file; so does this process's own. Failures are ignored: this is housekeeping.
 */
function removeLeftovers(dir: string, base: string): void {
  const prefix = `.${base}.vfp-emu-`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const m = /^(\d+)(?:-\d+)?$/.exec(name.slice(prefix.length, -'.tmp'.length));
    if (m === null) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || !(pid > 0) || pid > 0x7fffffff) continue;
    try {
      process.kill(pid, 0);
      continue; // running (or not ours to signal: EPERM): its file stays
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') continue;
    }
    unlinkQuietly(path.join(dir, name));
  }
}

function isLink(file: string): boolean {
  try {
    return fs.lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

function unlinkQuietly(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {
    // already gone
  }
}

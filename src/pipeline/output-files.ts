/**
 * Writing the replay's output files (verdict records, output pcapng, report), from the main thread or from
 * the split worker (pipeline.ts, W = 2): whole buffers with short writes retried, failures reported as the
 * CLI reports a file it cannot write (the file, the call, the errno code; exit status 2), and every file
 * written whole (`AtomicOutput`): the one way an output of `replay` is created.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

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

/** Writes `len` bytes of `buf` from `at` (looping on short writes). */
export function writeAll(fd: number, buf: Uint8Array, at: number, len: number): void {
  let done = 0;
  while (done < len) done += fs.writeSync(fd, buf, at + done, len - done);
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
 * - Special files (anything but a regular file: /dev/stdout, /dev/null, a FIFO, a character device, a
 *   socket) are written in place: renaming onto them would replace the device or FIFO with a regular file
 *   and the reader at the other end would get nothing. Such a file is as whole as its reader makes it.
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
  ) {
    if (temp !== null) AtomicOutput.live.add(this);
  }

  /** Opens output `file` (see the class comment); errors name `file` (exit status 2 in the CLI). */
  static open(file: string): AtomicOutput {
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
    this.closed = true;
    AtomicOutput.live.delete(this);
    try {
      fs.closeSync(this.fd);
      if (this.temp !== null) fs.renameSync(this.temp, this.target);
    } catch (e) {
      if (this.temp !== null) unlinkQuietly(this.temp);
      throw outputError(this.file, (e as NodeJS.ErrnoException).syscall === 'rename' ? 'rename' : 'write', e);
    }
  }

  /** Closes the file and removes the temporary file; the final name is left as it was. Never throws. */
  abort(): void {
    if (this.closed) return;
    this.closed = true;
    AtomicOutput.live.delete(this);
    try {
      fs.closeSync(this.fd);
    } catch {
      // closing is all that is left to do with it
    }
    if (this.temp !== null) unlinkQuietly(this.temp);
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

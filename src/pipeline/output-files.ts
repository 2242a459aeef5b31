/**
 * Writing the replay's output files (verdict records, output pcapng), from the main thread or from the
 * output worker (pipeline.ts, W = 2): whole buffers with short writes retried, and failures reported as
 * the CLI reports a file it cannot write (the file, the call, the errno code; exit status 2).
 */
import * as fs from 'node:fs';

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

/**
 * The one way vfp-emu writes its standard output (help, decode rows, rules, explain, replay's summary).
 *
 * Decisions (issue 9):
 * - Synchronous writes to fd 1, whole buffers, short writes retried. process.stdout is never touched:
 *   creating it turns a pipe on fd 1 non-blocking (libuv does), and its errors arrive later as 'error'
 *   events no caller can catch. A pipe made non-blocking by another process sharing it (O_NONBLOCK
 *   belongs to the open file, as asyncio programs set it) answers EAGAIN when full: we wait 1 ms
 *   (Atomics.wait, no busy loop) and retry.
 * - EPIPE (the reader went away: `| head -1`) throws StdoutClosed. It is not an error: the reader has what
 *   it wanted. The CLI ends quietly, with no message and the run's own status (cli.ts).
 * - Any other errno (ENOSPC on `> /dev/full`, EIO) throws an error shaped as every output-file failure is
 *   (`path` 'stdout', `syscall` 'write', `code`): the CLI prints `vfp-emu: stdout: cannot write it (CODE)`
 *   and exits 2. Never 1 (that is --fail-on's "matched").
 */
import * as fs from 'node:fs';

/** Thrown by writeStdout when the reader of stdout has gone away (EPIPE). */
export class StdoutClosed extends Error {
  constructor() {
    super('stdout closed by its reader');
    this.name = 'StdoutClosed';
  }
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/** A failed write to stdout, shaped as the CLI reports any output it cannot write. */
function stdoutError(code: string | undefined, cause: unknown): NodeJS.ErrnoException {
  const e = new Error(`stdout: cannot write it (${code ?? 'EIO'})`, { cause }) as NodeJS.ErrnoException;
  e.path = 'stdout';
  e.syscall = 'write';
  e.code = code ?? 'EIO';
  return e;
}

/** Writes all of `text` to fd 1 before returning; throws StdoutClosed on EPIPE, stdoutError otherwise. */
export function writeStdout(text: string | Uint8Array): void {
  const buf = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  let done = 0;
  while (done < buf.length) {
    try {
      done += fs.writeSync(1, buf, done, buf.length - done);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') Atomics.wait(pause, 0, 0, 1);
      else if (code === 'EPIPE') throw new StdoutClosed();
      else throw stdoutError(code, e);
    }
  }
}

/**
 * Makes sure an 'error' event of process.stdout or process.stderr never escapes as a crash. For stdout,
 * should any code (a library, a console.log left in) create that stream: the handler is attached the moment the stream is created,
 * without creating it here (see the module comment). EPIPE is ignored as writeStdout ignores it; any
 * other error is reported as writeStdout reports it, with exit status 2.
 */
export function guardProcessStdout(): void {
  // stderr (progress, messages): a reader gone or a failed write there has nowhere to be reported; the
  // run goes on and its exit status says how it ended (never an uncaught 'error' event, which exits 1).
  process.stderr.on('error', () => undefined);
  const desc = Object.getOwnPropertyDescriptor(process, 'stdout');
  if (desc === undefined || desc.get === undefined || desc.configurable !== true) return;
  const get = desc.get;
  let guarded = false;
  Object.defineProperty(process, 'stdout', {
    configurable: true,
    enumerable: desc.enumerable,
    get(): NodeJS.WriteStream {
      const stream = get.call(process) as NodeJS.WriteStream;
      if (!guarded) {
        guarded = true;
        stream.on('error', onStdoutStreamError);
      }
      return stream;
    },
  });
}

function onStdoutStreamError(e: NodeJS.ErrnoException): void {
  if (e.code === 'EPIPE' || process.exitCode === 2) return;
  process.stderr.write(`vfp-emu: stdout: cannot write it (${e.code ?? 'EIO'})\n`);
  process.exitCode = 2;
}

/**
 * Errors that reach the user. Each names where the fault is: a file plus a byte offset (captures) or
 * a field path (cluster inputs). The CLI prints `message` and exits with status 2.
 */

export class InputError extends Error {
  /** The file (or `-` for stdin) the fault is in. */
  readonly file: string;
  /** Byte offset in the file where the faulty structure starts, when the input is binary. */
  readonly offset: number | undefined;
  /** Field path (for example `items[3].spec.ports[0].port`), when the input is a config document. */
  readonly fieldPath: string | undefined;

  constructor(file: string, where: { offset?: number; fieldPath?: string }, detail: string) {
    const at =
      where.offset !== undefined ? ` at byte offset ${where.offset}` : where.fieldPath !== undefined ? ` at ${where.fieldPath}` : '';
    super(`${file}${at}: ${detail}`);
    this.name = 'InputError';
    this.file = file;
    this.offset = where.offset;
    this.fieldPath = where.fieldPath;
  }
}

/** Bad command-line usage (exit status 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Helpers the cluster-input tests share (not a test file itself). */
import { strict as assert } from 'node:assert';
import { InputError } from '../src/core/errors';

export /** Asserts that `fn` throws an InputError for `file` at `fieldPath` whose message matches `detail`. */
function throwsAt(fn: () => unknown, file: string, fieldPath: string | undefined, detail: RegExp): InputError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof InputError, `expected an InputError, got ${String(caught)}`);
  const e = caught as InputError;
  assert.equal(e.file, file, e.message);
  assert.equal(e.fieldPath, fieldPath, e.message);
  assert.match(e.message, detail);
  return e;
}

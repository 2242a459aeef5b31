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

/** The three nodes of traces/_clusters (linux-1, win-1, win-2) as scenario nodes, win-1 named `win1`. */
export function lessonNodes(win1: string): unknown[] {
  return [
    { name: 'linux-1', windows: false, ip: '10.127.130.10', podCIDR: '10.244.0.0/24', drMac: 'ae:10:7f:82:0a:10' },
    { name: win1, ip: '10.127.130.11', podCIDR: '10.244.1.0/24', mac: '00:15:5d:82:0b:01', drMac: '00:15:5d:82:0b:ff' },
    { name: 'win-2', ip: '10.127.130.12', podCIDR: '10.244.2.0/24', mac: '00:15:5d:82:0c:01', drMac: '00:15:5d:82:0c:ff' },
  ];
}

/**
 * Start-up (issue 12): the worker count replay takes when `--workers` is not given. A small trace and the
 * embedded lesson run on the main thread (no worker to start for ten packets); a big file, stdin and a
 * file that is not there keep the cores available.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultWorkers, SMALL_TRACE_BYTES } from '../src/commands/replay';

const repo = path.resolve(__dirname, '..', '..');

describe('replay default worker count (start-up)', () => {
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-startup-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('the embedded lesson and a small trace file run on one thread', () => {
    assert.equal(defaultWorkers(''), 1);
    assert.equal(defaultWorkers(path.join(repo, 'traces', '04-icmp-lesson', 'trace.pcapng')), 1);
  });

  it('beyond 2 cores, a trace file of SMALL_TRACE_BYTES or more, stdin and a missing file get the cores', () => {
    const big = path.join(tmp, 'big.pcapng');
    fs.writeFileSync(big, '');
    fs.truncateSync(big, SMALL_TRACE_BYTES);
    assert.equal(defaultWorkers(big, 4), 4);
    fs.truncateSync(big, SMALL_TRACE_BYTES - 1);
    assert.equal(defaultWorkers(big, 4), 1);
    assert.equal(defaultWorkers('-', 8), 8);
    assert.equal(defaultWorkers(path.join(tmp, 'absent.pcapng'), 3), 3);
  });

  it('on 2 cores or fewer every trace runs on one thread (two were slower on the 2-core machine)', () => {
    const big = path.join(tmp, 'big2.pcapng');
    fs.writeFileSync(big, '');
    fs.truncateSync(big, SMALL_TRACE_BYTES * 4);
    assert.equal(defaultWorkers(big, 2), 1);
    assert.equal(defaultWorkers('-', 2), 1);
    assert.equal(defaultWorkers(big, 1), 1);
    assert.equal(defaultWorkers(big), os.availableParallelism() <= 2 ? 1 : os.availableParallelism());
  });
});

/**
 * The pktmon summary's drop comparison (src/report/pktmon.ts) over many drop records: agree/disagree count
 * every record, not only the first LIST_MAX (it used to say "4000 (emulator agrees 100, disagrees 900)"),
 * and the list is the first LIST_MAX records by packet number whichever thread saw them.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Batch, PK_COPY_UNSEEN, PK_DROP, PK_PACKET } from '../src/core/batch';
import { pktmonCapture } from '../src/gen/pktmon';
import { openedStreamCount, pktmonReader } from '../src/io/pktmon';
import { openCapture, openCaptureBytes } from '../src/io/reader';
import { LIST_MAX, PktmonTally, pktmonText } from '../src/report/pktmon';
import { V } from '../src/vfp/reasons';
import type { Results } from '../src/vfp/results';

/** A batch of `n` pktmon packets from number `first`, each its own judged drop record; verdict dropped when `drop(number)`. */
function batch(first: number, n: number, drop: (num: number) => boolean): { b: Batch; r: Results; idx: Uint32Array } {
  const pkInfo = new Uint32Array(n).fill(PK_PACKET | PK_DROP);
  const b = { firstNumber: first, pkInfo, pkCopyOf: new Uint32Array(n), iface: new Uint32Array(n) } as unknown as Batch;
  const verdict = new Uint8Array(n);
  for (let i = 0; i < n; i++) verdict[i] = drop(first + i) ? V.DROPPED : V.FORWARDED;
  const r = { verdict, reason: new Uint16Array(n), warnings: new Uint32Array(n) } as unknown as Results;
  return { b, r, idx: Uint32Array.from({ length: n }, (_, i) => i) };
}

describe('pktmon drop records beyond the listed ones', () => {
  it('4000 drop records on two threads: every one counted, the list the first 1000 by packet number', () => {
    const even = (num: number) => num % 2 === 0;
    const threads = [new PktmonTally(), new PktmonTally()];
    // packets 1..4000 in batches of 500, alternating threads
    for (let k = 0; k < 8; k++) {
      const { b, r, idx } = batch(1 + 500 * k, 500, even);
      threads[k % 2].collect(b, r, idx, 500);
    }
    const sums = [[0, 1], [1, 0]].map((order) => {
      const main = new PktmonTally();
      for (const t of order) main.addData(threads[t].data());
      return main.summary('t.pcapng', (g) => `if${g}`, undefined);
    });
    const s = sums[0];
    assert.ok(s !== null);
    assert.equal(s.drops.records, 4000);
    assert.equal(s.drops.agree, 2000);
    assert.equal(s.drops.disagree, 2000);
    assert.equal(s.drops.unknown, 0);
    assert.equal(s.drops.list.length, LIST_MAX);
    assert.deepEqual(s.drops.list.map((d) => d.packet), Array.from({ length: LIST_MAX }, (_, i) => i + 1));
    assert.deepEqual(sums[1], s, 'the merge order does not matter');
    assert.match(pktmonText(s), /pktmon drops: 4000 \(emulator agrees 2000, disagrees 2000\)/);
  });

  it('a drop record whose packet was not judged before it (copy_of null) says "not linked"', () => {
    const { b, r, idx } = batch(1, 2, () => false);
    b.pkCopyOf[1] = PK_COPY_UNSEEN;
    const t = new PktmonTally();
    t.collect(b, r, idx, 2);
    const s = t.summary('t.pcapng', (g) => `if${g}`, 'vmswitch.sys');
    assert.ok(s !== null);
    assert.equal(s.drops.unknown, 1);
    assert.match(pktmonText(s), /packet 2 at if0: pktmon dropped \(no reason in the file\); emulator: not linked/);
  });
});

describe('interface lists kept per thread (io/pktmon.ts openedIfaces)', () => {
  it('only a stream\'s list is kept (a file is read again by name), and a posted tally takes it away: a worker of a multi-replay does not pile them up', () => {
    const lesson = fs.readFileSync(path.join(__dirname, '..', '..', 'traces', '04-icmp-lesson', 'trace.pcapng'));
    const bytes = pktmonCapture(lesson, {});
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-ifaces-'));
    try {
      const before = openedStreamCount();
      for (let k = 0; k < 3; k++) {
        const file = path.join(tmp, `node-${k}.pcapng`);
        fs.writeFileSync(file, bytes);
        pktmonReader(openCapture(file), {}).close();
      }
      assert.equal(openedStreamCount(), before, 'regular files: no list kept');
      const r = pktmonReader(openCaptureBytes('stream-1', bytes), {});
      const b = new Batch({ capacity: 64, arenaBytes: 1 << 20 });
      while (r.next(b) > 0);
      r.close();
      assert.equal(openedStreamCount(), before + 1);
      const tally = new PktmonTally();
      const posted = tally.data();
      assert.equal(openedStreamCount(), 0, 'posted: the thread holds no list');
      assert.ok((posted.streams?.['stream-1']?.length ?? 0) > 0, 'the stream\'s names are in the posted tally');
      assert.deepEqual(tally.components('stream-1'), posted.streams?.['stream-1']);
      assert.equal(new PktmonTally().data().streams?.['stream-1'], undefined, 'posted once, not again by every later tally');
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

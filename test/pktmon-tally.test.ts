/**
 * The pktmon summary's drop comparison (src/report/pktmon.ts) over many drop records: agree/disagree count
 * every record, not only the first LIST_MAX (it used to say "4000 (emulator agrees 100, disagrees 900)"),
 * and the list is the first LIST_MAX records by packet number whichever thread saw them.
 */
import { strict as assert } from 'node:assert';
import { PK_COPY_UNSEEN, PK_DROP, PK_PACKET, type Batch } from '../src/core/batch';
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

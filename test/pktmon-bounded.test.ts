/**
 * pktmon's state is bounded by the group table, not by the trace (issue 13, src/io/pktmon.ts,
 * src/report/pktmon.ts): the drop comparison used to keep a Uint16 per packet NUMBER (200 MB a thread at
 * 100M packets) and every drop record (4 numbers each). Now each thread keeps the judged verdicts of one
 * epoch of the group table and its first LIST_MAX drop records; these tests count what the tables hold
 * after many packets (sizes, not timings).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Batch, PK_DROP, PK_PACKET } from '../src/core/batch';
import { PK_EPOCH_SHIFT, PktmonTagger } from '../src/io/pktmon';
import { openCaptureBytes } from '../src/io/reader';
import { pktmonCapture } from '../src/gen/pktmon';
import { writeTraceFile } from '../src/gen/trace';
import { LIST_MAX, PktmonTally } from '../src/report/pktmon';
import { V } from '../src/vfp/reasons';
import type { Results } from '../src/vfp/results';

/** Results of `n` packets: verdict dropped where `dropped(i)`, else forwarded. */
function results(n: number, dropped: (i: number) => boolean): Results {
  const verdict = new Uint8Array(n);
  for (let i = 0; i < n; i++) verdict[i] = dropped(i) ? V.DROPPED : V.FORWARDED;
  return { verdict, reason: new Uint16Array(n), warnings: new Uint32Array(n) } as unknown as Results;
}

describe('pktmon memory stays bounded as the trace grows', () => {
  it('1M packets, half of them drop records of the packet before: the tally holds one epoch of verdicts and LIST_MAX records', () => {
    const t = new PktmonTally();
    const B = 1000;
    const EPOCH = 10_000; // the tagger's table emptied every 10k packets (5k groups)
    const idx = Uint32Array.from({ length: B }, (_, i) => i);
    let most = 0;
    for (let first = 1; first <= 1_000_000; first += B) {
      const pkInfo = new Uint32Array(B);
      const pkCopyOf = new Uint32Array(B);
      for (let i = 0; i < B; i++) {
        const n = first + i;
        const epoch = Math.floor((n - 1) / EPOCH);
        // odd numbers judged, even ones pktmon's drop record of the packet before (same epoch: EPOCH is even)
        pkInfo[i] = PK_PACKET | (n % 2 === 0 ? PK_DROP : 0) | (epoch << PK_EPOCH_SHIFT);
        pkCopyOf[i] = n % 2 === 0 ? n - 1 : 0;
      }
      const b = { firstNumber: first, pkInfo, pkCopyOf, iface: new Uint16Array(B) } as unknown as Batch;
      // the judged packet n is dropped by the emulator when n % 4 === 1
      t.collect(b, results(B, (i) => (first + i) % 4 === 1), idx, B);
      most = Math.max(most, t.footprint().entries);
    }
    const f = t.footprint();
    assert.ok(most <= EPOCH / 2, `judged verdicts held at once: ${most}`);
    assert.ok(f.slots <= 8192, `room for verdicts: ${f.slots} (a table per packet number would hold 1M)`);
    assert.equal(f.drops, LIST_MAX);
    const s = t.summary('t', (g) => `if${g}`, undefined);
    assert.ok(s !== null);
    assert.equal(s.drops.records, 500_000);
    assert.equal(s.drops.agree, 250_000, 'every record compared, not only the listed ones');
    assert.equal(s.drops.disagree, 250_000);
    assert.equal(s.drops.unknown, 0);
    assert.deepEqual(s.drops.list.slice(0, 2).map((d) => [d.packet, d.judged, d.verdict]), [
      [2, 1, 'dropped'],
      [4, 3, 'forwarded'],
    ]);
  });

  it('the tagger\'s group table and the tally stay within the group limit over a real capture; with no limit they grow', () => {
    const tmp = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'vfp-pkbound-'));
    try {
      const base = path.join(tmp, 'base.pcapng');
      writeTraceFile(base, 'pcapng', { packets: 6000, flows: 300, seed: 3 });
      const drops = new Map<number, { component: number; reason: number; reasonText: string }>();
      for (let n = 5; n <= 6000; n += 5) drops.set(n, { component: 2, reason: 8, reasonText: 'Filtered' });
      const pk = pktmonCapture(fs.readFileSync(base), { drops, natAt: 2 });
      const run = (groupLimit: number | undefined) => {
        const tagger = new PktmonTagger(openCaptureBytes('pk.pcapng', pk), { groupLimit });
        const tally = new PktmonTally();
        const b = new Batch({ capacity: 512, arenaBytes: 4 << 20 });
        let most = 0;
        for (;;) {
          b.reset(tagger.packetsRead + 1);
          const n = tagger.next(b);
          if (n === 0) break;
          const idx = Uint32Array.from({ length: n }, (_, i) => i);
          tally.collect(b, results(n, (i) => (b.firstNumber + i) % 2 === 0), idx, n);
          most = Math.max(most, tally.footprint().entries);
        }
        assert.equal(tagger.error, null);
        return { most, groups: tagger.footprint(), forgotten: tagger.forgotten, s: tally.summary('pk', String, undefined) };
      };
      const small = run(256);
      assert.ok(small.forgotten >= 20, `the table was emptied ${small.forgotten} times`);
      assert.ok(small.groups.groups <= 256 && small.groups.slots <= 512, JSON.stringify(small.groups));
      assert.ok(small.most <= 256, `the tally held ${small.most} verdicts at once (at most one epoch's groups)`);
      const big = run(undefined);
      assert.equal(big.forgotten, 0);
      assert.equal(big.most, 6000, 'without emptyings the tally holds every judged packet: the epochs are what bound it');
      assert.ok(big.s !== null && small.s !== null);
      assert.equal(big.s.drops.records, 1200);
      assert.equal(big.s.drops.unknown, 0);
      // a drop record two appearances after its judged packet is still compared in the bounded run, but for
      // the few whose group was emptied between the two (then judged afresh, as the record itself)
      assert.equal(small.s.drops.records, 1200);
      assert.ok(small.s.drops.agree + small.s.drops.disagree === 1200 && small.s.drops.unknown === 0, JSON.stringify(small.s.drops).slice(0, 200));
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

/**
 * pktmon captures on every pipeline shape (issue 13, src/io/pktmon.ts `pktmonRoute`): a generated trace
 * (the project's generator, its kubectl cluster) as etl2pcapng would write a pktmon capture of it at three
 * components, with outbound NAT at the physical NIC (so a copy there has another 5-tuple, hence another
 * shard key, than its judged packet) and pktmon drop records at every component. --workers 1..4 write the
 * same verdict records, output pcapng and summary; every drop record is compared with its judged packet's
 * verdict (none "unknown"): without the routing, the chain's shards missed a fifth of them. Also: an
 * interface block after the first packet (legal pcapng) is found by --pktmon-component.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { replay, type ReplaySummary } from '../src/commands/replay';
import { pktmonCapture } from '../src/gen/pktmon';
import { clusterList } from '../src/gen/layout';
import { writeTraceFile } from '../src/gen/trace';

function sha(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

describe('pktmon captures on every pipeline shape', function () {
  this.timeout(300_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-pkshards-'));
  const cluster = path.join(tmp, 'cluster.json');
  const files: Record<'nat' | 'late', string> = { nat: path.join(tmp, 'nat.pcapng'), late: path.join(tmp, 'late.pcapng') };
  const PACKETS = 8000;
  const drops = new Map<number, { component: number; reason: number; reasonText: string }>();

  before(() => {
    const base = path.join(tmp, 'base.pcapng');
    const g = writeTraceFile(base, 'pcapng', { packets: PACKETS, flows: 800, seed: 7 });
    fs.writeFileSync(cluster, JSON.stringify(clusterList(g.layout), null, 2) + '\n');
    // drop records at the NIC (a copy, NAT'ed), at the vSwitch (a copy) and at the pod's vNIC (the judged packet itself)
    for (let n = 1; n <= PACKETS; n++) {
      if (n % 7 === 0) drops.set(n, { component: 2, reason: 23, reasonText: 'MTU mismatch' });
      else if (n % 11 === 0) drops.set(n, { component: 134, reason: 8, reasonText: 'Filtered' });
      else if (n % 13 === 0) drops.set(n, { component: 12, reason: 8, reasonText: 'Filtered' });
    }
    const bytes = fs.readFileSync(base);
    fs.writeFileSync(files.nat, pktmonCapture(bytes, { drops, natAt: 2 }));
    fs.writeFileSync(files.late, pktmonCapture(bytes, { drops, natAt: 2, lateIdbs: true }));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  async function run(trace: string, workers: number, pktmonComponent?: string): Promise<{ verdicts: string; out: string; summary: Omit<ReplaySummary, 'elapsed_s' | 'pps'>; status: number }> {
    const verdicts = path.join(tmp, `w${workers}.jsonl`);
    const out = path.join(tmp, `w${workers}.pcapng`);
    const r = await replay({ trace, clusterFiles: [cluster], windows: undefined, seed: 1, view: 'pod', failOn: [], vxlanPorts: [], workers, verdicts, out, pktmonComponent });
    const { elapsed_s, pps, ...summary } = r.summary;
    void elapsed_s;
    void pps;
    return { verdicts: sha(verdicts), out: sha(out), summary, status: r.status };
  }

  for (const component of [undefined, 'vmswitch.sys']) {
    it(`NAT'ed copies and drop records at every component: --workers 1..4 write the same files${component !== undefined ? ` (--pktmon-component ${component})` : ''}`, async () => {
      const first = await run(files.nat, 1, component);
      assert.equal(first.status, 0);
      const p = first.summary.pktmon;
      assert.ok(p !== undefined);
      assert.equal(p.drops.records, drops.size);
      if (component === undefined) {
        assert.equal(p.packets, PACKETS);
        // every record has its judged packet before it: compared, none unknown
        assert.equal(p.drops.unknown, 0);
        assert.equal(p.drops.agree + p.drops.disagree, drops.size);
        assert.ok(p.drops.list.some((d) => /#2/.test(d.component) && d.judged !== d.packet), 'a record at the NIC, a copy of its judged packet');
      } else {
        // at the vSwitch: the pod vNIC's drop records come before it (unlinked), the others are compared
        assert.ok(p.drops.unknown > 0 && p.drops.agree + p.drops.disagree > 0);
      }
      for (const w of [2, 3, 4]) {
        const r = await run(files.nat, w, component);
        assert.equal(r.verdicts, first.verdicts, `--workers ${w}: verdict records differ`);
        assert.equal(r.out, first.out, `--workers ${w}: output pcapng differs`);
        assert.deepEqual(r.summary, first.summary, `--workers ${w}: summary differs`);
      }
    });
  }

  it('an interface block after the first packet is found by --pktmon-component (and judged as in the file that writes them first)', async () => {
    const nic = 'Microsoft Hyper-V Network Adapter #2';
    const want = await run(files.nat, 1, nic);
    for (const w of [1, 3]) {
      const got = await run(files.late, w, nic);
      assert.equal(got.status, 0, got.summary.error);
      assert.ok(got.summary.pktmon !== undefined && want.summary.pktmon !== undefined);
      // only packets that reach the NIC are judged there (the others were dropped at the vSwitch or the vNIC)
      assert.equal(got.summary.pktmon.packets, PACKETS - [...drops.values()].filter((d) => d.component !== 2).length);
      assert.deepEqual([got.summary.verdicts, got.summary.reasons], [want.summary.verdicts, want.summary.reasons]);
      assert.deepEqual(got.summary.pktmon.drops.list.map((d) => [d.packet, d.verdict]), want.summary.pktmon.drops.list.map((d) => [d.packet, d.verdict]));
    }
  });
});

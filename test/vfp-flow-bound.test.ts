/**
 * The flow table is bounded (issue 9): at most the profile's maxConnections connections, in 64 shares by
 * shard key, each evicting its least recently used connection when full (flow-table.ts). What a user sees:
 * the summary counts the evicted flows, memory stays at the bound, an evicted connection's later packets
 * are judged as a new flow's, and the outputs are still the same bytes for every --workers count.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { replay, summaryText, type ReplayOptions } from '../src/commands/replay';
import { clusterList } from '../src/gen/layout';
import { writeTraceFile } from '../src/gen/trace';
import { FLOW_SHARES, setReserveLimitForTest } from '../src/vfp/flow-table';
import { DEFAULT_MAX_CONNECTIONS, describeProfiles, resolveProfile } from '../src/vfp/profile';
import { CLIENT, EXT, WEB0, WIN1, cluster, dataplane, frame, run, tcp } from './vfp-fixtures.test';

const sha = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describe('vfp flow table bound (maxConnections, eviction, flows_evicted)', function () {
  this.timeout(300_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-flow-bound-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** A generated trace of `flows` connections (all open at once unless `concurrency`), its cluster, replay options for it. */
  function generated(name: string, flows: number, extra: { network?: 'overlay' | 'l2bridge'; concurrency?: number; meanGapUs?: number; podsPerNode?: number } = {}): Omit<ReplayOptions, 'workers'> {
    const trace = path.join(tmp, `${name}.pcap`);
    const clusterFile = path.join(tmp, `${name}.json`);
    const g = writeTraceFile(trace, 'pcap', { packets: flows * 10, flows, seed: 7, ...extra });
    fs.writeFileSync(clusterFile, JSON.stringify(clusterList(g.layout)));
    return { trace, clusterFiles: [clusterFile], seed: 1, view: extra.network === 'l2bridge' ? 'wire' : 'pod', failOn: [], vxlanPorts: [] };
  }

  it('is a profile setting (default 2^21 connections, 32768 per share); a bad value is a usage error naming it', () => {
    assert.equal(resolveProfile(undefined).maxConnections, DEFAULT_MAX_CONNECTIONS);
    assert.equal(DEFAULT_MAX_CONNECTIONS / FLOW_SHARES, 32768);
    assert.equal(resolveProfile('ws2022:maxConnections=640').maxConnections, 640);
    assert.throws(() => resolveProfile('ws2022:maxConnections=zero'), /maxConnections must be a number >= 1/);
    // --windows help says the per-share limit and which traffic shares one share
    assert.match(describeProfiles(), /maxConnections \(every profile; default 2097152\): .* 64 shares of maxConnections\/64 connections \(32768 by default\)\. One share holds every connection of one pod .* all node-address, NodePort, externalIP and LoadBalancer-VIP connections.*--windows ws2022:maxConnections=N/);
  });

  it('a small limit: connections are evicted, the summary counts them (JSON and text), the table stays at the bound', async () => {
    const base = generated('small', 4000);
    const dflt = await replay({ ...base, workers: 1 });
    assert.equal(dflt.summary.flows_evicted, 0, 'the default limit evicts nothing here');
    assert.doesNotMatch(summaryText(dflt.summary), /evicted/);
    const limited = await replay({ ...base, workers: 1, windows: 'ws2022:maxConnections=640' });
    const ft = limited.dataplane.state.flows;
    assert.ok(limited.summary.flows_evicted > 100, `flows_evicted ${limited.summary.flows_evicted}`);
    assert.equal(limited.summary.flows_evicted, ft.evicted);
    assert.match(summaryText(limited.summary), new RegExp(`flow table: ${limited.summary.flows_evicted} idle connections evicted`));
    // the line says the limit that evicted them (per share, 640/64 = 10) and how to raise it
    assert.equal(limited.summary.flow_share_limit, 10);
    assert.equal(dflt.summary.flow_share_limit, undefined, 'no evictions: no share limit in the summary');
    const line = summaryText(limited.summary).split('\n').find((l) => l.startsWith('flow table:')) ?? '';
    assert.match(line, /within its limit of 10 connections per share \(maxConnections\/64; .*all host, NodePort and external-VIP connections, share one\)/, line);
    assert.match(line, /raise the limit with --windows ws2022:maxConnections=N/, line);
    assert.ok(ft.live <= 640, `${ft.live} live connections`);
    assert.ok(ft.capacity <= 641, `the arrays hold ${ft.capacity} connections`);
    assert.ok(dflt.dataplane.state.flows.capacity > 2 * 641, 'without the limit the same trace needs more');
    assert.equal(limited.summary.packets, dflt.summary.packets);
  });

  it('an evicted connection\'s reply is judged as a reply with no connection: to the node\'s NAT port it reaches the host, not the pod', () => {
    // wire view: client-0's SYN to an external host is SNATed to WIN1:natPort; then client-0 opens another
    // connection (to web-0: the same owner, so the same share); with one connection per share the first is
    // evicted, and the external host's answer to WIN1:natPort finds no NAT state
    const reply = (natPort: number): Uint8Array => frame(EXT, WIN1.ip, tcp(443, natPort, 'SA'), { dst: WIN1.mac });
    const judge = (profile: string) => {
      const dp = dataplane(cluster(), { view: 'wire', profile });
      const syn = run(dp, [frame(CLIENT.ip, EXT, tcp(41000, 443))]).v[0];
      const natPort = (syn.bytes[34] << 8) | syn.bytes[35];
      run(dp, [frame(CLIENT.ip, WEB0.ip, tcp(41001, 80))], { t0: 1767225601 });
      const v = run(dp, [reply(natPort)], { t0: 1767225602 }).v[0];
      return { v, natPort, evicted: dp.state.flows.evicted };
    };
    const kept = judge('ws2022');
    assert.deepEqual([kept.v.verdict, kept.v.egress], ['delivered', 'pod/default/client-0'], 'with its connection the reply is translated back to the pod');
    const evicted = judge(`ws2022:maxConnections=${FLOW_SHARES}`);
    assert.ok(evicted.evicted > 0);
    const none = run(dataplane(cluster(), { view: 'wire' }), [reply(evicted.natPort)]).v[0];
    assert.deepEqual([none.verdict, none.reason, none.egress], ['delivered', null, 'host']);
    assert.deepEqual([evicted.v.verdict, evicted.v.reason, evicted.v.egress], [none.verdict, none.reason, none.egress]);
    assert.deepEqual([...evicted.v.bytes], [...none.bytes], 'the same packet as with no connection at all');
  });

  for (const [name, network] of [
    ['overlay, pod view', 'overlay'],
    ['l2bridge, wire view', 'l2bridge'],
  ] as const) {
    it(`evictions depend on the trace alone (${name}): --workers 1, 2, 3, 4 write the same bytes and count the same evictions`, async () => {
      // 1000 s of trace, 2500 flows open at a time, pods enough to fill every share: connections expire while
      // shares are full, and the limit (30 per share) lies above the table's first 1024 slots, so its arrays
      // grow meanwhile (freeing expired connections when the arrays are full, as the unbounded table did,
      // made W = 1 and W = 3 differ here)
      const base = generated(`det-${network}`, 5000, { network, concurrency: 2500, meanGapUs: 20_000, podsPerNode: 40 });
      const outs: { verdicts: string; out: string; evicted: number; summary: string }[] = [];
      for (const w of [1, 2, 3, 4]) {
        const verdicts = path.join(tmp, `w${w}.jsonl`);
        const out = path.join(tmp, `w${w}.pcapng`);
        const res = await replay({ ...base, workers: w, windows: 'ws2022:maxConnections=1920', verdicts, out });
        const { elapsed_s, pps, ...summary } = res.summary;
        void elapsed_s;
        void pps;
        outs.push({ verdicts: sha(verdicts), out: sha(out), evicted: res.summary.flows_evicted, summary: JSON.stringify(summary) });
      }
      assert.ok(outs[0].evicted > 100, `only ${outs[0].evicted} evictions: the limit is not reached`);
      for (let k = 1; k < 4; k++) {
        assert.equal(outs[k].evicted, outs[0].evicted, `--workers ${k + 1}: flows_evicted differs`);
        assert.equal(outs[k].verdicts, outs[0].verdicts, `--workers ${k + 1}: verdict records differ`);
        assert.equal(outs[k].out, outs[0].out, `--workers ${k + 1}: output pcapng differs`);
        assert.equal(outs[k].summary, outs[0].summary, `--workers ${k + 1}: summary differs`);
      }
    });
  }

  it('a host that refuses the flow table\'s reservation (strict overcommit) replays the same bytes, every connection kept', async () => {
    // 300k connections open at once: past 2^18 the table reserves its whole bound in one ArrayBuffer; the
    // hook makes that allocation throw as a refused one does, and the table grows x1.5 instead (--workers 1:
    // the table is in this thread)
    const trace = path.join(tmp, 'reserve.pcap');
    const clusterFile = path.join(tmp, 'reserve.json');
    const g = writeTraceFile(trace, 'pcap', { packets: 600_000, flows: 300_000, seed: 7, podsPerNode: 40 });
    fs.writeFileSync(clusterFile, JSON.stringify(clusterList(g.layout)));
    const base: ReplayOptions = { trace, clusterFiles: [clusterFile], seed: 1, view: 'pod', failOn: [], vxlanPorts: [], workers: 1, windows: 'ws2022:maxConnections=4194304' };
    const runs: { verdicts: string; summary: Record<string, unknown> }[] = [];
    for (const limit of [Infinity, 1]) {
      const verdicts = path.join(tmp, `reserve-${limit}.jsonl`);
      const old = setReserveLimitForTest(limit);
      try {
        const res = await replay({ ...base, verdicts });
        const { elapsed_s, pps, ...summary } = res.summary;
        void elapsed_s;
        void pps;
        runs.push({ verdicts: sha(verdicts), summary });
      } finally {
        setReserveLimitForTest(old);
      }
    }
    assert.equal(runs[1].summary.flows_evicted, 0, 'no connection evicted');
    assert.equal(runs[1].verdicts, runs[0].verdicts, 'the verdict records are the same bytes');
    assert.deepEqual(runs[1].summary, runs[0].summary);
  });
});

/**
 * The replay options that shape a walk, taken by `vfp-emu trace` with replay's meaning (issue 13: "`--windows`
 * and `--cluster` what-ifs work as in replay"; src/cli-args.ts: one FlagSpec shared by the commands' rows):
 * `--vxlan-port P` makes UDP to P a VXLAN packet the node decapsulates (or refuses), `--all-nodes` compiles
 * every Windows node of a big cluster. Each is checked against what replay says of the same packet, written
 * to a capture file, with and without the option (`--view`, `--windows` and `--seed` have their own tests in
 * trace-cli.test.ts).
 */

import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createWriter } from '../src/io/writer';
import { buildPacketLine } from '../src/scenario/packet-line';
import { generateList } from '../bench/cluster-scale';

const repo = path.resolve(__dirname, '../..');
const cli = path.join(repo, 'dist', 'src', 'cli.js');
const OVERLAY = ['kubectl.yaml', 'cni.conf', 'net-conf.json'].flatMap((f) => ['--cluster', path.join(repo, 'traces', '_clusters', 'overlay', f)]);

type Json = Record<string, unknown>;

function ok(args: string[]): string {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: repo, encoding: 'utf8' });
  assert.equal(r.status, 0, `vfp-emu ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** `flow` as a one-packet pcap file in `dir`. */
function capture(dir: string, flow: string): string {
  const file = path.join(dir, 'flow.pcap');
  const w = createWriter(file, 'pcap');
  w.writePacket(buildPacketLine(flow), { tsHi: 1767225600, tsLo: 0, iface: 0 });
  w.close();
  return file;
}

/** trace's request verdict and replay's verdict record of the same packet, with `extra` options for both. */
function both(flow: string, pcap: string, cluster: string[], extra: string[]): { trace: Json; replay: Json; summary: Json } {
  const trace = JSON.parse(ok(['trace', flow, ...cluster, '--format', 'json', ...extra])) as Json;
  const replay = JSON.parse(ok(['replay', pcap, ...cluster, '--verdicts', '-', '--quiet', ...extra]).trim()) as Json;
  const summary = JSON.parse(ok(['replay', pcap, ...cluster, '--summary', 'json', ...extra])) as Json;
  return { trace, replay, summary };
}

const requestFinal = (t: Json): Json => (t.request as Json).final as Json;

describe('trace takes the replay options that change a walk, with the same meaning', function () {
  this.timeout(300000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-trace-opts-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('--vxlan-port 4790: the UDP packet to the node becomes VXLAN and is dropped vni-mismatch at the decap rule, as replay judges it', () => {
    const flow = 'vxlan 10.127.130.10:51000 > 10.127.130.11:4790 vni=4096 dmac=00:15:5d:82:0b:01 | tcp 10.244.0.3:41000 > 10.244.1.6:8080 S dmac=00:15:5d:82:0b:ff';
    const pcap = capture(tmp, flow);
    const plain = both(flow, pcap, OVERLAY, []);
    const vxlan = both(flow, pcap, OVERLAY, ['--vxlan-port', '4790']);
    // without it: plain UDP to the node address, delivered to the host, and the host's answer goes back out
    assert.deepEqual([requestFinal(plain.trace).verdict, requestFinal(plain.trace).egress], ['delivered', 'host']);
    assert.equal((plain.trace.verdict as Json).code, 'works');
    // with it: decapsulated at the VNET layer, whose decap rule is for UDP 4789 only
    assert.deepEqual([requestFinal(vxlan.trace).verdict, requestFinal(vxlan.trace).reason], ['dropped', 'vni-mismatch']);
    assert.match((vxlan.trace.request as Json).input as string, / vni 4096 \| tcp 10\.244\.0\.3:41000 > 10\.244\.1\.6:8080$/);
    assert.equal(((vxlan.trace.verdict as Json).broken_by as Json).layer, 'VNET');
    for (const r of [plain, vxlan]) {
      const f = requestFinal(r.trace);
      assert.deepEqual([r.replay.verdict, r.replay.reason, r.replay.node, r.replay.egress], [f.verdict, f.reason, f.node, f.egress]);
    }
    const text = ok(['trace', flow, ...OVERLAY, '--vxlan-port', '4790', '--detail', 'summary']);
    assert.match(text, /^Conversation: fails: the request is dropped$/m);
  });

  it('--all-nodes: on a big cluster every Windows node is compiled (no nodes-compiled diagnostic), as replay does; the verdict is the same', () => {
    const list = generateList({ nodes: 10, pods: 5, services: 1000 }) as { items: Json[] };
    const big = path.join(tmp, 'big.json');
    fs.writeFileSync(big, JSON.stringify(list));
    const pod = list.items.find((o) => o.kind === 'Pod' && (o.metadata as Json).name === 'app-1-0') as Json;
    const flow = `tcp ${String((pod.status as Json).podIP)}:40000 > 10.96.0.10:53`;
    const pcap = capture(tmp, flow);
    const cluster = ['--cluster', big];
    const some = both(flow, pcap, cluster, []);
    const all = both(flow, pcap, cluster, ['--all-nodes']);
    const codes = (x: Json): string[] => (x.diagnostics as Json[]).map((d) => d.code as string);
    assert.ok(codes(some.trace).includes('nodes-compiled'), 'a big cluster compiles the nodes FLOW leads to');
    assert.ok(codes(some.summary).includes('nodes-compiled'), 'replay likewise');
    assert.ok(!codes(all.trace).includes('nodes-compiled'), '--all-nodes compiles every node');
    assert.ok(!codes(all.summary).includes('nodes-compiled'), 'replay --all-nodes likewise');
    assert.match(ok(['trace', flow, ...cluster]), /other config diagnostic\(s\).*nodes-compiled/);
    assert.doesNotMatch(ok(['trace', flow, ...cluster, '--all-nodes']), /nodes-compiled/);
    for (const r of [some, all]) {
      const f = requestFinal(r.trace);
      assert.deepEqual([r.replay.verdict, r.replay.reason, r.replay.service, r.replay.backend], [f.verdict, f.reason, f.service, f.backend]);
    }
    assert.deepEqual(some.trace.verdict, all.trace.verdict);
    assert.deepEqual(requestFinal(some.trace), requestFinal(all.trace));
  });

  it('--help lists --vxlan-port and --all-nodes for trace with the words replay gives them', () => {
    const help = ok(['trace', '--help']);
    const replayHelp = ok(['replay', '--help']);
    for (const flag of ['--vxlan-port P', '--all-nodes']) {
      const line = (h: string): string => h.split('\n').find((l) => l.trimStart().startsWith(flag)) ?? '';
      assert.notEqual(line(help), '', `trace --help lists ${flag}`);
      assert.equal(line(help).replace(/\s+/g, ' '), line(replayHelp).replace(/\s+/g, ' '), flag);
    }
  });
});

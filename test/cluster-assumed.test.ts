/**
 * Every fact the emulator fills in because no input gave it is a `config-assumed` diagnostic (info), in the
 * replay summary (text and JSON), `vfp-emu rules` and the report; grouped per kind, so a big cluster gives a
 * few lines with a count and examples, not one per object. A fact an input gives is not listed.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseClusterText, parseClusterTexts } from '../src/cluster';
import type { Cluster } from '../src/cluster/model';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'src', 'cli.js');
const assumed = (c: Cluster) => c.diagnostics.filter((d) => d.code === 'config-assumed');
const bySource = (c: Cluster, source: string) => assumed(c).filter((d) => d.source === source);

/** A kubectl List of `nodes` Windows nodes with `perNode` pods each (overlay when `overlay`). */
function bigCluster(nodes: number, perNode: number): string {
  const items: unknown[] = [];
  for (let n = 0; n < nodes; n++) {
    const name = `win-${n}`;
    items.push({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { 'kubernetes.io/os': 'windows' } },
      spec: { podCIDR: `10.${100 + (n >> 8)}.${n & 255}.0/24` },
      status: { addresses: [{ type: 'InternalIP', address: `10.0.${n >> 8}.${(n & 255) + 1}` }] },
    });
    for (let p = 0; p < perNode; p++) {
      items.push({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `p-${n}-${p}`, namespace: 'default' },
        spec: { nodeName: name },
        status: { podIP: `10.${100 + (n >> 8)}.${n & 255}.${p + 10}` },
      });
    }
  }
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
}

const CNI_OVERLAY = JSON.stringify({
  cniVersion: '0.2.0',
  name: 'vxlan0',
  type: 'win-overlay',
  ipMasq: true,
  endpointMacPrefix: '0E-2A',
  policies: [{ name: 'EndpointPolicy', value: { Type: 'OutBoundNAT', ExceptionList: ['10.100.0.0/14', '10.96.0.0/12'] } }],
});

describe('cluster: assumed facts are diagnostics', () => {
  it('a kubectl dump alone: plugin, mode, ExceptionList, SourceVIPs, MACs and kube-proxy DSR are listed as assumed', () => {
    const c = parseClusterText('list.json', bigCluster(2, 2));
    const sources = assumed(c).map((d) => d.source);
    for (const s of ['network.mode', 'network.plugin', 'network.outboundNatExceptions', 'proxy', 'nodes[*].mac', 'pods[*].mac', 'nodes[*].macPoolStart']) {
      assert.ok(sources.includes(s), `${s} in ${sources.join(', ')}`);
    }
    assert.ok(assumed(c).every((d) => d.severity === 'info'));
    assert.match(bySource(c, 'network.plugin')[0].message, /^no input states network\.plugin; using win-bridge \(no CNI config given/);
    assert.match(bySource(c, 'proxy')[0].message, /enableDSR false, WinDSR true, WinOverlay true/);
    assert.match(bySource(c, 'network.outboundNatExceptions')[0].message, /using \["10\.100\.0\.0\/\d+".*recommended ExceptionList/);
  });

  it('a fact an input gives is not listed; an overlay node without a source VIP lists the SourceVIP it takes', () => {
    const c = parseClusterTexts([{ name: 'list.json', text: bigCluster(2, 1) }, { name: 'cni.conf', text: CNI_OVERLAY }]);
    const sources = assumed(c).map((d) => d.source);
    for (const s of ['network.plugin', 'network.mode', 'network.outboundNatExceptions', 'network.outboundNat']) assert.ok(!sources.includes(s), `${s} is given by cni.conf`);
    const vip = bySource(c, 'nodes[*].sourceVip');
    assert.equal(vip.length, 1);
    assert.match(vip[0].message, /of 2 nodes; each derived \(first free address from \.2 of the podCIDR.*\), e\.g\. nodes\[win-0\]\.sourceVip = 10\.100\.0\.2, nodes\[win-1\]\.sourceVip = 10\.100\.1\.2$/);
  });

  it('grouped per kind: 100 nodes x 20 pods give a few lines, each with a count and three examples', () => {
    const c = parseClusterText('big.json', bigCluster(100, 20));
    const list = assumed(c);
    assert.ok(list.length < 20, `${list.length} lines`);
    const macs = bySource(c, 'pods[*].mac');
    assert.equal(macs.length, 1);
    assert.match(macs[0].message, /^no input states pods\[\*\]\.mac of 2000 pods; each derived \(win-bridge: the node's HNS MacPool \+ low 12 bits of the IP\), e\.g\. pods\[default\/p-0-0\]\.mac = [0-9a-f:]{17}, .*, and 1997 more$/);
    assert.match(bySource(c, 'nodes[*].mac')[0].message, /of 100 nodes; each derived \(Hyper-V prefix 00-15-5D \+ the InternalIP\)/);
  });

  it('they come last, after the problems, in the order the merge met them (deterministic)', () => {
    const text = bigCluster(3, 2);
    const a = parseClusterText('l.json', text).diagnostics;
    assert.deepEqual(parseClusterText('l.json', text).diagnostics, a);
    const first = a.findIndex((d) => d.code === 'config-assumed');
    assert.ok(a.slice(first).every((d) => d.code === 'config-assumed'));
  });

  it('the CLI shows them: rules, the text summary and the JSON summary', function () {
    this.timeout(120000);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'assumed-'));
    try {
      const cluster = path.join(dir, 'cluster.json');
      writeFileSync(cluster, bigCluster(2, 2));
      const rules = spawnSync(process.execPath, [CLI, 'rules', '--cluster', cluster], { encoding: 'utf8' });
      assert.equal(rules.status, 0, rules.stderr);
      assert.match(rules.stdout, /\nCONFIG DIAGNOSTICS\n[\s\S]*\n {2}config-assumed \[network\.plugin\]: no input states network\.plugin; using win-bridge/);
      const trace = path.join(ROOT, 'traces', '01-l2bridge', 'trace.pcapng');
      const report = path.join(dir, 'report.txt');
      const text = spawnSync(process.execPath, [CLI, 'replay', trace, '--cluster', cluster, '--report', report], { encoding: 'utf8' });
      assert.ok(text.status === 0 || text.status === 1, text.stderr);
      assert.match(text.stdout + text.stderr, /config-assumed \[pods\[\*\]\.mac\]: no input states pods\[\*\]\.mac of 4 pods/);
      assert.match(readFileSync(report, 'utf8'), /config-assumed \[proxy\]: no input states proxy; using enableDSR false/);
      const json = spawnSync(process.execPath, [CLI, 'replay', trace, '--cluster', cluster, '--summary', 'json'], { encoding: 'utf8' });
      const s = JSON.parse(json.stdout) as { diagnostics: { code: string; source: string; severity: string }[] };
      assert.ok(s.diagnostics.some((d) => d.code === 'config-assumed' && d.source === 'network.mode' && d.severity === 'info'), json.stdout.slice(0, 500));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

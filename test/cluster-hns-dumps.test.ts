/**
 * HNS dumps as a user gives them (issue 11, "what HNS actually programmed"): every text encoding PowerShell
 * writes, the Invoke-HNSRequest wrapper, PowerShell's table/list output and ConvertTo-Json's depth-2 cut
 * refused by name with the command to run, v1 policy lists and v2 load balancers read as what the node runs,
 * and the differences from kube-proxy's expectation as diagnostics naming both sides.
 * Fixtures: test/fixtures-cluster/hns/ (CONSTRUCTED from the hcsshim schema; README.md there says from what).
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InputError } from '../src/core/errors';
import { loadCluster } from '../src/cluster/load';
import { parseClusterTexts } from '../src/cluster/parse';
import type { Cluster } from '../src/cluster/model';
import { compileCluster, type CompiledDataplane } from '../src/vfp/compile';
import { resolveProfile } from '../src/vfp/profile';
import { reasonCode } from '../src/vfp/reasons';
import { vipKey } from '../src/vfp/objects';
import { tryParseIPv4 } from '../src/core/ip';

const ROOT = path.resolve(__dirname, '..', '..');
const HNS = path.join(ROOT, 'test', 'fixtures-cluster', 'hns');
const OVERLAY = path.join(ROOT, 'traces', '_clusters', 'overlay');
const S14 = path.join(ROOT, 'traces', '14-hns-dump-only');
const CLI = path.join(ROOT, 'dist', 'src', 'cli.js');

const hns = (f: string) => path.join(HNS, f);
const overlay = ['kubectl.yaml', 'cni.conf', 'net-conf.json'].map((f) => path.join(OVERLAY, f));

function compile(c: Cluster): CompiledDataplane {
  return compileCluster(c, { profile: resolveProfile(undefined), seed: 1, view: 'pod' });
}

function inputError(fn: () => unknown): InputError {
  try {
    fn();
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error('no InputError');
}

function diags(dp: CompiledDataplane, code: string): string[] {
  return dp.diagnostics.filter((d) => d.code === code).map((d) => `${d.source}: ${d.message}`);
}

describe('HNS dumps: text encodings and wrappers', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'vfp-hns-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const text = readFileSync(hns('endpoints-v1.json'), 'utf8');
  const encodings: [string, Buffer][] = [
    ['UTF-8', Buffer.from(text, 'utf8')],
    ['UTF-8 with BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')])],
    ['UTF-16LE with BOM (PowerShell 5.1 `>`)', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text.replace(/\n/g, '\r\n'), 'utf16le')])],
    ['UTF-16BE with BOM', Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()])],
    ['UTF-16LE without BOM', Buffer.from(text, 'utf16le')],
    ['UTF-16BE without BOM', Buffer.from(text, 'utf16le').swap16()],
  ];
  for (const [name, bytes] of encodings) {
    it(`reads Get-HnsEndpoint written as ${name}: the local pods with their MACs`, () => {
      const file = path.join(tmp, `ep-${name.replace(/\W+/g, '_')}.json`);
      writeFileSync(file, bytes);
      const c = loadCluster([...overlay, file]);
      assert.equal(c.pods.find((p) => p.ip === '10.244.1.5')?.mac, '0e:2a:0a:f4:01:05');
      assert.ok(c.diagnostics.some((d) => d.code === 'config-ignored' && /2 remote HNS endpoint/.test(d.message)));
    });
  }

  it('refuses a dump written as UTF-32 (Out-File -Encoding utf32) naming the file, offset 0 and the encoding', () => {
    const utf32le = Buffer.alloc(4 + text.length * 4);
    utf32le.set([0xff, 0xfe, 0, 0]);
    for (let i = 0; i < text.length; i++) utf32le.writeUInt32LE(text.charCodeAt(i), 4 + i * 4);
    const be = Buffer.from(utf32le);
    for (let i = 0; i < be.length; i += 4) be.set([utf32le[i + 3], utf32le[i + 2], utf32le[i + 1], utf32le[i]], i);
    for (const [end, bytes] of [['little', utf32le], ['big', be]] as const) {
      const file = path.join(tmp, `ep-utf32${end}.json`);
      writeFileSync(file, bytes);
      const e = inputError(() => loadCluster([...overlay, file]));
      assert.equal(e.file, file);
      assert.equal(e.offset, 0);
      assert.match(e.message, new RegExp(`is UTF-32 \\(${end}-endian byte-order mark\\), which is not read: save it as UTF-8 or UTF-16`));
    }
  });

  it('reads the {"Success":true,"Output":[...]} answer of Invoke-HNSRequest, and a single object as Output', () => {
    const c = loadCluster([...overlay, hns('invoke-hnsrequest-endpoints.json'), hns('policylists-v1.json')]);
    assert.equal(c.hnsLoadBalancers?.length, 4);
    assert.equal(c.hnsLoadBalancers?.[0].endpoints[0].ip, '10.244.1.6');
    const one = JSON.stringify({ Success: true, Output: JSON.parse(readFileSync(hns('policylists-v1.json'), 'utf8'))[0] });
    const texts = [...overlay, hns('endpoints-v1.json')].map((f) => ({ name: f, text: readFileSync(f, 'utf8') }));
    const c1 = parseClusterTexts([...texts, { name: 'one.json', text: one }]);
    assert.equal(c1.hnsLoadBalancers?.length, 1);
  });

  it('refuses a failed request ({"Success":false}) naming the file and field, with HNS error text', () => {
    const e = inputError(() => parseClusterTexts([{ name: 'fail.json', text: '{"Success":false,"Error":"Element not found.","Output":null}' }]));
    assert.equal(e.file, 'fail.json');
    assert.equal(e.fieldPath, 'Success');
    assert.match(e.message, /Element not found/);
  });
});

describe('HNS dumps: PowerShell output that is not JSON', () => {
  const cases: [string, RegExp, RegExp][] = [
    ['policylist-list-output.txt', /PowerShell's list output/, /Get-HnsPolicyList \| ConvertTo-Json -Depth 10/],
    ['network-table-output.txt', /PowerShell's table output/, /Get-HnsNetwork \| ConvertTo-Json -Depth 10/],
    ['endpoint-list-output.txt', /PowerShell's list output/, /Get-HnsEndpoint \| ConvertTo-Json -Depth 10/],
  ];
  for (const [file, what, command] of cases) {
    it(`${file}: refused at the byte offset of its first line, naming the command to run`, () => {
      const e = inputError(() => loadCluster([hns(file)]));
      assert.equal(e.file, hns(file));
      assert.equal(e.offset, 2, 'after the empty first line (CRLF)');
      assert.match(e.message, what);
      assert.match(e.message, command);
    });
  }

  it('hnsdiag list all (names and IDs only): refused naming hnsdiag and the three commands to run, also as UTF-16', () => {
    // before: "not valid YAML: Implicit keys need to be on a single line"
    const e = inputError(() => loadCluster([hns('hnsdiag-list-all.txt')]));
    assert.equal(e.file, hns('hnsdiag-list-all.txt'));
    assert.equal(e.offset, 0);
    assert.match(e.message, /this is hnsdiag's list output: it holds names and IDs only \(no address, MAC or policy\)/);
    assert.match(e.message, /Get-HnsNetwork \| ConvertTo-Json -Depth 10 > network\.json.*Get-HnsEndpoint.*Get-HnsPolicyList/);
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'vfp-hnsdiag-'));
    try {
      const file = path.join(tmp, 'hnsdiag.txt');
      const text = 'PS C:\\> hnsdiag.exe list all\r\n' + readFileSync(hns('hnsdiag-list-all.txt'), 'utf8');
      writeFileSync(file, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
      const e16 = inputError(() => loadCluster([file]));
      assert.equal(e16.offset, 'PS C:\\> hnsdiag.exe list all\r\n'.length, 'at the Networks: title, after the prompt line');
      assert.match(e16.message, /hnsdiag's list output/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("collectlogs.ps1's network.txt (a Select table, then the ConvertTo-Json dump appended): the JSON read as if alone, the table named as skipped", () => {
    // before: refused as "PowerShell's table output", though the file holds the whole dump after the table
    const rest = [path.join(S14, 'hns-endpoints.json'), path.join(S14, 'hns-loadbalancers.json')];
    const c = loadCluster([hns('collectlogs-network.txt'), ...rest]);
    const alone = loadCluster([path.join(S14, 'hns-network.json'), ...rest]);
    assert.deepEqual(c.nodes, alone.nodes);
    assert.deepEqual(c.network, alone.network);
    const skipped = c.diagnostics.filter((d) => d.code === 'hns-ps-table-skipped');
    assert.equal(skipped.length, 1);
    assert.equal(skipped[0].source, `${hns('collectlogs-network.txt')}:line 7`);
    assert.match(skipped[0].message, /lines 1-6: collectlogs\.ps1 writes a Select summary, then the ConvertTo-Json dump\) is skipped; the JSON from line 7 is read/);
    // an error in the JSON part names the file's own line, not the JSON's
    const text = readFileSync(hns('collectlogs-network.txt')).subarray(2).toString('utf16le').replace('"10.127.130.11"', '"10.127.130.311"');
    const e = inputError(() => parseClusterTexts([{ name: 'network.txt', text }]));
    assert.equal(e.fieldPath, 'ManagementIP');
    assert.match(e.message, /"10\.127\.130\.311" is not an IP address \(line 12, column/);
  });

  it('ConvertTo-Json at its default depth 2: refused at the field that holds "System.Object[]", saying -Depth 10', () => {
    const e = inputError(() => loadCluster([hns('policylists-depth2.json')]));
    assert.equal(e.fieldPath, '[0].Policies[0].VIPs');
    assert.match(e.message, /default depth \(2\)/);
    assert.match(e.message, /Get-HnsPolicyList \| ConvertTo-Json -Depth 10/);
  });

  it('leaves YAML with --- document separators and kubectl output alone', () => {
    const c = parseClusterTexts([{ name: 'multi.yaml', text: 'apiVersion: v1\nkind: Node\nmetadata: {name: w1, labels: {kubernetes.io/os: windows}}\nstatus: {addresses: [{type: InternalIP, address: 10.0.0.4}]}\n---\napiVersion: v1\nkind: Node\nmetadata: {name: w2}\nstatus: {addresses: [{type: InternalIP, address: 10.0.0.5}]}\n' }]);
    assert.deepEqual(c.nodes.map((n) => n.name), ['w1', 'w2']);
  });
});

describe('HNS dumps: bad load-balancer input names the file and the field', () => {
  const v1 = JSON.parse(readFileSync(hns('policylists-v1.json'), 'utf8')) as Record<string, any>[];
  const v2 = JSON.parse(readFileSync(hns('loadbalancers-v2.json'), 'utf8')) as Record<string, any>[];
  const bad = (mutate: (x: any[]) => void, src: any[]) => {
    const copy = JSON.parse(JSON.stringify(src)) as any[];
    mutate(copy);
    return inputError(() => parseClusterTexts([{ name: 'lb.json', text: JSON.stringify(copy, null, 2) }]));
  };
  const cases: [string, (x: any[]) => void, any[], string, RegExp][] = [
    ['v1 VIP that is no address', (x) => (x[0].Policies[0].VIPs = ['10.96.0.300']), v1, '[0].Policies[0].VIPs[0]', /not an IP address/],
    ['v1 reference that is no endpoint', (x) => (x[1].References[1] = '/networks/5e2837e0'), v1, '[1].References[1]', /\/endpoints\/<id>/],
    ['v1 ELB without Protocol', (x) => delete x[2].Policies[0].Protocol, v1, '[2].Policies[0].Protocol', /required/],
    ['v1 port out of range', (x) => (x[3].Policies[0].ExternalPort = 70000), v1, '[3].Policies[0].ExternalPort', /out of range/],
    ['v2 without PortMappings', (x) => delete x[1].PortMappings, v2, '[1].PortMappings', /required/],
    ['v2 Protocol as a word', (x) => (x[0].PortMappings[0].Protocol = 'TCP'), v2, '[0].PortMappings[0].Protocol', /expected an integer/],
    ['v2 FrontendVIPs entry', (x) => (x[0].FrontendVIPs = ['vip']), v2, '[0].FrontendVIPs[0]', /not an IP address/],
    ['v2 endpoint id that is empty', (x) => (x[0].HostComputeEndpoints = ['']), v2, '[0].HostComputeEndpoints[0]', /must not be empty/],
  ];
  for (const [name, mutate, src, field, why] of cases) {
    it(name, () => {
      const e = bad(mutate, src);
      assert.equal(e.file, 'lb.json');
      assert.equal(e.fieldPath, field);
      assert.match(e.message, why);
    });
  }

  it('the CLI exits 2 with the file and field, no stack trace', () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'vfp-hns-cli-'));
    try {
      const file = path.join(tmp, 'lbs.json');
      const copy = JSON.parse(JSON.stringify(v2));
      copy[0].PortMappings[0].InternalPort = -1;
      writeFileSync(file, JSON.stringify(copy));
      const r = spawnSync(process.execPath, [CLI, 'rules', '--cluster', file], { encoding: 'utf8' });
      assert.equal(r.status, 2);
      assert.match(r.stderr, /lbs\.json at \[0\]\.PortMappings\[0\]\.InternalPort: -1 is out of range/);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
      const t = spawnSync(process.execPath, [CLI, 'rules', '--cluster', hns('policylist-list-output.txt')], { encoding: 'utf8' });
      assert.equal(t.status, 2);
      assert.match(t.stderr, /policylist-list-output\.txt at byte offset 2: this is PowerShell's list output/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('HNS load balancers as what the node runs', () => {
  const drift = (...extra: string[]) => loadCluster([...overlay, hns('endpoints-v1.json'), hns('policylists-v1.json'), ...extra]);

  it('a load balancer kube-proxy would program but HNS lacks: hns-lb-missing with both sides, and its VIP drops lb-missing-in-hns', () => {
    const dp = compile(drift());
    const missing = diags(dp, 'hns-lb-missing');
    assert.equal(missing.length, 1);
    assert.match(missing[0], /kube-proxy would program kube-system\/kube-dns ClusterIP 10\.96\.0\.10:53\/UDP -> 53 \[10\.244\.0\.3\]/);
    assert.match(missing[0], /the HNS dump has no load balancer for it/);
    assert.match(missing[0], /kubernetes#110849/);
    const win1 = dp.nodes[dp.nodeByName.get('win-1')!];
    const no = win1.noLb.get(vipKey(17, tryParseIPv4('10.96.0.10'), 53));
    assert.equal(reasonCode(no?.reason ?? 0), 'lb-missing-in-hns');
    // win-2 has no dump: kube-proxy's load balancer stays
    const win2 = dp.nodes[dp.nodeByName.get('win-2')!];
    assert.ok(win2.lbByKey.has(vipKey(17, tryParseIPv4('10.96.0.10'), 53)));
  });

  it('a load balancer naming an endpoint no dump has (kubernetes#112836): hns-lb-stale naming the LB and the endpoint', () => {
    const dp = compile(drift());
    const stale = diags(dp, 'hns-lb-stale');
    assert.ok(stale.some((s) => /policylists-v1\.json:\[2\]\.Policies\[0\].*2b3c4d5e-6f7a-4b9c-8d1e-2f3a4b5c6d7e .*a1b2c3d4-5e6f-4071-8293-a4b5c6d7e8f9 that no dumped endpoint has.*#112836/.test(s)), stale.join('\n'));
    assert.ok(stale.some((s) => /HNS has hns\/3c4d5e6f-7a8b-4cad-9e2f-3a4b5c6d7e8f ClusterIP 10\.96\.0\.99:80\/TCP .* no Service given has.*none of its endpoints exists, so its traffic drops \(no-endpoints\)/.test(s)), stale.join('\n'));
    const win1 = dp.nodes[dp.nodeByName.get('win-1')!];
    assert.equal(reasonCode(win1.noLb.get(vipKey(6, tryParseIPv4('10.96.0.99'), 80))?.reason ?? 0), 'no-endpoints');
  });

  it('a stale endpoint reference is named once per HNS load balancer, not once per frontend', () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'vfp-hns-'));
    try {
      const lists = JSON.parse(readFileSync(hns('policylists-v1.json'), 'utf8')) as Record<string, any>[];
      lists[2].Policies.push({ ...lists[2].Policies[0], ExternalPort: 8443, InternalPort: 8443 });
      const file = path.join(tmp, 'pl.json');
      writeFileSync(file, JSON.stringify(lists));
      const dp = compile(loadCluster([...overlay, hns('endpoints-v1.json'), file]));
      assert.equal(diags(dp, 'hns-lb-stale').filter((s) => /HNS load balancer 2b3c4d5e-6f7a-4b9c-8d1e-2f3a4b5c6d7e on win-1 names endpoint/.test(s)).length, 1);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('a load balancer whose endpoints differ: hns-lb-differs with both lists, and the dump is what runs', () => {
    const dp = compile(drift());
    const d = diags(dp, 'hns-lb-differs');
    assert.equal(d.length, 1);
    assert.match(d[0], /endpoints: kube-proxy \[10\.244\.1\.6:8080, 10\.244\.2\.7:8080\], HNS \[10\.244\.1\.6:8080\]/);
    const win1 = dp.nodes[dp.nodeByName.get('win-1')!];
    const lb = win1.lbs[win1.lbByKey.get(vipKey(6, tryParseIPv4('10.96.0.20'), 80))!];
    assert.deepEqual(lb.backends.map((b) => b.ipText), ['10.244.1.6']);
    assert.equal(dp.services[lb.service], 'default/web');
    assert.match(lb.hostRule!.name, /^NAT_0f2e3d4c_10\.96\.0\.20_80_80_6$/);
  });

  it('DSR and SourceVIP that differ are named', () => {
    const v1 = JSON.parse(readFileSync(hns('policylists-v1.json'), 'utf8')) as any[];
    v1[1].Policies[0].IsDSR = true;
    v1[2].Policies[0].SourceVIP = '10.244.1.99';
    const texts = [...overlay, hns('endpoints-v1.json')].map((f) => ({ name: f, text: readFileSync(f, 'utf8') }));
    const dp = compile(parseClusterTexts([...texts, { name: 'pl.json', text: JSON.stringify(v1) }]));
    const d = diags(dp, 'hns-lb-differs').join('\n');
    assert.match(d, /default\/web NodePort 10\.127\.130\.11:30080\/TCP.*DSR: kube-proxy false, HNS true/);
    assert.match(d, /kube-dns ClusterIP 10\.96\.0\.10:53\/TCP.*SourceVIP: kube-proxy 10\.244\.1\.2, HNS 10\.244\.1\.99/);
  });

  it('`vfp-emu rules` lists the differences and the VIP without a load balancer', () => {
    const s15 = path.join(ROOT, 'traces', '15-hns-lb-drift');
    const files = [...overlay, path.join(s15, 'hns-endpoints.json'), path.join(s15, 'hns-policylists.json')];
    const r = spawnSync(process.execPath, [CLI, 'rules', '--node', 'win-1', ...files.flatMap((f) => ['--cluster', f])], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /VIPS WITHOUT A LOAD BALANCER\n(.*\n)*?.*10\.96\.0\.10:53\/UDP.*the HNS dump has none \[lb-missing-in-hns\]/);
    for (const code of ['hns-lb-missing', 'hns-lb-stale', 'hns-lb-differs']) assert.match(r.stdout, new RegExp(`^  ${code} \\[`, 'm'));
  });

  it('the same dump without Services: a node from the dump alone, nothing compared', () => {
    const c = loadCluster([path.join(S14, 'hns-network.json'), path.join(S14, 'hns-endpoints.json'), path.join(S14, 'hns-loadbalancers.json')]);
    assert.deepEqual(c.nodes.filter((n) => n.windows).map((n) => n.name), ['10.127.130.11']);
    const dp = compile(c);
    assert.equal(diags(dp, 'hns-lb-only').length, 1);
    assert.equal(diags(dp, 'hns-lb-missing').length + diags(dp, 'hns-lb-stale').length, 0);
    const n = dp.nodes[0];
    assert.deepEqual(n.lbs.map((l) => `${dp.services[l.service]} ${l.kind} ${l.vipText}:${l.extPort} ${l.dsr ? 'DSR' : ''} ${l.backends.map((b) => b.ipText).join(',')}`), [
      'hns/7d3a5b1c-9e2f-4a60-b1c2-d3e4f5a6b7c8 ClusterIP 10.96.0.20:80  10.244.1.6,10.244.2.7',
      'hns/8e4b6c2d-0f3a-4b71-c2d3-e4f5a6b7c8d9 NodePort 10.127.130.11:30080 DSR 10.244.1.6',
    ]);
  });

  it('load balancers with no endpoint dump: one warning; with no node to tell among several, one error and none used', () => {
    const c = loadCluster([path.join(S14, 'hns-network.json'), hns('loadbalancers-v2.json')]);
    assert.ok(c.diagnostics.some((d) => d.code === 'hns-lb-endpoints-unknown'));
    // the NodePort mapping's Flags 18 (LocalRoutedVIP | VipExternalIP) are read and not used: named, not silent
    const read = c.diagnostics.filter((d) => d.code === 'hns-lb-read');
    assert.equal(read.length, 1);
    assert.match(read[0].message, /flags read and not used: LocalRoutedVIP \(1\), VipExternalIP \(1\) \(whether the node itself reaches a VIP/);
    assert.ok(c.hnsLoadBalancers!.every((l) => l.endpoints.every((e) => e.ip === null)));
    const u = loadCluster([...overlay, hns('policylists-v1.json')]);
    assert.ok(u.diagnostics.some((d) => d.code === 'hns-lb-node-unknown' && /2 Windows nodes/.test(d.message)));
    assert.deepEqual(u.hnsLoadBalancers, []);
  });
});

describe('HNS dumps: an overlay network whose subnet is the cluster CIDR (older flannel)', () => {
  // Shape of flannel-io/flannel#833's request (`"Subnets":[{"AddressPrefix":"10.244.0.0/16",...}]`), with a
  // ManagementIP as Get-HnsNetwork shows it; before: exit 2, "node win-1 has podCIDR 10.244.0.0/16, which
  // overlaps 10.244.0.0/24 of node linux-1", blaming a dump that is right.
  const net = (extra: object) => JSON.stringify({ Name: 'vxlan0', Type: 'Overlay', Subnets: [{ AddressPrefix: '10.244.0.0/16', GatewayAddress: '10.244.0.1', Policies: [{ Type: 'VSID', VSID: 4096 }] }], ...extra });
  const texts = overlay.map((f) => ({ name: path.basename(f), text: readFileSync(f, 'utf8') }));

  it('with its ManagementIP: the node keeps its podCIDR, the subnet is named as the pod network, its other facts are read', () => {
    const c = parseClusterTexts([...texts, { name: 'net.json', text: net({ ManagementIP: '10.127.130.11', DrMacAddress: '00-15-5D-AA-BB-CC' }) }]);
    const win1 = c.nodes.find((n) => n.name === 'win-1')!;
    assert.equal(win1.podCIDR, '10.244.1.0/24');
    assert.equal(win1.drMac, '00:15:5d:aa:bb:cc', 'the DR MAC of the same dump is applied');
    const d = c.diagnostics.filter((x) => x.code === 'hns-network-subnet');
    assert.equal(d.length, 1);
    assert.equal(d[0].source, 'net.json:Subnets[0].AddressPrefix');
    assert.match(d[0].message, /^the HNS network's subnet 10\.244\.0\.0\/16 holds node win-1's podCIDR 10\.244\.1\.0\/24 \(kubectl\.yaml:items\[1\]\.spec\.podCIDR\): it is the cluster's pod network/);
  });

  it('without one: it names no node, and the warning says why (not "give the Node objects", which were given)', () => {
    const c = parseClusterTexts([...texts, { name: 'net.json', text: net({}) }]);
    assert.deepEqual(c.nodes.map((n) => n.podCIDR), ['10.244.0.0/24', '10.244.1.0/24', '10.244.2.0/24']);
    const d = c.diagnostics.filter((x) => x.code === 'config-unmatched');
    assert.equal(d.length, 1);
    assert.match(d[0].message, /^10\.244\.0\.0\/16 holds the podCIDRs of nodes linux-1, win-1, win-2: it is the cluster's pod network .*give the HNS network dump with its ManagementIP/);
  });
});

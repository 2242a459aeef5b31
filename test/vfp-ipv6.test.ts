/**
 * Issue 11, IPv6 Services: kube-proxy winkernel's IPv6 proxier (NewDualStackProxier) on a dual-stack
 * l2bridge network. What a user sees: the Service's clusterIPs / ipFamilies are read (and refused by field
 * when the API server could not have written them), the IPv6 ClusterIP load balancers are printed by
 * `rules` (IPv6 group, LoadBalancerFlagsIPv6), a pod's IPv6 packet to the IPv6 ClusterIP is DNATed to an
 * IPv6 backend with a right TCP/UDP checksum (tshark agrees) and its reply is translated back; on overlay
 * the IPv6 Service is a diagnostic and its packets are dropped (ipv6-overlay-unsupported). Before issue 11
 * IPv6 Services were silently ignored: the diagnostics here are what says so now.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadCluster, parseClusterText } from '../src/cluster';
import { throwsAt } from './cluster-helpers';
import { Batch } from '../src/core/batch';
import { decodeBatch } from '../src/decode/decoder';
import { verifyL4Checksum } from '../src/packet/checksum';
import { buildPacketLine } from '../src/scenario/packet-line';
import { compileCluster, type CompiledDataplane } from '../src/vfp/compile';
import { Dataplane } from '../src/vfp/engine';
import { formatRules } from '../src/vfp/rules-print';
import { resolveProfile } from '../src/vfp/profile';
import { VERDICT_NAMES, reasonCode, warningCodes } from '../src/vfp/reasons';
import { Results } from '../src/vfp/results';
import { formatIPv6 } from '../src/core/ip';

const repo = path.resolve(__dirname, '..', '..');
const T = (p: string) => path.join(repo, 'traces', p);
const L2 = ['_clusters/l2bridge/kubectl.json', '_clusters/l2bridge/cni.conf', '_clusters/l2bridge/net-conf.json', '20-dualstack/dualstack.yaml'].map(T);
const OVERLAY = ['_clusters/overlay/kubectl.yaml', '_clusters/overlay/cni.conf', '_clusters/overlay/net-conf.json'].map(T);

function compile(files: string[]): CompiledDataplane {
  return compileCluster(loadCluster(files), { profile: resolveProfile(null), seed: 1, view: 'pod' });
}

interface Out {
  verdict: string;
  reason: string | null;
  service: string | null;
  warnings: string[];
  src: string;
  dst: string;
  sport: number;
  dport: number;
  checksumOk: boolean;
}

/** Runs the packets (one-line notation) through one Dataplane in order, as replay does. */
function run(c: CompiledDataplane, lines: string[]): Out[] {
  const dp = new Dataplane(c);
  const b = new Batch({ capacity: 16, arenaBytes: 1 << 16 });
  const r = new Results(b.capacity);
  const out: Out[] = [];
  for (const line of lines) {
    const frame = buildPacketLine(line);
    b.reset(1);
    const i = b.alloc(frame.length);
    b.arena.set(frame, b.off[i]);
    b.wirelen[i] = frame.length;
    b.linktype[i] = 1;
    b.ts[i] = 1767225600;
    decodeBatch(b);
    dp.process(b, r);
    const a = b.arena;
    const l3 = b.off[i] + b.l3Off[i];
    const l4 = b.off[i] + b.l4Off[i];
    out.push({
      verdict: VERDICT_NAMES[r.verdict[i]],
      reason: reasonCode(r.reason[i]),
      service: dp.serviceName(r.service[i]),
      warnings: warningCodes(r.warnings[i]),
      src: formatIPv6(a.subarray(l3 + 8, l3 + 24)),
      dst: formatIPv6(a.subarray(l3 + 24, l3 + 40)),
      sport: (a[l4] << 8) | a[l4 + 1],
      dport: (a[l4 + 2] << 8) | a[l4 + 3],
      checksumOk: verifyL4Checksum(a, 6, l3, l4, b.off[i] + b.caplen[i], b.proto[i]),
    });
  }
  return out;
}

const SVC = (spec: string) => `apiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: default}\nspec:\n  ports: [{port: 80}]\n${spec}`;

describe('IPv6 Services (dual-stack l2bridge: the IPv6 proxier)', () => {
  it('reads clusterIPs and ipFamilies; a single-stack IPv6 Service keeps its IPv6 clusterIP', () => {
    const cl = loadCluster(L2);
    const api = cl.services.find((s) => s.name === 'api')!;
    assert.deepEqual(api.clusterIPs, ['10.96.0.60', 'fd00:10:96::60']);
    assert.deepEqual(api.ipFamilies, ['IPv4', 'IPv6']);
    assert.equal(api.clusterIP, '10.96.0.60');
    const edge = cl.services.find((s) => s.name === 'api-edge')!;
    assert.equal(edge.clusterIP, 'fd00:10:96::61');
    assert.deepEqual(api.endpoints.map((e) => e.ip).sort(), ['10.244.1.16', '10.244.2.17', 'fd00:10:244:1::16', 'fd00:10:244:2::17']);
  });

  it('refuses clusterIPs the API server could not have written, naming the field', () => {
    throwsAt(() => parseClusterText('s.yaml', SVC("  clusterIP: 10.96.0.60\n  clusterIPs: ['fd00::60', 10.96.0.60]\n")), 's.yaml', 'spec.clusterIPs[0]', /clusterIPs\[0\] is fd00::60 but clusterIP is 10\.96\.0\.60/);
    throwsAt(() => parseClusterText('s.yaml', SVC('  clusterIPs: [10.96.0.60, 10.96.0.61]\n')), 's.yaml', 'spec.clusterIPs[1]', /same family/);
    throwsAt(() => parseClusterText('s.yaml', SVC("  ipFamilies: [IPv4, IPv6]\n  clusterIPs: [10.96.0.60, 10.96.0.61]\n")), 's.yaml', 'spec.clusterIPs[1]', /same family|not an IPv6 address/);
    throwsAt(() => parseClusterText('s.yaml', SVC("  ipFamilies: [IPv6]\n  clusterIPs: [10.96.0.60]\n")), 's.yaml', 'spec.clusterIPs[0]', /10\.96\.0\.60 is not an IPv6 address, and ipFamilies\[0\] is IPv6/);
    throwsAt(() => parseClusterText('s.yaml', SVC('  ipFamilies: [IPv6, IPv7]\n')), 's.yaml', 'spec.ipFamilies[1]', /IPv7/);
    const two = `apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Service, metadata: {name: a}, spec: {clusterIPs: [10.96.0.1, 'fd00::1'], ports: [{port: 80}]}}\n- {apiVersion: v1, kind: Service, metadata: {name: b}, spec: {clusterIPs: [10.96.0.2, 'fd00::1'], ports: [{port: 80}]}}\n`;
    throwsAt(() => parseClusterText('l.yaml', two), 'l.yaml', 'items[1].spec.clusterIPs', /Service default\/b has ClusterIP fd00::1, which Service default\/a \(l\.yaml:items\[0\]\.spec\.clusterIPs/);
    const podV6 = `apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Node, metadata: {name: win-1, labels: {kubernetes.io/os: windows}}, spec: {podCIDR: 10.244.1.0/24}, status: {addresses: [{type: InternalIP, address: 10.127.130.11}]}}\n- {apiVersion: v1, kind: Pod, metadata: {name: p, namespace: default}, spec: {nodeName: win-1}, status: {phase: Running, podIP: 10.244.1.5, podIPs: [{ip: 10.244.1.5}, {ip: 'fd00::5'}]}}\n- {apiVersion: v1, kind: Service, metadata: {name: s}, spec: {clusterIPs: [10.96.0.1, 'fd00::5'], ports: [{port: 80}]}}\n`;
    throwsAt(() => parseClusterText('p.yaml', podV6), 'p.yaml', 'items[2].spec.clusterIPs', /Service default\/s has ClusterIP fd00::5, which pod default\/p/);
  });

  it('compiles the IPv6 ClusterIP LBs per node and rules prints them in an IPv6 group', () => {
    const c = compile(L2);
    const w1 = c.nodes.find((n) => n.name === 'win-1')!;
    assert.deepEqual(
      w1.v6.lbs.map((lb) => `${lb.vipText} ${lb.extPort}->${lb.intPort}/${lb.proto}: ${lb.backends.map((x) => x.ipText).join(',')}`),
      ['fd00:10:96::60 80->8080/6: fd00:10:244:2::17,fd00:10:244:1::16', 'fd00:10:96::60 53->5353/17: fd00:10:244:2::17,fd00:10:244:1::16'],
    );
    const text = formatRules(c, 'win-1');
    assert.match(text, /default\/api ClusterIP \[fd00:10:96::60\]:80 -> 8080 tcp: 2 backend\(s\), IPv6/);
    assert.match(text, /GROUP : SLB_GROUP_LB_IPv6_OUT\n.*Type : IPv6/);
    assert.match(text, /Destination IP : fd00:10:96::60\/128/);
    assert.match(text, /default\/api-edge ClusterIP \[fd00:10:96::61\]:80\/TCP: no usable IPv6 endpoint \[no-endpoints\]/);
    const d = c.diagnostics.filter((x) => x.code === 'ipv6-lb-not-emulated');
    assert.equal(d.length, 1);
    // the single-stack IPv6 Service with no endpoint is in the summary, as an IPv4 one is (not only in rules)
    const none = c.diagnostics.filter((x) => x.code === 'no-endpoints');
    assert.deepEqual(none.map((x) => x.source), ['service default/api-edge']);
    assert.match(none[0].message, /win-1 ClusterIP \[fd00:10:96::61\]:80\/TCP \(no usable IPv6 endpoint\)/);
    assert.match(d[0].message, /default\/api-edge: kube-proxy's IPv6 proxier programs NodePort/);
    // the IPv4 proxier skips the single-stack IPv6 Service whole: no IPv4 NodePort record for it
    assert.doesNotMatch(text, /default\/api-edge NodePort 10\./);
  });

  it('an IPv6-primary dual-stack Service: the IPv4 proxier takes clusterIPs[1], the IPv6 one clusterIPs[0]', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-ipv6-'));
    const svc = path.join(dir, 'svc.yaml');
    fs.writeFileSync(
      svc,
      `apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: web6, namespace: default}\n  spec:\n    ipFamilies: [IPv6, IPv4]\n    clusterIP: 'fd00:10:96::90'\n    clusterIPs: ['fd00:10:96::90', 10.96.0.90]\n    ports: [{name: http, port: 80, targetPort: 8080}]\n- apiVersion: discovery.k8s.io/v1\n  kind: EndpointSlice\n  metadata: {name: web6-v4, namespace: default, labels: {kubernetes.io/service-name: web6}}\n  addressType: IPv4\n  ports: [{name: http, port: 8080}]\n  endpoints: [{addresses: [10.244.1.16], nodeName: win-1}]\n- apiVersion: discovery.k8s.io/v1\n  kind: EndpointSlice\n  metadata: {name: web6-v6, namespace: default, labels: {kubernetes.io/service-name: web6}}\n  addressType: IPv6\n  ports: [{name: http, port: 8080}]\n  endpoints: [{addresses: ['fd00:10:244:1::16'], nodeName: win-1}]\n`,
    );
    const c = compile([...L2, svc]);
    fs.rmSync(dir, { recursive: true, force: true });
    const w1 = c.nodes.find((n) => n.name === 'win-1')!;
    const sid = c.services.indexOf('default/web6');
    assert.deepEqual(w1.lbs.filter((lb) => lb.service === sid).map((lb) => `${lb.kind} ${lb.vipText}`), ['ClusterIP 10.96.0.90']);
    assert.deepEqual(w1.v6.lbs.filter((lb) => lb.service === sid).map((lb) => `${lb.vipText} -> ${lb.backends[0].ipText}`), ['fd00:10:96::90 -> fd00:10:244:1::16']);
  });

  it('DNATs a pod\'s IPv6 packet to an IPv6 backend with a right checksum and translates the reply back', () => {
    const c = compile(L2);
    const [syn, reply, udp, other] = run(c, [
      'tcp [fd00:10:244:1::15]:43000 > [fd00:10:96::60]:80 S',
      'tcp [fd00:10:244:2::17]:8080 > [fd00:10:244:1::15]:43000 SA',
      'udp [fd00:10:244:1::15]:53001 > [fd00:10:96::60]:53',
      'tcp [fd00:10:244:2::17]:8080 > [fd00:10:244:1::15]:43004 SA',
    ]);
    assert.deepEqual([syn.verdict, syn.service, syn.dst, syn.dport, syn.checksumOk], ['delivered', 'default/api', 'fd00:10:244:2::17', 8080, true]);
    assert.equal(syn.src, 'fd00:10:244:1::15');
    assert.deepEqual([reply.verdict, reply.src, reply.sport, reply.checksumOk], ['delivered', 'fd00:10:96::60', 80, true]);
    assert.deepEqual([udp.verdict, udp.dport, udp.checksumOk], ['delivered', 5353, true]);
    assert.ok(['fd00:10:244:2::17', 'fd00:10:244:1::16'].includes(udp.dst));
    // api-0 did not serve client port 43004 (the LB's hash sends that tuple to api-1): left as it is
    assert.deepEqual([other.src, other.sport, other.service], ['fd00:10:244:2::17', 8080, null]);
  });

  it('tshark finds the rewritten IPv6 TCP and UDP checksums good', function () {
    const tshark = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
    if (tshark.status !== 0) this.skip();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-ipv6-'));
    const out = path.join(dir, 'out.pcapng');
    const cli = path.join(repo, 'dist', 'src', 'cli.js');
    const r = spawnSync(process.execPath, [cli, 'replay', T('20-dualstack/trace.pcapng'), ...L2.flatMap((f) => ['--cluster', f]), '--out', out, '--verdicts', path.join(dir, 'v.jsonl'), '--workers', '1'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const t = spawnSync('tshark', ['-r', out, '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-Y', 'ipv6 && (tcp || udp)', '-T', 'fields', '-e', 'ipv6.dst', '-e', 'tcp.checksum.status', '-e', 'udp.checksum.status'], { encoding: 'utf8' });
    assert.equal(t.status, 0, t.stderr);
    const rows = t.stdout.trim().split('\n').map((l) => l.split('\t'));
    assert.ok(rows.length >= 6, t.stdout);
    for (const [dst, tcp, udp] of rows) assert.equal(tcp || udp, '1', `${dst}: checksum status ${tcp}${udp} (1 = good)`);
    assert.ok(rows.some(([dst]) => dst === 'fd00:10:244:2::17'), 'a packet DNATed to an IPv6 backend left');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('overlay: the IPv6 Service is not programmed (a diagnostic) and its packets are dropped', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-ipv6-'));
    const svc = path.join(dir, 'svc.yaml');
    fs.writeFileSync(
      svc,
      `apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: api, namespace: default}\n  spec:\n    ipFamilies: [IPv4, IPv6]\n    clusterIPs: [10.96.0.70, 'fd00:10:96::70']\n    ports: [{name: http, port: 80, targetPort: 8080}]\n- apiVersion: discovery.k8s.io/v1\n  kind: EndpointSlice\n  metadata: {name: api-v6, namespace: default, labels: {kubernetes.io/service-name: api}}\n  addressType: IPv6\n  ports: [{name: http, port: 8080}]\n  endpoints: [{addresses: ['fd00:10:244:2::7'], nodeName: win-2}]\n`,
    );
    const c = compile([...OVERLAY, svc]);
    fs.rmSync(dir, { recursive: true, force: true });
    assert.ok(c.nodes.every((n) => n.v6.lbs.length === 0 && n.v6.group === null));
    const d = c.diagnostics.filter((x) => x.code === 'ipv6-overlay-unsupported');
    assert.equal(d.length, 1);
    assert.match(d[0].message, /service default\/api: its IPv6 address\(es\) fd00:10:96::70 get no load balancer/);
    const [p] = run(c, ['tcp [fd00:10:244:1::5]:43000 > [fd00:10:96::70]:80 S']);
    assert.deepEqual([p.verdict, p.reason, p.dst], ['dropped', 'ipv6-overlay-unsupported', 'fd00:10:96::70']);
  });

  it('l2bridge: IPv6 externalIPs and ingress IPs are named, not silently dropped', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-ipv6-'));
    const svc = path.join(dir, 'svc.yaml');
    fs.writeFileSync(
      svc,
      `apiVersion: v1\nkind: Service\nmetadata: {name: edge, namespace: default}\nspec:\n  type: LoadBalancer\n  ipFamilies: [IPv6]\n  clusterIPs: ['fd00:10:96::80']\n  externalIPs: ['2001:db8::80']\n  ports: [{port: 80, nodePort: 30680}]\nstatus: {loadBalancer: {ingress: [{ip: '2001:db8::81'}]}}\n`,
    );
    const c = compile([...L2.slice(0, 3), svc]);
    fs.rmSync(dir, { recursive: true, force: true });
    const d = c.diagnostics.filter((x) => x.code === 'ipv6-lb-not-emulated');
    assert.equal(d.length, 1);
    assert.match(d[0].message, /externalIP 2001:db8::80, ingress 2001:db8::81, NodePort/);
  });

  it('sessionAffinity ClientIP on IPv6: one backend per client, and the ignored timeout is a warning', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-ipv6-'));
    const svc = path.join(dir, 'svc.yaml');
    fs.writeFileSync(
      svc,
      `apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: sticky, namespace: default}\n  spec:\n    ipFamilies: [IPv6]\n    clusterIPs: ['fd00:10:96::95']\n    sessionAffinity: ClientIP\n    sessionAffinityConfig: {clientIP: {timeoutSeconds: 600}}\n    ports: [{name: http, port: 80, targetPort: 8080}]\n- apiVersion: discovery.k8s.io/v1\n  kind: EndpointSlice\n  metadata: {name: sticky-v6, namespace: default, labels: {kubernetes.io/service-name: sticky}}\n  addressType: IPv6\n  ports: [{name: http, port: 8080}]\n  endpoints: [{addresses: ['fd00:10:244:1::16'], nodeName: win-1}, {addresses: ['fd00:10:244:2::17'], nodeName: win-2}]\n`,
    );
    const c = compile([...L2.slice(0, 3), L2[3], svc]);
    fs.rmSync(dir, { recursive: true, force: true });
    const lines = [43000, 43001, 43002, 43003, 43004, 43005, 43006, 43007].map((p) => `tcp [fd00:10:244:1::15]:${p} > [fd00:10:96::95]:80 S`);
    const outs = run(c, lines);
    assert.equal(new Set(outs.map((o) => o.dst)).size, 1, outs.map((o) => o.dst).join(' '));
    for (const o of outs) assert.deepEqual([o.service, o.warnings], ['default/sticky', ['affinity-timeout-ignored']]);
  });

  it('internalTrafficPolicy Local on IPv6: only the node\'s own endpoints, none -> no-local-endpoint', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-ipv6-'));
    const svc = path.join(dir, 'svc.yaml');
    fs.writeFileSync(
      svc,
      `apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: local6, namespace: default}\n  spec:\n    ipFamilies: [IPv6]\n    clusterIPs: ['fd00:10:96::96']\n    internalTrafficPolicy: Local\n    ports: [{name: http, port: 80, targetPort: 8080}]\n- apiVersion: discovery.k8s.io/v1\n  kind: EndpointSlice\n  metadata: {name: local6-v6, namespace: default, labels: {kubernetes.io/service-name: local6}}\n  addressType: IPv6\n  ports: [{name: http, port: 8080}]\n  endpoints: [{addresses: ['fd00:10:244:2::17'], nodeName: win-2}]\n`,
    );
    const c = compile([...L2, svc]);
    fs.rmSync(dir, { recursive: true, force: true });
    const [fromWin1, fromWin2] = run(c, ['tcp [fd00:10:244:1::15]:43000 > [fd00:10:96::96]:80 S', 'tcp [fd00:10:244:2::17]:43000 > [fd00:10:96::96]:80 S']);
    assert.deepEqual([fromWin1.verdict, fromWin1.reason], ['dropped', 'no-local-endpoint']);
    assert.deepEqual([fromWin2.verdict, fromWin2.service, fromWin2.dst, fromWin2.dport], ['delivered', 'default/local6', 'fd00:10:244:2::17', 8080]);
  });

  it('terminating IPv6 endpoints are taken as the IPv4 proxier takes them (compile.ts selectEndpoints)', () => {
    // all endpoints terminating (serving), no ingress IP: winkernel programs no load balancer for either family
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-ipv6-'));
    const svc = path.join(dir, 'svc.yaml');
    const slice = (fam: string, ip: string) => `- apiVersion: discovery.k8s.io/v1\n  kind: EndpointSlice\n  metadata: {name: term-${fam.toLowerCase()}, namespace: default, labels: {kubernetes.io/service-name: term}}\n  addressType: ${fam}\n  ports: [{name: http, port: 8080}]\n  endpoints: [{addresses: ['${ip}'], nodeName: win-2, conditions: {ready: false, serving: true, terminating: true}}]\n`;
    fs.writeFileSync(
      svc,
      `apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: term, namespace: default}\n  spec:\n    ipFamilies: [IPv4, IPv6]\n    clusterIPs: [10.96.0.97, 'fd00:10:96::97']\n    ports: [{name: http, port: 80, targetPort: 8080}]\n${slice('IPv4', '10.244.2.17')}${slice('IPv6', 'fd00:10:244:2::17')}`,
    );
    const c = compile([...L2, svc]);
    fs.rmSync(dir, { recursive: true, force: true });
    const w1 = c.nodes.find((n) => n.name === 'win-1')!;
    const sid = c.services.indexOf('default/term');
    assert.deepEqual(w1.lbs.filter((lb) => lb.service === sid).length, 0, 'IPv4: no LB for an all-terminating Service without ingress IPs');
    const [to6] = run(c, ['tcp [fd00:10:244:1::15]:43000 > [fd00:10:96::97]:80 S']);
    assert.deepEqual([to6.verdict, to6.reason], ['dropped', 'no-endpoints']);
  });

  it('the destination limit counts the IPv6 LB as built: internalTrafficPolicy Local holds only local endpoints', () => {
    // 70 endpoints, 1 on win-1: the IPv4 compiler counts the built LB (1 destination); IPv6 must too
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-ipv6-'));
    const svc = path.join(dir, 'svc.yaml');
    const eps = Array.from({ length: 70 }, (_, n) => (n === 0 ? `{addresses: ['fd00:10:244:1::16'], nodeName: win-1}` : `{addresses: ['fd00:10:244:9::${(n + 1).toString(16)}'], nodeName: win-9}`));
    fs.writeFileSync(
      svc,
      `apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: many6, namespace: default}\n  spec:\n    ipFamilies: [IPv6]\n    clusterIPs: ['fd00:10:96::98']\n    internalTrafficPolicy: Local\n    ports: [{name: http, port: 80, targetPort: 8080}]\n- apiVersion: discovery.k8s.io/v1\n  kind: EndpointSlice\n  metadata: {name: many6-v6, namespace: default, labels: {kubernetes.io/service-name: many6}}\n  addressType: IPv6\n  ports: [{name: http, port: 8080}]\n  endpoints: [${eps.join(', ')}]\n`,
    );
    const c = compile([...L2, svc]);
    fs.rmSync(dir, { recursive: true, force: true });
    // the nodes without a local endpoint have no LB (no-local-endpoint): no limit is passed, no error
    assert.equal(c.diagnostics.filter((x) => x.code === 'lb-too-many-destinations').length, 0);
    const [fromWin1] = run(c, ['tcp [fd00:10:244:1::15]:43000 > [fd00:10:96::98]:80 S']);
    assert.deepEqual([fromWin1.verdict, fromWin1.reason, fromWin1.dst], ['delivered', null, 'fd00:10:244:1::16']);
  });

  it('an IPv6 LB over the destination limit is the summary error lb-too-many-destinations, as for IPv4', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-ipv6-'));
    const svc = path.join(dir, 'svc.yaml');
    const eps = Array.from({ length: 70 }, (_, n) => `{addresses: ['fd00:10:244:9::${(n + 1).toString(16)}'], nodeName: win-9}`);
    fs.writeFileSync(
      svc,
      `apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: big6, namespace: default}\n  spec:\n    ipFamilies: [IPv6]\n    clusterIPs: ['fd00:10:96::99']\n    ports: [{name: http, port: 80, targetPort: 8080}]\n- apiVersion: discovery.k8s.io/v1\n  kind: EndpointSlice\n  metadata: {name: big6-v6, namespace: default, labels: {kubernetes.io/service-name: big6}}\n  addressType: IPv6\n  ports: [{name: http, port: 8080}]\n  endpoints: [${eps.join(', ')}]\n`,
    );
    const c = compile([...L2, svc]);
    fs.rmSync(dir, { recursive: true, force: true });
    const d = c.diagnostics.filter((x) => x.code === 'lb-too-many-destinations');
    assert.deepEqual(d.map((x) => [x.source, x.severity]), [['service default/big6', 'error']]);
    assert.match(d[0].message, /2 load balancers of it would hold more than the 64 destinations .*win-1 ClusterIP \[fd00:10:96::99\]:80\/TCP \(70\)/);
  });

  it('a VIP with an LB on one port and none on another: the other port drops with its own reason', () => {
    // port dns names a targetPort no endpoint has: no LB for it (no-endpoints), as IPv4 says, not no-service-port
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-ipv6-'));
    const svc = path.join(dir, 'svc.yaml');
    fs.writeFileSync(
      svc,
      `apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: half6, namespace: default}\n  spec:\n    ipFamilies: [IPv6]\n    clusterIPs: ['fd00:10:96::9a']\n    ports: [{name: http, port: 80, targetPort: 8080}, {name: dns, port: 53, protocol: UDP, targetPort: dns}]\n- apiVersion: discovery.k8s.io/v1\n  kind: EndpointSlice\n  metadata: {name: half6-v6, namespace: default, labels: {kubernetes.io/service-name: half6}}\n  addressType: IPv6\n  ports: [{name: http, port: 8080}]\n  endpoints: [{addresses: ['fd00:10:244:2::17'], nodeName: win-2}]\n`,
    );
    const c = compile([...L2, svc]);
    fs.rmSync(dir, { recursive: true, force: true });
    const [http, dns, other] = run(c, ['tcp [fd00:10:244:1::15]:43000 > [fd00:10:96::9a]:80 S', 'udp [fd00:10:244:1::15]:53001 > [fd00:10:96::9a]:53', 'tcp [fd00:10:244:1::15]:43001 > [fd00:10:96::9a]:81 S']);
    assert.deepEqual([http.verdict, http.dst], ['delivered', 'fd00:10:244:2::17']);
    assert.deepEqual([dns.verdict, dns.reason], ['dropped', 'no-endpoints']);
    assert.deepEqual([other.verdict, other.reason], ['dropped', 'no-service-port']);
  });

  it('an IPv6 externalIP of an IPv4-only Service: neither proxier programs it, and a note says so', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-ipv6-'));
    const svc = path.join(dir, 'svc.yaml');
    fs.writeFileSync(svc, `apiVersion: v1\nkind: Service\nmetadata: {name: v4only, namespace: default}\nspec:\n  clusterIP: 10.96.0.81\n  externalIPs: ['2001:db8::82']\n  ports: [{port: 80}]\n`);
    const c = compile([...L2.slice(0, 3), svc]);
    fs.rmSync(dir, { recursive: true, force: true });
    assert.equal(c.diagnostics.filter((x) => x.code === 'ipv6-lb-not-emulated').length, 0);
    assert.ok(c.diagnostics.some((x) => x.code === 'config-ignored' && /v4only: IPv6 address\(es\) 2001:db8::82 of a Service without an IPv6 cluster IP/.test(x.message)));
  });
});

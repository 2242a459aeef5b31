/**
 * Merging several inputs, every derivation of a missing fact (as HNS and the plugins derive it), and every
 * diagnostic the cluster config implies.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { clusterDiagnostics, loadCluster, parseClusterText, parseClusterTexts, refreshDiagnostics } from '../src/cluster';
import type { Cluster } from '../src/cluster/model';

const FIX = path.resolve(__dirname, '..', '..', 'test', 'fixtures-cluster');
const fx = (name: string) => path.join(FIX, name);

/** A minimal scenario with the given extra YAML (indented at top level). */
function scenario(body: string): string {
  return `apiVersion: vfp-emu/v1\nkind: Scenario\n${body}`;
}
const diag = (c: Cluster, code: string) => c.diagnostics.filter((d) => d.code === code);
const derivedFor = (c: Cluster, prefix: string) => c.derived.filter((d) => d.startsWith(prefix));

const TWO_NODES = `network: {mode: overlay, plugin: flannel, clusterCIDR: 10.244.0.0/16, serviceCIDR: 10.96.0.0/12}
nodes:
- {name: win-1, ip: 10.127.130.11, podCIDR: 10.244.1.0/24}
- {name: win-2, ip: 10.127.130.12, podCIDR: 10.244.3.0/24}
`;

describe('cluster: merging several inputs', () => {
  it('later files add objects; a different scalar from a later file wins with a config-override diagnostic', () => {
    const c = parseClusterTexts([
      { name: 'a.yaml', text: scenario(`network: {mode: overlay, vni: 4096}\nnodes: [{name: win-1, ip: 10.0.0.11, podCIDR: 10.244.1.0/24}]\n`) },
      { name: 'b.yaml', text: scenario(`network: {vni: 4097}\nnodes: [{name: win-2, ip: 10.0.0.12, podCIDR: 10.244.2.0/24}]\n`) },
    ]);
    assert.deepEqual(c.nodes.map((n) => n.name), ['win-1', 'win-2']);
    assert.equal(c.network.vni, 4097);
    const o = diag(c, 'config-override');
    assert.equal(o.length, 1);
    assert.match(o[0].message, /network\.vni: b\.yaml:network\.vni sets 4097, replacing 4096 from a\.yaml:network\.vni \(the later file wins\)/);
    assert.equal(o[0].source, 'b.yaml:network.vni');
    assert.deepEqual(c.sources, ['a.yaml', 'b.yaml']);
  });

  it('the same object from two files merges field by field', () => {
    const c = parseClusterTexts([
      { name: 'k.yaml', text: 'apiVersion: v1\nkind: Node\nmetadata: {name: win-1, labels: {kubernetes.io/os: windows}}\nstatus: {addresses: [{type: InternalIP, address: 10.0.0.11}]}\n' },
      { name: 's.yaml', text: scenario('nodes: [{name: win-1, ip: 10.0.0.11, podCIDR: 10.244.1.0/24, macSpoofing: false}]\n') },
    ]);
    assert.equal(c.nodes.length, 1);
    assert.equal(c.nodes[0].podCIDR, '10.244.1.0/24');
    assert.equal(c.nodes[0].macSpoofing, false);
    assert.equal(diag(c, 'config-override').length, 0, 'equal values are no override');
  });

  it("a format's default for a missing key never overrides an explicit value, and says nothing", () => {
    const c = loadCluster([fx('sdn-overlay-cni.conf'), fx('kube-flannel-net-conf.json')]);
    assert.equal(c.network.name, 'vxlan0', 'the CNI name, not flannel.4096');
    assert.equal(diag(c, 'config-override').length, 0);
  });

  it('the flannel CNI overwrites the delegate ipMasq with FLANNEL_IPMASQ, and says so', () => {
    const cni = '{"cniVersion":"0.2.0","name":"vxlan0","type":"flannel","delegate":{"type":"win-overlay","ipMasq":true}}';
    const c = parseClusterTexts([
      { name: 'cni.conf', text: cni },
      { name: 'subnet.env', text: '# node: win-1\nFLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n' },
      { name: 's.yaml', text: scenario('nodes: [{name: win-1, ip: 10.0.0.11}]\n') },
    ]);
    assert.equal(c.network.ipMasq, false);
    assert.ok(c.diagnostics.some((d) => d.code === 'config-override' && /replaces the delegate's ipMasq true/.test(d.message)));
    assert.equal(c.nodes[0].podCIDR, '10.244.1.0/24');
  });

  it('is deterministic: the same inputs give the same model', () => {
    const files = ['kubectl-list.json', 'sdn-overlay-cni.conf', 'kube-flannel-net-conf.json', 'kube-proxy-config.yaml'].map(fx);
    assert.equal(JSON.stringify(loadCluster(files)), JSON.stringify(loadCluster(files)));
  });
});

describe('cluster: derived facts', () => {
  const c = parseClusterText('s.yaml', scenario(`${TWO_NODES}pods:
- {name: a, ip: 10.244.3.7, node: win-2}
- {name: kube-system/b, ip: 10.244.3.2, node: win-2}
`));

  it('node MAC: Hyper-V prefix 00-15-5D + the last three octets of the node IP', () => {
    assert.equal(c.nodes[0].mac, '00:15:5d:7f:82:0b');
    assert.ok(c.derived.includes('nodes[win-1].mac <- 00:15:5d:7f:82:0b (Hyper-V prefix 00-15-5D + InternalIP 10.127.130.11)'));
  });

  it('DR MAC on overlay: derived when no VtepMAC or RemoteSubnetRoute gives it, distinct per node', () => {
    const [a, b] = c.nodes.map((n) => n.drMac);
    assert.match(a, /^00:15:5d:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$/);
    assert.notEqual(a, b);
    assert.equal(derivedFor(c, 'nodes[win-1].drMac').length, 1);
  });

  it('provider address = InternalIP', () => {
    assert.deepEqual(c.nodes.map((n) => n.providerAddress), ['10.127.130.11', '10.127.130.12']);
  });

  it('win-overlay endpoint MAC: 10.244.3.7 -> 0e:2a:0a:f4:03:07', () => {
    assert.equal(c.pods[0].mac, '0e:2a:0a:f4:03:07');
    assert.ok(c.derived.some((d) => d.startsWith('pods[default/a].mac <- 0e:2a:0a:f4:03:07 (win-overlay')));
  });

  it('a custom endpointMacPrefix is used', () => {
    const k = parseClusterText('s.yaml', scenario(`network: {mode: overlay, endpointMacPrefix: 0E-2B}\nnodes: [{name: w, ip: 10.0.0.1, podCIDR: 10.244.3.0/24}]\npods: [{name: a, ip: 10.244.3.7, node: w}]\n`));
    assert.equal(k.pods[0].mac, '0e:2b:0a:f4:03:07');
  });

  it('win-bridge endpoint MAC comes from the node HNS MAC pool (00-15-5D-...)', () => {
    const k = parseClusterText('s.yaml', scenario(`network: {mode: l2bridge}\nnodes: [{name: w, ip: 10.0.0.1, podCIDR: 10.244.3.0/24}]\npods: [{name: a, ip: 10.244.3.7, node: w}, {name: b, ip: 10.244.3.8, node: w}]\n`));
    const pool = k.nodes[0].macPoolStart!;
    assert.match(pool, /^00:15:5d:[0-9a-f]{2}:[0-9a-f]0:00$/);
    const base = parseInt(pool.slice(9).replace(/:/g, ''), 16);
    assert.deepEqual(k.pods.map((p) => parseInt(p.mac.slice(9).replace(/:/g, ''), 16) - base), [0x307, 0x308]);
  });

  it('pods on Linux nodes get the Linux CNI 0a:58 MAC; hostNetwork pods the node MAC', () => {
    const k = parseClusterText('s.yaml', scenario(`nodes: [{name: l, windows: false, ip: 10.0.0.1, podCIDR: 10.244.3.0/24}]\npods: [{name: a, ip: 10.244.3.7, node: l}, {name: h, node: l, hostNetwork: true}]\n`));
    assert.equal(k.pods[0].mac, '0a:58:0a:f4:03:07');
    assert.equal(k.pods[1].mac, k.nodes[0].mac);
  });

  it('source VIP (overlay): the first free address from .2 of the podCIDR, skipping pod IPs', () => {
    assert.equal(c.nodes[0].sourceVip, '10.244.1.2');
    assert.equal(c.nodes[1].sourceVip, '10.244.3.3', '10.244.3.2 is a pod');
    const l2 = parseClusterText('s.yaml', scenario('network: {mode: l2bridge}\nnodes: [{name: w, ip: 10.0.0.1, podCIDR: 10.244.3.0/24}]\n'));
    assert.equal(l2.nodes[0].sourceVip, null, 'kube-proxy uses no source VIP on l2bridge');
  });

  it('default OutBoundNAT exceptions without a CNI config: cluster CIDR + service CIDR + node /24s, recorded', () => {
    assert.equal(c.network.outboundNat, true);
    assert.deepEqual(c.network.outboundNatExceptions, ['10.244.0.0/16', '10.96.0.0/12', '10.127.130.0/24']);
    assert.equal(derivedFor(c, 'network.outboundNatExceptions').length, 1);
    assert.equal(derivedFor(c, 'network.outboundNat ').length, 1);
  });

  it('a CNI config without an OutBoundNAT policy means no SNAT at all', () => {
    const k = parseClusterText('cni.conf', '{"cniVersion":"0.2.0","name":"cbr0","type":"win-bridge","policies":[]}');
    assert.equal(k.network.outboundNat, false);
    assert.deepEqual(k.network.outboundNatExceptions, []);
  });

  it('win-bridge with ipMasqNetwork adds it as an OutBoundNAT exception (ApplyOutboundNatPolicy)', () => {
    const k = parseClusterText('cni.conf', '{"cniVersion":"0.2.0","name":"cbr0","type":"win-bridge","ipMasqNetwork":"10.244.0.0/16"}');
    assert.equal(k.network.outboundNat, true);
    assert.deepEqual(k.network.outboundNatExceptions, ['10.244.0.0/16']);
  });

  it('dynamic port range 49152 + 16384 unless a node or the network says otherwise', () => {
    assert.deepEqual([c.nodes[0].dynamicPortStart, c.nodes[0].dynamicPortCount], [49152, 16384]);
    const k = loadCluster([fx('scenario-l2bridge.yaml')]);
    assert.deepEqual([k.nodes[0].dynamicPortStart, k.nodes[0].dynamicPortCount], [10000, 1024]);
    assert.deepEqual([k.nodes[1].dynamicPortStart, k.nodes[1].dynamicPortCount], [49152, 16384]);
  });

  it('DNS: the cluster domain, the per-namespace suffix first, kube-dns as the server', () => {
    assert.equal(c.clusterDomain, 'cluster.local');
    assert.deepEqual(c.pods[1].dnsSearch, ['kube-system.svc.cluster.local', 'svc.cluster.local', 'cluster.local']);
    const k = parseClusterText('s.yaml', scenario('network: {clusterDomain: corp.example}\nservices: [{name: kube-system/kube-dns, clusterIP: 10.96.0.10, ports: [53]}]\n'));
    assert.equal(k.clusterDomain, 'corp.example');
    assert.deepEqual(k.network.dnsServers, ['10.96.0.10']);
    assert.deepEqual(k.network.dnsSearch, ['svc.corp.example']);
  });

  it('kube-proxy defaults: DSR off, WinDSR and WinOverlay on, healthz 10256', () => {
    assert.deepEqual(c.proxy, { enableDSR: false, featureGates: { WinDSR: true, WinOverlay: true }, sourceVip: null, networkName: null, healthzPort: 10256 });
    assert.equal(derivedFor(c, 'proxy <- ').length, 1);
  });

  it('network name: flannel.<VNI> for flannel VXLAN, cbr0 for l2bridge, else kube-proxy networkName', () => {
    assert.equal(c.network.name, 'flannel.4096');
    assert.equal(parseClusterText('s.yaml', scenario('network: {mode: l2bridge}\n')).network.name, 'cbr0');
    assert.equal(parseClusterText('s.yaml', scenario('network: {mode: overlay}\nkubeProxy: {networkName: overlay1}\n')).network.name, 'overlay1');
  });

  it('ClusterIPs and NodePorts a scenario leaves out are allocated deterministically', () => {
    const k = parseClusterText('s.yaml', scenario(`network: {serviceCIDR: 10.96.0.0/12}
services:
- {name: a, type: NodePort, ports: [80], endpoints: [10.9.9.9]}
- {name: b, type: NodePort, clusterIP: 10.96.0.100, ports: [{port: 80, nodePort: 30000}], endpoints: [10.9.9.9]}
`));
    assert.equal(k.services[0].clusterIP, '10.96.0.101', '10.96.0.100 is taken');
    assert.equal(k.services[0].ports[0].nodePort, 30001, '30000 is taken');
  });

  it('loadCluster defaults fill only what no input says', () => {
    const opts = { defaults: { mode: 'overlay' as const, clusterDomain: 'lab.local', dynamicPortStart: 1025, dynamicPortCount: 64511 } };
    const k = parseClusterText('s.yaml', scenario('nodes: [{name: w, ip: 10.0.0.1, podCIDR: 10.244.1.0/24}]\n'), opts);
    assert.deepEqual([k.network.mode, k.clusterDomain, k.nodes[0].dynamicPortStart, k.nodes[0].dynamicPortCount], ['overlay', 'lab.local', 1025, 64511]);
    const given = parseClusterText('s.yaml', scenario('network: {mode: l2bridge, clusterDomain: cluster.local}\nnodes: [{name: w, ip: 10.0.0.1}]\n'), opts);
    assert.deepEqual([given.network.mode, given.clusterDomain], ['l2bridge', 'cluster.local']);
  });

  it('cluster and service CIDRs from what the inputs imply', () => {
    assert.deepEqual(loadCluster([fx('hns-network-v1-overlay.json')]).network.clusterCidrs, ['10.244.0.0/23']);
    assert.equal(loadCluster([fx('win-bridge-sample.conf')]).network.serviceCidr, '11.0.0.0/8');
    assert.equal(loadCluster([fx('kubectl-objects.yaml')]).network.serviceCidr, '10.0.0.0/16');
  });
});

describe('cluster: diagnostics', () => {
  it('host-network-unsupported for a hostNetwork pod on a Windows node only', () => {
    const c = parseClusterText('s.yaml', scenario(`nodes: [{name: w, ip: 10.0.0.1}, {name: l, windows: false, ip: 10.0.0.2}]
pods: [{name: a, node: w, hostNetwork: true}, {name: b, node: l, hostNetwork: true}]
`));
    const d = diag(c, 'host-network-unsupported');
    assert.equal(d.length, 1);
    assert.equal(d[0].source, 'pod default/a');
    assert.match(d[0].message, /"Host networking mode" is not supported on Windows nodes/);
  });

  const etpLocal = (dsr: boolean) =>
    parseClusterText('s.yaml', scenario(`kubeProxy: {enableDSR: ${dsr}}
services: [{name: web, type: NodePort, externalTrafficPolicy: Local, ports: [80], endpoints: [10.9.9.9]}, {name: inner, externalTrafficPolicy: Local, ports: [80], endpoints: [10.9.9.9]}]
`));

  it('local-policy-requires-dsr only on a Windows build without DSR, whatever --enable-dsr says (kube-proxy newServiceInfo)', () => {
    assert.equal(diag(etpLocal(false), 'local-policy-requires-dsr').length, 0, 'no --enable-dsr: ETP Local is still DSR when HNS supports it');
    assert.equal(diag(etpLocal(true), 'local-policy-requires-dsr').length, 0);
    for (const enableDsr of [false, true]) {
      const d = clusterDiagnostics(etpLocal(enableDsr), { dsrSupported: false }).filter((x) => x.code === 'local-policy-requires-dsr');
      assert.equal(d.length, 1, 'only for a Service reachable from outside');
      assert.equal(d[0].severity, 'warning');
      assert.match(d[0].message, /this Windows build has no DSR/);
      assert.match(d[0].message, /treated as Cluster; the client IP is not kept/);
    }
  });

  it('affinity-timeout-ignored when timeoutSeconds is set', () => {
    const c = loadCluster([fx('kubectl-list.json')]);
    const d = diag(c, 'affinity-timeout-ignored');
    assert.deepEqual(d.map((x) => x.source), ['service default/web']);
    assert.match(d[0].message, /timeoutSeconds: 10800: Windows does not support it/);
  });

  const manyEndpoints = (n: number) => {
    const eps = Array.from({ length: n }, (_, i) => `10.244.${1 + (i >> 8)}.${i & 255}`);
    return parseClusterText('s.yaml', scenario(`services: [{name: big, clusterIP: 10.96.0.50, ports: [80], endpoints: [${eps.join(', ')}]}]\n`));
  };

  it('lb-too-many-destinations is not a cluster diagnostic: the limit is per built load balancer (the compiler reports it)', () => {
    assert.equal(diag(manyEndpoints(70), 'lb-too-many-destinations').length, 0);
    assert.equal(clusterDiagnostics(manyEndpoints(70), { maxLbDestinations: 2 }).filter((x) => x.code === 'lb-too-many-destinations').length, 0);
  });

  it('no-endpoints is not a cluster diagnostic: which endpoints count depends on the load balancer (the compiler reports it)', () => {
    const k = parseClusterText('s.yaml', scenario('services: [{name: s, ports: [80], endpoints: [{ip: 10.0.0.1, ready: false}]}]\n'));
    assert.equal(diag(k, 'no-endpoints').length, 0);
  });

  it('mac-spoofing-disabled for an l2bridge Windows node with MAC spoofing off', () => {
    const d = diag(loadCluster([fx('scenario-l2bridge.yaml')]), 'mac-spoofing-disabled');
    assert.deepEqual(d.map((x) => x.source), ['node win-1']);
  });

  it('config checks: exceptions that miss the cluster CIDR, kube-proxy start-up failures, network name mismatch', () => {
    const miss = loadCluster([fx('kubectl-list.json'), fx('sdn-overlay-cni.conf')]);
    assert.equal(diag(miss, 'config-nat-exceptions').length, 1);
    const dsr = parseClusterText('s.yaml', scenario('kubeProxy: {enableDSR: true, featureGates: {WinDSR: false}}\nnodes: [{name: w, ip: 10.0.0.1}]\n'));
    assert.ok(diag(dsr, 'config-kube-proxy').some((d) => d.message.includes('"WinDSR feature gate not enabled"') && d.severity === 'error'));
    const ov = parseClusterText('s.yaml', scenario('network: {mode: overlay}\nkubeProxy: {featureGates: {WinOverlay: false}}\nnodes: [{name: w, ip: 10.0.0.1}]\n'));
    assert.ok(diag(ov, 'config-kube-proxy').some((d) => d.message.includes('"WinOverlay feature gate not enabled"')));
    assert.ok(diag(ov, 'config-kube-proxy').some((d) => d.message.includes('"source-vip flag not set"')), 'no podCIDR to take a source VIP from');
    const mm = loadCluster([fx('sdn-l2bridge-cni.conf'), fx('kube-proxy-config.yaml')]);
    assert.equal(diag(mm, 'config-network-name-mismatch').length, 1);
    assert.equal(diag(mm, 'config-network-name-mismatch')[0].severity, 'error');
  });

  it('no Windows node at all is a warning', () => {
    const c = parseClusterText('s.yaml', scenario('nodes: [{name: l, windows: false, ip: 10.0.0.1}]\n'));
    assert.equal(diag(c, 'config-no-windows-node').length, 1);
  });

  it('refreshDiagnostics replaces the implied diagnostics for another profile, keeping the config ones', () => {
    const c = etpLocal(false);
    const before = c.diagnostics.filter((d) => d.code.startsWith('config-')).length;
    refreshDiagnostics(c, { dsrSupported: false });
    assert.equal(diag(c, 'local-policy-requires-dsr').length, 1);
    assert.equal(c.diagnostics.filter((d) => d.code.startsWith('config-')).length, before);
    refreshDiagnostics(c, { dsrSupported: true });
    assert.equal(diag(c, 'local-policy-requires-dsr').length, 0);
  });

  it('every diagnostic has a code, a severity, a message and a source', () => {
    const c = loadCluster(['kubectl-list.json', 'sdn-overlay-cni.conf', 'kube-flannel-net-conf.json'].map(fx));
    assert.ok(c.diagnostics.length > 5);
    for (const d of c.diagnostics) {
      assert.ok(d.code && d.message && d.source, JSON.stringify(d));
      assert.ok(['error', 'warning', 'info'].includes(d.severity!), JSON.stringify(d));
    }
  });
});

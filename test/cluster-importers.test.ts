/**
 * Each cluster importer against real-world-shaped inputs in test/fixtures-cluster (written from the shapes in
 * ../shared/reference/domain.md §2.6 and §3 and the Kubernetes API), and kind detection from content.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { detectClusterText, loadCluster, parseClusterText, parseClusterTexts } from '../src/cluster';
import type { Cluster, ServiceModel } from '../src/cluster/model';

const FIX = path.resolve(__dirname, '..', '..', 'test', 'fixtures-cluster');
const fx = (name: string) => path.join(FIX, name);
const text = (name: string) => readFileSync(fx(name), 'utf8');
const load = (...names: string[]) => loadCluster(names.map(fx));
const svc = (c: Cluster, ref: string): ServiceModel => {
  const s = c.services.find((x) => `${x.namespace}/${x.name}` === ref);
  assert.ok(s, `service ${ref}`);
  return s;
};
const node = (c: Cluster, name: string) => {
  const n = c.nodes.find((x) => x.name === name);
  assert.ok(n, `node ${name}`);
  return n;
};
const codes = (c: Cluster) => c.diagnostics.map((d) => d.code);

describe('cluster: kind detection from content', () => {
  const cases: [string, string[]][] = [
    ['kubectl-list.json', ['kubectl']],
    ['kubectl-objects.yaml', ['kubectl', 'kubectl', 'kubectl', 'kubectl']],
    ['kube-flannel-cfg.yaml', ['kubectl']],
    ['sdn-l2bridge-cni.conf', ['cni']],
    ['sdn-overlay-cni.conf', ['cni']],
    ['win-bridge-sample.conf', ['cni']],
    ['win-overlay-v2.conflist', ['cni']],
    ['sdn-l2bridge-net-conf.json', ['flannel-net-conf']],
    ['kube-flannel-net-conf.json', ['flannel-net-conf']],
    ['subnet.env', ['flannel-subnet-env']],
    ['subnet-win-node-2.env', ['flannel-subnet-env']],
    ['kube-proxy-config.yaml', ['kube-proxy']],
    ['hns-network-v1-overlay.json', ['hns']],
    ['hns-network-v2-flannel.json', ['hns']],
    ['hns-remote-endpoint.json', ['hns']],
    ['hns-endpoint-policies.json', ['hns']],
    ['hns-endpoints-l2bridge.json', ['hns']],
    ['scenario-overlay.yaml', ['scenario']],
  ];
  for (const [file, kinds] of cases) {
    it(`${file} -> ${kinds.join(', ')}`, () => assert.deepEqual(detectClusterText(file, text(file)), kinds));
  }

  it('ignores the file name: a net-conf.json saved as cni.conf is still a net-conf', () => {
    assert.deepEqual(detectClusterText('cni.conf', text('kube-flannel-net-conf.json')), ['flannel-net-conf']);
    assert.deepEqual(detectClusterText('net-conf.json', text('kube-proxy-config.yaml')), ['kube-proxy']);
  });

  it('reads the same content as JSON or YAML', () => {
    const asYaml = 'Network: 10.244.0.0/16\nBackend:\n  Type: vxlan\n  VNI: 4097\n';
    const c = parseClusterText('net-conf.yaml', asYaml);
    assert.equal(c.network.vni, 4097);
    assert.equal(c.network.name, 'flannel.4097');
  });

  it('reads a PowerShell 5.1 dump saved as UTF-16LE with a byte-order mark', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vfp-emu-cluster-'));
    try {
      const file = path.join(dir, 'hns.json');
      writeFileSync(file, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text('hns-network-v1-overlay.json'), 'utf16le')]));
      const c = loadCluster([file]);
      assert.equal(c.network.name, 'vxlan0');
      assert.equal(c.nodes[0].drMac, '00:15:5d:04:9e:fc');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says what it expected when it cannot tell', () => {
    assert.throws(
      () => parseClusterText('mystery.json', '{"hello": "world"}'),
      (e: Error) => /mystery\.json/.test(e.message) && /cannot tell what kind of cluster input this is; expected one of: kubectl output/.test(e.message) && /vfp-emu scenario/.test(e.message),
    );
  });
});

describe('cluster: kubectl output', () => {
  const c = load('kubectl-list.json');

  it('takes Windows nodes from the kubernetes.io/os label, with InternalIP and podCIDR', () => {
    assert.deepEqual(
      c.nodes.map((n) => [n.name, n.windows, n.internalIP, n.podCIDR]),
      [
        ['linux-cp-1', false, '10.127.130.10', '10.244.0.0/24'],
        ['win-node-1', true, '10.127.130.11', '10.244.1.0/24'],
        ['win-node-2', true, '10.127.130.12', '10.244.2.0/24'],
      ],
    );
  });

  it("reads flannel's node annotations: VtepMAC is the DR MAC, public-ip the provider address, backend-type the mode", () => {
    assert.equal(node(c, 'linux-cp-1').drMac, 'c6:71:81:86:b2:77');
    assert.equal(node(c, 'win-node-1').drMac, '00:15:5d:04:9e:fc');
    assert.equal(node(c, 'win-node-1').providerAddress, '10.127.130.11');
    assert.equal(c.network.mode, 'overlay');
    assert.equal(c.network.plugin, 'flannel');
    assert.equal(node(c, 'win-node-2').sourceVip, '10.244.2.250', 'vfp-emu/source-vip annotation');
  });

  it('takes running pods with IPs, skipping pending and finished ones with a note', () => {
    assert.deepEqual(
      c.pods.map((p) => `${p.namespace}/${p.name} ${p.ip} ${p.node}${p.hostNetwork ? ' host' : ''}`),
      [
        'default/client-0 10.244.1.5 win-node-1',
        'default/web-0 10.244.2.7 win-node-2',
        'default/web-1 10.244.0.12 linux-cp-1',
        'default/web-2 10.244.2.8 win-node-2',
        'kube-system/coredns-7db6d8ff4d-x2x7l 10.244.0.3 linux-cp-1',
        'kube-system/kube-proxy-windows-8fz2k 10.127.130.11 win-node-1 host',
      ],
    );
    const skipped = c.diagnostics.filter((d) => d.code === 'config-ignored').map((d) => d.message);
    assert.ok(skipped.some((m) => m.includes('default/pending-0') && m.includes('no IP')));
    assert.ok(skipped.some((m) => m.includes('default/job-done-0') && m.includes('Succeeded')));
    assert.ok(skipped.some((m) => m.startsWith('Deployment')));
  });

  it('reads every Service type with its ports, IPs and policies', () => {
    const web = svc(c, 'default/web');
    assert.equal(web.type, 'ClusterIP');
    assert.equal(web.clusterIP, '10.96.0.20');
    assert.deepEqual(web.ports, [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 'http', nodePort: null }]);
    assert.equal(web.sessionAffinity, 'ClientIP');
    assert.equal(web.affinityTimeoutSeconds, 10800);

    const np = svc(c, 'default/web-nodeport');
    assert.equal(np.type, 'NodePort');
    assert.equal(np.ports[0].nodePort, 30080);
    assert.equal(np.ports[0].targetPort, 8080);
    assert.equal(np.externalTrafficPolicy, 'Local');
    assert.equal(np.internalTrafficPolicy, 'Local');

    const lb = svc(c, 'default/web-lb');
    assert.equal(lb.type, 'LoadBalancer');
    assert.deepEqual(lb.ingressIPs, ['20.22.71.151'], 'hostname-only ingress is skipped');
    assert.deepEqual(lb.externalIPs, ['192.0.2.10']);
    assert.equal(lb.preserveDestination, true);
    assert.equal(lb.healthCheckNodePort, 32000);
    assert.equal(lb.ports[0].nodePort, 31080);

    assert.equal(svc(c, 'default/external-db').type, 'ExternalName');
    assert.equal(svc(c, 'default/external-db').clusterIP, null);
    assert.equal(svc(c, 'default/web-headless').clusterIP, null);
    const dns = svc(c, 'kube-system/kube-dns');
    assert.deepEqual(dns.ports.map((p) => `${p.name} ${p.protocol} ${p.port}`), ['dns UDP 53', 'dns-tcp TCP 53', 'metrics TCP 9153']);
  });

  it('links EndpointSlices to Services by kubernetes.io/service-name, with conditions, nodes and ports', () => {
    const web = svc(c, 'default/web');
    assert.deepEqual(web.endpoints, [
      { ip: '10.244.2.7', node: 'win-node-2', ready: true, serving: true, terminating: false, ports: { http: 8080 }, pod: 'default/web-0' },
      { ip: '10.244.0.12', node: 'linux-cp-1', ready: true, serving: true, terminating: false, ports: { http: 8080 }, pod: 'default/web-1' },
      { ip: '10.244.2.8', node: 'win-node-2', ready: false, serving: true, terminating: true, ports: { http: 8080 }, pod: 'default/web-2' },
    ]);
    // No targetRef: the pod is found by IP.
    assert.equal(svc(c, 'default/web-nodeport').endpoints[0].pod, 'default/web-0');
    assert.deepEqual(svc(c, 'default/web-nodeport').endpoints[0].ports, { '': 8080 });
    assert.deepEqual(svc(c, 'kube-system/kube-dns').endpoints[0].ports, { 'dns-tcp': 53, dns: 53, metrics: 9153 });
  });

  it('reads legacy Endpoints; an endpoint at a node IP belongs to that node', () => {
    const k = svc(c, 'default/kubernetes');
    assert.deepEqual(k.endpoints, [{ ip: '10.127.130.10', node: 'linux-cp-1', ready: true, serving: true, terminating: false, ports: { https: 6443 }, pod: null }]);
  });

  it('reads multi-document YAML and the emulator annotations vfp-emu/mac and vfp-emu/mac-spoofing', () => {
    const y = load('kubectl-objects.yaml');
    const n = node(y, 'win-a');
    assert.equal(n.mac, '00:15:5d:01:02:03');
    assert.equal(n.macSpoofing, false);
    const api = svc(y, 'demo/api');
    assert.deepEqual(api.ports.map((p) => [p.name, p.protocol, p.port, p.targetPort]), [
      ['web', 'TCP', 8080, 80],
      ['metrics', 'UDP', 9100, 9100],
    ]);
    assert.deepEqual(api.endpoints[0].ports, { web: 80, metrics: 9100 });
    assert.equal(api.endpoints[0].node, 'win-a', 'node from the targetRef pod');
  });

  it("imports a flannel ConfigMap's embedded cni-conf.json and net-conf.json", () => {
    const m = load('kube-flannel-cfg.yaml');
    assert.equal(m.network.plugin, 'flannel');
    assert.equal(m.network.mode, 'overlay');
    assert.equal(m.network.name, 'flannel.4096');
    assert.deepEqual(m.network.clusterCidrs, ['10.244.0.0/16']);
    assert.deepEqual(m.network.outboundNatExceptions, ['10.244.0.0/16', '10.96.0.0/12']);
  });
});

describe('cluster: CNI configs', () => {
  it('Microsoft/SDN l2bridge cni.conf: flannel delegating to win-bridge', () => {
    const c = load('sdn-l2bridge-cni.conf');
    const n = c.network;
    assert.equal(n.name, 'cbr0');
    assert.equal(n.plugin, 'flannel');
    assert.equal(n.mode, 'l2bridge');
    assert.deepEqual(n.dnsServers, ['10.96.0.10']);
    assert.deepEqual(n.dnsSearch, ['svc.cluster.local']);
    assert.equal(n.outboundNat, true);
    assert.deepEqual(n.outboundNatExceptions, ['10.244.0.0/16', '10.96.0.0/12', '10.127.130.0/24']);
    assert.deepEqual(n.routes, [
      { destinationPrefix: '10.96.0.0/12', needEncap: true },
      { destinationPrefix: '10.127.130.38/32', needEncap: true },
    ]);
    assert.equal(n.serviceCidr, '10.96.0.0/12', 'from the service-CIDR ROUTE');
  });

  it('Microsoft/SDN overlay cni.conf: capitalised "Policies" with Name/Value, delegate win-overlay', () => {
    const c = load('sdn-overlay-cni.conf');
    assert.equal(c.network.name, 'vxlan0');
    assert.equal(c.network.mode, 'overlay');
    assert.deepEqual(c.network.outboundNatExceptions, ['192.168.0.0/16', '11.0.0.0/8']);
    assert.deepEqual(c.network.routes, [{ destinationPrefix: '11.0.0.0/8', needEncap: true }]);
    assert.deepEqual(c.network.dnsServers, ['11.0.0.10']);
  });

  it('win-bridge sample conf: v1 policies, loopbackDSR, ipMasqNetwork', () => {
    const c = load('win-bridge-sample.conf');
    assert.equal(c.network.plugin, 'win-bridge');
    assert.equal(c.network.mode, 'l2bridge');
    assert.equal(c.network.loopbackDSR, true);
    assert.equal(c.network.ipMasqNetwork, '192.168.0.0/16');
    assert.deepEqual(c.network.outboundNatExceptions, ['192.168.0.0/16', '11.0.0.0/8', '10.137.196.0/23']);
    assert.equal(c.network.routes.length, 2);
    assert.equal(c.clusterDomain, 'cluster.local');
  });

  it('win-overlay apiVersion 2 conflist: several OutBoundNAT policies union, SDNRoute, ACL, ProviderAddress, ipMasq', () => {
    const c = parseClusterTexts([
      { name: 'win-overlay-v2.conflist', text: text('win-overlay-v2.conflist') },
      { name: 'node.yaml', text: 'apiVersion: v1\nkind: Node\nmetadata: {name: win-3, labels: {kubernetes.io/os: windows}}\nspec: {podCIDR: 10.244.3.0/24}\nstatus: {addresses: [{type: InternalIP, address: 10.127.130.13}]}\n' },
    ]);
    const n = c.network;
    assert.equal(n.plugin, 'win-overlay');
    assert.equal(n.mode, 'overlay');
    assert.deepEqual(n.outboundNatExceptions, ['10.244.0.0/16', '10.96.0.0/12', '10.127.130.0/24']);
    assert.deepEqual(n.routes, [{ destinationPrefix: '10.96.0.0/12', needEncap: true }]);
    assert.deepEqual(n.acls, [
      { action: 'Block', direction: 'Out', protocols: [6], localAddresses: [], remoteAddresses: ['10.127.130.99/32'], localPorts: [], remotePorts: [[22, 22]], priority: 200, ruleType: 'Switch' },
    ]);
    assert.equal(n.ipMasq, true);
    assert.deepEqual(node(c, 'win-3').outboundNatExceptions, ['10.244.3.0/24'], 'win-overlay ipMasq excepts the node pod subnet');
    assert.equal(node(c, 'win-3').providerAddress, '10.127.130.11', 'the PA policy, on the only Windows node');
  });
});

describe('cluster: flannel net-conf.json and subnet.env', () => {
  it('Microsoft/SDN host-gw net-conf: l2bridge, network cbr0', () => {
    const c = load('sdn-l2bridge-net-conf.json');
    assert.equal(c.network.mode, 'l2bridge');
    assert.equal(c.network.name, 'cbr0');
    assert.deepEqual(c.network.clusterCidrs, ['10.244.0.0/16']);
  });

  it('Microsoft/SDN vxlan net-conf: lower-case name/type keys, flannel defaults VNI 4096, port 4789', () => {
    const c = load('sdn-overlay-net-conf.json');
    assert.equal(c.network.mode, 'overlay');
    assert.equal(c.network.name, 'vxlan0');
    assert.equal(c.network.vni, 4096);
    assert.equal(c.network.vxlanPort, 4789);
    assert.equal(c.network.endpointMacPrefix, '0e:2a');
    assert.deepEqual(c.network.clusterCidrs, ['192.168.0.0/16']);
  });

  it('kube-flannel net-conf without a Name gets flannel.<VNI>', () => {
    assert.equal(load('kube-flannel-net-conf.json').network.name, 'flannel.4096');
  });

  it('subnet.env from the Microsoft troubleshooting page, matched to the node whose podCIDR holds FLANNEL_SUBNET', () => {
    const c = parseClusterTexts([
      { name: 'nodes.yaml', text: 'apiVersion: v1\nkind: Node\nmetadata: {name: win-4, labels: {kubernetes.io/os: windows}}\nspec: {podCIDR: 10.244.4.0/24}\nstatus: {addresses: [{type: InternalIP, address: 10.127.130.14}]}\n' },
      { name: 'subnet.env', text: text('subnet.env') },
    ]);
    assert.deepEqual(c.network.clusterCidrs, ['10.244.0.0/16']);
    assert.equal(c.network.mtu, 1500);
    assert.equal(c.network.ipMasq, true);
    assert.equal(c.network.plugin, 'flannel');
    assert.ok(!codes(c).includes('config-unmatched'));
  });

  it('subnet.env alone cannot tell its node: a warning says how to name it', () => {
    const c = load('subnet.env');
    const d = c.diagnostics.find((x) => x.code === 'config-unmatched');
    assert.ok(d && d.message.includes('# node: NAME') && d.source.endsWith('subnet.env:FLANNEL_SUBNET'), JSON.stringify(d));
  });

  it('a "# node: NAME" comment names the node and gives it the subnet', () => {
    const c = load('kubectl-list.json', 'subnet-win-node-2.env');
    assert.equal(node(c, 'win-node-2').podCIDR, '10.244.2.0/24');
    assert.equal(c.network.mtu, 1450);
    assert.equal(c.network.ipMasq, false, 'FLANNEL_IPMASQ=false');
  });
});

describe('cluster: KubeProxyConfiguration', () => {
  it('reads winkernel settings, feature gates and the healthz port; sourceVip goes to hostnameOverride node', () => {
    const c = load('kubectl-list.json', 'kube-proxy-config.yaml');
    assert.deepEqual(c.proxy, { enableDSR: true, featureGates: { WinDSR: true, WinOverlay: true }, sourceVip: '10.244.1.2', networkName: 'vxlan0', healthzPort: 10256 });
    assert.equal(node(c, 'win-node-1').sourceVip, '10.244.1.2');
    assert.equal(c.network.name, 'vxlan0', 'the network name kube-proxy looks for');
  });

  it('warns about a proxy mode Windows does not have, and reads a non-default healthz port', () => {
    const c = parseClusterText('kp.yaml', 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\nhealthzBindAddress: "[::]:10999"\n');
    assert.ok(codes(c).includes('config-kube-proxy-mode'));
    assert.equal(c.proxy.healthzPort, 10999);
  });
});

describe('cluster: HNS JSON', () => {
  it('(a) v1 overlay network by flannel: the dumping node and the remote subnet routes', () => {
    const c = load('hns-network-v1-overlay.json');
    assert.equal(c.network.name, 'vxlan0');
    assert.equal(c.network.mode, 'overlay');
    assert.equal(c.network.vni, 4096);
    const local = node(c, '172.27.1.88');
    assert.equal(local.windows, true);
    assert.equal(local.podCIDR, '10.244.1.0/24');
    assert.equal(local.drMac, '00:15:5d:04:9e:fc');
    assert.equal(local.macPoolStart, '00:15:5d:6d:b0:00');
    const remote = node(c, '172.27.10.47');
    assert.equal(remote.windows, false);
    assert.equal(remote.podCIDR, '10.244.0.0/24');
    assert.equal(remote.providerAddress, '172.27.10.47');
    assert.equal(remote.drMac, 'c6:71:81:86:b2:77');
  });

  it('(a) merged with Node objects: the facts land on the nodes with those IPs', () => {
    const nodes = `apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Node, metadata: {name: win-x, labels: {kubernetes.io/os: windows}}, status: {addresses: [{type: InternalIP, address: 172.27.1.88}]}}
- {apiVersion: v1, kind: Node, metadata: {name: linux-y, labels: {kubernetes.io/os: linux}}, status: {addresses: [{type: InternalIP, address: 172.27.10.47}]}}
`;
    const c = parseClusterTexts([
      { name: 'nodes.yaml', text: nodes },
      { name: 'hns.json', text: text('hns-network-v1-overlay.json') },
    ]);
    assert.deepEqual(c.nodes.map((n) => n.name), ['win-x', 'linux-y']);
    assert.equal(node(c, 'win-x').podCIDR, '10.244.1.0/24');
    assert.equal(node(c, 'linux-y').drMac, 'c6:71:81:86:b2:77');
  });

  it('(c) v2 HostComputeNetwork without a management IP: the node whose podCIDR holds the subnet', () => {
    const c = parseClusterTexts([
      { name: 'node.yaml', text: 'apiVersion: v1\nkind: Node\nmetadata: {name: win-3}\nspec: {podCIDR: 10.244.3.0/24}\nstatus: {addresses: [{type: InternalIP, address: 10.127.130.13}]}\n' },
      { name: 'hns-v2.json', text: text('hns-network-v2-flannel.json') },
    ]);
    assert.equal(c.network.name, 'flannel.4096');
    assert.equal(c.network.mode, 'overlay');
    assert.equal(c.network.vni, 4096);
    assert.equal(node(c, 'win-3').windows, true, 'an HNS dump comes from a Windows node');
  });

  it('(d) a remote endpoint made by kube-proxy is skipped with a note (its MAC is derived)', () => {
    const c = load('hns-remote-endpoint.json');
    assert.equal(c.pods.length, 0);
    assert.ok(c.diagnostics.some((d) => d.code === 'config-ignored' && /1 remote HNS endpoint/.test(d.message)));
  });

  it('(e) a bare list of v1 endpoint policies: OutBoundNAT, ROUTE, PA and ACL', () => {
    const c = load('hns-endpoint-policies.json');
    assert.deepEqual(c.network.outboundNatExceptions, ['10.96.0.0/12', '192.168.0.0/16']);
    assert.deepEqual(c.network.routes, [{ destinationPrefix: '10.96.0.0/12', needEncap: true }]);
    assert.deepEqual(c.network.acls, [
      { action: 'Block', direction: 'In', protocols: [], localAddresses: [], remoteAddresses: [], localPorts: [], remotePorts: [], priority: 65500, ruleType: 'Switch' },
    ]);
  });

  it("(f) an ACL in a Get-HnsEndpoint's Policies is owned by that endpoint (its IP), a bare policy list's by none", () => {
    const c = parseClusterTexts([{ name: 'hns-endpoint.json', text: readFileSync(path.join(__dirname, '..', '..', 'traces', '16-acl-scope', 'hns-endpoint-web-1.json'), 'utf8') }]);
    assert.deepEqual(c.network.acls, [
      { action: 'Block', direction: 'In', protocols: [6], localAddresses: [], remoteAddresses: [], localPorts: [[8080, 8080]], remotePorts: [], priority: 200, ruleType: 'Switch', endpoint: '10.244.1.6' },
    ]);
    assert.equal(load('hns-endpoint-policies.json').network.acls![0].endpoint, undefined);
  });

  it('Get-HnsNetwork with nat and External networks picks the Kubernetes one; Get-HnsEndpoint gives pod MACs', () => {
    const c = load('kubectl-list.json', 'hns-networks-all.json', 'hns-endpoints-l2bridge.json', 'sdn-l2bridge-cni.conf');
    assert.equal(c.network.name, 'cbr0');
    assert.equal(node(c, 'win-node-1').macPoolStart, '00:15:5d:6d:b0:00');
    assert.equal(node(c, 'win-node-1').mac, '00:15:5d:82:0b:11', 'SourceMac of the network');
    const client = c.pods.find((p) => p.name === 'client-0')!;
    assert.equal(client.mac, '00:15:5d:6d:b0:21', 'the MAC HNS gave the endpoint');
    const ignored = c.diagnostics.filter((d) => d.code === 'config-ignored').map((d) => d.message);
    assert.ok(ignored.some((m) => m.startsWith('HNS network nat ')));
    assert.ok(ignored.some((m) => m.startsWith('HNS network External ')));
    assert.ok(ignored.some((m) => m.includes('cbr0_ep') && m.includes('host')));
  });
});

describe('cluster: scenario YAML', () => {
  const c = load('scenario-overlay.yaml');

  it("a pod's acls are HNS ACL policies owned by its endpoint; another policy type there is refused by name", () => {
    const doc = (acl: string) =>
      `apiVersion: vfp-emu/v1\nkind: Scenario\nnodes:\n- {name: win-1, ip: 10.127.130.11, podCIDR: 10.244.1.0/24, windows: true}\npods:\n- {name: web-1, ip: 10.244.1.6, node: win-1, acls: [${acl}]}\n`;
    const one = parseClusterTexts([{ name: 's.yaml', text: doc('{Type: ACL, Action: Block, Direction: In, Protocols: "6", LocalPorts: "8080", Priority: 200}') }]);
    assert.deepEqual(one.network.acls, [
      { action: 'Block', direction: 'In', protocols: [6], localAddresses: [], remoteAddresses: [], localPorts: [[8080, 8080]], remotePorts: [], priority: 200, ruleType: 'Switch', endpoint: '10.244.1.6' },
    ]);
    assert.throws(() => parseClusterTexts([{ name: 's.yaml', text: doc('{Type: OutBoundNAT, ExceptionList: [10.0.0.0/8]}') }]), /s\.yaml.*pods\[0\]\.acls\[0\]\.Type.*only ACL policies/s);
  });

  it('reads network, kube-proxy, nodes, pods and the profile and view', () => {
    assert.equal(c.profile, 'ws2022');
    assert.equal(c.view, 'pod');
    assert.equal(c.network.mode, 'overlay');
    assert.equal(c.network.plugin, 'flannel');
    assert.deepEqual(c.network.outboundNatExceptions, ['10.244.0.0/16', '10.96.0.0/12', '10.127.130.0/24']);
    assert.equal(c.proxy.enableDSR, true);
    assert.equal(node(c, 'linux-1').windows, false);
    assert.equal(node(c, 'win-1').windows, true, 'nodes are Windows unless they say otherwise');
    assert.equal(node(c, 'win-2').sourceVip, '10.244.2.250');
    const host = c.pods.find((p) => p.name === 'kube-proxy-win-1')!;
    assert.equal(host.ip, '10.127.130.11', 'a hostNetwork pod has its node IP');
    assert.equal(c.pods.find((p) => p.name === 'web-0')!.namespace, 'default');
  });

  it('endpoints named by pod get its IP and node and are ready; by IP they find their pod or none', () => {
    const web = svc(c, 'default/web');
    assert.deepEqual(web.endpoints, [
      { ip: '10.244.2.7', node: 'win-2', ready: true, serving: true, terminating: false, ports: { http: 8080 }, pod: 'default/web-0' },
      { ip: '10.244.0.12', node: 'linux-1', ready: true, serving: true, terminating: false, ports: { http: 8080 }, pod: 'default/web-1' },
    ]);
    const lb = svc(c, 'default/web-lb');
    assert.deepEqual(lb.endpoints[1], { ip: '10.244.0.12', node: 'linux-1', ready: false, serving: false, terminating: true, ports: { http: 8080 }, pod: 'default/web-1' });
    const out = svc(c, 'default/outside');
    assert.deepEqual(out.ports, [{ name: '', protocol: 'TCP', port: 443, targetPort: 443, nodePort: null }]);
    assert.deepEqual(out.endpoints, [{ ip: '203.0.113.7', node: null, ready: true, serving: true, terminating: false, ports: { '': 443 }, pod: null }]);
  });
});

describe('cluster: kubectl Windows HostProcess pods', () => {
  // Shaped as sig-windows-tools' HostProcess DaemonSets (hostprocess/flannel/kube-proxy/kube-proxy.yml): pod-level
  // securityContext.windowsOptions {hostProcess: true, runAsUserName: "NT AUTHORITY\\system"} with hostNetwork: true.
  const NODE = `- apiVersion: v1
  kind: Node
  metadata: {name: win-1, labels: {kubernetes.io/os: windows}}
  spec: {podCIDR: 10.244.1.0/24}
  status: {addresses: [{type: InternalIP, address: 10.127.130.11}]}
`;
  const pod = (name: string, spec: string) => `- apiVersion: v1
  kind: Pod
  metadata: {name: ${name}, namespace: kube-system}
  spec: ${spec}
  status: {podIP: 10.127.130.11, podIPs: [{ip: 10.127.130.11}]}
`;
  const list = (...items: string[]) => `apiVersion: v1\nkind: List\nitems:\n${NODE}${items.join('')}`;
  const HPC = '{nodeName: win-1, hostNetwork: true, securityContext: {windowsOptions: {hostProcess: true, runAsUserName: "NT AUTHORITY\\\\system"}}, containers: [{name: kube-proxy, image: sigwindowstools/kube-proxy:v1.30.0-flannel-hostprocess}]}';
  const PER_CONTAINER = '{nodeName: win-1, hostNetwork: true, containers: [{name: a, image: x, securityContext: {windowsOptions: {hostProcess: true}}}, {name: b, image: y, securityContext: {windowsOptions: {hostProcess: true}}}]}';
  const CLASSIC = '{nodeName: win-1, hostNetwork: true, containers: [{name: agent, image: mcr.microsoft.com/windows/nanoserver:ltsc2022}]}';

  it('a HostProcess pod (pod level or every container) uses the host network with no warning; a classic hostNetwork pod is warned', () => {
    const c = parseClusterText('pods.yaml', list(pod('kube-proxy-hpc', HPC), pod('agent-hpc', PER_CONTAINER), pod('agent', CLASSIC)));
    assert.deepEqual(
      c.pods.map((p) => [p.name, p.hostNetwork, p.hostProcess ?? false, p.ip]),
      [
        ['kube-proxy-hpc', true, true, '10.127.130.11'],
        ['agent-hpc', true, true, '10.127.130.11'],
        ['agent', true, false, '10.127.130.11'],
      ],
    );
    const d = c.diagnostics.filter((x) => x.code === 'host-network-unsupported');
    assert.deepEqual(d.map((x) => x.source), ['pod kube-system/agent']);
    assert.match(d[0].message, /only HostProcess containers \(securityContext\.windowsOptions\.hostProcess: true\) get the host's network/);
    assert.match(d[0].message, /WindowsHostNetwork feature gate, KEP-3503/);
  });

  it('refuses what the API server refuses: a mix, a differing container value, HostProcess without hostNetwork', () => {
    const bad = (spec: string, field: RegExp, msg: RegExp) =>
      assert.throws(
        () => parseClusterText('pods.yaml', list(pod('p', spec))),
        (e: Error) => /pods\.yaml/.test(e.message) && field.test(e.message) && msg.test(e.message),
      );
    bad('{nodeName: win-1, hostNetwork: true, containers: [{name: a, image: x, securityContext: {windowsOptions: {hostProcess: true}}}, {name: b, image: y}]}', /items\[1\]\.spec\b/, /all containers must be HostProcess containers/);
    bad('{nodeName: win-1, hostNetwork: true, securityContext: {windowsOptions: {hostProcess: true}}, containers: [{name: a, image: x, securityContext: {windowsOptions: {hostProcess: false}}}]}', /items\[1\]\.spec\.containers\[0\]\.securityContext\.windowsOptions\.hostProcess/, /must be identical/);
    bad('{nodeName: win-1, securityContext: {windowsOptions: {hostProcess: true}}, containers: [{name: a, image: x}]}', /items\[1\]\.spec\.hostNetwork/, /hostNetwork must be true/);
  });
});

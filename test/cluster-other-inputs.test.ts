/**
 * Files an admin has at hand besides the CNI, kube-proxy and HNS inputs (tried as a new user would): the
 * kubelet's KubeletConfiguration is read for what reaches the data plane (clusterDomain, clusterDNS), alone or
 * in kubeadm's kubelet-config ConfigMap; a kubeconfig and Microsoft/SDN's KubeCluster.ps1 installer config are
 * refused by name with what to give instead (they were "cannot tell what kind of cluster input this is").
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { parseClusterTexts } from '../src/cluster/parse';
import { readFileSync } from 'node:fs';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'src', 'cli.js');
const OVERLAY = path.join(ROOT, 'traces', '_clusters', 'overlay');
const overlay = ['kubectl.yaml', 'cni.conf'].map((f) => ({ name: f, text: readFileSync(path.join(OVERLAY, f), 'utf8') }));

const KUBELET = `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous:
    enabled: false
cgroupDriver: cgroupfs
clusterDNS:
- 10.96.0.10
clusterDomain: corp.example
resolvConf: ""
`;

describe('KubeletConfiguration: clusterDomain and clusterDNS read, every other key named', () => {
  it('its clusterDomain is the cluster domain (no longer an assumed cluster.local), the other keys listed as unused', () => {
    const before = parseClusterTexts(overlay);
    assert.equal(before.clusterDomain, 'cluster.local');
    const c = parseClusterTexts([...overlay, { name: 'config.yaml', text: KUBELET }]);
    assert.equal(c.clusterDomain, 'corp.example');
    assert.ok(!c.diagnostics.some((d) => d.code === 'config-assumed' && d.source === 'clusterDomain'), 'not assumed');
    const ignored = c.diagnostics.filter((d) => d.code === 'config-ignored' && d.source === 'config.yaml');
    assert.deepEqual(ignored.map((d) => d.message), ['KubeletConfiguration keys with no data-plane effect emulated, read and not used: authentication, cgroupDriver, resolvConf']);
  });

  it("kubeadm's kube-system/kubelet-config ConfigMap (key `kubelet`) is read the same", () => {
    const cm = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kubelet-config, namespace: kube-system}\ndata:\n  kubelet: |\n${KUBELET.replace(/^/gm, '    ')}`;
    const c = parseClusterTexts([...overlay, { name: 'kubelet-config.yaml', text: cm }]);
    assert.equal(c.clusterDomain, 'corp.example');
    assert.ok(!c.diagnostics.some((d) => /holds no flannel/.test(d.message)));
  });

  it("clusterDNS gives the DNS servers when no CNI config does; a CNI config's dns.Nameservers win", () => {
    const alone = parseClusterTexts([overlay[0], { name: 'config.yaml', text: KUBELET.replace('10.96.0.10', '10.96.0.99') }]);
    assert.deepEqual(alone.network.dnsServers, ['10.96.0.99']);
    const withCni = parseClusterTexts([...overlay, { name: 'config.yaml', text: KUBELET.replace('10.96.0.10', '10.96.0.99') }]);
    assert.deepEqual(withCni.network.dnsServers, ['10.96.0.10']);
  });

  it('a clusterDomain that is no DNS domain is bad input naming the file and field', () => {
    assert.throws(
      () => parseClusterTexts([...overlay, { name: 'config.yaml', text: KUBELET.replace('corp.example', 'corp_example..') }]),
      /config\.yaml at clusterDomain: clusterDomain "corp_example\.\." is not a DNS domain/,
    );
  });
});

describe('files that describe no node: refused by name with what to give instead', () => {
  it('a kubeconfig, at its kind', () => {
    const kubeconfig = 'apiVersion: v1\nkind: Config\nclusters:\n- cluster: {server: "https://10.127.130.10:6443"}\n  name: kubernetes\nusers: []\n';
    assert.throws(
      () => parseClusterTexts([{ name: 'admin.conf', text: kubeconfig }]),
      /admin\.conf at kind: this is a kubeconfig \(how to reach the API server\): it holds no cluster object; give the cluster's objects instead, e\.g\. `kubectl get nodes,pods,services,endpointslices -A -o yaml > cluster\.yaml`/,
    );
  });

  it("Microsoft/SDN's KubeCluster.ps1 config (real file), at Cni, through the CLI (exit 2, no stack trace)", () => {
    const file = path.join(ROOT, 'test', 'fixtures-cluster', 'real', 'sdn-kubeclustervxlan.json');
    const r = spawnSync(process.execPath, [CLI, 'rules', '--cluster', file], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /sdn-kubeclustervxlan\.json at Cni: this is the configuration of Microsoft\/SDN's KubeCluster\.ps1 installer, not what a node runs; give the CNI config it writes on the node/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
});

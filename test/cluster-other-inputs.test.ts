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
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { InputError } from '../src/core/errors';
import { loadCluster } from '../src/cluster/load';

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

  it("kubectl's table and describe output are refused naming the command that gives the objects", () => {
    const table = 'NAME            STATUS   ROLES    AGE   VERSION   INTERNAL-IP      EXTERNAL-IP   OS-IMAGE\nwin-1           Ready    <none>   80m   v1.29.1   10.127.130.11    <none>        Windows Server 2022 Datacenter\n';
    assert.throws(
      () => parseClusterTexts([{ name: 'nodes.txt', text: table }]),
      /nodes\.txt at byte offset 0: this is kubectl's table output \(kubectl get without -o\), which shows only some fields; run `kubectl get nodes,pods,services,endpointslices -A -o yaml > cluster\.yaml`/,
    );
    const pods = '\nNAMESPACE     NAME        READY   STATUS    RESTARTS   AGE\ndefault       web-0       1/1     Running   0          5m\n';
    assert.throws(() => parseClusterTexts([{ name: 'pods.txt', text: pods }]), /pods\.txt at byte offset 1: this is kubectl's table output/);
    const describe = 'Name:               win-1\nRoles:              <none>\nLabels:             kubernetes.io/os=windows\nAddresses:\n  InternalIP:  10.127.130.11\nPodCIDR:                      10.244.1.0/24\n';
    assert.throws(() => parseClusterTexts([{ name: 'node.txt', text: describe }]), /node\.txt at byte offset 0: this is kubectl's describe output, which shows only some fields/);
  });

  it('a packet capture or an archive given with --cluster is named (offset 0), not "cannot tell what kind"', () => {
    const trace = path.join(ROOT, 'traces', '02-overlay', 'trace.pcapng');
    const r = spawnSync(process.execPath, [CLI, 'rules', '--cluster', trace], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.equal(r.stderr, `vfp-emu: ${trace} at byte offset 0: this is a packet capture (pcapng): give it as the TRACE argument of replay, decode or explain, not with --cluster\n`);
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'vfp-bin-'));
    try {
      const cases: [string, number[], RegExp][] = [
        ['le.pcap', [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0], /packet capture \(pcap\)/],
        ['logs.zip', [0x50, 0x4b, 0x03, 0x04, 20, 0], /a zip archive .*unpack it and give the files in it/],
      ];
      for (const [name, bytes, re] of cases) {
        const file = path.join(tmp, name);
        writeFileSync(file, Buffer.from(bytes));
        assert.throws(() => loadCluster([file]), (e: unknown) => e instanceof InputError && e.offset === 0 && re.test(e.message));
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('a directory (a CNI config directory given whole) says to give its files, not EISDIR', () => {
    const r = spawnSync(process.execPath, [CLI, 'rules', '--cluster', OVERLAY], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.equal(r.stderr, `vfp-emu: ${OVERLAY}: this is a directory, not a file: give the files in it, each with --cluster (of a CNI config directory, the runtime uses the first .conf/.conflist/.json file in name order)\n`);
  });

  it("Microsoft/SDN's KubeCluster.ps1 config (real file), at Cni, through the CLI (exit 2, no stack trace)", () => {
    const file = path.join(ROOT, 'test', 'fixtures-cluster', 'real', 'sdn-kubeclustervxlan.json');
    const r = spawnSync(process.execPath, [CLI, 'rules', '--cluster', file], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /sdn-kubeclustervxlan\.json at Cni: this is the configuration of Microsoft\/SDN's KubeCluster\.ps1 installer, not what a node runs; give the CNI config it writes on the node/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
});

describe('kube-proxy start scripts as nodes have them (a script whose first command is not kube-proxy)', () => {
  const REAL = path.join(ROOT, 'test', 'fixtures-cluster', 'real');
  const texts = (...names: string[]) => names.map((n) => ({ name: n, text: readFileSync(path.join(REAL, n), 'utf8') }));
  const L2 = path.join(ROOT, 'traces', '_clusters', 'l2bridge');
  const l2 = ['kubectl.json', 'cni.conf'].map((f) => ({ name: f, text: readFileSync(path.join(L2, f), 'utf8') }));

  it("aks-engine's kubeproxystart.ps1: its kube-proxy line read (mode, placeholders), the other commands named", () => {
    // before: "not valid YAML ... this looks like a script that starts kube-proxy" although it runs one command line
    const c = parseClusterTexts([...l2, ...texts('aks-engine-kubeproxystart.ps1')]);
    const mine = c.diagnostics.filter((d) => d.source.startsWith('aks-engine-kubeproxystart.ps1'));
    const line = (code: string) => mine.filter((d) => d.code === code).map((d) => `${d.source}: ${d.message}`);
    assert.deepEqual(line('config-placeholder').map((s) => s.slice(0, s.indexOf(':', s.indexOf(': ') + 2))), [
      'aks-engine-kubeproxystart.ps1:line 8 KUBE_NETWORK: env KUBE_NETWORK=$KubeNetwork',
      'aks-engine-kubeproxystart.ps1:line 27 --hostname-override: kube-proxy --hostname-override=$env',
    ]);
    assert.ok(line('config-ignored').some((s) => /line 27: kube-proxy flags with no effect on the data plane, read and not used: --v=3 --kubeconfig=\$KubeDir\\config$/.test(s)));
    assert.ok(line('config-ignored').some((s) => /commands that do not run kube-proxy, read and not used: line 1: \$Global:ClusterConfiguration; .*line 25: Get-HnsPolicyList/.test(s)));
  });

  it('a generated kubeproxystart.ps1 with its values written in: KUBE_NETWORK applied, an unknown --hostname-override named', () => {
    const script = '$env:KUBE_NETWORK = "l2bridge"\n$global:NetworkMode = "L2Bridge"\n$hnsNetwork = Get-HnsNetwork | ? Name -EQ $global:NetworkMode.ToLower()\nwhile (!$hnsNetwork)\n{\n    Start-Sleep 10\n    $hnsNetwork = Get-HnsNetwork | ? Name -EQ $global:NetworkMode.ToLower()\n}\n\nc:\\k\\kube-proxy.exe --v=3 --proxy-mode=kernelspace --hostname-override=34763k8s9010 --kubeconfig=c:\\k\\config\n';
    const c = parseClusterTexts([...l2, { name: 'kubeproxystart.ps1', text: script }]);
    // the network kube-proxy looks for (KUBE_NETWORK) is not the CNI config's cbr0: the warning names both
    assert.ok(c.diagnostics.some((d) => d.code === 'config-network-name-mismatch' && /looks for HNS network l2bridge .* but the network is cbr0/.test(d.message)));
    const unknown = c.diagnostics.filter((d) => d.code === 'config-unknown-node' && d.source === 'kubeproxystart.ps1:line 10 --hostname-override');
    assert.equal(unknown.length, 1);
    assert.match(unknown[0].message, /^kube-proxy's hostname 34763k8s9010 names no node of the inputs \(Windows nodes: win-1, win-2\): its settings are applied to every Windows node/);
  });

  it("microsoft/SDN's windows start-kubeproxy.ps1 (Param block first) is read; its flannel one, which runs kube-proxy on two lines by $NetworkMode, is refused naming them", () => {
    const c = parseClusterTexts([...l2, ...texts('sdn-windows-start-kubeproxy.ps1')]);
    assert.ok(c.diagnostics.some((d) => d.code === 'config-placeholder' && d.source === 'sdn-windows-start-kubeproxy.ps1:line 10 KUBE_NETWORK'));
    const r = spawnSync(process.execPath, [CLI, 'rules', '--cluster', path.join(REAL, 'sdn-flannel-start-kubeproxy.ps1')], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /sdn-flannel-start-kubeproxy\.ps1 at line 27: the script runs kube-proxy on 2 lines \(17, 27\); which one runs is decided when the script runs, so it is not read: give the command line it runs instead/);
  });
});

describe("flannel's delegate against the network mode another input gives", () => {
  it('a win-overlay delegate beside a host-gw net-conf.json (microsoft/SDN files of the two modes) is a config-mismatch error naming both', () => {
    // before: only config-override warnings, and the node was emulated as a working l2bridge node
    const fx = (n: string) => ({ name: n, text: readFileSync(path.join(ROOT, 'test', 'fixtures-cluster', n), 'utf8') });
    const c = parseClusterTexts([overlay[0], fx('sdn-overlay-cni.conf'), fx('sdn-l2bridge-net-conf.json')]);
    const d = c.diagnostics.filter((x) => x.code === 'config-mismatch');
    assert.equal(d.length, 1);
    assert.equal(d[0].severity, 'error');
    assert.equal(d[0].source, 'sdn-overlay-cni.conf:delegate.type');
    assert.match(d[0].message, /^flannel's delegate win-overlay needs an Overlay network, but the network is l2bridge \(sdn-l2bridge-net-conf\.json:Backend\.type\): the plugin fails with "network is of unexpected type"$/);
    const ok = parseClusterTexts([overlay[0], fx('sdn-overlay-cni.conf'), fx('sdn-overlay-net-conf.json')]);
    assert.equal(ok.diagnostics.filter((x) => x.code === 'config-mismatch').length, 0);
  });
});

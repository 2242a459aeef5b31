/**
 * kube-proxy as Windows nodes start it (issue 11): a file holding its command line (plain, PowerShell with
 * backticks, `wins cli process run --args`), a DaemonSet or Pod manifest, a script in a ConfigMap; from the
 * sig-windows-tools files in test/fixtures-cluster/real (SOURCES.md). Each fixture -> the proxy settings
 * loaded; placeholders named; --config precedence as kube-proxy's options.go; bad values exit 2 naming the
 * file and the flag.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { detectClusterText, loadCluster, parseClusterText, parseClusterTexts } from '../src/cluster';
import { throwsInput } from './io-helpers';
import type { Cluster } from '../src/cluster/model';
import { shellCommands } from '../src/cluster/importers/shell-words';

const ROOT = path.resolve(__dirname, '..', '..');
const FIX = path.join(ROOT, 'test', 'fixtures-cluster');
const real = (name: string) => path.join(FIX, 'real', name);
const CLI = path.join(ROOT, 'dist', 'src', 'cli.js');
const diags = (c: Cluster, code: string) => c.diagnostics.filter((d) => d.code === code);

/** An overlay cluster for the settings to land in (one Windows node, podCIDR 10.244.1.0/24). */
const NODES = `apiVersion: v1
kind: Node
metadata: {name: win-1, labels: {kubernetes.io/os: windows}}
spec: {podCIDR: 10.244.1.0/24}
status: {addresses: [{type: InternalIP, address: 10.0.0.11}]}
`;

describe('kube-proxy inputs: shell words', () => {
  it('splits as sh and PowerShell do: quotes, escapes, continuations, variables', () => {
    const sh = shellCommands(`kube-proxy --a="x y" --b='$z' \\\n --c=$HOST # comment\nnext 'it''s'`, 'posix');
    assert.deepEqual(sh[0].words.map((w) => [w.text, w.dynamic]), [['kube-proxy', false], ['--a=x y', false], ['--b=$z', false], ['--c=$HOST', true]]);
    assert.deepEqual(sh[1].words.map((w) => w.text), ['next', 'its']);
    const ps = shellCommands('& "C:\\k\\kube-proxy.exe" `\n  --x="a `"b`"" `\n  --y=$($env:A)/b', 'powershell');
    assert.equal(ps.length, 1);
    assert.deepEqual(ps[0].words.map((w) => [w.text, w.dynamic]), [['&', false], ['C:\\k\\kube-proxy.exe', false], ['--x=a "b"', false], ['--y=$($env:A)/b', true]]);
  });
});

describe('kube-proxy inputs: command-line files', () => {
  it('is told from content: the first command runs kube-proxy(.exe), after comments, `&`, a path, quotes or $env: settings', () => {
    for (const f of ['swt-kube-proxy-hpc-start.ps1.txt', 'swt-calico-kube-proxy-start.ps1.txt']) {
      assert.deepEqual(detectClusterText('any.yaml', readFileSync(real(f), 'utf8')), ['kube-proxy-cmdline'], f);
    }
    assert.deepEqual(detectClusterText('x', '/opt/bin/kube-proxy --v=2\n'), ['kube-proxy-cmdline']);
    assert.deepEqual(detectClusterText('x', 'wins cli process run --path /k/kube-proxy/kube-proxy.exe --args "--v=6"\n'), ['kube-proxy-cmdline']);
    assert.throws(() => detectClusterText('x', 'kubelet.exe --v=2\n'), /cannot tell what kind/);
  });

  it('a plain command line: every Windows flag read, other gates and flags listed, unknown flags warned', () => {
    const line = 'C:\\k\\kube-proxy.exe --v=4 --proxy-mode=kernelspace --feature-gates="WinDSR=true,WinOverlay=true,IPv6DualStack=false" ' +
      '--source-vip=10.244.1.2 --enable-dsr=true --network-name vxlan0 --cluster-cidr=10.244.0.0/16 --hostname-override=WIN-1 ' +
      '--root-hnsendpoint-name=cbr1 --healthz-bind-address=0.0.0.0:10999 --kubeconfig c:\\k\\config --no-such-flag=1\n';
    const c = parseClusterTexts([{ name: 'nodes.yaml', text: NODES }, { name: 'kp.cmd', text: line }]);
    assert.deepEqual(c.proxy, { enableDSR: true, featureGates: { WinDSR: true, WinOverlay: true }, sourceVip: '10.244.1.2', networkName: 'vxlan0', healthzPort: 10999 });
    assert.deepEqual(c.network.clusterCidrs, ['10.244.0.0/16']);
    assert.equal(c.network.name, 'vxlan0');
    const info = diags(c, 'config-ignored').map((d) => d.message);
    assert.ok(info.some((m) => m.includes('IPv6DualStack=false')), info.join('\n'));
    assert.ok(info.some((m) => m.includes('--v=4') && m.includes('--kubeconfig=c:\\k\\config')), info.join('\n'));
    assert.match(diags(c, 'config-kube-proxy-flags')[0].message, /--no-such-flag=1/);
    assert.equal(diags(c, 'config-kube-proxy-flags')[0].source, 'kp.cmd:line 1');
  });

  it('--proxy-mode other than kernelspace is a warning, as for the config file', () => {
    const c = parseClusterText('kp.sh', 'kube-proxy --proxy-mode ipvs\n');
    assert.match(diags(c, 'config-kube-proxy-mode')[0].message, /--proxy-mode=ipvs does not exist on Windows/);
  });

  it('sig-windows-tools HostProcess flannel start.ps1: WinOverlay read, $env:NODE_NAME and $vip are placeholders', () => {
    const c = loadCluster([real('swt-kube-proxy-hpc-start.ps1.txt')]);
    assert.deepEqual(c.proxy.featureGates, { WinDSR: true, WinOverlay: true });
    assert.equal(c.proxy.sourceVip, null, '$vip is not applied');
    const ph = diags(c, 'config-placeholder');
    assert.deepEqual(ph.map((d) => d.message.replace(/:.*/, '')), ['kube-proxy --hostname-override=$env', 'kube-proxy --source-vip=$vip']);
    assert.ok(ph.every((d) => d.severity === 'warning'));
    assert.match(ph[1].source, /swt-kube-proxy-hpc-start\.ps1\.txt:line 7 --source-vip$/);
  });

  it('sig-windows-tools HostProcess calico start.ps1: DSR on, WinDSR and WinOverlay, KUBE_NETWORK Calico', () => {
    const c = loadCluster([real('swt-calico-kube-proxy-start.ps1.txt')]);
    assert.equal(c.proxy.enableDSR, true);
    assert.deepEqual(c.proxy.featureGates, { WinDSR: true, WinOverlay: true });
    assert.equal(c.proxy.networkName, 'Calico', 'env KUBE_NETWORK, the fallback for --network-name');
    assert.equal(c.network.name, 'Calico');
    assert.ok(diags(c, 'config-placeholder').some((d) => d.message.startsWith('kube-proxy --source-vip=$sourceVip')));
  });

  it('--network-name wins over KUBE_NETWORK, whatever the order', () => {
    const c = parseClusterText('kp.ps1', 'kube-proxy.exe --network-name=flannel.4096\n$env:KUBE_NETWORK="Calico"\n');
    assert.equal(c.proxy.networkName, 'flannel.4096');
  });

  it('with --config, kube-proxy ignores every flag but logging and --hostname-override (options.go Complete)', () => {
    const c = parseClusterText('kp.sh', 'kube-proxy --config=/var/lib/kube-proxy/config.conf --enable-dsr=true --feature-gates=WinDSR=false --hostname-override=win-1 --v=2\n');
    assert.equal(c.proxy.enableDSR, false, 'not applied: the config file replaces it');
    assert.equal(c.proxy.featureGates.WinDSR, true);
    const d = diags(c, 'config-kube-proxy-config')[0];
    assert.equal(d.severity, 'warning');
    assert.match(d.message, /--config=\/var\/lib\/kube-proxy\/config\.conf.*pass that file.*ignores these flags.*--enable-dsr=true --feature-gates=WinDSR=false$/);
  });
});

describe('kube-proxy inputs: the KubeProxyConfiguration file', () => {
  it('keys it does not use are named in one info diagnostic, never skipped in silence', () => {
    const c = parseClusterText('kp.yaml', 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nclientConnection: {kubeconfig: /k/config}\nfeatureGates: {WinDSR: true, Foo: true}\nwinkernel: {enableDSR: true, bogus: 1}\n');
    assert.equal(c.proxy.enableDSR, true);
    const d = diags(c, 'config-ignored');
    assert.equal(d.length, 1);
    assert.match(d[0].message, /read and not used: clientConnection, winkernel\.bogus, featureGates\.Foo$/);
  });
});

describe('kube-proxy inputs: --hostname-override', () => {
  const nodes = [0, 1]
    .map((n) => `apiVersion: v1\nkind: Node\nmetadata: {name: win-${n}, labels: {kubernetes.io/os: windows}}\nspec: {podCIDR: 10.100.${n}.0/24}\nstatus: {addresses: [{type: InternalIP, address: 10.0.0.${n + 1}}]}\n`)
    .join('---\n');
  const cni = '{"cniVersion":"0.2.0","name":"vxlan0","type":"win-overlay","ipMasq":true}';
  it('the --source-vip belongs to the node --hostname-override names (lower-cased, as kube-proxy does)', () => {
    const c = parseClusterTexts([{ name: 'nodes.yaml', text: nodes }, { name: 'cni.conf', text: cni }, { name: 'kp.txt', text: 'kube-proxy.exe --source-vip=10.100.1.5 --hostname-override=WIN-0\n' }]);
    assert.deepEqual(c.nodes.map((n) => [n.name, n.sourceVip]), [['win-0', '10.100.1.5'], ['win-1', '10.100.1.2']]);
  });
  it("a KubeProxyConfiguration's hostnameOverride is trimmed and lower-cased too (nodeutil.GetHostname)", () => {
    const kp = 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nhostnameOverride: " WIN-0 "\nwinkernel: {sourceVip: 10.100.1.5}\n';
    const c = parseClusterTexts([{ name: 'nodes.yaml', text: nodes }, { name: 'cni.conf', text: cni }, { name: 'kp.yaml', text: kp }]);
    assert.deepEqual(c.nodes.map((n) => [n.name, n.sourceVip]), [['win-0', '10.100.1.5'], ['win-1', '10.100.1.2']]);
  });
  it('without it, the node whose podCIDR holds the VIP', () => {
    const c = parseClusterTexts([{ name: 'nodes.yaml', text: nodes }, { name: 'cni.conf', text: cni }, { name: 'kp.txt', text: 'kube-proxy.exe --source-vip=10.100.1.5\n' }]);
    assert.deepEqual(c.nodes.map((n) => [n.name, n.sourceVip]), [['win-0', '10.100.0.2'], ['win-1', '10.100.1.5']]);
  });
});

describe('kube-proxy inputs: manifests', () => {
  it('sig-windows-tools HostProcess flannel DaemonSet: env KUBE_NETWORK flannel.4096, the flags are in the image (noted)', () => {
    const c = loadCluster([real('swt-kube-proxy-hpc.yml')]);
    assert.equal(c.proxy.networkName, 'flannel.4096');
    assert.equal(c.network.name, 'flannel.4096');
    assert.ok(diags(c, 'config-ignored').some((d) => /kube-proxy container \(image sigwindowstools\/kube-proxy:KUBE_PROXY_VERSION-flannel-hostprocess\) has no command/.test(d.message)));
  });

  it('sig-windows-tools kubeadm kube-proxy.yml: the wins line of run-script.ps1 is read, --feature-gates named as ignored under --config', () => {
    const c = loadCluster([real('swt-kubeadm-kube-proxy.yml')]);
    const d = diags(c, 'config-kube-proxy-config')[0];
    assert.match(d.source, /data\["run-script\.ps1"\] line \d+$/);
    assert.match(d.message, /--config=\/var\/lib\/kube-proxy\/config\.conf.*--feature-gates=WinOverlay=true/);
    assert.ok(diags(c, 'config-placeholder').some((x) => x.message.startsWith('kube-proxy --hostname-override=$env:NODE_NAME')));
    assert.ok(diags(c, 'config-ignored').some((x) => /edits kube-proxy's config file with yq.*winkernel\.sourceVip \$sourceVip/.test(x.message)));
    assert.ok(!c.diagnostics.some((x) => /ConfigMap kube-system\/kube-proxy-windows holds no/.test(x.message)), 'the ConfigMap is used');
  });

  it('a Pod whose container runs kube-proxy: args read, $(VAR) expanded from env values, valueFrom a placeholder', () => {
    const pod = `apiVersion: v1
kind: Pod
metadata: {name: kube-proxy-x, namespace: kube-system}
spec:
  nodeSelector: {kubernetes.io/os: windows}
  containers:
  - name: kube-proxy
    image: registry.k8s.io/kube-proxy:v1.33.0
    command: [C:/k/kube-proxy.exe]
    args: [--enable-dsr, --source-vip, $(VIP), --hostname-override=$(NODE_NAME), --feature-gates=WinDSR=true]
    env:
    - {name: VIP, value: 10.244.1.2}
    - {name: KUBE_NETWORK, value: vxlan0}
    - name: NODE_NAME
      valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
`;
    const c = parseClusterTexts([{ name: 'nodes.yaml', text: NODES }, { name: 'pod.yaml', text: pod }]);
    assert.equal(c.proxy.enableDSR, true);
    assert.equal(c.proxy.sourceVip, '10.244.1.2');
    assert.equal(c.proxy.networkName, 'vxlan0');
    const ph = diags(c, 'config-placeholder');
    assert.equal(ph.length, 1);
    assert.match(ph[0].message, /--hostname-override=\$\(NODE_NAME\)/);
    assert.equal(ph[0].source, 'pod.yaml:spec.containers[0].args[3]');
  });

  it('env KUBE_NETWORK known only on the node (valueFrom, a script variable) is a placeholder, not applied', () => {
    const pod = `apiVersion: v1
kind: Pod
metadata: {name: kube-proxy-y, namespace: kube-system}
spec:
  containers:
  - name: kube-proxy
    image: registry.k8s.io/kube-proxy:v1.33.0
    command: [C:/k/kube-proxy.exe, --v=2]
    env:
    - name: KUBE_NETWORK
      valueFrom: {configMapKeyRef: {name: net, key: name}}
`;
    const c = parseClusterTexts([{ name: 'nodes.yaml', text: NODES }, { name: 'pod.yaml', text: pod }]);
    const [fromPod] = diags(c, 'config-placeholder');
    assert.match(fromPod.message, /^env KUBE_NETWORK of Pod kube-proxy-y \(valueFrom\): the value is filled in on the node/);
    assert.equal(fromPod.source, 'pod.yaml:spec.containers[0].env[0]');
    const s = parseClusterTexts([{ name: 'nodes.yaml', text: NODES }, { name: 'kp.ps1', text: '$env:KUBE_NETWORK=$net\nkube-proxy.exe --v=2\n' }]);
    const [fromScript] = diags(s, 'config-placeholder');
    assert.match(fromScript.message, /^env KUBE_NETWORK=\$net: the value is filled in on the node/);
    for (const x of [c, s]) assert.notEqual(x.proxy.networkName, '$net');
  });

  it("a Linux node's kube-proxy DaemonSet is recognised and not applied", () => {
    const ds = `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: kube-proxy, namespace: kube-system}
spec:
  template:
    spec:
      nodeSelector: {kubernetes.io/os: linux}
      containers:
      - name: kube-proxy
        image: registry.k8s.io/kube-proxy:v1.33.0
        command: [/usr/local/bin/kube-proxy, --config=/var/lib/kube-proxy/config.conf, --proxy-mode=iptables]
`;
    const c = parseClusterText('ds.yaml', ds);
    assert.ok(diags(c, 'config-ignored').some((d) => /runs kube-proxy on Linux nodes/.test(d.message)));
    assert.equal(diags(c, 'config-kube-proxy-mode').length, 0);
  });
});

describe('kube-proxy inputs: bad values exit 2 naming the file and the flag', () => {
  const cases: [string, string, RegExp][] = [
    ['kube-proxy.exe --enable-dsr=yes\n', 'bad.txt at byte offset 15', /--enable-dsr=yes: not a boolean.*\(line 1, column 16\)/],
    ['kube-proxy \\\n  --enable-dsr false\n', 'bad.txt at byte offset 28', /no positional arguments, found "false" \(a bool flag takes its value only as --enable-dsr=false\) \(line 2, column 16\)/],
    ['kube-proxy --source-vip=10.244.1\n', 'bad.txt at byte offset 11', /--source-vip=10\.244\.1: not an IP address/],
    ['kube-proxy --feature-gates=WinDSR\n', 'bad.txt at byte offset 11', /--feature-gates: missing bool value for WinDSR/],
    ['kube-proxy --cluster-cidr=10.244.0.0\n', 'bad.txt at byte offset 11', /--cluster-cidr=10\.244\.0\.0: "10\.244\.0\.0" is not a CIDR/],
    ['kube-proxy --network-name "open\n', 'bad.txt at byte offset 26', /a double quote that is never closed \(line 1, column 27\)/],
    ['wins cli process run --path /k/kube-proxy.exe --args "--v=6 --source-vip=1.2.3"\n', 'bad.txt at byte offset', /--source-vip=1\.2\.3: not an IP address/],
  ];
  for (const [text, at, detail] of cases) {
    it(`${JSON.stringify(text.trim())}`, () => {
      const e = throwsInput(() => parseClusterText('bad.txt', text));
      assert.ok(e.message.startsWith(at), e.message);
      assert.match(e.message, detail);
    });
  }

  it('fuzz input 796 (smoke run): a quote never closed where the text cut at it reads as another dialect is exit 2, not a crash', () => {
    const e = throwsInput(() => parseClusterText('bad.txt', 'kube-proxy a`b "c\n$env:X\n'));
    assert.match(e.message, /^bad\.txt at byte offset 15: a double quote that is never closed \(line 1, column 16\)$/);
  });

  it('the start.ps1 script itself (arguments built in variables) is refused with the way out', () => {
    const e = throwsInput(() => loadCluster([real('swt-calico-kube-proxy-start.ps1')]));
    assert.match(e.message, /swt-calico-kube-proxy-start\.ps1 at byte offset \d+: not valid YAML: .*this looks like a script that starts kube-proxy: give the command line it runs instead/s);
  });

  it('in a manifest the error names the field of the argument', () => {
    const pod = '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"kp"},"spec":{"containers":[{"name":"kp","command":["kube-proxy","--enable-dsr=maybe"]}]}}';
    const e = throwsInput(() => parseClusterText('pod.json', pod));
    assert.equal(e.fieldPath, 'spec.containers[0].command[1]');
    assert.match(e.message, /--enable-dsr=maybe: not a boolean/);
  });

  it('the CLI exits 2 with the message, no stack trace', function () {
    this.timeout(60000);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kp-'));
    try {
      const file = path.join(dir, 'kube-proxy.cmd');
      writeFileSync(file, 'kube-proxy.exe --v=4 --enable-dsr=ja\n');
      const r = spawnSync(process.execPath, [CLI, 'rules', '--cluster', file], { encoding: 'utf8' });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /kube-proxy\.cmd at byte offset 21: --enable-dsr=ja: not a boolean/);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

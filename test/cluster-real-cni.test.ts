/**
 * Real public CNI configs and manifests (test/fixtures-cluster/real, SOURCES.md): what a node running them
 * applies is what the loaded Cluster holds (every exception, route, provider address and ACL), what the
 * plugins drop or the emulator does not model is a named diagnostic, and what is not emulated is refused by
 * name through the CLI (exit 2 naming the file and the field).
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadCluster, parseClusterTexts } from '../src/cluster';
import type { Cluster } from '../src/cluster/model';

const ROOT = path.resolve(__dirname, '..', '..');
const REAL = path.join(ROOT, 'test', 'fixtures-cluster', 'real');
const real = (name: string) => path.join(REAL, name);
const CLI = path.join(ROOT, 'dist', 'src', 'cli.js');
/** A Windows node (win-3, 10.127.130.13, podCIDR 10.244.3.0/24) with a pod, to give the configs a node. */
const NODE = path.join(ROOT, 'traces', '01-l2bridge', 'win-3.yaml');

const load = (...names: string[]) => loadCluster([...names.map(real), NODE]);
const diags = (c: Cluster, code: string) => c.diagnostics.filter((d) => d.code === code);

/** Runs `vfp-emu rules --cluster FILE...`; returns the exit status and stderr. */
function rules(...files: string[]): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, [CLI, 'rules', ...files.flatMap((f) => ['--cluster', f])], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe('real CNI configs: microsoft/windows-container-networking examples (AdditionalArgs, optionalFlags)', () => {
  it('l2bridge.conf: every AdditionalArgs EndpointPolicy applied; "l2bridge" read as sdnbridge with a note', () => {
    const c = load('wcn-l2bridge.conf');
    assert.equal(c.network.name, 'l2bridgeNetwork');
    assert.equal(c.network.mode, 'l2bridge');
    assert.equal(c.network.outboundNat, true);
    assert.deepEqual(c.network.outboundNatExceptions, ['192.168.0.0/16', '11.0.0.0/8', '10.124.24.0/23']);
    assert.deepEqual(c.network.routes, [
      { destinationPrefix: '11.0.0.0/8', needEncap: true },
      { destinationPrefix: '10.124.24.196/32', needEncap: true },
    ]);
    assert.deepEqual(c.network.dnsServers, ['11.0.0.10']);
    assert.equal(c.network.loopbackDSR, false, 'optionalFlags.loopbackDSR false');
    const renamed = diags(c, 'cni-type-renamed');
    assert.equal(renamed.length, 1);
    assert.match(renamed[0].source, /wcn-l2bridge\.conf:type$/);
    const unmodelled = diags(c, 'cni-not-emulated');
    assert.equal(unmodelled.length, 1);
    assert.match(unmodelled[0].message, /^read but not modelled: ipam subnet 192\.168\.1\.0\/24 .*; master "Ethernet" \(the host adapter\)$/);
  });

  it('flannel_l2bridge.conf (NBSP-indented upstream): refused with the byte offset and the character named', () => {
    const r = rules(real('wcn-flannel-sdnbridge-nbsp.conf'));
    assert.equal(r.status, 2);
    assert.match(r.stderr, /wcn-flannel-sdnbridge-nbsp\.conf at byte offset 2: not valid JSON: .*U\+00A0/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });

  it('flannel_l2bridge.conf: delegate sdnbridge, two SDNRoutes, forceBridgeGateway named as not emulated', () => {
    const c = load('wcn-flannel-sdnbridge.conf');
    assert.equal(c.network.plugin, 'flannel');
    assert.equal(c.network.mode, 'l2bridge');
    assert.equal(c.network.name, 'cbr0');
    assert.deepEqual(c.network.outboundNatExceptions, ['10.244.0.0/16', '10.96.0.0/12'], 'sdnbridge drops the ipMasqNetwork flannel hands it');
    assert.deepEqual(c.network.routes, [
      { destinationPrefix: '10.96.0.0/12', needEncap: true },
      { destinationPrefix: '10.132.34.98/32', needEncap: true },
    ]);
    const flags = diags(c, 'cni-not-emulated');
    assert.deepEqual(flags.map((d) => d.source.replace(/^.*\.conf:?/, '')), ['delegate.optionalFlags.forceBridgeGateway']);
  });

  it('flannel_overlay.conf: "ip of host" is a placeholder: warned, the InternalIP assumed as PA, the run goes on', () => {
    const c = load('wcn-flannel-sdnoverlay.conf');
    assert.equal(c.network.mode, 'overlay');
    assert.equal(c.network.name, 'vxlan0');
    assert.deepEqual(c.network.outboundNatExceptions, ['10.244.0.0/16', '10.96.0.0/12']);
    assert.deepEqual(c.network.routes, [{ destinationPrefix: '10.96.0.0/12', needEncap: true }]);
    const ph = diags(c, 'config-placeholder');
    assert.equal(ph.length, 1);
    assert.equal(ph[0].severity, 'warning');
    assert.match(ph[0].source, /:delegate\.AdditionalArgs\[2\]\.Value\.Settings\.ProviderAddress$/);
    assert.match(ph[0].message, /"ip of host"/);
    assert.equal(c.nodes.find((n) => n.name === 'win-3')?.providerAddress, '10.127.130.13');
    assert.deepEqual(c.nodes.find((n) => n.name === 'win-3')?.outboundNatExceptions ?? [], [], 'no ipMasq node-subnet exception: sdnoverlay has no ipMasq');
  });

  it('l2bridge-dualstack-cni-template.conf: tokens named, both OutBoundNATs and every filled-in ACL read, flags named', () => {
    const c = load('wcn-dualstack-template.conf');
    assert.deepEqual(c.network.outboundNatExceptions, ['192.168.0.0/24', '10::/120']);
    assert.deepEqual(c.network.acls, [
      { action: 'Allow', direction: 'In', protocols: [6], localAddresses: [], remoteAddresses: [], localPorts: [[1111, 1111]], remotePorts: [], priority: 101, ruleType: 'Switch' },
      { action: 'Block', direction: 'Out', protocols: [], localAddresses: [], remoteAddresses: ['192.168.0.0/24'], localPorts: [], remotePorts: [], priority: 1999, ruleType: 'Switch' },
      { action: 'Block', direction: 'Out', protocols: [], localAddresses: [], remoteAddresses: ['10::/120'], localPorts: [], remotePorts: [], priority: 1999, ruleType: 'Switch' },
      { action: 'Allow', direction: 'Out', protocols: [], localAddresses: [], remoteAddresses: [], localPorts: [], remotePorts: [], priority: 2000, ruleType: 'Switch' },
    ]);
    const where = diags(c, 'config-placeholder').map((d) => d.source.replace(/^.*\.conf:/, ''));
    assert.deepEqual(where, [
      'type',
      'name',
      'dns.Nameservers[0]',
      'AdditionalArgs[0].Value.Settings.Exceptions[1]',
      'AdditionalArgs[1].Value.Settings.Exceptions[1]',
      'AdditionalArgs[3].Value.Settings.RemoteAddresses',
      'AdditionalArgs[4].Value.Settings.RemoteAddresses',
      'AdditionalArgs[5].Value.Settings.RemoteAddresses',
      'AdditionalArgs[6].Value.Settings.RemoteAddresses',
    ]);
    const flags = diags(c, 'cni-not-emulated').filter((d) => d.source.includes(':optionalFlags.')).map((d) => d.source.replace(/^.*:optionalFlags\./, ''));
    assert.deepEqual(flags, ['localRoutedPortMapping', 'allowAclPortMapping', 'enableDualStack', 'gatewayFromAdditionalRoutes']);
  });

  it('the dual-stack template filled in: its IPv6 OutBoundNAT exceptions are named as read but deciding nothing', () => {
    const text = readFileSync(real('wcn-dualstack-template.conf'), 'utf8')
      .replace('{{TYPE}}', 'sdnbridge')
      .replace('{{NAME}}', 'l2bridge')
      .replace(/\{\{[A-Z_0-9]+IPV6\}\}/g, 'fd00::5')
      .replace(/\{\{[A-Z_0-9]+\}\}/g, '10.244.3.5');
    const c = parseClusterTexts([{ name: 'filled.conf', text }, { name: NODE, text: readFileSync(NODE, 'utf8') }]);
    const v6 = diags(c, 'cni-not-emulated').filter((d) => /IPv6 OutBoundNAT exceptions/.test(d.message));
    assert.equal(v6.length, 1, JSON.stringify(c.diagnostics));
    assert.match(v6[0].message, /10::(0)?\/120, fd00::5\/128 are read, but IPv6 OutboundNAT is not emulated/);
  });

  it('l2bridgedualstack_host-local_ipam.conf: v4 and v6 exceptions and routes read; a Destinations-scoped OutBoundNAT named, not applied', () => {
    const c = load('wcn-dualstack-host-local.conf');
    assert.equal(c.network.name, 'winl2bridge');
    assert.deepEqual(c.network.outboundNatExceptions, ['192.168.0.0/16', '11.0.0.0/8', '10.124.24.0/23']);
    assert.deepEqual(c.network.routes, [
      { destinationPrefix: '11.0.0.0/8', needEncap: true },
      { destinationPrefix: 'fd00::200/120', needEncap: true },
    ]);
    const scoped = diags(c, 'cni-not-emulated').filter((d) => d.source.endsWith('AdditionalArgs[1].Value.Settings.Destinations'));
    assert.equal(scoped.length, 1);
    assert.match(scoped[0].message, /Destinations \[fd01::192, fd01::193\] \(VirtualIP fc00::123; Exceptions fd03::100\/120, fd04::100\/120\).*not applied/);
  });

  for (const [file, type] of [
    ['wcn-l2tunnel.conf', 'l2tunnel'],
    ['wcn-nat.conf', 'nat'],
  ]) {
    it(`${file}: refused by name, exit 2 naming the file and the field type`, () => {
      const r = rules(real(file));
      assert.equal(r.status, 2);
      assert.match(r.stderr, new RegExp(`${file.replace('.', '\\.')} at type: CNI type "${type}": .*not emulated`));
      assert.equal(r.stdout, '');
    });
  }
});

describe('AdditionalArgs rules of the sdn* plugins (cni/cni.go GetNetworkInfo, network/endpoint.go)', () => {
  const conf = (args: unknown[], extra: Record<string, unknown> = {}) =>
    parseClusterTexts([
      { name: 'sdn.conf', text: JSON.stringify({ cniVersion: '0.2.0', name: 'cbr0', type: 'sdnbridge', AdditionalArgs: args, ...extra }) },
      { name: 'node.yaml', text: readFileSync(NODE, 'utf8') },
    ]);

  it('a v1-flat OutBoundNAT (ExceptionList beside Type) is dropped as the plugin drops it: NAT with no exceptions, warned', () => {
    const c = conf([{ Name: 'EndpointPolicy', Value: { Type: 'OutBoundNAT', ExceptionList: ['10.244.0.0/16'] } }]);
    assert.equal(c.network.outboundNat, true);
    assert.deepEqual(c.network.outboundNatExceptions, []);
    const d = diags(c, 'cni-policy-dropped');
    assert.equal(d.length, 1);
    assert.equal(d[0].severity, 'warning');
    assert.equal(d[0].source, 'sdn.conf:AdditionalArgs[0].Value.ExceptionList');
    assert.match(d[0].message, /no exceptions/);
  });

  it('vfp-emu rules shows it: no OutboundNAT exceptions, and the dropped field named in the diagnostics', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vfp-emu-cni-'));
    const file = path.join(dir, 'flat.conf');
    writeFileSync(file, JSON.stringify({ cniVersion: '0.2.0', name: 'cbr0', type: 'sdnbridge', AdditionalArgs: [{ Name: 'EndpointPolicy', Value: { Type: 'OutBoundNAT', ExceptionList: ['10.244.0.0/16'] } }] }));
    const r = rules(file, NODE);
    rmSync(dir, { recursive: true, force: true });
    assert.equal(r.status, 0);
    assert.match(r.stdout, /OutboundNAT: exceptions <none>;/);
    assert.match(r.stdout, /cni-policy-dropped \[[^\]]*flat\.conf:AdditionalArgs\[0\]\.Value\.ExceptionList\]: /);
    assert.match(r.stdout, /config-nat-exceptions .*do not cover the cluster CIDR/);
  });

  it('a v1-flat ROUTE is not applied; NetworkPolicy and other names are named, not applied', () => {
    const c = conf([
      { Name: 'EndpointPolicy', Value: { Type: 'ROUTE', DestinationPrefix: '10.96.0.0/12', NeedEncap: true } },
      { Name: 'NetworkPolicy', Value: { Type: 'VxlanPort', Settings: { Port: 4789 } } },
      { Name: 'OutBoundNatPolicy', Value: { Type: 'OutBoundNAT', Settings: { Exceptions: ['10.0.0.0/8'] } } },
      { Name: 'Something', Value: {} },
    ]);
    assert.deepEqual(c.network.routes, []);
    assert.deepEqual(c.network.outboundNatExceptions, []);
    assert.equal(c.network.outboundNat, false, 'no EndpointPolicy OutBoundNAT at all');
    assert.deepEqual(diags(c, 'cni-policy-dropped').map((d) => d.source), ['sdn.conf:AdditionalArgs[0].Value.DestinationPrefix', 'sdn.conf:AdditionalArgs[0].Value.NeedEncap']);
    assert.match(diags(c, 'cni-network-policy')[0].message, /"VxlanPort".*not emulated/);
    assert.deepEqual(diags(c, 'cni-policy-unused').map((d) => d.source), ['sdn.conf:AdditionalArgs[2]', 'sdn.conf:AdditionalArgs[3]']);
  });

  it('policy Type matches in any case (sig-windows-tools ships "SDNROUTE"); optionalFlags.loopbackDSR sets loopbackDSR', () => {
    const c = conf([{ Name: 'EndpointPolicy', Value: { Type: 'SDNROUTE', Settings: { DestinationPrefix: '10.96.0.0/12', NeedEncap: true } } }], { optionalFlags: { loopbackDSR: true, bogus: 1 } });
    assert.deepEqual(c.network.routes, [{ destinationPrefix: '10.96.0.0/12', needEncap: true }]);
    assert.equal(c.network.loopbackDSR, true);
    assert.match(diags(c, 'cni-not-emulated').find((d) => d.source === 'sdn.conf:optionalFlags.loopbackDSR')?.message ?? '', /changes no verdict/);
    assert.ok(c.diagnostics.some((d) => d.code === 'config-ignored' && d.source === 'sdn.conf:optionalFlags.bogus'));
  });

  it('the HCN type names L2Bridge and Overlay are accepted (MapCniTypeToHcnType), exact case; lower-case "overlay" is not', () => {
    const one = (type: string) => parseClusterTexts([{ name: 't.conf', text: JSON.stringify({ cniVersion: '0.2.0', name: 'n', type }) }]);
    assert.equal(one('L2Bridge').network.mode, 'l2bridge');
    assert.equal(one('Overlay').network.mode, 'overlay');
    assert.throws(() => one('overlay'), /t\.conf.*type.*CNI plugin type "overlay" is not emulated/s);
    assert.throws(() => one('NAT'), /CNI type "NAT": a NAT network/);
    assert.throws(() => one('sdntunnel'), /CNI type "sdntunnel": an L2Tunnel network is not emulated/);
  });

  it('a PortMapping policy is read and named as not emulated', () => {
    const c = conf([{ Name: 'EndpointPolicy', Value: { Type: 'PortMapping', Settings: { Protocol: 6, InternalPort: 80, ExternalPort: 8080 } } }]);
    const d = diags(c, 'port-mapping-not-emulated');
    assert.equal(d.length, 1);
    assert.match(d[0].message, /host port 8080 -> container port 80/);
  });

  it('sdnbridge with "policies" (a win-bridge field): nothing applied, warned', () => {
    const c = conf([], { policies: [{ name: 'EndpointPolicy', value: { Type: 'OutBoundNAT', ExceptionList: ['10.244.0.0/16'] } }] });
    assert.deepEqual(c.network.outboundNatExceptions, []);
    assert.equal(diags(c, 'cni-policy-unused')[0].source, 'sdn.conf:policies');
  });

  it('a non-boolean optionalFlags value is bad input naming the field (the plugin fails to decode it too)', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vfp-emu-cni-'));
    const file = path.join(dir, 'bad.conf');
    writeFileSync(file, JSON.stringify({ cniVersion: '0.2.0', name: 'n', type: 'sdnbridge', optionalFlags: { loopbackDSR: 'yes' } }));
    const r = rules(file);
    rmSync(dir, { recursive: true, force: true });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /bad\.conf at optionalFlags\.loopbackDSR: /);
  });
});

describe('real manifests: sig-windows-tools templates, the Linux flannel config', () => {
  const tail = (d: { source: string }) => d.source.replace(/^.*?\.yml:/, '');

  it('HostProcess flannel template + the Linux kube-flannel-cfg: placeholders named, start.ps1 values assumed', () => {
    const c = load('swt-flannel-overlay-hpc.yml', 'flannel-kube-flannel-cfg.yml');
    assert.equal(c.network.mode, 'overlay');
    assert.equal(c.network.name, 'flannel.4096');
    assert.deepEqual(c.network.clusterCidrs, ['10.244.0.0/16'], "net-conf.json of the Linux manifest's ConfigMap");
    assert.deepEqual(c.network.outboundNatExceptions, ['10.244.0.0/16', '10.96.0.0/12']);
    assert.deepEqual(c.network.routes, [{ destinationPrefix: '10.96.0.0/12', needEncap: true }], 'SDNROUTE (upper case) read');
    assert.equal(c.nodes.find((n) => n.name === 'win-3')?.providerAddress, '10.127.130.13');
    const ph = diags(c, 'config-placeholder');
    assert.deepEqual(ph.map(tail), [
      'documents[0].data["cni-conf-containerd.json"].delegate.AdditionalArgs[0].Value.Settings.Exceptions',
      'documents[0].data["cni-conf-containerd.json"].delegate.AdditionalArgs[1].Value.Settings.DestinationPrefix',
      'documents[0].data["cni-conf-containerd.json"].delegate.AdditionalArgs[2].Value.Settings.ProviderAddress',
    ]);
    assert.ok(ph.every((d) => d.severity === 'warning' && d.source.includes('swt-flannel-overlay-hpc.yml')));
    assert.ok(c.derived.some((d) => d.startsWith('network.outboundNatExceptions <- ["10.244.0.0/16","10.96.0.0/12"] (the template')));
    assert.ok(c.derived.some((d) => d.startsWith('network.routes <- 10.96.0.0/12 (the template')));
    const linux = diags(c, 'cni-linux-config');
    assert.equal(linux.length, 1);
    assert.equal(tail(linux[0]), 'data["cni-conf.json"].plugins[0]');
  });

  it('the Linux kube-flannel-cfg alone: its CNI config is not applied (no policies: the recommended defaults)', () => {
    const c = load('flannel-kube-flannel-cfg.yml');
    assert.equal(c.network.outboundNat, true);
    assert.deepEqual(c.network.outboundNatExceptions, ['10.244.0.0/16', '10.96.0.0/12', '10.127.130.0/24'], 'the no-CNI-config default list');
  });

  it('kubeadm dockershim-era ConfigMap with both forms: the containerd form is used by default, the other named', () => {
    const c = load('swt-kubeadm-flannel-overlay.yml');
    const chosen = diags(c, 'cni-form-chosen');
    assert.equal(chosen.length, 1);
    assert.equal(tail(chosen[0]), 'documents[0].data["cni-conf.json"]');
    assert.ok(diags(c, 'config-placeholder').every((d) => d.source.includes('cni-conf-containerd.json')));
    assert.equal(diags(c, 'config-placeholder').length, 3);
    assert.equal(diags(c, 'cni-policy-unused').length, 0);
  });

  it('annotation vfp-emu/container-runtime: docker selects the dockershim cni-conf.json (win-overlay, v1 policies)', () => {
    const text = readFileSync(real('swt-kubeadm-flannel-overlay.yml'), 'utf8').replace('  labels:\n    tier: node', '  annotations:\n    vfp-emu/container-runtime: docker\n  labels:\n    tier: node');
    const c = parseClusterTexts([
      { name: 'docker.yml', text },
      { name: 'node.yaml', text: readFileSync(NODE, 'utf8') },
    ]);
    assert.equal(tail(diags(c, 'cni-form-chosen')[0]), 'documents[0].data["cni-conf-containerd.json"]');
    assert.deepEqual(diags(c, 'config-placeholder').map(tail), ['documents[0].data["cni-conf.json"].delegate.policies[0].Value.ExceptionList', 'documents[0].data["cni-conf.json"].delegate.policies[1].Value.DestinationPrefix']);
    assert.deepEqual(c.network.routes, [{ destinationPrefix: '10.96.0.0/12', needEncap: true }]);
  });

  it("kubeadm host-gw template: l2bridge; the node's subnet joins the assumed exceptions; the second route is left out", () => {
    const c = load('swt-kubeadm-flannel-host-gw.yml');
    assert.equal(c.network.mode, 'l2bridge');
    assert.equal(c.network.name, 'cbr0');
    assert.deepEqual(c.network.outboundNatExceptions, ['10.244.3.0/24', '10.96.0.0/12', '10.127.130.0/24']);
    assert.deepEqual(c.network.routes, [{ destinationPrefix: '10.96.0.0/12', needEncap: true }]);
    const ph = diags(c, 'config-placeholder');
    assert.equal(ph.length, 3);
    assert.match(ph[2].message, /left out/);
  });
});

describe('real Azure CNI conflists (Azure/azure-container-networking cni/*.conflist)', () => {
  it('azure-windows.conflist @ de539913: bridge -> l2bridge; v1-flat OutBoundNAT, ROUTE and every ACL applied', () => {
    const c = load('azure-windows.conflist');
    assert.equal(c.network.name, 'azure');
    assert.equal(c.network.mode, 'l2bridge');
    assert.deepEqual(c.network.outboundNatExceptions, ['10.240.0.0/16', '10.0.0.0/8']);
    assert.deepEqual(c.network.routes, [{ destinationPrefix: '10.0.0.0/8', needEncap: true }]);
    assert.deepEqual(c.network.dnsServers, ['10.0.0.10', '168.63.129.16']);
    const none = { localAddresses: [], localPorts: [], ruleType: 'Switch' };
    assert.deepEqual(c.network.acls, [
      { action: 'Allow', direction: 'Out', protocols: [17], remoteAddresses: ['168.63.129.16/32'], remotePorts: [[53, 53]], priority: 200, ...none },
      { action: 'Block', direction: 'Out', protocols: [], remoteAddresses: ['168.63.129.16/32'], remotePorts: [], priority: 65000, ...none },
      { action: 'Allow', direction: 'Out', protocols: [], remoteAddresses: [], remotePorts: [], priority: 65500, ...none },
      { action: 'Allow', direction: 'In', protocols: [], remoteAddresses: [], remotePorts: [], priority: 65500, ...none },
    ]);
    assert.equal(diags(c, 'cni-policy-dropped').length, 0, "Azure's plugin converts the v1-flat form itself");
    assert.equal(diags(c, 'cni-azure').length, 1);
    const r = rules(real('azure-windows.conflist'), NODE);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /OutboundNAT: exceptions 10\.240\.0\.0\/16, 10\.0\.0\.0\/8;/);
    assert.match(r.stdout, /RULE : ACL_BLOCK_OUT_65000_1\n(?:.*\n)*?\s+Destination IP : 168\.63\.129\.16\/32/);
  });

  it('azure-windows.conflist @ 8c143a82 (a missing comma): exit 2 naming the file, byte offset and line', () => {
    const r = rules(real('azure-windows-broken.conflist'));
    assert.equal(r.status, 2);
    assert.match(r.stderr, /azure-windows-broken\.conflist at byte offset 1687: not valid JSON: .*\(line 55, column 17\)/);
  });

  for (const [file, field, what] of [
    ['azure-windows-swift.conflist', 'plugins\\[0\\]\\.executionMode', 'executionMode "v4swift"'],
    ['azure-windows-multitenancy.conflist', 'plugins\\[0\\]\\.multiTenancy', 'multitenancy'],
  ]) {
    it(`${file}: refused by name (${what})`, () => {
      const r = rules(real(file));
      assert.equal(r.status, 2);
      assert.match(r.stderr, new RegExp(`${file.replace('.', '\\.')} at ${field}: Azure CNI ${what}.* is not emulated`));
    });
  }

  it('Azure: mode tunnel refused; a policy Type Azure cannot convert refused as the plugin fails; wincni refused', () => {
    const az = (plugin: Record<string, unknown>) => JSON.stringify({ cniVersion: '0.3.0', name: 'azure', plugins: [{ type: 'azure-vnet', ipam: { type: 'azure-vnet-ipam' }, ...plugin }] });
    assert.throws(() => parseClusterTexts([{ name: 'a.conflist', text: az({ mode: 'tunnel' }) }]), /a\.conflist.*plugins\[0\]\.mode.*mode "tunnel": only mode "bridge"/s);
    assert.throws(() => parseClusterTexts([{ name: 'a.conflist', text: az({}) }]), /default mode "tunnel"/);
    assert.throws(
      () => parseClusterTexts([{ name: 'a.conflist', text: az({ mode: 'bridge', AdditionalArgs: [{ Name: 'EndpointPolicy', Value: { Type: 'SDNRoute', Settings: {} } }] }) }]),
      /AdditionalArgs\[0\]\.Value\.Type.*"Failed to set Policy"/s,
    );
    // entries that are no EndpointPolicy: named as the sdn* plugins' are (Azure keeps *Policy names the same way)
    const other = parseClusterTexts([{ name: 'a.conflist', text: az({ mode: 'bridge', AdditionalArgs: [{ Name: 'NetworkPolicy', Value: { Type: 'VxlanPort' } }, { Name: 'SomePolicy', Value: {} }, { Name: 'Foo', Value: {} }] }) }]);
    assert.deepEqual(other.diagnostics.filter((d) => d.code === 'cni-network-policy' || d.code === 'cni-policy-unused').map((d) => `${d.code} ${d.source.replace(/.*:/, '')}`), [
      'cni-network-policy plugins[0].AdditionalArgs[0]',
      'cni-policy-unused plugins[0].AdditionalArgs[1]',
      'cni-policy-unused plugins[0].AdditionalArgs[2]',
    ]);
    assert.throws(
      () => parseClusterTexts([{ name: 'w.conf', text: JSON.stringify({ cniVersion: '0.2.0', name: 'l2bridge', type: 'wincni.exe', ipam: { environment: 'azure' } }) }]),
      /w\.conf.*type.*wincni, the pre-containerd dockershim plugin, is not emulated; use the sdnbridge\/win-bridge config of the node/s,
    );
  });
});

describe('real CNI configs of plugins vfp-emu does not read (Calico for Windows)', () => {
  it('calico-windows-vxlan.conflist: refused naming the file, plugins and calico, with the HNS dump to give instead', () => {
    const r = rules(real('calico-windows-vxlan.conflist'), NODE);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /calico-windows-vxlan\.conflist at plugins: no win-bridge, win-overlay, sdnbridge, sdnoverlay or flannel plugin in this conflist \(found: calico\)/);
    assert.match(r.stderr, /give its HNS state instead \(on the node: Get-HnsNetwork \| ConvertTo-Json -Depth 10 > network\.json, and the same for Get-HnsEndpoint\)/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });

  it('a single-plugin config of an unread type says what to give instead', () => {
    const calico = JSON.parse(readFileSync(real('calico-windows-vxlan.conflist'), 'utf8')).plugins[0];
    assert.throws(
      () => parseClusterTexts([{ name: 'c.conf', text: JSON.stringify({ cniVersion: '0.3.1', ...calico }) }]),
      /c\.conf at type: CNI plugin type "calico" is not emulated; expected one of .*; to emulate such a node, give its HNS state instead/,
    );
  });
});

/**
 * Bad cluster inputs: each error is an InputError naming the file and the field path (and the line where the
 * format has lines), with the detail a Windows admin or the plugin itself would give.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadCluster, parseClusterText, parseClusterTexts } from '../src/cluster';
import { throwsAt } from './cluster-helpers';

const FIX = path.resolve(__dirname, '..', '..', 'test', 'fixtures-cluster');
const fx = (name: string) => path.join(FIX, name);

const LIST = (items: string) => `{"apiVersion":"v1","kind":"List","items":[${items}]}`;
const NODE = (name: string, ip: string, cidr: string) =>
  `{"apiVersion":"v1","kind":"Node","metadata":{"name":"${name}","labels":{"kubernetes.io/os":"windows"}},"spec":{"podCIDR":"${cidr}"},"status":{"addresses":[{"type":"InternalIP","address":"${ip}"}]}}`;
const POD = (name: string, ip: string) => `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"${name}","namespace":"default"},"spec":{"nodeName":"w1"},"status":{"podIP":"${ip}"}}`;

describe('cluster: bad input names the file and the field path', () => {
  it('a wrong type deep in a kubectl List: items[N].spec.ports[0].port, with its line', () => {
    const svc = `{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},"spec":{"clusterIP":"10.96.0.20","ports":[{"port":"eighty"}]}}`;
    const e = throwsAt(() => parseClusterText('list.json', LIST(`${NODE('w1', '10.0.0.1', '10.244.1.0/24')},\n${svc}`)), 'list.json', 'items[1].spec.ports[0].port', /expected an integer, found the string "eighty"/);
    assert.match(e.message, /\(line 2, column \d+\)/);
    assert.match(e.message, /^list\.json at items\[1\]\.spec\.ports\[0\]\.port: /);
  });

  it('a missing required field', () => {
    throwsAt(() => parseClusterText('svc.yaml', 'apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports:\n  - name: http\n'), 'svc.yaml', 'spec.ports[0].port', /port is required/);
    throwsAt(() => parseClusterText('n.yaml', 'apiVersion: v1\nkind: Node\nmetadata: {name: w1}\nstatus: {addresses: []}\n'), 'n.yaml', '(document)', /node w1 has no InternalIP/);
  });

  it('an address or CIDR that does not parse', () => {
    throwsAt(() => parseClusterText('p.json', POD('a', '10.244.1.300')), 'p.json', 'status.podIP', /"10\.244\.1\.300" is not an IP address/);
    throwsAt(() => parseClusterText('n.json', NODE('w1', '10.0.0.1', '10.244.1.0/33')), 'n.json', 'spec.podCIDR', /is not a CIDR/);
    throwsAt(() => parseClusterText('cni.conf', '{"cniVersion":"0.2.0","name":"cbr0","type":"win-bridge","policies":[{"name":"EndpointPolicy","value":{"Type":"OutBoundNAT","ExceptionList":["10.244.0.0/16","ten/8"]}}]}'), 'cni.conf', 'policies[0].value.ExceptionList[1]', /"ten\/8" is not a CIDR/);
  });

  it('a duplicate pod IP names the second pod and the first', () => {
    const e = throwsAt(() => parseClusterText('l.json', LIST(`${NODE('w1', '10.0.0.1', '10.244.1.0/24')},${POD('a', '10.244.1.5')},${POD('b', '10.244.1.5')}`)), 'l.json', 'items[2].status.podIP', /pod default\/b has IP 10\.244\.1\.5, which pod default\/a \(l\.json:items\[1\]\.status\.podIP\) already has/);
    assert.ok(e);
  });

  it('duplicate node IPs and overlapping pod CIDRs', () => {
    throwsAt(() => parseClusterText('l.json', LIST(`${NODE('w1', '10.0.0.1', '10.244.1.0/24')},${NODE('w2', '10.0.0.1', '10.244.2.0/24')}`)), 'l.json', 'items[1].status.addresses[0].address', /node w2 has InternalIP 10\.0\.0\.1, which node w1/);
    throwsAt(() => parseClusterText('l.json', LIST(`${NODE('w1', '10.0.0.1', '10.244.0.0/16')},${NODE('w2', '10.0.0.2', '10.244.2.0/24')}`)), 'l.json', 'items[1].spec.podCIDR', /overlaps 10\.244\.0\.0\/16 of node w1/);
  });

  it("flannel's Windows VXLAN rules, with flannel's own words", () => {
    throwsAt(() => loadCluster([fx('net-conf-linux-vni.json')]), fx('net-conf-linux-vni.json'), 'Backend.VNI', /VNI \[1\] must be greater than or equal to 4096 on Windows \(line 5/);
    throwsAt(() => loadCluster([fx('net-conf-linux-port.json')]), fx('net-conf-linux-port.json'), 'Backend.Port', /Port \[8472\] is not supported on Windows/);
    throwsAt(() => loadCluster([fx('net-conf-directrouting.json')]), fx('net-conf-directrouting.json'), 'Backend.DirectRouting', /DirectRouting is not supported on Windows/);
    throwsAt(() => parseClusterText('nc.json', '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","GBP":true}}'), 'nc.json', 'Backend.GBP', /GBP is not supported on Windows/);
    throwsAt(() => parseClusterText('nc.json', '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","MacPrefix":"0E2A"}}'), 'nc.json', 'Backend.MacPrefix', /MacPrefix \[0E2A\] is invalid/);
    throwsAt(() => parseClusterText('nc.json', '{"Network":"10.244.0.0/16","Backend":{"Type":"wireguard"}}'), 'nc.json', 'Backend.Type', /backend type "wireguard" is not supported on Windows/);
    throwsAt(() => parseClusterText('nc.json', '{"Network":"10.244.0.0/16"}'), 'nc.json', '(document)', /Backend is required/);
  });

  it('the same flannel rule for a scenario that says plugin flannel', () => {
    throwsAt(() => parseClusterText('s.yaml', 'apiVersion: vfp-emu/v1\nkind: Scenario\nnetwork: {mode: overlay, plugin: flannel, vni: 1}\n'), 's.yaml', 'network.vni', /VNI \[1\] must be greater than or equal to 4096 on Windows/);
    throwsAt(() => parseClusterText('s.yaml', 'apiVersion: vfp-emu/v1\nkind: Scenario\nnetwork: {mode: overlay, plugin: flannel, vxlanPort: 8472}\n'), 's.yaml', 'network.vxlanPort', /Port \[8472\] is not supported on Windows/);
  });

  it('endpointMacPrefix in the words of win-overlay', () => {
    throwsAt(() => parseClusterText('cni.conf', '{"cniVersion":"0.2.0","name":"vxlan0","type":"win-overlay","endpointMacPrefix":"0E:2A"}'), 'cni.conf', 'endpointMacPrefix', /endpointMacPrefix \[0E:2A\] is invalid, value must be of the format xx-xx/);
  });

  it('an embedded ConfigMap document is named by its key', () => {
    const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kube-flannel-cfg}\ndata:\n  net-conf.json: |\n    {"Network": "10.244.0.0/16", "Backend": {"Type": "vxlan", "VNI": 1}}\n';
    throwsAt(() => parseClusterText('cm.yaml', cm), 'cm.yaml', 'data["net-conf.json"].Backend.VNI', /VNI \[1\] must be greater than or equal to 4096 on Windows \(line 5/);
  });

  it('the second document of a multi-document YAML is named documents[1]', () => {
    const y = 'apiVersion: v1\nkind: Node\nmetadata: {name: w1}\nstatus: {addresses: [{type: InternalIP, address: 10.0.0.1}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {hostNetwork: "yes"}\nstatus: {podIP: 10.0.0.1}\n';
    throwsAt(() => parseClusterText('m.yaml', y), 'm.yaml', 'documents[1].spec.hostNetwork', /expected true or false, found the string "yes" \(line 9/);
  });

  it('subnet.env names the variable and its line', () => {
    throwsAt(() => parseClusterText('subnet.env', 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.4.1/24\nFLANNEL_MTU=jumbo\n'), 'subnet.env', 'FLANNEL_MTU', /expected an integer.*\(line 3/);
    throwsAt(() => parseClusterText('subnet.env', 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.245.4.1/24\n'), 'subnet.env', 'FLANNEL_SUBNET', /is not inside FLANNEL_NETWORK/);
  });

  it('unknown content, an empty file, broken JSON or YAML, and a missing file', () => {
    throwsAt(() => parseClusterText('x.yaml', 'just: a\nmap: here\n'), 'x.yaml', '(document)', /cannot tell what kind of cluster input this is; expected one of: /);
    throwsAt(() => parseClusterText('e.yaml', ''), 'e.yaml', undefined, /^e\.yaml: the file is empty; expected /);
    const bad = throwsAt(() => parseClusterText('b.json', '{\n  "kind": "List",\n  "items": [,]\n}'), 'b.json', undefined, /not valid JSON: Unexpected token ',' \(line 3, column 13\)$/);
    assert.equal(bad.offset, 32);
    throwsAt(() => parseClusterText('b.yaml', 'kind: List\nitems: [a\nb: c\n'), 'b.yaml', undefined, /not valid YAML: .*line \d+, column \d+/);
    throwsAt(() => loadCluster([fx('no-such-file.json')]), fx('no-such-file.json'), undefined, /cannot read the file: ENOENT/);
  });

  it('a YAML file of only `---` and comments is said to be that, not empty; an empty or blank file is empty (exit 2, naming the file)', () => {
    const none = /^n\.yaml: the file has no YAML document: only `---` markers and comments; expected kubectl output/;
    throwsAt(() => parseClusterText('n.yaml', '---\n# kubectl get nodes -o yaml | yq ... gave nothing\n---\n'), 'n.yaml', undefined, none);
    throwsAt(() => parseClusterText('n.yaml', '\uFEFF--- # first\r\n\r\n...\r\n'), 'n.yaml', undefined, /^n\.yaml: the file has no YAML document: only `---` and `\.\.\.` markers and comments; /);
    throwsAt(() => parseClusterText('d.yaml', '...\n...\n'), 'd.yaml', undefined, /^d\.yaml: the file has no YAML document: only `\.\.\.` markers; /);
    throwsAt(() => parseClusterText('c.yaml', '# nothing\n  # indented\n'), 'c.yaml', undefined, /^c\.yaml: the file has no YAML document: only comments; /);
    throwsAt(() => parseClusterText('m.yaml', '---\n---\n'), 'm.yaml', undefined, /^m\.yaml: the file has no YAML document: only `---` markers; /);
    throwsAt(() => parseClusterText('z.yaml', '~\n---\nnull\n'), 'z.yaml', undefined, /^z\.yaml: the file has no cluster input: its YAML documents are all empty \(null\); /);
    throwsAt(() => parseClusterText('b.yaml', '  \n\n'), 'b.yaml', undefined, /^b\.yaml: the file is empty; /);
    // as a person runs it: exit 2, the file named, no stack trace
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-nodoc-'));
    const f = path.join(dir, 'cluster.yaml');
    fs.writeFileSync(f, '---\n# only a comment\n---\n');
    const r = spawnSync(process.execPath, [path.resolve(__dirname, '..', 'src', 'cli.js'), 'trace', 'tcp 10.244.1.5:1000 > 10.244.1.6:80', '--cluster', f], { encoding: 'utf8' });
    fs.rmSync(dir, { recursive: true, force: true });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^vfp-emu: .*cluster\.yaml: the file has no YAML document: only `---` markers and comments; expected /);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  it('an unknown CNI plugin and a conflist without a Windows plugin', () => {
    throwsAt(() => parseClusterText('c.conf', '{"cniVersion":"0.4.0","name":"n","type":"calico"}'), 'c.conf', 'type', /CNI plugin type "calico" is not emulated/);
    throwsAt(() => parseClusterText('c.conflist', '{"cniVersion":"0.4.0","name":"n","plugins":[{"type":"bridge"},{"type":"portmap"}]}'), 'c.conflist', 'plugins', /no win-bridge, win-overlay, sdnbridge, sdnoverlay or flannel plugin in this conflist \(found: bridge, portmap\)/);
    throwsAt(() => parseClusterText('c.conf', '{"cniVersion":"0.2.0","name":"n","type":"flannel","delegate":{"type":"calico"}}'), 'c.conf', 'delegate.type', /CNI plugin type "calico" is not emulated/);
    // A delegate of the Linux bridge plugin is the Linux nodes' flannel config: named, not refused (cluster-real-cni.test.ts).
    const linux = parseClusterText('c.conf', '{"cniVersion":"0.2.0","name":"n","type":"flannel","delegate":{"type":"bridge"}}');
    assert.ok(linux.diagnostics.some((d) => d.code === 'cni-linux-config'));
  });

  it('an HNS dump with a bad policy field', () => {
    throwsAt(() => parseClusterText('h.json', '[{"Type":"ROUTE","DestinationPrefix":"10.96.0.0/12","NeedEncap":"yes"}]'), 'h.json', '[0].NeedEncap', /expected true or false/);
    throwsAt(() => parseClusterText('h.json', '{"Name":"vxlan0","Type":"Overlay","ManagementIP":"10.0.0.1","Policies":[{"Type":"RemoteSubnetRoute","DestinationPrefix":"10.244.0.0/24","ProviderAddress":"10.0.0.2","DistributedRouterMacAddress":"zz:71:81:86:b2:77"}]}'), 'h.json', 'Policies[0].DistributedRouterMacAddress', /is not a MAC address/);
  });

  it('scenario: a misspelt key, a wrong type, a missing pod IP, an unknown endpoint pod, a named targetPort', () => {
    const s = (body: string) => `apiVersion: vfp-emu/v1\nkind: Scenario\n${body}`;
    throwsAt(() => parseClusterText('s.yaml', s('servces: []\n')), 's.yaml', 'servces', /unknown key "servces"; expected one of: .*services/);
    throwsAt(() => parseClusterText('s.yaml', s('nodes: [{name: w, ip: 10.0.0.1, macSpoofing: "no"}]\n')), 's.yaml', 'nodes[0].macSpoofing', /expected true or false, found the string "no" \(line 3/);
    throwsAt(() => parseClusterText('s.yaml', s('nodes: [{name: w, ip: 10.0.0.1}]\npods: [{name: a, node: w}]\n')), 's.yaml', 'pods[0].ip', /ip is required unless hostNetwork is true/);
    throwsAt(() => parseClusterText('s.yaml', s('services: [{name: web, ports: [80], endpoints: [web-9]}]\n')), 's.yaml', 'services[0].endpoints[0]', /no pod named default\/web-9/);
    throwsAt(
      () => parseClusterText('s.yaml', s('services: [{name: web, ports: [{port: 80, targetPort: http}], endpoints: [10.0.0.5]}]\n')),
      's.yaml',
      'services[0].endpoints[0]',
      /targetPort "http", a port name; give this endpoint's ports/,
    );
    throwsAt(() => parseClusterText('s.yaml', s('network: {mode: bridge}\n')), 's.yaml', 'network.mode', /"bridge" is not one of l2bridge, overlay/);
    throwsAt(() => parseClusterText('s.yaml', 'apiVersion: vfp-emu/v2\nkind: Scenario\n'), 's.yaml', 'apiVersion', /must be "vfp-emu\/v1"/);
    throwsAt(() => parseClusterText('s.yaml', s('services: [{name: web, ports: [80, 81]}]\n')), 's.yaml', 'services[0].ports', /must name each port/);
  });

  it('an error in a later file leaves the earlier files named correctly in the message', () => {
    throwsAt(
      () => parseClusterTexts([
        { name: 'good.json', text: NODE('w1', '10.0.0.1', '10.244.1.0/24') },
        { name: 'bad.json', text: NODE('w2', '10.0.0.2', '10.244.1.128/25') },
      ]),
      'bad.json',
      'spec.podCIDR',
      /node w2 has podCIDR 10\.244\.1\.128\/25, which overlaps 10\.244\.1\.0\/24 of node w1 \(good\.json:spec\.podCIDR\)/,
    );
  });
});

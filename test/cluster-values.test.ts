/**
 * Values that parse but are wrong (src/cluster/validate.ts): what the Kubernetes API server rejects is an
 * InputError naming the file and field path; what it accepts is a diagnostic whose `source` is the file and
 * field path, also in `replay --summary json`. Never used in silence.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InputError } from '../src/core/errors';
import { parseClusterText } from '../src/cluster';
import type { Cluster } from '../src/cluster/model';

const repo = path.resolve(__dirname, '..', '..');
const cli = path.join(repo, 'dist', 'src', 'cli.js');

function errorAt(text: string, fieldPath: string, detail: RegExp): InputError {
  let caught: unknown;
  try {
    parseClusterText('k.yaml', text);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof InputError, `expected an InputError, got ${String(caught)}`);
  assert.equal(caught.fieldPath, fieldPath, caught.message);
  assert.match(caught.message, detail);
  return caught;
}
const diag = (c: Cluster, code: string) => c.diagnostics.filter((d) => d.code === code);

const NODE = (name: string, ip: string, cidr: string) =>
  `- {apiVersion: v1, kind: Node, metadata: {name: ${name}, labels: {kubernetes.io/os: windows}}, spec: {podCIDR: "${cidr}"}, status: {addresses: [{type: InternalIP, address: ${ip}}]}}\n`;
const POD = (name: string, ip: string, extra = '') =>
  `- {apiVersion: v1, kind: Pod, metadata: {name: ${name}, namespace: default${extra}}, spec: {nodeName: w1}, status: {podIP: ${ip}}}\n`;
const SVC = (name: string, cip: string, spec = '') =>
  `- {apiVersion: v1, kind: Service, metadata: {name: ${name}, namespace: default}, spec: {clusterIP: ${cip}, ports: [{name: http, port: 80, targetPort: 8080}]${spec}}}\n`;
const LIST = (...items: string[]) => `apiVersion: v1\nkind: List\nitems:\n${items.join('')}`;
const BASE = [NODE('w1', '10.0.0.1', '10.244.1.0/24'), POD('web-0', '10.244.1.7')];

describe('cluster: wrong values are errors or diagnostics naming the field', () => {
  it('labels given as a list, or with a value that is no string: errors at metadata.labels', () => {
    errorAt(LIST(...BASE, POD('a', '10.244.1.8', ', labels: [app, web]')), 'items[2].metadata.labels', /expected an object, found a list/);
    errorAt(LIST(...BASE, POD('a', '10.244.1.8', ', labels: {app: 5}')), 'items[2].metadata.labels.app', /expected a string, found number 5/);
    errorAt(LIST(...BASE, POD('a', '10.244.1.8', `, labels: {app: ${'x'.repeat(64)}}`)), 'items[2].metadata.labels.app', /label value of 64 characters; the API server allows at most 63/);
  });

  it('a Service selector given as a string: an error at spec.selector', () => {
    errorAt(LIST(...BASE, SVC('web', '10.96.0.20', ', selector: "app=web"')), 'items[2].spec.selector', /expected an object, found the string "app=web"/);
  });

  it('names the API server refuses: 70,000 characters, over 63 for a namespace, upper case', () => {
    errorAt(LIST(...BASE, POD('p'.repeat(70000), '10.244.1.8')), 'items[2].metadata.name', /a name of 70000 characters; the API server allows at most 253/);
    const ns = `- {apiVersion: v1, kind: Pod, metadata: {name: a, namespace: ${'n'.repeat(64)}}, status: {podIP: 10.244.1.8}}\n`;
    errorAt(LIST(...BASE, ns), 'items[2].metadata.namespace', /at most 63/);
    errorAt(LIST(...BASE, POD('Web-1', '10.244.1.8')), 'items[2].metadata.name', /"Web-1" is not a DNS-1123 subdomain/);
    const onNode = `- {apiVersion: v1, kind: Pod, metadata: {name: a}, spec: {nodeName: ${'w'.repeat(254)}}, status: {podIP: 10.244.1.8}}\n`;
    errorAt(LIST(...BASE, onNode), 'items[2].spec.nodeName', /at most 253/);
  });

  it('an empty podCIDR, and one with host bits set: config-bad-value at spec.podCIDR; the network is used', () => {
    const empty = parseClusterText('k.yaml', LIST(NODE('w1', '10.0.0.1', '')));
    assert.deepEqual(diag(empty, 'config-bad-value').map((d) => d.source), ['k.yaml:items[0].spec.podCIDR']);
    assert.equal(empty.nodes[0].podCIDR, null);
    const host = parseClusterText('k.yaml', LIST(NODE('w1', '10.0.0.1', '10.244.1.5/24')));
    const d = diag(host, 'config-bad-value');
    assert.equal(d.length, 1);
    assert.equal(d[0].source, 'k.yaml:items[0].spec.podCIDR');
    assert.match(d[0].message, /10\.244\.1\.5\/24 has host bits set; taken as 10\.244\.1\.0\/24/);
    assert.equal(host.nodes[0].podCIDR, '10.244.1.0/24');
    const sc = parseClusterText('s.yaml', 'apiVersion: vfp-emu/v1\nkind: Scenario\nnodes: [{name: w1, ip: 10.0.0.1, podCIDR: 10.244.1.5/24}]\n');
    assert.deepEqual(diag(sc, 'config-bad-value').map((x) => x.source), ['s.yaml:nodes[0].podCIDR']);
    errorAt(LIST(NODE('w1', '10.0.0.1', '10.244.1/24')), 'items[0].spec.podCIDR', /is not a CIDR/);
  });

  it('a ClusterIP equal to a pod IP, a node IP or another ClusterIP: an error at spec.clusterIP naming the other', () => {
    errorAt(LIST(...BASE, SVC('web', '10.244.1.7')), 'items[2].spec.clusterIP', /ClusterIP 10\.244\.1\.7, which pod default\/web-0 \(k\.yaml:items\[1\]\.status\.podIP\) also has/);
    errorAt(LIST(...BASE, SVC('web', '10.0.0.1')), 'items[2].spec.clusterIP', /which node w1 .* also has/);
    errorAt(LIST(...BASE, SVC('web', '10.96.0.20'), SVC('shop', '10.96.0.20')), 'items[3].spec.clusterIP', /which Service default\/web \(k\.yaml:items\[2\]\.spec\.clusterIP\) also has/);
  });

  it('an EndpointSlice naming a node or an address no input has: diagnostics at the endpoint field', () => {
    const slice = `- apiVersion: discovery.k8s.io/v1
  kind: EndpointSlice
  metadata: {name: web-abc, namespace: default, labels: {kubernetes.io/service-name: web}}
  addressType: IPv4
  ports: [{name: http, port: 8080}]
  endpoints:
  - {addresses: [10.244.1.7], nodeName: w1}
  - {addresses: [10.244.1.9], nodeName: ghost}
  - {addresses: [192.0.2.50]}
`;
    const c = parseClusterText('k.yaml', LIST(...BASE, SVC('web', '10.96.0.20'), slice));
    assert.deepEqual(diag(c, 'config-unknown-node').map((d) => d.source), ['k.yaml:items[3].endpoints[1].nodeName']);
    assert.match(diag(c, 'config-unknown-node')[0].message, /names node ghost, which no input describes/);
    assert.deepEqual(diag(c, 'config-unknown-address').map((d) => d.source), ['k.yaml:items[3].endpoints[2].addresses[0]']);
    const legacy = `- {apiVersion: v1, kind: Endpoints, metadata: {name: web, namespace: default}, subsets: [{addresses: [{ip: 10.244.1.7, nodeName: ghost}], ports: [{name: http, port: 8080}]}]}\n`;
    const l = parseClusterText('k.yaml', LIST(...BASE, SVC('web', '10.96.0.20'), legacy));
    assert.deepEqual(diag(l, 'config-unknown-node').map((d) => d.source), ['k.yaml:items[3].subsets[0].addresses[0].nodeName']);
  });

  it('a named targetPort an endpoint has no port for: config-bad-value at the Service port', () => {
    const svc = `- {apiVersion: v1, kind: Service, metadata: {name: web, namespace: default}, spec: {clusterIP: 10.96.0.20, ports: [{name: http, port: 80, targetPort: web-http}]}}\n`;
    const slice = `- {apiVersion: discovery.k8s.io/v1, kind: EndpointSlice, metadata: {name: web-abc, namespace: default, labels: {kubernetes.io/service-name: web}}, addressType: IPv4, ports: [{name: metrics, port: 9090}], endpoints: [{addresses: [10.244.1.7]}]}\n`;
    const c = parseClusterText('k.yaml', LIST(...BASE, svc, slice));
    const d = diag(c, 'config-bad-value');
    assert.deepEqual(d.map((x) => x.source), ['k.yaml:items[2].spec.ports[0]']);
    assert.match(d[0].message, /targets the port named web-http, which 1 endpoint\(s\) \(10\.244\.1\.7\) have no port for/);
  });

  it('replay --summary json lists the diagnostic with the file and field path as its source', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-values-'));
    try {
      const extra = path.join(tmp, 'extra.yaml');
      fs.writeFileSync(extra, LIST(`- {apiVersion: v1, kind: Node, metadata: {name: linux-9, labels: {kubernetes.io/os: linux}}, spec: {podCIDR: 10.244.9.5/24}, status: {addresses: [{type: InternalIP, address: 10.127.130.99}]}}\n`));
      const cluster = ['kubectl.json', 'cni.conf', 'net-conf.json'].flatMap((f) => ['--cluster', path.join(repo, 'traces', '_clusters', 'l2bridge', f)]);
      const r = spawnSync(process.execPath, [cli, 'replay', path.join(repo, 'traces', '04-icmp-lesson', 'trace.pcapng'), ...cluster, '--cluster', extra, '--summary', 'json', '--workers', '1'], { cwd: tmp, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const d = (JSON.parse(r.stdout).diagnostics as { code: string; source: string }[]).filter((x) => x.code === 'config-bad-value');
      assert.deepEqual(d.map((x) => x.source), [`${extra}:items[0].spec.podCIDR`]);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('cluster: more values the API server refuses', () => {
  it('Service ports: several with one unnamed, a name twice, a port/protocol twice', () => {
    const svc = (ports: string) => `- {apiVersion: v1, kind: Service, metadata: {name: web, namespace: default}, spec: {clusterIP: 10.96.0.20, ports: [${ports}]}}\n`;
    errorAt(LIST(...BASE, svc('{name: a, port: 80}, {port: 81}')), 'items[2].spec.ports[1].name', /must name each port/);
    errorAt(LIST(...BASE, svc('{name: a, port: 80}, {name: a, port: 81}')), 'items[2].spec.ports[1].name', /port name "a" is used twice/);
    errorAt(LIST(...BASE, svc('{name: a, port: 80}, {name: b, port: 80}')), 'items[2].spec.ports[1]', /port 80\/TCP is listed twice/);
  });

  it('an IPv6 address in an IPv4 EndpointSlice', () => {
    const slice = `- {apiVersion: discovery.k8s.io/v1, kind: EndpointSlice, metadata: {name: s, namespace: default, labels: {kubernetes.io/service-name: web}}, addressType: IPv4, endpoints: [{addresses: ["fd00::7"]}]}\n`;
    errorAt(LIST(...BASE, SVC('web', '10.96.0.20'), slice), 'items[3].endpoints[0].addresses[0]', /fd00::7 is not an IPv4 address/);
  });

  it('scenario names over the caps: a pod name of 70,000 characters, a Service name of 64', () => {
    const sc = (body: string) => `apiVersion: vfp-emu/v1\nkind: Scenario\nnodes: [{name: w1, ip: 10.0.0.1, podCIDR: 10.244.1.0/24}]\n${body}`;
    let e: unknown;
    try {
      parseClusterText('s.yaml', sc(`pods: [{name: ${'p'.repeat(70000)}, node: w1, ip: 10.244.1.5}]\n`));
    } catch (x) {
      e = x;
    }
    assert.ok(e instanceof InputError && e.fieldPath === 'pods[0].name' && /70000 characters; the API server allows at most 253/.test(e.message), String(e));
    e = undefined;
    try {
      parseClusterText('s.yaml', sc(`services: [{name: ${'s'.repeat(64)}, clusterIP: 10.96.0.9, ports: [80]}]\n`));
    } catch (x) {
      e = x;
    }
    assert.ok(e instanceof InputError && e.fieldPath === 'services[0].name' && /at most 63/.test(e.message), String(e));
  });
});

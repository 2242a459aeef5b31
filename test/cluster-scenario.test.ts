/**
 * The scenario YAML and its JSON Schema (traces/schema/scenario.schema.json): every scenario in the fixtures
 * and in traces/ passes the schema and the importer; a scenario using every schema key lands every value in
 * the model; wrong scenarios fail at the right field path; the schema interpreter refuses keywords it lacks.
 */
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { parseClusterText, scenarioValidator } from '../src/cluster';
import { SchemaValidator } from '../src/cluster/schema';
import { SourceDoc } from '../src/cluster/source';

const ROOT = path.resolve(__dirname, '..', '..');
const FIX = path.join(ROOT, 'test', 'fixtures-cluster');
const SCHEMA = JSON.parse(readFileSync(path.join(ROOT, 'traces', 'schema', 'scenario.schema.json'), 'utf8'));

function walk(dir: string): string[] {
  let out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(walk(p));
    else if (/\.ya?ml$/.test(name)) out.push(p);
  }
  return out;
}

/** Every YAML file in the fixtures and in traces/ that is a vfp-emu scenario. */
function scenarioFiles(): string[] {
  return [...walk(FIX), ...walk(path.join(ROOT, 'traces'))].filter((f) => /^apiVersion:\s*vfp-emu\//m.test(readFileSync(f, 'utf8')));
}

const fieldOf = (value: unknown) => new SourceDoc('t.yaml', value, [], () => null).root();

/** Dotted paths of every property the schema defines (`[]` for list items), following $refs. */
function schemaPaths(schema: Record<string, unknown>): string[] {
  const defs = schema.$defs as Record<string, Record<string, unknown>>;
  const out: string[] = [];
  const visit = (s: Record<string, unknown>, at: string, depth: number) => {
    if (depth > 8) return;
    while (typeof s.$ref === 'string') s = defs[(s.$ref as string).split('/').pop()!];
    for (const alt of (s.anyOf as Record<string, unknown>[] | undefined) ?? []) visit(alt, at, depth + 1);
    if (s.items) visit(s.items as Record<string, unknown>, `${at}[]`, depth + 1);
    for (const [k, sub] of Object.entries((s.properties as Record<string, Record<string, unknown>>) ?? {})) {
      const p = at ? `${at}.${k}` : k;
      out.push(p);
      visit(sub, p, depth + 1);
    }
  };
  visit(schema, '', 0);
  return [...new Set(out)];
}

/** True when some value at `dotted` path exists in `doc` (any list element for `[]`). */
function hasPath(doc: unknown, dotted: string): boolean {
  const parts = dotted.split('.');
  const step = (v: unknown, i: number): boolean => {
    if (i === parts.length) return v !== undefined;
    let key = parts[i];
    const list = key.endsWith('[]');
    if (list) key = key.slice(0, -2);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
    const child = (v as Record<string, unknown>)[key];
    if (!list) return step(child, i + 1);
    return Array.isArray(child) && child.some((x) => step(x, i + 1));
  };
  return step(doc, 0);
}

describe('cluster: scenario schema', () => {
  const files = scenarioFiles();

  it('finds the scenario fixtures', () => {
    assert.ok(files.length >= 3, files.join(', '));
  });

  for (const file of files) {
    it(`${path.relative(ROOT, file)} passes the schema and the importer`, () => {
      const text = readFileSync(file, 'utf8');
      for (const doc of YAML.parseAllDocuments(text)) {
        const value = doc.toJS();
        if (value?.kind !== 'Scenario') continue;
        assert.equal(scenarioValidator().problem(fieldOf(value)), null);
      }
      const c = parseClusterText(file, text);
      assert.ok(c.sources.includes(file));
    });
  }

  it('the kitchen-sink scenario uses every key the schema defines', () => {
    const doc = YAML.parse(readFileSync(path.join(FIX, 'scenario-everything.yaml'), 'utf8'));
    const missing = schemaPaths(SCHEMA).filter((p) => !hasPath(doc, p));
    assert.deepEqual(missing, []);
  });

  it('every key of the kitchen-sink scenario reaches the model', () => {
    const c = parseClusterText('everything.yaml', readFileSync(path.join(FIX, 'scenario-everything.yaml'), 'utf8'));
    assert.equal(c.profile, 'ws2019');
    assert.equal(c.view, 'wire');
    const n = c.network;
    assert.deepEqual(
      [n.mode, n.plugin, n.name, n.clusterCidrs, n.serviceCidr, n.vni, n.vxlanPort, n.outboundNat, n.loopbackDSR, n.endpointMacPrefix, n.ipMasq, n.ipMasqNetwork, n.mtu, n.dnsServers, n.dnsSearch],
      ['overlay', 'win-overlay', 'vxlan0', ['10.244.0.0/16'], '10.96.0.0/12', 4097, 4789, true, true, '0e:2b', false, '10.244.0.0/16', 1400, ['10.96.0.10'], ['svc.corp.local']],
    );
    assert.deepEqual(n.outboundNatExceptions, ['10.244.0.0/16', '10.96.0.0/12', '10.127.130.0/24', '10.127.130.99/32']);
    assert.deepEqual(n.routes, [{ destinationPrefix: '10.96.0.0/12', needEncap: true, nextHop: '10.127.130.1' }]);
    assert.equal(c.clusterDomain, 'corp.local');
    assert.deepEqual(c.proxy, { enableDSR: true, featureGates: { WinDSR: true, WinOverlay: true }, sourceVip: '10.244.1.250', networkName: 'vxlan0', healthzPort: 10257 });
    const w = c.nodes[0];
    assert.deepEqual(
      [w.name, w.windows, w.internalIP, w.podCIDR, w.mac, w.drMac, w.providerAddress, w.sourceVip, w.macSpoofing, w.dynamicPortStart, w.dynamicPortCount],
      ['win-1', true, '10.127.130.11', '10.244.1.0/24', '00:15:5d:aa:bb:01', '00:15:5d:aa:bb:f1', '10.127.130.111', '10.244.1.251', true, 30000, 2048],
    );
    assert.deepEqual([c.nodes[1].dynamicPortStart, c.nodes[1].dynamicPortCount], [20000, 4096], 'network dynamicPortRange');
    const p = c.pods[0];
    assert.deepEqual([p.namespace, p.name, p.ip, p.ips, p.node, p.hostNetwork, p.mac], ['app', 'client', '10.244.1.5', ['fd00:10:244:1::5'], 'win-1', false, '0e:2b:0a:f4:01:05']);
    assert.deepEqual(n.acls, [
      { action: 'Block', direction: 'Out', protocols: [17], localAddresses: [], remoteAddresses: [], localPorts: [], remotePorts: [[53, 53]], priority: 300, ruleType: 'Switch', endpoint: '10.244.1.5' },
    ]);
    const s = c.services[0];
    assert.deepEqual(
      [s.type, s.clusterIP, s.externalIPs, s.ingressIPs, s.sessionAffinity, s.affinityTimeoutSeconds, s.externalTrafficPolicy, s.internalTrafficPolicy, s.preserveDestination, s.healthCheckNodePort],
      ['LoadBalancer', '10.96.0.20', ['192.0.2.10'], ['20.22.71.151'], 'ClientIP', 600, 'Local', 'Local', true, 32000],
    );
    assert.deepEqual(s.ports, [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 'web', nodePort: 30080 }]);
    assert.deepEqual(s.endpoints, [
      { ip: '10.244.0.9', node: 'linux-1', ready: true, serving: true, terminating: false, ports: { http: 8080 }, pod: 'app/server' },
      { ip: '10.244.1.5', node: 'win-1', ready: true, serving: true, terminating: false, ports: { http: 8081 }, pod: 'app/client' },
    ]);
    const dns = c.services[1];
    assert.equal(dns.clusterIP, null);
    assert.deepEqual(dns.endpoints.map((e) => [e.ip, e.pod, e.node]), [
      ['10.244.0.9', 'app/server', 'linux-1'],
      ['10.244.0.10', null, 'linux-1'],
    ]);
  });

  const bad: [string, string, RegExp][] = [
    ['nodes: [{ip: 10.0.0.1}]', 'nodes[0]', /name is required/],
    ['nodes: [{name: w, ip: 10.0.0.1, podCidr: 10.244.1.0/24}]', 'nodes[0].podCidr', /unknown key "podCidr"; expected one of: name, windows, ip, podCIDR/],
    ['network: {vni: 0}', 'network.vni', /0 is out of range 1\.\.16777215/],
    ['network: {clusterCIDR: [10.244.0.0]}', 'network.clusterCIDR[0]', /is not address\/prefix-length/],
    ['network: {clusterCIDR: 7}', 'network.clusterCIDR', /expected address\/prefix-length or a list, found number 7/],
    ['view: pcap', 'view', /"pcap" is not one of pod, wire/],
    ['services: [{name: web, ports: [{port: 80, protocol: ICMP}]}]', 'services[0].ports[0].protocol', /"ICMP" is not one of TCP, UDP, SCTP/],
    ['services: [{name: web, ports: [70000]}]', 'services[0].ports[0]', /70000 is out of range 1\.\.65535/],
    ['services: [{name: web, endpoints: [{pod: a, weight: 2}]}]', 'services[0].endpoints[0].weight', /unknown key "weight"/],
    ['services: [{name: Web_1}]', 'services[0].name', /is not namespace\/name, or name/],
    ['kubeProxy: {featureGates: {WinDSR: "true"}}', 'kubeProxy.featureGates.WinDSR', /expected true or false/],
  ];
  for (const [body, at, why] of bad) {
    it(`refuses ${body} at ${at}`, () => {
      const value = YAML.parse(`apiVersion: vfp-emu/v1\nkind: Scenario\n${body}\n`);
      const problem = scenarioValidator().problem(fieldOf(value));
      assert.ok(problem !== null, 'expected a problem');
      assert.ok(problem.startsWith(`${at}: `), problem);
      assert.match(problem, why);
    });
  }

  it('the interpreter refuses a schema keyword it does not implement, rather than ignoring it', () => {
    assert.throws(() => new SchemaValidator({ type: 'object', properties: { a: { type: 'string', format: 'ipv4' } } }), /keyword format is not supported/);
    assert.doesNotThrow(() => new SchemaValidator(SCHEMA));
  });
});

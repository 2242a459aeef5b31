/**
 * The project's own scenario YAML (`apiVersion: vfp-emu/v1`, `kind: Scenario`), documented by
 * traces/schema/scenario.schema.json. The document is first validated against that schema (schema.ts),
 * then read into the Draft: network and kube-proxy settings, nodes, pods, Services with their endpoints.
 * Endpoints given as pod names take the pod's IP and node in merge.ts and are ready; endpoints given as IPs
 * take the node of the pod with that IP, or the node whose podCIDR holds it, else none (external).
 */

import scenarioSchema from '../../../traces/schema/scenario.schema.json';
import type { Draft, EndpointFacts } from '../draft';
import type { Protocol, ServiceModel } from '../model';
import { SchemaValidator } from '../schema';
import type { Field } from '../source';
import { checkMacPrefix } from './cni';
import { importEndpointPolicy } from './policies';
import { cappedName, nodePodCidr } from '../validate';

export const SCENARIO_API_VERSION = 'vfp-emu/v1';

let validator: SchemaValidator | null = null;

/** The validator built from the schema file (built once). */
export function scenarioValidator(): SchemaValidator {
  if (!validator) validator = new SchemaValidator(scenarioSchema as unknown as { [k: string]: unknown });
  return validator;
}

export function looksLikeScenario(root: Field): boolean {
  const v = root.isObject() ? root.get('apiVersion').value : undefined;
  return typeof v === 'string' && v.startsWith('vfp-emu/');
}

/** Splits `ns/name` (namespace default). */
function splitName(s: string, defaultNs = 'default'): { namespace: string; name: string } {
  const slash = s.indexOf('/');
  return slash < 0 ? { namespace: defaultNs, name: s } : { namespace: s.slice(0, slash), name: s.slice(slash + 1) };
}

export function importScenario(root: Field, draft: Draft): void {
  scenarioValidator().validate(root);
  const s = draft.settings;
  const put = (key: string, f: Field, value: (f: Field) => unknown) => {
    if (!f.absent) s.put(key, value(f), f.where);
  };
  put('scenario.profile', root.get('profile'), (f) => f.string());
  put('scenario.view', root.get('view'), (f) => f.string());

  const net = root.get('network');
  if (!net.absent) {
    put('network.mode', net.get('mode'), (f) => f.string());
    put('network.plugin', net.get('plugin'), (f) => f.string());
    put('network.name', net.get('name'), (f) => f.string());
    put('network.clusterCidrs', net.get('clusterCIDR'), (f) => (Array.isArray(f.value) ? f.items().map((x) => x.cidr()) : [f.cidr()]));
    put('network.serviceCidr', net.get('serviceCIDR'), (f) => f.cidr());
    put('network.vni', net.get('vni'), (f) => f.value);
    put('network.vxlanPort', net.get('vxlanPort'), (f) => f.value);
    put('network.outboundNat', net.get('outboundNat'), (f) => f.value);
    put('network.exceptions', net.get('exceptions'), (f) => f.items().map((x) => x.cidr(true)));
    for (const r of net.get('routes').optItems()) {
      const nextHop = r.get('nextHop').optIp();
      draft.routes.push({
        destinationPrefix: r.get('destinationPrefix').cidr(true),
        needEncap: r.get('needEncap').optBool() ?? false,
        ...(nextHop !== undefined ? { nextHop } : {}),
        where: r.where,
      });
    }
    put('network.loopbackDSR', net.get('loopbackDSR'), (f) => f.value);
    put('network.endpointMacPrefix', net.get('endpointMacPrefix'), (f) => checkMacPrefix(f, 'endpointMacPrefix'));
    put('network.ipMasq', net.get('ipMasq'), (f) => f.value);
    put('network.ipMasqNetwork', net.get('ipMasqNetwork'), (f) => f.cidr());
    put('network.mtu', net.get('mtu'), (f) => f.value);
    put('network.dnsServers', net.get('dnsServers'), (f) => f.items().map((x) => x.ip()));
    put('network.dnsSearch', net.get('dnsSearch'), (f) => f.value);
    put('clusterDomain', net.get('clusterDomain'), (f) => f.string());
    put('network.dynamicPortRange', net.get('dynamicPortRange'), (f) => portRange(f));
  }

  const kp = root.get('kubeProxy');
  if (!kp.absent) {
    put('proxy.enableDSR', kp.get('enableDSR'), (f) => f.value);
    put('proxy.WinDSR', kp.at('featureGates', 'WinDSR'), (f) => f.value);
    put('proxy.WinOverlay', kp.at('featureGates', 'WinOverlay'), (f) => f.value);
    put('proxy.sourceVip', kp.get('sourceVip'), (f) => f.ip());
    put('proxy.networkName', kp.get('networkName'), (f) => f.string());
    put('proxy.healthzPort', kp.get('healthzPort'), (f) => f.value);
  }

  for (const n of root.get('nodes').optItems()) {
    const node = draft.node({ by: 'name', name: cappedName(n.get('name'), 253, false) }, n.where);
    const f = node.facts;
    const windows = n.get('windows');
    f.put('windows', windows.absent ? true : windows.value, windows.absent ? n.where : windows.where, windows.absent);
    f.put('internalIP', n.get('ip').ip(), n.get('ip').where);
    const opt = (key: string, field: Field, value: (x: Field) => unknown) => {
      if (!field.absent) f.put(key, value(field), field.where);
    };
    const podCIDR = n.get('podCIDR');
    const cidr = podCIDR.absent ? undefined : nodePodCidr(podCIDR, draft);
    if (cidr !== undefined) f.put('podCIDR', cidr, podCIDR.where);
    opt('mac', n.get('mac'), (x) => x.mac());
    opt('drMac', n.get('drMac'), (x) => x.mac());
    opt('providerAddress', n.get('providerAddress'), (x) => x.ip());
    opt('sourceVip', n.get('sourceVip'), (x) => x.ip());
    opt('macSpoofing', n.get('macSpoofing'), (x) => x.value);
    opt('dynamicPortRange', n.get('dynamicPortRange'), (x) => portRange(x));
  }

  for (const p of root.get('pods').optItems()) {
    const { namespace, name } = splitName(cappedName(p.get('name'), 253, true));
    const pod = draft.pod(namespace, name, p.where);
    const host = p.get('hostNetwork').optBool() ?? false;
    const ip = p.get('ip');
    if (ip.absent && !host) p.get('ip').fail('ip is required unless hostNetwork is true');
    if (!ip.absent) pod.facts.put('ip', ip.ip(), ip.where);
    const ips = p.get('ips');
    if (!ips.absent) pod.facts.put('ips', ips.items().map((x) => x.ip()), ips.where);
    pod.facts.put('node', cappedName(p.get('node'), 253, false), p.get('node').where);
    pod.facts.put('hostNetwork', host, p.get('hostNetwork').absent ? p.where : p.get('hostNetwork').where);
    const mac = p.get('mac');
    if (!mac.absent) pod.facts.put('mac', mac.mac(), mac.where);
    podAcls(p, draft, ip.absent ? null : ip.ip());
  }

  for (const sv of root.get('services').optItems()) importService(sv, draft);
}

/** A pod's own ACL policies (`acls`): on its endpoint's port only (importEndpointPolicy with the pod IP as owner). */
function podAcls(p: Field, draft: Draft, ip: string | null): void {
  for (const a of p.get('acls').optItems()) {
    if (ip === null) a.fail('a hostNetwork pod has no endpoint of its own to hold an ACL');
    if (a.get('Type').string().toLowerCase() !== 'acl') a.get('Type').fail('only ACL policies are read here (Type: ACL)');
    importEndpointPolicy(a, draft, { endpoint: ip ?? undefined });
  }
}

function portRange(f: Field): { start: number; count: number } {
  const start = f.get('start').int(1, 65535);
  const count = f.get('count').int(64, 65535);
  if (start + count > 65536) f.fail(`the range ${start} + ${count} goes past port 65535`);
  return { start, count };
}

function importService(sv: Field, draft: Draft): void {
  const { namespace, name } = splitName(cappedName(sv.get('name'), 63, true));
  const svc = draft.service(namespace, name, sv.where);
  const f = svc.facts;
  const typeField = sv.get('type');
  const type = typeField.absent ? 'ClusterIP' : (typeField.string() as ServiceModel['type']);
  f.put('type', type, typeField.absent ? sv.where : typeField.where);
  const cip = sv.get('clusterIP');
  if (!cip.absent) f.put('clusterIP', cip.value === 'None' ? null : cip.ip(), cip.where);
  else if (type === 'ExternalName') f.put('clusterIP', null, sv.where);

  const ports = sv.get('ports').optItems().map((p) => {
    if (typeof p.value === 'number') return { name: '', protocol: 'TCP' as Protocol, port: p.value, targetPort: p.value as number | string, nodePort: null, where: p.where };
    const port = p.get('port').int(1, 65535);
    const target = p.get('targetPort');
    return {
      name: p.get('name').optString() ?? '',
      protocol: (p.get('protocol').optString() ?? 'TCP') as Protocol,
      port,
      targetPort: target.absent ? port : typeof target.value === 'number' ? target.value : target.string(),
      nodePort: p.get('nodePort').optInt(1, 65535) ?? null,
      where: p.where,
    };
  });
  const names = new Set<string>();
  for (const p of ports) {
    if (names.has(p.name)) sv.get('ports').fail(ports.length > 1 && p.name === '' ? 'a Service with several ports must name each port' : `port name ${JSON.stringify(p.name)} is used twice`);
    names.add(p.name);
  }
  f.put('ports', ports, sv.get('ports').where);
  const list = (key: string, model: string) => {
    const x = sv.get(key);
    f.put(model, x.optItems().map((i) => i.ip()), x.where);
  };
  list('externalIPs', 'externalIPs');
  list('ingressIPs', 'ingressIPs');
  const simple = (key: string, fallback: unknown) => {
    const x = sv.get(key);
    f.put(key, x.absent ? fallback : x.value, x.where);
  };
  simple('sessionAffinity', 'None');
  simple('externalTrafficPolicy', 'Cluster');
  simple('internalTrafficPolicy', 'Cluster');
  simple('preserveDestination', false);
  simple('healthCheckNodePort', null);
  const timeout = sv.get('affinityTimeoutSeconds');
  f.put('affinityTimeoutSeconds', timeout.absent ? null : timeout.value, timeout.where);

  for (const e of sv.get('endpoints').optItems()) svc.endpoints.push(scenarioEndpoint(e, namespace));
}

function scenarioEndpoint(e: Field, namespace: string): EndpointFacts {
  if (typeof e.value === 'string') {
    const text = e.value.trim();
    // An address is an endpoint by IP; anything else names a pod.
    if (/^[0-9.]+$/.test(text) || text.includes(':')) return { ip: e.ip(), where: e.where };
    const ref = splitName(text, namespace);
    return { podRef: `${ref.namespace}/${ref.name}`, where: e.where };
  }
  const pod = e.get('pod');
  const ip = e.get('ip');
  if (pod.absent && ip.absent) e.fail('an endpoint needs pod or ip');
  const out: EndpointFacts = { where: e.where };
  if (!pod.absent) {
    const ref = splitName(pod.string(), namespace);
    out.podRef = `${ref.namespace}/${ref.name}`;
  }
  if (!ip.absent) out.ip = ip.ip();
  const node = e.get('node');
  if (!node.absent) out.node = node.string();
  for (const k of ['ready', 'serving', 'terminating'] as const) {
    const c = e.get(k);
    if (!c.absent) out[k] = c.value as boolean;
  }
  const ports = e.get('ports');
  if (!ports.absent) {
    out.ports = {};
    for (const k of ports.keys()) out.ports[k] = ports.get(k).int(1, 65535);
  }
  return out;
}

/**
 * Values that parse but are wrong. The rule: what the Kubernetes API server (or the HNS / CNI component
 * that owns the value) rejects is an error (InputError naming the file and field path, exit 2): the value
 * cannot mean anything. What it accepts is a diagnostic (`config-*` code, `source` = file:field path) and
 * the run goes on with the assumption the message states.
 *
 * Errors (the API server rejects them):
 * - metadata.name longer than 253 characters or not a DNS-1123 subdomain (Pod, Node, EndpointSlice,
 *   Endpoints, ConfigMap); a Service name longer than 63 or not a DNS-1035 label; metadata.namespace longer than 63 or
 *   not a DNS-1123 label; Pod spec.nodeName and an endpoint's nodeName as a node name.
 * - metadata.labels / annotations / a Service's spec.selector that is not a map, or holds a value that is
 *   not a string (the API's map[string]string); a label key (name <= 63, optional DNS prefix <= 253) or
 *   label value (<= 63, alphanumeric at both ends, `-_.` inside) the API's label validation refuses.
 * - Scenario names (our own format; its schema checks the characters): the same length caps.
 * - A kubectl Service with several ports and one unnamed, a port name used twice, a (port, protocol) listed
 *   twice; an EndpointSlice address of the other family than its addressType.
 * - A ClusterIP that is also a pod's IP, a node's InternalIP or another Service's ClusterIP: the API server
 *   allocates ClusterIPs once each from the service CIDR, which holds no pod or node; a packet to it could
 *   mean either (merge.ts).
 * - Already errors before: an unparsable podCIDR or address, ports outside 1..65535, an unknown Service type
 *   or protocol, duplicate pod or node IPs, overlapping podCIDRs.
 * Diagnostics (the API server accepts them):
 * - config-bad-value (warning): a node podCIDR that is empty (taken as not set) or has host bits set
 *   (10.244.1.5/24, taken as 10.244.1.0/24: the API parses it sloppily, as Go's ParseCIDR does).
 * - config-unknown-node (warning): an endpoint whose nodeName no input describes (when the inputs describe
 *   nodes); it is treated as outside the emulated nodes, like a pod on such a node (info, merge.ts).
 * - config-unknown-address (info): an endpoint address that is no pod's IP, no node's IP and in no pod
 *   CIDR (when the inputs describe nodes): treated as an address outside the cluster (selectorless
 *   Services legitimately point at such addresses).
 * - config-bad-value (warning): a Service port whose targetPort is a name that an endpoint has no port for:
 *   that endpoint gets no traffic on that port (kube-proxy skips it).
 */

import { InputError } from '../core/errors';
import { normalizeIp, formatCidr } from '../core/ip';
import type { Draft, FactSet, ServicePortFacts } from './draft';
import type { EndpointModel } from './model';
import { whereText, type Field, type Where } from './source';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** The kinds of Kubernetes name the API server checks, with its rule and length cap. */
export type NameRule = 'subdomain' | 'label' | 'service';

const RULES: Record<NameRule, { re: RegExp; max: number; words: string }> = {
  subdomain: { re: DNS1123_SUBDOMAIN, max: 253, words: 'a DNS-1123 subdomain (lower-case letters, digits, - and ., alphanumeric at both ends)' },
  label: { re: DNS1123_LABEL, max: 63, words: 'a DNS-1123 label (lower-case letters, digits and -, alphanumeric at both ends)' },
  service: { re: DNS1035_LABEL, max: 63, words: 'a DNS-1035 label (lower-case letters, digits and -, starting with a letter)' },
};

/** A Kubernetes object name checked as the API server does; fails naming the field. */
export function k8sName(f: Field, rule: NameRule): string {
  const s = f.name();
  const r = RULES[rule];
  if (s.length > r.max) f.fail(`a name of ${s.length} characters; the API server allows at most ${r.max}`);
  if (!r.re.test(s)) f.fail(`${JSON.stringify(s)} is not ${r.words}, so the API server would refuse it`);
  return s;
}

/**
 * A scenario name within the API server's length caps: at most `max` characters (253; 63 for Services),
 * and when `namespaced` (`namespace/name`) a namespace of at most 63. The characters are the schema's.
 */
export function cappedName(f: Field, max: number, namespaced: boolean): string {
  const s = f.string();
  const slash = namespaced ? s.indexOf('/') : -1;
  const name = s.slice(slash + 1);
  if (slash > 63) f.fail(`a namespace of ${slash} characters; the API server allows at most 63`);
  if (name.length > max) f.fail(`a name of ${name.length} characters; the API server allows at most ${max}`);
  return s;
}

/**
 * A kubectl Service's ports as the API server validates them: every port named when there are several,
 * names unique, no (port, protocol) twice. Fails at the second of a pair.
 */
export function checkServicePorts(list: Field, ports: readonly { name: string; port: number; protocol: string }[]): void {
  const items = list.optItems();
  const names = new Set<string>();
  const keys = new Set<string>();
  ports.forEach((p, i) => {
    if (ports.length > 1 && p.name === '') items[i].get('name').fail('a Service with several ports must name each port');
    if (names.has(p.name)) items[i].get('name').fail(`port name ${JSON.stringify(p.name)} is used twice`);
    if (keys.has(`${p.port}/${p.protocol}`)) items[i].fail(`port ${p.port}/${p.protocol} is listed twice`);
    names.add(p.name);
    keys.add(`${p.port}/${p.protocol}`);
  });
}

/** Checks a label key (`prefix/name` or `name`) and its value. */
function checkLabel(map: Field, key: string): void {
  const f = map.get(key);
  const slash = key.lastIndexOf('/');
  const prefix = slash < 0 ? '' : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (name.length === 0 || name.length > 63 || !LABEL_NAME.test(name) || (slash >= 0 && (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)))) {
    f.fail(`the label key ${JSON.stringify(key.length > 80 ? `${key.slice(0, 80)}…` : key)} is not valid: a name of at most 63 characters (alphanumeric at both ends; - _ . inside), optionally after a DNS subdomain prefix and /`);
  }
  const v = f.string();
  if (v.length > 63) f.fail(`a label value of ${v.length} characters; the API server allows at most 63`);
  if (v !== '' && !LABEL_NAME.test(v)) f.fail(`the label value ${JSON.stringify(v)} is not valid: alphanumeric at both ends, - _ . inside`);
}

/** A map of strings (labels, annotations, selector), absent or a map; with label syntax when `labels`. */
export function stringMap(f: Field, labels: boolean): void {
  if (f.absent) return;
  f.object();
  for (const key of f.keys()) {
    if (labels) checkLabel(f, key);
    else f.get(key).string();
  }
}

/** An object's metadata as the API server validates it: name, namespace, labels, annotations. */
export function checkMetadata(meta: Field, rule: NameRule): { namespace: string; name: string } {
  const name = k8sName(meta.get('name').required('metadata.name'), rule);
  const ns = meta.get('namespace');
  stringMap(meta.get('labels'), true);
  stringMap(meta.get('annotations'), false);
  return { namespace: ns.absent ? 'default' : k8sName(ns, 'label'), name };
}

/**
 * A node's pod CIDR: undefined (with a diagnostic) when empty; the network, with a diagnostic, when the
 * address has host bits set; an InputError when it is no CIDR at all.
 */
export function nodePodCidr(f: Field, draft: Draft): string | undefined {
  if (f.value === '') {
    draft.note('config-bad-value', 'warning', 'the podCIDR is empty; taken as not set (the node has no pod subnet unless another input gives one)', f.where);
    return undefined;
  }
  const c = f.parsedCidr();
  const given = f.string().trim();
  const slash = given.indexOf('/');
  const net = formatCidr(c);
  if (`${normalizeIp(given.slice(0, slash))}/${c.len}` !== net) {
    draft.note('config-bad-value', 'warning', `the podCIDR ${given} has host bits set; taken as ${net} (the API server accepts it; IPAM and the routes use the network)`, f.where);
  }
  return net;
}

interface Named {
  name: string;
  facts: FactSet;
}

/**
 * Errors for a ClusterIP that is also a pod's IP, a node's InternalIP or another Service's ClusterIP
 * (the API server allocates each ClusterIP once, from the service CIDR, which holds no pod or node).
 */
export function checkClusterIps(
  services: readonly (Named & { namespace: string })[],
  podByIp: ReadonlyMap<string, Named & { namespace: string }>,
  nodeByIp: ReadonlyMap<string, Named>,
): void {
  const seen = new Map<string, Named & { namespace: string }>();
  for (const sv of services) {
    const f = sv.facts.fact<string | null>('clusterIP');
    if (!f || typeof f.value !== 'string') continue;
    checkOneClusterIp(sv, f, f.value, podByIp, nodeByIp, seen);
    // the other family's address of a dual-stack Service (clusterIPs[1]) is checked the same way
    const list = sv.facts.fact<string[]>('clusterIPs');
    for (const ip of list?.value ?? []) if (ip !== f.value) checkOneClusterIp(sv, list!, ip, podByIp, nodeByIp, seen);
  }
}

/** Where Service `sv` gives address `ip`: its clusterIP, or (the other family's) its clusterIPs. */
function clusterIpWhere(sv: Named, ip: string): Where {
  const primary = sv.facts.fact<string | null>('clusterIP')!;
  return (primary.value === ip ? primary : (sv.facts.fact('clusterIPs') ?? primary)).where;
}

function checkOneClusterIp(
  sv: Named & { namespace: string },
  f: { where: Where },
  ip: string,
  podByIp: ReadonlyMap<string, Named & { namespace: string }>,
  nodeByIp: ReadonlyMap<string, Named>,
  seen: Map<string, Named & { namespace: string }>,
): void {
  const ref = `${sv.namespace}/${sv.name}`;
  const pod = podByIp.get(ip);
  const node = nodeByIp.get(ip);
  const other = seen.get(ip);
  const clash = pod
    ? `pod ${pod.namespace}/${pod.name} (${whereText(pod.facts.fact('ip')!.where)})`
    : node
      ? `node ${node.name} (${whereText(node.facts.fact('internalIP')!.where)})`
      : other
        ? `Service ${other.namespace}/${other.name} (${whereText(clusterIpWhere(other, ip))})`
        : null;
  if (clash !== null) {
    throw new InputError(f.where.file, { fieldPath: f.where.path || '(document)' }, `Service ${ref} has ClusterIP ${ip}, which ${clash} also has: the API server gives each ClusterIP to one Service, from the service CIDR, which holds no pod or node; a packet to ${ip} could mean either`);
  }
  seen.set(ip, sv);
}

/** What an endpoint is checked against (empty `nodeNames`: the inputs describe no node, nothing to check). */
export interface EndpointContext {
  nodeNames: ReadonlySet<string>;
  /** True when `ip` is a pod's or a node's IP, or lies in a node's pod CIDR or a cluster CIDR. */
  known(ip: string): boolean;
}

/**
 * Diagnostics for one endpoint as an input states it: a nodeName no input describes, an address nothing
 * in the cluster has. `at` gives the field of `node` or `ip` (computed only when a diagnostic needs it).
 */
export function checkEndpoint(draft: Draft, service: string, e: { ip: string; node: string | null | undefined; hasPod: boolean }, at: (key: 'node' | 'ip') => Where, ctx: EndpointContext): void {
  if (ctx.nodeNames.size === 0) return;
  if (e.node && !ctx.nodeNames.has(e.node)) {
    draft.note('config-unknown-node', 'warning', `an endpoint of Service ${service} (${e.ip}) names node ${e.node}, which no input describes; it is treated as outside the emulated nodes`, at('node'));
  }
  if (!e.hasPod && !ctx.known(e.ip)) {
    draft.note('config-unknown-address', 'info', `an endpoint of Service ${service} has address ${e.ip}, which is no pod's or node's IP and in no pod CIDR; it is treated as an address outside the cluster`, at('ip'));
  }
}

/** `path` + `.key` (`key` alone for the document root). */
export function subPath(w: Where, key: string): Where {
  return { file: w.file, path: w.path ? `${w.path}.${key}` : key };
}

/**
 * A warning for each Service port whose targetPort is a name that some endpoint has no port for:
 * kube-proxy skips those endpoints for that port.
 */
export function checkNamedTargetPorts(draft: Draft, service: string, ports: readonly ServicePortFacts[], endpoints: readonly EndpointModel[]): void {
  for (const p of ports) {
    if (typeof p.targetPort !== 'string') continue;
    const missing = endpoints.filter((e) => e.ports[p.name] === undefined && e.ports[''] === undefined);
    if (missing.length === 0) continue;
    draft.note('config-bad-value', 'warning', `Service ${service} port ${p.name || p.port} targets the port named ${p.targetPort}, which ${missing.length} endpoint(s) (${missing.slice(0, 3).map((e) => e.ip).join(', ')}${missing.length > 3 ? ', ...' : ''}) have no port for: they get no traffic on this port`, p.where);
  }
}

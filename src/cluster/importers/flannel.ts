/**
 * flannel's own files (domain.md 3.6-3.8):
 * - net-conf.json `{"Network":..., "Backend":{"Type":"vxlan","VNI":4096,"Port":4789,"MacPrefix":...,"Name":...}}`
 *   or host-gw, checked with flannel's Windows rules: VNI >= 4096, Port exactly 4789, no DirectRouting or GBP,
 *   MacPrefix `xx-xx`. Left-out keys take flannel's defaults (VNI 4096, Port 4789, name flannel.<VNI>,
 *   MacPrefix 0E-2A; host-gw name cbr0) as weak facts that an explicit value elsewhere overrides silently.
 * - subnet.env (`FLANNEL_NETWORK`, `FLANNEL_SUBNET`, `FLANNEL_MTU`, `FLANNEL_IPMASQ`) as flanneld writes it on
 *   one node. Which node: a `# node: NAME` comment line when present, else the node whose podCIDR contains
 *   FLANNEL_SUBNET (merge.ts; a warning when none does).
 * Sets: network.{mode, plugin (weak), name, vni, vxlanPort, endpointMacPrefix, clusterCidrs, mtu, dnsServers},
 * flannel.{network, ipMasq} (what the flannel CNI hands its delegate), and node facts (podCIDR).
 */

import { cidrContains } from '../../core/ip';
import type { Draft } from '../draft';
import { SourceDoc, type Field } from '../source';
import { checkMacPrefix } from './cni';

/** True for a net-conf.json document: an object with `Backend` or `Network` (any case) and no CNI or Kubernetes keys. */
export function looksLikeNetConf(root: Field): boolean {
  if (!root.isObject() || root.has('cniVersion') || root.has('kind') || root.has('type')) return false;
  return root.has('Backend') || root.has('Network');
}

export function importNetConf(root: Field, draft: Draft): void {
  draft.settings.put('flannel.netConf', true, root.where);
  const enableV4 = root.get('EnableIPv4').optBool() ?? true;
  const network = root.get('Network');
  if (enableV4) {
    const cidr = network.required('Network').cidr();
    draft.settings.put('network.clusterCidrs', [cidr], network.where);
    draft.settings.put('flannel.network', cidr, network.where);
  }
  // IPv6Network / EnableIPv6: overlay networks on Windows have no dual stack (domain.md 1.2); not read.

  const backend = root.get('Backend');
  if (backend.absent) {
    root.fail('Backend is required: flannel defaults to the udp backend, which does not run on Windows (use vxlan or host-gw)');
  }
  backend.object();
  const typeField = backend.get('Type');
  const type = typeField.absent ? 'udp' : typeField.string().toLowerCase();
  draft.settings.put('network.plugin', 'flannel', backend.where, true);
  if (type === 'vxlan') {
    const vniField = backend.get('VNI');
    const vni = vniField.optInt(0, 0xffffff) ?? 4096;
    if (vni < 4096) vniField.fail(`VNI [${vni}] must be greater than or equal to 4096 on Windows`);
    const portField = backend.get('Port');
    const port = portField.optInt(0, 65535) ?? 4789;
    if (port !== 4789) portField.fail(`Port [${port}] is not supported on Windows`);
    for (const key of ['DirectRouting', 'GBP']) {
      const f = backend.get(key);
      if (f.optBool() === true) f.fail(`${key} is not supported on Windows`);
    }
    draft.settings.put('network.mode', 'overlay', typeField.where);
    draft.settings.put('network.vni', vni, vniField.absent ? backend.where : vniField.where, vniField.absent);
    draft.settings.put('network.vxlanPort', port, portField.absent ? backend.where : portField.where, portField.absent);
    const prefix = backend.get('MacPrefix');
    if (prefix.absent) draft.settings.put('network.endpointMacPrefix', '0e:2a', backend.where, true);
    else draft.settings.put('network.endpointMacPrefix', checkMacPrefix(prefix, 'MacPrefix'), prefix.where);
    const name = backend.get('Name');
    if (name.absent) draft.settings.put('network.name', `flannel.${vni}`, backend.where, true);
    else draft.settings.put('network.name', name.name(), name.where);
  } else if (type === 'host-gw') {
    draft.settings.put('network.mode', 'l2bridge', typeField.where);
    const name = backend.get('Name');
    if (name.absent) draft.settings.put('network.name', 'cbr0', backend.where, true);
    else draft.settings.put('network.name', name.name(), name.where);
    const dns = backend.get('DNSServerList');
    if (!dns.absent) {
      const servers = dns
        .string()
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')
        .map((s) => dns.withValue(s).ip());
      draft.settings.put('network.dnsServers', servers, dns.where, true);
    }
  } else {
    (typeField.absent ? backend : typeField).fail(`backend type ${JSON.stringify(type)} is not supported on Windows (flannel on Windows has vxlan and host-gw)`);
  }
}

const ENV_LINE = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;

/** True for a subnet.env text: only `KEY=VALUE` lines and comments, with at least one FLANNEL_ key. */
export function looksLikeSubnetEnv(text: string): boolean {
  let flannel = false;
  // Line by line without splitting the whole text first: a 40 MiB kubectl dump is refused at its first line.
  for (let start = 0; start <= text.length; ) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end).trim();
    start = end + 1;
    if (line === '' || line.startsWith('#')) continue;
    const m = ENV_LINE.exec(line);
    if (!m) return false;
    if (m[1].startsWith('FLANNEL_')) flannel = true;
  }
  return flannel;
}

/** Parses subnet.env text into a document whose keys are the variable names (values are strings). */
function subnetEnvDocument(file: string, text: string): { doc: SourceDoc; nodeName: string | null } {
  const values: Record<string, string> = {};
  const lines: Record<string, number> = {};
  let nodeName: string | null = null;
  const all = text.split(/\r?\n/);
  for (let i = 0; i < all.length; i++) {
    const line = all[i].trim();
    const comment = /^#\s*node\s*:\s*(\S+)\s*$/i.exec(line);
    if (comment) nodeName = comment[1];
    if (line === '' || line.startsWith('#')) continue;
    const m = ENV_LINE.exec(line) as RegExpExecArray;
    let v = m[2].trim();
    if (/^".*"$|^'.*'$/.test(v)) v = v.slice(1, -1);
    values[m[1]] = v;
    lines[m[1]] = i + 1;
  }
  const doc = new SourceDoc(file, values, [], (path) => {
    const key = path[0];
    if (typeof key === 'string' && lines[key] !== undefined) return { line: lines[key], col: all[lines[key] - 1].indexOf('=') + 2 };
    return null;
  });
  return { doc, nodeName };
}

export function importSubnetEnv(file: string, text: string, draft: Draft): void {
  const { doc, nodeName } = subnetEnvDocument(file, text);
  const root = doc.root();
  const network = root.get('FLANNEL_NETWORK');
  if (!network.absent) {
    const nets = network
      .string()
      .split(',')
      .map((s) => network.withValue(s.trim()).cidr());
    draft.settings.put('network.clusterCidrs', nets, network.where);
    draft.settings.put('flannel.network', nets[0], network.where);
  }
  const mtu = root.get('FLANNEL_MTU');
  if (!mtu.absent) draft.settings.put('network.mtu', mtu.int(68, 65535, true), mtu.where);
  const ipMasq = root.get('FLANNEL_IPMASQ');
  if (!ipMasq.absent) draft.settings.put('flannel.ipMasq', ipMasq.bool(true), ipMasq.where);
  draft.settings.put('network.plugin', 'flannel', root.where, true);

  const subnet = root.get('FLANNEL_SUBNET');
  let node = null;
  if (!subnet.absent) {
    const c = subnet.parsedCidr();
    const podCIDR = subnet.cidr();
    if (!network.absent) {
      const nets = (draft.settings.get<string[]>('network.clusterCidrs') ?? []).filter((n) => n.includes('.'));
      if (nets.length > 0 && !nets.some((n) => cidrContains(n, c.base))) subnet.fail(`${subnet.value} is not inside FLANNEL_NETWORK ${network.value}`);
    }
    const key = nodeName !== null ? ({ by: 'name', name: nodeName } as const) : ({ by: 'subnet', ip: podCIDR.split('/')[0], cidr: podCIDR } as const);
    node = draft.node(key, subnet.where);
    node.facts.put('podCIDR', podCIDR, subnet.where);
  }
  for (const k of doc.root().keys()) {
    if (!['FLANNEL_NETWORK', 'FLANNEL_SUBNET', 'FLANNEL_MTU', 'FLANNEL_IPMASQ', 'FLANNEL_IPV6_NETWORK', 'FLANNEL_IPV6_SUBNET'].includes(k)) {
      draft.note('config-ignored', 'info', `${k} is not a variable flanneld writes; ignored`, root.get(k).where);
    }
  }
  draft.subnetEnvs.push({ where: root.where, node });
}

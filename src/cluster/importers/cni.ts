/**
 * CNI network configs for Windows (domain.md 3.1-3.5): win-bridge, win-overlay (containernetworking/plugins),
 * microsoft/windows-container-networking's sdnbridge / sdnoverlay, and the flannel meta plugin with its
 * `delegate`, as a single `.conf` or a `.conflist` (`plugins[]`). Keys are matched case-insensitively (Go's
 * encoding/json), so the Microsoft/SDN form (`"Policies":[{"Name":"EndpointPolicy","Value":{...}}]`,
 * `"dns":{"Nameservers":...}`) and the plugins' sample form (`"policies":[{"name":...,"value":...}]`) both read.
 *
 * Type names (windows-container-networking cni/cni.go `CniPluginNameToHcnTypeMap` / `MapCniTypeToHcnType`
 * @ b96345f1, exact-case match): `sdnbridge` / `L2Bridge`, `sdnoverlay` / `Overlay`, `nat` / `NAT`;
 * `sdntunnel` is commented out there. The repo's own examples still say `"type": "l2bridge"` / `"l2tunnel"`,
 * the older binaries' names: `l2bridge` is read as sdnbridge with a `cni-type-renamed` note (inference:
 * today's plugin would refuse the name); `l2tunnel` / `sdntunnel` / `L2Tunnel` and `nat` / `NAT` are refused
 * by name (vfp-emu models L2Bridge and Overlay networks only), as are Azure's `azure-vnet` and the legacy
 * `wincni.exe` (azure-cni.ts).
 * The sdn* plugins' own fields (`AdditionalArgs`, `optionalFlags`) are read by cni-sdn.ts; the win-* plugins'
 * `policies` here. Template placeholders (`{{NAME}}`, `""`, `"ip of host"`) are named (placeholders.ts).
 * The Linux nodes' flannel config (type flannel with the Linux `bridge` delegate, upstream flannel
 * Documentation/kube-flannel.yml) is recognised and not applied (`cni-linux-config`).
 *
 * Sets: network.{name, mode, plugin, loopbackDSR, endpointMacPrefix, ipMasq, ipMasqNetwork, dnsServers,
 * dnsSearch}, the policies (policies.ts), `cni.providerAddress` for a PA policy, and `cni.sdnPlugin` when the
 * endpoints are made by an sdn* plugin (which ignores the ipMasq / ipMasqNetwork that flannel hands it).
 */

import type { Draft } from '../draft';
import type { Field } from '../source';
import { importEndpointPolicy } from './policies';
import { noteUnmodelled, readLoopbackDsr, readSdnFields } from './cni-sdn';
import { placeholderIn, notePlaceholder } from './placeholders';
import { refusedPluginType, isLinuxFlannel, importAzure } from './azure-cni';

type WinPlugin = 'win-bridge' | 'win-overlay';
/** A plugin type: what it programs, and whether it is a windows-container-networking (sdn*) plugin. */
interface PluginType {
  plugin: WinPlugin | 'flannel';
  sdn: boolean;
}

/** Plugin types this importer understands, by the `type` a config names (exact case, as the plugins match). */
const PLUGINS: Record<string, PluginType> = {
  'azure-vnet': { plugin: 'win-bridge', sdn: false },
  'win-bridge': { plugin: 'win-bridge', sdn: false },
  'win-overlay': { plugin: 'win-overlay', sdn: false },
  sdnbridge: { plugin: 'win-bridge', sdn: true },
  L2Bridge: { plugin: 'win-bridge', sdn: true },
  l2bridge: { plugin: 'win-bridge', sdn: true },
  sdnoverlay: { plugin: 'win-overlay', sdn: true },
  Overlay: { plugin: 'win-overlay', sdn: true },
  flannel: { plugin: 'flannel', sdn: false },
};

/** The type names a message lists as emulated. */
const EMULATED_TYPES = 'win-bridge, win-overlay, sdnbridge (L2Bridge), sdnoverlay (Overlay), flannel';

/**
 * What a user of another plugin (Calico for Windows `calico`, Antrea, EKS `vpc-bridge` ...) can do instead: the
 * node's HNS state says what that plugin programmed, and a node is emulated from an HNS dump alone (hns.ts).
 */
const HNS_INSTEAD = 'to emulate such a node, give its HNS state instead (on the node: Get-HnsNetwork | ConvertTo-Json -Depth 10 > network.json, and the same for Get-HnsEndpoint), which says what the plugin programmed';

function pluginOf(t: unknown): PluginType | undefined {
  return typeof t === 'string' && Object.prototype.hasOwnProperty.call(PLUGINS, t) ? PLUGINS[t] : undefined;
}

/** True when the document looks like a CNI config (has `cniVersion`, or a known plugin `type`, or `plugins[]`). */
export function looksLikeCni(root: Field): boolean {
  if (!root.isObject()) return false;
  if (root.has('cniVersion')) return true;
  const t = root.get('type').value;
  // HCN type names (L2Bridge, Overlay, NAT) are also HNS dumps' `Type`: only plugin names tell a CNI config.
  if (typeof t === 'string' && !/^[A-Z]/.test(t) && (pluginOf(t) !== undefined || refusedPluginType(t) !== null)) return true;
  return Array.isArray(root.get('plugins').value) && root.has('name');
}

/** `endpointMacPrefix` / flannel `MacPrefix` check: exactly `xx-xx` (the plugins check length 5 and `-` at index 2; hex is needed to build MACs). */
export function checkMacPrefix(f: Field, key: string): string {
  const s = f.string();
  if (!/^[0-9A-Fa-f]{2}-[0-9A-Fa-f]{2}$/.test(s)) f.fail(`${key} [${s}] is invalid, value must be of the format xx-xx (two hex bytes, e.g. 0E-2A)`);
  return s.toLowerCase().replace('-', ':');
}

export function importCni(root: Field, draft: Draft): void {
  const pluginsField = root.get('plugins');
  if (!pluginsField.absent) {
    const name = root.get('name').required('name').name();
    const plugins = pluginsField.items();
    const ours = plugins.find((p) => pluginOf(p.get('type').value) !== undefined || refusedPluginType(p.get('type').value) !== null);
    if (!ours) {
      const found = plugins.map((p) => String(p.get('type').value)).join(', ') || 'none';
      pluginsField.fail(`no win-bridge, win-overlay, sdnbridge, sdnoverlay or flannel plugin in this conflist (found: ${found}); ${HNS_INSTEAD}`);
    }
    importPlugin(ours as Field, name, draft);
    return;
  }
  importPlugin(root, root.get('name').required('name').name(), draft);
}

/** The plugin a `type` field names; refuses the types that are not emulated, by name; null for a placeholder. */
function resolveType(typeField: Field, conf: Field, draft: Draft): PluginType | null {
  const type = typeField.string();
  const refused = refusedPluginType(type);
  if (refused !== null) typeField.fail(refused);
  const known = pluginOf(type);
  if (known) {
    if (type === 'l2bridge') draft.note('cni-type-renamed', 'info', 'CNI type "l2bridge" is the older name of sdnbridge (HCN L2Bridge); today\'s windows-container-networking plugin accepts only sdnbridge or L2Bridge, so rename it on the node', typeField.where);
    return known;
  }
  if (placeholderIn(type) !== null) {
    const sdn = conf.has('AdditionalArgs');
    notePlaceholder(typeField, draft, `the plugin is taken from the config's form (${sdn ? 'AdditionalArgs: sdnbridge/sdnoverlay' : 'policies: win-bridge/win-overlay'}) and the network mode from the other inputs (l2bridge when none says)`);
    return null;
  }
  return typeField.fail(`CNI plugin type ${JSON.stringify(type)} is not emulated; expected one of ${EMULATED_TYPES}; ${HNS_INSTEAD}`);
}

function importPlugin(conf: Field, networkName: string, draft: Draft): void {
  const typeField = conf.get('type').required('type');
  if (typeField.value === 'azure-vnet') {
    draft.policySources.push(conf.where);
    draft.settings.put('network.name', networkName, conf.get('name').absent ? conf.where : conf.get('name').where);
    return importAzure(conf, draft, readDns);
  }
  const resolved = resolveType(typeField, conf, draft);
  if (resolved?.plugin === 'flannel' && isLinuxFlannel(conf)) {
    draft.note('cni-linux-config', 'info', 'this is the flannel CNI config of the Linux nodes (type flannel with the Linux bridge delegate: no win-bridge, win-overlay, sdnbridge or sdnoverlay); it is not applied to Windows nodes', conf.where);
    return;
  }
  draft.policySources.push(conf.where);
  const nameField = conf.get('name');
  if (!notePlaceholder(nameField, draft, 'the network name is derived from the other inputs')) draft.settings.put('network.name', networkName, nameField.absent ? conf.where : nameField.where);
  if (resolved === null) return readWindowsPlugin(conf, 'win-bridge', conf.has('AdditionalArgs'), draft);
  if (resolved.plugin === 'flannel') return importFlannel(conf, typeField, draft);
  draft.settings.put('network.plugin', resolved.plugin, typeField.where);
  draft.settings.put('network.mode', resolved.plugin === 'win-overlay' ? 'overlay' : 'l2bridge', typeField.where);
  readWindowsPlugin(conf, resolved.plugin, resolved.sdn, draft);
}

/** The flannel meta plugin and its delegate (domain.md 3.4). */
function importFlannel(conf: Field, typeField: Field, draft: Draft): void {
  draft.settings.put('network.plugin', 'flannel', typeField.where);
  noteUnmodelled(conf, draft);
  const delegate = conf.get('delegate');
  if (delegate.absent) {
    // flannel defaults the delegate to win-bridge (domain.md 3.4).
    draft.settings.put('network.mode', 'l2bridge', typeField.where, true);
    draft.settings.put('cni.delegatePlugin', 'win-bridge', typeField.where, true);
    return;
  }
  delegate.object();
  const dType = delegate.get('type');
  const inner = dType.absent ? PLUGINS['win-bridge'] : resolveType(dType, delegate, draft);
  if (inner?.plugin === 'flannel') dType.fail(`flannel delegate type ${JSON.stringify(dType.value)} is not emulated; expected win-bridge or win-overlay (or sdnbridge, sdnoverlay)`);
  const plugin = (inner?.plugin ?? 'win-bridge') as WinPlugin;
  if (inner !== null) draft.settings.put('network.mode', plugin === 'win-overlay' ? 'overlay' : 'l2bridge', dType.absent ? delegate.where : dType.where);
  // the plugin flannel hands the config to: a later input's network mode (net-conf.json's backend) must suit it
  if (inner !== null) draft.settings.put('cni.delegatePlugin', plugin, dType.absent ? delegate.where : dType.where);
  readWindowsPlugin(delegate, plugin, inner?.sdn ?? delegate.has('AdditionalArgs'), draft);
}

/** The shared pkg/hns NetConf fields plus the plugin's own (ipMasqNetwork for win-bridge; ipMasq, endpointMacPrefix for win-overlay). */
function readWindowsPlugin(conf: Field, plugin: WinPlugin, sdn: boolean, draft: Draft): void {
  readDns(conf, draft);
  noteUnmodelled(conf, draft);
  if (sdn) {
    draft.settings.put('cni.sdnPlugin', true, conf.where);
    readSdnFields(conf, draft);
    if (conf.has('policies')) draft.note('cni-policy-unused', 'warning', 'the sdnbridge/sdnoverlay plugins read AdditionalArgs, not "policies": a node running them applies none of these policies, so neither does the emulator', conf.get('policies').where);
    return;
  }
  if (conf.has('AdditionalArgs')) draft.note('cni-policy-unused', 'warning', `the ${plugin} plugin (containernetworking/plugins) reads "policies", not AdditionalArgs (an sdnbridge/sdnoverlay field): a node running it applies none of these, so neither does the emulator`, conf.get('AdditionalArgs').where);
  readLoopbackDsr(conf.get('loopbackDSR'), draft);
  readMasq(conf, plugin, draft);
  for (const entry of conf.get('policies').optItems()) {
    entry.object();
    const name = entry.get('name');
    if (typeof name.value !== 'string' || name.value.toLowerCase() !== 'endpointpolicy') {
      // Only EndpointPolicy entries are used by the plugins (domain.md 3.1).
      draft.note('config-ignored', 'info', `CNI policy entry named ${JSON.stringify(name.value)} is not an EndpointPolicy; the plugin ignores it`, entry.where);
      continue;
    }
    const r = importEndpointPolicy(entry.get('value').required('value'), draft);
    if (r.providerAddress) draft.settings.put('cni.providerAddress', r.providerAddress.ip, r.providerAddress.where);
  }
}

function readDns(conf: Field, draft: Draft): void {
  const dns = conf.get('dns');
  if (dns.absent) return;
  dns.object();
  const servers = dns
    .get('nameservers')
    .optItems()
    .filter((x) => !notePlaceholder(x, draft, 'this DNS server is left out (the kube-dns ClusterIP is used when none is left)'))
    .map((x) => x.ip());
  if (servers.length > 0) draft.settings.put('network.dnsServers', servers, dns.get('nameservers').where);
  const search = dns.get('search').optItems().map((x) => x.name());
  if (search.length > 0) draft.settings.put('network.dnsSearch', search, dns.get('search').where);
}

/** win-bridge `ipMasqNetwork`; win-overlay `ipMasq`, `endpointMacPrefix` (and ipMasqNetwork, which flannel passes). */
function readMasq(conf: Field, plugin: WinPlugin, draft: Draft): void {
  const ipMasqNetwork = conf.get('ipMasqNetwork');
  const ipMasq = conf.get('ipMasq');
  if (!ipMasqNetwork.absent && ipMasqNetwork.value !== '') draft.settings.put('network.ipMasqNetwork', ipMasqNetwork.cidr(), ipMasqNetwork.where);
  if (!ipMasq.absent) draft.settings.put('network.ipMasq', ipMasq.bool(), ipMasq.where);
  if (plugin === 'win-overlay') {
    const prefix = conf.get('endpointMacPrefix');
    if (!prefix.absent && prefix.value !== '') draft.settings.put('network.endpointMacPrefix', checkMacPrefix(prefix, 'endpointMacPrefix'), prefix.where);
  }
}

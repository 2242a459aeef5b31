/**
 * CNI network configs for Windows (domain.md 3.1-3.5): win-bridge, win-overlay (also under their
 * containerd names sdnbridge / sdnoverlay) and the flannel meta plugin with its `delegate`, as a single
 * `.conf` or a `.conflist` (`plugins[]`). Keys are matched case-insensitively (Go's encoding/json), so the
 * Microsoft/SDN form (`"Policies":[{"Name":"EndpointPolicy","Value":{...}}]`, `"dns":{"Nameservers":...}`)
 * and the plugins' sample form (`"policies":[{"name":...,"value":...}]`) both read.
 *
 * Sets: network.{name, mode, plugin, loopbackDSR, endpointMacPrefix, ipMasq, ipMasqNetwork, dnsServers,
 * dnsSearch}, the policies (policies.ts), and `cni.providerAddress` for a PA policy.
 */

import type { Draft } from '../draft';
import type { Field } from '../source';
import { importEndpointPolicy } from './policies';

/** Plugin types this importer understands, by the `type` a config names. */
const PLUGINS: Record<string, 'win-bridge' | 'win-overlay' | 'flannel'> = {
  'win-bridge': 'win-bridge',
  sdnbridge: 'win-bridge',
  'win-overlay': 'win-overlay',
  sdnoverlay: 'win-overlay',
  flannel: 'flannel',
};

/** True when the document looks like a CNI config (has `cniVersion`, or a known plugin `type`, or `plugins[]`). */
export function looksLikeCni(root: Field): boolean {
  if (!root.isObject()) return false;
  if (root.has('cniVersion')) return true;
  const t = root.get('type').value;
  if (typeof t === 'string' && PLUGINS[t] !== undefined) return true;
  return Array.isArray(root.get('plugins').value) && root.has('name');
}

/** `endpointMacPrefix` / flannel `MacPrefix` check: exactly `xx-xx` (the plugins check length 5 and `-` at index 2; hex is needed to build MACs). */
export function checkMacPrefix(f: Field, key: string): string {
  const s = f.string();
  if (!/^[0-9A-Fa-f]{2}-[0-9A-Fa-f]{2}$/.test(s)) f.fail(`${key} [${s}] is invalid, value must be of the format xx-xx (two hex bytes, e.g. 0E-2A)`);
  return s.toLowerCase().replace('-', ':');
}

export function importCni(root: Field, draft: Draft): void {
  draft.policySources.push(root.where);
  const pluginsField = root.get('plugins');
  if (!pluginsField.absent) {
    const name = root.get('name').required('name').name();
    const plugins = pluginsField.items();
    const ours = plugins.find((p) => typeof p.get('type').value === 'string' && PLUGINS[p.get('type').value as string] !== undefined);
    if (!ours) {
      const found = plugins.map((p) => String(p.get('type').value)).join(', ') || 'none';
      pluginsField.fail(`no win-bridge, win-overlay, sdnbridge, sdnoverlay or flannel plugin in this conflist (found: ${found})`);
    }
    importPlugin(ours as Field, name, draft);
    return;
  }
  importPlugin(root, root.get('name').required('name').name(), draft);
}

function importPlugin(conf: Field, networkName: string, draft: Draft): void {
  const typeField = conf.get('type').required('type');
  const type = typeField.string();
  const plugin = PLUGINS[type];
  if (plugin === undefined) return typeField.fail(`CNI plugin type ${JSON.stringify(type)} is not emulated; expected one of ${Object.keys(PLUGINS).join(', ')}`);
  draft.settings.put('network.name', networkName, conf.get('name').absent ? conf.where : conf.get('name').where);
  if (plugin === 'flannel') {
    draft.settings.put('network.plugin', 'flannel', typeField.where);
    const delegate = conf.get('delegate');
    if (delegate.absent) {
      // flannel defaults the delegate to win-bridge (domain.md 3.4).
      draft.settings.put('network.mode', 'l2bridge', typeField.where, true);
      return;
    }
    delegate.object();
    const dType = delegate.get('type');
    const inner = dType.absent ? 'win-bridge' : PLUGINS[dType.string()];
    if (inner === undefined || inner === 'flannel') dType.fail(`flannel delegate type ${JSON.stringify(dType.value)} is not emulated; expected win-bridge or win-overlay (or sdnbridge, sdnoverlay)`);
    draft.settings.put('network.mode', inner === 'win-overlay' ? 'overlay' : 'l2bridge', dType.absent ? delegate.where : dType.where);
    readWindowsPlugin(delegate, inner as 'win-bridge' | 'win-overlay', draft);
    return;
  }
  draft.settings.put('network.plugin', plugin, typeField.where);
  draft.settings.put('network.mode', plugin === 'win-overlay' ? 'overlay' : 'l2bridge', typeField.where);
  readWindowsPlugin(conf, plugin, draft);
}

/** The shared pkg/hns NetConf fields plus the plugin's own (ipMasqNetwork for win-bridge; ipMasq, endpointMacPrefix for win-overlay). */
function readWindowsPlugin(conf: Field, plugin: 'win-bridge' | 'win-overlay', draft: Draft): void {
  const dns = conf.get('dns');
  if (!dns.absent) {
    dns.object();
    const servers = dns.get('nameservers').optItems().map((x) => x.ip());
    if (servers.length > 0) draft.settings.put('network.dnsServers', servers, dns.get('nameservers').where);
    const search = dns.get('search').optItems().map((x) => x.name());
    if (search.length > 0) draft.settings.put('network.dnsSearch', search, dns.get('search').where);
  }
  const loopback = conf.get('loopbackDSR');
  if (!loopback.absent) draft.settings.put('network.loopbackDSR', loopback.bool(), loopback.where);

  const ipMasqNetwork = conf.get('ipMasqNetwork');
  const ipMasq = conf.get('ipMasq');
  if (plugin === 'win-bridge') {
    if (!ipMasqNetwork.absent && ipMasqNetwork.value !== '') draft.settings.put('network.ipMasqNetwork', ipMasqNetwork.cidr(), ipMasqNetwork.where);
    if (!ipMasq.absent) draft.settings.put('network.ipMasq', ipMasq.bool(), ipMasq.where);
  } else {
    if (!ipMasq.absent) draft.settings.put('network.ipMasq', ipMasq.bool(), ipMasq.where);
    const prefix = conf.get('endpointMacPrefix');
    if (!prefix.absent && prefix.value !== '') draft.settings.put('network.endpointMacPrefix', checkMacPrefix(prefix, 'endpointMacPrefix'), prefix.where);
    if (!ipMasqNetwork.absent && ipMasqNetwork.value !== '') draft.settings.put('network.ipMasqNetwork', ipMasqNetwork.cidr(), ipMasqNetwork.where);
  }

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

/**
 * KubeProxyConfiguration (apiVersion kubeproxy.config.k8s.io/v1alpha1), the Windows parts (domain.md 1.2):
 * mode (kernelspace is the only Windows proxier), winkernel.{enableDSR, sourceVip, networkName,
 * rootHnsEndpointName, forwardHealthCheckVip}, featureGates WinDSR / WinOverlay, healthzBindAddress's port,
 * clusterCIDR (a weak hint for the cluster CIDR), hostnameOverride (which node a sourceVip belongs to).
 * Keys are case-sensitive, as Kubernetes decodes them. Every other key (clientConnection, iptables, ipvs,
 * conntrack, other feature gates, ...) is named in one info diagnostic: read, no Windows data-plane effect.
 * Sets: proxy.{enableDSR, WinDSR, WinOverlay, sourceVip, networkName, healthzPort, hostname}, network.clusterCidrs (weak).
 */

import type { Draft } from '../draft';
import type { Field, Where } from '../source';

export function looksLikeKubeProxy(root: Field): boolean {
  return root.isObject() && root.get('kind').value === 'KubeProxyConfiguration';
}

/** Keys this importer reads (top level, winkernel.*, featureGates.*). */
const READ = new Set(['apiVersion', 'kind', 'mode', 'winkernel', 'featureGates', 'healthzBindAddress', 'clusterCIDR', 'hostnameOverride']);
const READ_WINKERNEL = new Set(['enableDSR', 'sourceVip', 'networkName', 'rootHnsEndpointName', 'forwardHealthCheckVip']);

/** The keys read and not used, as `key`, `winkernel.key`, `featureGates.Gate` (never skipped in silence). */
function unusedKeys(root: Field): string[] {
  const out = root.keys().filter((k) => !READ.has(k));
  const wk = root.get('winkernel');
  if (wk.isObject()) out.push(...wk.keys().filter((k) => !READ_WINKERNEL.has(k)).map((k) => `winkernel.${k}`));
  const gates = root.get('featureGates');
  if (gates.isObject()) out.push(...gates.keys().filter((k) => k !== 'WinDSR' && k !== 'WinOverlay').map((k) => `featureGates.${k}`));
  return out;
}

/**
 * A kube-proxy mode other than kernelspace (the config's `mode`, the flag `--proxy-mode`; `written` says which,
 * for the message): a warning, the one home of the rule for both. Empty is kube-proxy's default.
 */
export function noteProxyMode(draft: Draft, mode: string, written: string, where: Where): void {
  if (mode === '' || mode === 'kernelspace') return;
  draft.note('config-kube-proxy-mode', 'warning', `kube-proxy ${written} does not exist on Windows; Windows nodes run the kernelspace (winkernel) proxier, which is what is emulated`, where);
}

/** The port of a healthz bind address `host:port` (config healthzBindAddress, flag --healthz-bind-address), or null when it is none (1..65535). */
export function healthzPortOf(text: string): number | null {
  const m = /:(\d+)$/.exec(text);
  const port = m ? Number(m[1]) : NaN;
  return m && port >= 1 && port <= 65535 ? port : null;
}

export function importKubeProxy(root: Field, draft: Draft): void {
  const s = draft.settings;
  const unused = unusedKeys(root);
  if (unused.length > 0) draft.note('config-ignored', 'info', `KubeProxyConfiguration keys with no Windows data-plane effect emulated, read and not used: ${unused.join(', ')}`, root.where);
  const mode = root.get('mode');
  if (!mode.absent) noteProxyMode(draft, mode.string(), `mode ${JSON.stringify(mode.value)}`, mode.where);
  const wk = root.get('winkernel');
  if (!wk.absent) {
    wk.object();
    const dsr = wk.get('enableDSR');
    if (!dsr.absent) s.put('proxy.enableDSR', dsr.bool(), dsr.where);
    const vip = wk.get('sourceVip');
    if (!vip.absent && vip.value !== '') s.put('proxy.sourceVip', vip.ip(), vip.where);
    const net = wk.get('networkName');
    if (!net.absent && net.value !== '') s.put('proxy.networkName', net.name(), net.where);
    const root = wk.get('rootHnsEndpointName');
    if (!root.absent && root.value !== '') s.put('proxy.rootHnsEndpointName', root.name(), root.where);
    const fwd = wk.get('forwardHealthCheckVip');
    if (!fwd.absent) s.put('proxy.forwardHealthCheckVip', fwd.bool(), fwd.where);
  }
  const gates = root.get('featureGates');
  if (!gates.absent) {
    gates.object();
    for (const g of ['WinDSR', 'WinOverlay']) {
      const f = gates.get(g);
      if (!f.absent) s.put(`proxy.${g}`, f.bool(), f.where);
    }
  }
  const healthz = root.get('healthzBindAddress');
  if (!healthz.absent && healthz.value !== '') {
    const port = healthzPortOf(healthz.string());
    if (port === null) return healthz.fail(`${JSON.stringify(healthz.value)} is not host:port (like 0.0.0.0:10256)`);
    s.put('proxy.healthzPort', port, healthz.where);
  }
  const cidr = root.get('clusterCIDR');
  if (!cidr.absent && cidr.value !== '') {
    const list = cidr
      .string()
      .split(',')
      .map((x) => cidr.withValue(x.trim()).cidr());
    s.put('network.clusterCidrs', list.filter((c) => c.includes('.')), cidr.where, true);
  }
  const host = root.get('hostnameOverride');
  // kube-proxy takes the node name through nodeutil.GetHostname: trimmed and lower-cased (as the flag's)
  if (!host.absent && host.value !== '') s.put('proxy.hostname', host.name().trim().toLowerCase(), host.where);
}

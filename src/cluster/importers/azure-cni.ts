/**
 * CNI plugin types that are recognised but not emulated, each refused by name (exit 2 naming the file and
 * the `type` field) with what to use instead, and the Linux nodes' flannel config, recognised so that it is
 * not applied to Windows nodes.
 *
 * - `l2tunnel` / `sdntunnel` / `L2Tunnel`: windows-container-networking cni/cni.go @ b96345f1 has
 *   `SdnTunnelPluginName` commented out of `CniPluginNameToHcnTypeMap`, so today's plugin refuses it too.
 * - `nat` / `NAT`: a NAT network (WinNAT, the container host's own NAT): vfp-emu models the L2Bridge and
 *   Overlay networks Kubernetes uses, not NAT networks.
 * - `wincni` / `wincni.exe`: the pre-containerd (dockershim) plugin of Microsoft/SDN and aks-engine.
 * - `azure-vnet`: Azure CNI, see azure-cni reading below (refused until read).
 */

import type { Field } from '../source';

const TUNNEL = 'an L2Tunnel network is not emulated (windows-container-networking no longer maps sdntunnel to an HCN type either); use an sdnbridge (L2Bridge) or sdnoverlay (Overlay) config';
const NAT = 'a NAT network (the nat plugin, HCN type NAT) is not emulated: vfp-emu models the L2Bridge and Overlay networks of Kubernetes nodes; use an sdnbridge or sdnoverlay config';
const WINCNI = 'wincni, the pre-containerd dockershim plugin, is not emulated; use the sdnbridge/win-bridge config of the node';

const REFUSED: Record<string, string> = {
  l2tunnel: TUNNEL,
  sdntunnel: TUNNEL,
  L2Tunnel: TUNNEL,
  nat: NAT,
  NAT: NAT,
  wincni: WINCNI,
  'wincni.exe': WINCNI,
};

/** The refusal message for a plugin type that is recognised but not emulated, or null. */
export function refusedPluginType(t: unknown): string | null {
  if (typeof t !== 'string' || !Object.prototype.hasOwnProperty.call(REFUSED, t)) return null;
  return `CNI type ${JSON.stringify(t)}: ${REFUSED[t]}`;
}

/**
 * True for the Linux nodes' flannel CNI config (upstream flannel Documentation/kube-flannel.yml `cni-conf.json`:
 * `{"type":"flannel","delegate":{"hairpinMode":true,"isDefaultGateway":true}}` in a conflist beside `portmap`):
 * a delegate of the Linux `bridge` plugin, by its type or by the Linux bridge fields with no type.
 */
export function isLinuxFlannel(conf: Field): boolean {
  const d = conf.get('delegate');
  if (!d.isObject()) return false;
  const t = d.get('type').value;
  if (t === 'bridge') return true;
  return t === undefined && (d.has('hairpinMode') || d.has('isDefaultGateway'));
}

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
 *
 * Azure CNI (`azure-vnet`, Azure/azure-container-networking, MIT): `importAzure` reads the `mode: bridge`
 * config (cni/azure-windows.conflist @ de539913) as an L2Bridge network like win-bridge (pods take VNET
 * addresses, so no routes to other nodes' pod subnets are programmed). Its AdditionalArgs keep the v1-flat
 * form, which Azure's plugin converts itself (network/policy/policy_windows.go `GetHcnEndpointPolicies` @
 * cbd7560c: `GetPolicyType` by the exact Type `OutBoundNAT`, `ROUTE`, `NAT` (port mapping), `ACL`,
 * `L4WFPPROXY`, `LoopbackDSR`; any other Type fails the ADD "Failed to set Policy", so it is refused here).
 * `GetHcnOutBoundNATPolicy` may add the `CnetAddressSpace` of the endpoint's runtime data (multitenancy) to
 * the exceptions: UNCONFIRMED what it holds, not emulated (multitenancy is refused).
 * Refused by name: `mode: tunnel` or no mode (network/network.go `opModeDefault = opModeTunnel`; the HNS v1
 * path makes an L2Tunnel network; UNCONFIRMED whether today's HCN path, which builds L2Bridge, honours it),
 * `multiTenancy`, `executionMode` (v4swift: azure-windows-swift*.conflist) and ipam `azure-cns` (Swift /
 * CNS-managed addresses), which vfp-emu does not model.
 */

import type { Draft } from '../draft';
import type { Field } from '../source';
import { noteOtherArg } from './cni-sdn';
import { importEndpointPolicy } from './policies';

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

/** Policy types Azure's plugin converts (policy_windows.go GetPolicyType; exact case). */
const AZURE_TYPES = ['OutBoundNAT', 'ROUTE', 'NAT', 'ACL', 'L4WFPPROXY', 'LoopbackDSR'];

/** Refuses the Azure CNI parts vfp-emu does not model, each by name. */
function refuseAzureParts(conf: Field): void {
  const mt = conf.get('multiTenancy');
  if (!mt.absent && mt.bool()) mt.fail('Azure CNI multitenancy is not emulated (per-tenant networks and VLANs)');
  const exec = conf.get('executionMode');
  if (!exec.absent && exec.string() !== '') exec.fail(`Azure CNI executionMode ${JSON.stringify(exec.value)} (Swift, addresses from the Azure CNS) is not emulated; use the mode "bridge" config with azure-vnet-ipam`);
  const ipam = conf.at('ipam', 'type');
  if (!ipam.absent && ipam.string() === 'azure-cns') ipam.fail('Azure CNI with ipam azure-cns (Swift / CNS-managed pod addresses) is not emulated; use the azure-vnet-ipam config');
  const mode = conf.get('mode');
  if (mode.absent || mode.string() !== 'bridge') {
    const f = mode.absent ? conf.get('type') : mode;
    f.fail(`Azure CNI ${mode.absent ? 'without a mode runs in its default mode "tunnel"' : `mode ${JSON.stringify(mode.value)}`}: only mode "bridge" (an L2Bridge network) is emulated; an L2Tunnel or transparent network is not`);
  }
}

/** One AdditionalArgs entry of an Azure config (cni/netconfig.go GetPoliciesFromNwCfg: Name contains "Policy"). */
function readAzureArg(entry: Field, draft: Draft): void {
  entry.object();
  const name = entry.get('Name').absent ? '' : entry.get('Name').string();
  if (name !== 'EndpointPolicy') return noteOtherArg(entry, name, draft);
  const value = entry.get('Value').required('Value').object();
  const typeField = value.get('Type').required('Type');
  const type = typeField.string();
  if (!AZURE_TYPES.includes(type)) typeField.fail(`Azure CNI fails the pod's network setup on policy Type ${JSON.stringify(type)} ("Failed to set Policy"); it converts only ${AZURE_TYPES.join(', ')} (exact case)`);
  if (type === 'L4WFPPROXY' || type === 'LoopbackDSR') {
    draft.note('cni-not-emulated', 'info', `Azure CNI policy ${type} is read but not emulated`, entry.where);
    return;
  }
  const r = importEndpointPolicy(value, draft);
  if (r.providerAddress) draft.settings.put('cni.providerAddress', r.providerAddress.ip, r.providerAddress.where);
}

/** An Azure CNI (`azure-vnet`) plugin config; `readDns` is cni.ts's reader of the shared `dns` field. */
export function importAzure(conf: Field, draft: Draft, readDns: (conf: Field, draft: Draft) => void): void {
  refuseAzureParts(conf);
  draft.settings.put('network.plugin', 'win-bridge', conf.get('type').where);
  draft.settings.put('network.mode', 'l2bridge', conf.get('mode').where);
  draft.note('cni-azure', 'info', 'Azure CNI (azure-vnet, mode bridge) programs an L2Bridge network whose pods take VNET addresses; it is emulated as win-bridge (no routes to other nodes\' pod subnets: the VNET routes them)', conf.get('type').where);
  readDns(conf, draft);
  for (const entry of conf.get('AdditionalArgs').optItems()) readAzureArg(entry, draft);
}

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

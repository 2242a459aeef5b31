/**
 * The fields only microsoft/windows-container-networking's sdnbridge / sdnoverlay plugins read (cni/cni.go
 * `NetworkConfig` @ b96345f1, MIT): `AdditionalArgs` and `optionalFlags`.
 *
 * AdditionalArgs (`GetNetworkInfo`): every entry whose Name contains "Policy" (Go `strings.Contains`, case-
 * sensitive) is kept as a CNI policy of type Name; network/endpoint.go `GetHostComputeEndpointPolicies` turns
 * only Name == "EndpointPolicy" into HCN endpoint policies (decoded as `{Type, Settings}`: policies.ts
 * `v2Only`), network/network.go `GetHostComputeNetworkPolicies` only Name == "NetworkPolicy" into policies of
 * the HNS network (`cni-network-policy`: not emulated). Any other *Policy name is kept but used by nothing,
 * and a Name without "Policy" is dropped (`cni-policy-unused`).
 *
 * optionalFlags (`OptionalFlags`): `loopbackDSR` -> common/core/network.go adds network/policy.go
 * `GetLoopbackDSRPolicy` (OutBoundNAT `Settings.Destinations: [podIP]`) to every endpoint, the same policy
 * win-bridge's top-level `loopbackDSR` adds (domain.md 3.1), so it sets the same `network.loopbackDSR`
 * (which no engine step reads: see `readLoopbackDsr`). The
 * plugin fails ADD when HNS lacks DSR (`hcn.DSRSupported`); that is the Windows profile's business. The other
 * flags change nothing vfp-emu models and are named when set (`cni-not-emulated`): `localRoutedPortMapping`
 * and `allowAclPortMapping` act on port mappings (no host-port model), `forceBridgeGateway` and
 * `gatewayFromAdditionalRoutes` on the endpoint's gateway, `enableDualStack` on IPv6 addresses (pods'
 * IPv6 addresses come from the Pod inputs; IPv6 OutboundNAT is not emulated). An unknown flag is ignored by Go's decoder and named (`config-ignored`).
 */

import type { Draft } from '../draft';
import type { Field } from '../source';
import { importEndpointPolicy } from './policies';

/** What each optionalFlags flag does on a node, when it is not emulated (null: applied). */
const FLAGS: Record<string, string | null> = {
  loopbackDSR: null,
  localRoutedPortMapping: 'makes port mappings local-routed (PortMapping flag LocalRoutedVIP); vfp-emu has no host-port model',
  allowAclPortMapping: 'adds an inbound Allow ACL per port mapping (priority from 1000); vfp-emu has no host-port model',
  forceBridgeGateway: "sets the endpoint's gateway to the bridge gateway (x.x.x.2) at IPAM time; the gateway address changes no verdict here",
  enableDualStack: "gives endpoints an IPv6 address and IPv6 policies; vfp-emu takes pods' IPv6 addresses from the Pod inputs (status.podIPs) and emulates IPv6 bridging and IPv6 ClusterIP load balancing only (no IPv6 OutboundNAT, NodePort or DSR)",
  gatewayFromAdditionalRoutes: "takes the endpoint's gateways from additionalRoutes; the gateway address changes no verdict here",
};

/**
 * `loopbackDSR` (win-* top level, sdn* optionalFlags): sets `network.loopbackDSR`. The engine lets a pod reach
 * itself through a Service VIP (the SLB hairpin SNAT, src/vfp/actions.ts) whether it is set or not, so the flag
 * changes no verdict; said when it is on (UNCONFIRMED what a node without it does for a pod behind a DSR VIP).
 */
export function readLoopbackDsr(f: Field, draft: Draft): void {
  if (f.absent) return;
  const on = f.bool();
  draft.settings.put('network.loopbackDSR', on, f.where);
  if (on) draft.note('cni-not-emulated', 'info', 'loopbackDSR adds an OutBoundNAT policy with Destinations [the pod IP] so that a pod reaches itself through a DSR Service VIP; vfp-emu lets a pod reach itself through a VIP (hairpin SNAT) with or without it, so it changes no verdict here', f.where);
}

export function readSdnFields(conf: Field, draft: Draft): void {
  readOptionalFlags(conf.get('optionalFlags'), draft);
  for (const entry of conf.get('AdditionalArgs').optItems()) readAdditionalArg(entry, draft);
}

function readOptionalFlags(flags: Field, draft: Draft): void {
  if (flags.absent) return;
  flags.object();
  for (const key of flags.keys()) {
    const f = flags.get(key);
    const known = Object.keys(FLAGS).find((k) => k.toLowerCase() === key.toLowerCase());
    if (known === undefined) {
      draft.note('config-ignored', 'info', `optionalFlags.${key} is not a flag of the sdnbridge/sdnoverlay plugins (they know ${Object.keys(FLAGS).join(', ')}); ignored`, f.where);
      continue;
    }
    if (known === 'loopbackDSR') {
      readLoopbackDsr(f, draft);
      continue;
    }
    if (!f.absent && f.bool()) draft.note('cni-not-emulated', 'info', `optionalFlags.${known} ${FLAGS[known]}`, f.where);
  }
}

function readAdditionalArg(entry: Field, draft: Draft): void {
  entry.object();
  const nameField = entry.get('Name');
  const name = nameField.absent ? '' : nameField.string();
  const value = entry.get('Value');
  if (name === 'EndpointPolicy') {
    const r = importEndpointPolicy(value.required('Value'), draft, { v2Only: true });
    if (r.providerAddress) draft.settings.put('cni.providerAddress', r.providerAddress.ip, r.providerAddress.where);
    return;
  }
  noteOtherArg(entry, name, draft);
}

/**
 * An AdditionalArgs entry that is no EndpointPolicy, named: a NetworkPolicy (a policy of the HNS network:
 * not emulated), another `*Policy` (kept, used by nothing) or a Name without "Policy" (dropped). The one
 * home of the rule the sdn* plugins and Azure CNI share (both keep entries whose Name contains "Policy":
 * windows-container-networking cni.go GetNetworkInfo, azure-container-networking cni/netconfig.go
 * GetPoliciesFromNwCfg).
 */
export function noteOtherArg(entry: Field, name: string, draft: Draft): void {
  const value = entry.get('Value');
  if (name === 'NetworkPolicy') {
    const type = value.isObject() && typeof value.get('Type').value === 'string' ? (value.get('Type').value as string) : '(no Type)';
    draft.note('cni-network-policy', 'info', `AdditionalArgs NetworkPolicy ${JSON.stringify(type)} is a policy of the HNS network the plugin creates (not of the endpoints); it is not emulated: describe the network with its HNS dump (Get-HnsNetwork) to have it read`, entry.where);
    return;
  }
  const why = name.includes('Policy')
    ? `is kept by the plugin but used by nothing: only "EndpointPolicy" and "NetworkPolicy" (exact case) become HNS policies`
    : 'is dropped by the plugin: only entries whose Name contains "Policy" are read';
  draft.note('cni-policy-unused', 'warning', `AdditionalArgs entry named ${JSON.stringify(name)} ${why}; a node applies none of it, so neither does the emulator`, entry.where);
}

/** The subnets an `ipam` section hands out (`subnet`, or host-local `ranges[][].subnet`), as written. */
function ipamSubnets(ipam: Field): string[] {
  if (!ipam.isObject()) return [];
  const out = ipam.has('subnet') ? [String(ipam.get('subnet').value)] : [];
  for (const set of ipam.get('ranges').optItems()) for (const r of set.optItems()) if (r.isObject() && r.has('subnet')) out.push(String(r.get('subnet').value));
  return out;
}

/**
 * The plugin fields that change nothing vfp-emu models, named once per config (`cni-not-emulated`, info) so
 * that none is dropped in silence: the IPAM subnets (pod addresses and node subnets come from the Node and
 * Pod inputs), `master` / `additionalRoutes` (the host adapter, extra endpoint routes). The `portMappings`
 * capability is not named: it only lets the runtime pass a pod's hostPorts, which every config has; a
 * hostPort is a fact of the pod, not of this file.
 */
export function noteUnmodelled(conf: Field, draft: Draft): void {
  const parts: string[] = [];
  const subnets = ipamSubnets(conf.get('ipam'));
  if (subnets.length > 0) parts.push(`ipam subnet ${subnets.join(', ')} (pod addresses and node subnets are taken from the Node and Pod inputs)`);
  if (conf.has('master')) parts.push(`master ${JSON.stringify(conf.get('master').value)} (the host adapter)`);
  if (conf.get('additionalRoutes').optItems().length > 0) parts.push('additionalRoutes (extra routes inside the pod)');
  if (parts.length > 0) draft.note('cni-not-emulated', 'info', `read but not modelled: ${parts.join('; ')}`, conf.where);
}

/**
 * HNS endpoint policies, in both forms they are written (domain.md 2.2, 2.5, 2.6h), as they appear in
 * CNI configs (`policies[].value`) and in Get-HnsEndpoint dumps (`Policies`):
 *   v1: {"Type":"OutBoundNAT","ExceptionList":[...]}  {"Type":"ROUTE","DestinationPrefix":...,"NeedEncap":true}  {"Type":"PA","PA":...}
 *   v2: {"Type":"OutBoundNAT","Settings":{"Exceptions":[...]}}  {"Type":"SDNRoute","Settings":{...}}  {"Type":"ProviderAddress","Settings":{...}}
 * Keys are matched case-insensitively, as Go's encoding/json does. Sets on the Draft: exceptions (union of
 * every OutBoundNAT policy), natPolicies, routes, acls; returns a PA policy's address for the caller.
 *
 * The policy `Type` is matched case-insensitively: the plugins pass it to HNS verbatim and sig-windows-tools
 * ships `"Type": "SDNROUTE"` (hostprocess/flannel/flanneld/flannel-overlay.yml @ 03f99247), so HNS is taken to
 * accept any case. UNCONFIRMED: no HNS source says so; it is inferred from that config being shipped.
 *
 * `v2Only` (the AdditionalArgs of microsoft/windows-container-networking's sdnbridge / sdnoverlay): the value
 * is decoded as `hcn.EndpointPolicy{Type, Settings}` (network/endpoint.go `GetHostComputeEndpointPolicies`
 * @ b96345f1), so the data of a v1-flat policy (`ExceptionList`, `DestinationPrefix`, `PA` beside `Type`) never
 * reaches HNS: an OutBoundNAT keeps NATing with no exceptions, the other types are not applied. The emulator
 * does the same and says so (`cni-policy-dropped`).
 *
 * Port mappings (v1 `NAT`, v2 `PortMapping`) are read and each named as not emulated: vfp-emu has no
 * host-port model (`port-mapping-not-emulated`).
 */

import type { Draft } from '../draft';
import type { Field, Where } from '../source';
import { noteEmptyList, notePlaceholder, placeholderIn } from './placeholders';

/** Policy types that do not change what the emulator does (encap overhead, L2 driver, QoS, port names, ...). */
const INERT = new Set(['encapoverhead', 'l2driver', 'qos', 'portname', 'iov', 'interfaceconstraint', 'vlan', 'vsid', 'l4proxy', 'l4wfpproxy', 'tieracl', 'proxy', 'isolation', 'vnet']);

/** Endpoint policy type names (both schema versions), lower-cased, for content detection. */
export const ENDPOINT_POLICY_TYPES = new Set([...INERT, 'nat', 'portmapping', 'outboundnat', 'route', 'sdnroute', 'pa', 'provideraddress', 'acl']);

interface PolicyResult {
  /** Address of a PA / ProviderAddress policy, if the list had one. */
  providerAddress: { ip: string; where: Where } | null;
}

/** The policy's settings object: `Settings` for the v2 form, the policy itself for v1. */
function settingsOf(p: Field): Field {
  const s = p.get('Settings');
  return s.absent ? p : s.object();
}

/**
 * v2-only decoding (`hcn.EndpointPolicy{Type, Settings}`): keys beside Type and Settings are dropped, as Go's
 * json.Unmarshal drops unknown keys. Returns the Settings field (an empty object when absent) and whether
 * data was dropped (then only an OutBoundNAT still has an effect: NAT with no exceptions).
 */
function v2SettingsOf(p: Field, type: string, draft: Draft): { s: Field; dropped: boolean } {
  const extra = p.keys().filter((k) => !['type', 'settings'].includes(k.toLowerCase()));
  const settings = p.get('Settings');
  const s = settings.absent ? settings.withValue({}) : settings.object();
  if (extra.length === 0) return { s, dropped: false };
  const effect =
    type.toLowerCase() === 'outboundnat'
      ? 'the OutBoundNAT policy is applied with no exceptions, so every destination is SNATed to the node IP'
      : 'the policy reaches HNS without its data and the emulator does not apply it';
  for (const k of extra) {
    draft.note(
      'cni-policy-dropped',
      'warning',
      `${JSON.stringify(k)} is a v1 (flat) policy field, but the sdnbridge/sdnoverlay plugins read an AdditionalArgs EndpointPolicy as {"Type", "Settings"} and drop it: ${effect} on a real node (write it under "Settings"${k.toLowerCase() === 'exceptionlist' ? ' as "Exceptions"' : ''})`,
      p.get(k).where,
    );
  }
  return { s, dropped: true };
}

/** A port mapping policy (v1 `NAT`, v2 `PortMapping`), named as not emulated. */
function notePortMapping(p: Field, s: Field, draft: Draft): void {
  const port = (k: string) => (s.get(k).absent ? '?' : String(s.get(k).value));
  draft.note(
    'port-mapping-not-emulated',
    'warning',
    `port mapping ${port('Protocol')} host port ${port('ExternalPort')} -> container port ${port('InternalPort')} is not emulated: vfp-emu has no host-port model, so traffic to that host port is judged as if the mapping were absent`,
    p.where,
  );
}

/** A list written as a JSON array or as one comma-separated string (v1 ACL `LocalAddresses`, `Protocols`). */
function listOf(f: Field): Field[] {
  if (f.absent) return [];
  if (Array.isArray(f.value)) return f.items().map((x) => x.withValue(String(x.value)));
  if (typeof f.value === 'number') return [f.withValue(String(f.value))];
  return f
    .string()
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '')
    .map((t) => f.withValue(t));
}

function portRanges(f: Field): [number, number][] {
  return listOf(f).map((x) => {
    const text = x.value as string;
    const m = /^(\d+)(?:-(\d+))?$/.exec(text);
    const lo = m ? Number(m[1]) : NaN;
    const hi = m && m[2] !== undefined ? Number(m[2]) : lo;
    if (!m || lo > 65535 || hi > 65535 || hi < lo) x.fail(`${JSON.stringify(text)} is not a port or port range (like 80 or 1000-2000)`);
    return [lo, hi] as [number, number];
  });
}

/**
 * An OutBoundNAT policy limited to `Destinations` (the loopbackDSR policy, `Destinations: [podIP]`; hcsshim
 * hcn `OutboundNatPolicySetting{VirtualIP, Exceptions, Destinations, Flags}`) NATs only traffic to those
 * addresses, which the engine does not model (it has one OutBoundNAT per endpoint, with exceptions): such a
 * policy is not applied, and said so. True when it was one.
 */
function scopedNat(s: Field, draft: Draft): boolean {
  const dest = s.get('Destinations');
  if (dest.absent || (Array.isArray(dest.value) && dest.value.length === 0)) return false;
  const vip = s.get('VirtualIP');
  const to = listOf(dest).map((x) => x.value as string).join(', ');
  const except = listOf(s.get('Exceptions')).map((x) => x.value as string);
  const extra = [vip.absent ? '' : `VirtualIP ${String(vip.value)}`, except.length > 0 ? `Exceptions ${except.join(', ')}` : ''].filter((x) => x !== '').join('; ');
  draft.note('cni-not-emulated', 'warning', `an OutBoundNAT policy limited to Destinations [${to}]${extra === '' ? '' : ` (${extra})`} NATs only traffic to those addresses; vfp-emu models one OutBoundNAT with exceptions per endpoint, so this policy is not applied`, dest.where);
  return true;
}

/**
 * An OutBoundNAT policy's exceptions. A placeholder entry (`{{LOCAL_ENDPOINT}}/32`) is left out; an empty list
 * is a template's (sig-windows-tools flannel-overlay.yml `"Exceptions": []`, filled by flanneld/start.ps1 with
 * kubeadm's service and pod subnets), so the cluster and service CIDRs are assumed (`cni.assumeExceptions`).
 */
function readOutboundNat(p: Field, list: Field, draft: Draft): void {
  draft.natPolicies.push(p.where);
  const items = list.optItems();
  if (!list.absent && items.length === 0) {
    noteEmptyList(list, draft, 'the cluster CIDR and the service CIDR are assumed as its exceptions, as sig-windows-tools flanneld/start.ps1 fills them in');
    draft.settings.put('cni.assumeExceptions', true, list.where);
  }
  for (const e of items) {
    if (notePlaceholder(e, draft, 'this exception is left out')) continue;
    draft.exceptions.push({ cidr: e.cidr(true), where: e.where });
  }
}

/**
 * A template's unfilled route prefix. sig-windows-tools' start scripts fill the first with the service subnet
 * (hostprocess/flannel/flanneld/start.ps1 @ 03f99247, kubeadm/flannel/*.yml run.ps1 @ 12a6e44a) and a second
 * (flannel-host-gw.yml) with the node's own address (`$networkJson.AddressCIDR`): the first is assumed
 * (`cni.assumeServiceRoute`), a later one is left out, as the node's address route is not one network-wide value.
 */
function assumeRoute(prefix: Field, needEncap: boolean, draft: Draft): void {
  const first = !draft.settings.has('cni.assumeServiceRoute');
  notePlaceholder(prefix, draft, first ? 'the service CIDR is assumed, as sig-windows-tools start scripts fill in the first route' : "this route is left out (start scripts fill a second route with the node's own address)");
  if (first) draft.settings.put('cni.assumeServiceRoute', needEncap, prefix.where);
}

/**
 * Reads one policy object into the draft. `from.endpoint`: the IP of the HNS endpoint whose `Policies` list
 * holds it (an ACL then applies to that endpoint's port only); absent for a CNI config or a bare list.
 * `from.v2Only`: decoded as the sdn* plugins do (see the module comment).
 */
export function importEndpointPolicy(p: Field, draft: Draft, from: { endpoint?: string; v2Only?: boolean } = {}): PolicyResult {
  const { endpoint, v2Only = false } = from;
  p.object();
  const typeField = p.get('Type').required('Type');
  const type = typeField.string();
  const t = type.toLowerCase();
  const result: PolicyResult = { providerAddress: null };
  let s = settingsOf(p);
  if (v2Only) {
    const v2 = v2SettingsOf(p, type, draft);
    if (v2.dropped) {
      if (t === 'outboundnat') draft.natPolicies.push(p.where);
      return result;
    }
    s = v2.s;
  }
  switch (t) {
    case 'outboundnat':
      if (scopedNat(s, draft)) break;
      readOutboundNat(p, s === p ? p.get('ExceptionList') : s.get('Exceptions'), draft);
      break;
    case 'nat':
    case 'portmapping':
      notePortMapping(p, s, draft);
      break;
    case 'route':
    case 'sdnroute': {
      const prefix = s.get('DestinationPrefix').required('DestinationPrefix');
      if (placeholderIn(prefix.value) !== null) {
        assumeRoute(prefix, s.get('NeedEncap').optBool() ?? false, draft);
        break;
      }
      const nextHop = s.get('NextHop').optIp();
      draft.routes.push({
        destinationPrefix: prefix.cidr(true),
        needEncap: s.get('NeedEncap').optBool() ?? false,
        ...(nextHop !== undefined ? { nextHop } : {}),
        where: p.where,
      });
      break;
    }
    case 'pa':
    case 'provideraddress': {
      const f = s === p ? p.get('PA') : s.get('ProviderAddress');
      if (notePlaceholder(f, draft, "the node's InternalIP is assumed as its provider address, as start.ps1 fills in the management IP")) break;
      result.providerAddress = { ip: f.required(s === p ? 'PA' : 'Settings.ProviderAddress').ip(), where: f.where };
      break;
    }
    case 'acl': {
      const action = s.get('Action').required('Action').oneOf(['Allow', 'Block', 'Pass'] as const);
      const direction = s.get('Direction').required('Direction').oneOf(['In', 'Out'] as const);
      const protoField = s.has('Protocols') ? s.get('Protocols') : s.get('Protocol');
      const protocols = listOf(protoField).map((x) => {
        const n = Number(x.value);
        if (!Number.isInteger(n) || n < 0 || n > 256) x.fail(`${JSON.stringify(x.value)} is not an IP protocol number (0..255, or 256 for any)`);
        return n;
      });
      const held = ['LocalAddresses', 'RemoteAddresses'].map((k) => s.get(k)).find((f) => listOf(f).some((x) => notePlaceholder(x, draft, 'this ACL is left out (its addresses are unknown)')));
      if (held) break;
      const cidrs = (f: Field) => listOf(f).map((x) => x.cidr(true));
      draft.acls.push({
        action,
        direction,
        protocols: protocols.includes(256) ? [] : protocols,
        localAddresses: cidrs(s.get('LocalAddresses')),
        remoteAddresses: cidrs(s.get('RemoteAddresses')),
        localPorts: portRanges(s.has('LocalPorts') ? s.get('LocalPorts') : s.get('LocalPort')),
        remotePorts: portRanges(s.has('RemotePorts') ? s.get('RemotePorts') : s.get('RemotePort')),
        priority: s.get('Priority').optInt(0, 65535) ?? 0,
        ruleType: s.get('RuleType').absent ? 'Switch' : s.get('RuleType').oneOf(['Switch', 'Host'] as const),
        ...(endpoint !== undefined ? { endpoint } : {}),
        where: p.where,
      });
      break;
    }
    default:
      if (!INERT.has(t)) draft.note('config-ignored', 'info', `HNS policy type ${JSON.stringify(type)} is not emulated; ignored`, typeField.where);
  }
  return result;
}

/**
 * HNS endpoint policies, in both forms they are written (domain.md 2.2, 2.5, 2.6h), as they appear in
 * CNI configs (`policies[].value`) and in Get-HnsEndpoint dumps (`Policies`):
 *   v1: {"Type":"OutBoundNAT","ExceptionList":[...]}  {"Type":"ROUTE","DestinationPrefix":...,"NeedEncap":true}  {"Type":"PA","PA":...}
 *   v2: {"Type":"OutBoundNAT","Settings":{"Exceptions":[...]}}  {"Type":"SDNRoute","Settings":{...}}  {"Type":"ProviderAddress","Settings":{...}}
 * Keys are matched case-insensitively, as Go's encoding/json does. Sets on the Draft: exceptions (union of
 * every OutBoundNAT policy), natPolicies, routes, acls; returns a PA policy's address for the caller.
 */

import type { Draft } from '../draft';
import type { Field, Where } from '../source';

/** Policy types that do not change what the emulator does (encap overhead, L2 driver, QoS, port names, ...). */
const INERT = new Set(['encapoverhead', 'l2driver', 'qos', 'portname', 'iov', 'interfaceconstraint', 'vlan', 'vsid', 'l4proxy', 'l4wfpproxy', 'nat', 'portmapping', 'tieracl', 'proxy', 'isolation', 'vnet']);

/** Endpoint policy type names (both schema versions), lower-cased, for content detection. */
export const ENDPOINT_POLICY_TYPES = new Set([...INERT, 'outboundnat', 'route', 'sdnroute', 'pa', 'provideraddress', 'acl']);

interface PolicyResult {
  /** Address of a PA / ProviderAddress policy, if the list had one. */
  providerAddress: { ip: string; where: Where } | null;
}

/** The policy's settings object: `Settings` for the v2 form, the policy itself for v1. */
function settingsOf(p: Field): Field {
  const s = p.get('Settings');
  return s.absent ? p : s.object();
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
 * Reads one policy object into the draft. `endpoint`: the IP of the HNS endpoint whose `Policies` list
 * holds it (an ACL then applies to that endpoint's port only); absent for a CNI config or a bare list.
 */
export function importEndpointPolicy(p: Field, draft: Draft, endpoint?: string): PolicyResult {
  p.object();
  const typeField = p.get('Type').required('Type');
  const type = typeField.string();
  const t = type.toLowerCase();
  const s = settingsOf(p);
  const result: PolicyResult = { providerAddress: null };
  switch (t) {
    case 'outboundnat': {
      draft.natPolicies.push(p.where);
      const list = s === p ? p.get('ExceptionList') : s.get('Exceptions');
      for (const e of list.optItems()) draft.exceptions.push({ cidr: e.cidr(true), where: e.where });
      break;
    }
    case 'route':
    case 'sdnroute': {
      const prefix = s.get('DestinationPrefix').required('DestinationPrefix');
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

/**
 * The words of `explain`: TextTracer writes what each engine step reports into a Trace (explain.ts, printed
 * like ofproto/trace), and `explainTail` closes it with the final packet, the unified flow entry, its
 * actions and the verdict. Only this file holds the explanation's wording; the steps pass values.
 * Rule, layer, group and port names are the ones `vfp-emu rules` prints for the same objects.
 */

import { Batch, PF } from '../core/batch';
import { formatIPv6, u32ToIpv4 } from '../core/ip';
import { VXLAN_OUTER_LEN } from '../packet/rewrite';
import { isLocalPod } from './actions';
import { AK_SOURCE_VIP, EP_EXTERNAL, EP_HOST, EP_POD0, EP_WIRE, type CompiledDataplane, type CompiledNode, type CompiledPod } from './compile';
import { Trace, T_ACTION, T_DETAIL, T_ERROR, T_GROUP, T_LAYER, T_NODE, T_PORT, T_RULE, T_WARN } from './explain';
import { FX, NONE16, SCOPE_ALIAS, SCOPE_ENTRY, type FlowTable } from './flow-table';
import type { LbBackend, NodeLb, NoLb } from './lb';
import type { Lb6Backend, NodeLb6 } from './lb6';
import { DIR_IN, FROM_POD, FROM_WIRE, RULE_TERMINATING, type Group, type Layer, type Port, type Rule } from './objects';
import type { PacketCtx } from './packet-ctx';
import { R, REASON_TABLE, V, VERDICT_NAMES, reasonCode, reasonSentence, warningCodes } from './reasons';
import type { Results } from './results';
import { Tracer } from './tracer';
import type { VxlanTemplates } from './vxlan-templates';

const PROTO_NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmp6', 132: 'sctp' };
const ICMP_TYPES: Record<number, string> = { 0: 'echo-reply', 3: 'unreachable', 8: 'echo', 11: 'time-exceeded', 13: 'timestamp', 14: 'timestamp-reply' };

export function protoName(p: number): string {
  return PROTO_NAMES[p] ?? `proto ${p}`;
}

function fmtEnd(ip: number, port: number, ports: boolean): string {
  return ports ? `${u32ToIpv4(ip)}:${port}` : u32ToIpv4(ip);
}

/** `tcp 10.0.0.1:4000 > 10.0.0.2:80`, `icmp 10.0.0.1 > 10.0.0.2 echo id 7`. */
function fmtTuple(proto: number, src: number, dst: number, sport: number, dport: number, ports: boolean, icmpType: number): string {
  if (proto === 1) {
    const t = icmpType >= 0 ? ` ${ICMP_TYPES[icmpType] ?? `type ${icmpType}`}` : '';
    return `icmp ${u32ToIpv4(src)} > ${u32ToIpv4(dst)}${t}${ports ? ` id ${sport}` : ''}`;
  }
  return `${protoName(proto)} ${fmtEnd(src, sport, ports)} > ${fmtEnd(dst, dport, ports)}`;
}

/** The link-layer type in words: the decoder's EtherType, 0 for an 802.3 frame whose type field is a length. */
function etherTypeText(et: number): string {
  return et === 0 ? 'an 802.3 frame (LLC, no EtherType)' : `EtherType 0x${et.toString(16).padStart(4, '0')}`;
}

/** A rule's conditions in a few words (for rules that did not match). */
function condSummary(r: Rule): string {
  const c = r.cond;
  const parts: string[] = [];
  if (c.protocols !== null) parts.push(`proto ${c.protocols.join('/')}`);
  if (c.dst !== null) parts.push(`dst ${c.dst.map((p) => p.text).join(',')}`);
  if (c.dstPorts !== null) parts.push(`dport ${c.dstPorts.map(([a, b]) => (a === b ? a : `${a}-${b}`)).join(',')}`);
  return parts.length > 0 ? parts.join(' ') : 'any';
}

/** A selected rule: name and id (as `rules` prints them), priority, type, flags; a route or decap rule also its data. */
function ruleText(r: Rule): string {
  const k = r.action.kind;
  const data = (k === 'paroute' || k === 'l2route' || k === 'to-host' || k === 'decap') && r.data ? `: ${r.data}` : '';
  return `${r.name} #${r.local} (priority ${r.priority}, ${r.type}${(r.flags & RULE_TERMINATING) !== 0 ? ', terminating' : ''})${data}`;
}

/** `pod/NS/NAME` | `host` | `external` | `wire`, null for -1. */
export function endpointName(c: CompiledDataplane, id: number): string | null {
  if (id < 0) return null;
  if (id === EP_EXTERNAL) return 'external';
  if (id === EP_WIRE) return 'wire';
  if (id === EP_HOST) return 'host';
  return c.pods[id - EP_POD0]?.name ?? null;
}

function mac(a: Uint8Array, o: number): string {
  let s = '';
  for (let k = 0; k < 6; k++) s += (k ? ':' : '') + a[o + k].toString(16).padStart(2, '0');
  return s;
}

/** A flow's transposition as ofproto/trace-style actions. */
export function describeActions(c: CompiledDataplane, templates: VxlanTemplates, ft: FlowTable, f: number): string {
  const xf = ft.xflags(f);
  const parts: string[] = [];
  if (ft.verdict(f) === V.DROPPED) return 'drop';
  if ((xf & FX.SET_SMAC) !== 0) parts.push(`set_smac(${c.macNames[ft.smac(f)]})`);
  if ((xf & FX.SET_DMAC) !== 0) parts.push(`set_dmac(${c.macNames[ft.dmac(f)]})`);
  if ((xf & FX.SNAT) !== 0) parts.push(`snat(${u32ToIpv4(ft.snatIp(f))}:${ft.snatPort(f)})`);
  if ((xf & FX.DNAT) !== 0) parts.push(`dnat(${u32ToIpv4(ft.dnatIp(f))}:${ft.dnatPort(f)})`);
  if ((xf & FX.ENCAP) !== 0 && ft.tpl(f) !== NONE16) {
    const t = templates.list[ft.tpl(f)];
    parts.push(`encap_vxlan(${u32ToIpv4(t.srcIp)} > ${u32ToIpv4(t.dstIp)}, udp ${ft.outerSport(f)} > ${t.dstPort}, vni ${t.vni})`);
  }
  if ((xf & FX.NEXT_NODE) !== 0) parts.push(`output(wire -> ${c.nodes[ft.next(f)].name})`);
  else parts.push(`output(${endpointName(c, ft.egress(f))})`);
  return parts.join(', ');
}

/** The packet as captured, in a line. */
export function describeInput(b: Batch, i: number): string {
  const ver = b.ipVer[i];
  if (ver === 4) {
    const ports = (b.flags[i] & PF.HAS_PORTS) !== 0;
    const icmp = (b.flags[i] & PF.HAS_ICMP) !== 0 && b.proto[i] === 1;
    let s = icmp ? fmtTuple(1, b.src4[i], b.dst4[i], 0, 0, false, b.icmpType[i]) : `${protoName(b.proto[i])} ${fmtEnd(b.src4[i], b.sport[i], ports)} > ${fmtEnd(b.dst4[i], b.dport[i], ports)}`;
    if ((b.flags[i] & PF.TUNNEL) !== 0 && b.innerIpVer[i] === 4) {
      const ip = (b.flags[i] & PF.INNER_PORTS) !== 0;
      s += ` vni ${b.vni[i]} | ${protoName(b.innerProto[i])} ${fmtEnd(b.innerSrc4[i], b.innerSport[i], ip)} > ${fmtEnd(b.innerDst4[i], b.innerDport[i], ip)}`;
    }
    return s;
  }
  if (ver === 6) return b.l3Off[i] >= 0 ? line6(b, i, b.off[i] + b.l3Off[i]) : cut6(b.proto[i]);
  return etherTypeText(b.ethType[i]);
}

/** An IPv6 packet whose header was not captured whole: its protocol, first as in the packet-line notation, and why no addresses follow. */
function cut6(proto: number): string {
  return `${protoName(proto)} (IPv6 header not captured whole: no addresses)`;
}

const ICMP6_TYPES: Record<number, string> = { 1: 'unreachable', 2: 'packet-too-big', 3: 'time-exceeded', 128: 'echo', 129: 'echo-reply', 135: 'neighbor-solicit', 136: 'neighbor-advert' };

/**
 * An IPv6 packet in the packet-line notation (src/scenario/packet-line.ts), read from its bytes as they now
 * are (the batch has no IPv6 address column): `tcp [fd00::5]:49800 > [fd00::9]:80`, `udp fd00::5 > fd00::9`
 * when the ports were not captured, `icmp fd00::5 > fd00::9 echo id 7` for ICMPv6 (as packet-line writes it).
 */
function line6(b: Batch, i: number, l3: number): string {
  const a = b.arena;
  const proto = b.proto[i];
  if (l3 + 40 > b.off[i] + b.caplen[i]) return cut6(proto);
  const src = formatIPv6(a.subarray(l3 + 8, l3 + 24));
  const dst = formatIPv6(a.subarray(l3 + 24, l3 + 40));
  const l4 = b.l4Off[i] >= 0 ? b.off[i] + b.l4Off[i] : -1;
  if (proto === 58) {
    const t = (b.flags[i] & PF.HAS_ICMP) !== 0 ? ` ${ICMP6_TYPES[b.icmpType[i]] ?? `type ${b.icmpType[i]}`}` : '';
    const echo = l4 >= 0 && (b.icmpType[i] === 128 || b.icmpType[i] === 129) && l4 + 8 <= b.off[i] + b.caplen[i];
    return `icmp ${src} > ${dst}${t}${echo ? ` id ${(a[l4 + 4] << 8) | a[l4 + 5]}` : ''}`;
  }
  if ((b.flags[i] & PF.HAS_PORTS) === 0 || l4 < 0) return `${protoName(proto)} ${src} > ${dst}`;
  return `${protoName(proto)} [${src}]:${(a[l4] << 8) | a[l4 + 1]} > [${dst}]:${(a[l4 + 2] << 8) | a[l4 + 3]}`;
}

/** The closing lines of an explanation: Final packet, Unified flow, Actions, Verdict (ofproto/trace style). */
export function explainTail(k: PacketCtx, ft: FlowTable, r: Results): string[] {
  const c = k.c;
  const i = k.i;
  const v = r.verdict[i];
  const out: string[] = [finalPacket(k, r)];
  const f = r.flow[i];
  if (f >= 0) {
    const k0 = ft.key(f, 0);
    const scope = k0 >>> 8;
    const k3 = ft.key(f, 3);
    const scopeText = scope === SCOPE_ENTRY ? 'entry' : scope === SCOPE_ALIAS ? 'alias' : `hop(${c.nodes[scope - 1].name})`;
    const cn = f >> 1;
    const portsText = (k0 & 0xff) === 1 ? `id=${k3 >>> 16}` : `sport=${k3 >>> 16},dport=${k3 & 0xffff}`;
    out.push(
      `Unified flow: node=${c.nodes[ft.node(f)].name},scope=${scopeText},proto=${k0 & 0xff},src=${u32ToIpv4(ft.key(f, 1))},dst=${u32ToIpv4(ft.key(f, 2))},${portsText} (${(f & 1) === 0 ? 'forward' : 'reverse'}; connection #${cn}, created by packet ${ft.firstPacket[cn]}${ft.natOwner[cn] >= 0 ? `, NAT port ${ft.natPort[cn]}` : ''})`,
    );
    out.push(`Actions: ${describeActions(c, k.templates, ft, f)}`);
  } else {
    out.push('Unified flow: none (not cached)');
    out.push(`Actions: ${v === V.IGNORED ? 'none' : v === V.DROPPED ? 'drop' : 'as above, per packet (nothing cached)'}`);
  }
  const reason = r.reason[i];
  out.push(`Verdict: ${VERDICT_NAMES[v]}${reason ? ` (${reasonCode(reason)})` : ''}`);
  if (reason && (v === V.DROPPED || v === V.NO_RETURN)) {
    out.push(`${v === V.DROPPED ? `Dropped at node ${c.nodes[r.node[i]]?.name ?? '-'}` : 'No return'}: ${reasonSentence(reason)}`);
  }
  const w = warningCodes(r.warnings[i]);
  if (w.length > 0) out.push(`Warnings: ${w.join(', ')}`);
  const be = r.backend[i];
  const beIp = be >= 0 ? c.backends[be] : '';
  if (r.service[i] >= 0) out.push(`Service: ${c.services[r.service[i]] ?? null} -> backend ${be >= 0 ? `${beIp.includes(':') ? `[${beIp}]` : beIp}:${c.backendPorts[be]}` : null}`);
  return out;
}

function finalPacket(k: PacketCtx, r: Results): string {
  const i = k.i;
  const v = r.verdict[i];
  if (v === V.DROPPED || v === V.IGNORED) return 'Final packet: unchanged';
  const b = k.b!;
  const a = b.arena;
  const base = b.off[i];
  let s = '';
  if (r.encap[i] === 1) {
    s += `eth ${mac(a, base + 6)} > ${mac(a, base)}, ${u32ToIpv4(r.outerSrc[i])} > ${u32ToIpv4(r.outerDst[i])} udp dport ${r.outerDport[i]} vxlan vni ${r.vni[i]} | `;
  }
  const inner = r.encap[i] === 1 ? base + VXLAN_OUTER_LEN : base;
  if (b.l2Off[i] >= 0 || r.encap[i] === 1) s += `eth ${mac(a, inner + 6)} > ${mac(a, inner)}, `;
  // IPv6 in the packet-line notation the IPv4 line and trace's input lines use (line6), from the bytes as rewritten
  if (b.ipVer[i] === 6) return `Final packet: ${s}${line6(b, i, k.l3)}`;
  return `Final packet: ${s}${fmtTuple(k.proto, k.src, k.dst, k.sport, k.dport, k.ports, k.icmpType)}`;
}

/** The packet's tracked tuple in a line (as the packet-line notation writes it, plus TCP flags): walk.ts's `packet`. */
export function packetText(k: PacketCtx): string {
  const b = k.b;
  if (b === null) return '';
  const ver = b.ipVer[k.i];
  if (ver !== 4) {
    // IPv6: the line read from the bytes as the walk has rewritten them so far (the engine rewrites IPv6 in place)
    const t = describeInput(b, k.i);
    return ver === 6 && b.proto[k.i] === 6 && (b.flags[k.i] & PF.HAS_PORTS) !== 0 && b.l4Off[k.i] >= 0 ? `${t} ${tcpFlagText(b.tcpFlags[k.i])}` : t;
  }
  const t = fmtTuple(k.proto, k.src, k.dst, k.sport, k.dport, k.ports, k.icmpType);
  return k.proto === 6 && k.ports ? `${t} ${tcpFlagText(b.tcpFlags[k.i])}` : t;
}

/** TCP flag bits as letters (S, SA, PA, FA, R), '.' for none. */
export function tcpFlagText(f: number): string {
  const letters = 'FSRPAUEC';
  let s = '';
  for (const ch of 'SFRPAUEC') if ((f & (1 << letters.indexOf(ch))) !== 0) s += ch;
  return s || '.';
}

/** Writes the steps' reports as the lines of an explanation. */
export class TextTracer extends Tracer {
  /** `k`: the engine's PacketCtx, whose tracked tuple each line records for walk.ts (`--format json`). */
  constructor(
    private readonly T: Trace,
    k?: PacketCtx,
  ) {
    super();
    if (k !== undefined) T.snapshot = () => packetText(k);
  }

  // ---- input, decapsulation, results
  override notIp(k: PacketCtx, et: number): void {
    this.T.leaf(T_DETAIL, `${etherTypeText(et)}: not IP`);
  }
  override malformed(): void {
    this.T.leaf(T_ERROR, 'a header contradicts its length or version fields');
  }
  override externalPort(k: PacketCtx, node: CompiledNode): void {
    this.T.open(T_NODE, node.name);
    this.T.open(T_PORT, 'external (IN, from the wire)', 'external');
  }
  override decapCheck(k: PacketCtx, vni: number, dport: number, wantVni: number, wantPort: number): void {
    this.T.leaf(T_DETAIL, `VXLAN ${u32ToIpv4(k.src)} > ${u32ToIpv4(k.dst)} UDP ${dport} VNI ${vni < 0 ? '(not decoded)' : vni}; the rule's: UDP ${wantPort} VNI ${wantVni}`);
    if (dport !== wantPort) {
      this.T.leaf(T_ERROR, `pktmon: Virtual Subnet ID does not match (UDP port ${dport} != ${wantPort})`);
      this.T.leaf(
        T_DETAIL,
        `VXLAN sent to UDP ${dport}${dport === 8472 ? " (Linux flannel's default)" : ''} is not this network's UDP ${wantPort}: it is not decapsulated and reaches the host as plain UDP to a port nothing listens on (UNCONFIRMED); set Backend.Port to ${wantPort} in the flannel net-conf.json of every node`,
      );
    } else if (vni !== wantVni) this.T.leaf(T_ERROR, `pktmon: Virtual Subnet ID does not match (VNI ${vni} != ${wantVni})`);
  }
  override ipv6InVxlan(): void {
    this.T.leaf(T_ERROR, 'IPv6 inside VXLAN: overlay networks are IPv4 only');
  }
  override decapped(k: PacketCtx, n: number): void {
    this.T.leaf(T_ACTION, `decap: pop ${n} bytes of outer headers`);
    this.T.closeTo(0);
  }
  override stop(k: PacketCtx, verdict: number, reason: number): void {
    this.T.leaf(verdict === V.IGNORED ? T_DETAIL : T_ERROR, `${VERDICT_NAMES[verdict]}: ${reasonCode(reason)}`);
  }
  override uncached(): void {
    this.T.leaf(T_DETAIL, 'not cached (decided per packet)');
  }
  override closeAll(): void {
    this.T.closeTo(0);
  }
  override close(): void {
    this.T.close();
  }

  // ---- the flow table
  override flowHit(k: PacketCtx, ft: FlowTable, f: number, alias: boolean): void {
    const T = this.T;
    const cn = f >> 1;
    const ing = ft.ingress(f);
    T.open(T_NODE, k.c.nodes[ft.node(f)].name);
    const ingName = ing === EP_EXTERNAL ? 'external' : (endpointName(k.c, ing) ?? '-');
    T.open(T_PORT, ing === EP_EXTERNAL ? 'external (IN, from the wire)' : `${ingName} (OUT, from the endpoint)`, ingName);
    T.leaf(
      T_DETAIL,
      `unified flow table hit: ${(f & 1) === 0 ? 'forward' : 'reverse'} flow of connection #${cn} (created by packet ${ft.firstPacket[cn]}, whose first packet walked the layers)${alias ? '; matched through the pod-view reply alias (the reply as the pod sees it)' : ''}`,
      undefined,
      'flow-hit',
    );
    if (alias) {
      const k3 = ft.key(f, 3);
      T.leaf(T_DETAIL, `as it reaches the node it would be ${protoName(ft.key(f, 0) & 0xff)} ${u32ToIpv4(ft.key(f, 1))}:${k3 >>> 16} > ${u32ToIpv4(ft.key(f, 2))}:${k3 & 0xffff}`);
    }
    if ((f & 1) === 1 && ft.verdict(f) === V.DROPPED && ft.verdict(f ^ 1) === V.NO_RETURN) {
      T.leaf(T_DETAIL, `its request (packet ${ft.firstPacket[cn]}) left without a transposition, so the flow pair has nothing to translate this reply back with: the reverse flow drops it`);
    }
  }
  override noEmulatedNode(k: PacketCtx): void {
    this.T.leaf(T_DETAIL, `${u32ToIpv4(k.src)} and ${u32ToIpv4(k.dst)} are no address of an emulated Windows node, pod or VIP, and no known connection`);
  }
  override applied(k: PacketCtx, ft: FlowTable, f: number): void {
    this.T.leaf(T_ACTION, describeActions(k.c, k.templates, ft, f));
  }
  override nextNode(k: PacketCtx, node: number): void {
    this.T.leaf(T_ACTION, `continue at node ${k.c.nodes[node].name} (its external port)`);
    this.T.closeTo(0);
  }
  override dnsWarning(): void {
    this.T.leaf(T_WARN, `dns-pqdn-unresolvable: ${reasonSentence(R.DNS_PQDN_UNRESOLVABLE)}`);
  }
  override cached(k: PacketCtx, evicted: number): void {
    if (evicted > 0) this.T.leaf(T_DETAIL, `the flow table's share for this connection was full: ${evicted} idle connection(s) evicted`);
    this.T.leaf(T_DETAIL, `cached: connection #${k.conn} (forward flow ${2 * k.conn}, reverse flow ${2 * k.conn + 1})`);
  }

  // ---- the slow path
  override slowStart(k: PacketCtx): void {
    const dirIn = k.port!.kind === 'external';
    this.T.open(T_NODE, k.node!.name);
    this.T.open(T_PORT, `${k.port!.name} (${dirIn ? 'IN, from the wire' : 'OUT, from the endpoint'})`, k.port!.name);
    this.T.leaf(T_DETAIL, `${fmtTuple(k.proto, k.src, k.dst, k.sport, k.dport, k.ports, k.icmpType)}: unified flow table miss, walking the layers`);
  }
  override natPortTaken(k: PacketCtx, cc: number, peer: number): void {
    this.T.leaf(T_ERROR, `NAT port ${k.oDport} of ${u32ToIpv4(k.oDst)} belongs to connection #${cc} with ${u32ToIpv4(peer)}; this comes from ${u32ToIpv4(k.oSrc)}`);
  }
  override podPortTaken(k: PacketCtx, p: CompiledPod, cc: number, peer: number): void {
    this.T.leaf(T_ERROR, `${p.name} port ${k.oDport} is NATed for connection #${cc} with ${u32ToIpv4(peer)}; this comes from ${u32ToIpv4(k.oSrc)}`);
  }
  override icmpReplyToPod(k: PacketCtx): void {
    this.T.leaf(T_ERROR, `an ICMP echo reply from ${u32ToIpv4(k.oSrc)} (outside the ExceptionList) to a pod IP: its request left un-NATed`);
  }
  override layer(layer: Layer, port: Port, dir: number): void {
    this.T.open(T_LAYER, `${layer.name} (port ${port.name}, ${dir === DIR_IN ? 'IN' : 'OUT'})`, layer.name);
  }
  override group(g: Group, best: Rule | null): void {
    const T = this.T;
    T.open(T_GROUP, g.name, g.name);
    if (best !== null) T.leaf(T_RULE, ruleText(best), best);
    else if (g.rules.length <= 8 && (g.byVip === null || g.byVip.size === 0)) {
      T.leaf(T_DETAIL, `no rule matched: ${g.rules.map((x) => `${x.name} [${condSummary(x)}]`).join(', ') || 'the group is empty'}`);
    } else T.leaf(T_DETAIL, `no rule matched (${g.rules.length + (g.byVip?.size ?? 0)} rules)`);
    T.close();
  }
  override layerEnd(layer: Layer, sel: Rule | null): void {
    if (sel === null) this.T.leaf(T_DETAIL, `default action: ${layer.defaultAction}`);
    this.T.close();
  }
  override untransposed(k: PacketCtx): void {
    this.T.leaf(T_WARN, `${protoName(k.proto)} to ${u32ToIpv4(k.dst)} (outside the ExceptionList) matches no SNAT rule: only TCP and UDP are transposed, so it keeps the pod IP`);
  }
  override snat(k: PacketCtx, ip: number, port: number): void {
    this.T.leaf(T_ACTION, `SNAT ${fmtEnd(k.oSrc, k.oSport, true)} -> ${fmtEnd(ip, port, true)} (port from ${k.pod?.name ?? 'host'}'s block)`);
  }
  override snatExhausted(k: PacketCtx): void {
    const nat = k.node!.nat;
    this.T.leaf(T_ERROR, `no free port in the ${k.c.profile.snatBlockSize}-port blocks of ${k.pod?.name ?? 'the host'} (range ${nat.start}-${nat.start + nat.count - 1})`);
  }
  override lbChoice(k: PacketCtx, lb: NodeLb, be: LbBackend): void {
    const T = this.T;
    const c = k.c;
    T.leaf(
      T_DETAIL,
      `${c.services[lb.service]} ${lb.kind} ${lb.vipText}:${lb.extPort}: ${lb.backends.length} backend(s), ${lb.affinity ? 'DistributionType SourceIP (sessionAffinity ClientIP): hash of the client IP' : 'DistributionType None: hash of the 5-tuple'} (seed ${c.seed}) -> ${be.ipText}:${be.port}${isLocalPod(k, k.node!, be.ip) ? ' (local)' : ''}`,
    );
    for (const w of warningCodes(lb.warn)) T.leaf(T_WARN, `${w}: ${reasonSentence(REASON_TABLE.findIndex((row) => row.code === w) + 1)}`);
    if (lb.preserveDip) T.leaf(T_ACTION, `PreserveDIP: keep destination ${u32ToIpv4(k.dst)}${be.port !== k.dport ? `, port -> ${be.port}` : ''} (no DNAT)`);
    else T.leaf(T_ACTION, `DNAT ${u32ToIpv4(k.dst)}:${k.dport} -> ${be.ipText}:${be.port}${lb.dsr ? ' (DSR: DNAT only, the source stays the client)' : ''}`);
  }
  override lbSnat(k: PacketCtx, lb: NodeLb, port: number, hairpin: boolean): void {
    this.T.leaf(T_ACTION, `SNAT ${u32ToIpv4(k.src)}:${k.sport} -> ${u32ToIpv4(lb.sourceVip)}:${port} (${hairpin ? 'SLB_HAIRPIN_LAYER: the client is the backend' : 'SourceVIP: the backend is on another node'})`);
  }
  override hostLb(k: PacketCtx, layer: Layer, rule: Rule): void {
    const T = this.T;
    const how = k.from === FROM_POD ? 'through the ROUTE/NeedEncap steering of VIP traffic' : k.from === FROM_WIRE ? 'from the external port' : 'from the host';
    T.open(T_PORT, `host (the host vNIC port's load balancers, reached ${how})`, 'host');
    T.open(T_LAYER, `${layer.name} (port host, OUT)`, layer.name);
    const g = layer.groups.find((x) => x.rules.includes(rule) || (x.byVip !== null && [...x.byVip.values()].some((l) => l.includes(rule))));
    T.open(T_GROUP, g?.name ?? '?', g?.name ?? '?');
    T.leaf(T_RULE, ruleText(rule), rule);
  }
  override hostLbEnd(): void {
    this.T.closeTo(2);
  }
  override noHostAccess(k: PacketCtx, lb: NodeLb): void {
    this.T.leaf(T_ERROR, `${lb.kind} load balancer ${lb.vipText}:${lb.extPort} is not programmed for traffic from the host (no LocalRoutedVIP on this build)`);
  }
  override noLoadBalancer(k: PacketCtx, no: NoLb): void {
    this.T.leaf(T_ERROR, `no load balancer for ${u32ToIpv4(k.dst)}:${k.dport}: ${no.detail}`);
  }
  override noServicePort(k: PacketCtx): void {
    this.T.leaf(T_ERROR, `${u32ToIpv4(k.dst)} is a Service IP, but no load balancer has ${protoName(k.proto)} port ${k.dport}`);
  }
  override pingClusterIp(k: PacketCtx): void {
    this.T.leaf(T_ERROR, `${u32ToIpv4(k.dst)} is a ClusterIP: its load balancers carry TCP and UDP ports only, and no host has the address`);
  }
  override deliverHost(k: PacketCtx, dst: number, kind: number): void {
    this.T.leaf(T_DETAIL, `switch: deliver to the host vNIC (${u32ToIpv4(dst)} is ${(kind & AK_SOURCE_VIP) !== 0 ? 'the SourceVIP' : 'the node address'})`, undefined, 'switch');
  }
  override podPortIn(k: PacketCtx, p: CompiledPod): void {
    this.T.open(T_PORT, `${p.name} (IN, towards the pod)`, p.name);
  }
  override deliverPod(k: PacketCtx, p: CompiledPod): void {
    this.T.leaf(T_DETAIL, `switch: deliver to ${p.name} (destination MAC ${k.c.macNames[p.mac]})`, undefined, 'switch');
  }
  override unheldPodAddress(k: PacketCtx, dst: number): void {
    const node = k.node!;
    this.T.leaf(T_ERROR, `${u32ToIpv4(dst)} is in ${node.name}'s pod subnet ${node.podSubnet!.text} but no endpoint holds it`);
  }
  override flannelNodeToRemotePod(k: PacketCtx, dst: number): void {
    this.T.leaf(T_ERROR, `flannel VXLAN: the node has no path to ${u32ToIpv4(dst)} on another node (only its own pods, HostRoute)`);
  }
  override noRouteToPod(k: PacketCtx, dst: number): void {
    this.T.leaf(T_ERROR, `${u32ToIpv4(dst)} is in the cluster CIDR but in no known pod subnet with a route`);
  }
  override leaving(k: PacketCtx, dst: number): void {
    const how = k.c.mode === 'l2bridge' ? 'L2Bridge: the source MAC is rewritten to the host MAC' : (k.x.flags & FX.ENCAP) !== 0 ? 'VXLAN-encapsulated' : 'not encapsulated, host MAC';
    this.T.leaf(T_DETAIL, `switch: out through the external port to the wire (${how})${k.next >= 0 ? `; ${u32ToIpv4(dst)} is on emulated node ${k.c.nodes[k.next].name}` : ''}`, undefined, 'switch');
  }
  override podIpNotRoutable(k: PacketCtx, dst: number): void {
    this.T.leaf(
      T_WARN,
      `leaves with the pod IP ${u32ToIpv4(k.src)}: ${u32ToIpv4(dst)} is in the ExceptionList (no SNAT) but is no node and outside the cluster CIDRs, so nothing routes the reply back (underlayRoutesPodCidrs=false)`,
    );
  }
  override noReturn(k: PacketCtx): void {
    this.T.leaf(T_WARN, `${reasonCode(k.reason)}: the request leaves, but its reply cannot come back`);
  }

  // ---- IPv6
  override noIpv6Pod(k: PacketCtx): void {
    const a = k.b!.arena;
    const l3 = k.l3;
    this.T.leaf(T_DETAIL, `${formatIPv6(a.subarray(l3 + 8, l3 + 24))} > ${formatIPv6(a.subarray(l3 + 24, l3 + 40))}: no IPv6 address of an emulated pod`);
  }
  override ipv6Port(k: PacketCtx, node: CompiledNode, p: CompiledPod, fromPod: boolean): void {
    this.T.open(T_NODE, node.name);
    this.T.open(T_PORT, fromPod ? `${p.name} (OUT)` : 'external (IN)', fromPod ? p.name : 'external');
  }
  override lb6Choice(k: PacketCtx, lb: NodeLb6, be: Lb6Backend, dport: number): void {
    this.T.leaf(
      T_DETAIL,
      `${k.c.services[lb.service]} ClusterIP [${lb.vipText}]:${lb.extPort} (IPv6 load balancer): ${lb.backends.length} backend(s), ${lb.affinity ? 'DistributionType SourceIP: hash of the client IP' : 'DistributionType None: hash of the 5-tuple'} (seed ${k.c.seed}) -> [${be.ipText}]:${be.port}`,
    );
    this.T.leaf(T_ACTION, `DNAT [${lb.vipText}]:${dport} -> [${be.ipText}]:${be.port} (IPv6 destination and port, TCP/UDP checksum updated)`);
  }
  override lb6Reverse(k: PacketCtx, lb: NodeLb6, rule: Rule): void {
    const a = k.b!.arena;
    this.T.leaf(
      T_ACTION,
      `reply of a connection load-balanced by ${rule.name}: source [${formatIPv6(a.subarray(k.l3 + 8, k.l3 + 24))}]:${k.sport} -> [${lb.vipText}]:${lb.extPort} (un-DNAT; the LB's hash picks this backend for the reversed tuple)`,
    );
  }
  override noLb6(k: PacketCtx, detail: string | null): void {
    const a = k.b!.arena;
    const vip = formatIPv6(a.subarray(k.l3 + 24, k.l3 + 40));
    const what = k.proto === 6 || k.proto === 17 ? `${protoName(k.proto)} port ${k.dport}` : `${protoName(k.proto)} (load balancers carry TCP and UDP ports only)`;
    this.T.leaf(T_ERROR, detail !== null ? `no load balancer for [${vip}]:${k.dport}: ${detail}` : `[${vip}] is a Service IP, but no IPv6 load balancer has ${what}`);
  }
  override ipv6Overlay(): void {
    this.T.leaf(T_ERROR, 'IPv6 on an overlay network: not supported (overlay networks are IPv4 only, no dual stack)');
  }
}

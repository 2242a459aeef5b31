/**
 * `vfp-emu rules`: the compiled VFP objects printed the way `vfpctrl /port <id> /list-rule` lists them
 * (domain.md §4.2: Friendly name, Priority, Flags, Type, Conditions, Flow TTL, Rule Data), per node and
 * port, layer by layer, group by group. Plus, per node, the HNS load balancers and the VIPs that have none
 * (and why), which is what `Get-HnsPolicyList` / kube-proxy's log would tell an admin.
 *
 * Names come from the cluster's config files (nodes, pods, Services, namespaces, networks, and the rule
 * and group names built from them): every line is passed through core/safe-text.ts `safeText`, so a
 * name holding an ESC sequence, a C1 control, a bidi override or a newline prints as visible escapes and
 * cannot clear the screen, reorder the listing or forge a line of it.
 */

import { u32ToIpv4 } from '../core/ip';
import { safeText } from '../core/safe-text';
import type { CompiledDataplane, CompiledNode } from './compile';
import { DIR_OUT, FROM_HOST, FROM_POD, FROM_WIRE, RULE_TERMINATING, type Conditions, type Group, type Layer, type Port, type Rule } from './objects';
import { reasonCode } from './reasons';

const PROTO: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 132: 'sctp' };

function ranges(rs: [number, number][]): string {
  return rs.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(', ');
}

function conditionLines(c: Conditions): string[] {
  const out: string[] = [];
  if (c.protocols !== null) out.push(`Protocols : ${c.protocols.join(', ')}`);
  if (c.src !== null) out.push(`Source IP : ${c.src.map((p) => p.text).join(', ')}`);
  if (c.dst !== null) out.push(`Destination IP : ${c.dst.map((p) => p.text).join(', ')}`);
  if (c.srcPorts !== null) out.push(`Source ports : ${ranges(c.srcPorts)}`);
  if (c.dstPorts !== null) out.push(`Destination ports : ${ranges(c.dstPorts)}`);
  if (c.from !== (FROM_POD | FROM_HOST | FROM_WIRE)) {
    const f = [(c.from & FROM_POD) !== 0 ? 'pods' : '', (c.from & FROM_HOST) !== 0 ? 'host' : '', (c.from & FROM_WIRE) !== 0 ? 'wire' : ''].filter((x) => x);
    out.push(`Traffic from : ${f.join(', ')}`);
  }
  if (out.length === 0) out.push('<none>');
  return out;
}

function groupRules(g: Group): Rule[] {
  const all = [...g.rules];
  if (g.byVip !== null) for (const list of g.byVip.values()) all.push(...list);
  return all.sort((a, b) => a.priority - b.priority || a.local - b.local);
}

function printRule(out: Sink, r: Rule, ttl: string): void {
  out.push(`      RULE : ${r.name}`);
  out.push(`        Friendly name : ${r.name}, Id : ${r.local}`);
  out.push(`        Priority : ${r.priority}`);
  out.push(`        Flags : ${(r.flags & RULE_TERMINATING) !== 0 ? '1 terminating' : '0'}`);
  out.push(`        Type : ${r.type}`);
  out.push('        Conditions:');
  for (const l of conditionLines(r.cond)) out.push(`          ${l}`);
  out.push(`        Flow TTL : ${r.ttl > 0 ? r.ttl : ttl}`);
  if (r.data) out.push(`        Rule Data : ${r.data}`);
}

function printLayer(out: Sink, layer: Layer, ttl: string): void {
  out.push(`  LAYER : ${layer.name}`);
  out.push(`    Priority : ${layer.priority}, default action : ${layer.defaultAction}, role : ${layer.role}`);
  for (const g of layer.groups) {
    out.push(`    GROUP : ${g.name}`);
    out.push(`      Friendly name : ${g.name}, Priority : ${g.priority}, Direction : ${g.dir === DIR_OUT ? 'OUT' : 'IN'}, Type : ${g.family}, Match type : Priority-based match`);
    const rules = groupRules(g);
    if (rules.length === 0) out.push('      <no rules>');
    for (const r of rules) printRule(out, r, ttl);
  }
}

function printPort(out: Sink, p: Port, ttl: string): void {
  out.push(`PORT : ${p.name}`);
  out.push(`  MAC : ${p.mac}${p.ip ? `, IP : ${u32ToIpv4(p.ip)}` : ''}, layers (OUT order; IN runs them in reverse) : ${p.layers.map((l) => l.name).join(', ') || '<none>'}`);
  for (const l of p.layers) printLayer(out, l, ttl);
  out.push('');
}

function printNode(out: Sink, c: CompiledDataplane, n: CompiledNode): void {
  const t = c.profile.timeouts;
  const ttl = `TCP ${t.tcpEstablished} s (half-open ${t.tcpHalfOpen} s, closed ${t.tcpClosed} s), UDP ${t.udp} s, other ${t.icmp} s (profile ${c.profile.name})`;
  const head = `NODE : ${n.name}  (${n.model.internalIP}, ${c.mode}, ${c.plugin}, profile ${c.profile.name})`;
  out.push(head, '='.repeat(safeText(head).length));
  out.push(
    `  host MAC ${c.macNames[n.mac]}${c.mode === 'overlay' ? `, PA ${u32ToIpv4(n.pa)}, DR MAC ${c.macNames[n.drMac]}, SourceVIP ${u32ToIpv4(n.sourceVip)}, VNI ${c.vni}, VXLAN UDP ${c.vxlanPort}` : ''}`,
  );
  out.push(`  OutboundNAT: ${c.outboundNat ? `exceptions ${n.exceptions.map((p) => p.text).join(', ') || '<none>'}` : 'no OutBoundNAT policy'}; dynamic ports ${n.nat.start}-${n.nat.start + n.nat.count - 1} in ${n.nat.blockSize}-port blocks, ${n.nat.owners} NAT owners (host + ${n.nat.owners - 1} endpoints)`);
  out.push('');
  out.push('  HNS LOAD BALANCERS');
  if (n.lbs.length === 0 && n.v6.lbs.length === 0) out.push('    <none>');
  for (const lb of n.lbs) {
    out.push(
      `    ${c.services[lb.service]} ${lb.kind} ${lb.vipText}:${lb.extPort} -> ${lb.intPort} ${PROTO[lb.proto] ?? `proto ${lb.proto}`}: ${lb.backends.length} backend(s)${lb.dsr ? ', DSR' : ''}${lb.preserveDip ? ', PreserveDIP' : ''}${lb.affinity ? ', SourceIP affinity' : ''}${!lb.dsr ? `, SourceVIP ${u32ToIpv4(lb.sourceVip)}` : ''}`,
    );
    out.push(`      backends: ${lb.backends.map((x) => `${x.ipText}:${x.port}${x.node === n.name ? ' (local)' : ''}`).join(', ')}`);
  }
  printLbs6(out, c, n);
  if (n.noLb.size > 0 || n.v6.noLb.length > 0) {
    out.push('  VIPS WITHOUT A LOAD BALANCER');
    for (const no of n.noLb.values()) out.push(`    ${no.detail} [${reasonCode(no.reason)}]`);
    for (const no of n.v6.noLb) out.push(`    ${no.detail} [${reasonCode(no.reason)}]`);
  }
  out.push('');
  printPort(out, n.ext, ttl);
  printPort(out, n.host, ttl);
  for (const p of n.pods) printPort(out, p.port, ttl);
}

/** The node's IPv6 load balancers (lb6.ts: the IPv6 proxier's, LoadBalancerFlagsIPv6), after the IPv4 ones. */
function printLbs6(out: Sink, c: CompiledDataplane, n: CompiledNode): void {
  for (const lb of n.v6.lbs) {
    out.push(`    ${c.services[lb.service]} ${lb.kind} [${lb.vipText}]:${lb.extPort} -> ${lb.intPort} ${PROTO[lb.proto] ?? `proto ${lb.proto}`}: ${lb.backends.length} backend(s), IPv6${lb.affinity ? ', SourceIP affinity' : ''}, DNAT only`);
    out.push(`      backends: ${lb.backends.map((x) => `[${x.ipText}]:${x.port}${x.node === n.name ? ' (local)' : ''}`).join(', ')}`);
  }
}

/**
 * The listing's lines, written out as they are made (`write` gets whole lines, each ending in '\n', a few
 * thousand at a time): one node's listing at 5k Services is about 16 MB of text, which is never held whole
 * (issue 12, `rules --node`).
 */
class Sink {
  private readonly lines: string[] = [];

  constructor(private readonly write: (text: string) => void) {}

  push(...xs: string[]): void {
    for (const x of xs) this.lines.push(x);
    if (this.lines.length >= 4096) this.flush();
  }

  flush(): void {
    if (this.lines.length === 0) return;
    this.write(this.lines.map(safeText).join('\n') + '\n');
    this.lines.length = 0;
  }
}

/**
 * Writes the listing for node `nodeName`, or for every compiled node (compile.ts CompileOptions.only), to
 * `write`, in pieces of whole lines. Throws (before writing) when the node is not emulated or was not
 * compiled. Rule `Id`s are numbers on their node (objects.ts Rule.local), so a node's listing is the same
 * whichever other nodes were compiled.
 */
export function writeRules(c: CompiledDataplane, nodeName: string | undefined, write: (text: string) => void): void {
  const nodes = c.nodes.filter((n) => n.compiled && (nodeName === undefined || n.name === nodeName));
  if (nodeName !== undefined && nodes.length === 0) {
    throw new Error(`node '${nodeName}' is not an emulated Windows node, or was not compiled (compiled: ${c.nodes.filter((n) => n.compiled).map((n) => n.name).join(', ') || 'none'})`);
  }
  const out = new Sink(write);
  if (nodes.length === 0) out.push('No Windows node in the cluster: nothing is emulated.');
  for (const n of nodes) printNode(out, c, n);
  out.flush();
}

/** The listing (writeRules) as one string. */
export function formatRules(c: CompiledDataplane, nodeName?: string): string {
  const parts: string[] = [];
  writeRules(c, nodeName, (t) => parts.push(t));
  return parts.join('');
}

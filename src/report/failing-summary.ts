/**
 * The summary's `failing_flows` (issue 13; an extension of the CONTRACT summary, README "Summary fields"):
 * the groups failing-flows.ts collected, as JSON entries, and their text lines.
 *
 *   failing_flows: {
 *     flows             failing 5-tuple groups found (at most FAILING_TRACKED per trace)
 *     packets           packets with a failing verdict (dropped, no-return): the two verdict counts added
 *     untracked_packets packets of groups past the bound (0 unless a trace has more than FAILING_TRACKED)
 *     list              the groups, most packets first (then the earliest first packet, then trace), at most
 *                       FAILING_LISTED; each: trace, flow (as verdict records write `flow`: proto, src, sport,
 *                       dst, dport, icmp_type for ICMP), verdict, reason, sentence, node, first_packet,
 *                       packets, explain (the command that walks its first packet: command.ts; null when
 *                       the packets cannot be read again: `vfp-emu live` without --save)
 *   }
 *
 * Several traces (multi-replay, `vfp-emu merge`): `mergeFailing` adds flows, packets and untracked_packets
 * and takes the first FAILING_LISTED of all lists in the same order: each trace's groups are its own (the
 * entries carry `trace`), and the first N of the union of each part's first N is the first N of all, so
 * merging the summaries of A, B and C gives what one replay of A B C gives.
 */
import { formatIPv6, u32ToIpv4 } from '../core/ip';
import { safeText } from '../core/safe-text';
import { reasonCode, reasonSentence, VERDICT_NAMES } from '../vfp/reasons';
import { explainCommand, type ExplainOptions } from './command';
import { G_ICMP, G_PORTS, groupOrder, type FailingFlowsData } from './failing-flows';

/** Most entries in the JSON list. */
export const FAILING_LISTED = 1000;
/** Entries the text summary shows (it says how many more). */
export const FAILING_SHOWN = 10;

export interface FailingFlow {
  trace: string;
  flow: { proto: number; src: string; sport: number | null; dst: string; dport: number | null; icmp_type?: number };
  verdict: string;
  reason: string | null;
  sentence: string;
  node: string | null;
  first_packet: number;
  packets: number;
  /** null: no file holds the packets (`vfp-emu live` without --save), so no command walks them. */
  explain: string | null;
}

export interface FailingFlows {
  flows: number;
  packets: number;
  untracked_packets: number;
  list: FailingFlow[];
}

/** The fields of an entry and of `failing_flows` (merge.ts refuses others). */
export const FAILING_KEYS = ['flows', 'packets', 'untracked_packets', 'list'] as const;
export const FAILING_ENTRY_KEYS = ['trace', 'flow', 'verdict', 'reason', 'sentence', 'node', 'first_packet', 'packets', 'explain'] as const;

/**
 * `failing_flows` of one trace from its merged groups; `failingPackets`: its dropped + no-return count;
 * `nodeName`: the Dataplane's names.
 */
export function failingSummary(d: FailingFlowsData, failingPackets: number, trace: string, nodeName: (id: number) => string | null, opts: ExplainOptions): FailingFlows {
  let grouped = 0;
  for (let g = 0; g < d.n; g++) grouped += d.count[g];
  const list = groupOrder(d)
    .slice(0, FAILING_LISTED)
    .map((g): FailingFlow => {
      const ports = (d.flags[g] & G_PORTS) !== 0;
      const src = d.ver[g] === 6 ? formatIPv6(d.a6.subarray(g * 32, g * 32 + 16)) : u32ToIpv4(d.src[g]);
      const dst = d.ver[g] === 6 ? formatIPv6(d.a6.subarray(g * 32 + 16, g * 32 + 32)) : u32ToIpv4(d.dst[g]);
      const flow: FailingFlow['flow'] = { proto: d.proto[g], src, sport: ports ? d.sport[g] : null, dst, dport: ports ? d.dport[g] : null };
      if ((d.flags[g] & G_ICMP) !== 0) flow.icmp_type = d.icmp[g];
      return {
        trace,
        flow,
        verdict: VERDICT_NAMES[d.verdict[g]],
        reason: reasonCode(d.reason[g]),
        sentence: d.reason[g] > 0 ? reasonSentence(d.reason[g]) : '',
        node: nodeName(d.node[g]),
        first_packet: d.first[g],
        packets: d.count[g],
        explain: explainCommand(trace, d.first[g], opts),
      };
    });
  return { flows: d.n, packets: failingPackets, untracked_packets: failingPackets - grouped, list };
}

/** The order of the list (module comment): a total order, so every merge order gives the same list. */
export function compareFailing(a: FailingFlow, b: FailingFlow): number {
  return b.packets - a.packets || a.first_packet - b.first_packet || cmp(a.trace, b.trace) || cmp(JSON.stringify(a), JSON.stringify(b));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Several summaries' `failing_flows` as one (module comment); a part without one (none failed) adds nothing. */
export function mergeFailing(parts: readonly (FailingFlows | undefined)[]): FailingFlows {
  const out: FailingFlows = { flows: 0, packets: 0, untracked_packets: 0, list: [] };
  for (const p of parts) {
    if (p === undefined) continue;
    out.flows += p.flows;
    out.packets += p.packets;
    out.untracked_packets += p.untracked_packets;
    out.list.push(...p.list);
  }
  out.list.sort(compareFailing);
  out.list.length = Math.min(out.list.length, FAILING_LISTED);
  return out;
}

/** `tcp 10.0.0.1:80 > 10.0.0.2:443`, `icmp 10.0.0.1 > 8.8.8.8 type 8`. */
export function flowText(f: FailingFlow['flow']): string {
  const name = f.proto === 6 ? 'tcp' : f.proto === 17 ? 'udp' : f.proto === 1 ? 'icmp' : f.proto === 58 ? 'icmp6' : `ip/${f.proto}`;
  const end = (ip: string, port: number | null): string => (port === null ? ip : ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);
  const icmp = f.icmp_type !== undefined ? (f.icmp_type === 8 ? ' echo' : f.icmp_type === 0 ? ' echo-reply' : ` type ${f.icmp_type}`) : '';
  return `${name} ${end(f.src, f.sport)} > ${end(f.dst, f.dport)}${icmp}`;
}

/**
 * The text summary's lines (empty when nothing failed): the first FAILING_SHOWN entries (a reason's sentence
 * under the first flow with that reason only), then how many more (the JSON summary and the HTML report list
 * them). Names from packets and configs go through `safeText`.
 */
export function failingText(f: FailingFlows | undefined, multi: boolean): string[] {
  if (f === undefined || f.flows === 0) return [];
  const lines = [`failing flows (${f.flows} flows, ${f.packets} packets; most packets first):`];
  const said = new Set<string | null>(); // each reason's sentence once, under its first flow
  for (const e of f.list.slice(0, FAILING_SHOWN)) {
    const where = `${multi ? `${safeText(e.trace)} ` : ''}packet ${e.first_packet}${e.node !== null ? ` on ${safeText(e.node)}` : ''}`;
    lines.push(`  ${flowText(e.flow)}: ${e.verdict}${e.reason !== null ? ` ${e.reason}` : ''}, ${e.packets} packet${e.packets === 1 ? '' : 's'}, first ${where}`);
    if (e.sentence !== '' && !said.has(e.reason)) lines.push(`    ${e.sentence}`);
    said.add(e.reason);
    if (e.explain !== null) lines.push(`    explain: ${safeText(e.explain)}`);
  }
  if (f.list.slice(0, FAILING_SHOWN).some((e) => e.explain === null)) lines.push('  (no explain commands: the packets were not saved; add --save FILE to get explain commands)');
  const more = f.flows - Math.min(f.list.length, FAILING_SHOWN);
  if (more > 0) lines.push(`  ... and ${more} more failing flow${more === 1 ? '' : 's'} (--summary json lists ${FAILING_LISTED} at most, --report FILE.html the same)`);
  if (f.untracked_packets > 0) lines.push(`  (${f.untracked_packets} failing packets are in flows past the first ${f.flows} found, not grouped)`);
  return lines;
}

/**
 * The summary's `nodes` (issue 13, extension): packets per emulated node and verdict, the node being the
 * one that decided the packet (the last it reached; verdict records' `node`), in node order; nodes no packet
 * reached are left out, as are the packets that reached no emulated node.
 */
export type NodeCounts = Record<string, Record<string, number>>;

export function nodesSummary(perNode: Float64Array, nodeName: (id: number) => string | null): NodeCounts {
  const out: NodeCounts = {};
  for (let id = 0; (id + 2) * 5 <= perNode.length; id++) {
    const at = (id + 1) * 5;
    let any = 0;
    for (let v = 0; v < 5; v++) any += perNode[at + v];
    const name = nodeName(id);
    if (any === 0 || name === null) continue;
    out[name] = Object.fromEntries(VERDICT_NAMES.map((v, k) => [v, perNode[at + k]]));
  }
  return out;
}

/** Several summaries' `nodes` added up, nodes in order of first appearance. */
export function mergeNodes(parts: readonly (NodeCounts | undefined)[]): NodeCounts {
  const out: NodeCounts = Object.create(null) as NodeCounts;
  for (const p of parts) {
    if (p === undefined) continue;
    for (const [name, counts] of Object.entries(p)) {
      const into = (out[name] ??= Object.fromEntries(VERDICT_NAMES.map((v) => [v, 0])));
      for (const v of VERDICT_NAMES) into[v] += counts[v] ?? 0;
    }
  }
  return Object.fromEntries(Object.entries(out));
}

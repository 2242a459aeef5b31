/**
 * The last step of every packet: its row of Results and its counters (the one place a verdict is written).
 *
 * Uses:  the PacketCtx outcome fields (ingress, service, backend, warn, flow, rule) and the decision.
 * Sets:  row `i` of Results; the state's counters (counters.ts `packet`: verdict, reason, warnings,
 *        service/backend, rule); a packet dropped or ignored after decapsulation gets its outer headers
 *        back (it keeps its bytes as received).
 * Next:  the verdict and pcapng writers (src/pipeline).
 */

import { unpopOuter } from '../packet/rewrite';
import type { PacketCtx } from './packet-ctx';
import { V } from './reasons';
import type { Results } from './results';

/** Writes the packet's row: `verdict`, `reason`, decided at `node`, leaving through `egress`. */
export function finish(k: PacketCtx, verdict: number, reason: number, node: number, egress: number): void {
  const r = k.r as Results;
  const i = k.i;
  const st = k.st;
  r.verdict[i] = verdict;
  r.reason[i] = reason;
  r.node[i] = node;
  r.ingress[i] = node < 0 && verdict === V.IGNORED ? -1 : k.ingress;
  r.egress[i] = egress;
  r.service[i] = k.service;
  r.backend[i] = k.backend;
  r.warnings[i] = k.warn;
  r.flow[i] = k.flow;
  r.rule[i] = k.rule;
  r.encap[i] = 0;
  st.counters.packet(verdict, reason, k.warn, k.service, k.backend, k.rule);
}

/** Ends a packet that cannot be judged or that no state decides (no egress; bytes as received). */
export function stop(k: PacketCtx, verdict: number, reason: number, node: number): void {
  if (k.decap > 0) {
    unpopOuter(k.b!, k.i, k.decap);
    k.decap = 0;
  }
  k.tr.stop(k, verdict, reason);
  finish(k, verdict, reason, node, -1);
}

/** Ends a packet the slow path decided without caching a connection (frees it and its NAT port). */
export function stopUncached(k: PacketCtx): void {
  k.st.flows.freeConnection(k.conn);
  k.tr.uncached(k);
  stop(k, k.verdict, k.reason, (k.node as { id: number }).id);
}

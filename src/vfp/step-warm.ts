/**
 * Step "warm" (once per batch, before any packet is decided): the flow table lines the batch's packets
 * will read are loaded ahead, all at once.
 *
 * Uses:  the decoded columns of the batch (ipVer, flags, proto, src4/dst4, sport/dport, l4Off, the ICMP
 *        identifier in the bytes) and the flow table's key index.
 * Sets:  nothing (`sink` keeps the loads from being dropped): a pure speed step, the verdicts are the same
 *        with or without it.
 * Next:  the packets, one by one (engine.ts `decide`).
 *
 * When: only for a table bigger than the cache (`warmPolicy`).
 *
 * Why: a flow table hit reads two lines that are cold on a big table (the key index slot, then the flow's
 * record, which depends on it): one packet after the other, every hit waits for its two misses in turn.
 * Loaded here, packet after packet with no dependency between packets, the CPU has many misses in flight
 * at once (the "batched lookup with prefetch" of DPDK's rte_hash bulk lookup and VPP's graph nodes), and
 * the packets then find their lines in the cache. Only each packet's first lookup (scope ENTRY, the key as
 * captured) is warmed: later hops' keys depend on the first hop's rewrite.
 */

import { PF, type Batch } from '../core/batch';
import { SCOPE_ALIAS, SCOPE_ENTRY, key0, key3, type FlowTable } from './flow-table';

/** Loaded words, summed (kept so that the loads are not optimised away). */
let sink = 0;

/**
 * When the pass runs (issue 12): a table of at least `minConnections` live connections, 8192 by default:
 * their records (64 B a connection) then fill a 512 KB L2 cache (a Zen core's, the machine measured), so
 * a hit's lines come from L3 or memory and loading them ahead pays; in a smaller table they are in L2
 * already and the pass is pure cost. Measured with `engine-trace --warm ab` (passes on and off
 * alternating in one process, CPU time on/off, medians of 6 pairs, load average 8-15 on 2 vCPUs):
 * 1.24 at 1k flows (1,269 live), 1.12 at 4k (5,155), 0.97 at 10k (12,850); 0.81 and 0.94 (2 pairs) at
 * 1M flows (1.2M live, measured with `touch` still reading the home slot only). Benches set it to measure the pass on and off (0: always, Infinity: never).
 */
export const warmPolicy = { minConnections: 8192 };

/** Warms the entry lookups of packets `idx[0..n)` of `b` (idx null: 0..n-1). `alias`: the pod view's alias key too. */
export function warmBatch(ft: FlowTable, b: Batch, idx: Uint32Array | null, n: number, alias: boolean): void {
  if (ft.live < warmPolicy.minConnections) return;
  let acc = 0;
  const flags = b.flags;
  for (let q = 0; q < n; q++) {
    const i = idx === null ? q : idx[q];
    const fl = flags[i];
    if (b.ipVer[i] !== 4 || (fl & (PF.TUNNEL | PF.MALFORMED)) !== 0) continue;
    const proto = b.proto[i];
    let k3 = 0;
    if ((fl & PF.HAS_PORTS) !== 0) k3 = key3(b.sport[i], b.dport[i]);
    else if (proto === 1) k3 = icmpKey3(b, i);
    const src = b.src4[i] | 0;
    const dst = b.dst4[i] | 0;
    const v = ft.touch(key0(SCOPE_ENTRY, proto), src, dst, k3);
    acc = (acc + v) | 0;
    if (alias && v === 0) acc = (acc + ft.touch(key0(SCOPE_ALIAS, proto), src, dst, k3)) | 0;
  }
  sink = (sink + acc) | 0;
}

/** The key word of an ICMP query (its identifier as both ports, as step-input.ts icmpPorts), else 0. */
function icmpKey3(b: Batch, i: number): number {
  const l4off = b.l4Off[i];
  if (l4off < 0) return 0;
  const l4 = b.off[i] + l4off;
  const end = b.off[i] + b.caplen[i];
  const a = b.arena;
  if (l4 + 8 > end) return 0;
  const t = a[l4];
  if (t !== 0 && t !== 8 && t !== 13 && t !== 14) return 0;
  const id = (a[l4 + 4] << 8) | a[l4 + 5];
  return key3(id, id);
}

/** The loads' sum (tests and benches may print it; it means nothing). */
export function warmSink(): number {
  return sink;
}

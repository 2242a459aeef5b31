/**
 * DataplaneState: all mutable state of the VFP engine, in one object so that it can be split by shard
 * (issue 4): the unified flow table (flows of every emulated node, keyed per node), the OutboundNAT port
 * pools, and the counters. Nothing else in the engine changes after compile.
 *
 * Sharding contract: every packet of a connection, both directions and every node it crosses, must be
 * processed by the same state, in trace order. `Dataplane.shardKey` gives a key with that property (see its
 * doc); states of different shards share nothing, and counters add up (`mergeCounters`).
 */

import type { CompiledDataplane } from './compile';
import { FlowTable } from './flow-table';
import { REASON_COUNT } from './reasons';
import { SnatPools, type PortHolders } from './snat';

export class DataplaneState implements PortHolders {
  readonly flows: FlowTable;
  readonly snat = new SnatPools();
  /** Packets per final reason id (index 0: no reason). */
  readonly reasonCounts = new Float64Array(REASON_COUNT);
  /** Packets per verdict (V.*). */
  readonly verdictCounts = new Float64Array(5);
  /** Packets per deciding rule id (vfpctrl "Matched packets"), flows created per rule. */
  readonly rulePackets: Float64Array;
  readonly ruleFlows: Float64Array;
  /** Packets that took the fast path / the slow path. */
  fastPath = 0;
  slowPath = 0;
  /** Trace time of the packet being processed (SNAT reclaim checks expiry against it). */
  now = NaN;

  constructor(c: CompiledDataplane, initialConnections = 1024) {
    const ft = new FlowTable(initialConnections, c.profile.maxConnections);
    this.flows = ft;
    this.rulePackets = new Float64Array(c.rules.length);
    this.ruleFlows = new Float64Array(c.rules.length);
    const snat = this.snat;
    ft.onFree = (conn: number) => {
      const owner = ft.natOwner[conn];
      if (owner >= 0) snat.release(c.nodes[ft.node(2 * conn)].nat, owner, ft.natProto[conn], ft.natPort[conn], conn);
    };
  }

  // ---- PortHolders: what the SNAT allocator asks of the connections holding its ports

  isExpired(conn: number): boolean {
    return this.flows.isLive(conn) && this.flows.expired(conn, this.now);
  }

  reclaim(conn: number): void {
    this.flows.freeConnection(conn);
  }

  expiresAfter(conn: number): number {
    return this.flows.isLive(conn) ? this.flows.expiryOf(conn) : Infinity;
  }

  /** Adds `other`'s counters into this one's (shards merged at the end of a run). */
  mergeCounters(other: DataplaneState): void {
    for (let k = 0; k < this.reasonCounts.length; k++) this.reasonCounts[k] += other.reasonCounts[k];
    for (let k = 0; k < this.verdictCounts.length; k++) this.verdictCounts[k] += other.verdictCounts[k];
    for (let k = 0; k < this.rulePackets.length; k++) {
      this.rulePackets[k] += other.rulePackets[k];
      this.ruleFlows[k] += other.ruleFlows[k];
    }
    this.fastPath += other.fastPath;
    this.slowPath += other.slowPath;
  }
}

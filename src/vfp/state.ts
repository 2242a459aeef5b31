/**
 * DataplaneState: all mutable state of the VFP engine, in one object so that it can be split by shard
 * (issue 4): the unified flow table (flows of every emulated node, keyed per node), the OutboundNAT port
 * pools, and the counters (counters.ts). Nothing else in the engine changes after compile.
 *
 * Sharding contract: every packet of a connection, both directions and every node it crosses, must be
 * processed by the same state, in trace order. `Dataplane.shardKey` gives a key with that property (see its
 * doc); states of different shards share nothing, and their counters add up (`Counters.add`).
 */

import type { CompiledDataplane } from './compile';
import { Counters } from './counters';
import { FlowTable } from './flow-table';
import { SnatPools, type PortHolders } from './snat';

export class DataplaneState implements PortHolders {
  readonly flows: FlowTable;
  readonly snat = new SnatPools();
  /** What this state's packets came to (counters.ts): incremented by the engine, merged across shards. */
  readonly counters: Counters;
  /** Trace time of the packet being processed (SNAT reclaim checks expiry against it). */
  now = NaN;

  constructor(c: CompiledDataplane, initialConnections = 1024) {
    const ft = new FlowTable(initialConnections, c.profile.maxConnections);
    this.flows = ft;
    this.counters = new Counters(c.rules.length, c.backends.length);
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
}

/**
 * The slow path: the first packet of a connection at a node, as a sequence of named steps, each in its
 * own file (Uses / Sets / Next in its doc comment):
 *
 *   1. step-reply-checks.ts   a packet from the wire that looks like a reply to a NATed connection
 *   2. step-layers.ts         walk the ingress port's layers (actions.ts executes the selected rules)
 *   3. step-switch.ts         the switch: the host vNIC's load balancers, delivery, VNET routing (compose)
 *   4. step-connection.ts     create the connection: forward and reverse flows in the unified flow table
 *
 * Where the packet enters (step-classify.ts) is decided before, by step-flow.ts. A step that decides
 * without caching (a NAT reply mismatch, an exhausted NAT pool) ends the packet at once.
 *
 * Uses:  the PacketCtx (tracked tuple, the node, port and ingress kind), the state.
 * Sets:  the connection (or, uncached, the packet's result); the state's slowPath counter.
 * Next:  step-flow.ts applies the new forward flow to the packet; returns -1 when the result is already set.
 */

import type { CompiledNode } from './compile';
import { DIR_IN, DIR_OUT, type Port } from './objects';
import type { PacketCtx } from './packet-ctx';
import { R, V } from './reasons';
import { natSlot } from './snat';
import { connectionStep } from './step-connection';
import { walkPort } from './step-layers';
import { replyChecks } from './step-reply-checks';
import { stopUncached } from './step-result';
import { switchStep } from './step-switch';

/** The slow path of the packet at `node`, entering at `port` from `from` (FROM_*), key scope `scope`. */
export function slowPath(k: PacketCtx, scope: number, node: CompiledNode, port: Port, from: number): number {
  const st = k.st;
  st.counters.slowPath++;
  // the connection is taken first so that a NAT port can be bound to it; freed again if not cached
  k.beginSlow(node, port, from, scope, st.flows.allocConnection());
  k.slot = natSlot(k.proto);
  k.tr.slowStart(k);
  replyChecks(k);
  if (k.verdict < 0) walkPort(k, port, port.kind === 'external' ? DIR_IN : DIR_OUT, from);
  if (k.verdict < 0 && k.cached) switchStep(k);
  if (!k.cached) {
    stopUncached(k);
    return -1;
  }
  if (k.verdict < 0) k.decide(V.DROPPED, R.NO_RULE);
  if (k.verdict === V.NO_RETURN) k.tr.noReturn(k);
  return connectionStep(k);
}

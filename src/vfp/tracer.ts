/**
 * The one tracing helper of the engine: every step reports what `explain` shows through `ctx.tr`, a Tracer.
 * NO_TRACE (this class: every method empty) is the tracer of every packet except the one `explain` walks,
 * so tracing costs a call to an empty method, which V8 inlines to nothing; trace-text.ts's TextTracer
 * writes the words. Steps pass the values they decided with (numbers, the objects they hold), never text,
 * so decisions and the explanation's wording live apart. One method per thing a step can report.
 */

import type { CompiledNode, CompiledPod } from './compile';
import type { FlowTable } from './flow-table';
import type { LbBackend, NodeLb, NoLb } from './lb';
import type { Lb6Backend, NodeLb6 } from './lb6';
import type { Group, Layer, Port, Rule } from './objects';
import type { PacketCtx } from './packet-ctx';

/* eslint-disable @typescript-eslint/no-unused-vars */
export class Tracer {
  // ---- input, decapsulation, results
  notIp(k: PacketCtx, etherType: number): void {}
  malformed(k: PacketCtx): void {}
  externalPort(k: PacketCtx, node: CompiledNode): void {}
  decapCheck(k: PacketCtx, vni: number, dport: number, wantVni: number, wantPort: number): void {}
  ipv6InVxlan(k: PacketCtx): void {}
  decapped(k: PacketCtx, outerBytes: number): void {}
  stop(k: PacketCtx, verdict: number, reason: number): void {}
  uncached(k: PacketCtx): void {}
  closeAll(k: PacketCtx): void {}
  close(k: PacketCtx): void {}
  // ---- the flow table
  flowHit(k: PacketCtx, ft: FlowTable, f: number, alias: boolean): void {}
  noEmulatedNode(k: PacketCtx): void {}
  applied(k: PacketCtx, ft: FlowTable, f: number): void {}
  nextNode(k: PacketCtx, node: number): void {}
  dnsWarning(k: PacketCtx): void {}
  cached(k: PacketCtx, evicted: number): void {}
  // ---- the slow path
  slowStart(k: PacketCtx): void {}
  natPortTaken(k: PacketCtx, conn: number, peer: number): void {}
  podPortTaken(k: PacketCtx, pod: CompiledPod, conn: number, peer: number): void {}
  icmpReplyToPod(k: PacketCtx): void {}
  layer(layer: Layer, port: Port, dir: number): void {}
  group(g: Group, best: Rule | null): void {}
  layerEnd(layer: Layer, sel: Rule | null): void {}
  untransposed(k: PacketCtx): void {}
  snat(k: PacketCtx, ip: number, port: number): void {}
  snatExhausted(k: PacketCtx): void {}
  lbChoice(k: PacketCtx, lb: NodeLb, backend: LbBackend): void {}
  lbSnat(k: PacketCtx, lb: NodeLb, port: number, hairpin: boolean): void {}
  hostLb(k: PacketCtx, layer: Layer, rule: Rule): void {}
  hostLbEnd(k: PacketCtx): void {}
  noHostAccess(k: PacketCtx, lb: NodeLb): void {}
  noLoadBalancer(k: PacketCtx, no: NoLb): void {}
  noServicePort(k: PacketCtx): void {}
  pingClusterIp(k: PacketCtx): void {}
  deliverHost(k: PacketCtx, dst: number, kind: number): void {}
  podPortIn(k: PacketCtx, pod: CompiledPod): void {}
  deliverPod(k: PacketCtx, pod: CompiledPod): void {}
  unheldPodAddress(k: PacketCtx, dst: number): void {}
  flannelNodeToRemotePod(k: PacketCtx, dst: number): void {}
  noRouteToPod(k: PacketCtx, dst: number): void {}
  leaving(k: PacketCtx, dst: number): void {}
  podIpNotRoutable(k: PacketCtx, dst: number): void {}
  noReturn(k: PacketCtx): void {}
  // ---- IPv6
  noIpv6Pod(k: PacketCtx): void {}
  ipv6Port(k: PacketCtx, node: CompiledNode, pod: CompiledPod, fromPod: boolean): void {}
  ipv6Overlay(k: PacketCtx): void {}
  lb6Choice(k: PacketCtx, lb: NodeLb6, backend: Lb6Backend, dport: number): void {}
  lb6Reverse(k: PacketCtx, lb: NodeLb6, rule: Rule): void {}
  noLb6(k: PacketCtx, detail: string | null): void {}
}
/* eslint-enable @typescript-eslint/no-unused-vars */

/** The tracer of every packet that is not being explained. */
export const NO_TRACE = new Tracer();

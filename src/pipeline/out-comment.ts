/**
 * The facts an output packet's comment carries beyond `packet N: <verdict>[ <reason>: <sentence>]` (issue 13,
 * "the output pcapng's comments carry what a Wireshark user needs"), and the format of each, shared by the
 * byte encoder (out-trace-encoder.ts) and the string reference (test/reference/out-trace.ts) as facts only
 * (each writes its own bytes).
 *
 * The comment is one line: the prefix as before, then zero or more fields `; KEY=VALUE`, in this order, each
 * only when it applies (README, Decisions, "Output pcapng comments"):
 *   pktmon-drop=TEXT   dropped, and reasons.ts gives the reason the pktmon drop reason string (`Filtered`,
 *                      `Failed security policy`, ...: domain.md §6.1); other drops carry none
 *   warnings=A,B       the warning codes (as the verdict record's `warnings`)
 *   service=NS/NAME    the Service whose load balancer rule matched (as the verdict record's `service`),
 *                      then ` KIND VIP:PORT/PROTO` (`ClusterIP 10.96.0.20:80/tcp`) when the rule that decided
 *                      is that load balancer's (the frontend as `vfp-emu rules` names the LB rule)
 *   backend=IP:PORT    the backend it chose
 *   dsr=yes            that load balancer is DSR (LoadBalancerFlagsDSR: DNAT only, the client's IP kept)
 *   dnat=A:P->B:P      the destination the packet entered with and the one it leaves or arrives with,
 *   snat=A:P->B:P      the same of the source: present when they differ (`A->B` without ports for ICMP);
 *                      from the packet's bytes before and after the engine (the verdict record's `flow`
 *                      and `out`; the encoder reads the header where it was captured, FlowColumns l3At,
 *                      since the engine rewrites in place: no second decode for --out), so an un-DNAT of
 *                      a reply shows as `snat=`
 *   encap=vxlan vni V SRC->DST:PORT   it leaves VXLAN-encapsulated (Results encap, outerSrc, outerDst,
 *                      outerDport, vni: the verdict record's `out.outer`)
 *   decap=vxlan        it entered encapsulated and leaves or arrives without (then no dnat/snat: the
 *                      captured tuple is the outer one)
 * A sentence may hold `; ` but never `; KEY=` (a test checks every sentence): split the fields on the
 * regular expression `; (?=[a-z-]+=)`. Names from the config are escaped as interface names are
 * (core/safe-text.ts `safeText`). Only forwarded, no-return and delivered packets carry dnat, snat, encap,
 * decap (a dropped or ignored packet is written as it arrived).
 */
import { safeText, capText } from '../core/safe-text';
import type { Dataplane } from '../vfp/engine';
import type { LbKind } from '../vfp/lb';
import { REASON_TABLE, V, warningCodes } from '../vfp/reasons';

/** Most UTF-8 bytes of a Service name in a comment (ends in `…` when cut). */
export const SERVICE_NAME_MAX = 512;

/** What a comment names of a load balancer (an IPv4 lb.ts NodeLb or an IPv6 lb6.ts NodeLb6). */
export interface LbFrontend {
  service: number;
  kind: LbKind;
  proto: number;
  vipText: string;
  extPort: number;
  /** DSR (IPv6 LBs are never: lb6.ts builds no DSR rule). */
  dsr?: boolean;
}

/**
 * The load balancer each rule programs, by global rule id: an IPv4 LB's host-port and DSR pod-port rules,
 * and an IPv6 LB's rule in the host port's SLB_GROUP_LB_IPv6_OUT (lb6.ts; step-ipv6.ts sets it as the
 * deciding rule).
 */
export function lbsByRule(dp: Dataplane): (LbFrontend | undefined)[] {
  const out: (LbFrontend | undefined)[] = [];
  for (const node of dp.c.nodes) {
    for (const lb of node.lbs) {
      if (lb.hostRule !== null) out[lb.hostRule.id] = lb;
      if (lb.dsrRule !== null) out[lb.dsrRule.id] = lb;
    }
    for (const lb of node.v6.lbs) out[lb.rule.id] = lb;
  }
  return out;
}

/** `; pktmon-drop=TEXT` for a packet of `verdict` with `reason`, or '' (see the module comment). */
export function pktmonField(verdict: number, reason: number): string {
  if (verdict !== V.DROPPED || reason <= 0) return '';
  const text = REASON_TABLE[reason - 1]?.pktmon;
  return text !== undefined ? `; pktmon-drop=${text}` : '';
}

/** `; warnings=A,B` for warning bitmask `mask`, or ''. */
export function warningsField(mask: number): string {
  return mask === 0 ? '' : `; warnings=${warningCodes(mask).join(',')}`;
}

/** `tcp`, `udp` or the protocol number. */
function protoName(p: number): string {
  return p === 6 ? 'tcp' : p === 17 ? 'udp' : String(p);
}

/**
 * `; service=...; backend=...; dsr=yes` of a packet whose Results row has `service`, `backend` and `rule`
 * (`lbs`: lbsByRule), or ''.
 */
export function lbFields(dp: Dataplane, lbs: readonly (LbFrontend | undefined)[], service: number, backend: number, rule: number): string {
  const found = service >= 0 && rule >= 0 ? lbs[rule] : undefined;
  const lb = found !== undefined && found.service === service ? found : undefined;
  let s = '';
  if (service >= 0) s += `; service=${capText(safeText(dp.serviceName(service) ?? ''), SERVICE_NAME_MAX)}`;
  if (lb !== undefined) s += ` ${lb.kind} ${lb.vipText.includes(':') ? `[${lb.vipText}]` : lb.vipText}:${lb.extPort}/${protoName(lb.proto)}`;
  if (backend >= 0) s += `; backend=${dp.backendName(backend) ?? ''}`;
  if (lb?.dsr === true) s += '; dsr=yes';
  return s;
}

/** Most bytes `lbFields` writes for `dp` (a bound for the encoder's room). */
export function lbFieldsBound(dp: Dataplane): number {
  let be = 0;
  for (let k = 0; k < dp.c.backends.length; k++) be = Math.max(be, (dp.backendName(k) ?? '').length);
  // service name (capped, 3 bytes per escaped char at most), kind, [IPv6 VIP]:port/proto, backend, dsr
  return 10 + SERVICE_NAME_MAX + 1 + 10 + 1 + 41 + 1 + 5 + 1 + 3 + 10 + be + 9;
}

/**
 * Step "IPv6": l2bridge bridges and routes IPv6 (dual stack) statelessly, with the MAC rewrite and without
 * load balancers or NAT; overlay networks do not carry it (the page: IPv4 only).
 *
 * Uses:  the IPv6 addresses of the packet, the compiled IPv6 pod addresses (compile.ts ip6).
 * Sets:  the MAC rewrite in the bytes; the verdict (delivered to a pod, forwarded, or dropped:
 *        ipv6-overlay-unsupported, mac-spoofing-disabled), ignored (no-emulated-node, truncated).
 * Next:  step-result.ts.
 */

import { EP_EXTERNAL, EP_WIRE } from './compile';
import type { PacketCtx } from './packet-ctx';
import { R, V } from './reasons';
import { finish, stop } from './step-result';
import { writeMac } from './transposition';

export function ipv6Step(k: PacketCtx): void {
  const c = k.c;
  const a = k.b!.arena;
  const l3 = k.l3;
  if (l3 + 40 > k.end) return stop(k, V.IGNORED, R.TRUNCATED, -1);
  const sp = c.ip6.get(a, l3 + 8);
  const dp = c.ip6.get(a, l3 + 24);
  if (sp < 0 && dp < 0) {
    k.tr.noIpv6Pod(k);
    return stop(k, V.IGNORED, R.NO_EMULATED_NODE, -1);
  }
  const p = c.pods[sp >= 0 ? sp : dp];
  const node = c.nodes[p.node];
  k.ingress = sp >= 0 ? p.endpoint : EP_EXTERNAL;
  k.tr.ipv6Port(k, node, p, sp >= 0);
  if (c.mode === 'overlay' && !c.profile.overlayIpv6) {
    k.tr.ipv6Overlay(k);
    return stop(k, V.DROPPED, R.IPV6_OVERLAY_UNSUPPORTED, node.id);
  }
  const macs = c.macs;
  if (dp >= 0 && c.pods[dp].node === node.id) {
    if (sp < 0 && !node.macSpoofing) return stop(k, V.DROPPED, R.MAC_SPOOFING_DISABLED, node.id);
    if (k.l2 >= 0) writeMac(a, k.l2, macs, c.pods[dp].mac);
    return finish(k, V.DELIVERED, 0, node.id, c.pods[dp].endpoint);
  }
  if (!node.macSpoofing) return stop(k, V.DROPPED, R.MAC_SPOOFING_DISABLED, node.id);
  if (k.l2 >= 0) writeMac(a, k.l2 + 6, macs, node.mac);
  if (dp >= 0) {
    // another emulated node's pod: it delivers
    const q = c.pods[dp];
    if (k.l2 >= 0) writeMac(a, k.l2, macs, q.mac);
    return finish(k, V.DELIVERED, 0, q.node, q.endpoint);
  }
  finish(k, V.FORWARDED, 0, node.id, EP_WIRE);
}

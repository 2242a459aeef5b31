/**
 * Step "walk the port's layers": VFP's match-action walk of one port (domain.md §4.2).
 *
 * Uses:  the match tuple (PacketCtx mProto ... mPorts), the packet's ingress kind (`from`), the port's
 *        layers (compile.ts; in OUT order, IN runs them in reverse).
 * Sets:  through actions.ts, one function per action kind of the selected rules and each unmatched layer's
 *        default: the composed transposition (ctx.x), the verdict when a rule decides, the deciding rule.
 * Next:  step-switch.ts (the host vNIC's load balancers, delivery, routing), unless a rule decided.
 *
 * Within a layer, per group of the walk's direction, the best (lowest priority number) matching rule is
 * selected; the last group that matched decides, unless a rule is terminating, which stops the layer at
 * once. The port's own walk skips the layers the switch step runs (role 'lb': the host vNIC's load
 * balancers, reached by every port's VIP traffic; role 'vnet': routing with the final destination).
 */

import { DIR_OUT, RULE_TERMINATING, conditionsMatch, vipKey, type Group, type Layer, type Port, type Rule } from './objects';
import { doAction, layerDefault } from './actions';
import type { PacketCtx } from './packet-ctx';

/** The best rule of group `g` for the match tuple, or null. */
function bestInGroup(k: PacketCtx, g: Group, from: number): Rule | null {
  const proto = k.mProto;
  const ports = k.mPorts && proto !== 1;
  let best: Rule | null = null;
  if (g.byVip !== null && ports) {
    const list = g.byVip.get(vipKey(proto, k.mDst, k.mDport));
    if (list !== undefined) {
      for (let q = 0; q < list.length; q++) {
        const r = list[q];
        if ((best === null || r.priority < best.priority) && conditionsMatch(r.cond, proto, k.mSrc, k.mDst, k.mSport, k.mDport, ports, from)) best = r;
      }
    }
  }
  const rules = g.rules;
  for (let q = 0; q < rules.length; q++) {
    const r = rules[q];
    if (best !== null && r.priority >= best.priority) break;
    if (conditionsMatch(r.cond, proto, k.mSrc, k.mDst, k.mSport, k.mDport, ports, from)) return r;
  }
  return best;
}

/**
 * Walks `layer` in direction `dir` with the match tuple: returns the selected rule, or null (the layer's
 * default applies). `quiet` walks without tracing.
 */
export function walkLayer(k: PacketCtx, layer: Layer, dir: number, from: number, port: Port, quiet = false): Rule | null {
  const tr = quiet ? null : k.tr;
  let sel: Rule | null = null;
  let opened = false;
  const groups = layer.groups;
  for (let q = 0; q < groups.length; q++) {
    const g = groups[q];
    if (g.dir !== dir || g.family === 'IPv6') continue; // IPv6 groups: step-ipv6.ts
    if (tr !== null && !opened) {
      tr.layer(layer, port, dir);
      opened = true;
    }
    const best = bestInGroup(k, g, from);
    if (tr !== null) tr.group(g, best);
    if (best !== null) {
      sel = best;
      if ((best.flags & RULE_TERMINATING) !== 0) break;
    }
  }
  if (tr !== null && opened) tr.layerEnd(layer, sel);
  return sel;
}

/** True when `layer` has a group of direction `dir` (a layer without one is not walked: no default applies). */
export function hasGroups(layer: Layer, dir: number): boolean {
  for (let q = 0; q < layer.groups.length; q++) if (layer.groups[q].dir === dir && layer.groups[q].family !== 'IPv6') return true;
  return false;
}

/**
 * Walks the layers of `port` in direction `dir` (OUT: array order, IN: reverse) except those the switch
 * step runs, executing the selected rule's action or the layer's default, until a rule decides.
 */
export function walkPort(k: PacketCtx, port: Port, dir: number, from: number): void {
  const layers = port.layers;
  const n = layers.length;
  for (let q = 0; q < n && k.verdict < 0; q++) {
    const layer = dir === DIR_OUT ? layers[q] : layers[n - 1 - q];
    if (layer.role === 'vnet' || layer.role === 'lb' || !hasGroups(layer, dir)) continue;
    k.matchPacket();
    const sel = walkLayer(k, layer, dir, from, port);
    if (sel === null) layerDefault(k, layer);
    else doAction(k, sel, layer);
  }
}

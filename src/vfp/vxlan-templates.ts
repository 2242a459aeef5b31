/**
 * The VXLAN outer headers a node pushes towards each of its PA routes, built when a (node, route) pair is
 * first used and then shared by every flow that takes the route (the flow table stores the template id).
 */

import { makeVxlanTemplate, type VxlanTemplate } from '../packet/rewrite';
import type { CompiledDataplane, CompiledNode } from './compile';

export class VxlanTemplates {
  readonly list: VxlanTemplate[] = [];
  private readonly ids = new Map<number, number>();

  constructor(private readonly c: CompiledDataplane) {}

  /** The template id of node `node` towards its route `route` (CompiledNode.routes index). */
  id(node: CompiledNode, route: number): number {
    const key = node.id * 65536 + route;
    let id = this.ids.get(key);
    if (id === undefined) {
      const rt = node.routes[route];
      const c = this.c;
      id = this.list.length;
      this.list.push(
        makeVxlanTemplate({
          srcMac: c.macNames[node.mac],
          dstMac: rt.hopMac >= 0 ? c.macNames[rt.hopMac] : 'ff:ff:ff:ff:ff:ff',
          srcIp: node.pa,
          dstIp: rt.nextHop,
          vni: c.vni,
          dstPort: c.vxlanPort,
        }),
      );
      this.ids.set(key, id);
    }
    return id;
  }
}

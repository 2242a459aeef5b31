/**
 * Results: what the VFP engine decided for each packet of a batch, as struct-of-arrays columns with the
 * batch's capacity (no object per packet). `Dataplane.process` fills one row per packet; the verdict writer
 * (DESIGN.md CONTRACT, verdict record) reads them with the names from the Dataplane.
 *
 * Columns (index = packet index in the batch):
 *   verdict   V.* (reasons.ts): 0 delivered, 1 forwarded, 2 no-return, 3 dropped, 4 ignored
 *   reason    reason id (reasons.ts), 0 = none
 *   warnings  bitmask of warning reasons (reasons.ts warningCodes)
 *   node      emulated node id that decided (the last one the packet reached), -1 = null
 *   ingress   endpoint id where it entered the first emulated node (compile.ts EP_*), -1 = null
 *   egress    endpoint id where it left the last node (EP_WIRE, EP_HOST, a pod), -1 = null
 *   service   service id of the load balancer rule that matched, -1 = null
 *   backend   backend id chosen by that rule, -1 = null
 *   encap     1 when the packet left VXLAN-encapsulated; then outerSrc/outerDst (IPv4 u32), outerDport, vni
 *   flow      the last flow table entry used (debugging, explain), -1 none
 *   rule      the rule that decided (counters), -1 none
 */

import { V } from './reasons';

export class Results {
  readonly capacity: number;
  count = 0;
  readonly verdict: Uint8Array;
  readonly reason: Uint8Array;
  readonly warnings: Uint32Array;
  readonly node: Int16Array;
  readonly ingress: Int32Array;
  readonly egress: Int32Array;
  readonly service: Int32Array;
  readonly backend: Int32Array;
  readonly encap: Uint8Array;
  readonly outerSrc: Uint32Array;
  readonly outerDst: Uint32Array;
  readonly outerDport: Uint16Array;
  readonly vni: Uint32Array;
  readonly flow: Int32Array;
  readonly rule: Int32Array;

  constructor(capacity: number, opts: { shared?: boolean } = {}) {
    this.capacity = capacity;
    const mk = (bytes: number): ArrayBufferLike => (opts.shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
    this.verdict = new Uint8Array(mk(capacity));
    this.reason = new Uint8Array(mk(capacity));
    this.warnings = new Uint32Array(mk(capacity * 4));
    this.node = new Int16Array(mk(capacity * 2));
    this.ingress = new Int32Array(mk(capacity * 4));
    this.egress = new Int32Array(mk(capacity * 4));
    this.service = new Int32Array(mk(capacity * 4));
    this.backend = new Int32Array(mk(capacity * 4));
    this.encap = new Uint8Array(mk(capacity));
    this.outerSrc = new Uint32Array(mk(capacity * 4));
    this.outerDst = new Uint32Array(mk(capacity * 4));
    this.outerDport = new Uint16Array(mk(capacity * 2));
    this.vni = new Uint32Array(mk(capacity * 4));
    this.flow = new Int32Array(mk(capacity * 4));
    this.rule = new Int32Array(mk(capacity * 4));
  }

  /**
   * Prepares rows 0..n-1: every packet starts as dropped with reason 0 (the engine must decide; a path that
   * forgets gets the no-rule reason, never a silent forward), nulls elsewhere.
   */
  reset(n: number): void {
    if (n > this.capacity) throw new RangeError(`Results capacity ${this.capacity} < ${n} packets`);
    this.count = n;
    this.verdict.fill(V.DROPPED, 0, n);
    this.reason.fill(0, 0, n);
    this.warnings.fill(0, 0, n);
    this.node.fill(-1, 0, n);
    this.ingress.fill(-1, 0, n);
    this.egress.fill(-1, 0, n);
    this.service.fill(-1, 0, n);
    this.backend.fill(-1, 0, n);
    this.encap.fill(0, 0, n);
    this.flow.fill(-1, 0, n);
    this.rule.fill(-1, 0, n);
  }

  /** Buffers to transfer or share between threads. */
  get buffers(): ArrayBufferLike[] {
    return [
      this.verdict, this.reason, this.warnings, this.node, this.ingress, this.egress, this.service, this.backend, this.encap,
      this.outerSrc, this.outerDst, this.outerDport, this.vni, this.flow, this.rule,
    ].map((a) => a.buffer);
  }
}

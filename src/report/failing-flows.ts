/**
 * Failing flows (issue 13, "Failing flows up front"): the packets whose verdict is `dropped` or `no-return`
 * (reasons.ts: the two verdicts that mean the conversation fails), grouped by their 5-tuple as the packet
 * entered (protocol, addresses, TCP/UDP ports, ICMP type), their verdict and their reason, each group with
 * its first packet number, its packet count and the node that decided its first packet.
 *
 * Collected by the pipeline's stage (stage.ts `checkFail`, once per batch after the engine ran) from the
 * columns it already has: the verdict and reason columns of Results, and the batch's decoded tuple, which
 * the engine does not change (it rewrites the packet's bytes; the batch is decoded again only after this).
 * IPv6 addresses are read from the packet's bytes at that moment (as the engine left them: a dropped IPv6
 * packet is not rewritten). Nothing is allocated per packet: the groups live in typed-array columns and an
 * open-addressing index, grown by doubling.
 *
 * Bounded and deterministic for every worker count: each shard keeps the first FAILING_TRACKED groups it
 * sees in trace order (a shard sees its packets in trace order), packets of later groups are not grouped.
 * The groups of every shard are merged (`FailingFlows.merged`: counts added, the earliest first packet
 * kept) and then cut to the FAILING_TRACKED groups with the earliest first packets: every group one
 * thread would keep has fewer than FAILING_TRACKED groups before it in the whole trace, so fewer in its
 * shard too, and was kept there whole. So the groups and counts are those of one thread. Packets of the
 * groups past the bound are `untracked_packets` in the summary (0 unless a trace has more than
 * FAILING_TRACKED failing 5-tuples, e.g. a scan).
 *
 * The same loop counts every packet per node and verdict (`perNode`, the summary's `nodes`): a typed-array
 * increment per packet.
 *
 * No Node.js module is imported here (the pipeline's workers and the page load it).
 */
import { PF, type Batch } from '../core/batch';
import type { Results } from '../vfp/results';
import { V } from '../vfp/reasons';

/** Most failing-flow groups kept per trace (about 48 bytes each: 3 MiB at the bound). */
export const FAILING_TRACKED = 1 << 16;

/** A group's fields as plain data (posted between threads; `FailingFlows.data`). */
export interface FailingFlowsData {
  n: number;
  ver: Uint8Array;
  proto: Uint8Array;
  verdict: Uint8Array;
  reason: Uint8Array;
  flags: Uint8Array;
  sport: Uint16Array;
  dport: Uint16Array;
  icmp: Uint8Array;
  src: Uint32Array;
  dst: Uint32Array;
  a6: Uint8Array;
  node: Int16Array;
  first: Float64Array;
  count: Float64Array;
  perNode: Float64Array;
}

/** `flags` bits of a group. */
const G_PORTS = 1;
const G_ICMP = 2;

function mix(h: number, v: number): number {
  return Math.imul(h ^ v, 0x9e3779b1) >>> 0;
}

export class FailingFlows {
  n = 0;
  private ver = new Uint8Array(64);
  private proto = new Uint8Array(64);
  private verdict = new Uint8Array(64);
  private reason = new Uint8Array(64);
  private flags = new Uint8Array(64);
  private sport = new Uint16Array(64);
  private dport = new Uint16Array(64);
  private icmp = new Uint8Array(64);
  private src = new Uint32Array(64);
  private dst = new Uint32Array(64);
  private a6 = new Uint8Array(64 * 32);
  private node = new Int16Array(64);
  private first = new Float64Array(64);
  private count = new Float64Array(64);
  /** Open addressing: group index + 1 per slot, 0 empty; twice the group columns' length. */
  private index = new Int32Array(128);
  /**
   * Packets per node and verdict (every packet, not only failing ones; the summary's `nodes`): index
   * (node id + 1) * 5 + verdict, node -1 being the packets that reached no emulated node. Grown when a
   * higher node id shows up.
   */
  perNode: Float64Array = new Float64Array(5 * 8);

  /** `limit`: most groups kept (later ones are not grouped); the merged table has none. */
  constructor(private readonly limit = FAILING_TRACKED) {}

  /**
   * Groups the failing packets among `idx[0..m)` of `b` (their verdicts in `r`). Called once per batch by the
   * pipeline's stage; a loop over the verdict column, and a hash probe per failing packet.
   */
  collect(b: Batch, r: Results, idx: Uint32Array, m: number): void {
    const verdicts = r.verdict;
    const nodes = r.node;
    for (let k = 0; k < m; k++) {
      const i = idx[k];
      const v = verdicts[i];
      const at = (nodes[i] + 1) * 5 + v;
      if (at >= this.perNode.length) this.growNodes(at);
      this.perNode[at]++;
      if (v === V.DROPPED || v === V.NO_RETURN) this.addPacket(b, r, i);
    }
  }

  private growNodes(at: number): void {
    const next = new Float64Array(Math.max(this.perNode.length * 2, (Math.floor(at / 5) + 1) * 5));
    next.set(this.perNode);
    this.perNode = next;
  }

  private addPacket(b: Batch, r: Results, i: number): void {
    const f = b.flags[i];
    const ports = (f & PF.HAS_PORTS) !== 0;
    const icmp = (f & PF.HAS_ICMP) !== 0;
    const ver = b.ipVer[i];
    const a6 = ver === 6 ? b.off[i] + b.l3Off[i] + 8 : -1;
    this.add(
      ver,
      b.proto[i],
      r.verdict[i],
      r.reason[i],
      (ports ? G_PORTS : 0) | (icmp ? G_ICMP : 0),
      ports ? b.sport[i] : 0,
      ports ? b.dport[i] : 0,
      icmp ? b.icmpType[i] : 0,
      ver === 4 ? b.src4[i] : 0,
      ver === 4 ? b.dst4[i] : 0,
      b.arena,
      a6,
      r.node[i],
      b.firstNumber + i,
      1,
    );
  }

  /** Adds `count` packets to a group (made when new and under the limit); `a6`: offset of 32 address bytes in `bytes`, or -1. */
  private add(ver: number, proto: number, verdict: number, reason: number, flags: number, sport: number, dport: number, icmp: number, src: number, dst: number, bytes: Uint8Array, a6: number, node: number, first: number, count: number): void {
    let h = mix(mix(mix(mix(ver | (proto << 8) | (verdict << 16) | (reason << 24), flags | (icmp << 8)), sport | (dport << 16)), src), dst);
    if (a6 >= 0) for (let k = 0; k < 32; k += 4) h = mix(h, bytes[a6 + k] | (bytes[a6 + k + 1] << 8) | (bytes[a6 + k + 2] << 16) | (bytes[a6 + k + 3] << 24));
    const mask = this.index.length - 1;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const g = this.index[s] - 1;
      if (g < 0) {
        if (this.n >= this.limit) return;
        this.make(s, ver, proto, verdict, reason, flags, sport, dport, icmp, src, dst, bytes, a6, node, first, count);
        return;
      }
      if (this.same(g, ver, proto, verdict, reason, flags, sport, dport, icmp, src, dst, bytes, a6)) {
        this.count[g] += count;
        if (first < this.first[g]) {
          this.first[g] = first;
          this.node[g] = node;
        }
        return;
      }
    }
  }

  private same(g: number, ver: number, proto: number, verdict: number, reason: number, flags: number, sport: number, dport: number, icmp: number, src: number, dst: number, bytes: Uint8Array, a6: number): boolean {
    if (this.ver[g] !== ver || this.proto[g] !== proto || this.verdict[g] !== verdict || this.reason[g] !== reason || this.flags[g] !== flags) return false;
    if (this.sport[g] !== sport || this.dport[g] !== dport || this.icmp[g] !== icmp || this.src[g] !== src || this.dst[g] !== dst) return false;
    if (a6 < 0) return true;
    const o = g * 32;
    for (let k = 0; k < 32; k++) if (this.a6[o + k] !== bytes[a6 + k]) return false;
    return true;
  }

  private make(s: number, ver: number, proto: number, verdict: number, reason: number, flags: number, sport: number, dport: number, icmp: number, src: number, dst: number, bytes: Uint8Array, a6: number, node: number, first: number, count: number): void {
    const g = this.n++;
    this.index[s] = g + 1;
    this.ver[g] = ver;
    this.proto[g] = proto;
    this.verdict[g] = verdict;
    this.reason[g] = reason;
    this.flags[g] = flags;
    this.sport[g] = sport;
    this.dport[g] = dport;
    this.icmp[g] = icmp;
    this.src[g] = src;
    this.dst[g] = dst;
    if (a6 >= 0) for (let k = 0; k < 32; k++) this.a6[g * 32 + k] = bytes[a6 + k];
    this.node[g] = node;
    this.first[g] = first;
    this.count[g] = count;
    if (this.n * 2 > this.ver.length) this.grow();
  }

  /** Doubles the columns and rebuilds the index. */
  private grow(): void {
    const d = this.data();
    const size = this.ver.length * 2;
    this.ver = new Uint8Array(size);
    this.proto = new Uint8Array(size);
    this.verdict = new Uint8Array(size);
    this.reason = new Uint8Array(size);
    this.flags = new Uint8Array(size);
    this.sport = new Uint16Array(size);
    this.dport = new Uint16Array(size);
    this.icmp = new Uint8Array(size);
    this.src = new Uint32Array(size);
    this.dst = new Uint32Array(size);
    this.a6 = new Uint8Array(size * 32);
    this.node = new Int16Array(size);
    this.first = new Float64Array(size);
    this.count = new Float64Array(size);
    this.index = new Int32Array(size * 2);
    this.n = 0;
    this.perNode.fill(0);
    this.addData(d);
  }

  /** Adds every group of `d` (another shard's). */
  addData(d: FailingFlowsData): void {
    if (d.perNode.length > this.perNode.length) this.growNodes(d.perNode.length - 1);
    for (let k = 0; k < d.perNode.length; k++) this.perNode[k] += d.perNode[k];
    for (let g = 0; g < d.n; g++) {
      const v6 = d.ver[g] === 6;
      this.add(d.ver[g], d.proto[g], d.verdict[g], d.reason[g], d.flags[g], d.sport[g], d.dport[g], d.icmp[g], d.src[g], d.dst[g], d.a6, v6 ? g * 32 : -1, d.node[g], d.first[g], d.count[g]);
    }
  }

  /** The groups as plain data (copies of the used part of each column). */
  data(): FailingFlowsData {
    const n = this.n;
    return {
      n,
      ver: this.ver.slice(0, n),
      proto: this.proto.slice(0, n),
      verdict: this.verdict.slice(0, n),
      reason: this.reason.slice(0, n),
      flags: this.flags.slice(0, n),
      sport: this.sport.slice(0, n),
      dport: this.dport.slice(0, n),
      icmp: this.icmp.slice(0, n),
      src: this.src.slice(0, n),
      dst: this.dst.slice(0, n),
      a6: this.a6.slice(0, n * 32),
      node: this.node.slice(0, n),
      first: this.first.slice(0, n),
      count: this.count.slice(0, n),
      perNode: this.perNode.slice(),
    };
  }

  /** The shards' groups as one (no limit while merging), then cut to the `limit` groups seen first (module comment). */
  static merged(parts: readonly FailingFlowsData[], limit = FAILING_TRACKED): FailingFlowsData {
    const all = new FailingFlows(Number.MAX_SAFE_INTEGER);
    for (const p of parts) all.addData(p);
    const d = all.data();
    if (d.n <= limit) return d;
    const order = Array.from({ length: d.n }, (_, g) => g).sort((a, b) => d.first[a] - d.first[b]);
    const kept = new FailingFlows(Number.MAX_SAFE_INTEGER);
    kept.perNode = d.perNode;
    for (const g of order.slice(0, limit)) {
      kept.add(d.ver[g], d.proto[g], d.verdict[g], d.reason[g], d.flags[g], d.sport[g], d.dport[g], d.icmp[g], d.src[g], d.dst[g], d.a6, d.ver[g] === 6 ? g * 32 : -1, d.node[g], d.first[g], d.count[g]);
    }
    return kept.data();
  }
}

/** The group index order of the list: most packets first, then the earliest first packet. */
export function groupOrder(d: FailingFlowsData): number[] {
  return Array.from({ length: d.n }, (_, g) => g).sort((a, b) => d.count[b] - d.count[a] || d.first[a] - d.first[b]);
}

export { G_ICMP, G_PORTS };

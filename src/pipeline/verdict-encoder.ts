/**
 * Verdict records as bytes: the `replay --verdicts` JSONL (DESIGN.md CONTRACT, verdict record: one JSON
 * object per input packet, in input order, keys in the contract's order), written straight into a
 * Uint8Array, so that the pipeline's workers serialise their own packets in parallel and the main thread
 * only writes the bytes out, in input order. The page (native-free/core.ts) parses these same bytes.
 *
 * `flow` is the tuple as captured (FlowColumns, taken after the first decode, before the engine rewrote
 * the packet); `out` the packet as it finally leaves or arrives, read back from the rewritten bytes (the
 * batch is decoded again after the engine ran). Extensions to the contract, all additive: `flow`/`out`
 * carry `icmp_type`/`icmp_code` for ICMP, and `out.eth` the Ethernet addresses as they leave (the
 * L2bridge MAC rewrite shows there). Names (node, ingress, egress, service) come from the config files
 * and are written by core/safe-text.ts `jsonText`: C1 controls, bidi overrides and other format
 * characters as JSON `\u` escapes, so a JSON reader gets the names unchanged and `cat verdicts.jsonl`
 * shows no raw control or bidi character. The string-based writer this encoder replaced is kept as the
 * reference in test/reference/verdicts.ts (`verdictLines`), which test/pipeline-determinism.test.ts
 * checks the bytes against.
 *
 * Uses: the batch (decoded again after the engine), Results, FlowColumns, the Dataplane's names (encoded
 * once per id and kept). Sets nothing. No string or object per packet, except for IPv6 addresses (their
 * text comes from decode/format.ts).
 */
import { PF, PK_COPY_UNSEEN, type Batch, type FlowColumns } from '../core/batch';
import { KeyTable } from '../core/key-table';
import { jsonText } from '../core/safe-text';
import { ipv6Text } from '../decode/format';
import type { Dataplane } from '../vfp/engine';
import { reasonCode, REASON_COUNT, V, VERDICT_NAMES, warningCodes } from '../vfp/reasons';
import type { Results } from '../vfp/results';
import { ByteWriter, Ipv4Texts, MacTexts, putSmall, putText, putTextTo, putUint, Text, utf8 } from './bytes';

/** Slots of the direct-mapped head cache (VerdictEncoder `recent`): 2^RECENT_BITS. */
const RECENT_BITS = 10;

/** Longest text of an IPv6 address (RFC 5952 with an embedded IPv4 tail is shorter). */
const IPV6_MAX = 39;

const T_PACKET = new Text('{"packet":');
const T_NULL = new Text('null');
const T_OUT_NULL = new Text('null,"out":');
const T_SPORT = new Text('","sport":');
const T_DST = new Text(',"dst":"');
const T_DPORT = new Text('","dport":');
const T_ICMP_TYPE = new Text(',"icmp_type":');
const T_ICMP_CODE = new Text(',"icmp_code":');
const T_FLOW_END = new Text('},"out":');
const T_ETH_SRC = new Text(',"eth":{"src":"');
const T_OUTER_SRC = new Text(',"outer":{"src":"');
const T_OUTER_VNI = new Text(',"vni":');
const T_CLOSE2 = new Text('}}');
/** A pktmon copy's link (src/io/pktmon.ts): the record's last field, a CONTRACT extension. */
const T_COPY_OF = new Text(',"copy_of":');
const T_COPY_END = new Text('}\n');
const T_NULL_END = new Text('null}\n');
/** `{"proto":P,"src":"` per protocol number. */
const T_PROTO: Text[] = [];
for (let k = 0; k < 256; k++) T_PROTO.push(new Text(`{"proto":${k},"src":"`));

/**
 * Encodes verdict records (see the module comment). One per thread: its caches are not shared. A record
 * is mostly cached texts copied a word at a time: its head (verdict to egress, one text per combination
 * seen), its tail (service and backend), and each IPv4 and MAC address together with the key after it;
 * the packet number, ports and the rest are written from digit tables. The parts of head and tail are
 * built on first use and cached by id: `,"verdict":..,"reason":..` per verdict and reason,
 * `,"warnings":[..]` per bitmask, and each name with its key.
 */
export class VerdictEncoder {
  private readonly dp: Dataplane;
  private readonly w = new ByteWriter();
  /**
   * Texts of the IPv4 and MAC addresses seen lately, each with the text that always follows it: a source
   * with `","sport":`, a destination with `","dport":`, an outer source with `","dst":"`; an Ethernet
   * source with `","dst":"`, an Ethernet destination with `"}`.
   */
  private readonly ipSport = new Ipv4Texts('","sport":');
  private readonly ipDport = new Ipv4Texts('","dport":');
  private readonly ipDst = new Ipv4Texts('","dst":"');
  private readonly macDst = new MacTexts('","dst":"');
  private readonly macEnd = new MacTexts('"}');
  /**
   * `,"verdict":..,"reason":..,"warnings":[..],"node":..,"ingress":..,"egress":..,"flow":` per verdict,
   * reason, warning bitmask, node, ingress and egress, by its number in `headTable`.
   */
  private readonly headTable = new KeyTable(6, 10);
  private readonly heads: Text[] = [];
  /** The heads found lately, by a hash of their six keys (see `head`), and those keys (6 per slot). */
  private readonly recent: (Text | undefined)[] = new Array<Text | undefined>(1 << RECENT_BITS).fill(undefined);
  private readonly recentKeys = new Int32Array(6 << RECENT_BITS);
  /**
   * `,"service":S,"backend":B}` and a newline: per backend id (a backend belongs to one service; the
   * service is kept to check), and per service id + 1 when there is no backend.
   */
  private readonly tailsByBackend: ({ service: number; text: Text } | undefined)[] = [];
  private readonly tailsByService: ({ service: number; text: Text } | undefined)[] = [];
  /** `,"verdict":"V","reason":R` per verdict * REASON_COUNT + reason. */
  private readonly verdictReason: (Text | undefined)[] = [];
  /** `,"warnings":[...]` per warning bitmask (built on first use). */
  private readonly warningsPart = new Map<number, Text>();
  private readonly noWarnings = new Text(',"warnings":[]');
  /** `,"node":N` ... by id + 1 (index 0: null), built on first use. */
  private readonly nodes: (Text | undefined)[] = [];
  private readonly ingresses: (Text | undefined)[] = [];
  /** `,"egress":E,"flow":` */
  private readonly egresses: (Text | undefined)[] = [];
  /** `,"service":S` */
  private readonly services: (Text | undefined)[] = [];
  /** `,"backend":B}` + newline */
  private readonly backends: (Text | undefined)[] = [];
  /** Most bytes one record can take (see `bound`). */
  readonly maxRecordBytes: number;

  constructor(dp: Dataplane) {
    this.dp = dp;
    this.maxRecordBytes = this.bound();
  }

  /**
   * A bound on the bytes of one record: the fixed texts, the longest name of each kind, every warning at
   * once, two tuples with IPv6 addresses, Ethernet and outer headers, 16 digits per number, and slack
   * for the word copies.
   */
  private bound(): number {
    const c = this.dp.c;
    const len = (s: string): number => utf8(s).length;
    let node = 4;
    for (let k = 0; k < c.nodes.length; k++) node = Math.max(node, len(jsonText(this.dp.nodeName(k))));
    let ep = 10;
    for (let k = 0; k < 3 + c.pods.length; k++) ep = Math.max(ep, len(jsonText(this.dp.endpointName(k))));
    let svc = 4;
    for (let k = 0; k < c.services.length; k++) svc = Math.max(svc, len(jsonText(this.dp.serviceName(k))));
    let be = 4;
    for (let k = 0; k < c.backends.length; k++) be = Math.max(be, len(jsonText(this.dp.backendName(k))));
    let reason = 6;
    for (let id = 1; id < REASON_COUNT; id++) reason = Math.max(reason, len(`"${reasonCode(id)}"`));
    const warnings = 16 + warningCodes(0xffffffff).reduce((n, w) => n + w.length + 3, 0);
    const tuple = 200 + 2 * IPV6_MAX + 120; // proto, ports, icmp, eth, outer and their keys
    return (64 + 40 + 32 + reason + warnings + node + 2 * ep + svc + be + 2 * tuple + 64 + 7) & ~7;
  }

  private verdictReasonText(v: number, reason: number): Text {
    const k = v * REASON_COUNT + reason;
    let t = k < 8 * REASON_COUNT ? this.verdictReason[k] : undefined;
    if (t === undefined) {
      const r = reason === 0 ? 'null' : `"${reasonCode(reason)}"`;
      t = new Text(`,"verdict":"${VERDICT_NAMES[v]}","reason":${r}`);
      if (k < 8 * REASON_COUNT) this.verdictReason[k] = t;
    }
    return t;
  }

  private warnings(mask: number): Text {
    if (mask === 0) return this.noWarnings;
    let t = this.warningsPart.get(mask);
    if (t === undefined) {
      t = new Text(`,"warnings":[${warningCodes(mask).map((c) => `"${c}"`).join(',')}]`);
      this.warningsPart.set(mask, t);
    }
    return t;
  }

  /** Builds and caches `<key><name or null><tail>` of `kind` (0 node, 1 ingress, 2 egress, 3 service, 4 backend) for `id`. */
  private build(kind: number, id: number): Text {
    const dp = this.dp;
    const name = id < 0 ? null : kind === 0 ? dp.nodeName(id) : kind <= 2 ? dp.endpointName(id) : kind === 3 ? dp.serviceName(id) : dp.backendName(id);
    const key = [',"node":', ',"ingress":', ',"egress":', ',"service":', ',"backend":'][kind];
    const tail = kind === 2 ? ',"flow":' : kind === 4 ? '}\n' : '';
    const t = new Text(`${key}${jsonText(name)}${tail}`);
    [this.nodes, this.ingresses, this.egresses, this.services, this.backends][kind][id + 1] = t;
    return t;
  }

  /** `<key><name or null><tail>` of `kind` (0 node, 1 ingress, 2 egress, 3 service, 4 backend) for `id`, cached. */
  private part(kind: number, id: number): Text {
    const t = [this.nodes, this.ingresses, this.egresses, this.services, this.backends][kind][id + 1];
    return t ?? this.build(kind, id);
  }

  /**
   * The record head of packet `i` (see `heads`): first from `recent`, a direct-mapped cache by a hash of the
   * six keys (consecutive packets are mostly of different flows, so the head of the packet before rarely
   * matches: 1% on the e2e trace; the table's probe and hash loop cost about 40 ns a packet), else from
   * `headTable`.
   */
  private head(r: Results, i: number): Text {
    const verdict = r.verdict[i];
    const reason = r.reason[i];
    const warnings = r.warnings[i] | 0;
    const node = r.node[i];
    const ingress = r.ingress[i];
    const egress = r.egress[i];
    let h = Math.imul(verdict | (reason << 3) | (warnings << 11), 0x9e3779b1) ^ Math.imul(node, 0x85ebca6b);
    h = Math.imul(h ^ Math.imul(ingress, 0xc2b2ae35) ^ Math.imul(egress, 0x27d4eb2f), 0x2c1b3c6d);
    const s = (h ^ (h >>> 15)) >>> (32 - RECENT_BITS);
    const rk = this.recentKeys;
    const o = 6 * s;
    const known = this.recent[s];
    if (known !== undefined && rk[o] === verdict && rk[o + 1] === reason && rk[o + 2] === warnings && rk[o + 3] === node && rk[o + 4] === ingress && rk[o + 5] === egress) return known;
    const t = this.findHead(verdict, reason, warnings, node, ingress, egress);
    rk[o] = verdict;
    rk[o + 1] = reason;
    rk[o + 2] = warnings;
    rk[o + 3] = node;
    rk[o + 4] = ingress;
    rk[o + 5] = egress;
    this.recent[s] = t;
    return t;
  }

  /** The head of these keys from `headTable` (made and added when new). */
  private findHead(verdict: number, reason: number, warnings: number, node: number, ingress: number, egress: number): Text {
    const key = this.headTable.key;
    key[0] = verdict;
    key[1] = reason;
    key[2] = warnings;
    key[3] = node;
    key[4] = ingress;
    key[5] = egress;
    const n = this.headTable.find();
    return n >= 0 ? this.heads[n] : this.addHead(verdict, reason, warnings, node, ingress, egress);
  }

  private addHead(verdict: number, reason: number, warnings: number, node: number, ingress: number, egress: number): Text {
    const t = joinTexts([this.verdictReasonText(verdict, reason), this.warnings(warnings >>> 0), this.part(0, node), this.part(1, ingress), this.part(2, egress)]);
    this.heads[this.headTable.add()] = t;
    return t;
  }

  /** The record tail of packet `i` (see `tails`). */
  private tail(r: Results, i: number): Text {
    const service = r.service[i];
    const backend = r.backend[i];
    const tails = backend >= 0 ? this.tailsByBackend : this.tailsByService;
    const k = backend >= 0 ? backend : service + 1;
    const t = tails[k];
    if (t !== undefined && t.service === service) return t.text;
    const text = joinTexts([this.part(3, service), this.part(4, backend)]);
    tails[k] = { service, text };
    return text;
  }

  /**
   * Writes the records of packets `idx[0..n)` one after the other from `out[start]`, packet i's at
   * `pos[i]`, `len[i]` bytes (the main thread writes them in input order). `out` must have
   * `maxRecordBytes` free per packet from `start`.
   */
  encodeList(b: Batch, r: Results, f: FlowColumns, idx: Uint32Array, n: number, out: Uint8Array, start: number, pos: Int32Array, len: Int32Array): void {
    const w = this.w;
    w.reset(out, start);
    const v = w.view;
    let p = start;
    for (let k = 0; k < n; k++) {
      const i = idx[k];
      const at = p;
      p = this.record(v, p, b, r, f, i);
      pos[i] = at;
      len[i] = p - at;
    }
    w.p = p;
  }

  /** Writes the records of every packet of the batch one after the other from `out[0]`; returns their length. */
  encodeAll(b: Batch, r: Results, f: FlowColumns, out: Uint8Array): number {
    const w = this.w;
    w.reset(out, 0);
    const v = w.view;
    let p = 0;
    const n = b.count;
    for (let i = 0; i < n; i++) p = this.record(v, p, b, r, f, i);
    w.p = p;
    return p;
  }

  /** The record of packet `i`, written to `v` at `p`; returns the position after it. */
  private record(v: DataView, p: number, b: Batch, r: Results, f: FlowColumns, i: number): number {
    p = putText(v, p, T_PACKET);
    p = putUint(v, p, b.firstNumber + i);
    const out = this.w.out;
    p = putTextTo(out, v, p, this.head(r, i));
    p = this.flowJson(v, p, f, i);
    p = this.outJson(v, p, b, r, f, i);
    p = putTextTo(out, v, p, this.tail(r, i));
    const copyOf = b.pkCopyOf[i];
    return copyOf === 0 ? p : this.copyOf(v, p - 2, copyOf);
  }

  /**
   * `,"copy_of":N}` and a newline in place of the tail's `}` and newline: packet N is the copy the engine
   * judged (null: it comes later in the trace, or never, under `--pktmon-component`).
   */
  private copyOf(v: DataView, p: number, n: number): number {
    p = putText(v, p, T_COPY_OF);
    if (n === PK_COPY_UNSEEN) return putText(v, p, T_NULL_END);
    return putText(v, putUint(v, p, n), T_COPY_END);
  }

  /** An IPv6 address's text (cold: a string per address). */
  private ipv6(v: DataView, p: number, a: Uint8Array, o: number): number {
    const s = ipv6Text(a, o);
    for (let k = 0; k < s.length; k++) v.setUint8(p + k, s.charCodeAt(k));
    return p + s.length;
  }

  /** `{"proto":..,"src":"..","sport":..,"dst":"..","dport":..` of an IPv6 tuple (`a[o]`: source then destination). */
  private tuple6(v: DataView, p: number, proto: number, a: Uint8Array, o: number, ports: boolean, sport: number, dport: number): number {
    p = putText(v, p, T_PROTO[proto]);
    p = this.ipv6(v, p, a, o);
    p = putText(v, p, T_SPORT);
    p = ports ? putSmall(v, p, sport) : putText(v, p, T_NULL);
    p = putText(v, p, T_DST);
    p = this.ipv6(v, p, a, o + 16);
    p = putText(v, p, T_DPORT);
    return ports ? putSmall(v, p, dport) : putText(v, p, T_NULL);
  }

  /** The same of an IPv4 tuple. */
  private tuple4(v: DataView, p: number, proto: number, src: number, dst: number, ports: boolean, sport: number, dport: number): number {
    p = putText(v, p, T_PROTO[proto]);
    p = this.ipSport.put(v, p, src);
    p = ports ? putSmall(v, p, sport) : putText(v, p, T_NULL);
    p = putText(v, p, T_DST);
    p = this.ipDport.put(v, p, dst);
    return ports ? putSmall(v, p, dport) : putText(v, p, T_NULL);
  }

  /** `flow` and the key of `out` after it. */
  private flowJson(v: DataView, p: number, f: FlowColumns, i: number): number {
    const ver = f.ipVer[i];
    if (ver !== 4 && ver !== 6) return putText(v, p, T_OUT_NULL);
    const flags = f.flags[i];
    const ports = (flags & PF.HAS_PORTS) !== 0;
    const from = p;
    if (ver === 4) p = this.tuple4(v, p, f.proto[i], f.src4[i], f.dst4[i], ports, f.sport[i], f.dport[i]);
    else p = this.tuple6(v, p, f.proto[i], f.addr6, i * 32, ports, f.sport[i], f.dport[i]);
    if ((flags & PF.HAS_ICMP) !== 0) p = icmp(v, p, f.icmpType[i], f.icmpCode[i]);
    this.flowFrom = from;
    this.flowTo = p;
    return putText(v, p, T_FLOW_END);
  }

  /** Where the last `flowJson` wrote its tuple (and ICMP fields), without the `},"out":` after it. */
  private flowFrom = 0;
  private flowTo = 0;

  /**
   * Whether packet `i` leaves (batch `b`, decoded again) with the IPv4 tuple it was captured with (`f`):
   * then `out`'s tuple is the same text as `flow`'s, copied from the record (half the packets of the e2e
   * trace: those the engine did not NAT).
   */
  private sameTuple4(b: Batch, f: FlowColumns, i: number, flags: number): boolean {
    if (f.ipVer[i] !== 4 || b.proto[i] !== f.proto[i] || b.src4[i] !== f.src4[i] || b.dst4[i] !== f.dst4[i]) return false;
    if (((flags ^ f.flags[i]) & (PF.HAS_PORTS | PF.HAS_ICMP)) !== 0) return false;
    if ((flags & PF.HAS_PORTS) !== 0 && (b.sport[i] !== f.sport[i] || b.dport[i] !== f.dport[i])) return false;
    return (flags & PF.HAS_ICMP) === 0 || (b.icmpType[i] === f.icmpType[i] && b.icmpCode[i] === f.icmpCode[i]);
  }

  private outJson(v: DataView, p: number, b: Batch, r: Results, f: FlowColumns, i: number): number {
    const verdict = r.verdict[i];
    if (verdict === V.DROPPED || verdict === V.IGNORED) return putText(v, p, T_NULL);
    const a = b.arena;
    const base = b.off[i];
    const flags = b.flags[i];
    if (r.encap[i] === 1 && (flags & PF.TUNNEL) !== 0) {
      const ports = (flags & PF.INNER_PORTS) !== 0;
      if (b.innerIpVer[i] === 4) p = this.tuple4(v, p, b.innerProto[i], b.innerSrc4[i], b.innerDst4[i], ports, b.innerSport[i], b.innerDport[i]);
      else p = this.tuple6(v, p, b.innerProto[i], a, base + b.innerL3Off[i] + 8, ports, b.innerSport[i], b.innerDport[i]);
      const l2 = b.innerL2Off[i];
      if (l2 >= 0) p = this.eth(v, p, a, base + l2);
      p = putText(v, p, T_OUTER_SRC);
      p = this.ipDst.put(v, p, r.outerSrc[i]);
      p = this.ipDport.put(v, p, r.outerDst[i]);
      p = putSmall(v, p, r.outerDport[i]);
      p = putText(v, p, T_OUTER_VNI);
      p = putUint(v, p, r.vni[i]);
      return putText(v, p, T_CLOSE2);
    }
    const ver = b.ipVer[i];
    if (ver !== 4 && ver !== 6) return putText(v, p, T_NULL);
    const ports = (flags & PF.HAS_PORTS) !== 0;
    if (ver === 4 && this.sameTuple4(b, f, i, flags)) {
      const from = this.flowFrom;
      const to = this.flowTo;
      this.w.out.copyWithin(p, from, to);
      p += to - from;
    } else {
      if (ver === 4) p = this.tuple4(v, p, b.proto[i], b.src4[i], b.dst4[i], ports, b.sport[i], b.dport[i]);
      else p = this.tuple6(v, p, b.proto[i], a, base + b.l3Off[i] + 8, ports, b.sport[i], b.dport[i]);
      if ((flags & PF.HAS_ICMP) !== 0) p = icmp(v, p, b.icmpType[i], b.icmpCode[i]);
    }
    const l2 = b.l2Off[i];
    if (l2 >= 0 && b.linktype[i] === 1) p = this.eth(v, p, a, base + l2);
    v.setUint8(p, 125); // }
    return p + 1;
  }

  /** `,"eth":{"src":"..","dst":".."}` of the Ethernet header at `a[o]`. */
  private eth(v: DataView, p: number, a: Uint8Array, o: number): number {
    p = putText(v, p, T_ETH_SRC);
    p = this.macDst.put(v, p, a, o + 6);
    return this.macEnd.put(v, p, a, o);
  }
}

/** `,"icmp_type":T,"icmp_code":C`. */
function icmp(v: DataView, p: number, type: number, code: number): number {
  p = putText(v, p, T_ICMP_TYPE);
  p = putSmall(v, p, type);
  p = putText(v, p, T_ICMP_CODE);
  return putSmall(v, p, code);
}

/** The texts one after the other, as one text (setup time, cold). */
function joinTexts(parts: Text[]): Text {
  const bytes = new Uint8Array(parts.reduce((n, t) => n + t.length, 0));
  let p = 0;
  for (const t of parts) {
    bytes.set(t.bytes.subarray(0, t.length), p);
    p += t.length;
  }
  return new Text(bytes);
}

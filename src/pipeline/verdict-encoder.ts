/**
 * Verdict records as bytes: the `replay --verdicts` JSONL (DESIGN.md CONTRACT, verdict record), written
 * straight into a Uint8Array, so that the pipeline's workers serialise their own packets in parallel and
 * the main thread only writes the bytes out, in input order.
 *
 * The format is byte for byte the one of src/output/verdicts.ts (`verdictLines`, the reference that
 * test/pipeline-determinism.test.ts checks against): keys in the contract's order, `flow` from the tuple
 * as captured (FlowColumns, taken after the first decode), `out` from the rewritten packet (the batch is
 * decoded again after the engine ran), `icmp_type`/`icmp_code` and `out.eth` as the reference adds them.
 *
 * Uses: the batch (decoded again after the engine), Results, FlowColumns, the Dataplane's names (encoded
 * once per id and kept). Sets nothing. No string or object per packet, except for IPv6 addresses (their
 * text comes from decode/format.ts).
 */
import { PF, type Batch } from '../core/batch';
import { ipv6Text } from '../decode/format';
import type { Dataplane } from '../vfp/engine';
import { reasonCode, REASON_COUNT, V, VERDICT_NAMES, warningCodes } from '../vfp/reasons';
import type { Results } from '../vfp/results';
import { ByteWriter, Text, utf8 } from './bytes';

/** The decoded L3/L4 tuple of each packet of a batch, copied before the engine rewrites the packets. */
export class FlowColumns {
  readonly ipVer: Uint8Array;
  readonly proto: Uint8Array;
  readonly flags: Uint16Array;
  readonly src4: Uint32Array;
  readonly dst4: Uint32Array;
  readonly sport: Uint16Array;
  readonly dport: Uint16Array;
  readonly icmpType: Uint8Array;
  readonly icmpCode: Uint8Array;
  /** IPv6 source then destination, 32 bytes per packet. */
  readonly addr6: Uint8Array;

  constructor(capacity: number, shared = false) {
    const mk = (bytes: number): ArrayBufferLike => (shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
    this.ipVer = new Uint8Array(mk(capacity));
    this.proto = new Uint8Array(mk(capacity));
    this.flags = new Uint16Array(mk(capacity * 2));
    this.src4 = new Uint32Array(mk(capacity * 4));
    this.dst4 = new Uint32Array(mk(capacity * 4));
    this.sport = new Uint16Array(mk(capacity * 2));
    this.dport = new Uint16Array(mk(capacity * 2));
    this.icmpType = new Uint8Array(mk(capacity));
    this.icmpCode = new Uint8Array(mk(capacity));
    this.addr6 = new Uint8Array(mk(capacity * 32));
  }

  /** Copies the decoded tuple of packets [from, to) of `b`. */
  takeRange(b: Batch, from: number, to: number): void {
    this.ipVer.set(b.ipVer.subarray(from, to), from);
    this.proto.set(b.proto.subarray(from, to), from);
    this.flags.set(b.flags.subarray(from, to), from);
    this.src4.set(b.src4.subarray(from, to), from);
    this.dst4.set(b.dst4.subarray(from, to), from);
    this.sport.set(b.sport.subarray(from, to), from);
    this.dport.set(b.dport.subarray(from, to), from);
    this.icmpType.set(b.icmpType.subarray(from, to), from);
    this.icmpCode.set(b.icmpCode.subarray(from, to), from);
    const a = b.arena;
    const d = this.addr6;
    for (let i = from; i < to; i++) {
      if (b.ipVer[i] !== 6) continue;
      const o = b.off[i] + b.l3Off[i] + 8;
      const p = i * 32;
      for (let k = 0; k < 32; k++) d[p + k] = a[o + k];
    }
  }
}

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
const T_ETH_DST = new Text('","dst":"');
const T_ETH_END = new Text('"}');
const T_OUTER_SRC = new Text(',"outer":{"src":"');
const T_OUTER_DST = new Text('","dst":"');
const T_OUTER_DPORT = new Text('","dport":');
const T_OUTER_VNI = new Text(',"vni":');
const T_CLOSE2 = new Text('}}');
/** `{"proto":P,"src":"` per protocol number. */
const T_PROTO: Text[] = [];
for (let k = 0; k < 256; k++) T_PROTO.push(new Text(`{"proto":${k},"src":"`));

/** `JSON.stringify(name)` or `null`. */
function jsonName(name: string | null): string {
  return name === null ? 'null' : JSON.stringify(name);
}

/**
 * Encodes verdict records (see the module comment). One per thread: its caches are not shared. Each
 * record is a few fixed texts, built on first use and cached by id: `,"verdict":..,"reason":..` per
 * verdict and reason, `,"warnings":[..]` per bitmask, and each name with its key.
 */
export class VerdictEncoder {
  private readonly dp: Dataplane;
  private readonly w = new ByteWriter();
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
    for (let k = 0; k < c.nodes.length; k++) node = Math.max(node, len(jsonName(this.dp.nodeName(k))));
    let ep = 10;
    for (let k = 0; k < 3 + c.pods.length; k++) ep = Math.max(ep, len(jsonName(this.dp.endpointName(k))));
    let svc = 4;
    for (let k = 0; k < c.services.length; k++) svc = Math.max(svc, len(jsonName(this.dp.serviceName(k))));
    let be = 4;
    for (let k = 0; k < c.backends.length; k++) be = Math.max(be, len(jsonName(this.dp.backendName(k))));
    let reason = 6;
    for (let id = 1; id < REASON_COUNT; id++) reason = Math.max(reason, len(`"${reasonCode(id)}"`));
    const warnings = 16 + warningCodes(0xffffffff).reduce((n, w) => n + w.length + 3, 0);
    const tuple = 200 + 2 * IPV6_MAX + 120; // proto, ports, icmp, eth, outer and their keys
    return (64 + 40 + reason + warnings + node + 2 * ep + svc + be + 2 * tuple + 64 + 7) & ~7;
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
    const t = new Text(`${key}${jsonName(name)}${tail}`);
    [this.nodes, this.ingresses, this.egresses, this.services, this.backends][kind][id + 1] = t;
    return t;
  }

  /**
   * Writes the records of packets `idx[0..n)` one after the other from `out[start]`, packet i's at
   * `pos[i]`, `len[i]` bytes (the main thread writes them in input order). `out` must have
   * `maxRecordBytes` free per packet from `start`.
   */
  encodeList(b: Batch, r: Results, f: FlowColumns, idx: Uint32Array, n: number, out: Uint8Array, start: number, pos: Int32Array, len: Int32Array): void {
    const w = this.w;
    w.reset(out, start);
    for (let k = 0; k < n; k++) {
      const i = idx[k];
      const at = w.p;
      this.record(b, r, f, i);
      pos[i] = at;
      len[i] = w.p - at;
    }
  }

  /** Writes the records of every packet of the batch one after the other from `out[0]`; returns their length. */
  encodeAll(b: Batch, r: Results, f: FlowColumns, out: Uint8Array): number {
    const w = this.w;
    w.reset(out, 0);
    for (let i = 0; i < b.count; i++) this.record(b, r, f, i);
    return w.p;
  }

  /** The record of packet `i`, at the writer's position. */
  private record(b: Batch, r: Results, f: FlowColumns, i: number): void {
    const w = this.w;
    {
      w.text(T_PACKET);
      w.uint(b.firstNumber + i);
      w.text(this.verdictReasonText(r.verdict[i], r.reason[i]));
      w.text(this.warnings(r.warnings[i]));
      const node = r.node[i];
      w.text(this.nodes[node + 1] ?? this.build(0, node));
      const ingress = r.ingress[i];
      w.text(this.ingresses[ingress + 1] ?? this.build(1, ingress));
      const egress = r.egress[i];
      w.text(this.egresses[egress + 1] ?? this.build(2, egress));
      this.flowJson(f, i);
      this.outJson(b, r, i);
      const service = r.service[i];
      w.text(this.services[service + 1] ?? this.build(3, service));
      const backend = r.backend[i];
      w.text(this.backends[backend + 1] ?? this.build(4, backend));
    }
  }

  private port(ports: boolean, port: number): void {
    if (ports) this.w.uint(port);
    else this.w.text(T_NULL);
  }

  private icmp(flags: number, type: number, code: number): void {
    if ((flags & PF.HAS_ICMP) === 0) return;
    const w = this.w;
    w.text(T_ICMP_TYPE);
    w.uint(type);
    w.text(T_ICMP_CODE);
    w.uint(code);
  }

  /** `flow` and the key of `out` after it. */
  private flowJson(f: FlowColumns, i: number): void {
    const w = this.w;
    const v = f.ipVer[i];
    if (v !== 4 && v !== 6) {
      w.text(T_OUT_NULL);
      return;
    }
    const flags = f.flags[i];
    const ports = (flags & PF.HAS_PORTS) !== 0;
    w.text(T_PROTO[f.proto[i]]);
    if (v === 4) w.ipv4(f.src4[i]);
    else w.ascii(ipv6Text(f.addr6, i * 32));
    w.text(T_SPORT);
    this.port(ports, f.sport[i]);
    w.text(T_DST);
    if (v === 4) w.ipv4(f.dst4[i]);
    else w.ascii(ipv6Text(f.addr6, i * 32 + 16));
    w.text(T_DPORT);
    this.port(ports, f.dport[i]);
    this.icmp(flags, f.icmpType[i], f.icmpCode[i]);
    w.text(T_FLOW_END);
  }

  private outJson(b: Batch, r: Results, i: number): void {
    const w = this.w;
    const verdict = r.verdict[i];
    if (verdict === V.DROPPED || verdict === V.IGNORED) {
      w.text(T_NULL);
      return;
    }
    const a = b.arena;
    const base = b.off[i];
    const flags = b.flags[i];
    if (r.encap[i] === 1 && (flags & PF.TUNNEL) !== 0) {
      const v = b.innerIpVer[i];
      const l3 = base + b.innerL3Off[i];
      const ports = (flags & PF.INNER_PORTS) !== 0;
      w.text(T_PROTO[b.innerProto[i]]);
      if (v === 4) w.ipv4(b.innerSrc4[i]);
      else w.ascii(ipv6Text(a, l3 + 8));
      w.text(T_SPORT);
      this.port(ports, b.innerSport[i]);
      w.text(T_DST);
      if (v === 4) w.ipv4(b.innerDst4[i]);
      else w.ascii(ipv6Text(a, l3 + 24));
      w.text(T_DPORT);
      this.port(ports, b.innerDport[i]);
      const l2 = b.innerL2Off[i];
      if (l2 >= 0) this.eth(a, base + l2);
      w.text(T_OUTER_SRC);
      w.ipv4(r.outerSrc[i]);
      w.text(T_OUTER_DST);
      w.ipv4(r.outerDst[i]);
      w.text(T_OUTER_DPORT);
      w.uint(r.outerDport[i]);
      w.text(T_OUTER_VNI);
      w.uint(r.vni[i]);
      w.text(T_CLOSE2);
      return;
    }
    const v = b.ipVer[i];
    if (v !== 4 && v !== 6) {
      w.text(T_NULL);
      return;
    }
    const l3 = base + b.l3Off[i];
    const ports = (flags & PF.HAS_PORTS) !== 0;
    w.text(T_PROTO[b.proto[i]]);
    if (v === 4) w.ipv4(b.src4[i]);
    else w.ascii(ipv6Text(a, l3 + 8));
    w.text(T_SPORT);
    this.port(ports, b.sport[i]);
    w.text(T_DST);
    if (v === 4) w.ipv4(b.dst4[i]);
    else w.ascii(ipv6Text(a, l3 + 24));
    w.text(T_DPORT);
    this.port(ports, b.dport[i]);
    this.icmp(flags, b.icmpType[i], b.icmpCode[i]);
    const l2 = b.l2Off[i];
    if (l2 >= 0 && b.linktype[i] === 1) this.eth(a, base + l2);
    w.byte(125); // }
  }

  /** `,"eth":{"src":"..","dst":".."}` of the Ethernet header at `a[o]`. */
  private eth(a: Uint8Array, o: number): void {
    const w = this.w;
    w.text(T_ETH_SRC);
    w.mac(a, o + 6);
    w.text(T_ETH_DST);
    w.mac(a, o);
    w.text(T_ETH_END);
  }
}

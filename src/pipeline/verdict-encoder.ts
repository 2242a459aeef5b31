/**
 * Verdict records as bytes: the `replay --verdicts` JSONL (DESIGN.md CONTRACT, verdict record), written
 * straight into a Uint8Array for a range of packets of a batch, so the pipeline's workers can serialise
 * their share of a batch in parallel and the main thread only writes the bytes out.
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
import { putAscii, putBytes, putIpv4, putMac, putUint, utf8 } from './bytes';

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

const NULL = utf8('null');
/** What the reference prints for a reason id outside the table. */
const UNKNOWN_REASON = utf8('"null"');
/** Longest text of an IPv6 address (RFC 5952 with an embedded IPv4 tail is shorter). */
const IPV6_MAX = 39;

const T_PACKET = utf8('{"packet":');
const T_WARNINGS_NONE = utf8(',"warnings":[]');
const T_NODE = utf8(',"node":');
const T_INGRESS = utf8(',"ingress":');
const T_EGRESS = utf8(',"egress":');
const T_FLOW = utf8(',"flow":');
const T_OUT = utf8(',"out":');
const T_SERVICE = utf8(',"service":');
const T_BACKEND = utf8(',"backend":');
const T_END = utf8('}\n');
const T_PROTO = utf8('{"proto":');
const T_SRC = utf8(',"src":"');
const T_SPORT = utf8('","sport":');
const T_DST = utf8(',"dst":"');
const T_DPORT = utf8('","dport":');
const T_ICMP_TYPE = utf8(',"icmp_type":');
const T_ICMP_CODE = utf8(',"icmp_code":');
const T_ETH_SRC = utf8(',"eth":{"src":"');
const T_ETH_DST = utf8('","dst":"');
const T_ETH_END = utf8('"}');
const T_OUTER_SRC = utf8(',"outer":{"src":"');
const T_OUTER_DST = utf8('","dst":"');
const T_OUTER_DPORT = utf8('","dport":');
const T_OUTER_VNI = utf8(',"vni":');
const T_CLOSE2 = utf8('}}');

/** `JSON.stringify(name)` or `null`, as bytes. */
function jsonName(name: string | null): Uint8Array {
  return name === null ? NULL : utf8(JSON.stringify(name));
}

/** Encodes verdict records (see the module comment). One per thread: its name caches are not shared. */
export class VerdictEncoder {
  private readonly dp: Dataplane;
  /** `,"verdict":"NAME","reason":` per verdict. */
  private readonly verdictPart: Uint8Array[];
  /** `null` or `"code"` per reason id. */
  private readonly reasonPart: Uint8Array[];
  /** `,"warnings":[...]` per warning bitmask (built on first use). */
  private readonly warningsPart = new Map<number, Uint8Array>();
  /** Names by id + 1 (index 0: null), built on first use. */
  private readonly nodes: (Uint8Array | undefined)[] = [];
  private readonly endpoints: (Uint8Array | undefined)[] = [];
  private readonly services: (Uint8Array | undefined)[] = [];
  private readonly backends: (Uint8Array | undefined)[] = [];
  /** Most bytes one record can take (see `bound`). */
  readonly maxRecordBytes: number;

  constructor(dp: Dataplane) {
    this.dp = dp;
    this.verdictPart = VERDICT_NAMES.map((v) => utf8(`,"verdict":"${v}","reason":`));
    this.reasonPart = [];
    for (let id = 0; id < REASON_COUNT; id++) this.reasonPart.push(id === 0 ? NULL : utf8(`"${reasonCode(id)}"`));
    this.maxRecordBytes = this.bound();
  }

  /**
   * A bound on the bytes of one record: the fixed texts, the longest name of each kind, every warning at
   * once, two tuples with IPv6 addresses, Ethernet and outer headers, and 16 digits per number.
   */
  private bound(): number {
    const c = this.dp.c;
    let node = 4;
    for (let k = 0; k < c.nodes.length; k++) node = Math.max(node, jsonName(this.dp.nodeName(k)).length);
    let ep = 10;
    for (let k = 0; k < 3 + c.pods.length; k++) ep = Math.max(ep, jsonName(this.dp.endpointName(k)).length);
    let svc = 4;
    for (let k = 0; k < c.services.length; k++) svc = Math.max(svc, jsonName(this.dp.serviceName(k)).length);
    let be = 4;
    for (let k = 0; k < c.backends.length; k++) be = Math.max(be, jsonName(this.dp.backendName(k)).length);
    let reason = 4;
    for (const r of this.reasonPart) reason = Math.max(reason, r.length);
    const warnings = 16 + warningCodes(0xffffffff).reduce((n, w) => n + w.length + 3, 0);
    const tuple = 200 + 2 * IPV6_MAX + 120; // proto, ports, icmp, eth, outer and their keys
    return 64 + 40 + reason + warnings + node + 2 * ep + svc + be + 2 * tuple + 64;
  }

  private warnings(mask: number): Uint8Array {
    let w = this.warningsPart.get(mask);
    if (w === undefined) {
      w = utf8(`,"warnings":[${warningCodes(mask).map((c) => `"${c}"`).join(',')}]`);
      this.warningsPart.set(mask, w);
    }
    return w;
  }

  private node(id: number): Uint8Array {
    if (id < 0) return NULL;
    return (this.nodes[id + 1] ??= jsonName(this.dp.nodeName(id)));
  }

  private endpoint(id: number): Uint8Array {
    if (id < 0) return NULL;
    return (this.endpoints[id + 1] ??= jsonName(this.dp.endpointName(id)));
  }

  private service(id: number): Uint8Array {
    if (id < 0) return NULL;
    return (this.services[id + 1] ??= jsonName(this.dp.serviceName(id)));
  }

  private backend(id: number): Uint8Array {
    if (id < 0) return NULL;
    return (this.backends[id + 1] ??= jsonName(this.dp.backendName(id)));
  }

  /**
   * Writes the records of packets [from, to) at `out[pos..]` and returns the position after them. `out`
   * must have `maxRecordBytes` free per packet.
   */
  encodeRange(b: Batch, r: Results, f: FlowColumns, from: number, to: number, out: Uint8Array, pos: number): number {
    let p = pos;
    for (let i = from; i < to; i++) {
      p = putBytes(out, p, T_PACKET);
      p = putUint(out, p, b.firstNumber + i);
      p = putBytes(out, p, this.verdictPart[r.verdict[i]]);
      p = putBytes(out, p, this.reasonPart[r.reason[i]] ?? UNKNOWN_REASON);
      const w = r.warnings[i];
      p = putBytes(out, p, w === 0 ? T_WARNINGS_NONE : this.warnings(w));
      p = putBytes(out, p, T_NODE);
      p = putBytes(out, p, this.node(r.node[i]));
      p = putBytes(out, p, T_INGRESS);
      p = putBytes(out, p, this.endpoint(r.ingress[i]));
      p = putBytes(out, p, T_EGRESS);
      p = putBytes(out, p, this.endpoint(r.egress[i]));
      p = putBytes(out, p, T_FLOW);
      p = this.flowJson(out, p, f, i);
      p = putBytes(out, p, T_OUT);
      p = this.outJson(out, p, b, r, i);
      p = putBytes(out, p, T_SERVICE);
      p = putBytes(out, p, this.service(r.service[i]));
      p = putBytes(out, p, T_BACKEND);
      p = putBytes(out, p, this.backend(r.backend[i]));
      p = putBytes(out, p, T_END);
    }
    return p;
  }

  /** `{"proto":P,"src":"S","sport":N|null,"dst":"D","dport":N|null` with the addresses already written by the caller's choice. */
  private tupleHead(out: Uint8Array, p: number, proto: number): number {
    p = putBytes(out, p, T_PROTO);
    p = putUint(out, p, proto);
    return putBytes(out, p, T_SRC);
  }

  private port(out: Uint8Array, p: number, ports: boolean, port: number): number {
    return ports ? putUint(out, p, port) : putBytes(out, p, NULL);
  }

  private icmp(out: Uint8Array, p: number, flags: number, type: number, code: number): number {
    if ((flags & PF.HAS_ICMP) === 0) return p;
    p = putBytes(out, p, T_ICMP_TYPE);
    p = putUint(out, p, type);
    p = putBytes(out, p, T_ICMP_CODE);
    return putUint(out, p, code);
  }

  private flowJson(out: Uint8Array, p: number, f: FlowColumns, i: number): number {
    const v = f.ipVer[i];
    if (v !== 4 && v !== 6) return putBytes(out, p, NULL);
    const flags = f.flags[i];
    const ports = (flags & PF.HAS_PORTS) !== 0;
    p = this.tupleHead(out, p, f.proto[i]);
    p = v === 4 ? putIpv4(out, p, f.src4[i]) : putAscii(out, p, ipv6Text(f.addr6, i * 32));
    p = putBytes(out, p, T_SPORT);
    p = this.port(out, p, ports, f.sport[i]);
    p = putBytes(out, p, T_DST);
    p = v === 4 ? putIpv4(out, p, f.dst4[i]) : putAscii(out, p, ipv6Text(f.addr6, i * 32 + 16));
    p = putBytes(out, p, T_DPORT);
    p = this.port(out, p, ports, f.dport[i]);
    p = this.icmp(out, p, flags, f.icmpType[i], f.icmpCode[i]);
    out[p++] = 125; // }
    return p;
  }

  private outJson(out: Uint8Array, p: number, b: Batch, r: Results, i: number): number {
    const verdict = r.verdict[i];
    if (verdict === V.DROPPED || verdict === V.IGNORED) return putBytes(out, p, NULL);
    const a = b.arena;
    const base = b.off[i];
    const flags = b.flags[i];
    if (r.encap[i] === 1 && (flags & PF.TUNNEL) !== 0) {
      const v = b.innerIpVer[i];
      const l3 = base + b.innerL3Off[i];
      const ports = (flags & PF.INNER_PORTS) !== 0;
      p = this.tupleHead(out, p, b.innerProto[i]);
      p = v === 4 ? putIpv4(out, p, b.innerSrc4[i]) : putAscii(out, p, ipv6Text(a, l3 + 8));
      p = putBytes(out, p, T_SPORT);
      p = this.port(out, p, ports, b.innerSport[i]);
      p = putBytes(out, p, T_DST);
      p = v === 4 ? putIpv4(out, p, b.innerDst4[i]) : putAscii(out, p, ipv6Text(a, l3 + 24));
      p = putBytes(out, p, T_DPORT);
      p = this.port(out, p, ports, b.innerDport[i]);
      const l2 = b.innerL2Off[i];
      if (l2 >= 0) p = this.eth(out, p, a, base + l2);
      p = putBytes(out, p, T_OUTER_SRC);
      p = putIpv4(out, p, r.outerSrc[i]);
      p = putBytes(out, p, T_OUTER_DST);
      p = putIpv4(out, p, r.outerDst[i]);
      p = putBytes(out, p, T_OUTER_DPORT);
      p = putUint(out, p, r.outerDport[i]);
      p = putBytes(out, p, T_OUTER_VNI);
      p = putUint(out, p, r.vni[i]);
      return putBytes(out, p, T_CLOSE2);
    }
    const v = b.ipVer[i];
    if (v !== 4 && v !== 6) return putBytes(out, p, NULL);
    const l3 = base + b.l3Off[i];
    const ports = (flags & PF.HAS_PORTS) !== 0;
    p = this.tupleHead(out, p, b.proto[i]);
    p = v === 4 ? putIpv4(out, p, b.src4[i]) : putAscii(out, p, ipv6Text(a, l3 + 8));
    p = putBytes(out, p, T_SPORT);
    p = this.port(out, p, ports, b.sport[i]);
    p = putBytes(out, p, T_DST);
    p = v === 4 ? putIpv4(out, p, b.dst4[i]) : putAscii(out, p, ipv6Text(a, l3 + 24));
    p = putBytes(out, p, T_DPORT);
    p = this.port(out, p, ports, b.dport[i]);
    p = this.icmp(out, p, flags, b.icmpType[i], b.icmpCode[i]);
    const l2 = b.l2Off[i];
    if (l2 >= 0 && b.linktype[i] === 1) p = this.eth(out, p, a, base + l2);
    out[p++] = 125;
    return p;
  }

  /** `,"eth":{"src":"..","dst":".."}` of the Ethernet header at `a[o]`. */
  private eth(out: Uint8Array, p: number, a: Uint8Array, o: number): number {
    p = putBytes(out, p, T_ETH_SRC);
    p = putMac(out, p, a, o + 6);
    p = putBytes(out, p, T_ETH_DST);
    p = putMac(out, p, a, o);
    return putBytes(out, p, T_ETH_END);
  }
}

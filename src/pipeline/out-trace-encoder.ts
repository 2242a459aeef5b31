/**
 * The output trace of `replay --out` (and of the page's download): every input packet as it finally leaves
 * (forwarded, no-return), as it reaches the pod or host (delivered), or as it arrived (dropped, ignored),
 * in input order, as pcapng blocks written straight into a Uint8Array, so that the pipeline's workers
 * serialise their own packets in parallel and the main thread only writes bytes out.
 *
 * The file: one Section Header Block (`sectionHeaderBlock`, shb_userappl "vfp-emu"), one Interface
 * Description Block per egress point, written just before the first packet that uses it, and one Enhanced
 * Packet Block per input packet. Little-endian.
 *   - Egress points: `<node> <egress>` (`win-1 wire`, `win-1 pod/default/client-0`, `win-1 host`), plus
 *     `<node> drop` for the packets a node dropped and `not emulated` for ignored ones (`not emulated (link
 *     type N)` for those of another link layer than Ethernet, e.g. an ARP in a Linux cooked capture: the
 *     engine frames every IP packet as Ethernet, so only ignored ones keep their own).
 *   - Each packet carries, as etl2pcapng does for pktmon captures: a comment `packet N: <verdict>
 *     [<reason>: <sentence>]` then the `; KEY=VALUE` fields of out-comment.ts (pktmon-drop, warnings,
 *     service, backend, dsr, dnat, snat, encap, decap: issue 13), epb_flags direction (1 inbound = delivered, 2 outbound = forwarded /
 *     no-return), and for drops epb_verdict [2, 1, 0 x 7] (type 2 Linux eBPF XDP, u64 value 1: dropped by
 *     the OS; tshark refuses any other length for type 2), so Wireshark can filter `frame.verdict`.
 *   - Timestamps keep the input's units (the first packet's interface's resolution; other units are
 *     converted exactly).
 * The blocks are byte for byte those src/io/writer.ts writes for the same packets and options: the
 * string-based writer kept as the reference (test/reference/out-trace.ts, which
 * test/pipeline-determinism.test.ts checks the pipeline against) writes through it.
 *
 * Interface names come from the config (node and pod names): each is escaped by core/safe-text.ts
 * `safeText` (Wireshark and tshark print if_name and if_description to people and terminals) and capped
 * at IFACE_NAME_MAX bytes, ending in `…` when cut (`ifaceName`). The pcapng format holds 65535 bytes per
 * option, which io/writer.ts enforces for any string; the lower cap here keeps an interface block small
 * (the pipeline reserves room for one per packet of a batch) and the names readable, and a name is still
 * told apart by its first kilobyte. When a config name makes an egress point's name longer than the cap,
 * `replay --out` says so once in the summary's diagnostics (`egressNameDiagnostic`, code
 * `output-field-truncated`), and the file stays readable.
 *
 * Interface numbers depend on the order in which egress points first appear in the whole output. On one
 * thread, packets are numbered (`number`, `writeIdb`) and written (`packet`) one after the other. When
 * shards encode their own packets, each shard writes its packets' EPBs with interface 0, and then
 * `numberAll` (one thread, batches in order) walks the packets in input order, numbers the egress
 * points, writes each new one's IDB aside, and sets each EPB's interface in place.
 *
 * Uses: the batch after the engine ran (bytes rewritten, off/caplen/wirelen moved), FlowColumns (the
 * tuples as captured and their header offsets: dnat/snat are the difference), Results, the input
 * interfaces' timestamp units, the Dataplane's names. Sets nothing in them.
 */
import { HEADROOM, PF, type Batch, type FlowColumns } from '../core/batch';
import { KeyTable } from '../core/key-table';
import { capText, capUtf8, safeText, shortText, utf8Length } from '../core/safe-text';
import type { Diagnostic } from '../cluster/model';
import { DEFAULT_SNAPLEN, OPTION_MAX } from '../io/writer';
import { secFracToTicks, ticksToSecFrac, tsResult, tsresolFromUnits, type TsUnits } from '../io/timestamps';
import type { Dataplane } from '../vfp/engine';
import { reasonCode, reasonSentence, V, VERDICT_NAMES } from '../vfp/reasons';
import type { Results } from '../vfp/results';
import { ByteWriter, Ipv4Texts, putBytes, putIpv6, putSmall, putText, putTextTo, putU16le, putU32le, putUint, Text, utf8 } from './bytes';
import { type LbFrontend, lbFields, lbFieldsBound, lbsByRule, pktmonField, warningsField } from './out-comment';

/** Most UTF-8 bytes of an egress point's interface name in the output trace (see the module comment). */
export const IFACE_NAME_MAX = 1024;

/** The if_name of egress point `text` (`win-1 pod/default/web-0`): escaped, capped at IFACE_NAME_MAX bytes. */
export function ifaceName(text: string): string {
  return capText(safeText(text), IFACE_NAME_MAX);
}

/** Bytes of the longest escaped name among node names (`nodes`) or endpoint names, and that name. */
function longestName(dp: Dataplane, nodes: boolean): { bytes: number; name: string } {
  const count = nodes ? dp.c.nodes.length : 3 + dp.c.pods.length;
  let best = { bytes: 0, name: '' };
  for (let k = 0; k < count; k++) {
    const name = (nodes ? dp.nodeName(k) : dp.endpointName(k)) ?? '';
    const bytes = utf8Length(safeText(name));
    if (bytes > best.bytes) best = { bytes, name };
  }
  return best;
}

/** Bytes of the longest egress point text `<node> <endpoint>` of the cluster, escaped and not capped. */
function longestEgressName(dp: Dataplane): number {
  return longestName(dp, true).bytes + 1 + longestName(dp, false).bytes;
}

/**
 * The `output-field-truncated` warning when some egress point's interface name would be longer than
 * IFACE_NAME_MAX bytes (a node or pod name of the config is that long), else null: one diagnostic for the
 * run, naming the longest name.
 */
export function egressNameDiagnostic(dp: Dataplane): Diagnostic | null {
  const node = longestName(dp, true);
  const ep = longestName(dp, false);
  if (node.bytes + 1 + ep.bytes <= IFACE_NAME_MAX) return null;
  const which = node.bytes >= ep.bytes ? `node ${shortText(node.name)}` : `${shortText(ep.name)}`;
  return {
    code: 'output-field-truncated',
    severity: 'warning',
    message: `the output trace's interface names (if_name, if_description) are cut at ${IFACE_NAME_MAX} bytes, ending in '…': ${which} makes one of ${node.bytes + 1 + ep.bytes} bytes (the file stays readable)`,
    source: which,
  };
}

/** Bytes of a pcapng option holding `n` value bytes (header + value padded to 4). */
function optLen(n: number): number {
  return 4 + ((n + 3) & ~3);
}

/** Writes option `code` with `value` at `out[p]` (zero padded); returns the position after it. */
function putOption(out: Uint8Array, p: number, code: number, value: Uint8Array): number {
  putU16le(out, p, code);
  putU16le(out, p + 2, value.length);
  putBytes(out, p + 4, value);
  const end = p + optLen(value.length);
  for (let k = p + 4 + value.length; k < end; k++) out[k] = 0;
  return end;
}

/** The Section Header Block the writer starts a pcapng file with (src/io/writer.ts `sectionHeader`). */
export function sectionHeaderBlock(userAppl = 'vfp-emu'): Uint8Array {
  const appl = capUtf8(utf8(userAppl), OPTION_MAX);
  const len = 28 + optLen(appl.length) + 4;
  const out = new Uint8Array(len);
  putU32le(out, 0, 0x0a0d0d0a);
  putU32le(out, 4, len);
  putU32le(out, 8, 0x1a2b3c4d);
  putU16le(out, 12, 1);
  putU16le(out, 14, 0);
  putU32le(out, 16, 0xffffffff); // section length unknown: -1 as 64 bits
  putU32le(out, 20, 0xffffffff);
  const o = putOption(out, 24, 4, appl);
  putU32le(out, o, 0);
  putU32le(out, len - 4, len);
  return out;
}

const PACKET = new Text('packet ');
const T_DNAT = new Text('; dnat=');
const T_SNAT = new Text('; snat=');
const T_ARROW = new Text('->');
const T_ENCAP = new Text('; encap=vxlan vni ');
const T_DECAP = new Text('; decap=vxlan');
/** Most bytes of the NAT and encapsulation fields: two IPv6 `[a]:p->[b]:p` and an encap field. */
const NAT_BOUND = 2 * (7 + 2 * (2 + 39 + 6) + 2) + 18 + 10 + 1 + 15 + 2 + 15 + 6;
const TWO32 = 4294967296;
/** Longest packet copied as words (OutTraceEncoder copyData); longer ones take one copyWithin. */
const WORD_COPY_MAX = 128;
/** The bytes kept of a packet's last word when 1, 2 or 3 of its bytes are the packet's (little-endian). */
const TAIL_MASK = Uint32Array.of(0, 0xff, 0xffff, 0xffffff);
/** Word copies need a little-endian machine (TAIL_MASK); elsewhere every packet takes copyWithin. */
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** Encodes the output trace (see the module comment). One per thread. */
export class OutTraceEncoder {
  private readonly dp: Dataplane;
  private readonly nodes: number;
  private readonly endpoints: number;
  /** Output timestamp units and if_tsresol, fixed by the first packet (0 until then). */
  private outUnits = 0;
  private outResol = 6;
  /** Egress-point text id per numeric key (-1: not seen yet), or a Map when the key space is large. */
  private readonly textOfKey: Int32Array | null;
  private readonly textOfKeyMap = new Map<number, number>();
  private readonly textIds = new Map<string, number>();
  private readonly texts: string[] = [];
  /** The link type of each text's interface (1 but for ignored packets of another link layer). */
  private readonly linkTypes: number[] = [];
  /** Output interface per text id (-1: not written yet), and its IDB bytes. */
  private readonly ifaceOfText: number[] = [];
  private readonly idbs: (Text | undefined)[] = [];
  private nextIface = 0;
  /** `: <verdict>[ <code>: <sentence>][; pktmon-drop=..]` per verdict * 256 + reason (built on first use). */
  private readonly suffix: (Text | undefined)[] = new Array<Text | undefined>(8 * 256).fill(undefined);
  /** `; warnings=..` per warning bitmask (built on first use). */
  private readonly warningTexts = new Map<number, Text>();
  /** The load balancer of each LB rule (out-comment.ts lbsByRule). */
  private readonly lbs: (LbFrontend | undefined)[];
  /** `; service=..; backend=..[; dsr=yes]` per (service, backend, rule), by its number in `lbTable`; `lbLast*`: the last one used. */
  private readonly lbTable = new KeyTable(3, 8);
  private readonly lbTexts: Text[] = [];
  private lbLastKey0 = -2;
  private lbLastKey1 = -2;
  private lbLastKey2 = -2;
  private lbLast: Text = new Text('');
  /** Dotted IPv4 texts (no suffix) of the NAT and encapsulation fields. */
  private readonly ips = new Ipv4Texts('');
  /** The same followed by `:` (an address and its port). */
  private readonly ipsColon = new Ipv4Texts(':');
  private readonly w = new ByteWriter();
  /** A view over the whole buffer that holds both the arena and the output, and where each starts in it (see begin). */
  private wholeOf: ArrayBufferLike | null = null;
  private whole: Uint8Array = new Uint8Array(0);
  private whole32: Uint32Array = new Uint32Array(0);
  private outBase = -1;
  private arenaBase = 0;
  private ifs: readonly TsUnits[] = [];
  /** Timestamp cache: the last whole second converted, and its ticks (hi, lo). */
  private lastSec = -1;
  private lastUnits = 0;
  private secHi = 0;
  private secLo = 0;
  /** Most bytes an EPB adds to its data (header, options, trailer, word-copy slack), and an IDB's size. */
  private readonly overhead: number;
  private readonly idbRoom: number;

  constructor(dp: Dataplane) {
    this.dp = dp;
    const c = dp.c;
    this.nodes = c.nodes.length;
    this.endpoints = 3 + c.pods.length;
    const size = this.nodes + 2 + (this.nodes + 1) * (this.endpoints + 1);
    this.textOfKey = size <= 1 << 22 ? new Int32Array(size).fill(-1) : null;
    // bound: the longest comment and interface texts ('not emulated (link type 65535)' is 30 bytes)
    const name = Math.min(IFACE_NAME_MAX, Math.max(30, longestEgressName(dp)));
    let sentence = 0;
    for (let id = 1; id < 256; id++) sentence = Math.max(sentence, utf8(` ${reasonCode(id)}: ${reasonSentence(id)}`).length);
    let pktmon = 0;
    for (let id = 1; id < 256; id++) pktmon = Math.max(pktmon, utf8(pktmonField(V.DROPPED, id)).length);
    const warnings = utf8(warningsField(0xffffffff)).length;
    this.lbs = lbsByRule(dp);
    const comment = optLen(7 + 16 + 2 + 12 + sentence + pktmon + warnings + lbFieldsBound(dp) + NAT_BOUND) + 32;
    this.idbRoom = (20 + optLen(name) + optLen(name + 22) + 8 + 4 + 7) & ~7;
    this.overhead = (32 + comment + 8 + 16 + 4 + 4 + 7) & ~7;
  }

  /** Bytes of a region that holds the EPBs of any packets of a batch of `capacity` packets and `arenaBytes` arena. */
  regionBytes(capacity: number, arenaBytes: number): number {
    return arenaBytes + capacity * (this.overhead + HEADROOM + 8);
  }

  /** Bytes that hold the IDBs one batch of `capacity` packets can need. */
  idbBytes(capacity: number): number {
    return capacity * this.idbRoom;
  }

  /** The output's units, from the first packet's input interface (fixed by the first batch). */
  private initUnits(b: Batch, ifs: readonly TsUnits[]): void {
    const first = ifs[b.iface[0]] ?? ifs[0];
    const units = first?.tsUnitsPerSec ?? 1e6;
    const resol = tsresolFromUnits(units);
    this.outUnits = resol !== null && units <= 1e9 ? units : 1e9;
    this.outResol = tsresolFromUnits(this.outUnits) ?? 9;
  }

  /** The numeric key of packet `i`'s egress point: verdict kind, node and egress endpoint. */
  private keyOf(b: Batch, r: Results, i: number): number {
    const v = r.verdict[i];
    if (v === V.IGNORED) return b.linktype[i] === 1 ? 0 : -1;
    const node = r.node[i];
    if (v === V.DROPPED) return node < this.nodes ? 2 + node : -1;
    const e = r.egress[i];
    if (node >= this.nodes || e >= this.endpoints) return -1;
    return this.nodes + 2 + (node + 1) * (this.endpoints + 1) + (e + 1);
  }

  /** The egress point's text (see the module comment). */
  private textOf(b: Batch, r: Results, i: number): string {
    const verdict = r.verdict[i];
    const node = r.node[i] >= 0 ? this.dp.nodeName(r.node[i]) : '';
    if (verdict === V.IGNORED) return b.linktype[i] === 1 ? 'not emulated' : `not emulated (link type ${b.linktype[i]})`;
    if (verdict === V.DROPPED) return `${node} drop`;
    return `${node} ${r.egress[i] >= 0 ? this.dp.endpointName(r.egress[i]) : 'wire'}`;
  }

  private textIdOf(b: Batch, r: Results, i: number): number {
    const key = this.keyOf(b, r, i);
    const table = this.textOfKey;
    if (table !== null && key >= 0) {
      const t = table[key];
      if (t >= 0) return t;
    } else if (key >= 0) {
      const t = this.textOfKeyMap.get(key);
      if (t !== undefined) return t;
    }
    const text = this.textOf(b, r, i);
    let id = this.textIds.get(text);
    if (id === undefined) {
      id = this.texts.length;
      this.texts.push(text);
      this.linkTypes.push(r.verdict[i] === V.IGNORED ? b.linktype[i] : 1);
      this.textIds.set(text, id);
      this.ifaceOfText.push(-1);
    }
    if (key >= 0) {
      if (table !== null) table[key] = id;
      else this.textOfKeyMap.set(key, id);
    }
    return id;
  }

  /** The IDB of text `t` (src/io/writer.ts addInterface with the text's link type, tsresol, name, description). */
  private idb(t: number): Text {
    const known = this.idbs[t];
    if (known !== undefined) return known;
    const shown = ifaceName(this.texts[t]);
    const name = utf8(shown);
    const desc = utf8(`vfp-emu egress point ${shown}`);
    const tsresol = this.outResol;
    let optBytes = optLen(name.length) + optLen(desc.length);
    if (tsresol !== 6) optBytes += 8;
    optBytes += 4;
    const len = 20 + optBytes;
    const block = new Uint8Array(len);
    putU32le(block, 0, 1);
    putU32le(block, 4, len);
    putU16le(block, 8, this.linkTypes[t]);
    putU16le(block, 10, 0);
    putU32le(block, 12, DEFAULT_SNAPLEN);
    let o = putOption(block, 16, 2, name);
    o = putOption(block, o, 3, desc);
    if (tsresol !== 6) o = putOption(block, o, 9, Uint8Array.of(tsresol));
    putU32le(block, o, 0);
    putU32le(block, len - 4, len);
    const text = new Text(block);
    this.idbs[t] = text;
    return text;
  }

  private commentSuffix(verdict: number, reason: number): Text {
    const k = verdict * 256 + reason;
    let s = this.suffix[k];
    if (s === undefined) {
      let text = `: ${VERDICT_NAMES[verdict]}`;
      if (reason !== 0) text += ` ${reasonCode(reason)}: ${reasonSentence(reason)}`;
      s = new Text(text + pktmonField(verdict, reason));
      this.suffix[k] = s;
    }
    return s;
  }

  /** The comment's fields after the suffix (out-comment.ts), written to `v` at `p`; returns the position after them. */
  private fields(v: DataView, p: number, b: Batch, r: Results, f: FlowColumns, i: number): number {
    const warn = r.warnings[i];
    const out = this.w.out;
    if (warn !== 0) p = putTextTo(out, v, p, this.warningsText(warn));
    if (r.service[i] >= 0 || r.backend[i] >= 0) p = putTextTo(out, v, p, this.lbText(r.service[i], r.backend[i], r.rule[i]));
    const verdict = r.verdict[i];
    if (verdict === V.DROPPED || verdict === V.IGNORED) return p;
    const encap = r.encap[i] === 1;
    if ((f.flags[i] & PF.TUNNEL) !== 0) return encap ? this.encapField(v, p, r, i) : putText(v, p, T_DECAP);
    p = this.nat(v, p, b, f, i);
    return encap ? this.encapField(v, p, r, i) : p;
  }

  private warningsText(mask: number): Text {
    let t = this.warningTexts.get(mask);
    if (t === undefined) {
      t = new Text(warningsField(mask >>> 0));
      this.warningTexts.set(mask, t);
    }
    return t;
  }

  /** `; service=..` and the rest (out-comment.ts lbFields) of (service, backend, rule), cached (see `lbTexts`). */
  private lbText(service: number, backend: number, rule: number): Text {
    if (service === this.lbLastKey0 && backend === this.lbLastKey1 && rule === this.lbLastKey2) return this.lbLast;
    const table = this.lbTable;
    const key = table.key;
    key[0] = service;
    key[1] = backend;
    key[2] = rule;
    let n = table.find();
    if (n < 0) {
      n = table.add();
      this.lbTexts[n] = new Text(lbFields(this.dp, this.lbs, service, backend, rule));
    }
    this.lbLastKey0 = service;
    this.lbLastKey1 = backend;
    this.lbLastKey2 = rule;
    this.lbLast = this.lbTexts[n];
    return this.lbLast;
  }

  /** `; encap=vxlan vni V SRC->DST:PORT` from the Results row. */
  private encapField(v: DataView, p: number, r: Results, i: number): number {
    p = putText(v, p, T_ENCAP);
    p = putUint(v, p, r.vni[i]);
    v.setUint8(p++, 32);
    p = this.ips.put(v, p, r.outerSrc[i]);
    p = putText(v, p, T_ARROW);
    p = this.ips.put(v, p, r.outerDst[i]);
    v.setUint8(p++, 58);
    return putSmall(v, p, r.outerDport[i]);
  }

  /**
   * `; dnat=..` and `; snat=..`: the tuple as captured against the same header as it leaves, read where it
   * was captured (FlowColumns l3At / l4At: the engine rewrites in place; inside the VXLAN push when
   * encapsulated), so the batch need not be decoded again.
   */
  private nat(v: DataView, p: number, b: Batch, f: FlowColumns, i: number): number {
    const l3 = f.l3At[i];
    if (l3 < 0) return p;
    const a = b.arena;
    const ports = (f.flags[i] & PF.HAS_PORTS) !== 0;
    const l4 = f.l4At[i];
    const sport = ports ? (a[l4] << 8) | a[l4 + 1] : 0;
    const dport = ports ? (a[l4 + 2] << 8) | a[l4 + 3] : 0;
    const ver = f.ipVer[i];
    if (ver === 4) {
      const src = ((a[l3 + 12] << 24) | (a[l3 + 13] << 16) | (a[l3 + 14] << 8) | a[l3 + 15]) >>> 0;
      const dst = ((a[l3 + 16] << 24) | (a[l3 + 17] << 16) | (a[l3 + 18] << 8) | a[l3 + 19]) >>> 0;
      return this.nat4(v, p, ports, f.src4[i], f.sport[i], src, sport, f.dst4[i], f.dport[i], dst, dport);
    }
    return ver === 6 ? this.nat6(v, p, ports, f, i, a, l3 + 8, sport, dport) : p;
  }

  private nat4(v: DataView, p: number, ports: boolean, s0: number, sp0: number, s1: number, sp1: number, d0: number, dp0: number, d1: number, dp1: number): number {
    if (d0 !== d1 || (ports && dp0 !== dp1)) p = this.change4(v, putText(v, p, T_DNAT), ports, d0, dp0, d1, dp1);
    if (s0 !== s1 || (ports && sp0 !== sp1)) p = this.change4(v, putText(v, p, T_SNAT), ports, s0, sp0, s1, sp1);
    return p;
  }

  /** `A:P->B:P` (`A->B` without ports). */
  private change4(v: DataView, p: number, ports: boolean, a: number, ap: number, b: number, bp: number): number {
    if (!ports) return this.ips.put(v, putText(v, this.ips.put(v, p, a), T_ARROW), b);
    const ipc = this.ipsColon;
    p = putSmall(v, ipc.put(v, p, a), ap);
    p = putText(v, p, T_ARROW);
    return putSmall(v, ipc.put(v, p, b), bp);
  }

  /** dnat / snat of an IPv6 packet: the addresses as captured (FlowColumns addr6) against those at `a[o]` (source then destination). */
  private nat6(v: DataView, p: number, ports: boolean, f: FlowColumns, i: number, a: Uint8Array, o: number, sport: number, dport: number): number {
    const x = f.addr6;
    const at = 32 * i;
    if (!same16(x, at + 16, a, o + 16) || (ports && f.dport[i] !== dport)) p = change6(v, putText(v, p, T_DNAT), ports, x, at + 16, f.dport[i], a, o + 16, dport);
    if (!same16(x, at, a, o) || (ports && f.sport[i] !== sport)) p = change6(v, putText(v, p, T_SNAT), ports, x, at, f.sport[i], a, o, sport);
    return p;
  }

  /** Set by `number`: the packet's egress point was new (its IDB goes first); and its text id. */
  fresh = false;
  private lastText = -1;

  /** The interface of packet `i`, numbering its egress point if it is new (see `fresh`). */
  private ifaceOf(b: Batch, r: Results, i: number): number {
    const t = this.textIdOf(b, r, i);
    this.lastText = t;
    const f = this.ifaceOfText[t];
    if (f >= 0) {
      this.fresh = false;
      return f;
    }
    this.fresh = true;
    this.ifaceOfText[t] = this.nextIface;
    return this.nextIface++;
  }

  /** Per batch, before `packet`: the output array and the input interfaces' timestamp units. */
  begin(b: Batch, ifs: readonly TsUnits[], out: Uint8Array): void {
    if (this.outUnits === 0 && b.count > 0) this.initUnits(b, ifs);
    this.ifs = ifs;
    this.w.reset(out, 0);
    const arena = b.arena;
    if (out.buffer === arena.buffer) {
      if (this.wholeOf !== out.buffer) {
        this.wholeOf = out.buffer;
        this.whole = new Uint8Array(out.buffer);
        this.whole32 = new Uint32Array(out.buffer, 0, out.buffer.byteLength >>> 2);
      }
      this.outBase = out.byteOffset;
      this.arenaBase = arena.byteOffset;
    } else this.outBase = -1;
  }

  /**
   * The interface of packet `i`, numbering its egress point if it is new: then `fresh` is true and
   * `writeIdb` writes its IDB. Call for every packet, in input order.
   */
  number(b: Batch, r: Results, i: number): number {
    return this.ifaceOf(b, r, i);
  }

  /** Writes the IDB of the egress point `number` just found new at `pos`; returns its length. */
  writeIdb(pos: number): number {
    const w = this.w;
    w.p = pos;
    w.text(this.idb(this.lastText));
    return w.p - pos;
  }

  /**
   * Writes the EPB of packet `i` at `pos` of the `begin` array, on interface `iface`; returns its length.
   * `f`: the tuples as captured and where (the comment's fields).
   */
  packet(b: Batch, r: Results, f: FlowColumns, i: number, pos: number, iface: number): number {
    const w = this.w;
    const out = w.out;
    const dv = w.view;
    const verdict = r.verdict[i];
    const caplen = b.caplen[i];
    const padded = (caplen + 3) & ~3;
    const dataAt = pos + 28;
    const optAt = dataAt + padded;
    this.copyData(b, b.off[i], caplen, dataAt);
    // opt_comment: its digits are written in place, then its length is known
    let c = putText(dv, optAt + 4, PACKET);
    c = putUint(dv, c, b.firstNumber + i);
    c = putTextTo(out, dv, c, this.commentSuffix(verdict, r.reason[i]));
    c = this.fields(dv, c, b, r, f, i);
    const commentLen = c - optAt - 4;
    let o = optAt + 4 + ((commentLen + 3) & ~3);
    for (let k = c; k < o; k++) out[k] = 0;
    dv.setUint16(optAt, 1, true);
    dv.setUint16(optAt + 2, commentLen, true);
    // epb_flags: direction
    dv.setUint32(o, 0x00040002, true);
    dv.setUint32(o + 4, verdict === V.DELIVERED ? 1 : verdict === V.FORWARDED || verdict === V.NO_RETURN ? 2 : 0, true);
    o += 8;
    // epb_verdict for drops: type 2 (XDP) and its u64 value 1 (9 bytes, padded to 12)
    if (verdict === V.DROPPED) {
      dv.setUint32(o, 0x00090007, true);
      dv.setUint32(o + 4, 0x00000102, true);
      dv.setUint32(o + 8, 0, true);
      dv.setUint32(o + 12, 0, true);
      o += 16;
    }
    dv.setUint32(o, 0, true); // opt_endofopt
    o += 4;
    const len = o + 4 - pos;
    this.timestamp(b, i, this.ifs);
    dv.setUint32(pos, 6, true);
    dv.setUint32(pos + 4, len, true);
    dv.setUint32(pos + 8, iface, true);
    dv.setUint32(pos + 12, tsResult[0] >>> 0, true);
    dv.setUint32(pos + 16, tsResult[1] >>> 0, true);
    dv.setUint32(pos + 20, caplen, true);
    dv.setUint32(pos + 24, b.wirelen[i], true);
    dv.setUint32(o, len, true);
    return len;
  }

  /**
   * Copies the packet's `caplen` bytes at arena offset `off` to `dataAt` of the output and zeroes the
   * padding after them up to the next multiple of 4. A packet the engine did not move lies 8-aligned in the
   * arena (core/batch.ts: HEADROOM, padded to 8) and its data 4-aligned in the output (blocks are
   * multiples of 4): then a packet of up to WORD_COPY_MAX bytes is copied as 32-bit words in a loop, the
   * last word masked (no padding loop), since a `copyWithin` call costs about 30 ns before it copies a
   * byte. Longer or unaligned packets (pushed or popped headers) take one `copyWithin` in the slot's buffer.
   */
  private copyData(b: Batch, off: number, caplen: number, dataAt: number): void {
    const base = this.outBase;
    if (base >= 0) {
      const from = this.arenaBase + off;
      const to = base + dataAt;
      if (caplen <= WORD_COPY_MAX && ((from | to) & 3) === 0 && LITTLE_ENDIAN) {
        const w = this.whole32;
        const s = from >>> 2;
        const d = to >>> 2;
        const n = caplen >>> 2;
        for (let k = 0; k < n; k++) w[d + k] = w[s + k];
        const rest = caplen & 3;
        if (rest !== 0) w[d + n] = w[s + n] & TAIL_MASK[rest];
        return;
      }
      this.whole.copyWithin(to, from, from + caplen);
    } else this.w.out.set(b.arena.subarray(off, off + caplen), dataAt);
    const out = this.w.out;
    const end = dataAt + ((caplen + 3) & ~3);
    for (let k = dataAt + caplen; k < end; k++) out[k] = 0;
  }

  /**
   * Numbers the egress points of the batch's packets in input order, with EPBs that shards wrote at
   * `trace[tpos[i]]` on interface 0: sets each one's interface in place, writes the IDB of each new egress
   * point to `idbs` (packet i's at `ipos[i]`, `ilen[i]` bytes; 0 when none). Call for every batch, in order.
   */
  numberAll(b: Batch, r: Results, trace: Uint8Array, tpos: Int32Array, idbs: Uint8Array, ipos: Int32Array, ilen: Int32Array): void {
    const n = b.count;
    const w = this.w;
    w.reset(idbs, 0);
    const dv = new DataView(trace.buffer, trace.byteOffset, trace.byteLength);
    for (let i = 0; i < n; i++) {
      const iface = this.ifaceOf(b, r, i);
      if (this.fresh) {
        const at = w.p;
        w.text(this.idb(this.lastText));
        ipos[i] = at;
        ilen[i] = w.p - at;
      } else ilen[i] = 0;
      dv.setUint32(tpos[i] + 8, iface, true);
    }
  }

  /** Packet i's timestamp in the output units, into tsResult. */
  private timestamp(b: Batch, i: number, ifs: readonly TsUnits[]): void {
    const info = ifs[b.iface[i]];
    if (info === undefined || Number.isNaN(b.ts[i])) {
      tsResult[0] = 0;
      tsResult[1] = 0;
      return;
    }
    if (info.tsKind === 'sec-frac') {
      const units = info.tsUnitsPerSec;
      if (units === this.outUnits && units <= TWO32) {
        // sec * units + frac: the seconds' ticks are converted once per second of trace time
        const sec = b.tsHi[i];
        if (sec !== this.lastSec || units !== this.lastUnits) {
          secFracToTicks(sec, 0, units, units);
          this.lastSec = sec;
          this.lastUnits = units;
          this.secHi = tsResult[0];
          this.secLo = tsResult[1];
        }
        const lo = this.secLo + b.tsLo[i];
        tsResult[0] = lo >= TWO32 ? this.secHi + 1 : this.secHi;
        tsResult[1] = lo >= TWO32 ? lo - TWO32 : lo;
      } else secFracToTicks(b.tsHi[i], b.tsLo[i], units, this.outUnits);
    } else if (info.tsUnitsPerSec === this.outUnits) {
      tsResult[0] = b.tsHi[i];
      tsResult[1] = b.tsLo[i];
    } else {
      ticksToSecFrac(b.tsHi[i], b.tsLo[i], info.tsUnitsPerSec, this.outUnits);
      secFracToTicks(tsResult[0], tsResult[1], this.outUnits, this.outUnits);
    }
  }
}

/** Whether the 16 bytes at `x[xo]` and `a[ao]` are equal. */
function same16(x: Uint8Array, xo: number, a: Uint8Array, ao: number): boolean {
  for (let k = 0; k < 16; k++) if (x[xo + k] !== a[ao + k]) return false;
  return true;
}

/** `[A]:P->[B]:P` (`A->B` without ports) of IPv6 addresses `x[xo]` and `a[ao]`. */
function change6(v: DataView, p: number, ports: boolean, x: Uint8Array, xo: number, xp: number, a: Uint8Array, ao: number, ap: number): number {
  p = ipv6Port(v, p, ports, x, xo, xp);
  p = putText(v, p, T_ARROW);
  return ipv6Port(v, p, ports, a, ao, ap);
}

function ipv6Port(v: DataView, p: number, ports: boolean, a: Uint8Array, o: number, port: number): number {
  if (!ports) return putIpv6(v, p, a, o);
  v.setUint8(p++, 91);
  p = putIpv6(v, p, a, o);
  v.setUint8(p++, 93);
  v.setUint8(p++, 58);
  return putSmall(v, p, port);
}

/**
 * Batch: the unit of work of every stage.
 *
 * One ArrayBuffer arena holds the bytes of up to `capacity` packets; struct-of-arrays columns hold
 * what is known of each packet. No object exists per packet: stage code loops `for (let i = 0; i < b.count; i++)`
 * and reads `b.off[i]`, `b.caplen[i]`, `b.l3Off[i]`, ...
 *
 * Arena layout of one packet slot: [HEADROOM bytes][caplen bytes of packet][pad to 8].
 * `off[i]` points at the first packet byte, so encapsulation is a prepend: write the outer headers at
 * `off[i] - n`, then `off[i] -= n; caplen[i] += n; wirelen[i] += n`. The payload never moves.
 *
 * Ownership: a batch is reused. Whoever fills it (a reader) resets it first; everything read from it
 * before the next fill is valid only until then (as with gopacket's ZeroCopyReadPacketData).
 * Batches can be moved between threads by transferring `arena.buffer` and the column buffers
 * (see `Batch.transferList`); they are never cloned packet by packet.
 *
 * Decoded-field columns are filled by src/decode; packet offsets are relative to `off[i]` (the
 * packet's first byte), -1 where the header is absent.
 */

/** Bytes kept free before each packet so that encapsulation is a prepend (VXLAN needs 50). */
export const HEADROOM = 128;
/** Largest caplen we accept from any file (bigger is a file error, see io/). */
export const MAX_CAPLEN = 262144;

/** Bits of `Batch.flags[i]`. */
export const PF = {
  TRUNCATED: 1 << 0, // caplen ended before a header the decoder needed
  MALFORMED: 1 << 1, // a header is inconsistent; `malformed[i]` names which (decode/errors.ts)
  FRAGMENT: 1 << 2, // an IPv4/IPv6 fragment (first or not)
  UNSUPPORTED_LINKTYPE: 1 << 3, // the interface's link type is not decoded
  NONFIRST_FRAGMENT: 1 << 4, // fragment offset > 0: no L4 header in this packet
  HAS_VLAN: 1 << 5, // vlan[i] holds the outermost VLAN id
  HAS_PORTS: 1 << 6, // sport/dport valid (TCP or UDP)
  HAS_ICMP: 1 << 7, // icmpType/icmpCode valid (ICMP or ICMPv6, outermost)
  TUNNEL: 1 << 8, // VXLAN or GENEVE: vni and inner* columns valid
  DNS: 1 << 9, // dnsOff/dnsQtype valid (first question)
  INNER_PORTS: 1 << 10, // innerSport/innerDport valid
  ICMP_ERROR: 1 << 11, // ICMP error with an embedded header (icmpInnerOff valid)
  GENEVE: 1 << 12, // the tunnel is GENEVE (else VXLAN)
  BAD_CHECKSUM: 1 << 13, // DecodeOptions.verifyChecksums: an IPv4 header or TCP/UDP/ICMP checksum of the outermost packet is wrong
} as const;

/** `Batch.pkInfo` bits: a packet of a pktmon capture (it has an epb_packetid), a pktmon drop record (epb_verdict). */
export const PK_PACKET = 1;
export const PK_DROP = 2;
/** `Batch.pkInfo >>> PK_REASON_SHIFT`: the pktmon drop reason id + 1 (0: none given; etl2pcapng gives none). */
export const PK_REASON_SHIFT = 16;
/** `Batch.pkCopyOf` of a copy whose judged packet comes later in the trace, or never (`--pktmon-component`). */
export const PK_COPY_UNSEEN = 0xffffffff;

export interface BatchOptions {
  /** Most packets in one batch. */
  capacity?: number;
  /** Arena size in bytes; must hold at least one MAX_CAPLEN packet plus headroom. */
  arenaBytes?: number;
  /** Use SharedArrayBuffer for arena and columns (for worker threads). */
  shared?: boolean;
}

/** Per-packet pcapng options that are not in columns. Sparse: only packets that have any. */
export interface PacketOptions {
  comments?: string[];
  /** epb_flags (code 2), 32 bits. */
  flags?: number;
  /** epb_packetid (code 5), 64 bits. */
  packetId?: bigint;
  /** epb_verdict (code 7), each entry: type byte then data bytes. */
  verdicts?: Uint8Array[];
}

/** The typed-array kinds a column can be. */
const COLUMN_KINDS = { u8: Uint8Array, u16: Uint16Array, i32: Int32Array, u32: Uint32Array, f64: Float64Array } as const;
type ColumnKind = keyof typeof COLUMN_KINDS;
interface KindArrays {
  u8: Uint8Array;
  u16: Uint16Array;
  i32: Int32Array;
  u32: Uint32Array;
  f64: Float64Array;
}
type Column = KindArrays[ColumnKind];

/** A typed array of `kind` with `length` elements, on a SharedArrayBuffer when `shared`. */
function makeColumn<K extends ColumnKind>(kind: K, length: number, shared: boolean): KindArrays[K] {
  const ctor = COLUMN_KINDS[kind] as unknown as { new (b: ArrayBufferLike): KindArrays[K]; BYTES_PER_ELEMENT: number };
  const bytes = length * ctor.BYTES_PER_ELEMENT;
  return new ctor(shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
}

/** What a Batch holds besides its columns (the arena, its fill), and how a column is allocated. */
class BatchArena {
  readonly capacity: number;
  readonly arena: Uint8Array;
  /** DataView over the whole arena (byteOffset 0 of `arena`). */
  readonly view: DataView;
  /** Packets in the batch. */
  count = 0;
  /** Arena bytes in use (next free slot starts here). */
  used = 0;
  /** 1-based number, in the input trace, of packet 0 of this batch. */
  firstNumber = 1;
  /** Options by packet index (sparse; most packets have none). */
  readonly options = new Map<number, PacketOptions>();
  private readonly shared: boolean;

  constructor(opts: BatchOptions) {
    this.capacity = opts.capacity ?? 4096;
    this.shared = opts.shared ?? false;
    const arenaBytes = Math.max(opts.arenaBytes ?? 8 << 20, MAX_CAPLEN + HEADROOM + 8);
    this.arena = makeColumn('u8', arenaBytes, this.shared);
    this.view = new DataView(this.arena.buffer, this.arena.byteOffset, this.arena.byteLength);
  }

  /** A column of `kind`, `capacity` elements (the Batch's column fields). */
  protected column<K extends ColumnKind>(kind: K): KindArrays[K] {
    return makeColumn(kind, this.capacity, this.shared);
  }
}

/**
 * The per-packet columns are declared once, below: one field each, its name, its typed-array kind
 * (`this.column(kind)`) and what it holds. What handles every column derives them from a Batch: the
 * pipeline's slot lays out the typed-array fields it finds (pipeline/slot.ts), FlowColumns takes the
 * kinds of its FLOW_TUPLE columns from `columnKind`. Adding a column is one line here. (Fields, not a
 * table the constructor loops over: properties added by computed name put a Batch in V8's dictionary
 * mode, and every `b.col[i]` of the hot path would become a hash lookup.)
 */
export class Batch extends BatchArena {
  constructor(opts: BatchOptions = {}) {
    super(opts);
  }

  // ---- set by the reader ----
  /** Arena offset of the packet's first byte. */
  readonly off = this.column('u32');
  readonly caplen = this.column('u32');
  /** Original length on the wire. */
  readonly wirelen = this.column('u32');
  /** Raw timestamp as the file holds it: pcap (seconds, fraction); pcapng (high, low) in the interface's units. */
  readonly tsHi = this.column('u32');
  readonly tsLo = this.column('u32');
  /** Timestamp in epoch seconds (double; for timeouts and display). NaN when the block has none (SPB). */
  readonly ts = this.column('f64');
  /** Index into the source's interface table (global across pcapng sections). */
  readonly iface = this.column('u16');
  /** LINKTYPE_* of the packet's interface. */
  readonly linktype = this.column('u16');
  /**
   * pktmon captures (src/io/pktmon.ts PktmonTagger; 0 for every other capture): `pkCopyOf` is 0 for a packet
   * the engine judges, else this packet is another component's copy of packet `pkCopyOf` (1-based;
   * PK_COPY_UNSEEN when that packet is not before it); `pkInfo` holds PK_* bits and the pktmon drop reason.
   */
  readonly pkCopyOf = this.column('u32');
  readonly pkInfo = this.column('u32');

  // ---- set by decode ----
  readonly flags = this.column('u16');
  /** Malformed reason code (decode/errors.ts), 0 = none. */
  readonly malformed = this.column('u8');
  readonly l2Off = this.column('i32');
  readonly l3Off = this.column('i32');
  readonly l4Off = this.column('i32');
  /** Offset of the L4 payload (after TCP/UDP/ICMP header). */
  readonly payOff = this.column('i32');
  /** Final EtherType after VLAN tags (0x0800, 0x86dd, 0x0806, ...), 0 when none. */
  readonly ethType = this.column('u16');
  readonly vlan = this.column('u16');
  /** 4, 6 or 0 (not IP). */
  readonly ipVer = this.column('u8');
  /** Upper-layer protocol of the outermost IP packet (after IPv6 extension headers). */
  readonly proto = this.column('u8');
  /** IPv4 addresses as unsigned 32-bit numbers (IPv6: read the 16 bytes at l3Off+8 / l3Off+24). */
  readonly src4 = this.column('u32');
  readonly dst4 = this.column('u32');
  readonly sport = this.column('u16');
  readonly dport = this.column('u16');
  readonly tcpFlags = this.column('u8');
  readonly icmpType = this.column('u8');
  readonly icmpCode = this.column('u8');
  /** Offset of the IP header embedded in an ICMP error (PF.ICMP_ERROR). */
  readonly icmpInnerOff = this.column('i32');
  /** VXLAN / GENEVE VNI (PF.TUNNEL). */
  readonly vni = this.column('u32');
  readonly innerL2Off = this.column('i32');
  readonly innerL3Off = this.column('i32');
  readonly innerL4Off = this.column('i32');
  readonly innerIpVer = this.column('u8');
  readonly innerProto = this.column('u8');
  readonly innerSrc4 = this.column('u32');
  readonly innerDst4 = this.column('u32');
  readonly innerSport = this.column('u16');
  readonly innerDport = this.column('u16');
  /** Offset of the first DNS question name (wire format) and its QTYPE (PF.DNS). */
  readonly dnsOff = this.column('i32');
  readonly dnsQtype = this.column('u16');

  /** Empty the batch; `firstNumber` is the 1-based trace number its first packet will get. */
  reset(firstNumber: number): void {
    this.count = 0;
    this.used = 0;
    this.firstNumber = firstNumber;
    this.options.clear();
  }

  /** True when a packet of `caplen` bytes still fits (slot count and arena space). */
  fits(caplen: number): boolean {
    return this.count < this.capacity && this.used + HEADROOM + caplen + 8 <= this.arena.length;
  }

  /**
   * Reserve the next slot for a packet of `caplen` bytes and return its index; the caller copies the
   * bytes to `arena` at `off[index]` and sets the other reader columns. Call `fits` first.
   */
  alloc(caplen: number): number {
    const i = this.count++;
    const start = this.used + HEADROOM;
    this.off[i] = start;
    this.caplen[i] = caplen;
    this.used = (start + caplen + 7) & ~7;
    return i;
  }

  /** The packet's bytes, as a view into the arena (no copy). Valid until the batch is refilled. */
  packet(i: number): Uint8Array {
    return this.arena.subarray(this.off[i], this.off[i] + this.caplen[i]);
  }
}

/** The names of the Batch's columns (its typed-array fields but the arena). */
type BatchColumnName = Exclude<{ [K in keyof Batch]: Batch[K] extends Column ? K : never }[keyof Batch], 'arena'>;

let kinds: Map<string, ColumnKind> | null = null;

/** The typed-array kind of batch column `name` (read off a Batch the first time). */
function columnKind(name: BatchColumnName): ColumnKind {
  if (kinds === null) {
    const found = new Map<string, ColumnKind>();
    for (const [field, v] of Object.entries(new Batch({ capacity: 0, arenaBytes: 0 }))) {
      if (field === 'arena') continue;
      for (const kind of Object.keys(COLUMN_KINDS) as ColumnKind[]) if (v instanceof COLUMN_KINDS[kind]) found.set(field, kind);
    }
    kinds = found;
  }
  return kinds.get(name) as ColumnKind;
}

/**
 * The batch columns FlowColumns keeps: the decoded L3/L4 tuple of a packet as captured (a verdict
 * record's `flow`), before the engine rewrites the packet. Adding one is one edit here.
 */
const FLOW_TUPLE = ['ipVer', 'proto', 'flags', 'src4', 'dst4', 'sport', 'dport', 'icmpType', 'icmpCode'] as const satisfies readonly BatchColumnName[];
type FlowTupleName = (typeof FLOW_TUPLE)[number];

/** FlowColumns' columns: FLOW_TUPLE, each of its batch column's kind. */
export interface FlowColumns extends Pick<Batch, FlowTupleName> {}

/**
 * The tuple of each packet of a batch as captured (FLOW_TUPLE, plus the IPv6 addresses), copied after
 * decode and before the engine rewrites the packets (the verdict writers' `flow`).
 */
export class FlowColumns {
  /** IPv6 source then destination, 32 bytes per packet. */
  readonly addr6: Uint8Array;
  /**
   * Arena offsets of the packet's IP header and L4 header (off + l3Off, off + l4Off; -1 none). The engine
   * rewrites headers in place and only moves `off` (a VXLAN push writes in front, a pop or an Ethernet
   * header for a cooked capture moves the start), so the packet as it leaves is read back there
   * (src/pipeline/out-trace-encoder.ts: NAT in the output trace's comments, with no second decode).
   */
  readonly l3At: Int32Array;
  readonly l4At: Int32Array;

  constructor(capacity: number, shared = false) {
    // (added by computed name: few enough that V8 keeps the object's fast properties)
    const cols = this as unknown as Record<FlowTupleName, Column>;
    for (const name of FLOW_TUPLE) cols[name] = makeColumn(columnKind(name), capacity, shared);
    this.addr6 = makeColumn('u8', capacity * 32, shared);
    this.l3At = makeColumn('i32', capacity, shared) as Int32Array;
    this.l4At = makeColumn('i32', capacity, shared) as Int32Array;
  }
  /** Copies the decoded tuple of packets [from, to) of `b` (no allocation). */
  takeRange(b: Batch, from: number, to: number): void {
    for (let c = 0; c < FLOW_TUPLE.length; c++) copyRange(this[FLOW_TUPLE[c]], b[FLOW_TUPLE[c]], from, to);
    const a = b.arena;
    const d = this.addr6;
    const l3At = this.l3At;
    const l4At = this.l4At;
    for (let i = from; i < to; i++) {
      const off = b.off[i];
      const l3 = b.l3Off[i];
      const l4 = b.l4Off[i];
      l3At[i] = l3 >= 0 ? off + l3 : -1;
      l4At[i] = l4 >= 0 ? off + l4 : -1;
      if (b.ipVer[i] !== 6) continue;
      const o = off + l3 + 8;
      const p = i * 32;
      for (let k = 0; k < 32; k++) d[p + k] = a[o + k];
    }
  }
}

/** to[i] = from[i] for i in [start, end): two columns of the same kind. */
function copyRange(to: Column, from: Column, start: number, end: number): void {
  for (let i = start; i < end; i++) to[i] = from[i];
}

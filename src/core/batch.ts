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

/**
 * The per-packet columns of a Batch, declared once: name, then its typed-array kind (one element per
 * packet). `Batch` allocates each of them (and types them, through `BatchColumns`); the pipeline's slot
 * lays them out in its buffer (pipeline/slot.ts), FlowColumns copies the tuple ones (`FLOW_TUPLE`).
 * Adding a column is one line here.
 */
export const BATCH_COLUMNS = {
  // ---- set by the reader ----
  /** Arena offset of the packet's first byte. */
  off: 'u32',
  caplen: 'u32',
  /** Original length on the wire. */
  wirelen: 'u32',
  /** Raw timestamp as the file holds it: pcap (seconds, fraction); pcapng (high, low) in the interface's units. */
  tsHi: 'u32',
  tsLo: 'u32',
  /** Timestamp in epoch seconds (double; for timeouts and display). NaN when the block has none (SPB). */
  ts: 'f64',
  /** Index into the source's interface table (global across pcapng sections). */
  iface: 'u16',
  /** LINKTYPE_* of the packet's interface. */
  linktype: 'u16',

  // ---- set by decode ----
  flags: 'u16',
  /** Malformed reason code (decode/errors.ts), 0 = none. */
  malformed: 'u8',
  l2Off: 'i32',
  l3Off: 'i32',
  l4Off: 'i32',
  /** Offset of the L4 payload (after TCP/UDP/ICMP header). */
  payOff: 'i32',
  /** Final EtherType after VLAN tags (0x0800, 0x86dd, 0x0806, ...), 0 when none. */
  ethType: 'u16',
  vlan: 'u16',
  /** 4, 6 or 0 (not IP). */
  ipVer: 'u8',
  /** Upper-layer protocol of the outermost IP packet (after IPv6 extension headers). */
  proto: 'u8',
  /** IPv4 addresses as unsigned 32-bit numbers (IPv6: read the 16 bytes at l3Off+8 / l3Off+24). */
  src4: 'u32',
  dst4: 'u32',
  sport: 'u16',
  dport: 'u16',
  tcpFlags: 'u8',
  icmpType: 'u8',
  icmpCode: 'u8',
  /** Offset of the IP header embedded in an ICMP error (PF.ICMP_ERROR). */
  icmpInnerOff: 'i32',
  /** VXLAN / GENEVE VNI (PF.TUNNEL). */
  vni: 'u32',
  innerL2Off: 'i32',
  innerL3Off: 'i32',
  innerL4Off: 'i32',
  innerIpVer: 'u8',
  innerProto: 'u8',
  innerSrc4: 'u32',
  innerDst4: 'u32',
  innerSport: 'u16',
  innerDport: 'u16',
  /** Offset of the first DNS question name (wire format) and its QTYPE (PF.DNS). */
  dnsOff: 'i32',
  dnsQtype: 'u16',
} as const;

/** The typed-array kinds a column can be, by the names BATCH_COLUMNS uses. */
export const COLUMN_KINDS = { u8: Uint8Array, u16: Uint16Array, i32: Int32Array, u32: Uint32Array, f64: Float64Array } as const;
export type ColumnKind = keyof typeof COLUMN_KINDS;
interface KindArrays {
  u8: Uint8Array;
  u16: Uint16Array;
  i32: Int32Array;
  u32: Uint32Array;
  f64: Float64Array;
}

export type BatchColumnName = keyof typeof BATCH_COLUMNS;
/** The columns as the Batch holds them: each name typed as its typed array. */
export type BatchColumns = { readonly [K in BatchColumnName]: KindArrays[(typeof BATCH_COLUMNS)[K]] };
const COLUMN_NAMES = Object.keys(BATCH_COLUMNS) as BatchColumnName[];

/** A typed array of `kind` with `length` elements, on a SharedArrayBuffer when `shared`. */
export function makeColumn<K extends ColumnKind>(kind: K, length: number, shared = false): KindArrays[K] {
  const ctor = COLUMN_KINDS[kind] as unknown as { new (b: ArrayBufferLike): KindArrays[K]; BYTES_PER_ELEMENT: number };
  const bytes = length * ctor.BYTES_PER_ELEMENT;
  return new ctor(shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
}

/** The columns (BATCH_COLUMNS) are the Batch's properties, typed by this declaration merge. */
export interface Batch extends BatchColumns {}

export class Batch {
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

  /** A batch with every column of BATCH_COLUMNS, `capacity` packets each. */
  constructor(opts: BatchOptions = {}) {
    const capacity = opts.capacity ?? 4096;
    const arenaBytes = Math.max(opts.arenaBytes ?? 8 << 20, MAX_CAPLEN + HEADROOM + 8);
    const shared = opts.shared ?? false;
    this.capacity = capacity;
    this.arena = makeColumn('u8', arenaBytes, shared);
    this.view = new DataView(this.arena.buffer, this.arena.byteOffset, this.arena.byteLength);
    const cols = this as unknown as Record<BatchColumnName, unknown>;
    for (const name of COLUMN_NAMES) cols[name] = makeColumn(BATCH_COLUMNS[name], capacity, shared);
  }

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

/**
 * The batch columns FlowColumns keeps: the decoded L3/L4 tuple of a packet as captured (a verdict
 * record's `flow`), before the engine rewrites the packet.
 */
export const FLOW_TUPLE = ['ipVer', 'proto', 'flags', 'src4', 'dst4', 'sport', 'dport', 'icmpType', 'icmpCode'] as const satisfies readonly BatchColumnName[];
export type FlowTupleName = (typeof FLOW_TUPLE)[number];

/** FlowColumns' columns: FLOW_TUPLE, each of its batch column's kind. */
export interface FlowColumns extends Pick<BatchColumns, FlowTupleName> {}

/**
 * The tuple of each packet of a batch as captured (FLOW_TUPLE, plus the IPv6 addresses), copied after
 * decode and before the engine rewrites the packets (the verdict writers' `flow`).
 */
export class FlowColumns {
  /** IPv6 source then destination, 32 bytes per packet. */
  readonly addr6: Uint8Array;

  constructor(capacity: number, shared = false) {
    const cols = this as unknown as Record<FlowTupleName, unknown>;
    for (const name of FLOW_TUPLE) cols[name] = makeColumn(BATCH_COLUMNS[name], capacity, shared);
    this.addr6 = makeColumn('u8', capacity * 32, shared);
  }

  /** Copies the decoded tuple of packets [from, to) of `b` (no allocation). */
  takeRange(b: Batch, from: number, to: number): void {
    for (let c = 0; c < FLOW_TUPLE.length; c++) copyRange(this[FLOW_TUPLE[c]], b[FLOW_TUPLE[c]], from, to);
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

type AnyColumn = Uint8Array | Uint16Array | Int32Array | Uint32Array | Float64Array;

/** to[i] = from[i] for i in [start, end): two columns of the same kind. */
function copyRange(to: AnyColumn, from: AnyColumn, start: number, end: number): void {
  for (let i = start; i < end; i++) to[i] = from[i];
}

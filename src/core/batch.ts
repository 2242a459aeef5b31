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

type Col<T> = T;

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

  // ---- set by the reader ----
  /** Arena offset of the packet's first byte. */
  readonly off: Col<Uint32Array>;
  readonly caplen: Col<Uint32Array>;
  /** Original length on the wire. */
  readonly wirelen: Col<Uint32Array>;
  /** Raw timestamp as the file holds it: pcap (seconds, fraction); pcapng (high, low) in the interface's units. */
  readonly tsHi: Col<Uint32Array>;
  readonly tsLo: Col<Uint32Array>;
  /** Timestamp in epoch seconds (double; for timeouts and display). NaN when the block has none (SPB). */
  readonly ts: Col<Float64Array>;
  /** Index into the source's interface table (global across pcapng sections). */
  readonly iface: Col<Uint16Array>;
  /** LINKTYPE_* of the packet's interface. */
  readonly linktype: Col<Uint16Array>;
  /** Options by packet index (sparse; most packets have none). */
  readonly options = new Map<number, PacketOptions>();

  // ---- set by decode ----
  readonly flags: Col<Uint16Array>;
  /** Malformed reason code (decode/errors.ts), 0 = none. */
  readonly malformed: Col<Uint8Array>;
  readonly l2Off: Col<Int32Array>;
  readonly l3Off: Col<Int32Array>;
  readonly l4Off: Col<Int32Array>;
  /** Offset of the L4 payload (after TCP/UDP/ICMP header). */
  readonly payOff: Col<Int32Array>;
  /** Final EtherType after VLAN tags (0x0800, 0x86dd, 0x0806, ...), 0 when none. */
  readonly ethType: Col<Uint16Array>;
  readonly vlan: Col<Uint16Array>;
  /** 4, 6 or 0 (not IP). */
  readonly ipVer: Col<Uint8Array>;
  /** Upper-layer protocol of the outermost IP packet (after IPv6 extension headers). */
  readonly proto: Col<Uint8Array>;
  /** IPv4 addresses as unsigned 32-bit numbers (IPv6: read the 16 bytes at l3Off+8 / l3Off+24). */
  readonly src4: Col<Uint32Array>;
  readonly dst4: Col<Uint32Array>;
  readonly sport: Col<Uint16Array>;
  readonly dport: Col<Uint16Array>;
  readonly tcpFlags: Col<Uint8Array>;
  readonly icmpType: Col<Uint8Array>;
  readonly icmpCode: Col<Uint8Array>;
  /** Offset of the IP header embedded in an ICMP error (PF.ICMP_ERROR). */
  readonly icmpInnerOff: Col<Int32Array>;
  /** VXLAN / GENEVE VNI (PF.TUNNEL). */
  readonly vni: Col<Uint32Array>;
  readonly innerL2Off: Col<Int32Array>;
  readonly innerL3Off: Col<Int32Array>;
  readonly innerL4Off: Col<Int32Array>;
  readonly innerIpVer: Col<Uint8Array>;
  readonly innerProto: Col<Uint8Array>;
  readonly innerSrc4: Col<Uint32Array>;
  readonly innerDst4: Col<Uint32Array>;
  readonly innerSport: Col<Uint16Array>;
  readonly innerDport: Col<Uint16Array>;
  /** Offset of the first DNS question name (wire format) and its QTYPE (PF.DNS). */
  readonly dnsOff: Col<Int32Array>;
  readonly dnsQtype: Col<Uint16Array>;

  constructor(opts: BatchOptions = {}) {
    const capacity = opts.capacity ?? 4096;
    const arenaBytes = Math.max(opts.arenaBytes ?? 8 << 20, MAX_CAPLEN + HEADROOM + 8);
    const shared = opts.shared ?? false;
    const mk = (bytes: number): ArrayBufferLike => (shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
    this.capacity = capacity;
    this.arena = new Uint8Array(mk(arenaBytes));
    this.view = new DataView(this.arena.buffer, this.arena.byteOffset, this.arena.byteLength);
    const u32 = () => new Uint32Array(mk(capacity * 4));
    const i32 = () => new Int32Array(mk(capacity * 4));
    const u16 = () => new Uint16Array(mk(capacity * 2));
    const u8 = () => new Uint8Array(mk(capacity));
    this.off = u32();
    this.caplen = u32();
    this.wirelen = u32();
    this.tsHi = u32();
    this.tsLo = u32();
    this.ts = new Float64Array(mk(capacity * 8));
    this.iface = u16();
    this.linktype = u16();
    this.flags = u16();
    this.malformed = u8();
    this.l2Off = i32();
    this.l3Off = i32();
    this.l4Off = i32();
    this.payOff = i32();
    this.ethType = u16();
    this.vlan = u16();
    this.ipVer = u8();
    this.proto = u8();
    this.src4 = u32();
    this.dst4 = u32();
    this.sport = u16();
    this.dport = u16();
    this.tcpFlags = u8();
    this.icmpType = u8();
    this.icmpCode = u8();
    this.icmpInnerOff = i32();
    this.vni = u32();
    this.innerL2Off = i32();
    this.innerL3Off = i32();
    this.innerL4Off = i32();
    this.innerIpVer = u8();
    this.innerProto = u8();
    this.innerSrc4 = u32();
    this.innerDst4 = u32();
    this.innerSport = u16();
    this.innerDport = u16();
    this.dnsOff = i32();
    this.dnsQtype = u16();
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

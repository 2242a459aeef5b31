/**
 * The generator's pktmon mode (issue 13): turns a capture (a scenario's trace.pcapng) into what
 * microsoft/etl2pcapng would write for a pktmon ETL of the same packets seen at several components, with
 * the layout of its writer (repo microsoft/etl2pcapng, src/main.c, commit
 * b06ebcf73263002d81c4d84233d4010ae68b20b4: PcapNgWriteSectionHeader, PcapNgWriteInterfaceDesc,
 * PcapNgWriteEnhancedPacket, WriteInterfaces; see src/io/pktmon.ts for what each field means):
 *   - SHB version 1.0, section length -1, no options; little-endian (the writer's host order);
 *   - one IDB per component, sorted by component id: snaplen 65535, if_name, if_description, if_MACaddr,
 *     if_IPv4addr (mask 255.255.255.255), end of options;
 *   - per appearance one EPB, microsecond timestamps: epb_flags (1 inbound for the first appearance, 2
 *     outbound after: the KW_SEND keyword's meaning for pktmon is UNCONFIRMED), epb_packetid = PktGroupId,
 *     epb_verdict (type 2, value 1, 3 pad bytes) on a drop event, option 8 (PID 4, TID), end of options;
 *     no comment (etl2pcapng writes none for pktmon), unless `dropComments` asks for the etl2txt-style
 *     `Drop: ... DropReason <string>` comment on drop events (what a converter that kept the reason would add).
 * Each input packet appears at every component in `order` with the same bytes (a later component would see
 * the packet as VFP rewrote it; the engine judges only one appearance, so the copies' bytes do not matter
 * to a replay), until a drop: a dropped packet's last appearance is its drop event. Two options make files
 * etl2pcapng does not write but a reader must take (tests of src/io/pktmon.ts):
 *   - `natAt`: from that component on, an IPv4 packet's source address is the component's if_IPv4addr
 *     (outbound NAT at the physical NIC, IPv4 header checksum recomputed): its copies there have another
 *     5-tuple, hence another shard key, than its first appearance;
 *   - `lateIdbs`: each component's IDB is written just before its first EPB, so IDBs follow packets
 *     (pcapng allows an IDB anywhere in a section); the interface indices are then in order of first use.
 */
import * as fs from 'node:fs';
import { Batch } from '../core/batch';
import { UsageError } from '../core/errors';
import { pktmonDropReason, pktmonDropReasonId } from '../vfp/reasons';
import { openCaptureBytes } from '../io/reader';

export interface PktmonComponent {
  id: number;
  name: string;
  description: string;
  mac: readonly number[];
  ipv4?: readonly number[];
}

/** Three components a pod's packet passes on a Windows node (names as pktmon lists them; Windows-Containers#439's vmswitch). */
export const DEFAULT_COMPONENTS: readonly PktmonComponent[] = [
  { id: 12, name: 'Microsoft Hyper-V Network Adapter', description: 'Container NIC 3c1e8a2b', mac: [0x00, 0x15, 0x5d, 0x4a, 0x10, 0x05] },
  { id: 134, name: 'vmswitch.sys', description: 'cbr0_ep', mac: [0x00, 0x15, 0x5d, 0x4a, 0x10, 0x01] },
  { id: 2, name: 'Microsoft Hyper-V Network Adapter #2', description: 'Ethernet 2', mac: [0x00, 0x15, 0x5d, 0x4a, 0x10, 0x02], ipv4: [10, 127, 130, 11] },
];

export interface PktmonGenOptions {
  components?: readonly PktmonComponent[];
  /** The components' ids in the order every packet passes them (default: as `components` lists them). */
  order?: readonly number[];
  /** Packets (1-based) pktmon logs as dropped: at which component id, with which drop reason id. */
  drops?: ReadonlyMap<number, { component: number; reason: number; reasonText: string }>;
  /** Write `Drop: PktGroupId G, Component C, DropReason R` comments on drop events. */
  dropComments?: boolean;
  /** PktGroupId of packet 1 (the next packets count up). */
  firstGroupId?: bigint;
  /** Component id from which on an IPv4 packet's source address is that component's `ipv4` (see the module comment). */
  natAt?: number;
  /** Write each component's IDB just before its first EPB (see the module comment). */
  lateIdbs?: boolean;
  /**
   * What pktmon's own converter (`pktmon etl2pcap`) is documented to keep (learn.microsoft.com
   * pktmon-pcapng-support: no component, no drop mark): every appearance's frame, on one IDB without
   * options, in EPBs without options. Its real IDB and option layout is UNCONFIRMED.
   */
  builtin?: boolean;
}

/** `data` (an Ethernet frame) with its IPv4 source address set to `ip` and the header checksum recomputed; `data` itself when it is not Ethernet + IPv4. */
function natted(data: Uint8Array, ip: readonly number[]): Uint8Array {
  if (data.length < 34 || data[12] !== 0x08 || data[13] !== 0x00 || data[14] >> 4 !== 4) return data;
  const d = Uint8Array.from(data);
  const ihl = (d[14] & 15) * 4;
  d.set(ip, 26);
  d[24] = 0;
  d[25] = 0;
  let sum = 0;
  for (let k = 14; k < 14 + ihl; k += 2) sum += (d[k] << 8) | d[k + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  d[24] = (~sum >> 8) & 0xff;
  d[25] = ~sum & 0xff;
  return d;
}

class Out {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  n = 0;
  private room(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const g = new Uint8Array(Math.max(this.buf.length * 2, this.n + k));
    g.set(this.buf.subarray(0, this.n));
    this.buf = g;
    this.view = new DataView(g.buffer);
  }
  u16(v: number): void { this.room(2); this.view.setUint16(this.n, v, true); this.n += 2; }
  u32(v: number): void { this.room(4); this.view.setUint32(this.n, v >>> 0, true); this.n += 4; }
  u64(v: bigint): void { this.room(8); this.view.setBigUint64(this.n, v, true); this.n += 8; }
  bytes(b: ArrayLike<number>): void { this.room(b.length); this.buf.set(b, this.n); this.n += b.length; }
  pad(): void { while (this.n % 4 !== 0) this.bytes([0]); }
  setU32(at: number, v: number): void { this.view.setUint32(at, v >>> 0, true); }
  result(): Uint8Array { return this.buf.slice(0, this.n); }
}

/** Opens a block of `type`; returns a function that closes it (the lengths). */
function block(o: Out, type: number): () => void {
  const at = o.n;
  o.u32(type);
  o.u32(0);
  return () => {
    const len = o.n - at + 4;
    o.u32(len);
    o.setU32(at + 4, len);
  };
}

function option(o: Out, code: number, value: ArrayLike<number>): void {
  o.u16(code);
  o.u16(value.length);
  o.bytes(value);
  o.pad();
}

function idb(o: Out, linkType: number, c: PktmonComponent): void {
  const end = block(o, 1);
  o.u16(linkType);
  o.u16(0);
  o.u32(65535);
  option(o, 2, Buffer.from(c.name, 'utf8'));
  option(o, 3, Buffer.from(c.description, 'utf8'));
  option(o, 6, c.mac);
  if (c.ipv4 !== undefined) option(o, 4, [...c.ipv4, 255, 255, 255, 255]);
  o.u32(0); // opt_endofopt
  end();
}

/** One IDB without options (PktmonGenOptions.builtin). */
function plainIdb(o: Out, linkType: number): void {
  const end = block(o, 1);
  o.u16(linkType);
  o.u16(0);
  o.u32(65535);
  end();
}

function epb(o: Out, iface: number, usec: bigint, data: Uint8Array, wirelen: number, inbound: boolean, group: bigint, drop: boolean, comment: string | null, builtin = false): void {
  const end = block(o, 6);
  o.u32(iface);
  o.u32(Number(usec >> 32n));
  o.u32(Number(usec & 0xffffffffn));
  o.u32(data.length);
  o.u32(wirelen);
  o.bytes(data);
  o.pad();
  if (builtin) return end(); // no options (see PktmonGenOptions.builtin)
  o.u16(2); o.u16(4); o.u32(inbound ? 1 : 2);
  o.u16(5); o.u16(8); o.u64(group);
  if (drop) {
    o.u16(7); o.u16(9); o.bytes([2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  }
  o.u16(8); o.u16(8); o.u32(4); o.u32(0x1f4);
  if (comment !== null) option(o, 1, Buffer.from(comment, 'utf8'));
  o.u32(0);
  end();
}

/** The etl2pcapng-layout pcapng of `capture`'s packets seen by pktmon at `opts.components` (see the module comment). */
export function pktmonCapture(capture: Uint8Array, opts: PktmonGenOptions = {}): Uint8Array {
  const comps = [...(opts.components ?? DEFAULT_COMPONENTS)];
  const order = opts.order ?? comps.map((c) => c.id);
  const sorted = [...comps].sort((a, b) => a.id - b.id); // WriteInterfaces: by component id
  const ifaceOf = new Map(opts.lateIdbs === true ? [] : sorted.map((c, k) => [c.id, k]));
  const natFrom = opts.natAt === undefined ? -1 : order.indexOf(opts.natAt);
  const natIp = comps.find((c) => c.id === opts.natAt)?.ipv4;
  if (opts.natAt !== undefined && (natFrom < 0 || natIp === undefined)) throw new UsageError(`natAt ${opts.natAt}: not a component in the order with an IPv4 address`);
  const o = new Out();
  const endShb = block(o, 0x0a0d0d0a);
  o.u32(0x1a2b3c4d); o.u16(1); o.u16(0); o.u32(0xffffffff); o.u32(0xffffffff);
  endShb();
  const reader = openCaptureBytes('capture', capture);
  const b = new Batch({ capacity: 256, arenaBytes: 4 << 20 });
  let wroteIdbs = false;
  let group = opts.firstGroupId ?? 0x2a00n;
  for (;;) {
    b.reset(reader.packetsRead + 1);
    const n = reader.next(b);
    if (n === 0) break;
    const linkType = reader.interfaces[0]?.linkType ?? 1;
    if (!wroteIdbs && opts.builtin === true) plainIdb(o, linkType);
    else if (!wroteIdbs && opts.lateIdbs !== true) for (const c of sorted) idb(o, linkType, c);
    wroteIdbs = true;
    for (let i = 0; i < n; i++) {
      const num = b.firstNumber + i;
      const data = b.arena.slice(b.off[i], b.off[i] + b.caplen[i]);
      const usec = BigInt(Math.round(b.ts[i] * 1e6));
      const drop = opts.drops?.get(num);
      for (let k = 0; k < order.length; k++) {
        const dropHere = drop !== undefined && drop.component === order[k];
        const comment = dropHere && opts.dropComments === true ? `Drop: PktGroupId ${group}, Component ${order[k]}, DropReason ${drop.reasonText}` : null;
        if (opts.builtin === true) ifaceOf.set(order[k], 0);
        else if (!ifaceOf.has(order[k])) {
          // lateIdbs: the component's IDB just before its first packet
          ifaceOf.set(order[k], ifaceOf.size);
          idb(o, linkType, comps.find((c) => c.id === order[k]) as PktmonComponent);
        }
        const bytes = natFrom >= 0 && k >= natFrom ? natted(data, natIp as readonly number[]) : data;
        epb(o, ifaceOf.get(order[k]) as number, usec + BigInt(k), bytes, b.wirelen[i], k === 0, group, dropHere, comment, opts.builtin === true);
        if (dropHere) break;
      }
      group++;
    }
  }
  if (reader.error !== null) throw reader.error;
  return o.result();
}

/**
 * `gen pktmon IN OUT [--drop N@COMPONENT=REASON]... [--drop-comments] [--nat COMPONENT] [--late-idbs]`: writes OUT, IN as pktmon would log it
 * at DEFAULT_COMPONENTS (packet N dropped at component id COMPONENT with pktmon drop reason REASON: its id,
 * or its name as reasons.ts PKTMON_DROP_REASONS spells it, case-insensitive, e.g. `Filtered`, `MTU mismatch`).
 */
export function pktmonMain(argv: string[]): number {
  const files: string[] = [];
  const drops = new Map<number, { component: number; reason: number; reasonText: string }>();
  let dropComments = false;
  let lateIdbs = false;
  let natAt: number | undefined;
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k];
    if (a === '--drop-comments') dropComments = true;
    else if (a === '--late-idbs') lateIdbs = true;
    else if (a === '--nat') {
      natAt = Number(argv[++k]);
      if (!DEFAULT_COMPONENTS.some((c) => c.id === natAt && c.ipv4 !== undefined)) throw new UsageError(`--nat: give the id of a component with an IPv4 address (${DEFAULT_COMPONENTS.filter((c) => c.ipv4 !== undefined).map((c) => c.id).join(', ')}), not '${argv[k] ?? ''}'`);
    }
    else if (a === '--drop') {
      const m = /^(\d+)@(\d+)=(.+)$/.exec(argv[++k] ?? '');
      const reason = m === null ? -1 : /^\d+$/.test(m[3]) ? Number(m[3]) : pktmonDropReasonId(m[3]);
      if (m === null || reason < 0) throw new UsageError(`--drop: give N@COMPONENT=REASON (packet, component id, pktmon drop reason id or name such as Filtered), not '${argv[k] ?? ''}'`);
      drops.set(Number(m[1]), { component: Number(m[2]), reason, reasonText: pktmonDropReason(reason) });
    } else if (a.startsWith('--')) throw new UsageError(`pktmon: unknown flag '${a}'`);
    else files.push(a);
  }
  if (files.length !== 2) throw new UsageError('usage: node dist/src/gen/cli.js pktmon IN.pcapng OUT.pcapng [--drop N@COMPONENT=REASON]... [--drop-comments] [--nat COMPONENT] [--late-idbs]');
  const bytes = pktmonCapture(fs.readFileSync(files[0]), { drops, dropComments, lateIdbs, natAt });
  fs.writeFileSync(files[1], bytes);
  process.stderr.write(JSON.stringify({ out: files[1], bytes: bytes.length, components: DEFAULT_COMPONENTS.length, drops: drops.size }) + '\n');
  return 0;
}

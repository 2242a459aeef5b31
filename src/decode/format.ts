/**
 * Text forms of decoded packets: addresses, DNS names, and the rows of `vfp-emu decode`.
 *
 * Uses:  a decoded Batch (decode/decoder.ts) and its arena bytes.
 * Sets:  nothing; returns strings. Not a hot path: it allocates a string per field.
 * Next:  commands/decode.ts writes the rows out.
 *
 * The text forms are tshark's (4.0), so tshark can serve as the oracle (test/decode-corpus.test.ts):
 * - IPv4 dotted quad; IPv6 in RFC 5952 compressed form, lower case, with the embedded IPv4 forms
 *   `::ffff:a.b.c.d` and `::a.b.c.d` that BSD `inet_ntop` (and tshark) use;
 * - MAC lower-case `aa:bb:cc:dd:ee:ff`;
 * - DNS names without the trailing dot, `<Root>` for the root; label bytes decoded as UTF-8 (invalid
 *   sequences become U+FFFD) and escaped by core/safe-text.ts `safeText`: control characters as
 *   `\a \b \t \n \v \f \r` or `\ooo` octal, C1 controls, bidi and other format characters as `\uXXXX`
 *   (tshark's form), and, unlike tshark, a backslash as `\\` so that a label cannot forge an escape
 *   (no DNS name of the real-capture corpus holds one); dots inside labels are left as they are. So a
 *   dns_qname holds no tab, newline, terminal sequence or bidi override, in TSV as in JSONL.
 *
 * `decode --format tsv` (CONTRACT in DESIGN.md): a header line, then per packet
 *   n caplen len eth_src eth_dst vlan l3_src l3_dst proto sport dport icmp_type icmp_code vni inner_src
 *   inner_dst dns_qname flags
 * tab-separated, empty where absent, `flags` a comma-separated subset of
 * `truncated,malformed,fragment,unsupported-linktype` (in that order).
 *
 * `decode --format jsonl`: one JSON object per packet with the same field names. Numbers are JSON
 * numbers, `flags` is an array of those flag names (always present, possibly empty), and a field that is
 * absent from the packet is omitted (never null). Three more fields appear when they apply:
 * `malformed` (the reason name, decode/errors.ts), `malformed_detail` (its sentence with the numbers)
 * and `dns_qtype` (the first question's QTYPE).
 */

import { Batch, PF } from '../core/batch';
import { formatMac, u32ToIpv4 } from '../packet/addr';
import { DecodeOptions, malformedMessage } from './decoder';
import { malformedName } from './errors';
import { safeText } from '../core/safe-text';

/** The TSV columns of `vfp-emu decode --format tsv`, in order (CONTRACT). */
export const TSV_COLUMNS = [
  'n',
  'caplen',
  'len',
  'eth_src',
  'eth_dst',
  'vlan',
  'l3_src',
  'l3_dst',
  'proto',
  'sport',
  'dport',
  'icmp_type',
  'icmp_code',
  'vni',
  'inner_src',
  'inner_dst',
  'dns_qname',
  'flags',
] as const;

export type TsvColumn = (typeof TSV_COLUMNS)[number];

/** The header line of the TSV output (with its newline). */
export const TSV_HEADER = TSV_COLUMNS.join('\t') + '\n';

/** Dotted-quad form of an unsigned 32-bit IPv4 address. */
export function ipv4Text(v: number): string {
  return u32ToIpv4(v);
}

/** Lower-case colon form of the 6 bytes at `a[o]`. */
export function macText(a: Uint8Array, o: number): string {
  return formatMac(a, o);
}

/** RFC 5952 text of the 16 bytes at `a[o]` (the BSD inet_ntop algorithm, as tshark prints). */
export function ipv6Text(a: Uint8Array, o: number): string {
  const w = [0, 0, 0, 0, 0, 0, 0, 0];
  for (let k = 0; k < 8; k++) w[k] = (a[o + 2 * k] << 8) | a[o + 2 * k + 1];
  // longest run of zero words (first one on a tie), only if at least 2 long
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let k = 0; k < 8; k++) {
    if (w[k] === 0) {
      if (curBase < 0) {
        curBase = k;
        curLen = 1;
      } else curLen++;
      if (curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
    } else curBase = -1;
  }
  if (bestLen < 2) bestBase = -1;
  let s = '';
  for (let k = 0; k < 8; k++) {
    if (bestBase >= 0 && k >= bestBase && k < bestBase + bestLen) {
      if (k === bestBase) s += ':';
      continue;
    }
    if (k !== 0) s += ':';
    // embedded IPv4: ::a.b.c.d (compatible) and ::ffff:a.b.c.d (mapped)
    if (k === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff))) {
      s += `${a[o + 12]}.${a[o + 13]}.${a[o + 14]}.${a[o + 15]}`;
      return s;
    }
    s += w[k].toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) s += ':';
  return s;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** One label's bytes as text (see the module comment): printable ASCII as it is, else decoded and safeText-escaped. */
function labelText(bytes: Uint8Array): string {
  let plain = true;
  for (let k = 0; k < bytes.length; k++) {
    const c = bytes[k];
    if (c < 0x20 || c >= 0x7f || c === 0x5c) {
      plain = false;
      break;
    }
  }
  if (plain) return String.fromCharCode(...bytes);
  return safeText(utf8.decode(bytes));
}

/**
 * The DNS name at `arena[nameOff]` of the message that starts at `msgStart`, reading no byte at or after
 * `end`: labels joined by dots, no trailing dot, `<Root>` for the root. Follows compression pointers only
 * backwards and at most 32 times; returns undefined for a name that is cut or malformed.
 */
export function readDnsName(arena: Uint8Array, msgStart: number, nameOff: number, end: number): string | undefined {
  let q = nameOff;
  let hops = 0;
  let total = 0;
  const labels: string[] = [];
  for (;;) {
    if (q >= end) return undefined;
    const len = arena[q];
    if (len === 0) break;
    if ((len & 0xc0) === 0xc0) {
      if (q + 1 >= end) return undefined;
      const target = msgStart + (((len & 0x3f) << 8) | arena[q + 1]);
      if (target < msgStart + 12 || target >= q || ++hops > 32) return undefined;
      q = target;
      continue;
    }
    if ((len & 0xc0) !== 0) return undefined;
    total += len + 1;
    if (total > 255 || q + 1 + len > end) return undefined;
    labels.push(labelText(arena.subarray(q + 1, q + 1 + len)));
    q += len + 1;
  }
  return labels.length === 0 ? '<Root>' : labels.join('.');
}

/** The decoded fields of one packet as text (undefined = absent), in TSV column order. */
export interface PacketFields {
  n: number;
  caplen: number;
  len: number;
  eth_src?: string;
  eth_dst?: string;
  vlan?: number;
  l3_src?: string;
  l3_dst?: string;
  proto?: number;
  sport?: number;
  dport?: number;
  icmp_type?: number;
  icmp_code?: number;
  vni?: number;
  inner_src?: string;
  inner_dst?: string;
  dns_qname?: string;
  flags: string[];
}

/** The flag names of `flags[i]` that `decode` prints, in CONTRACT order. */
function flagNames(flags: number): string[] {
  const out: string[] = [];
  if (flags & PF.TRUNCATED) out.push('truncated');
  if (flags & PF.MALFORMED) out.push('malformed');
  if (flags & PF.FRAGMENT) out.push('fragment');
  if (flags & PF.UNSUPPORTED_LINKTYPE) out.push('unsupported-linktype');
  return out;
}

/** Reads packet `i` of a decoded batch into text fields; `n` is its 1-based number in the trace. */
export function packetFields(b: Batch, i: number, n: number): PacketFields {
  const a = b.arena;
  const base = b.off[i];
  const f = b.flags[i];
  let ethSrc: string | undefined;
  let ethDst: string | undefined;
  const l2 = b.l2Off[i];
  if (l2 >= 0) {
    ethDst = macText(a, base + l2);
    ethSrc = macText(a, base + l2 + 6);
  }
  let l3Src: string | undefined;
  let l3Dst: string | undefined;
  const l3 = b.l3Off[i];
  if (l3 >= 0) {
    if (b.ipVer[i] === 4) {
      l3Src = ipv4Text(b.src4[i]);
      l3Dst = ipv4Text(b.dst4[i]);
    } else {
      l3Src = ipv6Text(a, base + l3 + 8);
      l3Dst = ipv6Text(a, base + l3 + 24);
    }
  }
  let innerSrc: string | undefined;
  let innerDst: string | undefined;
  const il3 = b.innerL3Off[i];
  if (f & PF.TUNNEL && il3 >= 0) {
    if (b.innerIpVer[i] === 4) {
      innerSrc = ipv4Text(b.innerSrc4[i]);
      innerDst = ipv4Text(b.innerDst4[i]);
    } else {
      innerSrc = ipv6Text(a, base + il3 + 8);
      innerDst = ipv6Text(a, base + il3 + 24);
    }
  }
  let qname: string | undefined;
  if (f & PF.DNS) {
    const name = base + b.dnsOff[i];
    qname = readDnsName(a, name - 12, name, base + b.caplen[i]);
  }
  const ports = (f & PF.HAS_PORTS) !== 0;
  const icmp = (f & PF.HAS_ICMP) !== 0;
  // keys in column order: JSON.stringify keeps it and drops the undefined ones
  return {
    n,
    caplen: b.caplen[i],
    len: b.wirelen[i],
    eth_src: ethSrc,
    eth_dst: ethDst,
    vlan: f & PF.HAS_VLAN ? b.vlan[i] : undefined,
    l3_src: l3Src,
    l3_dst: l3Dst,
    proto: l3 >= 0 ? b.proto[i] : undefined,
    sport: ports ? b.sport[i] : undefined,
    dport: ports ? b.dport[i] : undefined,
    icmp_type: icmp ? b.icmpType[i] : undefined,
    icmp_code: icmp ? b.icmpCode[i] : undefined,
    vni: f & PF.TUNNEL ? b.vni[i] : undefined,
    inner_src: innerSrc,
    inner_dst: innerDst,
    dns_qname: qname,
    flags: flagNames(f),
  };
}

const str = (v: string | number | undefined): string => (v === undefined ? '' : String(v));

/** One TSV row (with its newline) for packet `i`; `n` is its 1-based number in the trace. */
export function formatTsvRow(b: Batch, i: number, n: number): string {
  const p = packetFields(b, i, n);
  return (
    `${p.n}\t${p.caplen}\t${p.len}\t${str(p.eth_src)}\t${str(p.eth_dst)}\t${str(p.vlan)}\t${str(p.l3_src)}\t` +
    `${str(p.l3_dst)}\t${str(p.proto)}\t${str(p.sport)}\t${str(p.dport)}\t${str(p.icmp_type)}\t${str(p.icmp_code)}\t` +
    `${str(p.vni)}\t${str(p.inner_src)}\t${str(p.inner_dst)}\t${tsvSafe(p.dns_qname)}\t${p.flags.join(',')}\n`
  );
}

/** DNS names are already escaped (labelText), so no tab, newline, C1 or bidi character can reach the TSV. */
function tsvSafe(s: string | undefined): string {
  return s === undefined ? '' : s;
}

/**
 * One JSON line (with its newline) for packet `i`. Absent fields are omitted. `opts` are the options the
 * batch was decoded with (needed only to recompute a malformed packet's sentence).
 */
export function formatJsonRow(b: Batch, i: number, n: number, opts: DecodeOptions = {}): string {
  const p = packetFields(b, i, n) as PacketFields & { malformed?: string; malformed_detail?: string; dns_qtype?: number };
  if (b.flags[i] & PF.MALFORMED) {
    p.malformed = malformedName(b.malformed[i]);
    p.malformed_detail = malformedMessage(b, i, opts);
  }
  if (b.flags[i] & PF.DNS) p.dns_qtype = b.dnsQtype[i];
  return JSON.stringify(p) + '\n';
}

/**
 * Malformed-packet reasons of the decoder: one table, one source of truth (VPP's per-node error table,
 * OVS's xlate_error + xlate_strerror).
 *
 * The decoder (decode/decoder.ts) stores only the reason's number in `Batch.malformed[i]` (with
 * `PF.MALFORMED` in `flags[i]`), the first reason found in the packet. The two numbers a sentence
 * needs are not stored per packet: `decoder.ts#malformedMessage` decodes that one packet again (cold
 * path) and hands them to `describe`, so the hot path writes one byte per packet.
 *
 * A reason is "malformed", not "truncated": the bytes are there but contradict a length or version
 * field. A header that the capture cut short is `PF.TRUNCATED` and has no reason here.
 *
 * Codes are part of the output (`--format jsonl` prints the name): extend the table, never renumber.
 */

interface MalformedReason {
  /** Value stored in `Batch.malformed[i]` (1..255). */
  readonly code: number;
  /** Stable kebab-case name, printed by `decode --format jsonl` and in traces. */
  readonly name: string;
  /** The sentence, with the two numbers the decoder saw (their meaning depends on the reason). */
  readonly describe: (x: number, y: number) => string;
}

/** Reason codes (values of `Batch.malformed`). 0 = none. */
export const MAL = {
  NONE: 0,
  /** EtherType (or link type) says IPv4/IPv6 but the version nibble says otherwise. x = nibble, y = expected. */
  IP_VERSION_MISMATCH: 1,
  /** Raw-IP link type whose version nibble is neither 4 nor 6. x = nibble. */
  IP_VERSION_UNKNOWN: 2,
  /** IPv4 IHL * 4 < 20. x = header length. */
  IP4_HEADER_LENGTH: 3,
  /** IPv4 total length < header length. x = total length, y = header length. */
  IP4_TOTAL_LENGTH_SHORT: 4,
  /** IPv4 total length runs past the frame (or the enclosing payload). x = total length, y = bytes left. */
  IP4_TOTAL_LENGTH_LONG: 5,
  /** IPv6 payload length runs past the frame (or the enclosing payload). x = payload length, y = bytes left. */
  IP6_PAYLOAD_LENGTH_LONG: 6,
  /** An IPv6 extension header runs past the payload. x = its length, y = bytes left. */
  IP6_EXT_HEADER_LONG: 7,
  /** TCP data offset * 4 < 20. x = header length. */
  TCP_DATA_OFFSET_SHORT: 8,
  /** TCP header length runs past the segment. x = header length, y = segment bytes. */
  TCP_HEADER_LONG: 9,
  /** UDP length < 8. x = length. */
  UDP_LENGTH_SHORT: 10,
  /** UDP length runs past the IP payload. x = length, y = IP payload bytes. */
  UDP_LENGTH_LONG: 11,
  /** GENEVE version is not 0. x = version. */
  GENEVE_VERSION: 12,
  /** GENEVE options run past the UDP payload. x = options length, y = bytes left after the fixed header. */
  GENEVE_OPTIONS_LONG: 13,
  // "needs N bytes, M left": a header does not fit in what the enclosing length field declares.
  // x = header bytes needed, y = bytes left.
  IP4_HEADER_SHORT: 14,
  IP6_HEADER_SHORT: 15,
  IP6_EXT_HEADER_SHORT: 16,
  TCP_HEADER_SHORT: 17,
  UDP_HEADER_SHORT: 18,
  ICMP_HEADER_SHORT: 19,
  VXLAN_HEADER_SHORT: 20,
  GENEVE_HEADER_SHORT: 21,
  ETH_HEADER_SHORT: 22,
} as const;

const needs =
  (what: string) =>
  (x: number, y: number): string =>
    `${what} header needs ${x} bytes, ${y} left`;

const TABLE: MalformedReason[] = [
  { code: MAL.IP_VERSION_MISMATCH, name: 'ip-version-mismatch', describe: (x, y) => `ip version ${x} in a packet typed as IPv${y}` },
  { code: MAL.IP_VERSION_UNKNOWN, name: 'ip-version-unknown', describe: (x) => `ip version ${x} is neither 4 nor 6` },
  { code: MAL.IP4_HEADER_LENGTH, name: 'ip4-header-length', describe: (x) => `ip4 header length ${x} < 20` },
  {
    code: MAL.IP4_TOTAL_LENGTH_SHORT,
    name: 'ip4-total-length-short',
    describe: (x, y) => `ip4 total length ${x} < header length ${y}`,
  },
  {
    code: MAL.IP4_TOTAL_LENGTH_LONG,
    name: 'ip4-total-length-long',
    describe: (x, y) => `ip4 total length ${x} > ${y} bytes left in the packet`,
  },
  {
    code: MAL.IP6_PAYLOAD_LENGTH_LONG,
    name: 'ip6-payload-length-long',
    describe: (x, y) => `ip6 payload length ${x} > ${y} bytes left in the packet`,
  },
  {
    code: MAL.IP6_EXT_HEADER_LONG,
    name: 'ip6-ext-header-long',
    describe: (x, y) => `ip6 extension header length ${x} > ${y} bytes left in the payload`,
  },
  { code: MAL.TCP_DATA_OFFSET_SHORT, name: 'tcp-data-offset-short', describe: (x) => `tcp header length ${x} < 20` },
  { code: MAL.TCP_HEADER_LONG, name: 'tcp-header-long', describe: (x, y) => `tcp header length ${x} > segment length ${y}` },
  { code: MAL.UDP_LENGTH_SHORT, name: 'udp-length-short', describe: (x) => `udp length ${x} < 8` },
  { code: MAL.UDP_LENGTH_LONG, name: 'udp-length-long', describe: (x, y) => `udp length ${x} > ip payload length ${y}` },
  { code: MAL.GENEVE_VERSION, name: 'geneve-version', describe: (x) => `geneve version ${x} is not 0` },
  {
    code: MAL.GENEVE_OPTIONS_LONG,
    name: 'geneve-options-long',
    describe: (x, y) => `geneve options length ${x} > ${y} bytes left in the udp payload`,
  },
  { code: MAL.IP4_HEADER_SHORT, name: 'ip4-header-short', describe: needs('ip4') },
  { code: MAL.IP6_HEADER_SHORT, name: 'ip6-header-short', describe: needs('ip6') },
  { code: MAL.IP6_EXT_HEADER_SHORT, name: 'ip6-ext-header-short', describe: needs('ip6 extension') },
  { code: MAL.TCP_HEADER_SHORT, name: 'tcp-header-short', describe: needs('tcp') },
  { code: MAL.UDP_HEADER_SHORT, name: 'udp-header-short', describe: needs('udp') },
  { code: MAL.ICMP_HEADER_SHORT, name: 'icmp-header-short', describe: needs('icmp') },
  { code: MAL.VXLAN_HEADER_SHORT, name: 'vxlan-header-short', describe: needs('vxlan') },
  { code: MAL.GENEVE_HEADER_SHORT, name: 'geneve-header-short', describe: needs('geneve') },
  { code: MAL.ETH_HEADER_SHORT, name: 'eth-header-short', describe: needs('inner ethernet') },
];

const BY_CODE: (MalformedReason | undefined)[] = [];
for (const r of TABLE) {
  if (BY_CODE[r.code] !== undefined) throw new Error(`duplicate malformed reason code ${r.code}`);
  BY_CODE[r.code] = r;
}

/** All reasons, in code order. */
export const MALFORMED_REASONS: readonly MalformedReason[] = TABLE.slice().sort((p, q) => p.code - q.code);

/** The reason with this code, or undefined (0 and unknown codes). */
export function malformedReason(code: number): MalformedReason | undefined {
  return BY_CODE[code];
}

/** The reason's name, `malformed-<code>` for an unknown code, '' for 0. */
export function malformedName(code: number): string {
  if (code === 0) return '';
  return BY_CODE[code]?.name ?? `malformed-${code}`;
}

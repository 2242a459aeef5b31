/**
 * Decoder unit tests on hand-built frames: one test per header stack, per link type, per truncation
 * point and per malformed reason (the last group checks that every reason of decode/errors.ts is
 * produced by some frame here).
 */
import { strict as assert } from 'node:assert';
import { Batch, PF } from '../src/core/batch';
import { decodeBatch, DecodeOptions, malformedMessage } from '../src/decode/decoder';
import { MAL, MALFORMED_REASONS, malformedName } from '../src/decode/errors';
import { formatJsonRow, formatTsvRow, ipv6Text, readDnsName, TSV_HEADER } from '../src/decode/format';
import { Prng } from '../src/gen/prng';
import { setIpv4HeaderChecksum, setL4Checksum } from '../src/packet/checksum';

// ---- a small frame builder (bytes as number arrays) ---------------------------------------------

type Bytes = number[];
const u16 = (v: number): Bytes => [(v >> 8) & 0xff, v & 0xff];
const u32 = (v: number): Bytes => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
const ip4 = (s: string): Bytes => s.split('.').map(Number);
function ip6(s: string): Bytes {
  const [h, t] = s.split('::');
  const words = (x: string | undefined) => (x ? x.split(':').map((w) => parseInt(w, 16)) : []);
  const hw = words(h);
  const tw = t === undefined ? [] : words(t);
  const all = [...hw, ...new Array<number>(8 - hw.length - tw.length).fill(0), ...tw];
  return all.flatMap(u16);
}
const MAC_A = [0x02, 0, 0, 0, 0, 0x0a];
const MAC_B = [0x02, 0, 0, 0, 0, 0x0b];

const eth = (type: number, payload: Bytes, dst = MAC_B, src = MAC_A): Bytes => [...dst, ...src, ...u16(type), ...payload];
const tag = (tpid: number, vid: number): Bytes => [...u16(tpid), ...u16(vid)];
/** Ethernet with VLAN tags (outermost first), then `type`. */
const ethTagged = (tags: Bytes[], type: number, payload: Bytes): Bytes => [...MAC_B, ...MAC_A, ...tags.flat(), ...u16(type), ...payload];

interface Ip4Opts {
  src?: string;
  dst?: string;
  proto: number;
  payload: Bytes;
  options?: Bytes;
  total?: number;
  ihl?: number;
  frag?: number; // flags+offset word
  version?: number;
}
function ipv4(o: Ip4Opts): Bytes {
  const opts = o.options ?? [];
  const hl = 20 + opts.length;
  const total = o.total ?? hl + o.payload.length;
  const ihl = o.ihl ?? hl / 4;
  const h = [
    ((o.version ?? 4) << 4) | ihl,
    0,
    ...u16(total),
    ...u16(0x1234),
    ...u16(o.frag ?? 0),
    64,
    o.proto,
    0,
    0,
    ...ip4(o.src ?? '10.0.0.1'),
    ...ip4(o.dst ?? '10.0.0.2'),
    ...opts,
  ];
  return [...h, ...o.payload];
}
interface Ip6Opts {
  src?: string;
  dst?: string;
  nh: number;
  payload: Bytes;
  plen?: number;
}
function ipv6(o: Ip6Opts): Bytes {
  return [0x60, 0, 0, 0, ...u16(o.plen ?? o.payload.length), o.nh, 64, ...ip6(o.src ?? '2001:db8::1'), ...ip6(o.dst ?? '2001:db8::2'), ...o.payload];
}
/** A hop-by-hop / routing / destination options header of `units` 8-byte units. */
const ext6 = (nh: number, units: number, rest: Bytes): Bytes => {
  const body = new Array<number>(units * 8 - 2).fill(0);
  return [nh, units - 1, ...body, ...rest];
};
const frag6 = (nh: number, offset: number, more: boolean, rest: Bytes): Bytes => [nh, 0, ...u16((offset << 3) | (more ? 1 : 0)), ...u32(0xabcd), ...rest];
function tcp(sport: number, dport: number, payload: Bytes = [], flags = 0x18, hl = 20): Bytes {
  const opts = new Array<number>(Math.max(0, hl - 20)).fill(1);
  return [...u16(sport), ...u16(dport), ...u32(1000), ...u32(2000), (hl / 4) << 4, flags, ...u16(65535), 0, 0, 0, 0, ...opts, ...payload];
}
const udp = (sport: number, dport: number, payload: Bytes = [], len?: number): Bytes => [...u16(sport), ...u16(dport), ...u16(len ?? 8 + payload.length), 0, 0, ...payload];
const icmp = (type: number, code: number, rest: Bytes = [0, 0, 0, 0], payload: Bytes = []): Bytes => [type, code, 0, 0, ...rest, ...payload];
const vxlan = (vni: number, inner: Bytes): Bytes => [0x08, 0, 0, 0, (vni >> 16) & 0xff, (vni >> 8) & 0xff, vni & 0xff, 0, ...inner];
function geneve(vni: number, ptype: number, opts: Bytes, inner: Bytes, version = 0): Bytes {
  return [(version << 6) | (opts.length / 4), 0, ...u16(ptype), (vni >> 16) & 0xff, (vni >> 8) & 0xff, vni & 0xff, 0, ...opts, ...inner];
}
function qname(name: string): Bytes {
  if (name === '') return [0];
  return [...name.split('.').flatMap((l) => [l.length, ...Array.from(Buffer.from(l, 'latin1'))]), 0];
}
const dnsQuery = (name: string, qtype = 1): Bytes => [...u16(0x4242), ...u16(0x0100), ...u16(1), 0, 0, 0, 0, 0, 0, ...qname(name), ...u16(qtype), ...u16(1)];

// ---- decoding helpers ---------------------------------------------------------------------------

interface Pkt {
  bytes: Bytes;
  linktype?: number;
  /** Bytes captured (defaults to all); the wire length stays bytes.length. */
  caplen?: number;
  wirelen?: number;
}

function batchOf(pkts: Pkt[], b = new Batch({ capacity: 64, arenaBytes: 1 << 20 })): Batch {
  b.reset(1);
  for (const p of pkts) {
    const caplen = p.caplen ?? p.bytes.length;
    const i = b.alloc(caplen);
    b.arena.set(p.bytes.slice(0, caplen), b.off[i]);
    b.wirelen[i] = p.wirelen ?? p.bytes.length;
    b.linktype[i] = p.linktype ?? 1;
  }
  return b;
}

function decodeOne(p: Pkt | Bytes, opts: DecodeOptions = {}): Batch {
  const b = batchOf([Array.isArray(p) ? { bytes: p } : p]);
  decodeBatch(b, opts);
  return b;
}

/** The TSV row of packet 0 as a column -> value map (empty columns left out). */
function row(b: Batch, i = 0): Record<string, string> {
  const cols = TSV_HEADER.trimEnd().split('\t');
  const vals = formatTsvRow(b, i, i + 1).replace(/\n$/, '').split('\t');
  assert.equal(vals.length, cols.length, 'one value per column');
  const out: Record<string, string> = {};
  cols.forEach((c, k) => {
    if (vals[k] !== '' && c !== 'n' && c !== 'caplen' && c !== 'len') out[c] = vals[k];
  });
  return out;
}

const has = (b: Batch, flag: number, i = 0) => (b.flags[i] & flag) !== 0;

// ---- tests ---------------------------------------------------------------------------------------

describe('decoder: header stacks', () => {
  it('Ethernet / IPv4 / TCP: every column, offsets and the TSV row', () => {
    const f = eth(0x0800, ipv4({ proto: 6, src: '10.1.2.3', dst: '192.168.9.8', payload: tcp(40000, 80, [1, 2, 3], 0x12) }));
    const b = decodeOne(f);
    assert.equal(b.l2Off[0], 0);
    assert.equal(b.l3Off[0], 14);
    assert.equal(b.l4Off[0], 34);
    assert.equal(b.payOff[0], 54);
    assert.equal(b.ethType[0], 0x0800);
    assert.equal(b.ipVer[0], 4);
    assert.equal(b.proto[0], 6);
    assert.equal(b.tcpFlags[0], 0x12);
    assert.equal(b.flags[0], PF.HAS_PORTS);
    assert.equal(b.malformed[0], 0);
    assert.deepEqual(row(b), {
      eth_src: '02:00:00:00:00:0a',
      eth_dst: '02:00:00:00:00:0b',
      l3_src: '10.1.2.3',
      l3_dst: '192.168.9.8',
      proto: '6',
      sport: '40000',
      dport: '80',
    });
    assert.equal(formatTsvRow(b, 0, 7).split('\t').slice(0, 3).join(' '), `7 ${f.length} ${f.length}`);
  });

  it('IPv4 options move the L4 header', () => {
    const b = decodeOne(eth(0x0800, ipv4({ proto: 17, options: [1, 1, 1, 0, 0x94, 4, 0, 0], payload: udp(1, 2) })));
    assert.equal(b.l4Off[0], 14 + 28);
    assert.equal(b.sport[0], 1);
  });

  it('one 802.1Q tag', () => {
    const b = decodeOne(ethTagged([tag(0x8100, 0x2000 | 118)], 0x0800, ipv4({ proto: 17, payload: udp(5, 6) })));
    assert.ok(has(b, PF.HAS_VLAN));
    assert.equal(b.vlan[0], 118, 'PCP bits are not part of the VID');
    assert.equal(b.l3Off[0], 18);
    assert.equal(row(b).vlan, '118');
  });

  it('QinQ (802.1ad outer, 802.1Q inner) and a triple stack: vlan is the outermost id', () => {
    const q = decodeOne(ethTagged([tag(0x88a8, 10), tag(0x8100, 20)], 0x0800, ipv4({ proto: 1, payload: icmp(8, 0) })));
    assert.equal(q.vlan[0], 10);
    assert.equal(q.l3Off[0], 22);
    assert.equal(q.ethType[0], 0x0800);
    const t = decodeOne(ethTagged([tag(0x8100, 1), tag(0x8100, 2), tag(0x9100, 3)], 0x86dd, ipv6({ nh: 6, payload: tcp(1, 2) })));
    assert.equal(t.vlan[0], 1);
    assert.equal(t.l3Off[0], 26);
    assert.equal(t.ipVer[0], 6);
  });

  it('IPv6 / TCP, with the addresses in RFC 5952 form', () => {
    const b = decodeOne(eth(0x86dd, ipv6({ nh: 6, src: '2001:db8:0:0:1::1', dst: 'fe80::1', payload: tcp(443, 5555) })));
    assert.deepEqual(row(b), {
      eth_src: '02:00:00:00:00:0a',
      eth_dst: '02:00:00:00:00:0b',
      l3_src: '2001:db8::1:0:0:1',
      l3_dst: 'fe80::1',
      proto: '6',
      sport: '443',
      dport: '5555',
    });
    assert.equal(b.l4Off[0], 54);
  });

  for (const [name, nh] of [
    ['hop-by-hop', 0],
    ['routing', 43],
    ['destination options', 60],
  ] as const) {
    it(`IPv6 ${name} header: proto is the upper layer after it`, () => {
      const b = decodeOne(eth(0x86dd, ipv6({ nh, payload: ext6(17, 2, udp(1000, 2000)) })));
      assert.equal(b.proto[0], 17);
      assert.equal(b.l4Off[0], 14 + 40 + 16);
      assert.equal(b.sport[0], 1000);
      assert.ok(!has(b, PF.FRAGMENT));
    });
  }

  it('IPv6 chain hop-by-hop, destination options, routing, then ICMPv6', () => {
    const b = decodeOne(eth(0x86dd, ipv6({ nh: 0, payload: ext6(60, 1, ext6(43, 3, ext6(58, 1, icmp(128, 0)))) })));
    assert.equal(b.proto[0], 58);
    assert.equal(b.l4Off[0], 14 + 40 + 8 + 24 + 8);
    assert.equal(b.icmpType[0], 128);
  });

  it('IPv6 fragments: the first has ports, a later one has none', () => {
    const first = decodeOne(eth(0x86dd, ipv6({ nh: 44, payload: frag6(17, 0, true, udp(5353, 5353, [1, 2, 3, 4])) })));
    assert.ok(has(first, PF.FRAGMENT));
    assert.ok(!has(first, PF.NONFIRST_FRAGMENT));
    assert.equal(first.proto[0], 17);
    assert.equal(first.sport[0], 5353);
    assert.equal(row(first).flags, 'fragment');
    const later = decodeOne(eth(0x86dd, ipv6({ nh: 44, payload: frag6(17, 100, false, [1, 2, 3, 4, 5, 6, 7, 8]) })));
    assert.ok(has(later, PF.FRAGMENT | PF.NONFIRST_FRAGMENT));
    assert.equal(later.proto[0], 17);
    assert.ok(!has(later, PF.HAS_PORTS));
    assert.equal(later.l4Off[0], -1);
    assert.equal(row(later).sport, undefined);
    // an atomic fragment (offset 0, M = 0) is not a fragment
    const atomic = decodeOne(eth(0x86dd, ipv6({ nh: 44, payload: frag6(6, 0, false, tcp(1, 2)) })));
    assert.ok(!has(atomic, PF.FRAGMENT));
    assert.equal(atomic.dport[0], 2);
  });

  it('IPv4 fragments: MF on the first, offset on the others (no L4 there)', () => {
    const first = decodeOne(eth(0x0800, ipv4({ proto: 17, frag: 0x2000, payload: udp(53, 3333, [0, 0, 0, 0]) })));
    assert.equal(first.flags[0] & (PF.FRAGMENT | PF.NONFIRST_FRAGMENT), PF.FRAGMENT);
    assert.equal(first.sport[0], 53);
    const later = decodeOne(eth(0x0800, ipv4({ proto: 17, frag: 185, payload: [9, 9, 9, 9, 9, 9, 9, 9] })));
    assert.ok(has(later, PF.FRAGMENT | PF.NONFIRST_FRAGMENT));
    assert.ok(!has(later, PF.HAS_PORTS));
    assert.deepEqual(
      Object.keys(row(later)).filter((k) => ['sport', 'dport'].includes(k)),
      [],
    );
    assert.equal(row(later).proto, '17');
    // the UDP length of a first fragment counts the whole datagram: not malformed, DNS read from the part present
    const part = decodeOne(eth(0x0800, ipv4({ proto: 17, frag: 0x2000, payload: udp(40000, 53, dnsQuery('big.example'), 3000) })));
    assert.ok(!has(part, PF.MALFORMED));
    assert.equal(row(part).dns_qname, 'big.example');
    const part6 = decodeOne(eth(0x86dd, ipv6({ nh: 44, payload: frag6(17, 0, true, udp(5353, 53, dnsQuery('v6.example'), 1500)) })));
    assert.ok(!has(part6, PF.MALFORMED));
    assert.equal(row(part6).dns_qname, 'v6.example');
    // DF alone is not a fragment
    const df = decodeOne(eth(0x0800, ipv4({ proto: 6, frag: 0x4000, payload: tcp(1, 2) })));
    assert.ok(!has(df, PF.FRAGMENT));
  });

  it('ICMP echo: type and code, no error', () => {
    const b = decodeOne(eth(0x0800, ipv4({ proto: 1, payload: icmp(8, 0, [0, 1, 0, 2], [0xaa]) })));
    assert.ok(has(b, PF.HAS_ICMP));
    assert.ok(!has(b, PF.ICMP_ERROR));
    assert.equal(b.icmpType[0], 8);
    assert.equal(b.payOff[0], 42);
    assert.equal(row(b).icmp_type, '8');
    assert.equal(row(b).icmp_code, '0');
  });

  for (const type of [3, 4, 5, 11, 12]) {
    it(`ICMP error type ${type}: icmpInnerOff points at the quoted IPv4 header`, () => {
      const quoted = ipv4({ proto: 17, src: '10.0.0.2', dst: '8.8.8.8', payload: udp(4444, 53) }).slice(0, 28);
      const b = decodeOne(eth(0x0800, ipv4({ proto: 1, payload: icmp(type, 1, [0, 0, 0, 0], quoted) })));
      assert.ok(has(b, PF.ICMP_ERROR));
      assert.equal(b.icmpInnerOff[0], 14 + 20 + 8);
      assert.equal(b.icmpType[0], type);
      assert.ok(!has(b, PF.HAS_PORTS), 'the quoted ports are not the packet ports');
    });
  }

  for (const type of [1, 2, 3, 4]) {
    it(`ICMPv6 error type ${type} quotes an IPv6 header`, () => {
      const quoted = ipv6({ nh: 17, payload: udp(1, 2) });
      const b = decodeOne(eth(0x86dd, ipv6({ nh: 58, payload: icmp(type, 0, [0, 0, 0, 0], quoted) })));
      assert.ok(has(b, PF.ICMP_ERROR));
      assert.equal(b.icmpInnerOff[0], 14 + 40 + 8);
    });
  }

  it('ICMPv6 echo and an ICMP error whose quote is too short: no ICMP_ERROR', () => {
    const echo = decodeOne(eth(0x86dd, ipv6({ nh: 58, payload: icmp(128, 0) })));
    assert.ok(!has(echo, PF.ICMP_ERROR));
    assert.equal(echo.icmpType[0], 128);
    const short = decodeOne(eth(0x0800, ipv4({ proto: 1, payload: icmp(3, 3, [0, 0, 0, 0], [0x45, 0, 0]) })));
    assert.ok(!has(short, PF.ICMP_ERROR));
    assert.equal(short.icmpInnerOff[0], -1);
  });

  it('VXLAN on 4789: vni, inner Ethernet, IP and ports', () => {
    const inner = eth(0x0800, ipv4({ proto: 6, src: '10.244.1.5', dst: '10.244.2.7', payload: tcp(40000, 8080) }));
    const b = decodeOne(eth(0x0800, ipv4({ proto: 17, src: '172.16.0.1', dst: '172.16.0.2', payload: udp(51000, 4789, vxlan(4096, inner)) })));
    assert.ok(has(b, PF.TUNNEL | PF.INNER_PORTS));
    assert.ok(!has(b, PF.GENEVE));
    assert.equal(b.vni[0], 4096);
    assert.equal(b.innerL2Off[0], 14 + 20 + 8 + 8);
    assert.equal(b.innerL3Off[0], 14 + 20 + 8 + 8 + 14);
    assert.equal(b.innerL4Off[0], b.innerL3Off[0] + 20);
    assert.equal(b.innerIpVer[0], 4);
    assert.equal(b.innerProto[0], 6);
    assert.equal(b.innerSport[0], 40000);
    assert.equal(b.innerDport[0], 8080);
    assert.equal(b.sport[0], 51000, 'outer ports stay the outer ones');
    const r = row(b);
    assert.equal(r.vni, '4096');
    assert.equal(r.inner_src, '10.244.1.5');
    assert.equal(r.inner_dst, '10.244.2.7');
    assert.equal(r.l3_src, '172.16.0.1');
  });

  it('VXLAN on 8472 only when configured', () => {
    const inner = eth(0x86dd, ipv6({ nh: 17, payload: udp(1, 2) }));
    const f = eth(0x0800, ipv4({ proto: 17, payload: udp(40000, 8472, vxlan(1, inner)) }));
    assert.ok(!has(decodeOne(f), PF.TUNNEL));
    const b = decodeOne(f, { vxlanPorts: [8472] });
    assert.ok(has(b, PF.TUNNEL));
    assert.equal(row(b).inner_src, '2001:db8::1');
    assert.ok(!has(decodeOne(f, { vxlanPorts: [9999] }), PF.TUNNEL), 'the table follows the options');
  });

  it('GENEVE with options and an Ethernet payload', () => {
    const opts = [0x01, 0x02, 0x80, 0x01, 0xde, 0xad, 0xbe, 0xef]; // one 4-byte-data option
    const inner = eth(0x0800, ipv4({ proto: 1, src: '30.0.0.1', dst: '30.0.0.2', payload: icmp(8, 0) }));
    const b = decodeOne(eth(0x0800, ipv4({ proto: 17, payload: udp(12618, 6081, geneve(10, 0x6558, opts, inner)) })));
    assert.ok(has(b, PF.TUNNEL | PF.GENEVE));
    assert.equal(b.vni[0], 10);
    assert.equal(b.innerL2Off[0], 14 + 20 + 8 + 8 + 8);
    assert.equal(row(b).inner_dst, '30.0.0.2');
    assert.equal(row(b).icmp_type, '8', 'the outermost ICMP header is the inner one here');
  });

  it('GENEVE carrying IPv4 directly (protocol type 0x0800)', () => {
    const inner = ipv4({ proto: 6, src: '1.1.1.1', dst: '2.2.2.2', payload: tcp(1, 22) });
    const b = decodeOne(eth(0x0800, ipv4({ proto: 17, payload: udp(1, 6081, geneve(7, 0x0800, [], inner)) })));
    assert.equal(b.innerL2Off[0], -1);
    assert.equal(b.innerL3Off[0], 14 + 20 + 8 + 8);
    assert.equal(b.innerDport[0], 22);
  });

  it('DNS query over UDP: qname offset, qtype and the printed name', () => {
    const b = decodeOne(eth(0x0800, ipv4({ proto: 17, payload: udp(40000, 53, dnsQuery('www.example.com', 28)) })));
    assert.ok(has(b, PF.DNS));
    assert.equal(b.dnsOff[0], 14 + 20 + 8 + 12);
    assert.equal(b.dnsQtype[0], 28);
    assert.equal(row(b).dns_qname, 'www.example.com');
  });

  it('DNS response from port 53, root name, and over TCP after the length prefix', () => {
    const resp = decodeOne(eth(0x0800, ipv4({ proto: 17, payload: udp(53, 40000, dnsQuery('')) })));
    assert.equal(row(resp).dns_qname, '<Root>');
    const msg = dnsQuery('kubernetes.default.svc.cluster.local', 33);
    const t = decodeOne(eth(0x86dd, ipv6({ nh: 6, payload: tcp(50000, 53, [...u16(msg.length), ...msg]) })));
    assert.ok(has(t, PF.DNS));
    assert.equal(t.dnsQtype[0], 33);
    assert.equal(t.dnsOff[0], 14 + 40 + 20 + 2 + 12);
    assert.equal(row(t).dns_qname, 'kubernetes.default.svc.cluster.local');
  });

  it('DNS over TCP needs the whole message in the segment', () => {
    const msg = dnsQuery('a.b');
    const b = decodeOne(eth(0x0800, ipv4({ proto: 6, payload: tcp(50000, 53, [...u16(msg.length + 100), ...msg]) })));
    assert.ok(!has(b, PF.DNS));
  });

  it('DNS: a backward compression pointer is followed; loops, forward pointers and a UDP length of 8 are not DNS', () => {
    // question name = "x" + pointer to the "x" label itself would loop; "c" then pointer back to offset 12 is fine only
    // when the target precedes the pointer: build "a" . "b" . 0 then a second question is irrelevant; test a first name
    // made of label "z" followed by a pointer to offset 12 (its own start): a loop.
    const loop = [...u16(1), ...u16(0), ...u16(1), 0, 0, 0, 0, 0, 0, 1, 0x7a, 0xc0, 12, 0, 1, 0, 1];
    const l = decodeOne(eth(0x0800, ipv4({ proto: 17, payload: udp(1, 53, loop) })));
    assert.ok(!has(l, PF.DNS));
    assert.ok(!has(l, PF.MALFORMED), 'a bad DNS message does not make the packet malformed');
    const fwd = [...u16(1), ...u16(0), ...u16(1), 0, 0, 0, 0, 0, 0, 0xc0, 20, 0, 1, 0, 1, 1, 0x61, 0];
    assert.ok(!has(decodeOne(eth(0x0800, ipv4({ proto: 17, payload: udp(1, 53, fwd) }))), PF.DNS));
    const empty = decodeOne(eth(0x0800, ipv4({ proto: 17, payload: udp(1024, 53, dnsQuery('a.b'), 8) })));
    assert.ok(!has(empty, PF.DNS), 'the UDP length says there is no payload');
    // the readable name after a pointer: "www" + pointer to an earlier "example.com" in the same message is
    // only possible in later questions; readDnsName handles it
    const m = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, ...Buffer.from('example'), 3, ...Buffer.from('com'), 0, 3, ...Buffer.from('www'), 0xc0, 12]);
    assert.equal(readDnsName(m, 0, 25, m.length), 'www.example.com');
    assert.equal(readDnsName(m, 0, 25, m.length - 1), undefined, 'a cut pointer');
  });

  it('a DNS question cut by the capture sets truncated and no DNS', () => {
    const f = eth(0x0800, ipv4({ proto: 17, payload: udp(1, 53, dnsQuery('abcdef.example')) }));
    const b = decodeOne({ bytes: f, caplen: 14 + 20 + 8 + 12 + 5 });
    assert.ok(has(b, PF.TRUNCATED));
    assert.ok(!has(b, PF.DNS));
    assert.equal(b.sport[0], 1);
  });

  it('DNS inside VXLAN is found too (the outermost DNS message)', () => {
    const inner = eth(0x0800, ipv4({ proto: 17, payload: udp(3000, 53, dnsQuery('svc.local')) }));
    const b = decodeOne(eth(0x0800, ipv4({ proto: 17, payload: udp(40000, 4789, vxlan(5, inner)) })));
    assert.equal(row(b).dns_qname, 'svc.local');
    assert.equal(b.innerDport[0], 53);
  });

  it('DNS two tunnels deep (VXLAN in GENEVE): inner columns from the first tunnel, the qname from the second', () => {
    const deepest = eth(0x0800, ipv4({ proto: 17, payload: udp(3000, 53, dnsQuery('deep.example')) }));
    const mid = ipv4({ proto: 17, src: '10.9.9.9', dst: '10.8.8.8', payload: udp(4000, 4789, vxlan(9, deepest)) });
    const b = decodeOne(eth(0x0800, ipv4({ proto: 17, payload: udp(5000, 6081, geneve(3, 0x0800, [], mid)) })));
    assert.equal(b.vni[0], 3);
    assert.equal(row(b).inner_src, '10.9.9.9');
    assert.equal(row(b).dns_qname, 'deep.example');
  });

  it('ARP and 802.3/LLC frames: Ethernet only', () => {
    const arp = decodeOne(eth(0x0806, new Array<number>(28).fill(0)));
    assert.equal(arp.ethType[0], 0x0806);
    assert.equal(arp.l3Off[0], -1);
    assert.equal(arp.flags[0], 0);
    const llc = decodeOne(eth(38, new Array<number>(38).fill(0xaa)));
    assert.equal(llc.ethType[0], 0);
    assert.deepEqual(Object.keys(row(llc)), ['eth_src', 'eth_dst']);
  });
});

describe('decoder: link types', () => {
  const ipPkt = ipv4({ proto: 17, src: '1.2.3.4', dst: '5.6.7.8', payload: udp(7, 9) });
  const ip6Pkt = ipv6({ nh: 6, payload: tcp(7, 9) });

  it('Linux SLL (113) and SLL2 (276)', () => {
    const sll = [0, 0, 0, 1, 0, 6, ...MAC_A, 0, 0, ...u16(0x0800), ...ipPkt];
    const b = decodeOne({ bytes: sll, linktype: 113 });
    assert.equal(b.l2Off[0], -1, 'no Ethernet header');
    assert.equal(b.l3Off[0], 16);
    assert.equal(b.ethType[0], 0x0800);
    assert.equal(row(b).l3_src, '1.2.3.4');
    assert.equal(row(b).eth_src, undefined);
    const sll2 = [...u16(0x86dd), 0, 0, ...u32(3), 0, 1, 0, 6, ...MAC_A, 0, 0, ...ip6Pkt];
    const c = decodeOne({ bytes: sll2, linktype: 276 });
    assert.equal(c.l3Off[0], 20);
    assert.equal(c.ipVer[0], 6);
    assert.equal(c.dport[0], 9);
    // SLL with an 802.1Q tag left in (protocol 0x8100)
    const sllv = [0, 0, 0, 1, 0, 6, ...MAC_A, 0, 0, ...u16(0x8100), ...u16(77), ...u16(0x0800), ...ipPkt];
    const d = decodeOne({ bytes: sllv, linktype: 113 });
    assert.equal(d.vlan[0], 77);
    assert.equal(d.l3Off[0], 20);
  });

  it('raw IP (101, 12) by version nibble; IPv4 (228) and IPv6 (229)', () => {
    for (const lt of [101, 12, 14]) {
      assert.equal(decodeOne({ bytes: ipPkt, linktype: lt }).ipVer[0], 4, `linktype ${lt}`);
      assert.equal(decodeOne({ bytes: ip6Pkt, linktype: lt }).ipVer[0], 6, `linktype ${lt}`);
    }
    const v4 = decodeOne({ bytes: ipPkt, linktype: 228 });
    assert.equal(v4.l3Off[0], 0);
    assert.equal(v4.ethType[0], 0x0800);
    assert.equal(decodeOne({ bytes: ip6Pkt, linktype: 101 }).ethType[0], 0x86dd);
    assert.equal(decodeOne({ bytes: ip6Pkt, linktype: 229 }).ethType[0], 0x86dd);
    assert.equal(v4.sport[0], 7);
    assert.equal(decodeOne({ bytes: ip6Pkt, linktype: 229 }).proto[0], 6);
    const bad = decodeOne({ bytes: ip6Pkt, linktype: 228 });
    assert.equal(bad.malformed[0], MAL.IP_VERSION_MISMATCH);
    const unknown = decodeOne({ bytes: [0x50, ...ipPkt.slice(1)], linktype: 101 });
    assert.equal(unknown.malformed[0], MAL.IP_VERSION_UNKNOWN);
  });

  it('BSD loopback (0): the family in either byte order, AF_INET6 24/28/30', () => {
    const le = decodeOne({ bytes: [2, 0, 0, 0, ...ipPkt], linktype: 0 });
    assert.equal(le.l3Off[0], 4);
    assert.equal(le.ethType[0], 0x0800);
    assert.equal(row(le).l3_dst, '5.6.7.8');
    for (const af of [24, 28, 30]) {
      const be = decodeOne({ bytes: [0, 0, 0, af, ...ip6Pkt], linktype: 0 });
      assert.equal(be.ipVer[0], 6, `AF ${af} big-endian`);
      const l = decodeOne({ bytes: [af, 0, 0, 0, ...ip6Pkt], linktype: 0 });
      assert.equal(l.ipVer[0], 6, `AF ${af} little-endian`);
    }
    const ethertype = decodeOne({ bytes: [0x0f, 0, 0x08, 0, ...ipPkt], linktype: 0 });
    assert.equal(ethertype.ipVer[0], 4, 'an IPv4 EtherType in the header instead of a family');
    const other = decodeOne({ bytes: [7, 0, 0, 0, ...ipPkt], linktype: 0 });
    assert.equal(other.l3Off[0], -1);
    assert.equal(other.flags[0], 0);
  });

  it('any other link type: unsupported-linktype and nothing else', () => {
    for (const lt of [253, 239, 127, 274, 65535]) {
      const b = decodeOne({ bytes: eth(0x0800, ipPkt), linktype: lt });
      assert.equal(b.flags[0], PF.UNSUPPORTED_LINKTYPE, `linktype ${lt}`);
      assert.equal(b.l2Off[0], -1);
      assert.deepEqual(row(b), { flags: 'unsupported-linktype' });
    }
  });
});

describe('decoder: truncation (a flag, never an exception)', () => {
  const inner = eth(0x0800, ipv4({ proto: 6, payload: tcp(1, 2) }));
  const full = eth(0x0800, ipv4({ proto: 17, options: [1, 1, 1, 1], payload: udp(1, 4789, vxlan(7, inner)) }));
  // offsets in `full`: eth 0, ip 14 (24 bytes), udp 38, vxlan 46, inner eth 54, inner ip 68, inner tcp 88
  const cases: [string, number, (b: Batch) => void][] = [
    ['in the Ethernet header', 10, (b) => assert.equal(b.l2Off[0], -1)],
    ['in the IPv4 header', 30, (b) => assert.equal(b.l3Off[0], -1)],
    ['in the IPv4 options', 36, (b) => assert.equal(row(b).l3_src, '10.0.0.1')],
    ['in the UDP header (ports kept)', 44, (b) => assert.equal(b.sport[0], 1)],
    ['in the VXLAN header', 50, (b) => assert.ok(!has(b, PF.TUNNEL))],
    ['in the inner Ethernet header', 60, (b) => assert.equal(b.vni[0], 7)],
    ['in the inner IPv4 header', 80, (b) => assert.equal(b.innerL3Off[0], -1)],
    ['in the inner TCP header (ports kept)', 95, (b) => assert.equal(b.innerDport[0], 2)],
  ];
  for (const [what, caplen, check] of cases) {
    it(what, () => {
      const b = decodeOne({ bytes: full, caplen });
      assert.ok(has(b, PF.TRUNCATED), 'truncated');
      assert.ok(!has(b, PF.MALFORMED), 'not malformed');
      assert.equal(row(b).flags, 'truncated');
      check(b);
    });
  }

  it('in VLAN tags, IPv6, IPv6 extension headers, TCP, ICMP, GENEVE options, SLL', () => {
    const f1 = ethTagged([tag(0x88a8, 1), tag(0x8100, 2)], 0x0800, []);
    assert.ok(has(decodeOne({ bytes: f1, caplen: 16 }), PF.TRUNCATED));
    const f2 = eth(0x86dd, ipv6({ nh: 0, payload: ext6(6, 2, tcp(1, 2)) }));
    assert.ok(has(decodeOne({ bytes: f2, caplen: 40 }), PF.TRUNCATED));
    const e = decodeOne({ bytes: f2, caplen: 14 + 40 + 10 });
    assert.ok(has(e, PF.TRUNCATED));
    assert.equal(e.proto[0], 0, 'the header we could not read');
    assert.equal(e.l4Off[0], -1);
    const f3 = eth(0x0800, ipv4({ proto: 6, payload: tcp(1, 2) }));
    const t = decodeOne({ bytes: f3, caplen: 14 + 20 + 3 });
    assert.ok(has(t, PF.TRUNCATED));
    assert.ok(!has(t, PF.HAS_PORTS));
    const f4 = eth(0x0800, ipv4({ proto: 1, payload: icmp(8, 0) }));
    const ic = decodeOne({ bytes: f4, caplen: 14 + 20 + 2 });
    assert.ok(has(ic, PF.TRUNCATED));
    const f5 = eth(0x0800, ipv4({ proto: 17, payload: udp(1, 6081, geneve(1, 0x6558, new Array<number>(16).fill(0), inner)) }));
    const g = decodeOne({ bytes: f5, caplen: 14 + 20 + 8 + 8 + 4 });
    assert.ok(has(g, PF.TRUNCATED | PF.TUNNEL));
    assert.equal(g.vni[0], 1);
    assert.ok(has(decodeOne({ bytes: [0, 0, 0, 1, 0, 6], linktype: 113 }), PF.TRUNCATED));
    assert.ok(has(decodeOne({ bytes: [2, 0], linktype: 0 }), PF.TRUNCATED));
    assert.ok(has(decodeOne({ bytes: [], linktype: 101 }), PF.TRUNCATED));
  });

  it('a frame shorter than its headers with caplen = wirelen is truncated, not malformed', () => {
    const b = decodeOne(eth(0x0800, [0x45, 0, 0, 20]));
    assert.equal(b.flags[0], PF.TRUNCATED);
  });
});

describe('decoder: malformed reasons', () => {
  const seen = new Set<number>();
  function expectMalformed(bytes: Bytes, code: number, sentence: string, lt = 1, opts: DecodeOptions = {}): Batch {
    const b = decodeOne({ bytes, linktype: lt }, opts);
    assert.ok(has(b, PF.MALFORMED), `malformed flag for ${malformedName(code)}`);
    assert.equal(malformedName(b.malformed[0]), malformedName(code));
    assert.equal(malformedMessage(b, 0, opts), sentence);
    assert.equal(b.malformed[0], code, 'decoding again leaves the same reason');
    seen.add(code);
    return b;
  }

  it('ip-version-mismatch and ip-version-unknown', () => {
    expectMalformed(eth(0x0800, ipv6({ nh: 59, payload: [] })), MAL.IP_VERSION_MISMATCH, 'ip version 6 in a packet typed as IPv4');
    expectMalformed(eth(0x86dd, ipv4({ proto: 6, payload: tcp(1, 2) }).concat(new Array<number>(20).fill(0))), MAL.IP_VERSION_MISMATCH, 'ip version 4 in a packet typed as IPv6');
    expectMalformed([0x70, ...new Array<number>(30).fill(0)], MAL.IP_VERSION_UNKNOWN, 'ip version 7 is neither 4 nor 6', 101);
  });

  it('ip4-header-length: no addresses are reported', () => {
    const b = expectMalformed(eth(0x0800, ipv4({ proto: 6, ihl: 3, payload: tcp(1, 2) })), MAL.IP4_HEADER_LENGTH, 'ip4 header length 12 < 20');
    assert.equal(b.l3Off[0], -1);
    assert.equal(row(b).flags, 'malformed');
  });

  it('ip4-total-length-short and -long', () => {
    expectMalformed(eth(0x0800, ipv4({ proto: 6, total: 16, payload: tcp(1, 2) })), MAL.IP4_TOTAL_LENGTH_SHORT, 'ip4 total length 16 < header length 20');
    const b = expectMalformed(
      eth(0x0800, ipv4({ proto: 17, total: 100, payload: udp(1, 2) })),
      MAL.IP4_TOTAL_LENGTH_LONG,
      'ip4 total length 100 > 28 bytes left in the packet',
    );
    assert.equal(b.sport[0], 1, 'decoding goes on within the frame');
  });

  it('a total length of 0 is TSO (length from the frame), not malformed', () => {
    const b = decodeOne(eth(0x0800, ipv4({ proto: 1, total: 0, payload: icmp(8, 0) })));
    assert.ok(!has(b, PF.MALFORMED));
    assert.equal(b.icmpType[0], 8);
  });

  it('ip6-payload-length-long and ip6-ext-header-long', () => {
    expectMalformed(eth(0x86dd, ipv6({ nh: 17, plen: 200, payload: udp(1, 2) })), MAL.IP6_PAYLOAD_LENGTH_LONG, 'ip6 payload length 200 > 8 bytes left in the packet');
    const ext = ext6(6, 1, []);
    ext[1] = 9; // 80 bytes claimed
    expectMalformed(eth(0x86dd, ipv6({ nh: 60, payload: [...ext, ...tcp(1, 2)] })), MAL.IP6_EXT_HEADER_LONG, 'ip6 extension header length 80 > 28 bytes left in the payload');
  });

  it('tcp-data-offset-short and tcp-header-long', () => {
    const short = tcp(1, 2);
    short[12] = 3 << 4;
    const b = expectMalformed(eth(0x0800, ipv4({ proto: 6, payload: short })), MAL.TCP_DATA_OFFSET_SHORT, 'tcp header length 12 < 20');
    assert.equal(b.sport[0], 1, 'the ports before the fault stay');
    const long = tcp(1, 2, [], 0x10, 28).slice(0, 20);
    // IPv4 total length says the segment is 20 bytes; the frame has padding after it
    expectMalformed(eth(0x0800, ipv4({ proto: 6, payload: long }).concat([0, 0, 0, 0, 0, 0])), MAL.TCP_HEADER_LONG, 'tcp header length 28 > segment length 20');
  });

  it('udp-length-short and udp-length-long', () => {
    expectMalformed(eth(0x0800, ipv4({ proto: 17, payload: udp(1, 4789, [], 0) })), MAL.UDP_LENGTH_SHORT, 'udp length 0 < 8');
    expectMalformed(eth(0x0800, ipv4({ proto: 17, payload: udp(1, 2, [1, 2], 50) })), MAL.UDP_LENGTH_LONG, 'udp length 50 > ip payload length 10');
  });

  it('geneve-version and geneve-options-long', () => {
    expectMalformed(eth(0x0800, ipv4({ proto: 17, payload: udp(1, 6081, geneve(1, 0x6558, [], [], 1)) })), MAL.GENEVE_VERSION, 'geneve version 1 is not 0');
    const g = geneve(1, 0x6558, [], [0, 0, 0, 0]);
    g[0] = 10; // 40 bytes of options claimed, 4 there
    expectMalformed(eth(0x0800, ipv4({ proto: 17, payload: udp(1, 6081, g) })), MAL.GENEVE_OPTIONS_LONG, 'geneve options length 40 > 4 bytes left in the udp payload');
  });

  it('headers that do not fit in what the enclosing length declares', () => {
    const pad = new Array<number>(60).fill(0);
    // IPv4 total length 24: 4 bytes of L4 declared, the frame has more
    expectMalformed(eth(0x0800, ipv4({ proto: 6, total: 24, payload: tcp(1, 2) })), MAL.TCP_HEADER_SHORT, 'tcp header needs 20 bytes, 4 left');
    expectMalformed(eth(0x0800, ipv4({ proto: 17, total: 22, payload: udp(1, 2) })), MAL.UDP_HEADER_SHORT, 'udp header needs 4 bytes, 2 left');
    expectMalformed(eth(0x0800, ipv4({ proto: 1, total: 22, payload: icmp(8, 0) })), MAL.ICMP_HEADER_SHORT, 'icmp header needs 4 bytes, 2 left');
    expectMalformed(eth(0x86dd, ipv6({ nh: 0, plen: 4, payload: ext6(6, 1, pad) })), MAL.IP6_EXT_HEADER_SHORT, 'ip6 extension header needs 8 bytes, 4 left');
    expectMalformed(eth(0x0800, ipv4({ proto: 17, payload: udp(1, 4789, [8, 0, 0, 0], 12).concat(pad) })), MAL.VXLAN_HEADER_SHORT, 'vxlan header needs 8 bytes, 4 left');
    expectMalformed(eth(0x0800, ipv4({ proto: 17, payload: udp(1, 6081, [0, 0, 0x65, 0x58], 12).concat(pad) })), MAL.GENEVE_HEADER_SHORT, 'geneve header needs 8 bytes, 4 left');
    expectMalformed(
      eth(0x0800, ipv4({ proto: 17, payload: udp(1, 4789, vxlan(1, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), 26).concat(pad) })),
      MAL.ETH_HEADER_SHORT,
      'inner ethernet header needs 14 bytes, 10 left',
    );
    const innerShort4 = eth(0x0800, [0x45, 0, 0, 20, 0, 0, 0, 0, 64, 6]);
    expectMalformed(
      eth(0x0800, ipv4({ proto: 17, payload: udp(1, 4789, vxlan(1, innerShort4)).concat(pad) })),
      MAL.IP4_HEADER_SHORT,
      'ip4 header needs 20 bytes, 10 left',
    );
    const innerShort6 = eth(0x86dd, [0x60, 0, 0, 0, 0, 0, 59, 64]);
    expectMalformed(
      eth(0x0800, ipv4({ proto: 17, payload: udp(1, 4789, vxlan(1, innerShort6)).concat(pad) })),
      MAL.IP6_HEADER_SHORT,
      'ip6 header needs 40 bytes, 8 left',
    );
  });

  it('every reason in decode/errors.ts is produced by a frame above', () => {
    const missing = MALFORMED_REASONS.filter((r) => !seen.has(r.code)).map((r) => r.name);
    assert.deepEqual(missing, []);
  });
});

describe('decoder: batches, checksums and output', () => {
  it('resets every decoded column of a reused batch', () => {
    const b = new Batch({ capacity: 4, arenaBytes: 1 << 20 });
    const inner = eth(0x0800, ipv4({ proto: 6, payload: tcp(1, 2) }));
    batchOf([{ bytes: ethTagged([tag(0x8100, 5)], 0x0800, ipv4({ proto: 17, payload: udp(1, 4789, vxlan(3, inner)) })) }], b);
    decodeBatch(b);
    assert.ok(has(b, PF.TUNNEL | PF.HAS_VLAN));
    batchOf([{ bytes: eth(0x0806, new Array<number>(28).fill(0)) }], b);
    decodeBatch(b);
    assert.equal(b.flags[0], 0);
    for (const col of [b.l3Off, b.l4Off, b.payOff, b.innerL2Off, b.innerL3Off, b.innerL4Off, b.icmpInnerOff, b.dnsOff]) assert.equal(col[0], -1);
    for (const col of [b.vlan, b.vni, b.sport, b.innerSport, b.innerProto, b.proto, b.ipVer]) assert.equal(col[0], 0);
  });

  it('decodes every packet of a mixed batch', () => {
    const b = batchOf([
      { bytes: eth(0x0800, ipv4({ proto: 6, payload: tcp(1, 2) })) },
      { bytes: [0, 0, 0, 30, ...ipv6({ nh: 17, payload: udp(3, 4) })], linktype: 0 },
      { bytes: eth(0x0800, ipv4({ proto: 6, payload: tcp(5, 6) })), linktype: 9999 },
    ]);
    decodeBatch(b);
    assert.deepEqual([b.sport[0], b.sport[1], b.sport[2]], [1, 3, 0]);
    assert.deepEqual([b.ipVer[0], b.ipVer[1], b.ipVer[2]], [4, 6, 0]);
    assert.equal(b.flags[2], PF.UNSUPPORTED_LINKTYPE);
  });

  it('verifies checksums only when asked', () => {
    const f = eth(0x0800, ipv4({ proto: 17, payload: udp(1, 2, [1, 2, 3]) }));
    const a = Uint8Array.from(f);
    setIpv4HeaderChecksum(a, 14);
    setL4Checksum(a, 4, 14, 34, a.length, 17);
    const good = Array.from(a);
    assert.ok(!has(decodeOne(good, { verifyChecksums: true }), PF.BAD_CHECKSUM));
    const badIp = good.slice();
    badIp[24] ^= 1;
    assert.ok(has(decodeOne(badIp, { verifyChecksums: true }), PF.BAD_CHECKSUM));
    const badUdp = good.slice();
    badUdp[good.length - 1] ^= 1;
    assert.ok(has(decodeOne(badUdp, { verifyChecksums: true }), PF.BAD_CHECKSUM));
    assert.ok(!has(decodeOne(badUdp), PF.BAD_CHECKSUM), 'off by default');
    const t6 = Uint8Array.from(eth(0x86dd, ipv6({ nh: 6, payload: tcp(1, 2, [7]) })));
    setL4Checksum(t6, 6, 14, 54, t6.length, 6);
    assert.ok(!has(decodeOne(Array.from(t6), { verifyChecksums: true }), PF.BAD_CHECKSUM));
    t6[60] ^= 0x40;
    assert.ok(has(decodeOne(Array.from(t6), { verifyChecksums: true }), PF.BAD_CHECKSUM));
  });

  it('prints the TSV header of the CONTRACT', () => {
    assert.equal(
      TSV_HEADER,
      'n\tcaplen\tlen\teth_src\teth_dst\tvlan\tl3_src\tl3_dst\tproto\tsport\tdport\ticmp_type\ticmp_code\tvni\tinner_src\tinner_dst\tdns_qname\tflags\n',
    );
  });

  it('prints JSONL with numbers as numbers, absent fields omitted, flags and the malformed reason', () => {
    const b = decodeOne(eth(0x0800, ipv4({ proto: 17, frag: 0x2000, payload: udp(1, 53, dnsQuery('a.example', 28)) })));
    const o = JSON.parse(formatJsonRow(b, 0, 3)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(o), ['n', 'caplen', 'len', 'eth_src', 'eth_dst', 'l3_src', 'l3_dst', 'proto', 'sport', 'dport', 'dns_qname', 'flags', 'dns_qtype']);
    assert.equal(o.n, 3);
    assert.equal(o.sport, 1);
    assert.equal(o.dns_qname, 'a.example');
    assert.deepEqual(o.flags, ['fragment']);
    assert.equal(o.dns_qtype, 28);
    const m = decodeOne(eth(0x0800, ipv4({ proto: 6, ihl: 4, payload: tcp(1, 2) })));
    const mo = JSON.parse(formatJsonRow(m, 0, 1)) as Record<string, unknown>;
    assert.equal(mo.malformed, 'ip4-header-length');
    assert.equal(mo.malformed_detail, 'ip4 header length 16 < 20');
    assert.deepEqual(mo.flags, ['malformed']);
  });
});

describe('format helpers', () => {
  const v6 = (s: string) => ipv6Text(Uint8Array.from(ip6(s)), 0);
  it('IPv6 text as tshark prints it (RFC 5952, BSD embedded IPv4)', () => {
    const cases: [string, string][] = [
      ['0:0:0:0:0:ffff:102:304', '::ffff:1.2.3.4'],
      ['0:0:0:0:0:0:102:304', '::1.2.3.4'],
      ['64:ff9b:0:0:0:0:102:304', '64:ff9b::102:304'],
      ['1:0:0:1:0:0:0:1', '1:0:0:1::1'],
      ['1:0:1:0:1:0:1:0', '1:0:1:0:1:0:1:0'],
      ['0:0:0:0:0:0:0:0', '::'],
      ['0:0:0:0:0:0:0:1', '::1'],
      ['fe80:0:0:0:0:0:0:0', 'fe80::'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['0:0:0:0:ffff:0:102:304', '::ffff:0:102:304'],
      ['0:0:0:0:0:ffff:0:0', '::ffff:0.0.0.0'],
      ['0:0:0:0:0:102:304:0', '::102:304:0'],
      ['1:0:0:0:0:0:0:0', '1::'],
      ['0:0:0:0:0:fffe:102:304', '::fffe:102:304'],
      ['0:0:1:0:0:0:0:0', '0:0:1::'],
      ['2001:DB8:0:0:0:0:0:ABCD', '2001:db8::abcd'],
    ];
    for (const [input, want] of cases) assert.equal(v6(input), want, input);
  });

  it('DNS names: control characters and backslashes escaped, invalid UTF-8 replaced, dots kept', () => {
    const labels = (...ls: number[][]) => Uint8Array.from([...ls.flatMap((l) => [l.length, ...l]), 0]);
    const t = (u: Uint8Array) => readDnsName(u, -12, 0, u.length);
    assert.equal(t(labels([0x61, 0x20, 0x62], [0x63, 0x2e, 0x64], [0x65, 0x5c, 0x66], [1, 0x7f, 0xff], [0x63, 0x6f, 0x6d])), 'a b.c.d.e\\\\f.\\001\\177\ufffd.com');
    assert.equal(t(labels([7, 8, 9, 10, 11, 12, 13, 0x1b, 0, 0x22])), '\\a\\b\\t\\n\\v\\f\\r\\033\\000"');
    assert.equal(t(labels([0xc3, 0xa9, 0x74, 0xc3, 0xa9])), 'été');
    assert.equal(t(Uint8Array.from([0])), '<Root>');
    assert.equal(t(Uint8Array.from([64, ...new Array<number>(64).fill(0x61), 0])), undefined, 'label type 0x40');
  });
});

describe('decoder: hostile bytes', () => {
  it('never throws, keeps every offset inside the captured bytes, and decodes the same way twice (seeded fuzz)', () => {
    const rng = new Prng(20240607);
    const inner = eth(0x0800, ipv4({ proto: 17, payload: udp(1, 53, dnsQuery('a.b.example')) }));
    const seeds: Bytes[] = [
      eth(0x0800, ipv4({ proto: 6, options: [1, 1, 1, 0], payload: tcp(1, 53, [0, 20, ...dnsQuery('x.y')]) })),
      ethTagged([tag(0x88a8, 1), tag(0x8100, 2)], 0x86dd, ipv6({ nh: 0, payload: ext6(44, 1, frag6(17, 0, true, udp(1, 53, dnsQuery('q.r')))) })),
      eth(0x0800, ipv4({ proto: 17, payload: udp(1, 4789, vxlan(9, inner)) })),
      eth(0x0800, ipv4({ proto: 17, payload: udp(1, 6081, geneve(9, 0x6558, [0, 1, 0x80, 1, 0, 0, 0, 0], inner)) })),
      eth(0x0800, ipv4({ proto: 1, payload: icmp(3, 3, [0, 0, 0, 0], ipv4({ proto: 17, payload: udp(1, 2) })) })),
      eth(0x86dd, ipv6({ nh: 58, payload: icmp(1, 0, [0, 0, 0, 0], ipv6({ nh: 6, payload: tcp(1, 2) })) })),
    ];
    const linktypes = [1, 1, 1, 1, 113, 276, 101, 0, 228, 229, 147];
    const offsetCols = (b: Batch) => [b.l2Off, b.l3Off, b.l4Off, b.innerL2Off, b.innerL3Off, b.innerL4Off, b.icmpInnerOff, b.dnsOff];
    for (let round = 0; round < 300; round++) {
      const pkts: Pkt[] = [];
      for (let k = 0; k < 64; k++) {
        let bytes: Bytes;
        if (rng.below(8) === 0) {
          bytes = Array.from(rng.fill(new Uint8Array(rng.below(200))));
        } else {
          bytes = seeds[rng.below(seeds.length)].slice();
          const flips = 1 + rng.below(4);
          for (let f = 0; f < flips; f++) bytes[rng.below(bytes.length)] = rng.below(256);
        }
        const caplen = rng.below(3) === 0 ? rng.below(bytes.length + 1) : bytes.length;
        pkts.push({ bytes, caplen, wirelen: bytes.length + (rng.below(4) === 0 ? rng.below(100) : 0), linktype: linktypes[rng.below(linktypes.length)] });
      }
      const b = batchOf(pkts);
      decodeBatch(b, { vxlanPorts: [8472], verifyChecksums: round % 2 === 0 });
      const first = offsetCols(b).map((c) => Array.from(c.subarray(0, b.count)));
      const flags = Array.from(b.flags.subarray(0, b.count));
      for (let i = 0; i < b.count; i++) {
        for (const col of offsetCols(b)) assert.ok(col[i] === -1 || (col[i] >= 0 && col[i] < b.caplen[i]), `offset ${col[i]} of caplen ${b.caplen[i]}`);
        assert.ok(b.payOff[i] === -1 || (b.payOff[i] >= 0 && b.payOff[i] <= b.caplen[i]));
        formatTsvRow(b, i, i + 1);
        formatJsonRow(b, i, i + 1, { vxlanPorts: [8472] });
        if (b.flags[i] & PF.MALFORMED) assert.notEqual(malformedMessage(b, i, { vxlanPorts: [8472] }), '');
      }
      decodeBatch(b, { vxlanPorts: [8472], verifyChecksums: round % 2 === 0 });
      assert.deepEqual(offsetCols(b).map((c) => Array.from(c.subarray(0, b.count))), first);
      assert.deepEqual(Array.from(b.flags.subarray(0, b.count)), flags);
    }
  });
});

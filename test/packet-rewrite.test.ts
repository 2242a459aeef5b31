import { strict as assert } from 'node:assert';
import { Batch, PF } from '../src/core/batch';
import { buildFrame, buildVxlanFrame, FrameSpec, L4Spec } from '../src/packet/build';
import { ipv4ToU32, macHi, macLo, parseMac } from '../src/packet/addr';
import {
  decapVxlan,
  dnat4,
  encapVxlan,
  flowHash4,
  flowHash4Symmetric,
  makeVxlanTemplate,
  packetFlowHash,
  setDstMac,
  setDstMacFrom,
  setSrcMac,
  snat4,
  vxlanSourcePort,
  VXLAN_OUTER_LEN,
} from '../src/packet/rewrite';
import { l4Checksum } from '../src/packet/checksum';
import { Prng } from '../src/gen/prng';
import { decodeBatch } from '../src/decode/decoder';
import { dnsQuery } from '../src/packet/build';

const g16 = (a: Uint8Array, o: number) => (a[o] << 8) | a[o + 1];
const g32 = (a: Uint8Array, o: number) => ((a[o] << 24) | (a[o + 1] << 16) | (a[o + 2] << 8) | a[o + 3]) >>> 0;

/**
 * Fills the decoded columns of packet `i` the way src/decode does, for the header stacks these tests
 * build (Ethernet with VLAN tags, IPv4 / IPv6 without extension headers, TCP / UDP / ICMP, VXLAN on 4789).
 * Kept here so the rewrite primitives are tested on their own; offsets are relative to off[i].
 */
function decodeColumns(b: Batch, i: number): void {
  const a = b.arena;
  const o = b.off[i];
  const end = o + b.caplen[i];
  let flags = 0;
  const l3at = (p: number): [number, number] => {
    let et = g16(a, p + 12);
    let q = p + 14;
    while (et === 0x8100 || et === 0x88a8) {
      et = g16(a, q + 2);
      q += 4;
    }
    return [et, q];
  };
  const [et, l3] = l3at(o);
  b.l2Off[i] = 0;
  b.ethType[i] = et;
  b.l3Off[i] = l3 - o;
  b.l4Off[i] = -1;
  b.payOff[i] = -1;
  b.innerL2Off[i] = -1;
  if (et === 0x0800) {
    b.ipVer[i] = 4;
    b.proto[i] = a[l3 + 9];
    b.src4[i] = g32(a, l3 + 12);
    b.dst4[i] = g32(a, l3 + 16);
    const frag = g16(a, l3 + 6);
    if (frag & 0x3fff) flags |= PF.FRAGMENT;
    if (frag & 0x1fff) flags |= PF.NONFIRST_FRAGMENT;
    else b.l4Off[i] = l3 + ((a[l3] & 15) << 2) - o;
  } else {
    b.ipVer[i] = 6;
    b.proto[i] = a[l3 + 6];
    b.l4Off[i] = l3 + 40 - o;
  }
  const l4 = o + b.l4Off[i];
  if (b.l4Off[i] >= 0 && l4 + 8 <= end) {
    const p = b.proto[i];
    if (p === 6 || p === 17) {
      flags |= PF.HAS_PORTS;
      b.sport[i] = g16(a, l4);
      b.dport[i] = g16(a, l4 + 2);
      if (p === 6) b.tcpFlags[i] = a[l4 + 13];
      b.payOff[i] = b.l4Off[i] + (p === 6 ? (a[l4 + 12] >> 4) * 4 : 8);
      if (p === 17 && b.dport[i] === 4789 && l4 + 16 + 14 <= end) {
        flags |= PF.TUNNEL;
        b.vni[i] = (a[l4 + 12] << 16) | (a[l4 + 13] << 8) | a[l4 + 14];
        const il2 = l4 + 16;
        const [iet, il3] = l3at(il2);
        b.innerL2Off[i] = il2 - o;
        b.innerL3Off[i] = il3 - o;
        b.innerIpVer[i] = iet === 0x0800 ? 4 : 6;
        b.innerProto[i] = iet === 0x0800 ? a[il3 + 9] : a[il3 + 6];
        b.innerSrc4[i] = iet === 0x0800 ? g32(a, il3 + 12) : 0;
        b.innerDst4[i] = iet === 0x0800 ? g32(a, il3 + 16) : 0;
        const il4 = il3 + (iet === 0x0800 ? (a[il3] & 15) << 2 : 40);
        b.innerL4Off[i] = il4 - o;
        if (b.innerProto[i] === 6 || b.innerProto[i] === 17) {
          flags |= PF.INNER_PORTS;
          b.innerSport[i] = g16(a, il4);
          b.innerDport[i] = g16(a, il4 + 2);
        }
      }
    } else if (p === 1 || p === 58) {
      flags |= PF.HAS_ICMP;
      b.icmpType[i] = a[l4];
      b.icmpCode[i] = a[l4 + 1];
      b.payOff[i] = b.l4Off[i] + 8;
    }
  }
  b.flags[i] = flags;
}

/** Puts `frame` (first `caplen` bytes captured) into a fresh slot of `b` and decodes its columns. */
function load(b: Batch, frame: Uint8Array, caplen = frame.length): number {
  const i = b.alloc(caplen);
  b.arena.set(frame.subarray(0, caplen), b.off[i]);
  b.wirelen[i] = frame.length;
  decodeColumns(b, i);
  return i;
}

function bytesOf(b: Batch, i: number): string {
  return Buffer.from(b.packet(i)).toString('hex');
}
function hex(a: Uint8Array): string {
  return Buffer.from(a).toString('hex');
}

const POD = '10.244.1.5';
const NODE = '10.127.130.11';
const EXT = '93.184.216.34';
const VIP = '10.96.0.20';
const BACKEND = '10.244.2.7';

function tcp(sport: number, dport: number, payload: Uint8Array | string = ''): L4Spec {
  return { proto: 'tcp', sport, dport, seq: 1000, ack: 2000, flags: 'PA', payload };
}

describe('packet/rewrite', () => {
  let b: Batch;
  beforeEach(() => {
    b = new Batch({ capacity: 64, arenaBytes: 1 << 20 });
    b.reset(1);
  });

  describe('MAC rewrite', () => {
    it('sets source and destination MACs from (hi, lo) pairs and from a MAC table', () => {
      const spec = (src: string, dst: string): FrameSpec => ({ eth: { src, dst }, ip: { version: 4, src: POD, dst: EXT }, l4: tcp(1, 2) });
      const i = load(b, buildFrame(spec('0e:2a:0a:f4:01:05', '00:15:5d:00:00:01')));
      assert.ok(setSrcMac(b, i, macHi('00:15:5d:aa:bb:cc'), macLo('00:15:5d:aa:bb:cc')));
      assert.ok(setDstMac(b, i, macHi('02:11:0a:f4:02:07'), macLo('02:11:0a:f4:02:07')));
      assert.equal(bytesOf(b, i), hex(buildFrame(spec('00:15:5d:aa:bb:cc', '02:11:0a:f4:02:07'))));
      const table = new Uint8Array(18);
      table.set(parseMac('12:34:56:78:9a:bc'), 12);
      assert.ok(setDstMacFrom(b, i, table, 12));
      assert.equal(bytesOf(b, i), hex(buildFrame(spec('00:15:5d:aa:bb:cc', '12:34:56:78:9a:bc'))));
    });

    it('refuses a packet without an Ethernet header', () => {
      const i = load(b, buildFrame({ ip: { version: 4, src: POD, dst: EXT } }));
      b.l2Off[i] = -1;
      const before = bytesOf(b, i);
      assert.equal(setSrcMac(b, i, 1, 2), false);
      assert.equal(bytesOf(b, i), before);
    });
  });

  describe('SNAT / DNAT: the rewritten packet equals the packet built in its rewritten form', () => {
    interface Case {
      name: string;
      op: 'snat' | 'dnat';
      before: FrameSpec;
      addr: string;
      port: number;
      after: FrameSpec;
    }
    const eth = { src: '0e:2a:0a:f4:01:05', dst: '00:15:5d:00:00:01' };
    const cases: Case[] = [];
    for (const n of [0, 1, 2, 3, 17, 1460]) {
      const pay = new Prng(n).fill(new Uint8Array(n));
      cases.push({
        name: `TCP SNAT, ${n}-byte payload`,
        op: 'snat',
        before: { eth, ip: { version: 4, src: POD, dst: EXT, id: 77 }, l4: tcp(40000, 443, pay) },
        addr: NODE,
        port: 50001,
        after: { eth, ip: { version: 4, src: NODE, dst: EXT, id: 77 }, l4: tcp(50001, 443, pay) },
      });
      cases.push({
        name: `UDP DNAT, ${n}-byte payload`,
        op: 'dnat',
        before: { eth, ip: { version: 4, src: POD, dst: VIP }, l4: { proto: 'udp', sport: 33333, dport: 53, payload: pay } },
        addr: BACKEND,
        port: 5353,
        after: { eth, ip: { version: 4, src: POD, dst: BACKEND }, l4: { proto: 'udp', sport: 33333, dport: 5353, payload: pay } },
      });
    }
    cases.push(
      {
        name: 'TCP DNAT to a ClusterIP backend (VLAN-tagged)',
        op: 'dnat',
        before: { eth: { ...eth, vlans: [{ id: 7 }] }, ip: { version: 4, src: POD, dst: VIP }, l4: tcp(40000, 80, 'GET / HTTP/1.1\r\n') },
        addr: BACKEND,
        port: 8080,
        after: { eth: { ...eth, vlans: [{ id: 7 }] }, ip: { version: 4, src: POD, dst: BACKEND }, l4: tcp(40000, 8080, 'GET / HTTP/1.1\r\n') },
      },
      {
        name: 'UDP without checksum (0) stays without',
        op: 'snat',
        before: { eth, ip: { version: 4, src: POD, dst: EXT }, l4: { proto: 'udp', sport: 1000, dport: 123, checksum: 'zero', payload: 'ntp' } },
        addr: NODE,
        port: 49200,
        after: { eth, ip: { version: 4, src: NODE, dst: EXT }, l4: { proto: 'udp', sport: 49200, dport: 123, checksum: 'zero', payload: 'ntp' } },
      },
      {
        name: 'ICMP echo request SNAT rewrites the identifier as the port',
        op: 'snat',
        before: { eth, ip: { version: 4, src: POD, dst: EXT }, l4: { proto: 'icmp', id: 1, seq: 9, payload: 'abcdefghijklmnopqrstuvwabcdefghi' } },
        addr: NODE,
        port: 49153,
        after: { eth, ip: { version: 4, src: NODE, dst: EXT }, l4: { proto: 'icmp', id: 49153, seq: 9, payload: 'abcdefghijklmnopqrstuvwabcdefghi' } },
      },
      {
        name: 'ICMP echo reply DNAT restores the identifier',
        op: 'dnat',
        before: { eth, ip: { version: 4, src: EXT, dst: NODE }, l4: { proto: 'icmp', type: 0, id: 49153, seq: 9, payload: 'x' } },
        addr: POD,
        port: 1,
        after: { eth, ip: { version: 4, src: EXT, dst: POD }, l4: { proto: 'icmp', type: 0, id: 1, seq: 9, payload: 'x' } },
      },
      {
        name: 'ICMP error: only the address changes (the embedded header is not rewritten)',
        op: 'dnat',
        before: { eth, ip: { version: 4, src: EXT, dst: NODE }, l4: { proto: 'icmp', type: 3, code: 3, rest: 0, payload: 'embedded' } },
        addr: POD,
        port: 777,
        after: { eth, ip: { version: 4, src: EXT, dst: POD }, l4: { proto: 'icmp', type: 3, code: 3, rest: 0, payload: 'embedded' } },
      },
      {
        name: 'port -1 keeps the port',
        op: 'snat',
        before: { eth, ip: { version: 4, src: POD, dst: EXT }, l4: tcp(40000, 443) },
        addr: NODE,
        port: -1,
        after: { eth, ip: { version: 4, src: NODE, dst: EXT }, l4: tcp(40000, 443) },
      },
      {
        name: 'non-first fragment: the address only (there is no L4 header)',
        op: 'snat',
        before: { eth, ip: { version: 4, src: POD, dst: EXT, fragOffset: 1480, id: 5 }, l4: { proto: 'raw', protocol: 17, payload: 'rest of datagram' } },
        addr: NODE,
        port: 50000,
        after: { eth, ip: { version: 4, src: NODE, dst: EXT, fragOffset: 1480, id: 5 }, l4: { proto: 'raw', protocol: 17, payload: 'rest of datagram' } },
      },
    );
    for (const c of cases) {
      it(c.name, () => {
        const i = load(b, buildFrame(c.before));
        const ok = c.op === 'snat' ? snat4(b, i, ipv4ToU32(c.addr), c.port) : dnat4(b, i, ipv4ToU32(c.addr), c.port);
        assert.ok(ok);
        assert.equal(bytesOf(b, i), hex(buildFrame(c.after)));
        const expected = load(b, buildFrame(c.after));
        assert.equal(b.src4[i], b.src4[expected]);
        assert.equal(b.dst4[i], b.dst4[expected]);
        assert.equal(b.sport[i], b.sport[expected]);
        assert.equal(b.dport[i], b.dport[expected]);
      });
    }

    it('a UDP checksum that becomes 0 is written as ffff', () => {
      // Payload word chosen so that the rewritten packet sums to ffff (its checksum computes to 0).
      const mk = (sport: number, word: number): FrameSpec => ({
        eth,
        ip: { version: 4, src: POD, dst: EXT },
        l4: { proto: 'udp', sport, dport: 9, payload: Uint8Array.of(word >>> 8, word & 0xff) },
      });
      const probe = buildFrame(mk(50000, 0));
      const word = g16(probe, 40);
      const after = buildFrame(mk(50000, word));
      assert.equal(g16(after, 40), 0xffff);
      assert.equal(l4Checksum(after, 4, 14, 34, after.length, 17), 0xffff);
      const i = load(b, buildFrame(mk(40000, word)));
      snat4(b, i, ipv4ToU32(POD), 50000);
      assert.equal(bytesOf(b, i), hex(after));
    });

    it('a truncated capture is rewritten consistently with the whole packet', () => {
      const pay = new Prng(3).fill(new Uint8Array(1000));
      const full = buildFrame({ eth, ip: { version: 4, src: POD, dst: EXT }, l4: tcp(40000, 443, pay) });
      const i = load(b, full, 96);
      snat4(b, i, ipv4ToU32(NODE), 50001);
      const expected = buildFrame({ eth, ip: { version: 4, src: NODE, dst: EXT }, l4: tcp(50001, 443, pay) });
      assert.equal(bytesOf(b, i), hex(expected.subarray(0, 96)));
      // Cut inside the TCP header: the port is rewritten, the uncaptured checksum is left alone.
      const j = load(b, full, 14 + 20 + 4);
      snat4(b, j, ipv4ToU32(NODE), 50001);
      assert.equal(bytesOf(b, j), hex(expected.subarray(0, 38)));
    });

    it('refuses IPv6 and leaves the packet unchanged', () => {
      const f = buildFrame({ ip: { version: 6, src: 'fd00::1', dst: 'fd00::2' }, l4: tcp(1, 2) });
      const i = load(b, f);
      assert.equal(snat4(b, i, 1, 2), false);
      assert.equal(dnat4(b, i, 1, 2), false);
      assert.equal(bytesOf(b, i), hex(f));
    });
  });

  describe('VXLAN', () => {
    const tmplSpec = { srcMac: '00:15:5d:00:00:11', dstMac: '00:15:5d:00:00:12', srcIp: NODE, dstIp: '10.127.130.12', vni: 4096 };
    const innerSpec = (payload: string): FrameSpec => ({
      eth: { src: '0e:2a:0a:f4:01:05', dst: '0e:2a:0a:f4:02:07' },
      ip: { version: 4, src: POD, dst: BACKEND, ttl: 128 },
      l4: tcp(40000, 8080, payload),
    });

    for (const payload of ['', 'a', 'odd-length payload!', 'x'.repeat(1400)]) {
      it(`encapsulation prepends the template and equals the VXLAN frame built directly (${payload.length}-byte payload)`, () => {
        const inner = buildFrame(innerSpec(payload));
        const i = load(b, inner);
        const off0 = b.off[i];
        const tmpl = makeVxlanTemplate(tmplSpec);
        const sport = vxlanSourcePort(packetFlowHash(b, i));
        assert.ok(encapVxlan(b, i, tmpl, sport, 0x1234));
        const expected = buildVxlanFrame({
          eth: { src: tmplSpec.srcMac, dst: tmplSpec.dstMac },
          ip: { version: 4, src: NODE, dst: '10.127.130.12', id: 0x1234 },
          sport,
          vni: 4096,
          inner,
        });
        assert.equal(bytesOf(b, i), hex(expected));
        assert.equal(b.off[i], off0 - VXLAN_OUTER_LEN);
        assert.equal(b.caplen[i], expected.length);
        assert.equal(b.wirelen[i], expected.length);
        // The columns say what a decoder would say about the new packet.
        const j = load(b, expected);
        for (const col of ['l2Off', 'l3Off', 'l4Off', 'payOff', 'ipVer', 'proto', 'src4', 'dst4', 'sport', 'dport', 'vni', 'flags', 'innerL2Off', 'innerL3Off', 'innerL4Off', 'innerIpVer', 'innerProto', 'innerSrc4', 'innerDst4', 'innerSport', 'innerDport'] as const) {
          assert.equal(b[col][i], b[col][j], col);
        }
      });
    }

    it('outer lengths follow the wire length of a truncated inner packet', () => {
      const inner = buildFrame(innerSpec('y'.repeat(500)));
      const i = load(b, inner, 80);
      assert.ok(encapVxlan(b, i, makeVxlanTemplate(tmplSpec), 50000));
      const expected = buildVxlanFrame({ eth: { src: tmplSpec.srcMac, dst: tmplSpec.dstMac }, ip: { version: 4, src: NODE, dst: '10.127.130.12' }, sport: 50000, vni: 4096, inner });
      assert.equal(bytesOf(b, i), hex(expected.subarray(0, 130)));
      assert.equal(b.wirelen[i], expected.length);
    });

    it('decapsulation restores the inner packet, its columns, and returns the VNI', () => {
      const inner = buildFrame(innerSpec('hello'));
      const i = load(b, inner);
      const before = { off: b.off[i], l3Off: b.l3Off[i], l4Off: b.l4Off[i], payOff: b.payOff[i], src4: b.src4[i], dst4: b.dst4[i], sport: b.sport[i], dport: b.dport[i], flags: b.flags[i], tcpFlags: b.tcpFlags[i], ethType: b.ethType[i] };
      encapVxlan(b, i, makeVxlanTemplate(tmplSpec), 50000);
      assert.equal(decapVxlan(b, i), 4096);
      assert.equal(bytesOf(b, i), hex(inner));
      assert.deepEqual(
        { off: b.off[i], l3Off: b.l3Off[i], l4Off: b.l4Off[i], payOff: b.payOff[i], src4: b.src4[i], dst4: b.dst4[i], sport: b.sport[i], dport: b.dport[i], flags: b.flags[i], tcpFlags: b.tcpFlags[i], ethType: b.ethType[i] },
        before,
      );
      assert.equal(b.wirelen[i], inner.length);
    });

    it('decapsulation refuses a packet that is not VXLAN, or lacks the I flag, and leaves it alone', () => {
      const plain = load(b, buildFrame(innerSpec('')));
      assert.equal(decapVxlan(b, plain), -1);
      const bad = buildVxlanFrame({ ip: { version: 4, src: NODE, dst: '10.127.130.12' }, sport: 1, vni: 4096, inner: buildFrame(innerSpec('')) });
      bad[42] = 0;
      const k = load(b, bad);
      const off = b.off[k];
      assert.equal(decapVxlan(b, k), -1);
      assert.equal(b.off[k], off);
    });

    it('encapsulation refuses a packet without room in front of it', () => {
      const i = load(b, buildFrame(innerSpec('')));
      b.off[i] = 10;
      assert.equal(encapVxlan(b, i, makeVxlanTemplate(tmplSpec), 1), false);
    });
  });

  describe('flow hash', () => {
    it('is deterministic, spreads outer source ports over 49152-65535, and has a symmetric variant', () => {
      assert.equal(flowHash4(6, 1, 2, 3, 4), flowHash4(6, 1, 2, 3, 4));
      assert.notEqual(flowHash4(6, 1, 2, 3, 4), flowHash4(6, 2, 1, 4, 3));
      assert.equal(flowHash4Symmetric(6, 1, 2, 3, 4), flowHash4Symmetric(6, 2, 1, 4, 3));
      assert.notEqual(flowHash4(6, 1, 2, 3, 4, 1), flowHash4(6, 1, 2, 3, 4, 2));
      const buckets = new Uint32Array(16);
      const rng = new Prng(11);
      const src = ipv4ToU32(POD);
      for (let n = 0; n < 16000; n++) {
        const p = vxlanSourcePort(flowHash4(6, src, ipv4ToU32(BACKEND), 30000 + n, 8080));
        assert.ok(p >= 49152 && p <= 65535);
        buckets[(p - 49152) >> 10]++;
        rng.u32();
      }
      for (const c of buckets) assert.ok(c > 800 && c < 1200, `bucket count ${c}`);
    });
  });
});

describe('packet/rewrite against the real decoder (src/decode)', () => {
  // The columns each primitive promises to keep as the decoder would set them for the rewritten packet.
  const COLS = ['flags', 'l2Off', 'l3Off', 'l4Off', 'payOff', 'ethType', 'vlan', 'ipVer', 'proto', 'src4', 'dst4', 'sport', 'dport', 'tcpFlags', 'icmpType', 'icmpCode', 'vni', 'innerL2Off', 'innerL3Off', 'innerL4Off', 'innerIpVer', 'innerProto', 'innerSrc4', 'innerDst4', 'innerSport', 'innerDport', 'icmpInnerOff', 'dnsOff', 'dnsQtype'] as const;
  const eth = { src: '0e:2a:0a:f4:01:05', dst: '00:15:5d:00:00:01' };
  const frames: { name: string; spec: FrameSpec }[] = [
    { name: 'TCP', spec: { eth, ip: { version: 4, src: POD, dst: VIP }, l4: tcp(40000, 80, 'GET /') } },
    { name: 'UDP DNS query', spec: { eth, ip: { version: 4, src: POD, dst: '10.96.0.10' }, l4: { proto: 'udp', sport: 50000, dport: 53, payload: dnsQuery(1, 'web.default', 1) } } },
    { name: 'ICMP echo', spec: { eth, ip: { version: 4, src: POD, dst: EXT }, l4: { proto: 'icmp', id: 3, seq: 4, payload: 'abcd' } } },
    { name: 'ICMP error quoting a header', spec: { eth, ip: { version: 4, src: EXT, dst: POD }, l4: { proto: 'icmp', type: 3, code: 4, rest: 1400, payload: buildFrame({ ip: { version: 4, src: POD, dst: EXT }, l4: tcp(1, 2) }).subarray(14) } } },
    { name: 'IPv4 first fragment', spec: { eth, ip: { version: 4, src: POD, dst: EXT, mf: true }, l4: { proto: 'udp', sport: 7, dport: 9, payload: 'part' } } },
    { name: 'VLAN-tagged UDP', spec: { eth: { ...eth, vlans: [{ id: 12 }] }, ip: { version: 4, src: POD, dst: EXT }, l4: { proto: 'udp', sport: 1, dport: 2, payload: 'x' } } },
  ];
  const decoded = (frame: Uint8Array): Batch => {
    const d = new Batch({ capacity: 1, arenaBytes: 1 << 19 });
    d.reset(1);
    const i = d.alloc(frame.length);
    d.arena.set(frame, d.off[i]);
    d.wirelen[i] = frame.length;
    d.linktype[i] = 1;
    decodeBatch(d);
    return d;
  };
  const sameColumns = (b: Batch, i: number, frame: Uint8Array, what: string): void => {
    assert.equal(bytesOf(b, i), hex(frame), `${what}: bytes`);
    const d = decoded(frame);
    for (const c of COLS) {
      // src/decode sets innerL4Off for inner TCP/UDP only; encapVxlan records it for inner ICMP as well.
      if (c === 'innerL4Off' && d.innerProto[0] === 1 && d.innerL4Off[0] === -1) continue;
      assert.equal(b[c][i], d[c][0], `${what}: column ${c}`);
    }
  };

  for (const { name, spec } of frames) {
    it(`${name}: SNAT, DNAT, VXLAN encap and decap leave the columns the decoder gives the result`, () => {
      const b = decoded(buildFrame(spec));
      if (b.proto[0] !== 1 && (b.flags[0] & PF.HAS_PORTS) === 0) throw new Error('decoder found no ports');
      assert.ok(snat4(b, 0, ipv4ToU32(NODE), 49200));
      sameColumns(b, 0, buildFrame({ ...spec, ip: { ...spec.ip, src: NODE } as FrameSpec['ip'], l4: withPort(spec.l4!, 'src', 49200) }), 'snat');
      // DNS keeps port 53 (the decoder only finds DNS on port 53).
      const dport = b.dport[0] === 53 ? 53 : 8080;
      assert.ok(dnat4(b, 0, ipv4ToU32(BACKEND), dport));
      const natted: FrameSpec = { ...spec, ip: { ...spec.ip, src: NODE, dst: BACKEND } as FrameSpec['ip'], l4: withPort(withPort(spec.l4!, 'src', 49200), 'dst', dport) };
      sameColumns(b, 0, buildFrame(natted), 'dnat');
      const tmpl = makeVxlanTemplate({ srcMac: '00:15:5d:00:00:11', dstMac: '00:15:5d:00:00:12', srcIp: NODE, dstIp: '10.127.130.12', vni: 4096 });
      assert.ok(encapVxlan(b, 0, tmpl, 50000));
      const outer = buildVxlanFrame({ eth: { src: '00:15:5d:00:00:11', dst: '00:15:5d:00:00:12' }, ip: { version: 4, src: NODE, dst: '10.127.130.12' }, sport: 50000, vni: 4096, inner: buildFrame(natted) });
      sameColumns(b, 0, outer, 'encap');
      assert.equal(decapVxlan(b, 0), 4096);
      sameColumns(b, 0, buildFrame(natted), 'decap');
      // Decapsulating a packet as the decoder left it (not as encapVxlan did).
      const fresh = decoded(outer);
      assert.equal(decapVxlan(fresh, 0), 4096);
      sameColumns(fresh, 0, buildFrame(natted), 'decap after decode');
    });
  }
});

/** The L4 spec with its source or destination port (ICMP: the identifier) replaced. */
function withPort(l4: L4Spec, side: 'src' | 'dst', port: number): L4Spec {
  if (l4.proto === 'icmp') return { ...l4, id: port };
  if (l4.proto === 'tcp' || l4.proto === 'udp') return side === 'src' ? { ...l4, sport: port } : { ...l4, dport: port };
  return l4;
}

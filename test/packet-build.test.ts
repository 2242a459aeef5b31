import { strict as assert } from 'node:assert';
import {
  buildFrame,
  buildVxlanFrame,
  dnsOverTcp,
  dnsQuery,
  dnsResponse,
  genevePayload,
  TCP,
  tcpFlags,
} from '../src/packet/build';
import { verifyIpv4HeaderChecksum, verifyL4Checksum } from '../src/packet/checksum';
import { formatMac, ipv4ToU32, parseIpv6, parseMac, u32ToIpv4 } from '../src/packet/addr';

function hex(a: Uint8Array, from = 0, to = a.length): string {
  return Buffer.from(a.subarray(from, to)).toString('hex');
}
const g16 = (a: Uint8Array, o: number) => (a[o] << 8) | a[o + 1];

describe('packet/build', () => {
  it('builds Ethernet / IPv4 / TCP with every field where RFC 791 and RFC 9293 put it', () => {
    const f = buildFrame({
      eth: { src: '0e:2a:0a:f4:01:05', dst: '00-15-5D-04-9E-FC' },
      ip: { version: 4, src: '10.244.1.5', dst: '10.96.0.20', ttl: 128, id: 0x1234, df: true, tos: 0x10 },
      l4: { proto: 'tcp', sport: 40000, dport: 80, seq: 0x01020304, ack: 0x0a0b0c0d, flags: 'PA', window: 512, payload: 'GET /' },
    });
    assert.equal(f.length, 14 + 20 + 20 + 5);
    assert.equal(hex(f, 0, 14), '00155d049efc' + '0e2a0af40105' + '0800');
    assert.equal(hex(f, 14, 34).slice(0, 20), '4510' + '002d' + '1234' + '4000' + '80' + '06');
    assert.equal(hex(f, 26, 34), '0af40105' + '0a600014');
    assert.equal(hex(f, 34, 48), '9c40' + '0050' + '01020304' + '0a0b0c0d' + '50' + '18');
    assert.equal(g16(f, 48), 512);
    assert.equal(Buffer.from(f.subarray(54)).toString('latin1'), 'GET /');
    assert.ok(verifyIpv4HeaderChecksum(f, 14));
    assert.ok(verifyL4Checksum(f, 4, 14, 34, f.length, 6));
  });

  it('writes stacked 802.1ad + 802.1Q tags outermost first', () => {
    const f = buildFrame({
      eth: { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02', vlans: [{ id: 100, tpid: 0x88a8 }, { id: 200, pcp: 5 }] },
      ip: { version: 4, src: '1.1.1.1', dst: '2.2.2.2' },
      l4: { proto: 'udp', sport: 53, dport: 53 },
    });
    assert.equal(hex(f, 12, 22), '88a8' + '0064' + '8100' + 'a0c8' + '0800');
    assert.ok(verifyIpv4HeaderChecksum(f, 22));
    assert.ok(verifyL4Checksum(f, 4, 22, 42, f.length, 17));
  });

  it('pads IPv4 options to 4 bytes and sets IHL; writes MF and the fragment offset in 8-byte units', () => {
    const f = buildFrame({
      ip: { version: 4, src: '1.1.1.1', dst: '2.2.2.2', options: Uint8Array.of(0x94, 0x04, 0, 0, 1), mf: true, fragOffset: 1480 },
      l4: { proto: 'raw', protocol: 17, payload: 'abc' },
    });
    assert.equal(f[14], 0x47);
    assert.equal(g16(f, 16), 28 + 3);
    assert.equal(g16(f, 20), 0x2000 | 185);
    assert.equal(hex(f, 34, 42), '9404000001000000');
    assert.ok(verifyIpv4HeaderChecksum(f, 14));
  });

  it('chains IPv6 extension headers (hop-by-hop, routing, fragment, destination options) to the L4 header', () => {
    const f = buildFrame({
      ip: {
        version: 6,
        src: 'fd00::1',
        dst: '2001:db8::2',
        hopLimit: 7,
        flowLabel: 0xabcde,
        extensions: [{ type: 0 }, { type: 43, data: Uint8Array.of(0, 0) }, { type: 44, offset: 0, more: true, id: 99 }, { type: 60 }],
      },
      l4: { proto: 'udp', sport: 1000, dport: 2000, payload: 'x' },
    });
    assert.equal(hex(f, 14, 18), '600abcde');
    assert.equal(g16(f, 18), 8 * 4 + 9);
    assert.equal(f[20], 0); // next: hop-by-hop
    assert.equal(f[21], 7);
    assert.equal(hex(f, 22, 38), hex(parseIpv6('fd00::1')));
    let o = 54;
    assert.deepEqual([f[o], f[o + 1]], [43, 0]);
    o += 8;
    assert.deepEqual([f[o], f[o + 1]], [44, 0]);
    o += 8;
    assert.equal(f[o], 60);
    assert.equal(g16(f, o + 2), 1);
    assert.equal(hex(f, o + 4, o + 8), '00000063');
    o += 8;
    assert.deepEqual([f[o], f[o + 1]], [17, 0]);
    o += 8;
    assert.equal(g16(f, o + 4), 9);
    assert.ok(verifyL4Checksum(f, 6, 14, o, f.length, 17));
  });

  it('builds ICMP echo requests and replies (v4 type 8/0, v6 type 128/129) and other ICMP messages', () => {
    const e4 = buildFrame({ ip: { version: 4, src: '10.0.0.1', dst: '8.8.8.8' }, l4: { proto: 'icmp', id: 0x4242, seq: 3, payload: 'abcdefghijklmnopqrstuvwabcdefghi' } });
    assert.equal(hex(e4, 34, 35), '08');
    assert.equal(hex(e4, 38, 42), '42420003');
    assert.equal(e4[23], 1);
    assert.ok(verifyL4Checksum(e4, 4, 14, 34, e4.length, 1));
    const r6 = buildFrame({ ip: { version: 6, src: '::1', dst: '::2' }, l4: { proto: 'icmp', type: 129, id: 1, seq: 1 } });
    assert.equal(r6[20], 58);
    assert.equal(r6[54], 129);
    const unreach = buildFrame({ ip: { version: 4, src: '10.0.0.254', dst: '10.0.0.1' }, l4: { proto: 'icmp', type: 3, code: 4, rest: 1400, payload: e4.subarray(14, 42) } });
    assert.equal(hex(unreach, 34, 42).slice(0, 4), '0304');
    assert.equal(g16(unreach, 40), 1400);
    assert.ok(verifyL4Checksum(unreach, 4, 14, 34, unreach.length, 1));
  });

  it('keeps deliberate errors the spec asks for (bad checksums, bad lengths)', () => {
    const f = buildFrame({ ip: { version: 4, src: '1.1.1.1', dst: '2.2.2.2', checksum: 0xbeef, totalLength: 9999 }, l4: { proto: 'udp', sport: 1, dport: 2, checksum: 0x1111, length: 3 } });
    assert.equal(g16(f, 24), 0xbeef);
    assert.equal(g16(f, 16), 9999);
    assert.equal(g16(f, 38), 3);
    assert.equal(g16(f, 40), 0x1111);
    const raw = buildFrame({ eth: null, ip: { version: 4, src: '1.1.1.1', dst: '2.2.2.2' }, l4: { proto: 'tcp', sport: 1, dport: 2 } });
    assert.equal(raw[0], 0x45);
    assert.equal(raw.length, 40);
  });

  it('parses TCP flag letters', () => {
    assert.equal(tcpFlags('SA', false), TCP.SYN | TCP.ACK);
    assert.equal(tcpFlags('FA', false), TCP.FIN | TCP.ACK);
    assert.equal(tcpFlags(undefined, true), TCP.ACK);
    assert.throws(() => tcpFlags('Q', false), /unknown TCP flag/);
  });

  it('encodes a DNS query like dig does (id, RD, one question, QTYPE, class IN)', () => {
    const q = dnsQuery(0xabcd, 'kubernetes.default.svc.cluster.local', 1);
    // Labels: 10 kubernetes, 7 default, 3 svc, 7 cluster, 5 local, then the root label.
    const qname = '0a6b756265726e65746573' + '0764656661756c74' + '03737663' + '07636c7573746572' + '056c6f63616c' + '00';
    assert.equal(hex(q), 'abcd' + '0100' + '0001' + '0000' + '0000' + '0000' + qname + '0001' + '0001');
    assert.equal(hex(dnsQuery(1, 'example.com.', 28)).slice(-8), '001c0001');
  });

  it('encodes DNS responses with compressed A answers, and TCP framing', () => {
    const r = dnsResponse(7, 'web.', 1, ['10.96.0.20'], 0, 30);
    assert.equal(hex(r, 0, 12), '0007818000010001' + '00000000');
    assert.equal(hex(r, 12, 21), '03776562' + '00' + '0001' + '0001');
    assert.equal(hex(r, 21), 'c00c' + '0001' + '0001' + '0000001e' + '0004' + '0a600014');
    const nx = dnsResponse(8, 'nope', 1, [], 3);
    assert.equal(g16(nx, 2), 0x8183);
    assert.equal(hex(dnsOverTcp(Uint8Array.of(1, 2, 3))), '0003010203');
  });

  it('wraps an inner frame in VXLAN (UDP 4789, I flag, VNI, zero UDP checksum over IPv4)', () => {
    const inner = buildFrame({ ip: { version: 4, src: '10.244.1.5', dst: '10.244.2.7' }, l4: { proto: 'tcp', sport: 1, dport: 2 } });
    const f = buildVxlanFrame({
      eth: { src: '00:15:5d:00:00:01', dst: '00:15:5d:00:00:02' },
      ip: { version: 4, src: '10.127.130.11', dst: '10.127.130.12' },
      sport: 50000,
      vni: 4096,
      inner,
    });
    assert.equal(f.length, 50 + inner.length);
    assert.equal(g16(f, 16), 36 + inner.length);
    assert.equal(g16(f, 34), 50000);
    assert.equal(g16(f, 36), 4789);
    assert.equal(g16(f, 38), 16 + inner.length);
    assert.equal(g16(f, 40), 0);
    assert.equal(hex(f, 42, 50), '0800000000100000');
    assert.equal(hex(f, 50), hex(inner));
    const withSum = buildVxlanFrame({ ip: { version: 4, src: '1.1.1.1', dst: '2.2.2.2' }, sport: 1, vni: 1, inner, udpChecksum: true });
    assert.notEqual(g16(withSum, 40), 0);
    assert.ok(verifyL4Checksum(withSum, 4, 14, 34, withSum.length, 17));
    const gen = genevePayload(5, inner);
    assert.equal(hex(gen, 0, 8), '0000655800000500');
  });

  it('converts addresses both ways', () => {
    assert.equal(ipv4ToU32('10.244.1.5'), 0x0af40105);
    assert.equal(u32ToIpv4(0xc0a800c7), '192.168.0.199');
    assert.throws(() => ipv4ToU32('10.1.2'), /not an IPv4/);
    assert.equal(hex(parseIpv6('2001:db8::ffff:1.2.3.4')), '20010db8000000000000ffff01020304');
    assert.equal(hex(parseIpv6('::')), '0'.repeat(32));
    assert.throws(() => parseIpv6('1::2::3'), /not an IPv6/);
    assert.equal(formatMac(parseMac('0E-2A-0A-F4-03-07')), '0e:2a:0a:f4:03:07');
  });
});

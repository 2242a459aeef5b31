import { strict as assert } from 'node:assert';
import {
  csumReplace16,
  csumReplace32,
  foldSum,
  internetChecksum,
  ipv4HeaderChecksum,
  l4Checksum,
  onesSum,
  setIpv4HeaderChecksum,
  setL4Checksum,
  verifyIpv4HeaderChecksum,
  verifyL4Checksum,
} from '../src/packet/checksum';
import { buildFrame } from '../src/packet/build';
import { Prng } from '../src/gen/prng';

function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  return Uint8Array.from(clean.match(/../g)!.map((h) => parseInt(h, 16)));
}

/** The textbook definition, word by word with an end-around carry after every addition (RFC 1071 §4.1). */
function naiveChecksum(a: Uint8Array, start: number, end: number): number {
  let s = 0;
  for (let k = start; k < end; k += 2) {
    s += (a[k] << 8) | (k + 1 < end ? a[k + 1] : 0);
    if (s > 0xffff) s = (s & 0xffff) + 1;
  }
  return ~s & 0xffff;
}

function get16(a: Uint8Array, o: number): number {
  return (a[o] << 8) | a[o + 1];
}
function put16(a: Uint8Array, o: number, v: number): void {
  a[o] = v >>> 8;
  a[o + 1] = v & 0xff;
}
function get32(a: Uint8Array, o: number): number {
  return ((a[o] << 24) | (a[o + 1] << 16) | (a[o + 2] << 8) | a[o + 3]) >>> 0;
}
function put32(a: Uint8Array, o: number, v: number): void {
  a[o] = v >>> 24;
  a[o + 1] = (v >>> 16) & 0xff;
  a[o + 2] = (v >>> 8) & 0xff;
  a[o + 3] = v & 0xff;
}

describe('packet/checksum', () => {
  it('sums the RFC 1071 §3 example to ddf2 (checksum 220d)', () => {
    const a = hex('0001 f203 f4f5 f6f7');
    assert.equal(foldSum(onesSum(a, 0, a.length)), 0xddf2);
    assert.equal(internetChecksum(a, 0, a.length), 0x220d);
  });

  it('pads an odd trailing byte with zero on the right', () => {
    const a = hex('0001 f203 f4f5 f6');
    assert.equal(internetChecksum(a, 0, 7), naiveChecksum(a, 0, 7));
    assert.equal(foldSum(onesSum(a, 0, 7)), foldSum(0x0001 + 0xf203 + 0xf4f5 + 0xf600));
  });

  it('computes the IPv4 header checksum of a known header (b861) and verifies it', () => {
    // 192.168.0.1 -> 192.168.0.199, UDP, total length 0x73, DF, TTL 64: checksum 0xb861.
    const h = hex('4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7');
    assert.equal(ipv4HeaderChecksum(h, 0), 0xb861);
    assert.equal(verifyIpv4HeaderChecksum(h, 0), false);
    setIpv4HeaderChecksum(h, 0);
    assert.deepEqual([h[10], h[11]], [0xb8, 0x61]);
    assert.equal(verifyIpv4HeaderChecksum(h, 0), true);
    h[8] = 63; // TTL changed, checksum stale
    assert.equal(verifyIpv4HeaderChecksum(h, 0), false);
  });

  it('matches the textbook definition on random data of every length up to 2000 bytes', () => {
    const rng = new Prng(7);
    for (let len = 0; len <= 2000; len += 1 + (len >> 4)) {
      const a = rng.fill(new Uint8Array(len + 3));
      assert.equal(internetChecksum(a, 1, 1 + len), naiveChecksum(a, 1, 1 + len), `len ${len}`);
    }
  });

  it('sums a 256 KiB packet of 0xff bytes without losing carries', () => {
    const a = new Uint8Array(262144).fill(0xff);
    assert.equal(internetChecksum(a, 0, a.length), naiveChecksum(a, 0, a.length));
    a[1000] = 0x12;
    assert.equal(internetChecksum(a, 0, a.length), naiveChecksum(a, 0, a.length));
  });

  it('computes TCP/UDP checksums with the IPv4 pseudo header like a hand computation', () => {
    // 10.0.0.1:1234 -> 10.0.0.2:80 UDP, payload "hi" (odd total length 10).
    const f = buildFrame({ ip: { version: 4, src: '10.0.0.1', dst: '10.0.0.2' }, l4: { proto: 'udp', sport: 1234, dport: 80, payload: 'hi!' } });
    const l3 = 14;
    const l4 = 34;
    // pseudo: 0a00 0001 0a00 0002 0011 000b; udp: 04d2 0050 000b 0000 6869 2100
    const s = 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 0x0011 + 0x000b + 0x04d2 + 0x0050 + 0x000b + 0x6869 + 0x2100;
    const expect = ~foldSum(s) & 0xffff;
    assert.equal(get16(f, l4 + 6), expect);
    assert.equal(l4Checksum(f, 4, l3, l4, f.length, 17), expect);
    assert.ok(verifyL4Checksum(f, 4, l3, l4, f.length, 17));
    f[f.length - 1] ^= 1;
    assert.ok(!verifyL4Checksum(f, 4, l3, l4, f.length, 17));
  });

  it('computes TCP and ICMPv6 checksums over the IPv6 pseudo header', () => {
    const t = buildFrame({
      ip: { version: 6, src: 'fd00::1', dst: 'fd00::2' },
      l4: { proto: 'tcp', sport: 40000, dport: 443, seq: 1, flags: 'S', payload: 'abc' },
    });
    const sumT =
      0xfd00 + 0x0001 + 0xfd00 + 0x0002 + 6 + 23 + 40000 + 443 + 0 + 1 + 0 + 0 + 0x5002 + 0xffff + 0 + 0x6162 + 0x6300;
    assert.equal(get16(t, 54 + 16), ~foldSum(sumT) & 0xffff);
    assert.ok(verifyL4Checksum(t, 6, 14, 54, t.length, 6));
    const e = buildFrame({ ip: { version: 6, src: 'fd00::1', dst: 'fd00::2' }, l4: { proto: 'icmp', id: 7, seq: 9 } });
    const sumE = 0xfd00 + 0x0001 + 0xfd00 + 0x0002 + 58 + 8 + 0x8000 + 7 + 9;
    assert.equal(get16(e, 54 + 2), ~foldSum(sumE) & 0xffff);
    assert.ok(verifyL4Checksum(e, 6, 14, 54, e.length, 58));
  });

  it('ICMP over IPv4 has no pseudo header', () => {
    const f = buildFrame({ ip: { version: 4, src: '10.0.0.1', dst: '8.8.8.8' }, l4: { proto: 'icmp', id: 1, seq: 2, payload: 'abcd' } });
    assert.equal(get16(f, 36), ~foldSum(0x0800 + 1 + 2 + 0x6162 + 0x6364) & 0xffff);
    assert.ok(verifyL4Checksum(f, 4, 14, 34, f.length, 1));
  });

  it('UDP: 0 means no checksum over IPv4, is invalid over IPv6, and a computed 0 is sent as ffff', () => {
    const z4 = buildFrame({ ip: { version: 4, src: '1.2.3.4', dst: '5.6.7.8' }, l4: { proto: 'udp', sport: 1, dport: 2, checksum: 'zero', payload: 'x' } });
    assert.equal(get16(z4, 40), 0);
    assert.ok(verifyL4Checksum(z4, 4, 14, 34, z4.length, 17));
    const z6 = buildFrame({ ip: { version: 6, src: '::1', dst: '::2' }, l4: { proto: 'udp', sport: 1, dport: 2, checksum: 'zero' } });
    assert.ok(!verifyL4Checksum(z6, 6, 14, 54, z6.length, 17));
    assert.ok(verifyL4Checksum(z6, 6, 14, 54, z6.length, 17, true));

    // Make the data sum to 0xffff: with a payload word equal to the checksum computed with that word 0.
    const f = buildFrame({ ip: { version: 4, src: '1.2.3.4', dst: '5.6.7.8' }, l4: { proto: 'udp', sport: 1, dport: 2, payload: new Uint8Array(2) } });
    const c = get16(f, 40);
    put16(f, 42, c);
    assert.equal(l4Checksum(f, 4, 14, 34, f.length, 17), 0xffff);
    setL4Checksum(f, 4, 14, 34, f.length, 17);
    assert.equal(get16(f, 40), 0xffff);
    assert.ok(verifyL4Checksum(f, 4, 14, 34, f.length, 17));
    // TCP would send 0 for the same sum.
    const t = buildFrame({ ip: { version: 4, src: '1.2.3.4', dst: '5.6.7.8' }, l4: { proto: 'tcp', sport: 1, dport: 2, payload: new Uint8Array(2) } });
    put16(t, 54, get16(t, 50));
    assert.equal(l4Checksum(t, 4, 14, 34, t.length, 6), 0);
  });

  describe('incremental update (RFC 1624) equals full recomputation', () => {
    const cases = [
      { name: 'TCP over IPv4', proto: 'tcp' as const, csumAt: 16 },
      { name: 'UDP over IPv4', proto: 'udp' as const, csumAt: 6 },
    ];
    for (const c of cases) {
      it(`${c.name}: 5000 random address, port and sequence rewrites (seeded)`, () => {
        const rng = new Prng(1624);
        for (let n = 0; n < 5000; n++) {
          const payload = rng.fill(new Uint8Array(rng.below(60)));
          const f = buildFrame({
            ip: { version: 4, src: rng.u32(), dst: rng.u32(), ttl: rng.range(1, 255), id: rng.below(65536) },
            l4:
              c.proto === 'tcp'
                ? { proto: 'tcp', sport: rng.below(65536), dport: rng.below(65536), seq: rng.u32(), ack: rng.u32(), payload }
                : { proto: 'udp', sport: rng.below(65536), dport: rng.below(65536), payload },
          });
          const l4 = 34;
          const cs = l4 + c.csumAt;
          // Rewrite: src or dst address (32 bits), a port (16 bits), and for TCP the sequence number.
          const addrAt = 14 + (rng.below(2) ? 12 : 16);
          const oldA = get32(f, addrAt);
          const newA = rng.u32();
          const portAt = l4 + (rng.below(2) ? 0 : 2);
          const oldP = get16(f, portAt);
          const newP = rng.below(65536);
          put32(f, addrAt, newA);
          put16(f, portAt, newP);
          const ipc = csumReplace32(get16(f, 24), oldA, newA);
          let l4c = get16(f, cs);
          l4c = csumReplace16(csumReplace32(l4c, oldA, newA), oldP, newP);
          if (c.proto === 'tcp') {
            const oldS = get32(f, l4 + 4);
            const newS = rng.u32();
            put32(f, l4 + 4, newS);
            l4c = csumReplace32(l4c, oldS, newS);
          }
          if (c.proto === 'udp' && l4c === 0) l4c = 0xffff;
          put16(f, 24, ipc);
          put16(f, cs, l4c);
          assert.equal(ipc, ipv4HeaderChecksum(f, 14), `ip checksum, case ${n}`);
          assert.equal(l4c, l4Checksum(f, 4, 14, l4, f.length, c.proto === 'tcp' ? 6 : 17), `l4 checksum, case ${n}`);
        }
      });
    }

    it('a word changing to the same value leaves the checksum unchanged', () => {
      assert.equal(csumReplace16(0x1234, 0xabcd, 0xabcd), 0x1234);
      assert.equal(csumReplace32(0x1234, 0xdeadbeef, 0xdeadbeef), 0x1234);
    });
  });
});

/**
 * The rewrite primitives the engine runs (src/packet/rewrite.ts): each rewritten packet equals the packet
 * built directly in its rewritten form (src/packet/build.ts), its checksums verify by full recomputation
 * (src/packet/checksum.ts) and, where tshark is installed, by tshark; the decoded columns keep describing
 * the packet as received (the verdict writer prints `flow` from them) except where a primitive says so.
 * Packets are decoded by the real decoder (src/decode), and the offsets passed are the ones the engine
 * passes (base + l3Off / l4Off, l4 -1 for a non-first fragment, end = base + caplen).
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { Batch, PF } from '../src/core/batch';
import { decodeBatch } from '../src/decode/decoder';
import { buildFrame, buildVxlanFrame, dnsQuery, FrameSpec, L4Spec } from '../src/packet/build';
import { ipv4ToU32, parseMac } from '../src/packet/addr';
import { l4Checksum, verifyIpv4HeaderChecksum, verifyL4Checksum } from '../src/packet/checksum';
import {
  ETHERNET_HEADER_LEN,
  flowHash4,
  flowHash4Symmetric,
  frameAsEthernet,
  makeVxlanTemplate,
  nat4At,
  popOuter,
  unpopOuter,
  vxlanPrepend,
  vxlanSourcePort,
  VXLAN_OUTER_LEN,
  writeMac,
} from '../src/packet/rewrite';
import { Prng } from '../src/gen/prng';
import { haveCommand, tmpFile } from './io-helpers';

const g16 = (a: Uint8Array, o: number) => (a[o] << 8) | a[o + 1];

const POD = '10.244.1.5';
const NODE = '10.127.130.11';
const EXT = '93.184.216.34';
const VIP = '10.96.0.20';
const BACKEND = '10.244.2.7';
const ETH = { src: '0e:2a:0a:f4:01:05', dst: '00:15:5d:00:00:01' };
/** flowHash4(6, POD, BACKEND, 40000, 8080), as main computed it before the rewrite sets were merged. */
const FLOW_HASH_POD_BACKEND = 2085085;

/** The decoded columns that describe a packet (what `flow` and the writers read). */
const COLS = ['flags', 'linktype', 'l2Off', 'l3Off', 'l4Off', 'payOff', 'ethType', 'vlan', 'ipVer', 'proto', 'src4', 'dst4', 'sport', 'dport', 'tcpFlags', 'icmpType', 'icmpCode', 'vni', 'innerL2Off', 'innerL3Off', 'innerL4Off', 'innerIpVer', 'innerProto', 'innerSrc4', 'innerDst4', 'innerSport', 'innerDport', 'icmpInnerOff', 'dnsOff', 'dnsQtype'] as const;

type Columns = Record<(typeof COLS)[number], number>;

function columns(b: Batch, i: number): Columns {
  const c = {} as Columns;
  for (const k of COLS) c[k] = b[k][i];
  return c;
}

/** A batch holding `frames` (each cut to `caplen` when given), with link type `linktype`, decoded by src/decode. */
function decoded(frames: Uint8Array[], linktype = 1, caplen?: number): Batch {
  const b = new Batch({ capacity: frames.length, arenaBytes: 1 << 20 });
  b.reset(1);
  for (const f of frames) {
    const n = Math.min(caplen ?? f.length, f.length);
    const i = b.alloc(n);
    b.arena.set(f.subarray(0, n), b.off[i]);
    b.wirelen[i] = f.length;
    b.linktype[i] = linktype;
  }
  decodeBatch(b);
  return b;
}

function bytesOf(b: Batch, i: number): string {
  return Buffer.from(b.packet(i)).toString('hex');
}
function hex(a: Uint8Array): string {
  return Buffer.from(a).toString('hex');
}

/** nat4At on packet `i` with the offsets the engine passes it. */
function nat(b: Batch, i: number, side: 'src' | 'dst', addr: string, port: number): void {
  const base = b.off[i];
  const l4 = b.l4Off[i] >= 0 && (b.flags[i] & PF.NONFIRST_FRAGMENT) === 0 ? base + b.l4Off[i] : -1;
  nat4At(b.arena, base + b.l3Off[i], l4, base + b.caplen[i], b.proto[i], side === 'dst', ipv4ToU32(addr), port);
}

/** IP header and TCP / UDP / ICMP checksums of IPv4 packet `i` (whole, Ethernet) by full recomputation. */
function checksumsVerify(b: Batch, i: number): boolean {
  const a = b.arena;
  const base = b.off[i];
  const l3 = base + b.l3Off[i];
  if (!verifyIpv4HeaderChecksum(a, l3)) return false;
  if (b.l4Off[i] < 0 || (b.flags[i] & PF.FRAGMENT) !== 0) return true;
  return verifyL4Checksum(a, 4, l3, base + b.l4Off[i], l3 + g16(a, l3 + 2), b.proto[i]);
}

function tcp(sport: number, dport: number, payload: Uint8Array | string = ''): L4Spec {
  return { proto: 'tcp', sport, dport, seq: 1000, ack: 2000, flags: 'PA', payload };
}

/** The L4 spec with its source or destination port (ICMP: the identifier) replaced. */
function withPort(l4: L4Spec, side: 'src' | 'dst', port: number): L4Spec {
  if (l4.proto === 'icmp') return { ...l4, id: port };
  if (l4.proto === 'tcp' || l4.proto === 'udp') return side === 'src' ? { ...l4, sport: port } : { ...l4, dport: port };
  return l4;
}

/** Classic pcap (Ethernet) of `frames`, as bytes. */
function pcapOf(frames: Uint8Array[]): Buffer {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0xa1b2c3d4, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeUInt32LE(65535, 16);
  h.writeUInt32LE(1, 20);
  const parts: Buffer[] = [h];
  for (const f of frames) {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(f.length, 8);
    r.writeUInt32LE(f.length, 12);
    parts.push(r, Buffer.from(f));
  }
  return Buffer.concat(parts);
}

/**
 * tshark's checksum verdicts on `frames` (checksum validation on): per frame, the IP header statuses, then
 * TCP, UDP, ICMP (tshark 4.0: 1 good, 0 bad, 3 not present), as tshark prints them.
 */
function tsharkChecksums(frames: Uint8Array[]): string[][] {
  const file = tmpFile('rewrite.pcap');
  fs.writeFileSync(file, pcapOf(frames));
  const out = execFileSync(
    'tshark',
    ['-r', file, '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-T', 'fields', '-E', 'occurrence=a', '-e', 'ip.checksum.status', '-e', 'tcp.checksum.status', '-e', 'udp.checksum.status', '-e', 'icmp.checksum.status'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  return out.split('\n').filter((l) => l.length > 0).map((l) => l.split('\t'));
}

describe('packet/rewrite: the primitives the engine runs', () => {
  describe('writeMac', () => {
    it('copies a MAC of the table to the destination and source of the Ethernet header, nothing else', () => {
      const spec = (src: string, dst: string): FrameSpec => ({ eth: { src, dst }, ip: { version: 4, src: POD, dst: EXT }, l4: tcp(1, 2, 'data') });
      const b = decoded([buildFrame(spec(ETH.src, ETH.dst))]);
      const before = columns(b, 0);
      const macs = new Uint8Array(18);
      macs.set(parseMac('00:15:5d:aa:bb:cc'), 6);
      macs.set(parseMac('12:34:56:78:9a:bc'), 12);
      writeMac(b.arena, b.off[0], macs, 2);
      writeMac(b.arena, b.off[0] + 6, macs, 1);
      assert.equal(bytesOf(b, 0), hex(buildFrame(spec('00:15:5d:aa:bb:cc', '12:34:56:78:9a:bc'))));
      assert.deepEqual(columns(b, 0), before);
    });
  });

  describe('nat4At: the rewritten packet equals the packet built in its rewritten form', () => {
    interface Case {
      name: string;
      side: 'src' | 'dst';
      before: FrameSpec;
      addr: string;
      port: number;
      after: FrameSpec;
    }
    const cases: Case[] = [];
    for (const n of [0, 1, 2, 3, 17, 1460]) {
      const pay = new Prng(n).fill(new Uint8Array(n));
      cases.push({
        name: `TCP SNAT, ${n}-byte payload`,
        side: 'src',
        before: { eth: ETH, ip: { version: 4, src: POD, dst: EXT, id: 77 }, l4: tcp(40000, 443, pay) },
        addr: NODE,
        port: 50001,
        after: { eth: ETH, ip: { version: 4, src: NODE, dst: EXT, id: 77 }, l4: tcp(50001, 443, pay) },
      });
      cases.push({
        name: `UDP DNAT, ${n}-byte payload`,
        side: 'dst',
        before: { eth: ETH, ip: { version: 4, src: POD, dst: VIP }, l4: { proto: 'udp', sport: 33333, dport: 53, payload: pay } },
        addr: BACKEND,
        port: 5353,
        after: { eth: ETH, ip: { version: 4, src: POD, dst: BACKEND }, l4: { proto: 'udp', sport: 33333, dport: 5353, payload: pay } },
      });
    }
    cases.push(
      {
        name: 'TCP DNAT to a ClusterIP backend (VLAN-tagged)',
        side: 'dst',
        before: { eth: { ...ETH, vlans: [{ id: 7 }] }, ip: { version: 4, src: POD, dst: VIP }, l4: tcp(40000, 80, 'GET / HTTP/1.1\r\n') },
        addr: BACKEND,
        port: 8080,
        after: { eth: { ...ETH, vlans: [{ id: 7 }] }, ip: { version: 4, src: POD, dst: BACKEND }, l4: tcp(40000, 8080, 'GET / HTTP/1.1\r\n') },
      },
      {
        name: 'the address only (same port)',
        side: 'src',
        before: { eth: ETH, ip: { version: 4, src: POD, dst: EXT }, l4: tcp(40000, 443, 'x') },
        addr: NODE,
        port: 40000,
        after: { eth: ETH, ip: { version: 4, src: NODE, dst: EXT }, l4: tcp(40000, 443, 'x') },
      },
      {
        name: 'the port only (same address)',
        side: 'dst',
        before: { eth: ETH, ip: { version: 4, src: POD, dst: BACKEND }, l4: tcp(40000, 80, 'x') },
        addr: BACKEND,
        port: 8080,
        after: { eth: ETH, ip: { version: 4, src: POD, dst: BACKEND }, l4: tcp(40000, 8080, 'x') },
      },
      {
        name: 'UDP without checksum (0) stays without',
        side: 'src',
        before: { eth: ETH, ip: { version: 4, src: POD, dst: EXT }, l4: { proto: 'udp', sport: 1000, dport: 123, checksum: 'zero', payload: 'ntp' } },
        addr: NODE,
        port: 49200,
        after: { eth: ETH, ip: { version: 4, src: NODE, dst: EXT }, l4: { proto: 'udp', sport: 49200, dport: 123, checksum: 'zero', payload: 'ntp' } },
      },
      {
        name: 'ICMP echo request SNAT rewrites the identifier as the port',
        side: 'src',
        before: { eth: ETH, ip: { version: 4, src: POD, dst: EXT }, l4: { proto: 'icmp', id: 1, seq: 9, payload: 'abcdefghijklmnopqrstuvwabcdefghi' } },
        addr: NODE,
        port: 49153,
        after: { eth: ETH, ip: { version: 4, src: NODE, dst: EXT }, l4: { proto: 'icmp', id: 49153, seq: 9, payload: 'abcdefghijklmnopqrstuvwabcdefghi' } },
      },
      {
        name: 'ICMP echo reply DNAT restores the identifier',
        side: 'dst',
        before: { eth: ETH, ip: { version: 4, src: EXT, dst: NODE }, l4: { proto: 'icmp', type: 0, id: 49153, seq: 9, payload: 'x' } },
        addr: POD,
        port: 1,
        after: { eth: ETH, ip: { version: 4, src: EXT, dst: POD }, l4: { proto: 'icmp', type: 0, id: 1, seq: 9, payload: 'x' } },
      },
      {
        name: 'ICMP timestamp request SNAT rewrites the identifier',
        side: 'src',
        before: { eth: ETH, ip: { version: 4, src: POD, dst: EXT }, l4: { proto: 'icmp', type: 13, id: 5, seq: 1, payload: new Uint8Array(12) } },
        addr: NODE,
        port: 49160,
        after: { eth: ETH, ip: { version: 4, src: NODE, dst: EXT }, l4: { proto: 'icmp', type: 13, id: 49160, seq: 1, payload: new Uint8Array(12) } },
      },
      {
        name: 'ICMP error: only the address changes (the embedded header is not rewritten)',
        side: 'dst',
        before: { eth: ETH, ip: { version: 4, src: EXT, dst: NODE }, l4: { proto: 'icmp', type: 3, code: 3, rest: 0, payload: 'embedded' } },
        addr: POD,
        port: 777,
        after: { eth: ETH, ip: { version: 4, src: EXT, dst: POD }, l4: { proto: 'icmp', type: 3, code: 3, rest: 0, payload: 'embedded' } },
      },
      {
        name: 'port -1 keeps the port (TCP)',
        side: 'src',
        before: { eth: ETH, ip: { version: 4, src: POD, dst: EXT }, l4: tcp(40000, 443) },
        addr: NODE,
        port: -1,
        after: { eth: ETH, ip: { version: 4, src: NODE, dst: EXT }, l4: tcp(40000, 443) },
      },
      {
        name: 'port -1 keeps the identifier (ICMP echo)',
        side: 'dst',
        before: { eth: ETH, ip: { version: 4, src: EXT, dst: NODE }, l4: { proto: 'icmp', type: 0, id: 321, seq: 2, payload: 'x' } },
        addr: POD,
        port: -1,
        after: { eth: ETH, ip: { version: 4, src: EXT, dst: POD }, l4: { proto: 'icmp', type: 0, id: 321, seq: 2, payload: 'x' } },
      },
      {
        name: 'non-first fragment: the address only (there is no L4 header)',
        side: 'src',
        before: { eth: ETH, ip: { version: 4, src: POD, dst: EXT, fragOffset: 1480, id: 5 }, l4: { proto: 'raw', protocol: 17, payload: 'rest of datagram' } },
        addr: NODE,
        port: 50000,
        after: { eth: ETH, ip: { version: 4, src: NODE, dst: EXT, fragOffset: 1480, id: 5 }, l4: { proto: 'raw', protocol: 17, payload: 'rest of datagram' } },
      },
    );
    for (const c of cases) {
      it(c.name, () => {
        const b = decoded([buildFrame(c.before)]);
        const before = columns(b, 0);
        nat(b, 0, c.side, c.addr, c.port);
        assert.equal(bytesOf(b, 0), hex(buildFrame(c.after)));
        assert.ok(checksumsVerify(b, 0), 'checksums by full recomputation');
        assert.deepEqual(columns(b, 0), before, 'the decoded columns still describe the packet as received');
      });
    }

    it('tshark finds every checksum of the rewritten packets good', function () {
      if (!haveCommand('tshark')) this.skip(); // tshark is not installed
      const out: Uint8Array[] = [];
      for (const c of cases) {
        const b = decoded([buildFrame(c.before)]);
        nat(b, 0, c.side, c.addr, c.port);
        out.push(b.packet(0).slice());
      }
      const rows = tsharkChecksums(out);
      assert.equal(rows.length, cases.length);
      rows.forEach((row, k) => {
        const [ip, l4tcp, udp, icmp] = row;
        assert.equal(ip, '1', `${cases[k].name}: IP header checksum`);
        const l4 = [l4tcp, udp, icmp].filter((s) => s !== '');
        for (const s of l4) assert.ok(s === '1' || s === '3', `${cases[k].name}: L4 checksum status ${s}`); // 3: UDP checksum 0 (none)
      });
    });

    it('a field that already holds its value is not written: a no-op NAT changes no byte (a TCP checksum of ffff stays ffff)', () => {
      // A payload word chosen so that the TCP checksum computes to 0000, then written as ffff, the other
      // representation of the same sum (it verifies too): an incremental update with equal old and new
      // values would turn it into 0000.
      const mk = (word: number) => buildFrame({ eth: ETH, ip: { version: 4, src: NODE, dst: EXT }, l4: tcp(50001, 443, Uint8Array.of(word >>> 8, word & 0xff)) });
      const minusZero = mk(g16(mk(0), 50));
      assert.equal(g16(minusZero, 50), 0);
      minusZero[50] = 0xff;
      minusZero[51] = 0xff;
      const frames = [
        minusZero,
        buildFrame({ eth: ETH, ip: { version: 4, src: NODE, dst: EXT }, l4: { proto: 'udp', sport: 50002, dport: 53, payload: 'q' } }),
        buildFrame({ eth: ETH, ip: { version: 4, src: NODE, dst: EXT }, l4: { proto: 'icmp', id: 49153, seq: 1, payload: 'p' } }),
      ];
      const b = decoded(frames);
      assert.ok(checksumsVerify(b, 0));
      for (let i = 0; i < frames.length; i++) {
        nat(b, i, 'src', NODE, b.proto[i] === 1 ? 49153 : b.sport[i]);
        nat(b, i, 'dst', EXT, b.proto[i] === 1 ? 49153 : b.dport[i]);
        assert.equal(bytesOf(b, i), hex(frames[i]), `packet ${i}`);
      }
    });

    it('a UDP checksum that becomes 0 is written as ffff', () => {
      // Payload word chosen so that the rewritten packet sums to ffff (its checksum computes to 0).
      const mk = (sport: number, word: number): FrameSpec => ({
        eth: ETH,
        ip: { version: 4, src: POD, dst: EXT },
        l4: { proto: 'udp', sport, dport: 9, payload: Uint8Array.of(word >>> 8, word & 0xff) },
      });
      const probe = buildFrame(mk(50000, 0));
      const word = g16(probe, 40);
      const after = buildFrame(mk(50000, word));
      assert.equal(g16(after, 40), 0xffff);
      assert.equal(l4Checksum(after, 4, 14, 34, after.length, 17), 0xffff);
      const b = decoded([buildFrame(mk(40000, word))]);
      nat(b, 0, 'src', POD, 50000);
      assert.equal(bytesOf(b, 0), hex(after));
    });

    it('a truncated capture is rewritten consistently with the whole packet; uncaptured fields are left alone', () => {
      const pay = new Prng(3).fill(new Uint8Array(1000));
      const full = buildFrame({ eth: ETH, ip: { version: 4, src: POD, dst: EXT }, l4: tcp(40000, 443, pay) });
      const expected = buildFrame({ eth: ETH, ip: { version: 4, src: NODE, dst: EXT }, l4: tcp(50001, 443, pay) });
      const b = decoded([full], 1, 96);
      nat(b, 0, 'src', NODE, 50001);
      assert.equal(bytesOf(b, 0), hex(expected.subarray(0, 96)));
      // Cut inside the TCP header: the port is rewritten, the uncaptured checksum is left alone.
      const c = decoded([full], 1, 14 + 20 + 4);
      nat(c, 0, 'src', NODE, 50001);
      assert.equal(bytesOf(c, 0), hex(expected.subarray(0, 38)));
      // Cut inside the IP header: nothing is written.
      const d = decoded([full], 1, 14 + 16);
      nat4At(d.arena, d.off[0] + 14, -1, d.off[0] + d.caplen[0], 6, false, ipv4ToU32(NODE), 50001);
      assert.equal(bytesOf(d, 0), hex(full.subarray(0, 30)));
    });

    it('random TCP / UDP / ICMP packets and NAT values: every checksum verifies by full recomputation, and tshark agrees', function () {
      const rng = new Prng(2026);
      const frames: Uint8Array[] = [];
      for (let n = 0; n < 300; n++) {
        const payload = rng.fill(new Uint8Array(rng.below(200)));
        const kind = rng.below(3);
        const l4: L4Spec = kind === 0 ? tcp(1 + rng.below(65535), 1 + rng.below(65535), payload) : kind === 1 ? { proto: 'udp', sport: rng.below(65536), dport: rng.below(65536), payload } : { proto: 'icmp', type: rng.below(2) === 0 ? 8 : 0, id: rng.below(65536), seq: rng.below(65536), payload };
        frames.push(buildFrame({ eth: ETH, ip: { version: 4, src: rng.u32(), dst: rng.u32(), id: rng.below(65536), ttl: 1 + rng.below(255) }, l4 }));
      }
      const b = decoded(frames);
      const out: Uint8Array[] = [];
      for (let i = 0; i < frames.length; i++) {
        nat4At(b.arena, b.off[i] + 14, b.off[i] + 34, b.off[i] + b.caplen[i], b.proto[i], false, rng.u32(), rng.below(65536));
        nat4At(b.arena, b.off[i] + 14, b.off[i] + 34, b.off[i] + b.caplen[i], b.proto[i], true, rng.u32(), rng.below(65536));
        assert.ok(checksumsVerify(b, i), `packet ${i}`);
        out.push(b.packet(i).slice());
      }
      if (!haveCommand('tshark')) return; // the full recomputation above is the check without tshark
      for (const [k, row] of tsharkChecksums(out).entries()) {
        assert.equal(row[0], '1', `packet ${k}: IP header checksum`);
        for (const s of row.slice(1).filter((x) => x !== '')) assert.ok(s === '1' || s === '3', `packet ${k}: L4 checksum status ${s}`);
      }
    });
  });

  describe('frameAsEthernet', () => {
    const ip = (l4: L4Spec): FrameSpec => ({ eth: null, ip: { version: 4, src: POD, dst: EXT }, l4 });
    const links: { name: string; linktype: number; head: Uint8Array }[] = [
      { name: 'raw IP', linktype: 101, head: new Uint8Array(0) },
      { name: 'Linux cooked (SLL)', linktype: 113, head: Uint8Array.of(0, 4, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00) },
      { name: 'Linux cooked v2 (SLL2)', linktype: 276, head: Uint8Array.of(0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 4, 6, 1, 2, 3, 4, 5, 6, 0, 0) },
      { name: 'BSD loopback', linktype: 0, head: Uint8Array.of(2, 0, 0, 0) },
    ];
    const payloads: { name: string; l4: L4Spec }[] = [
      { name: 'TCP', l4: tcp(40000, 443, 'hello') },
      { name: 'DNS', l4: { proto: 'udp', sport: 50000, dport: 53, payload: dnsQuery(7, 'web.default', 1) } },
      { name: 'ICMP error', l4: { proto: 'icmp', type: 3, code: 4, rest: 1400, payload: buildFrame({ ip: { version: 4, src: EXT, dst: POD }, l4: tcp(1, 2) }).subarray(14) } },
    ];
    for (const link of links) {
      for (const p of payloads) {
        it(`${link.name}, ${p.name}: gives the frame a zero-MAC Ethernet header, and the columns the decoder gives that frame`, () => {
          const packet = buildFrame(ip(p.l4));
          const captured = new Uint8Array(link.head.length + packet.length);
          captured.set(link.head, 0);
          captured.set(packet, link.head.length);
          const b = decoded([captured], link.linktype);
          assert.ok(frameAsEthernet(b, 0));
          const frame = buildFrame({ ...ip(p.l4), eth: { src: '00:00:00:00:00:00', dst: '00:00:00:00:00:00' } });
          assert.equal(bytesOf(b, 0), hex(frame));
          assert.equal(b.caplen[0], frame.length);
          assert.equal(b.wirelen[0], frame.length);
          assert.deepEqual(columns(b, 0), columns(decoded([frame]), 0));
        });
      }
    }

    it('IPv6 gets EtherType 86dd; a VXLAN packet keeps its inner offsets right', () => {
      const v6 = buildFrame({ eth: null, ip: { version: 6, src: 'fd00::1', dst: 'fd00::2' }, l4: tcp(1, 2, 'x') });
      const b6 = decoded([v6], 101);
      assert.ok(frameAsEthernet(b6, 0));
      const f6 = buildFrame({ eth: { src: '00:00:00:00:00:00', dst: '00:00:00:00:00:00' }, ip: { version: 6, src: 'fd00::1', dst: 'fd00::2' }, l4: tcp(1, 2, 'x') });
      assert.equal(bytesOf(b6, 0), hex(f6));
      assert.deepEqual(columns(b6, 0), columns(decoded([f6]), 0));
      const inner = buildFrame({ eth: ETH, ip: { version: 4, src: POD, dst: BACKEND }, l4: tcp(40000, 8080, 'y') });
      const vx = buildVxlanFrame({ eth: null, ip: { version: 4, src: NODE, dst: '10.127.130.12' }, sport: 50000, vni: 4096, inner });
      const bv = decoded([vx], 101);
      assert.ok(frameAsEthernet(bv, 0));
      const fv = buildVxlanFrame({ eth: { src: '00:00:00:00:00:00', dst: '00:00:00:00:00:00' }, ip: { version: 4, src: NODE, dst: '10.127.130.12' }, sport: 50000, vni: 4096, inner });
      assert.equal(bytesOf(bv, 0), hex(fv));
      assert.deepEqual(columns(bv, 0), columns(decoded([fv]), 0));
    });

    it('refuses a packet without room in front or without an IP header, and leaves it alone', () => {
      const b = decoded([buildFrame(ip(tcp(1, 2)))], 101);
      b.off[0] = 10;
      assert.equal(frameAsEthernet(b, 0), false);
      assert.equal(b.off[0], 10);
      const c = decoded([Uint8Array.of(0x00, 0x01, 0x02)], 101);
      const before = columns(c, 0);
      assert.equal(c.l3Off[0], -1);
      assert.equal(frameAsEthernet(c, 0), false);
      assert.deepEqual(columns(c, 0), before);
    });
  });

  describe('VXLAN', () => {
    const tmplSpec = { srcMac: '00:15:5d:00:00:11', dstMac: '00:15:5d:00:00:12', srcIp: NODE, dstIp: '10.127.130.12', vni: 4096 };
    const outerOf = (inner: Uint8Array, sport: number) =>
      buildVxlanFrame({ eth: { src: tmplSpec.srcMac, dst: tmplSpec.dstMac }, ip: { version: 4, src: NODE, dst: '10.127.130.12' }, sport, vni: 4096, inner });
    const innerSpec = (payload: string): FrameSpec => ({
      eth: { src: '0e:2a:0a:f4:01:05', dst: '0e:2a:0a:f4:02:07' },
      ip: { version: 4, src: POD, dst: BACKEND, ttl: 128 },
      l4: tcp(40000, 8080, payload),
    });

    for (const payload of ['', 'a', 'odd-length payload!', 'x'.repeat(1400)]) {
      it(`vxlanPrepend prepends the template and equals the VXLAN frame built directly (${payload.length}-byte payload); no decoded column changes`, () => {
        const inner = buildFrame(innerSpec(payload));
        const b = decoded([inner]);
        const off0 = b.off[0];
        const before = columns(b, 0);
        const sport = vxlanSourcePort(flowHash4(6, ipv4ToU32(POD), ipv4ToU32(BACKEND), 40000, 8080));
        assert.ok(vxlanPrepend(b, 0, makeVxlanTemplate(tmplSpec), sport));
        const expected = outerOf(inner, sport);
        assert.equal(bytesOf(b, 0), hex(expected));
        assert.equal(b.off[0], off0 - VXLAN_OUTER_LEN);
        assert.equal(b.caplen[0], expected.length);
        assert.equal(b.wirelen[0], expected.length);
        assert.deepEqual(columns(b, 0), before);
        assert.ok(verifyIpv4HeaderChecksum(b.arena, b.off[0] + 14), 'outer IP header checksum by full recomputation');
      });
    }

    it('the template carries the outer TTL, DSCP, DF, port and VNI of its spec', () => {
      const inner = buildFrame(innerSpec('z'));
      const b = decoded([inner]);
      assert.ok(vxlanPrepend(b, 0, makeVxlanTemplate({ ...tmplSpec, ttl: 5, tos: 0xb8, df: true, dstPort: 8472, vni: 0xabcdef }), 49999));
      const expected = buildVxlanFrame({ eth: { src: tmplSpec.srcMac, dst: tmplSpec.dstMac }, ip: { version: 4, src: NODE, dst: '10.127.130.12', ttl: 5, tos: 0xb8, df: true }, sport: 49999, dport: 8472, vni: 0xabcdef, inner });
      assert.equal(bytesOf(b, 0), hex(expected));
    });

    it('outer lengths follow the wire length of a truncated inner packet, or the captured length when it is larger', () => {
      const inner = buildFrame(innerSpec('y'.repeat(500)));
      const b = decoded([inner], 1, 80);
      assert.ok(vxlanPrepend(b, 0, makeVxlanTemplate(tmplSpec), 50000));
      const expected = outerOf(inner, 50000);
      assert.equal(bytesOf(b, 0), hex(expected.subarray(0, 130)));
      assert.equal(b.wirelen[0], expected.length);
      // a frame given an Ethernet header (frameAsEthernet) whose wirelen is shorter than its bytes
      const c = decoded([inner]);
      c.wirelen[0] = 60;
      assert.ok(vxlanPrepend(c, 0, makeVxlanTemplate(tmplSpec), 50000));
      assert.equal(bytesOf(c, 0), hex(expected));
      assert.equal(c.wirelen[0], expected.length);
    });

    it('tshark reads the pushed frame: VXLAN with the inner frame, outer IP and inner checksums good, outer UDP checksum 0', function () {
      if (!haveCommand('tshark')) this.skip(); // tshark is not installed
      const b = decoded([buildFrame(innerSpec('abc')), buildFrame({ ...innerSpec(''), l4: { proto: 'udp', sport: 1, dport: 2, payload: 'u' } })]);
      const tmpl = makeVxlanTemplate(tmplSpec);
      const out: Uint8Array[] = [];
      for (let i = 0; i < b.count; i++) {
        assert.ok(vxlanPrepend(b, i, tmpl, 50000 + i));
        out.push(b.packet(i).slice());
      }
      assert.deepEqual(tsharkChecksums(out), [
        ['1,1', '1', '3', ''],
        ['1,1', '', '3,1', ''],
      ]);
    });

    it('vxlanPrepend refuses a packet without room in front of it', () => {
      const b = decoded([buildFrame(innerSpec(''))]);
      b.off[0] = 10;
      assert.equal(vxlanPrepend(b, 0, makeVxlanTemplate(tmplSpec), 1), false);
      assert.equal(b.off[0], 10);
    });

    it('popOuter leaves the inner frame (as the engine decapsulates, innerL2Off bytes) and unpopOuter restores the packet', () => {
      const inner = buildFrame(innerSpec('hello'));
      const outer = outerOf(inner, 50000);
      const b = decoded([outer]);
      const before = { off: b.off[0], caplen: b.caplen[0], wirelen: b.wirelen[0], cols: columns(b, 0) };
      const n = b.innerL2Off[0];
      assert.equal(n, VXLAN_OUTER_LEN);
      popOuter(b, 0, n);
      assert.equal(bytesOf(b, 0), hex(inner));
      assert.equal(b.wirelen[0], inner.length);
      unpopOuter(b, 0, n);
      assert.equal(bytesOf(b, 0), hex(outer));
      assert.deepEqual({ off: b.off[0], caplen: b.caplen[0], wirelen: b.wirelen[0], cols: columns(b, 0) }, before);
      // a truncated capture: caplen and wirelen each lose the outer headers
      const t = decoded([outer], 1, 70);
      popOuter(t, 0, VXLAN_OUTER_LEN);
      assert.equal(bytesOf(t, 0), hex(inner.subarray(0, 20)));
      assert.equal(t.wirelen[0], inner.length);
    });

    it('ETHERNET_HEADER_LEN plus the outer IPv4, UDP and VXLAN headers is VXLAN_OUTER_LEN', () => {
      assert.equal(ETHERNET_HEADER_LEN + 20 + 8 + 8, VXLAN_OUTER_LEN);
    });
  });

  describe('flow hash', () => {
    it('is deterministic, spreads outer source ports over 49152-65535, and has a symmetric variant', () => {
      assert.equal(flowHash4(6, 1, 2, 3, 4), flowHash4(6, 1, 2, 3, 4));
      assert.notEqual(flowHash4(6, 1, 2, 3, 4), flowHash4(6, 2, 1, 4, 3));
      assert.equal(flowHash4Symmetric(6, 1, 2, 3, 4), flowHash4Symmetric(6, 2, 1, 4, 3));
      assert.notEqual(flowHash4(6, 1, 2, 3, 4, 1), flowHash4(6, 1, 2, 3, 4, 2));
      const buckets = new Uint32Array(16);
      const src = ipv4ToU32(POD);
      for (let n = 0; n < 16000; n++) {
        const p = vxlanSourcePort(flowHash4(6, src, ipv4ToU32(BACKEND), 30000 + n, 8080));
        assert.ok(p >= 49152 && p <= 65535);
        buckets[(p - 49152) >> 10]++;
      }
      for (const c of buckets) assert.ok(c > 800 && c < 1200, `bucket count ${c}`);
    });

    it('keeps its values (the VXLAN source ports and shard keys in held outputs depend on them)', () => {
      assert.equal(flowHash4(6, ipv4ToU32(POD), ipv4ToU32(BACKEND), 40000, 8080), FLOW_HASH_POD_BACKEND);
      assert.equal(flowHash4Symmetric(17, ipv4ToU32(BACKEND), ipv4ToU32(POD), 53, 40000), flowHash4(17, ipv4ToU32(POD), ipv4ToU32(BACKEND), 40000, 53));
    });
  });
});

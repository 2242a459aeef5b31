/**
 * Writers: read -> write -> read round trips in both formats and both byte orders (synthetic packets
 * with options and several interfaces, and every readable file of the corpus), encapsulated packets
 * (`off` moved into the headroom), and, when installed, tshark and tcpdump reading what we write.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Batch, HEADROOM } from '../src/core/batch';
import { UsageError } from '../src/core/errors';
import { InterfaceInfo, openCapture } from '../src/io/reader';
import { createWriter, pcapInterface, WriteFormat } from '../src/io/writer';
import { corpusDir, corpusPresent, haveCommand, readAll, ReadPacket, readTsv, tmpFile } from './io-helpers';

/** Deterministic pseudo-random numbers (32-bit LCG). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
}

/** A batch of `n` packets with varied sizes, timestamps, interfaces and options. */
function syntheticBatch(n: number, ifaceCount: number, linkTypes: number[], seed: number): Batch {
  const r = rng(seed);
  const b = new Batch({ capacity: n });
  b.reset(1);
  for (let i = 0; i < n; i++) {
    const len = i === 0 ? 0 : i === 1 ? 65535 : i === 2 ? 262144 : r() % 1600;
    const k = b.alloc(len);
    for (let j = 0; j < len; j++) b.arena[b.off[k] + j] = (r() >>> 24) & 0xff;
    b.wirelen[k] = len + (i % 5 === 0 ? r() % 3000 : 0);
    b.tsHi[k] = r();
    b.tsLo[k] = r() % 1000000;
    b.ts[k] = b.tsHi[k] + b.tsLo[k] / 1e6;
    b.iface[k] = i % ifaceCount;
    b.linktype[k] = linkTypes[b.iface[k]];
    if (i % 6 === 3) {
      // No timestamp (as read from a Simple Packet Block): pcapng writes it back as an SPB.
      b.ts[k] = NaN;
      b.tsHi[k] = 0;
      b.tsLo[k] = 0;
      b.wirelen[k] = len;
      b.iface[k] = 0;
      b.linktype[k] = linkTypes[0];
    } else if (i % 3 === 0) {
      b.options.set(k, {
        comments: i % 2 === 0 ? [`packet ${i}`, 'ünïcode ✓'] : [`p${i}`],
        flags: r(),
        packetId: (BigInt(r()) << 32n) | BigInt(r()),
        verdicts: [Uint8Array.of(0, 1, 2, 3), Uint8Array.of(2, 9, 0, 0, 0, 0, 0, 0, 0)],
      });
    } else if (i % 7 === 1) {
      b.options.set(k, { flags: 0x1 });
    }
  }
  return b;
}

function comparePackets(a: ReadPacket[], b: ReadPacket[], what: string, fields: (keyof ReadPacket)[]): void {
  assert.equal(b.length, a.length, `${what}: packet count`);
  for (let k = 0; k < a.length; k++) {
    for (const f of fields) {
      if (f === 'bytes') assert.ok(a[k].bytes.equals(b[k].bytes), `${what}: packet ${k + 1} bytes`);
      else if (f === 'ts') assert.ok(Object.is(a[k].ts, b[k].ts) || a[k].ts === b[k].ts, `${what}: packet ${k + 1} ts ${a[k].ts} vs ${b[k].ts}`);
      else assert.deepEqual(b[k][f], a[k][f], `${what}: packet ${k + 1} ${f}`);
    }
  }
}

/** Read `file` whole and write it with our writer (same batches, reader's interface table). */
function rewrite(file: string, out: string, format: WriteFormat, bigEndian: boolean, nanosecond?: boolean): void {
  const r = openCapture(file);
  const w = createWriter(out, format, { bigEndian, nanosecond });
  const b = new Batch({ capacity: 5 });
  while (r.next(b) > 0) w.writeBatch(b, r.interfaces);
  r.close();
  w.close();
}

const interfaceFields = (ifs: InterfaceInfo[]) =>
  ifs.map((i) => ({ linkType: i.linkType, snapLen: i.snapLen, tsresolRaw: i.tsresolRaw, tsOffset: i.tsOffset, name: i.name, description: i.description }));

describe('io: writers and round trips', function () {
  for (const bigEndian of [false, true]) {
    const order = bigEndian ? 'big-endian' : 'little-endian';

    it(`pcapng ${order}: synthetic packets, 3 interfaces, options, resolutions and offsets round-trip exactly`, function () {
      const b = syntheticBatch(60, 3, [1, 113, 101], 7);
      const file = tmpFile(`synthetic-${order}.pcapng`);
      const w = createWriter(file, 'pcapng', { bigEndian });
      assert.equal(w.addInterface({ linkType: 1, name: 'eth0', description: 'uplink', snapLen: 262144 }), 0);
      assert.equal(w.addInterface({ linkType: 113, tsresol: 9, tsOffset: -3600, snapLen: 65535 }), 1);
      assert.equal(w.addInterface({ linkType: 101, tsresol: 0x88, name: 'tun0', snapLen: 0 }), 2);
      w.writeBatch(b);
      w.close();
      assert.equal(w.packetsWritten, 60);
      const got = readAll(file);
      assert.equal(got.error, null);
      assert.equal(got.reader?.littleEndian, !bigEndian);
      assert.deepEqual(interfaceFields(got.interfaces), [
        { linkType: 1, snapLen: 262144, tsresolRaw: 6, tsOffset: 0, name: 'eth0', description: 'uplink' },
        { linkType: 113, snapLen: 65535, tsresolRaw: 9, tsOffset: -3600, name: undefined, description: undefined },
        { linkType: 101, snapLen: 0, tsresolRaw: 0x88, tsOffset: 0, name: 'tun0', description: undefined },
      ]);
      assert.equal(got.packets.length, 60);
      for (let i = 0; i < 60; i++) {
        const p = got.packets[i];
        assert.ok(p.bytes.equals(Buffer.from(b.packet(i))), `packet ${i + 1} bytes`);
        assert.equal(p.caplen, b.caplen[i]);
        assert.equal(p.wirelen, b.wirelen[i]);
        assert.equal(p.tsHi, b.tsHi[i]);
        assert.equal(p.tsLo, b.tsLo[i]);
        assert.equal(p.iface, b.iface[i]);
        assert.equal(p.linktype, b.linktype[i]);
        assert.equal(Number.isNaN(p.ts), Number.isNaN(b.ts[i]), `packet ${i + 1} has a timestamp or not`);
        const o = b.options.get(i);
        assert.deepEqual(p.options, o === undefined ? undefined : JSON.parse(JSON.stringify(o, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Array.from(v) : v))));
      }
    });

    for (const nanosecond of [false, true]) {
      it(`pcap ${order} ${nanosecond ? 'nanosecond' : 'microsecond'}: packets and raw timestamps round-trip exactly`, function () {
        const b = syntheticBatch(40, 1, [1], 11);
        const file = tmpFile(`synthetic-${order}-${nanosecond}.pcap`);
        const w = createWriter(file, 'pcap', { bigEndian, nanosecond, snapLen: 262144 });
        w.writeBatch(b);
        w.close();
        const got = readAll(file);
        assert.equal(got.error, null);
        assert.equal(got.reader?.format, 'pcap');
        assert.equal(got.reader?.pcapVariant, nanosecond ? 'nsec' : 'standard');
        assert.equal(got.reader?.littleEndian, !bigEndian);
        assert.equal(got.interfaces[0].tsUnitsPerSec, nanosecond ? 1e9 : 1e6);
        for (let i = 0; i < 40; i++) {
          const p = got.packets[i];
          assert.ok(p.bytes.equals(Buffer.from(b.packet(i))));
          assert.deepEqual([p.caplen, p.wirelen, p.tsHi, p.tsLo, p.linktype], [b.caplen[i], b.wirelen[i], b.tsHi[i], b.tsLo[i], 1]);
        }
      });
    }
  }

  it('writes packets whose off was moved back into the headroom (encapsulated) whole', function () {
    const b = syntheticBatch(5, 1, [1], 3);
    const outer = Buffer.from('0123456789abcdef0123456789abcdef0123456789abcdef0123', 'hex'); // 26 bytes
    const i = 3;
    assert.ok(outer.length <= HEADROOM);
    b.off[i] -= outer.length;
    b.arena.set(outer, b.off[i]);
    b.caplen[i] += outer.length;
    b.wirelen[i] += outer.length;
    for (const format of ['pcap', 'pcapng'] as const) {
      const file = tmpFile(`encap.${format}`);
      const w = createWriter(file, format);
      w.writeBatch(b, [pcapInterface(1)]);
      w.close();
      const got = readAll(file);
      assert.equal(got.packets[i].caplen, b.caplen[i]);
      assert.ok(got.packets[i].bytes.subarray(0, outer.length).equals(outer), `${format}: outer header first`);
      assert.ok(got.packets[i].bytes.equals(Buffer.from(b.packet(i))));
    }
  });

  it('writes an empty, valid file when no packet is written', function () {
    for (const format of ['pcap', 'pcapng'] as const) {
      const file = tmpFile(`empty.${format}`);
      createWriter(file, format, { linkType: 113 }).close();
      const got = readAll(file);
      assert.equal(got.error, null);
      assert.equal(got.packets.length, 0);
      if (format === 'pcap') assert.equal(got.interfaces[0].linkType, 113);
    }
  });

  it('refuses a time a pcap file cannot hold instead of wrapping it', function () {
    const b = new Batch({ capacity: 1 });
    b.reset(1);
    b.alloc(10);
    b.tsHi[0] = 1;
    b.tsLo[0] = 0; // 2^32 s in microsecond ticks: 4294967296e6 = 0x3b9aca0000000 -> hi 1000000, lo 0
    b.tsHi[0] = 1000000;
    b.ts[0] = 4294967296;
    b.linktype[0] = 1;
    const ticks: InterfaceInfo = { linkType: 1, snapLen: 0, tsUnitsPerSec: 1e6, tsresolRaw: 6, tsOffset: 0, tsKind: 'ticks64', section: 0 };
    const w = createWriter(tmpFile('2106.pcap'), 'pcap');
    assert.throws(() => w.writeBatch(b, [ticks]), (e: unknown) => e instanceof UsageError && /time 4294967296 s is outside what a pcap file holds/.test(e.message));
    w.close();
  });

  it('refuses packets of a second link type in a pcap file, and interfaces in pcap', function () {
    const b = syntheticBatch(4, 2, [1, 113], 5);
    const w = createWriter(tmpFile('mixed.pcap'), 'pcap');
    assert.throws(() => w.writeBatch(b), (e: unknown) => e instanceof UsageError && /packet 2 has link type 113 but the file has 1/.test(e.message));
    assert.throws(() => w.addInterface({ linkType: 1 }), UsageError);
    w.close();
  });

  it('writes to a file descriptor it does not close, with no write per packet', function () {
    const file = tmpFile('fd.pcapng');
    const fd = fs.openSync(file, 'w');
    const w = createWriter(fd, 'pcapng', { bufferBytes: 1 << 20 });
    w.addInterface({ linkType: 1 });
    const b = syntheticBatch(200, 1, [1], 9);
    w.writeBatch(b);
    assert.equal(fs.fstatSync(fd).size, 0, 'nothing written before the buffer fills or close()');
    w.close();
    assert.ok(fs.fstatSync(fd).size > 0);
    fs.writeSync(fd, Buffer.alloc(0)); // still open
    fs.closeSync(fd);
    assert.equal(readAll(file).packets.length, 200);
  });

  describe('corpus files: read -> write -> read', function () {
    this.timeout(120000);
    if (!corpusPresent()) {
      it('needs ../shared/corpus/real', function () {
        this.skip(); // the corpus folder is absent
      });
      return;
    }
    const files = readTsv(path.join(corpusDir, 'ORACLE_STATUS.tsv')).map((r) => r.file);
    it('preserves packets, timestamps, interfaces and options in the same format, both byte orders', function () {
      let rewritten = 0;
      for (const file of files) {
        const orig = readAll(path.join(corpusDir, file));
        if (orig.reader === null || orig.error !== null) continue; // bad files: covered by io-corpus
        const format: WriteFormat = orig.reader.format === 'pcapng' ? 'pcapng' : 'pcap';
        for (const bigEndian of [false, true]) {
          const out = tmpFile(`${file}.${bigEndian ? 'be' : 'le'}.${format}`);
          rewrite(path.join(corpusDir, file), out, format, bigEndian);
          const again = readAll(out);
          assert.equal(again.error, null, `${file}: ${again.error?.message}`);
          const what = `${file} (${format}, ${bigEndian ? 'BE' : 'LE'})`;
          comparePackets(orig.packets, again.packets, what, ['bytes', 'caplen', 'wirelen', 'tsHi', 'tsLo', 'ts', 'epoch', 'linktype', 'options']);
          if (format === 'pcapng') {
            // Same interface (fields, and index within its section) for every packet.
            const local = (ifs: InterfaceInfo[], gi: number) => gi - ifs.findIndex((x) => x.section === ifs[gi].section);
            orig.packets.forEach((p, k) => {
              const q = again.packets[k];
              assert.deepEqual(interfaceFields([again.interfaces[q.iface]]), interfaceFields([orig.interfaces[p.iface]]), `${what}: interface of packet ${k + 1}`);
              assert.equal(local(again.interfaces, q.iface), local(orig.interfaces, p.iface), `${what}: section-local interface of packet ${k + 1}`);
            });
            const sections = (r: typeof orig) => new Set(r.packets.map((p) => r.interfaces[p.iface].section)).size;
            assert.equal(sections(again), sections(orig), `${what}: sections with packets`);
          } else {
            assert.equal(again.interfaces[0].linkType, orig.interfaces[0].linkType);
            assert.equal(again.interfaces[0].tsUnitsPerSec, orig.interfaces[0].tsUnitsPerSec);
          }
          fs.unlinkSync(out);
        }
        rewritten++;
      }
      assert.ok(rewritten > 120, `only ${rewritten} files rewritten`);
    });

    it('keeps comments, epb_flags, epb_packetid and epb_verdict of a corpus pcapng when written back', function () {
      const src = path.join(corpusDir, 'pcapplusplus__pcapng-example.pcapng');
      const r = openCapture(src);
      const out = tmpFile('example-with-options.pcapng');
      const w = createWriter(out, 'pcapng', { bigEndian: true });
      const b = new Batch({ capacity: 16 });
      const expected: unknown[] = [];
      while (r.next(b) > 0) {
        for (let i = 0; i < b.count; i++) {
          const n = b.firstNumber + i;
          const o = b.options.get(i) ?? {};
          // Add the EPB options the file lacks, so that all four kinds cross the writer and the reader.
          if (n % 4 === 0) o.flags = 0x00010002;
          if (n % 5 === 0) o.packetId = BigInt(n) * 0x100000001n;
          if (n % 6 === 0) o.verdicts = [Uint8Array.of(0, n & 0xff, 0xee)];
          if (Object.keys(o).length > 0) b.options.set(i, o);
          expected.push(Object.keys(o).length > 0 ? JSON.parse(JSON.stringify(o, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Array.from(v) : v))) : undefined);
        }
        w.writeBatch(b, r.interfaces);
      }
      w.close();
      const again = readAll(out);
      assert.deepEqual(again.packets.map((p) => p.options), expected);
      assert.equal(again.packets.filter((p) => (p.options as { comments?: string[] } | undefined)?.comments).length, 100);
    });

    it('converts classic pcap to pcapng and pcapng to nanosecond pcap with the same timestamps', function () {
      for (const file of files) {
        const orig = readAll(path.join(corpusDir, file));
        if (orig.reader === null || orig.error !== null || orig.packets.length === 0) continue;
        if (orig.reader.format !== 'pcapng') {
          const out = tmpFile(`${file}.pcapng`);
          rewrite(path.join(corpusDir, file), out, 'pcapng', false);
          const conv = readAll(out).packets;
          comparePackets(orig.packets, conv, `${file} -> pcapng`, ['bytes', 'caplen', 'wirelen', 'linktype']);
          const units = orig.interfaces[0].tsUnitsPerSec;
          orig.packets.forEach((p, k) => {
            // A fraction >= 1 s (tcpdump__timestamp_invalid_micro) becomes a normal pcapng time: the same
            // instant, printed without tshark's pcap quirk.
            if (p.tsLo < units) assert.equal(conv[k].epoch, p.epoch, `${file} -> pcapng: packet ${k + 1} epoch`);
            else assert.ok(Math.abs(conv[k].ts - p.ts) < 1e-6, `${file} -> pcapng: packet ${k + 1} time`);
          });
          fs.unlinkSync(out);
        } else if (
          new Set(orig.packets.map((p) => p.linktype)).size === 1 &&
          orig.packets.every((p) => !Number.isNaN(p.ts) && p.ts < 2 ** 32)
        ) {
          // Exact in nanoseconds for every resolution the corpus has (10^-6, 10^-9, 2^-8).
          const out = tmpFile(`${file}.pcap`);
          rewrite(path.join(corpusDir, file), out, 'pcap', false, true);
          comparePackets(orig.packets, readAll(out).packets, `${file} -> pcap`, ['bytes', 'caplen', 'wirelen', 'epoch', 'linktype']);
          fs.unlinkSync(out);
        }
      }
    });
  });

  describe('other tools read what we write', function () {
    this.timeout(60000);
    const written: { file: string; format: WriteFormat; bigEndian: boolean }[] = [];
    before(function () {
      for (const format of ['pcap', 'pcapng'] as const) {
        for (const bigEndian of [false, true]) {
          const b = syntheticBatch(30, 1, [1], 21);
          const file = tmpFile(`tools-${format}-${bigEndian}.${format}`);
          const w = createWriter(file, format, { bigEndian });
          if (format === 'pcapng') w.addInterface({ linkType: 1, name: 'eth0' });
          w.writeBatch(b);
          w.close();
          written.push({ file, format, bigEndian });
        }
      }
    });

    it('tshark reads them: frame count, lengths, times, comments, flags, packet ids, verdicts', function () {
      if (!haveCommand('tshark')) this.skip(); // tshark is not installed
      for (const { file, format } of written) {
        const ours = readAll(file);
        const out = execFileSync(
          'tshark',
          ['-r', file, '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'frame.len', '-e', 'frame.cap_len', '-e', 'frame.comment', '-e', 'frame.packet_flags', '-e', 'frame.packet_id', '-e', 'frame.verdict.hw'],
          { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
        );
        const rows = out.split('\n').filter((l) => l.length > 0).map((l) => l.split('\t'));
        assert.equal(rows.length, ours.packets.length, `${file}: frames`);
        rows.forEach((row, k) => {
          const p = ours.packets[k];
          assert.deepEqual(row.slice(0, 3), [p.epoch, String(p.wirelen), String(p.caplen)], `${file} frame ${k + 1}`);
          if (format === 'pcapng') {
            const o = p.options as { comments?: string[]; flags?: number; packetId?: string; verdicts?: number[][] } | undefined;
            assert.equal(row[3], o?.comments?.join(',') ?? '', `comment of frame ${k + 1}`);
            assert.equal(row[4], o?.flags !== undefined ? '0x' + o.flags.toString(16).padStart(8, '0') : '', `flags of frame ${k + 1}`);
            assert.equal(row[5], o?.packetId ?? '', `packet id of frame ${k + 1}`);
            const hw = o?.verdicts?.find((v) => v[0] === 0);
            assert.equal(row[6], hw ? Buffer.from(hw.slice(1)).toString('hex').replace(/(..)(?!$)/g, '$1 ') : '', `verdict of frame ${k + 1}`);
          }
        });
      }
    });

    it('tcpdump reads them', function () {
      if (!haveCommand('tcpdump')) this.skip(); // tcpdump is not installed
      for (const { file } of written) {
        const out = execFileSync('tcpdump', ['-r', file, '-nn', '-q'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
        assert.equal(out.split('\n').filter((l) => l.length > 0).length, 30, file);
      }
    });
  });
});

/** A classic pcap with `hdrLen`-byte record headers (extra header bytes from `extra`), as bytes. */
function handmadePcap(opts: { magic: number; minor: number; hdrLen: number; swapLengths?: boolean; extra?: (k: number) => number[] }, sizes: number[]): Buffer {
  const parts: Buffer[] = [];
  const h = Buffer.alloc(24);
  h.writeUInt32LE(opts.magic, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(opts.minor, 6);
  h.writeUInt32LE(65535, 16);
  h.writeUInt32LE(1, 20);
  parts.push(h);
  sizes.forEach((len, k) => {
    const r = Buffer.alloc(opts.hdrLen + len);
    r.writeUInt32LE(1600000000 + k, 0);
    r.writeUInt32LE(k * 1000, 4);
    r.writeUInt32LE(opts.swapLengths ? len + 10 : len, 8);
    r.writeUInt32LE(opts.swapLengths ? len : len + 10, 12);
    Buffer.from(opts.extra?.(k) ?? []).copy(r, 16);
    for (let j = 0; j < len; j++) r[opts.hdrLen + j] = (k + j) & 0xff;
    parts.push(r);
  });
  return Buffer.concat(parts);
}

describe('io: classic pcap variants', function () {
  const sizes = [60, 1000, 75, 300];
  const check = (file: string, variant: string, format = 'pcap') => {
    const got = readAll(file);
    assert.equal(got.error, null, got.error?.message);
    assert.equal(got.reader?.pcapVariant, variant);
    assert.equal(got.reader?.format, format);
    assert.deepEqual(got.packets.map((p) => [p.caplen, p.wirelen, p.bytes[0], p.tsHi]), sizes.map((len, k) => [len, len + 10, k, 1600000000 + k]));
  };

  it('reads caplen/len swapped in versions 2.0-2.2, and in 2.3 when caplen > len', function () {
    for (const minor of [0, 2, 3]) {
      const file = tmpFile(`v2.${minor}.pcap`);
      fs.writeFileSync(file, handmadePcap({ magic: 0xa1b2c3d4, minor, hdrLen: 16, swapLengths: true }, sizes));
      check(file, 'standard');
    }
    const file = tmpFile('v2.3-straight.pcap');
    fs.writeFileSync(file, handmadePcap({ magic: 0xa1b2c3d4, minor: 3, hdrLen: 16 }, sizes));
    check(file, 'standard');
  });

  it('recognises 24-byte (SS990417), 20-byte (Nokia) and, with the modified magic, 24/28-byte record headers', function () {
    const ss = (k: number) => [2 + k, 0, 0, 0, 0x00, 0x08, 0, 0, 0, 0, 0, 0]; // ifindex, protocol 0x0800, pkt_type 0
    const cases: [string, number, number, string, string][] = [
      ['ss990417', 0xa1b2c3d4, 24, 'ss990417', 'pcap'],
      ['nokia', 0xa1b2c3d4, 20, 'nokia', 'pcap'],
      ['ss991029', 0xa1b2cd34, 24, 'ss991029', 'pcap-modified'],
      ['ss990915', 0xa1b2cd34, 28, 'ss990915', 'pcap-modified'],
    ];
    for (const [name, magic, hdrLen, variant, format] of cases) {
      const file = tmpFile(`${name}.pcap`);
      fs.writeFileSync(file, handmadePcap({ magic, minor: 4, hdrLen, extra: ss }, sizes));
      check(file, variant, format);
    }
  });
});

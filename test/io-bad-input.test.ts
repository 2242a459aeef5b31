/**
 * Bad input: one test per kind of fault. Each file is built in the tmp folder with our own writer plus
 * byte surgery; each test checks that the error names the file and the exact byte offset of the faulty
 * structure, gives the numbers, and that every packet before the fault was delivered.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { Batch } from '../src/core/batch';
import { InputError } from '../src/core/errors';
import { openCapture } from '../src/io/reader';
import { createWriter, WriteFormat } from '../src/io/writer';
import { readAll, ReadResult, tmpFile } from './io-helpers';

const SIZES = [60, 1514, 99, 42, 300];

/** A capture of 5 packets (sizes SIZES, byte j of packet k = k + j) as bytes. */
function goodCapture(format: WriteFormat, snapLen = 262144): Buffer {
  const file = tmpFile(`good.${format}`);
  const w = createWriter(file, format, { snapLen });
  if (format === 'pcapng') w.addInterface({ linkType: 1, snapLen });
  SIZES.forEach((len, k) => {
    const data = new Uint8Array(len).map((_v, j) => (k + j) & 0xff);
    w.writePacket(data, { tsHi: 1700000000 + k, tsLo: 1000 * k, options: k === 1 ? { comments: ['second'] } : undefined });
  });
  w.close();
  const buf = fs.readFileSync(file);
  fs.unlinkSync(file);
  return buf;
}

/** Byte offset of pcap record k (0-based) in a goodCapture('pcap'). */
function pcapRecordAt(k: number): number {
  let o = 24;
  for (let i = 0; i < k; i++) o += 16 + SIZES[i];
  return o;
}

interface Block {
  type: number;
  at: number;
  len: number;
}

/** The blocks of a little-endian pcapng file. */
function blocks(buf: Buffer): Block[] {
  const out: Block[] = [];
  for (let at = 0; at + 8 <= buf.length; ) {
    const len = buf.readUInt32LE(at + 4);
    out.push({ type: buf.readUInt32LE(at), at, len });
    at += len;
  }
  return out;
}

/** The i-th (0-based) Enhanced Packet Block. */
function epb(buf: Buffer, i: number): Block {
  return blocks(buf).filter((b) => b.type === 6)[i];
}

function write(name: string, bytes: Buffer): string {
  const file = tmpFile(name);
  fs.writeFileSync(file, bytes);
  return file;
}

/** The fault must name the file and the offset, match `detail`, and come after `before` packets. */
function expectFault(got: ReadResult, file: string, offset: number, detail: RegExp, before: number): void {
  assert.ok(got.error instanceof InputError, 'an InputError');
  assert.equal(got.error.file, file);
  assert.equal(got.error.offset, offset);
  assert.ok(got.error.message.startsWith(`${file} at byte offset ${offset}: `), got.error.message);
  assert.match(got.error.message, detail);
  assert.equal(got.packets.length, before, 'packets delivered before the fault');
  got.packets.forEach((p, k) => {
    assert.equal(p.caplen, SIZES[k]);
    assert.equal(p.bytes[0], k & 0xff, `packet ${k + 1} content`);
  });
}

describe('io: bad input', function () {
  it('a file that is not a capture', function () {
    const file = write('text.pcap', Buffer.from('hello, this is a text file\n'));
    expectFault(readAll(file), file, 0, /not a pcap or pcapng file \(magic 0x68656c6c\)/, 0);
  });

  it('an empty file and a file shorter than a magic number', function () {
    const empty = write('empty.pcap', Buffer.alloc(0));
    expectFault(readAll(empty), empty, 0, /empty input: not a pcap or pcapng file/, 0);
    const tiny = write('tiny.pcap', Buffer.from([0xd4, 0xc3]));
    expectFault(readAll(tiny), tiny, 0, /not a pcap or pcapng file \(only 2 bytes\)/, 0);
  });

  it('a path that cannot be opened', function () {
    const file = tmpFile('does-not-exist.pcap');
    const got = readAll(file);
    assert.ok(got.error instanceof InputError);
    assert.ok(got.error.message.startsWith(`${file}: cannot open: ENOENT: no such file or directory`), got.error.message);
  });

  it('a truncated pcap file header', function () {
    const file = write('short-header.pcap', goodCapture('pcap').subarray(0, 10));
    expectFault(readAll(file), file, 0, /truncated pcap file header: 24 bytes needed, 10 present/, 0);
  });

  it('a truncated pcapng section header block', function () {
    const file = write('short-shb.pcapng', goodCapture('pcapng').subarray(0, 20));
    expectFault(readAll(file), file, 0, /section header block length 44 runs past the end of the file \(20 bytes left\)/, 0);
  });

  it('a pcap major version other than 2', function () {
    const b = goodCapture('pcap');
    b.writeUInt16LE(3, 4);
    const file = write('version3.pcap', b);
    expectFault(readAll(file), file, 4, /unsupported pcap version 3\.4 \(major version must be 2\)/, 0);
  });

  it('reserved bits set in the pcap link-type field', function () {
    const b = goodCapture('pcap');
    b.writeUInt32LE(0x00300001, 20);
    const file = write('reserved.pcap', b);
    expectFault(readAll(file), file, 20, /link-type field 0x00300001 has reserved bits set \(0x00300000\)/, 0);
    // The FCS-length bits (top nibble) are not reserved: tcpdump's own test files use them.
    b.writeUInt32LE(0x30000001, 20);
    const ok = readAll(write('fcs-bits.pcap', b));
    assert.equal(ok.error, null);
    assert.equal(ok.packets.length, SIZES.length);
    assert.equal(ok.packets[0].linktype, 1);
  });

  it('a truncated record header', function () {
    const at = pcapRecordAt(3);
    const file = write('cut-header.pcap', goodCapture('pcap').subarray(0, at + 5));
    expectFault(readAll(file), file, at, /record 4: file ends inside the record header \(16 bytes needed, 5 present\)/, 3);
  });

  it('truncated record data', function () {
    const at = pcapRecordAt(3);
    const file = write('cut-data.pcap', goodCapture('pcap').subarray(0, at + 16 + 10));
    expectFault(readAll(file), file, at, /record 4: file ends inside the packet data \(caplen 42, 10 bytes present\)/, 3);
  });

  it('caplen larger than the snaplen: accepted as tshark does, a fault with strictSnaplen', function () {
    const b = goodCapture('pcap', 1000); // packet 2 (1514 bytes) is above the snaplen
    const file = write('over-snaplen.pcap', b);
    const lax = readAll(file);
    assert.equal(lax.error, null);
    assert.equal(lax.packets.length, SIZES.length);
    assert.equal(lax.reader?.overSnaplenPackets, 1);
    expectFault(readAll(file, { strictSnaplen: true }), file, pcapRecordAt(1), /record 2: caplen 1514 is larger than the file's snaplen 1000/, 1);
    const ng = write('over-snaplen.pcapng', goodCapture('pcapng', 1000));
    expectFault(readAll(ng, { strictSnaplen: true }), ng, epb(fs.readFileSync(ng), 1).at, /enhanced packet block caplen 1514 is larger than interface 0's snaplen 1000/, 1);
  });

  it('caplen larger than 256 KiB (pcap record and pcapng block)', function () {
    const b = goodCapture('pcap');
    const at = pcapRecordAt(2);
    b.writeUInt32LE(262145, at + 8);
    const file = write('huge-caplen.pcap', b);
    expectFault(readAll(file), file, at, /record 3: caplen 262145 is larger than the maximum of 262144/, 2);

    // A real 300000-byte EPB: big enough to hold the caplen, still refused.
    const ng = goodCapture('pcapng');
    const third = epb(ng, 2);
    const big = Buffer.alloc(32 + 300000);
    big.writeUInt32LE(6, 0);
    big.writeUInt32LE(big.length, 4);
    big.writeUInt32LE(0, 8);
    big.writeUInt32LE(300000, 20);
    big.writeUInt32LE(300000, 24);
    big.writeUInt32LE(big.length, big.length - 4);
    const file2 = write('huge-epb.pcapng', Buffer.concat([ng.subarray(0, third.at), big]));
    expectFault(readAll(file2), file2, third.at, /enhanced packet block caplen 300000 is larger than the maximum of 262144/, 2);
  });

  it('a pcapng block length of zero', function () {
    const b = goodCapture('pcapng');
    const third = epb(b, 2);
    b.writeUInt32LE(0, third.at + 4);
    const file = write('len0.pcapng', b);
    expectFault(readAll(file), file, third.at, /enhanced packet block length 0 is too small \(minimum 32\)/, 2);
  });

  it('an odd pcapng block length, and one that is not a multiple of 4', function () {
    for (const bad of [third => third.len + 1, third => third.len + 2] as ((b: Block) => number)[]) {
      const b = goodCapture('pcapng');
      const third = epb(b, 2);
      const len = bad(third);
      b.writeUInt32LE(len, third.at + 4);
      const file = write(`len${len}.pcapng`, b);
      expectFault(readAll(file), file, third.at, new RegExp(`enhanced packet block length ${len} is not a multiple of 4`), 2);
    }
  });

  it('a pcapng block length below the 12-byte minimum of any block', function () {
    const b = goodCapture('pcapng');
    const third = epb(b, 2);
    b.writeUInt32LE(0x0bad, third.at); // now an unknown (custom) block, which is skipped when valid
    b.writeUInt32LE(8, third.at + 4);
    const file = write('len8.pcapng', b);
    expectFault(readAll(file), file, third.at, /block of type 0x00000bad length 8 is too small \(minimum 12\)/, 2);
  });

  it('a pcapng block that runs past the end of the file', function () {
    const b = goodCapture('pcapng');
    const last = epb(b, 4);
    b.writeUInt32LE(last.len + 64, last.at + 4);
    const file = write('past-end.pcapng', b);
    expectFault(readAll(file), file, last.at, new RegExp(`enhanced packet block length ${last.len + 64} runs past the end of the file \\(${last.len} bytes left\\)`), 4);
  });

  it('a pcapng file cut inside a block', function () {
    const b = goodCapture('pcapng');
    const fourth = epb(b, 3);
    const file = write('cut.pcapng', b.subarray(0, fourth.at + 20));
    expectFault(readAll(file), file, fourth.at, new RegExp(`enhanced packet block length ${fourth.len} runs past the end of the file \\(20 bytes left\\)`), 3);
    const file2 = write('cut-header.pcapng', b.subarray(0, fourth.at + 6));
    expectFault(readAll(file2), file2, fourth.at, /file ends inside a block header \(6 of 8 bytes present\)/, 3);
  });

  it('a trailing block length that differs from the leading one (packet and skipped blocks)', function () {
    const b = goodCapture('pcapng');
    const third = epb(b, 2);
    b.writeUInt32LE(third.len + 4, third.at + third.len - 4);
    const file = write('trailer.pcapng', b);
    expectFault(readAll(file), file, third.at, new RegExp(`enhanced packet block trailing length ${third.len + 4} does not match its leading length ${third.len}`), 2);

    const c = goodCapture('pcapng');
    const t = epb(c, 2);
    c.writeUInt32LE(0x40000bad, t.at); // a custom block: skipped, but its trailer is still checked
    c.writeUInt32LE(7, t.at + t.len - 4);
    const file2 = write('trailer-custom.pcapng', c);
    expectFault(readAll(file2), file2, t.at, new RegExp(`block of type 0x40000bad trailing length 7 does not match its leading length ${t.len}`), 2);
  });

  it('an unsupported SHB version: at the start, and in a later section after its packets', function () {
    const first = goodCapture('pcapng');
    first.writeUInt16LE(2, 12);
    const file = write('shb-2.0.pcapng', first);
    expectFault(readAll(file), file, 12, /unsupported pcapng section version 2\.0 \(only 1\.0 is read\)/, 0);

    const good = goodCapture('pcapng');
    const second = Buffer.from(good);
    second.writeUInt16LE(1, 14); // version 1.1
    const joined = Buffer.concat([good, second]);
    const file2 = write('two-sections.pcapng', joined);
    expectFault(readAll(file2), file2, good.length + 12, /unsupported pcapng section version 1\.1/, SIZES.length);
  });

  it('an SHB option that runs past the end of the block', function () {
    const b = goodCapture('pcapng');
    // SHB: 24 fixed bytes, then shb_userappl (code 4, length 7, "vfp-emu" + pad), opt_endofopt, trailer.
    assert.equal(b.readUInt16LE(24), 4);
    b.writeUInt16LE(200, 26);
    const file = write('shb-option.pcapng', b);
    expectFault(readAll(file), file, 24, /section header block option 4 length 200 runs past the end of the block \(12 bytes left\)/, 0);
  });

  it('an EPB option that runs past the end of the block, after the packets before it', function () {
    const b = goodCapture('pcapng');
    const second = epb(b, 1); // carries the comment "second"
    const optAt = second.at + 28 + ((SIZES[1] + 3) & ~3);
    assert.equal(b.readUInt16LE(optAt), 1);
    b.writeUInt16LE(0xff0, optAt + 2);
    const file = write('epb-option.pcapng', b);
    expectFault(readAll(file), file, optAt, /enhanced packet block option 1 length 4080 runs past the end of the block/, 1);
  });

  it('an EPB on an interface the section has not described, and an EPB caplen beyond its block', function () {
    const b = goodCapture('pcapng');
    const third = epb(b, 2);
    b.writeUInt32LE(3, third.at + 8);
    const file = write('iface.pcapng', b);
    expectFault(readAll(file), file, third.at, /enhanced packet block refers to interface 3, but section 0 has 1 interface\(s\) so far/, 2);

    const c = goodCapture('pcapng');
    const t = epb(c, 2);
    c.writeUInt32LE(SIZES[2] + 200, t.at + 20);
    const file2 = write('caplen-room.pcapng', c);
    expectFault(readAll(file2), file2, t.at, new RegExp(`enhanced packet block caplen ${SIZES[2] + 200} is larger than the block holds \\(${t.len - 32} bytes\\)`), 2);
  });

  it('a hostile 2 GiB block length in a 100-byte file: an error, no allocation', function () {
    const head = goodCapture('pcapng').subarray(0, 64); // SHB (44 bytes) + IDB (20 bytes)
    for (const type of [6, 0x0bad]) {
      const tail = Buffer.alloc(36);
      tail.writeUInt32LE(type, 0);
      tail.writeUInt32LE(0x80000000, 4);
      const file = write(`hostile-${type}.pcapng`, Buffer.concat([head, tail]));
      assert.equal(fs.statSync(file).size, 100);
      const before = process.memoryUsage().arrayBuffers;
      const r = openCapture(file);
      const batch = new Batch({ capacity: 4, arenaBytes: 1 });
      assert.equal(r.next(batch), 0);
      const grown = process.memoryUsage().arrayBuffers - before;
      assert.ok(r.error instanceof InputError);
      assert.equal(r.error.offset, 64);
      assert.match(r.error.message, /length 2147483648 runs past the end of the file \(36 bytes left\)/);
      assert.ok(grown < 8 << 20, `array buffers grew by ${grown} bytes`);
      r.close();
    }
  });

  it('a hostile 4 GiB pcap caplen: refused before any allocation', function () {
    const b = goodCapture('pcap');
    const at = pcapRecordAt(0);
    b.writeUInt32LE(0xffffffff, at + 8);
    const file = write('hostile.pcap', b);
    expectFault(readAll(file), file, at, /record 1: caplen 4294967295 is larger than the maximum of 262144/, 0);
  });

  it('later calls to next() return 0 after a fault', function () {
    const at = pcapRecordAt(3);
    const file = write('after-fault.pcap', goodCapture('pcap').subarray(0, at + 5));
    const r = openCapture(file);
    const b = new Batch();
    assert.equal(r.next(b), 3);
    assert.ok(r.error);
    assert.equal(r.next(b), 0);
    assert.equal(b.count, 0);
    assert.equal(r.packetsRead, 3);
    r.close();
  });
});

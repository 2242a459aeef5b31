/**
 * The readers' fast paths (reader.ts PcapReader `plainRecords`, PcapngReader `plainBlocks`: the common
 * records and blocks in one tight loop, issue 12) change nothing a reader hands out: every capture reads
 * with them as without them (`readerTuning.fastPath` off: the general loop alone), packet by packet
 * (bytes, columns, options), batch by batch (the same packets in each batch), with the same interfaces,
 * the same count of packets over the snaplen and the same fault at the same offset; copied and in place,
 * with read buffers small enough that blocks cross refills. On hand-built captures that mix what the
 * fast paths take with everything they leave to the general loop (EPBs with options, SPBs, a new section,
 * caplen over the snaplen, both byte orders, a bad block), on generated traces and on the traces of traces/.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Batch } from '../src/core/batch';
import { InputError } from '../src/core/errors';
import { openCapture, readerTuning, type CaptureReader, type ReaderOptions } from '../src/io/reader';
import { writeTraceFile } from '../src/gen/trace';
import { listScenarios, tracesDir } from '../src/scenario/scenario';
import { normaliseOptions, tmpFile } from './io-helpers';

/** Little-endian (or big-endian) pcapng / pcap bytes, built by hand. */
class Bytes {
  readonly parts: Buffer[] = [];
  constructor(readonly le: boolean) {}

  u16(v: number): Buffer {
    const b = Buffer.alloc(2);
    if (this.le) b.writeUInt16LE(v);
    else b.writeUInt16BE(v);
    return b;
  }

  u32(v: number): Buffer {
    const b = Buffer.alloc(4);
    if (this.le) b.writeUInt32LE(v >>> 0);
    else b.writeUInt32BE(v >>> 0);
    return b;
  }

  /** A pcapng block: type, length, body (padded), length. */
  block(type: number, body: Buffer, trail?: number): void {
    const padded = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
    const len = padded.length + 12;
    this.parts.push(this.u32(type), this.u32(len), padded, this.u32(trail ?? len));
  }

  shb(): void {
    this.block(0x0a0d0d0a, Buffer.concat([this.u32(0x1a2b3c4d), this.u16(1), this.u16(0), Buffer.alloc(8, 0xff)]));
  }

  idb(linkType: number, snapLen: number): void {
    this.block(1, Buffer.concat([this.u16(linkType), this.u16(0), this.u32(snapLen)]));
  }

  /** An EPB; `comment`: an opt_comment option (then opt_endofopt). */
  epb(iface: number, ts: number, data: Buffer, wirelen: number, comment?: string, trail?: number): void {
    const pad = Buffer.alloc((4 - (data.length % 4)) % 4);
    let opts = Buffer.alloc(0);
    if (comment !== undefined) {
      const c = Buffer.from(comment);
      opts = Buffer.concat([this.u16(1), this.u16(c.length), c, Buffer.alloc((4 - (c.length % 4)) % 4), this.u32(0)]);
    }
    this.block(6, Buffer.concat([this.u32(iface), this.u32(Math.floor(ts / 2 ** 32)), this.u32(ts % 2 ** 32), this.u32(data.length), this.u32(wirelen), data, pad, opts]), trail);
  }

  spb(data: Buffer, wirelen: number): void {
    this.block(3, Buffer.concat([this.u32(wirelen), data]));
  }

  write(name: string): string {
    const f = tmpFile(name);
    fs.writeFileSync(f, Buffer.concat(this.parts));
    return f;
  }
}

/** A packet's bytes: an Ethernet + IPv4 + UDP frame of `len` bytes (at least 42), its content from `seed`. */
function frame(len: number, seed: number): Buffer {
  const b = Buffer.alloc(len);
  for (let k = 0; k < len; k++) b[k] = (seed * 31 + k * 7) & 0xff;
  b.writeUInt16BE(0x0800, 12);
  b[14] = 0x45;
  b.writeUInt16BE(len - 14, 16);
  b[23] = 17;
  return b;
}

/** pcapng of two sections: plain EPBs around everything the fast path leaves to the general loop. */
function mixedPcapng(le: boolean, bad: boolean): string {
  const w = new Bytes(le);
  w.shb();
  w.idb(1, 262144);
  w.idb(1, 100); // caplen over 100 on this one: counted (or a fault with strict snaplen)
  for (let k = 0; k < 400; k++) {
    const len = 42 + ((k * 37) % 300);
    if (k % 50 === 7) w.epb(0, 1_700_000_000_000_000 + k, frame(len, k), len, `packet ${k}`);
    else if (k % 50 === 19) w.spb(frame(len, k), len);
    else if (k % 50 === 23) w.epb(1, 1_700_000_000_000_000 + k, frame(len, k), len + 10);
    else if (k % 50 === 31) w.epb(1, 1_700_000_000_000_000 + k, frame(60, k), 60);
    else w.epb(0, 1_700_000_000_000_000 + k, frame(len, k), len + (k % 3));
    if (k === 200) {
      w.shb();
      w.idb(1, 0);
      w.idb(1, 100);
    }
    if (k === 350 && bad) w.epb(0, 1, frame(60, k), 60, undefined, 999); // trailing length wrong: a fault
  }
  return w.write(`mixed-${le ? 'le' : 'be'}${bad ? '-bad' : ''}.pcapng`);
}

/** Classic pcap (nanosecond magic when `nsec`) with records over the snaplen of 200 among plain ones. */
function mixedPcap(le: boolean, nsec: boolean): string {
  const w = new Bytes(le);
  w.parts.push(w.u32(nsec ? 0xa1b23c4d : 0xa1b2c3d4), w.u16(2), w.u16(4), w.u32(0), w.u32(0), w.u32(200), w.u32(1));
  for (let k = 0; k < 500; k++) {
    const len = k % 40 === 9 ? 250 : 42 + ((k * 53) % 150);
    w.parts.push(w.u32(1_700_000_000 + k), w.u32(k * 1000), w.u32(len), w.u32(len + (k % 2)), frame(len, k));
  }
  return w.write(`mixed-${le ? 'le' : 'be'}${nsec ? '-nsec' : ''}.pcap`);
}

interface Read {
  batches: number[];
  packets: unknown[];
  interfaces: unknown;
  overSnaplen: number;
  error: { message: string; offset: number | undefined } | null;
}

/** Everything `file` reads to, with the fast paths on or off. */
function readWith(file: string, fast: boolean, opts: ReaderOptions, capacity: number): Read {
  readerTuning.fastPath = fast;
  try {
    let reader: CaptureReader;
    try {
      reader = openCapture(file, opts);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      return { batches: [], packets: [], interfaces: null, overSnaplen: 0, error: { message: e.message, offset: e.offset } };
    }
    const b = new Batch({ capacity, arenaBytes: opts.inPlace === true ? 0 : undefined });
    const out: Read = { batches: [], packets: [], interfaces: null, overSnaplen: 0, error: null };
    while (reader.next(b) > 0) {
      out.batches.push(b.count);
      for (let i = 0; i < b.count; i++) {
        const o = b.options.get(i);
        out.packets.push({
          n: b.firstNumber + i,
          caplen: b.caplen[i],
          wirelen: b.wirelen[i],
          tsHi: b.tsHi[i],
          tsLo: b.tsLo[i],
          ts: String(b.ts[i]),
          iface: b.iface[i],
          linktype: b.linktype[i],
          bytes: Buffer.from(b.arena.subarray(b.off[i], b.off[i] + b.caplen[i])).toString('hex'),
          options: o === undefined ? null : normaliseOptions(o),
        });
      }
    }
    out.interfaces = JSON.parse(JSON.stringify(reader.interfaces));
    out.overSnaplen = reader.overSnaplenPackets;
    out.error = reader.error === null ? null : { message: reader.error.message, offset: reader.error.offset };
    reader.close();
    return out;
  } finally {
    readerTuning.fastPath = true;
  }
}

const VARIANTS: { name: string; opts: ReaderOptions; capacity: number }[] = [
  { name: 'copied, 4 KiB buffer, 7 per batch', opts: { bufferBytes: 4096 }, capacity: 7 },
  { name: 'copied, 64 KiB buffer, 512 per batch', opts: { bufferBytes: 64 << 10 }, capacity: 512 },
  { name: 'in place, 4 KiB buffer, 7 per batch', opts: { bufferBytes: 4096, inPlace: true }, capacity: 7 },
  { name: 'in place, 1 MiB buffer, 512 per batch', opts: { inPlace: true }, capacity: 512 },
  { name: 'strict snaplen, 4 KiB buffer', opts: { bufferBytes: 4096, strictSnaplen: true }, capacity: 64 },
];

function sameWithAndWithout(file: string): void {
  for (const v of VARIANTS) {
    const general = readWith(file, false, v.opts, v.capacity);
    const fast = readWith(file, true, v.opts, v.capacity);
    assert.deepEqual(fast, general, `${path.basename(file)} (${v.name}): the fast path reads it otherwise`);
  }
}

describe('io: the readers read every capture the same with and without their fast paths', function () {
  this.timeout(300_000);

  it('hand-built pcapng mixing EPBs with options, SPBs, sections, caplen over the snaplen; both byte orders', function () {
    for (const le of [true, false]) {
      const file = mixedPcapng(le, false);
      sameWithAndWithout(file);
      // the file is what it claims: the fast path had plain EPBs to take, the general loop the rest
      const r = readWith(file, true, {}, 512);
      assert.equal(r.packets.length, 400);
      let over = 0;
      for (let k = 23; k < 400; k += 50) if (42 + ((k * 37) % 300) > 100) over++;
      assert.ok(over > 0);
      assert.equal(r.overSnaplen, over, 'the EPBs over 100 bytes on the interface of snaplen 100');
      assert.ok((r.packets as { options: unknown }[]).some((p) => p.options !== null), 'some packets carry a comment');
    }
  });

  it('a pcapng with a bad block: the same packets before it and the same fault at the same offset', function () {
    for (const le of [true, false]) {
      const file = mixedPcapng(le, true);
      sameWithAndWithout(file);
      const r = readWith(file, true, {}, 512);
      assert.ok(r.error !== null && /trailing length 999/.test(r.error.message), `a fault: ${JSON.stringify(r.error)}`);
      assert.equal(r.packets.length, 351);
    }
  });

  it('hand-built pcap with records over the snaplen; both byte orders, micro- and nanoseconds', function () {
    for (const le of [true, false]) {
      for (const nsec of [false, true]) {
        const file = mixedPcap(le, nsec);
        sameWithAndWithout(file);
        const r = readWith(file, true, {}, 512);
        assert.equal(r.packets.length, 500);
        assert.equal(r.overSnaplen, 13, 'the 250-byte records over the snaplen of 200');
        const strict = readWith(file, true, { strictSnaplen: true }, 512);
        assert.equal(strict.packets.length, 9, 'strict snaplen: the records before the first one over it');
      }
    }
  });

  it('generated pcap and pcapng traces and the traces of traces/', function () {
    const files = listScenarios(tracesDir()).map((dir) => path.join(dir, 'trace.pcapng')).filter((f) => fs.existsSync(f));
    for (const format of ['pcap', 'pcapng'] as const) {
      const f = tmpFile(`gen.${format}`);
      writeTraceFile(f, format, { packets: 5000, flows: 300, seed: 11 });
      files.push(f);
    }
    for (const f of files) sameWithAndWithout(f);
  });
});

/**
 * The readers' in-place mode (reader.ts `inPlace`, used by the decide-only replay): every capture reads as
 * the copying reader reads it (packets, bytes, columns, options, interfaces, the fault with its offset and
 * message), with read buffers small enough that records cross refills, and each batch's packets lie in one
 * buffer with HEADROOM free bytes in front of its first packet, one after the other (a prepend overwrites
 * only earlier packets). On the real-capture corpus when it is there, on every trace of traces/ and on
 * generated pcap and pcapng traces always.
 *
 * And the copying reader with its read buffer in the ArrayBuffer of the batch's arena (reader.ts
 * ReaderOptions `buffer`: pipeline slot.ts `readBuf`, packets copied with copyWithin) reads the same too.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Batch, HEADROOM } from '../src/core/batch';
import { InputError } from '../src/core/errors';
import { openCapture, type CaptureReader, type ReaderOptions } from '../src/io/reader';
import { Slot, SlotLayout } from '../src/pipeline/slot';
import { writeTraceFile } from '../src/gen/trace';
import { listScenarios, tracesDir } from '../src/scenario/scenario';
import { corpusDir, corpusPresent, readAll, tmpFile, type ReadResult } from './io-helpers';

/** readAll's result, each packet's bytes and options compared; the fault by its message and offset. */
function comparable(r: ReadResult): unknown {
  return {
    packets: r.packets.map((p) => ({ ...p, bytes: p.bytes.toString('hex') })),
    interfaces: r.interfaces,
    error: r.error === null ? null : { message: r.error.message, offset: r.error.offset },
  };
}

/**
 * Reads `file` in place and checks the layout of every batch: one buffer (the batch's arena), HEADROOM
 * bytes before the first packet, packets in order without overlap. Returns the packets read.
 */
function checkLayout(file: string, opts: ReaderOptions, capacity: number): number {
  let reader: CaptureReader;
  try {
    reader = openCapture(file, { ...opts, inPlace: true });
  } catch (e) {
    if (e instanceof InputError) return 0;
    throw e;
  }
  const b = new Batch({ capacity, arenaBytes: 0 });
  let total = 0;
  while (reader.next(b) > 0) {
    assert.ok(b.off[0] >= HEADROOM, `${file}: the first packet of a batch has ${b.off[0]} bytes in front, ${HEADROOM} wanted`);
    for (let i = 1; i < b.count; i++) assert.ok(b.off[i] >= b.off[i - 1] + b.caplen[i - 1], `${file}: packet ${b.firstNumber + i} overlaps the one before`);
    const last = b.count - 1;
    assert.ok(b.off[last] + b.caplen[last] <= b.arena.length, `${file}: a packet past the buffer`);
    total += b.count;
  }
  reader.close();
  return total;
}

/** The files every run has: the scenarios' traces and generated pcap / pcapng traces (overlay, with VXLAN). */
function alwaysPresent(): string[] {
  const files = listScenarios(tracesDir()).map((dir) => path.join(dir, 'trace.pcapng'));
  for (const format of ['pcap', 'pcapng'] as const) {
    const f = tmpFile(`gen.${format}`);
    writeTraceFile(f, format, { packets: 3000, flows: 200, seed: 7 });
    files.push(f);
  }
  return files.filter((f) => fs.existsSync(f));
}

/** A pipeline slot with a read buffer of `readBytes` beside its arena (1 MiB) in one ArrayBuffer. */
function sharedSlot(readBytes: number, capacity: number): Slot {
  return new Slot(new SlotLayout({ capacity, arenaBytes: 1 << 20, verdictBytes: 0, traceBytes: 0, idbBytes: 0, regions: 1, readBytes }));
}

describe('io: a read buffer beside the arena (ReaderOptions buffer)', () => {
  it('is the one the reader reads into, and the packets are those of the file', () => {
    const f = tmpFile('shared.pcap');
    writeTraceFile(f, 'pcap', { packets: 200, flows: 20, seed: 3 });
    const slot = sharedSlot(4096, 64);
    const reader = openCapture(f, { bufferBytes: 4096, buffer: slot.readBuf });
    assert.equal((reader as unknown as { src: { buf: Uint8Array } }).src.buf, slot.readBuf, 'the reader made a buffer of its own');
    reader.close();
    const copied = readAll(f, { bufferBytes: 4096 }, new Batch({ capacity: 64 }));
    assert.equal(copied.packets.length, 200);
    assert.deepEqual(comparable(readAll(f, { bufferBytes: 4096, buffer: slot.readBuf }, slot.batch)), comparable(copied));
  });

  it('too small for the buffer asked for: the reader makes its own', () => {
    const f = tmpFile('shared-small.pcap');
    writeTraceFile(f, 'pcap', { packets: 50, flows: 5, seed: 4 });
    const slot = sharedSlot(4096, 64);
    const reader = openCapture(f, { bufferBytes: 8192, buffer: slot.readBuf });
    assert.notEqual((reader as unknown as { src: { buf: Uint8Array } }).src.buf, slot.readBuf);
    reader.close();
  });
});

describe('io: in-place reading gives what the copying reader gives', function () {
  this.timeout(300_000);
  const variants: { name: string; opts: ReaderOptions; capacity: number }[] = [
    { name: '4 KiB buffer, 7 per batch', opts: { bufferBytes: 4096 }, capacity: 7 },
    { name: '64 KiB buffer, 512 per batch', opts: { bufferBytes: 64 << 10 }, capacity: 512 },
    { name: 'strict snaplen, 4 KiB buffer', opts: { bufferBytes: 4096, strictSnaplen: true }, capacity: 64 },
  ];

  const compareAll = (files: string[]): void => {
    for (const v of variants) {
      for (const file of files) {
        const copied = readAll(file, v.opts, new Batch({ capacity: v.capacity }));
        const inPlace = readAll(file, { ...v.opts, inPlace: true }, new Batch({ capacity: v.capacity, arenaBytes: 0 }));
        assert.deepEqual(comparable(inPlace), comparable(copied), `${path.basename(file)} (${v.name}): in place differs`);
        assert.equal(checkLayout(file, v.opts, v.capacity), copied.packets.length, `${path.basename(file)}: packets in place`);
        const slot = sharedSlot(v.opts.bufferBytes as number, v.capacity);
        const shared = readAll(file, { ...v.opts, buffer: slot.readBuf }, slot.batch);
        assert.deepEqual(comparable(shared), comparable(copied), `${path.basename(file)} (${v.name}): read through a buffer beside the arena differs`);
      }
    }
  };

  it('the traces of traces/ and generated pcap and pcapng traces', () => {
    const files = alwaysPresent();
    assert.ok(files.length >= 3);
    compareAll(files);
  });

  it('every file of the real-capture corpus (faults at the same packet and offset)', function () {
    if (!corpusPresent()) this.skip(); // ../shared/corpus/real is absent
    const files = fs
      .readdirSync(corpusDir)
      .filter((f) => /\.pcap(ng)?$/.test(f))
      .map((f) => path.join(corpusDir, f))
      .filter((f) => fs.statSync(f).isFile());
    assert.ok(files.length > 20, `corpus files: ${files.length}`);
    compareAll(files);
  });
});

/**
 * The byte paths the teaching page uses instead of files: `openCaptureBytes` must read a capture in memory
 * exactly as `openCapture` reads the file (packets, columns, options, interfaces, format, variant and the
 * error with its byte offset), and a writer on a MemorySink must produce exactly the file a writer on a
 * path produces. Inputs: every capture of the real corpus (../shared/corpus/real, skipped when absent),
 * the committed scenario traces, and damaged copies of them (cut short, a byte flipped in a length).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Batch } from '../src/core/batch';
import { InputError } from '../src/core/errors';
import { openCapture, openCaptureBytes, type CaptureReader, type ReaderOptions } from '../src/io/reader';
import { createWriter, MemorySink, type WriteFormat } from '../src/io/writer';

const root = path.resolve(__dirname, '..', '..');
const corpus = path.resolve(root, '..', 'shared', 'corpus', 'real');

/** Everything a reader gives, as comparable text (bytes as hex, options as JSON). */
function readEverything(open: () => CaptureReader): string {
  let reader: CaptureReader;
  try {
    reader = open();
  } catch (e) {
    if (e instanceof InputError) return `open failed: ${e.message}`;
    throw e;
  }
  const lines = [`${reader.format} ${reader.pcapVariant} le=${reader.littleEndian}`];
  const batch = new Batch({ capacity: 5 });
  while (reader.next(batch) > 0) {
    for (let i = 0; i < batch.count; i++) {
      const o = batch.options.get(i);
      lines.push(
        [
          batch.firstNumber + i,
          batch.caplen[i],
          batch.wirelen[i],
          batch.tsHi[i],
          batch.tsLo[i],
          batch.ts[i],
          batch.iface[i],
          batch.linktype[i],
          Buffer.from(batch.packet(i)).toString('hex'),
          o === undefined ? '' : JSON.stringify(o, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Array.from(v) : v)),
        ].join(' '),
      );
    }
  }
  reader.close();
  lines.push(`interfaces ${JSON.stringify(reader.interfaces)}`, `over-snaplen ${reader.overSnaplenPackets}`, `error ${reader.error?.message ?? 'none'}`);
  return lines.join('\n');
}

function captures(): string[] {
  const list = fs
    .readdirSync(path.join(root, 'traces'))
    .map((d) => path.join(root, 'traces', d, 'trace.pcapng'))
    .filter((f) => fs.existsSync(f));
  if (fs.existsSync(corpus)) {
    for (const f of fs.readdirSync(corpus).sort()) {
      if (/\.(tsv|md)$/.test(f) || f === 'LICENSES' || !fs.statSync(path.join(corpus, f)).isFile()) continue;
      list.push(path.join(corpus, f));
    }
  }
  return list;
}

describe('native-free: reading and writing captures in memory (io byte paths)', function () {
  this.timeout(120000);
  let tmp = '';
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-native-free-io-'))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('reads every capture from bytes exactly as from the file (default and 4 KiB read buffers)', function () {
    const files = captures();
    if (!fs.existsSync(corpus)) console.log(`      note: ${corpus} is absent; only the scenario traces are compared`);
    assert.ok(files.length >= 8, 'the scenario traces at least');
    for (const file of files) {
      const bytes = new Uint8Array(fs.readFileSync(file));
      const copy = bytes.slice();
      for (const opts of [{}, { bufferBytes: 4096 }] as ReaderOptions[]) {
        assert.equal(
          readEverything(() => openCaptureBytes(file, bytes, opts)),
          readEverything(() => openCapture(file, opts)),
          `${path.basename(file)} ${JSON.stringify(opts)}`,
        );
      }
      assert.ok(Buffer.from(bytes).equals(Buffer.from(copy)), `${path.basename(file)}: the input bytes are left as they were`);
    }
  });

  it('reports the same faults at the same byte offsets for damaged captures', function () {
    const files = captures().slice(0, 40);
    let faults = 0;
    for (const file of files) {
      const whole = fs.readFileSync(file);
      const damaged: [string, Buffer][] = [
        ['cut', whole.subarray(0, Math.max(0, whole.length - 7))],
        ['header only', whole.subarray(0, 3)],
        ['length flipped', Buffer.from(whole)],
      ];
      const flipped = damaged[2][1];
      if (flipped.length > 60) flipped[flipped.length >> 1] ^= 0xff; // somewhere in the middle: a length, a field or data
      for (const [what, buf] of damaged) {
        const name = path.join(tmp, `${path.basename(file)}.${what.replace(/ /g, '-')}`);
        fs.writeFileSync(name, buf);
        const fromBytes = readEverything(() => openCaptureBytes(name, new Uint8Array(buf)));
        assert.equal(fromBytes, readEverything(() => openCapture(name)), `${path.basename(file)} ${what}`);
        if (/(^open failed|\nerror (?!none))/.test(fromBytes)) faults++;
        fs.unlinkSync(name);
      }
    }
    assert.ok(faults >= files.length, `faults were found (${faults})`);
  });

  it('writes to a MemorySink exactly the bytes a writer on a path writes', function () {
    for (const format of ['pcap', 'pcapng'] as WriteFormat[]) {
      const file = path.join(tmp, `out.${format}`);
      const sink = new MemorySink();
      const writers = [createWriter(file, format, { bufferBytes: 64 * 1024 }), createWriter(sink, format, { bufferBytes: 64 * 1024 })];
      const reader = openCapture(path.join(root, 'traces', '05-services', 'trace.pcapng'));
      const batch = new Batch();
      while (reader.next(batch) > 0) for (const w of writers) w.writeBatch(batch, reader.interfaces);
      reader.close();
      // Packets bigger than the 64 KiB buffer too, so the sink gets several chunks.
      const big = new Uint8Array(150000).map((_v, j) => j & 0xff);
      for (let k = 0; k < 3; k++) for (const w of writers) w.writePacket(big, { tsHi: 1767225600 + k, tsLo: 0 });
      for (const w of writers) w.close();
      const want = fs.readFileSync(file);
      assert.ok(want.length > 450000);
      assert.ok(Buffer.from(sink.bytes()).equals(want), format);
      assert.throws(() => {
        writers[1].writePacket(big, { tsHi: 1, tsLo: 0 });
        writers[1].flush();
      }, /closed/);
    }
  });
});

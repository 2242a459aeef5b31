/**
 * Streaming with bounded memory: reading a 200 MB capture (generated in the tmp folder with our writer,
 * deleted afterwards) must not grow the process's resident memory by more than 64 MB, in both formats.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { Batch } from '../src/core/batch';
import { openCapture } from '../src/io/reader';
import { createWriter, WriteFormat } from '../src/io/writer';
import { tmpFile } from './io-helpers';

const TARGET_BYTES = 200e6;
const PACKET = 1400;

function generate(format: WriteFormat): { file: string; packets: number } {
  const file = tmpFile(`big.${format}`);
  const w = createWriter(file, format, { bufferBytes: 4 << 20 });
  if (format === 'pcapng') w.addInterface({ linkType: 1 });
  const data = new Uint8Array(PACKET).map((_v, j) => j & 0xff);
  const per = format === 'pcap' ? 16 + PACKET : 32 + PACKET;
  const packets = Math.ceil(TARGET_BYTES / per);
  for (let k = 0; k < packets; k++) {
    data[0] = k & 0xff; // so that a mixed-up packet would show
    w.writePacket(data, { tsHi: format === 'pcap' ? 1700000000 + (k >>> 10) : 0, tsLo: k });
  }
  w.close();
  return { file, packets };
}

describe('io: streaming a 200 MB capture with bounded memory', function () {
  this.timeout(60000);
  for (const format of ['pcap', 'pcapng'] as const) {
    it(`${format}: resident memory grows by less than 64 MB`, function () {
      const { file, packets } = generate(format);
      try {
        assert.ok(fs.statSync(file).size >= TARGET_BYTES);
        const batch = new Batch();
        const before = process.memoryUsage().rss;
        let peak = before;
        const r = openCapture(file);
        let n = 0;
        let bytes = 0;
        while (r.next(batch) > 0) {
          for (let i = 0; i < batch.count; i++) {
            if (batch.arena[batch.off[i]] !== ((n + i) & 0xff)) assert.fail(`packet ${n + i + 1} out of order`);
            bytes += batch.caplen[i];
          }
          n += batch.count;
          const rss = process.memoryUsage().rss;
          if (rss > peak) peak = rss;
        }
        r.close();
        assert.equal(r.error, null);
        assert.equal(n, packets);
        assert.equal(bytes, packets * PACKET);
        const growth = peak - before;
        assert.ok(growth < 64 << 20, `RSS grew by ${(growth / 1048576).toFixed(1)} MB`);
      } finally {
        fs.unlinkSync(file);
      }
    });
  }
});

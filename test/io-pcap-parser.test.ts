/**
 * Cross-check of the classic-pcap reader against the pcap-parser npm package on every microsecond pcap
 * file of the corpus (magic a1b2c3d4, either byte order): per packet, timestamp seconds and microseconds,
 * caplen, original length and the bytes.
 *
 * pcap-parser knows only the standard 16-byte record header and no fault detection, so: files we reject
 * at the header must be files tshark rejects too; a file whose records we read in another layout (the
 * wiretap heuristic) is compared with tshark's layout instead and skipped here; after a fault, the packets
 * we delivered must be pcap-parser's first ones.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as pcapParser from 'pcap-parser';
import { corpusDir, corpusPresent, readAll, readTsv } from './io-helpers';

interface PpPacket {
  sec: number;
  usec: number;
  caplen: number;
  len: number;
  data: Buffer;
}

function parseWithPcapParser(file: string): Promise<{ packets: PpPacket[]; error: Error | null }> {
  return new Promise((resolve) => {
    const packets: PpPacket[] = [];
    let error: Error | null = null;
    const p = pcapParser.parse(file);
    p.on('packet', (pkt) => {
      packets.push({
        sec: pkt.header.timestampSeconds,
        usec: pkt.header.timestampMicroseconds,
        caplen: pkt.header.capturedLength,
        len: pkt.header.originalLength,
        data: pkt.data,
      });
    });
    p.on('error', (e) => (error = e));
    p.on('end', () => resolve({ packets, error }));
  });
}

function isMicrosecondPcap(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  const b = Buffer.alloc(4);
  const n = fs.readSync(fd, b, 0, 4, 0);
  fs.closeSync(fd);
  if (n < 4) return false;
  const m = b.readUInt32BE(0);
  return m === 0xa1b2c3d4 || m === 0xd4c3b2a1;
}

describe('io: classic pcap reader against pcap-parser on the corpus', function () {
  this.timeout(120000);
  if (!corpusPresent()) {
    it('needs ../shared/corpus/real', function () {
      this.skip(); // the corpus folder is absent
    });
    return;
  }
  const status = new Map(readTsv(path.join(corpusDir, 'ORACLE_STATUS.tsv')).map((r) => [r.file, r]));
  const files = [...status.keys()].filter((f) => isMicrosecondPcap(path.join(corpusDir, f))).sort();

  it('finds the microsecond pcap files of the corpus', function () {
    assert.ok(files.length >= 90, `only ${files.length} files`);
  });

  for (const file of files) {
    it(file, async function () {
      const full = path.join(corpusDir, file);
      const ours = readAll(full);
      if (ours.reader === null) {
        // Rejected at the file header: tshark rejects it too, with no packet.
        const st = status.get(file) as Record<string, string>;
        assert.equal(st.tshark_exit, '2', `we reject ${file} (${ours.error?.message}) but tshark reads it`);
        assert.equal(st.packet_rows, '0');
        return;
      }
      if (ours.reader.pcapVariant !== 'standard') {
        // Records in another layout, chosen as tshark chooses it (checked by io-corpus against tshark).
        assert.equal(file, 'suricata-verify__bug-6875-01__fuzz.pcap', `unexpected layout ${ours.reader.pcapVariant} for ${file}`);
        this.skip();
      }
      const theirs = await parseWithPcapParser(full);
      if (ours.error === null) assert.equal(ours.packets.length, theirs.packets.length, 'packet count');
      else assert.ok(theirs.packets.length >= ours.packets.length, 'pcap-parser delivers at least the packets before our fault');
      ours.packets.forEach((p, k) => {
        const q = theirs.packets[k];
        assert.equal(p.tsHi, q.sec, `packet ${k + 1} seconds`);
        assert.equal(p.tsLo, q.usec, `packet ${k + 1} microseconds`);
        assert.equal(p.caplen, q.caplen, `packet ${k + 1} caplen`);
        assert.equal(p.wirelen, q.len, `packet ${k + 1} original length`);
        assert.ok(p.bytes.equals(q.data), `packet ${k + 1} bytes`);
      });
    });
  }
});

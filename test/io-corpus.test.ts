/**
 * Differential test of the capture readers against tshark 4.0 on every file of the real-capture corpus
 * (../shared/corpus/real): packet count, frame.len, frame.cap_len, frame.interface_id (pcapng) and
 * frame.time_epoch (via formatEpoch), and for the files tshark cannot read completely, a clean error
 * after the same packets. Differences are failures unless listed in test/io-allowlist.tsv.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Batch } from '../src/core/batch';
import { InterfaceInfo } from '../src/io/reader';
import { corpusDir, corpusPresent, readAll, readTsv, repoRoot } from './io-helpers';

interface Allowed {
  file: string;
  packet: string;
  field: string;
  reason: string;
}

function loadAllowlist(): Allowed[] {
  const file = path.join(repoRoot, 'test', 'io-allowlist.tsv');
  return readTsv(file).map((r) => ({ file: r.file, packet: r.packet, field: r.field, reason: r.reason }));
}

/** Section-local index of each interface, as tshark numbers frame.interface_id. */
function localIds(ifaces: InterfaceInfo[]): number[] {
  const firstOfSection = new Map<number, number>();
  return ifaces.map((ifc, gi) => {
    if (!firstOfSection.has(ifc.section)) firstOfSection.set(ifc.section, gi);
    return gi - (firstOfSection.get(ifc.section) as number);
  });
}

describe('io: readers against the tshark oracle on the real-capture corpus', function () {
  this.timeout(120000);
  if (!corpusPresent()) {
    it('needs ../shared/corpus/real', function () {
      this.skip(); // the corpus folder is absent: nothing to compare with
    });
    return;
  }
  const status = new Map(readTsv(path.join(corpusDir, 'ORACLE_STATUS.tsv')).map((r) => [r.file, r]));
  const allow = loadAllowlist();
  const isAllowed = (file: string, packet: number, field: string): boolean =>
    allow.some((a) => a.file === file && (a.packet === '*' || Number(a.packet) === packet) && a.field === field);
  let totalPackets = 0;

  for (const file of [...status.keys()].sort()) {
    const st = status.get(file) as Record<string, string>;
    it(file, function () {
      const rows = readTsv(path.join(corpusDir, `${file}.tshark.tsv`)).filter((r) => r['frame.encap_type'] !== '');
      totalPackets += rows.length;
      const got = readAll(path.join(corpusDir, file));
      const unknownLinktype = /network type (\d+) unknown or unsupported/.exec(st.tshark_stderr);
      if (unknownLinktype) {
        // tshark refuses the whole file for a link type it does not know; for us the file is fine and
        // every packet carries that link type (the decoder flags it per packet).
        assert.equal(got.error, null, `unexpected error: ${got.error?.message}`);
        assert.ok(got.packets.length > 0);
        for (const p of got.packets) assert.equal(p.linktype, Number(unknownLinktype[1]));
        return;
      }
      if (st.tshark_exit !== '0') {
        assert.ok(got.error, `tshark fails on this file (${st.tshark_stderr.trim()}) but we read it without error`);
        assert.ok(got.error.message.startsWith(path.join(corpusDir, file)), 'the message names the file');
        assert.equal(typeof got.error.offset, 'number', 'the error names a byte offset');
      } else {
        assert.equal(got.error, null, `unexpected error: ${got.error?.message}`);
      }
      assert.equal(got.packets.length, rows.length, 'packet count');
      const local = localIds(got.interfaces);
      const isPcapng = got.reader?.format === 'pcapng';
      const diffs: string[] = [];
      rows.forEach((row, k) => {
        const p = got.packets[k];
        const n = k + 1;
        const check = (field: string, ours: string, theirs: string): void => {
          if (ours !== theirs && !isAllowed(file, n, field)) diffs.push(`packet ${n} ${field}: ours '${ours}' tshark '${theirs}'`);
        };
        check('frame.time_epoch', p.epoch, row['frame.time_epoch']);
        check('frame.len', String(p.wirelen), row['frame.len']);
        check('frame.cap_len', String(p.caplen), row['frame.cap_len']);
        check('frame.interface_id', isPcapng ? String(local[p.iface]) : '', row['frame.interface_id']);
      });
      assert.deepEqual(diffs, []);
    });
  }

  it('keeps the allow-list under 0.1% of the packets, each entry with a reason', function () {
    for (const a of allow) assert.ok(a.reason.trim().length > 0, `allow-list entry without reason: ${JSON.stringify(a)}`);
    const entries = allow.length;
    assert.ok(totalPackets > 0);
    assert.ok(entries <= totalPackets * 0.001, `${entries} allow-list entries for ${totalPackets} packets`);
  });

  it('reports the faults of the broken corpus files with the offsets and numbers', function () {
    const expect: Record<string, RegExp> = {
      'libpcap__pcap-invalid-version-1.pcap': /at byte offset 4: unsupported pcap version 1\.4/,
      'libpcap__linktype-reserved-field-not-zero.pcap': /at byte offset 20: .*0x00300000 has reserved bits set/,
      'libpcap__pcapng-invalid-vers-1.pcapng': /at byte offset 12: unsupported pcapng section version 0\.1/,
      'libpcap__shb-option-too-long.pcapng': /at byte offset 24: section header block option 12336 length 12336 runs past the end/,
      'gopacket__le__test901.pcapng': /at byte offset 492: unsupported pcapng section version 2\.0/,
      'suricata-verify__bug-6875-01__fuzz.pcap': /record 3: caplen 16711424 is larger than the maximum of 262144/,
      'suricata-verify__bug-1450-04__tls_DER-incomplete-header.pcap': /at byte offset 5035: record 7: caplen 4325376 is larger than the maximum of 262144/,
      'ndpi__fuzz-2021-10-13.pcap': /at byte offset 237: record 2: file ends inside the record header \(16 bytes needed, 2 present\)/,
    };
    const delivered: Record<string, number> = {
      'gopacket__le__test901.pcapng': 1,
      'suricata-verify__bug-6875-01__fuzz.pcap': 2,
      'suricata-verify__bug-1450-04__tls_DER-incomplete-header.pcap': 6,
      'ndpi__fuzz-2021-10-13.pcap': 1,
    };
    for (const [file, re] of Object.entries(expect)) {
      const got = readAll(path.join(corpusDir, file));
      assert.ok(got.error, `${file}: no error`);
      assert.match(got.error.message, re, file);
      assert.equal(got.packets.length, delivered[file] ?? 0, `${file}: packets before the fault`);
    }
  });

  it('reads every file the same with a 4 KiB read buffer (refills and growth at every block)', function () {
    for (const file of status.keys()) {
      const a = readAll(path.join(corpusDir, file));
      const b = readAll(path.join(corpusDir, file), { bufferBytes: 4096 }, new Batch({ capacity: 3, arenaBytes: 1 }));
      assert.equal(b.error?.message, a.error?.message, file);
      assert.equal(b.packets.length, a.packets.length, file);
      a.packets.forEach((p, k) => {
        const q = b.packets[k];
        assert.ok(p.bytes.equals(q.bytes), `${file} packet ${k + 1}`);
        assert.deepEqual([q.epoch, q.iface, q.wirelen, q.options], [p.epoch, p.iface, p.wirelen, p.options], `${file} packet ${k + 1}`);
      });
    }
  });

  it('reads the header-only and empty-section files as 0 packets without error', function () {
    for (const file of [
      'tcpdump__empty.pcap',
      'tcpdump__empty.pcapng',
      'pcapng-testgen__le__test002.pcapng',
      'pcapng-testgen__le__test013.pcapng',
      'pcapng-testgen__le__test015.pcapng',
      'pcapng-testgen__le__test017.pcapng',
      'pcapng-testgen__le__test200.pcapng',
    ]) {
      const got = readAll(path.join(corpusDir, file));
      assert.equal(got.error, null, file);
      assert.equal(got.packets.length, 0, file);
    }
  });

  it('reads interfaces, sections, options and resolutions from the pcapng files', function () {
    const t202 = readAll(path.join(corpusDir, 'pcapng-testgen__le__test202.pcapng'));
    assert.deepEqual(
      t202.interfaces.map((i) => i.section),
      [0, 0, 1, 2, 2],
      'interface sections (global index across 3 sections)',
    );
    const be202 = readAll(path.join(corpusDir, 'pcapng-testgen__be__test202.pcapng'));
    assert.equal(be202.reader?.littleEndian, false);
    const t902 = readAll(path.join(corpusDir, 'gopacket__le__test902.pcapng'));
    assert.equal(t902.interfaces[0].tsresolRaw, 0x88);
    assert.equal(t902.interfaces[0].tsUnitsPerSec, 256);
    const multi = readAll(path.join(corpusDir, 'zeek__pcapng-multi-interface.pcapng'));
    assert.deepEqual(
      [...new Set(multi.interfaces.map((i) => i.tsUnitsPerSec))].sort((a, b) => a - b),
      [1e6, 1e9],
    );
    const spb = readAll(path.join(corpusDir, 'pcapng-testgen__le__test010.pcapng'));
    assert.ok(spb.packets.every((p) => Number.isNaN(p.ts) && p.epoch === ''));
    const pb = readAll(path.join(corpusDir, 'scapy__pfcp.pcap'));
    assert.equal(pb.reader?.format, 'pcapng');
    assert.equal(pb.packets.length, 200);
    const mod = readAll(path.join(corpusDir, 'pcap-parser__modified-format.pcap'));
    assert.equal(mod.reader?.format, 'pcap-modified');
    assert.equal(mod.reader?.pcapVariant, 'ss991029');
    // Comments: frame.comment is not an oracle column; `tshark -T fields -e frame.comment` shows 100
    // commented packets in this file, the first on packet 60 ("Packet #1").
    const ex = readAll(path.join(corpusDir, 'pcapplusplus__pcapng-example.pcapng'));
    const withComments = ex.packets.filter((p) => (p.options as { comments?: string[] } | undefined)?.comments?.length);
    assert.equal(withComments.length, 100);
    assert.equal(withComments[0].n, 60);
    assert.deepEqual(withComments[0].options, { comments: ['Packet #1'] });
    const ifaceNames = readAll(path.join(corpusDir, 'zeek__ldap__gap-data-missing.pcapng')).interfaces;
    assert.equal(ifaceNames.length, 126);
    assert.deepEqual([...new Set(ifaceNames.map((i) => i.linkType))].sort((a, b) => a - b), [1, 113, 274]);
  });
});

// The allow-list must exist even when empty (header line only).
if (!fs.existsSync(path.join(repoRoot, 'test', 'io-allowlist.tsv'))) {
  throw new Error('test/io-allowlist.tsv is missing');
}

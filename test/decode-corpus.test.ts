/**
 * Differential test: our `decode` columns against tshark's view of every packet of every capture in the
 * real-capture corpus (../shared/corpus/real, see its EXPECTED.md for the oracle command).
 *
 * How an oracle row maps to our columns (tshark 4.0 fields, `occurrence=a`, values joined by commas,
 * outermost first). `frame.protocols` tells which layer each value belongs to:
 * - n: the packet's ordinal among packet rows (rows with an empty frame.encap_type, pcapng custom
 *   blocks, are skipped and do not count; tshark's frame.number does count them);
 * - caplen / len: frame.cap_len / frame.len;
 * - link layer: a packet whose first protocol is not one we decode (eth, sll, null, raw, ip, ipv6) must be
 *   flagged `unsupported-linktype` by us and is compared on n, caplen, len and flags only;
 * - eth_src / eth_dst: first eth.src / eth.dst when the frame starts with an Ethernet header;
 * - vlan: the first vlan.id or ieee8021ad.id, whichever layer comes first, among the tags before the first
 *   IP layer (our vlan is the outer frame's);
 * - IP layers: the k-th `ip` in frame.protocols owns the k-th ip.src/ip.dst/ip.proto/..., likewise `ipv6`;
 *   l3_src / l3_dst are the first IP layer's;
 * - proto: ip.proto of that layer; for IPv6, ipv6.nxt when it is not an extension header, else the layer
 *   named after the extension headers in frame.protocols (tcp 6, udp 17, ...). When tshark names no
 *   upper layer there (a non-first fragment shows `data`, a cut chain nothing), the oracle does not say
 *   which protocol it is and the column is not compared (counted in the summary);
 * - sport / dport: the first tcp.* or udp.* value when that protocol is 6 or 17, else empty (the ports of
 *   an ICMP error's quoted packet or of a packet inside an IPv6-in-IPv4 tunnel are not the packet's);
 * - icmp_type / icmp_code: the first icmp or icmpv6 layer;
 * - vni / inner_src / inner_dst: the first `vxlan` or `geneve` layer (geneve.vni is hex in the oracle),
 *   and the first IP layer after it (VXLAN-GPE shows up as `nsh`, not `vxlan`, so it is not a tunnel);
 * - dns_qname: the first dns.qry.name when the first DNS-family layer is `dns` right after udp or tcp and
 *   not inside an ICMP error (mdns and llmnr fill dns.qry.name too, on ports 5353/5355; DNS over QUIC
 *   follows quic): the CONTRACT's "DNS message on port 53";
 * - flags: `fragment` is compared exactly (ip.flags.mf or ip.frag_offset of the outermost IPv4, an
 *   `ipv6.fraghdr` layer right after the outermost IPv6). `unsupported-linktype` as above. `malformed` and
 *   `truncated` are compared one way only: tshark's _ws.malformed.expert=1 with the damage in a layer we
 *   decode (the last layer in frame.protocols is one of ours, DNS excluded since DNS trouble is not a
 *   packet fault for us) requires `truncated` or `malformed` from us. The other way is not comparable:
 *   tshark only reports thrown exceptions, while we also call inconsistent length fields malformed
 *   (e.g. IPv4 total length beyond the frame, which tshark reports as an expert warning only).
 *
 * Files tshark could not read to the end (ORACLE_STATUS.tsv exit code != 0): we must deliver at least the
 * rows it printed, and those are compared. Every difference fails unless listed in
 * test/corpus-allowlist.tsv (file, packet, column, reason); listed packets must stay <= 0.1% of all
 * compared packets, and a listed entry that no longer differs fails too (the list stays true).
 *
 * VXLAN is decoded on 8472 as well, as the oracle was produced with `-d udp.port==8472,vxlan`.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Batch, PF } from '../src/core/batch';
import { InputError } from '../src/core/errors';
import { decodeBatch, DecodeOptions } from '../src/decode/decoder';
import { packetFields, PacketFields, TSV_COLUMNS, TsvColumn } from '../src/decode/format';
import { openCapture } from '../src/io/reader';

const repoRoot = path.resolve(__dirname, '..', '..');
const corpusDir = path.resolve(repoRoot, '..', 'shared', 'corpus', 'real');
const allowListPath = path.join(repoRoot, 'test', 'corpus-allowlist.tsv');
const OPTS: DecodeOptions = { vxlanPorts: [8472] };

/** First protocols of frame.protocols that mean "a link layer we decode". */
const OUR_LINKS = new Set(['eth', 'sll', 'null', 'raw', 'ip', 'ipv6']);
/** Layers whose damage we must notice (flag truncated or malformed). */
const OUR_LAYERS = new Set([
  'eth',
  'ethertype',
  'vlan',
  'ieee8021ad',
  'sll',
  'null',
  'raw',
  'ip',
  'ipv6',
  'ipv6.hopopts',
  'ipv6.routing',
  'ipv6.fraghdr',
  'ipv6.dstopts',
  'tcp',
  'udp',
  'icmp',
  'icmpv6',
  'vxlan',
  'geneve',
]);
const IP6_EXT_LAYERS = new Set(['ipv6.hopopts', 'ipv6.routing', 'ipv6.fraghdr', 'ipv6.dstopts']);
const IP6_EXT_NUMBERS = new Set([0, 43, 44, 60]);
/** frame.protocols names of upper layers after IPv6 extension headers, and their protocol numbers. */
const PROTO_BY_NAME: Record<string, number> = {
  tcp: 6,
  udp: 17,
  icmpv6: 58,
  ah: 51,
  esp: 50,
  ip: 4,
  ipv6: 41,
  gre: 47,
  sctp: 132,
  'ipv6.nonxt': 59,
};

type OracleRow = Record<string, string>;

function readTsv(file: string): OracleRow[] {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const head = lines[0].split('\t');
  const rows: OracleRow[] = [];
  for (let k = 1; k < lines.length; k++) {
    if (lines[k] === '') continue;
    const v = lines[k].split('\t');
    const r: OracleRow = {};
    head.forEach((h, j) => (r[h] = v[j] ?? ''));
    rows.push(r);
  }
  return rows;
}

const values = (s: string | undefined): string[] => (s === undefined || s === '' ? [] : s.split(','));

/** What the oracle says for our columns; `undefined` = not comparable for this packet. */
type Expected = Partial<Record<TsvColumn, string | undefined>> & { unsupported: boolean; mustFlagDamage: boolean };

function expectedFromOracle(r: OracleRow, n: number): Expected {
  const protos = r['frame.protocols'].split(':');
  const e: Expected = { unsupported: false, mustFlagDamage: false, n: String(n), caplen: r['frame.cap_len'], len: r['frame.len'] };
  if (!OUR_LINKS.has(protos[0])) {
    e.unsupported = true;
    return e;
  }
  e.eth_src = protos[0] === 'eth' ? (values(r['eth.src'])[0] ?? '') : '';
  e.eth_dst = protos[0] === 'eth' ? (values(r['eth.dst'])[0] ?? '') : '';

  // IP layers in order, each with its index among layers of its kind
  const ipLayers: { pos: number; kind: 'ip' | 'ipv6'; k: number }[] = [];
  let nIp = 0;
  let nIp6 = 0;
  protos.forEach((p, pos) => {
    if (p === 'ip') ipLayers.push({ pos, kind: 'ip', k: nIp++ });
    else if (p === 'ipv6') ipLayers.push({ pos, kind: 'ipv6', k: nIp6++ });
  });
  const firstIpPos = ipLayers.length > 0 ? ipLayers[0].pos : protos.length;

  // vlan: first tag before the first IP layer
  e.vlan = '';
  for (let pos = 0; pos < firstIpPos; pos++) {
    if (protos[pos] === 'vlan') {
      e.vlan = values(r['vlan.id'])[0] ?? '';
      break;
    }
    if (protos[pos] === 'ieee8021ad') {
      e.vlan = values(r['ieee8021ad.id'])[0] ?? '';
      break;
    }
  }

  const addr = (l: { kind: 'ip' | 'ipv6'; k: number } | undefined, which: 'src' | 'dst'): string =>
    l === undefined ? '' : (values(r[`${l.kind}.${which}`])[l.k] ?? '');
  const outer = ipLayers[0];
  e.l3_src = addr(outer, 'src');
  e.l3_dst = addr(outer, 'dst');

  let proto: string | undefined = '';
  if (outer !== undefined) {
    if (outer.kind === 'ip') proto = values(r['ip.proto'])[outer.k] ?? '';
    else {
      const nxt = values(r['ipv6.nxt'])[outer.k];
      if (nxt === undefined) proto = '';
      else if (!IP6_EXT_NUMBERS.has(Number(nxt))) proto = nxt;
      else {
        let pos = outer.pos + 1;
        while (pos < protos.length && IP6_EXT_LAYERS.has(protos[pos])) pos++;
        const name = protos[pos];
        proto = name !== undefined && name in PROTO_BY_NAME ? String(PROTO_BY_NAME[name]) : undefined;
      }
    }
  }
  e.proto = proto;

  // ports of the outermost packet
  e.sport = '';
  e.dport = '';
  if (proto === '6' || proto === '17') {
    const l4 = proto === '6' ? 'tcp' : 'udp';
    const firstL4 = protos.indexOf(l4);
    if (firstL4 > (outer?.pos ?? -1)) {
      e.sport = values(r[`${l4}.srcport`])[0] ?? '';
      e.dport = values(r[`${l4}.dstport`])[0] ?? '';
    }
  } else if (proto === undefined) {
    e.sport = undefined;
    e.dport = undefined;
  }

  // first ICMP header
  e.icmp_type = '';
  e.icmp_code = '';
  const icmpPos = protos.findIndex((p) => p === 'icmp' || p === 'icmpv6');
  if (icmpPos >= 0) {
    const kind = protos[icmpPos];
    const k = protos.slice(0, icmpPos).filter((p) => p === kind).length;
    e.icmp_type = values(r[`${kind}.type`])[k] ?? '';
    e.icmp_code = values(r[`${kind}.code`])[k] ?? '';
  }

  // first tunnel
  e.vni = '';
  e.inner_src = '';
  e.inner_dst = '';
  const tunPos = protos.findIndex((p) => p === 'vxlan' || p === 'geneve');
  if (tunPos >= 0) {
    const kind = protos[tunPos];
    const k = protos.slice(0, tunPos).filter((p) => p === kind).length;
    const v = values(r[`${kind}.vni`])[k];
    e.vni = v === undefined ? '' : String(Number(v)); // geneve.vni is hex (0x00000a)
    const inner = ipLayers.find((l) => l.pos > tunPos);
    e.inner_src = addr(inner, 'src');
    e.inner_dst = addr(inner, 'dst');
  }

  // DNS on port 53
  e.dns_qname = '';
  const dnsPos = protos.findIndex((p) => p === 'dns' || p === 'mdns' || p === 'llmnr');
  if (dnsPos > 0 && protos[dnsPos] === 'dns' && (protos[dnsPos - 1] === 'udp' || protos[dnsPos - 1] === 'tcp')) {
    const icmpBefore = icmpPos >= 0 && icmpPos < dnsPos;
    if (!icmpBefore) e.dns_qname = values(r['dns.qry.name'])[0] ?? '';
  }

  // flags
  let fragment = false;
  if (outer?.kind === 'ip') {
    fragment = values(r['ip.flags.mf'])[outer.k] === '1' || Number(values(r['ip.frag_offset'])[outer.k] ?? '0') > 0;
  } else if (outer?.kind === 'ipv6') {
    for (let pos = outer.pos + 1; pos < protos.length && IP6_EXT_LAYERS.has(protos[pos]); pos++) {
      if (protos[pos] === 'ipv6.fraghdr') fragment = true;
    }
  }
  e.flags = fragment ? 'fragment' : '';
  e.mustFlagDamage = r['_ws.malformed.expert'] === '1' && OUR_LAYERS.has(protos[protos.length - 1]);
  return e;
}

/** Our row as text per column. */
function ourColumns(p: PacketFields): Record<TsvColumn, string> {
  const out = {} as Record<TsvColumn, string>;
  for (const c of TSV_COLUMNS) {
    const v = p[c];
    out[c] = v === undefined ? '' : Array.isArray(v) ? v.join(',') : String(v);
  }
  return out;
}

interface Diff {
  file: string;
  packet: number;
  column: string;
  ours: string;
  oracle: string;
}

interface AllowEntry {
  file: string;
  packet: number;
  column: string;
  reason: string;
}

function readAllowList(): AllowEntry[] {
  if (!fs.existsSync(allowListPath)) return [];
  const lines = fs.readFileSync(allowListPath, 'utf8').split('\n');
  const out: AllowEntry[] = [];
  for (let k = 1; k < lines.length; k++) {
    const line = lines[k];
    if (line.trim() === '' || line.startsWith('#')) continue;
    const [file, packet, column, reason] = line.split('\t');
    assert.ok(file && packet && column && reason && reason.trim() !== '', `corpus-allowlist.tsv line ${k + 1}: file, packet, column and a reason`);
    out.push({ file, packet: Number(packet), column, reason });
  }
  return out;
}

/** Decodes a whole capture into text rows; `error` is the reader's fault, if any. */
function decodeCapture(file: string): { rows: PacketFields[]; error: string | null } {
  const rows: PacketFields[] = [];
  let reader;
  try {
    reader = openCapture(file);
  } catch (e) {
    if (e instanceof InputError) return { rows, error: e.message };
    throw e;
  }
  const b = new Batch({ capacity: 512 });
  try {
    while (reader.next(b) > 0) {
      decodeBatch(b, OPTS);
      for (let i = 0; i < b.count; i++) {
        const f = packetFields(b, i, b.firstNumber + i);
        // the raw flag bits are needed for the one-way damage check
        (f as PacketFields & { rawFlags: number }).rawFlags = b.flags[i];
        rows.push(f);
      }
    }
  } finally {
    reader.close();
  }
  return { rows, error: reader.error?.message ?? null };
}

describe('decode vs tshark on the real-capture corpus', function () {
  before(function () {
    if (!fs.existsSync(corpusDir)) {
      console.log(`    skipped: the real-capture corpus is not at ${corpusDir}`);
      this.skip();
    }
  });

  it('matches the oracle on every packet, except the allow-listed differences', function () {
    const status = new Map<string, number>();
    for (const r of readTsv(path.join(corpusDir, 'ORACLE_STATUS.tsv'))) status.set(r.file, Number(r.tshark_exit));
    const oracleFiles = fs.readdirSync(corpusDir).filter((f) => f.endsWith('.tshark.tsv')).sort();
    assert.ok(oracleFiles.length > 0, 'oracle files present');

    const diffs: Diff[] = [];
    let packets = 0;
    let unsupported = 0;
    let protoNotDerivable = 0;
    let weMalformedTheyNot = 0;
    const structural: string[] = [];
    for (const of of oracleFiles) {
      const capture = of.slice(0, -'.tshark.tsv'.length);
      const oracle = readTsv(path.join(corpusDir, of)).filter((r) => r['frame.encap_type'] !== '');
      const ours = decodeCapture(path.join(corpusDir, capture));
      const complete = (status.get(capture) ?? 0) === 0;
      if (complete && ours.rows.length !== oracle.length) {
        structural.push(`${capture}: ${ours.rows.length} packets, tshark ${oracle.length} (our reader: ${ours.error ?? 'no error'})`);
      } else if (!complete && ours.rows.length < oracle.length) {
        structural.push(`${capture}: ${ours.rows.length} packets before the fault, tshark printed ${oracle.length}`);
      }
      const n = Math.min(ours.rows.length, oracle.length);
      for (let k = 0; k < n; k++) {
        packets++;
        const e = expectedFromOracle(oracle[k], k + 1);
        const p = ours.rows[k];
        const raw = (p as PacketFields & { rawFlags: number }).rawFlags;
        const got = ourColumns(p);
        const add = (column: string, o: string, t: string) => diffs.push({ file: capture, packet: k + 1, column, ours: o, oracle: t });
        if (e.unsupported) {
          unsupported++;
          for (const c of ['n', 'caplen', 'len'] as const) if (got[c] !== e[c]) add(c, got[c], e[c] ?? '');
          if (got.flags !== 'unsupported-linktype') add('flags', got.flags, 'unsupported-linktype');
          continue;
        }
        for (const c of TSV_COLUMNS) {
          if (c === 'flags') continue;
          const want = e[c];
          if (want === undefined) {
            if (c === 'proto') protoNotDerivable++;
            continue;
          }
          if (got[c] !== want) add(c, got[c], want);
        }
        // flags: fragment and unsupported-linktype exactly; damage one way
        const ourComparable = got.flags
          .split(',')
          .filter((f) => f === 'fragment' || f === 'unsupported-linktype')
          .join(',');
        if (ourComparable !== e.flags) add('flags', ourComparable, e.flags ?? '');
        if (e.mustFlagDamage && (raw & (PF.TRUNCATED | PF.MALFORMED)) === 0) add('damage', got.flags, 'malformed (tshark)');
        if ((raw & PF.MALFORMED) !== 0 && oracle[k]['_ws.malformed.expert'] !== '1') weMalformedTheyNot++;
      }
    }

    const allow = readAllowList();
    const key = (f: string, p: number, c: string) => `${f}\t${p}\t${c}`;
    const allowed = new Map(allow.map((a) => [key(a.file, a.packet, a.column), a]));
    const used = new Set<string>();
    const unlisted: Diff[] = [];
    for (const d of diffs) {
      const k = key(d.file, d.packet, d.column);
      if (allowed.has(k)) used.add(k);
      else unlisted.push(d);
    }
    const stale = allow.filter((a) => !used.has(key(a.file, a.packet, a.column)));
    const allowedPackets = new Set(allow.map((a) => `${a.file}\t${a.packet}`)).size;
    console.log(
      `    ${packets} packets compared in ${oracleFiles.length} files; ${unsupported} on link types we do not decode; ` +
        `proto not derivable from the oracle for ${protoNotDerivable}; malformed by us but not by tshark: ${weMalformedTheyNot}; ` +
        `allow-listed: ${allow.length} differences on ${allowedPackets} packets (${((100 * allowedPackets) / Math.max(packets, 1)).toFixed(3)}%)`,
    );
    const show = (ds: Diff[]) => ds.slice(0, 60).map((d) => `${d.file}\t${d.packet}\t${d.column}\tours=${JSON.stringify(d.ours)}\ttshark=${JSON.stringify(d.oracle)}`).join('\n');
    assert.deepEqual(structural, [], 'packet counts');
    assert.equal(unlisted.length, 0, `${unlisted.length} differences not in test/corpus-allowlist.tsv:\n${show(unlisted)}`);
    assert.deepEqual(
      stale.map((a) => key(a.file, a.packet, a.column)),
      [],
      'allow-list entries that no longer differ (remove them)',
    );
    assert.ok(allowedPackets <= packets * 0.001, `allow-list covers ${allowedPackets} packets, more than 0.1% of ${packets}`);
  });
});

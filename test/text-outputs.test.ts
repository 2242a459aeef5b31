/**
 * Issue 9, safe text: names from config files (node, pod, Service) and DNS names from packets that hold
 * terminal sequences (ESC [2J, an OSC title), C1 controls (U+009B), bidi overrides (U+202E), tabs and
 * newlines reach every output escaped: `replay`'s summary and report.txt, `rules`, `explain`, the output
 * pcapng's interface names, `decode` TSV and JSONL. JSON outputs (verdicts, --summary json) keep the
 * names exactly for a JSON reader, with no raw control or bidi byte. And a name too long for a pcapng
 * option (70,000 characters) gives a file that our reader and tshark read whole, and one warning.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import YAML from 'yaml';
import { createWriter, MemorySink } from '../src/io/writer';
import { buildFrame, dnsQuery } from '../src/packet/build';
import { haveCommand, readAll } from './io-helpers';

const repo = path.resolve(__dirname, '..', '..');
const cli = path.join(repo, 'dist', 'src', 'cli.js');
const overlay = path.join(repo, 'traces', '_clusters', 'overlay');
/** Packet 1: tcp client-0 (win-1) > Service web's ClusterIP; the first packets go through win-1. */
const servicesTrace = path.join(repo, 'traces', '05-services', 'trace.pcapng');

/** Clear screen, set the window title, a C1 CSI, a bidi override, a forged line and column, a forged escape. */
const HOSTILE = '\x1b[2J\x1b]0;pwned\x07\u009b31m\u202eevil\n\rFAKE LINE\tcol \\u202e';
/** HOSTILE as safeText shows it. */
const SHOWN = '\\033[2J\\033]0;pwned\\a\\u009B31m\\u202Eevil\\n\\rFAKE LINE\\tcol \\\\u202e';
/** A character a terminal acts on, or that hides or reorders text (line feeds are checked apart). */
const RAW_UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

function run(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The overlay cluster's kubectl List, as JSON, with each string value equal to a key of `rename` replaced. */
function renamedCluster(file: string, rename: Record<string, string>): void {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return typeof v === 'string' && Object.hasOwn(rename, v) ? rename[v] : v;
  };
  fs.writeFileSync(file, JSON.stringify(walk(YAML.parse(fs.readFileSync(path.join(overlay, 'kubectl.yaml'), 'utf8')))));
}

/** No raw unsafe character, and no line that the names forged. */
function assertSafeText(text: string, what: string): void {
  assert.doesNotMatch(text, RAW_UNSAFE, `${what}: a raw control or bidi character`);
  assert.doesNotMatch(text, /^FAKE LINE/m, `${what}: a line forged by a name`);
}

describe('safe text in every output (issue 9)', function () {
  let tmp: string;
  let cluster: string[];
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-text-'));
    renamedCluster(path.join(tmp, 'kubectl.json'), { 'win-1': `win-1${HOSTILE}`, 'client-0': `client-0${HOSTILE}`, web: `web${HOSTILE}` });
    cluster = [path.join(tmp, 'kubectl.json'), path.join(overlay, 'cni.conf'), path.join(overlay, 'net-conf.json')].flatMap((f) => ['--cluster', f]);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('replay: the text summary and report.txt show the names escaped', () => {
    const report = path.join(tmp, 'report.txt');
    const r = run(['replay', servicesTrace, ...cluster, '--report', report, '--workers', '1'], tmp);
    assert.equal(r.status, 0, r.stderr);
    for (const [what, text] of [['summary', r.stdout], ['report.txt', fs.readFileSync(report, 'utf8')]]) {
      assertSafeText(text, what);
      assert.ok(text.includes(`default/web${SHOWN}: `), `${what}: the Service, escaped`);
    }
  });

  it('replay: verdict records and --summary json keep the names for a JSON reader, with no raw control or bidi byte', () => {
    const verdicts = path.join(tmp, 'verdicts.jsonl');
    const r = run(['replay', servicesTrace, ...cluster, '--verdicts', verdicts, '--summary', 'json', '--workers', '2'], tmp);
    assert.equal(r.status, 0, r.stderr);
    const raw = fs.readFileSync(verdicts, 'utf8');
    assert.doesNotMatch(raw, RAW_UNSAFE);
    assert.doesNotMatch(r.stdout, RAW_UNSAFE);
    const first = JSON.parse(raw.split('\n')[0]) as Record<string, unknown>;
    assert.equal(first.node, `win-1${HOSTILE}`);
    assert.equal(first.ingress, `pod/default/client-0${HOSTILE}`);
    assert.equal(first.service, `default/web${HOSTILE}`);
    const s = JSON.parse(r.stdout) as { services: Record<string, unknown> };
    assert.ok(Object.hasOwn(s.services, `default/web${HOSTILE}`));
  });

  it('replay --out: the interface names of the output pcapng are escaped', () => {
    const out = path.join(tmp, 'out.pcapng');
    const r = run(['replay', servicesTrace, ...cluster, '--out', out, '--workers', '1'], tmp);
    assert.equal(r.status, 0, r.stderr);
    const read = readAll(out);
    assert.equal(read.error, null);
    assert.equal(read.packets.length, 8);
    const names = read.interfaces.map((i) => `${i.name ?? ''}\n${i.description ?? ''}`);
    for (const n of names) assertSafeText(n.replace('\n', ' '), 'if_name/if_description');
    assert.ok(names.some((n) => n.startsWith(`win-1${SHOWN} pod/default/client-0${SHOWN}\n`)), names.join(' | '));
  });

  it('rules and explain show the names escaped', () => {
    const rules = run(['rules', ...cluster], tmp);
    assert.equal(rules.status, 0, rules.stderr);
    assertSafeText(rules.stdout, 'rules');
    assert.ok(rules.stdout.includes(`NODE : win-1${SHOWN}  (`));
    assert.ok(rules.stdout.includes(`default/web${SHOWN} ClusterIP 10.96.0.20:80`));
    const explain = run(['explain', servicesTrace, ...cluster, '--packet', '1'], tmp);
    assert.equal(explain.status, 0, explain.stderr);
    assertSafeText(explain.stdout, 'explain');
    assert.ok(explain.stdout.includes(`node("win-1${SHOWN}")`));
    assert.ok(explain.stdout.includes(`port pod/default/client-0${SHOWN} (OUT`));
  });
});

describe('safe text: DNS names from packets in decode (issue 9)', () => {
  let tmp: string;
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-text-dns-'))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** A pcap of one DNS query for `name`, whose characters are the label bytes (dnsQuery keeps the low byte). */
  function dnsTrace(name: string): string {
    const frame = buildFrame({ ip: { version: 4, src: '10.244.1.5', dst: '10.96.0.10' }, l4: { proto: 'udp', sport: 40000, dport: 53, payload: dnsQuery(7, name) } });
    const h = Buffer.alloc(40);
    h.writeUInt32LE(0xa1b2c3d4, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeUInt32LE(262144, 16);
    h.writeUInt32LE(1, 20);
    h.writeUInt32LE(frame.length, 32);
    h.writeUInt32LE(frame.length, 36);
    const file = path.join(tmp, 'dns.pcap');
    fs.writeFileSync(file, Buffer.concat([h, frame]));
    return file;
  }

  // labels: C1 CSI U+009B (UTF-8 c2 9b), RLO U+202E (e2 80 ae), ESC, a tab and a newline, a forged escape
  const wire = 'a\xc2\x9b31m.b\xe2\x80\xaeevil.c\x1b[2J.d\te\nf.g\\u202e.example';
  const shown = 'a\\u009B31m.b\\u202Eevil.c\\033[2J.d\\te\\nf.g\\\\u202e.example';

  it('TSV and JSONL show a qname with C1, bidi and control characters escaped', () => {
    const file = dnsTrace(wire);
    const tsv = run(['decode', file], tmp);
    assert.equal(tsv.status, 0, tsv.stderr);
    const row = tsv.stdout.split('\n')[1];
    assert.doesNotMatch(tsv.stdout.replace(/\t/g, ' '), RAW_UNSAFE);
    assert.equal(row.split('\t').length, 18, 'no column forged');
    assert.equal(row.split('\t')[16], shown);
    const jsonl = run(['decode', file, '--format', 'jsonl'], tmp);
    assert.equal(jsonl.status, 0, jsonl.stderr);
    assert.doesNotMatch(jsonl.stdout, RAW_UNSAFE);
    assert.equal((JSON.parse(jsonl.stdout) as { dns_qname: string }).dns_qname, shown);
  });

  it('the escapes are the ones tshark prints (but for the backslash, which tshark leaves as it is)', function () {
    if (!haveCommand('tshark')) this.skip(); // tshark is not installed
    const name = 'a\xc2\x9b31m.b\xe2\x80\xaeevil.c\x1b[2J.d\te\nf.example';
    const file = dnsTrace(name);
    const t = spawnSync('tshark', ['-n', '-r', file, '-T', 'fields', '-e', 'dns.qry.name'], { encoding: 'utf8' });
    assert.equal(t.status, 0, t.stderr);
    const ours = run(['decode', file], tmp).stdout.split('\n')[1].split('\t')[16];
    assert.equal(ours, t.stdout.trim());
  });
});

describe('length-limited fields: a name of 70,000 characters (issue 9)', () => {
  let tmp: string;
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-text-long-'))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const long = 'é'.repeat(70000);

  function tsharkReads(file: string): void {
    if (!haveCommand('tshark')) return;
    const t = spawnSync('tshark', ['-n', '-r', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(t.status, 0, `tshark -r: ${t.stderr}`);
  }

  it('the pcapng writer cuts string options to 65535 bytes, counts them, and the file reads whole', () => {
    const sink = new MemorySink();
    const w = createWriter(sink, 'pcapng');
    w.addInterface({ linkType: 1, name: `eth-${long}`, description: 'short' });
    w.writePacket(new Uint8Array(60), { tsHi: 0, tsLo: 1, options: { comments: [`c-${long}`] } });
    w.writePacket(new Uint8Array(60), { tsHi: 0, tsLo: 2 });
    w.close();
    const file = path.join(tmp, 'writer.pcapng');
    fs.writeFileSync(file, sink.bytes());
    const read = readAll(file);
    assert.equal(read.error, null);
    assert.equal(read.packets.length, 2);
    tsharkReads(file);
    const name = read.interfaces[0].name ?? '';
    assert.ok(Buffer.byteLength(name) <= 65535 && Buffer.byteLength(name) > 65000, String(Buffer.byteLength(name)));
    assert.ok(name.startsWith('eth-éé') && name.endsWith('é…'), 'cut at a character boundary, marked');
    assert.equal(w.truncatedFields, 2);
  });

  it('replay --out with a 70,000-character pod name: a readable pcapng, the same for 1 and 2 workers, and one warning', () => {
    const kube = path.join(tmp, 'kubectl.json');
    renamedCluster(kube, { 'client-0': `client-${long}` });
    const cluster = [kube, path.join(overlay, 'cni.conf'), path.join(overlay, 'net-conf.json')].flatMap((f) => ['--cluster', f]);
    const runs = [1, 2].map((workers) => {
      const out = path.join(tmp, `out-${workers}.pcapng`);
      const r = run(['replay', servicesTrace, ...cluster, '--out', out, '--summary', 'json', '--workers', String(workers)], tmp);
      assert.equal(r.status, 0, r.stderr);
      return { out, summary: JSON.parse(r.stdout) as { diagnostics: { code: string; message: string }[] } };
    });
    const read = readAll(runs[0].out);
    assert.equal(read.error, null);
    assert.equal(read.packets.length, 8);
    tsharkReads(runs[0].out);
    assert.ok(fs.readFileSync(runs[0].out).equals(fs.readFileSync(runs[1].out)), 'same bytes for 1 and 2 workers');
    const name = read.interfaces.map((i) => i.name ?? '').find((n) => n.includes('pod/default/client-')) ?? '';
    assert.ok(Buffer.byteLength(name) <= 1024 && name.endsWith('é…'), `${Buffer.byteLength(name)} bytes`);
    for (const { summary } of runs) {
      const cut = summary.diagnostics.filter((d) => d.code === 'output-field-truncated');
      assert.equal(cut.length, 1, JSON.stringify(summary.diagnostics).slice(0, 400));
    }
    const text = run(['replay', servicesTrace, ...cluster, '--out', runs[0].out, '--workers', '1'], tmp);
    assert.match(text.stdout, /output-field-truncated \[pod\/default\/client-é+…\]: the output trace's interface names/);
  });
});

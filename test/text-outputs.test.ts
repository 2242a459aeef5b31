/**
 * Issue 9, safe text: names from config files (node, pod, Service) and DNS names from packets that hold
 * terminal sequences (ESC [2J, an OSC title), C1 controls (U+009B), bidi overrides (U+202E), tabs and
 * newlines reach every output escaped: `replay`'s summary and report.txt, `rules`, `explain`, the output
 * pcapng's interface names, `decode` TSV and JSONL. JSON outputs (verdicts, --summary json) keep the
 * names exactly for a JSON reader, with no raw control or bidi byte. And a name too long for a pcapng
 * option (70,000 characters) gives a file that our reader and tshark read whole, and one warning.
 *
 * Which inputs still carry such names: the kubectl importer checks names as the API server does
 * (cluster/validate.ts: DNS-1123 / DNS-1035, 253 / 63 characters), so a kubectl List with them is refused
 * with exit 2 (tested below). The names come in through inputs that accept them:
 * - node names: the project's scenario (traces/schema/scenario.schema.json: a node's name and a pod's
 *   node are any string, at most 253 characters);
 * - HNS network names (`Get-HnsNetwork | ConvertTo-Json`, importers/hns.ts: any string): a network that is
 *   not the Kubernetes one gives a config-ignored diagnostic naming it, printed by the summary,
 *   report.txt, --summary json and `rules`;
 * - HNS endpoint names (`Get-HnsEndpoint`): of any length; one that no Pod object has becomes pod
 *   `hns/<name>` (merge.ts, characters outside [A-Za-z0-9_.-] turned into '-').
 * No accepted input gives a pod, namespace or Service name a control, C1 or bidi character any more
 * (kubectl: validate.ts; scenario: the schema's name patterns; HNS endpoints: merge.ts), so the checks
 * that a hostile Service or pod name is escaped are gone; those outputs are checked with the node and
 * network names instead.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import YAML from 'yaml';
import { createWriter, MemorySink } from '../src/io/writer';
import { buildFrame, dnsQuery } from '../src/packet/build';
import { lessonNodes } from './cluster-helpers';
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

/** The overlay cluster's kubectl List, parsed. */
function overlayList(): { items: { kind: string; metadata: { name: string } }[] } {
  return YAML.parse(fs.readFileSync(path.join(overlay, 'kubectl.yaml'), 'utf8')) as { items: { kind: string; metadata: { name: string } }[] };
}

/** The overlay cluster's kubectl List, as JSON, with each string value equal to a key of `rename` replaced. */
function renamedCluster(file: string, rename: Record<string, string>): void {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return typeof v === 'string' && Object.hasOwn(rename, v) ? rename[v] : v;
  };
  fs.writeFileSync(file, JSON.stringify(walk(overlayList())));
}

/**
 * The overlay cluster's kubectl List (traces/_clusters/overlay/kubectl.yaml) as a scenario, node win-1
 * named `win1`: the same nodes, pods, Services and endpoints, so the same verdicts for the services trace.
 */
function overlayScenario(file: string, win1: string): void {
  const scenario = {
    apiVersion: 'vfp-emu/v1',
    kind: 'Scenario',
    description: 'traces/_clusters/overlay/kubectl.yaml as a scenario',
    nodes: lessonNodes(win1),
    pods: [
      { name: 'default/client-0', ip: '10.244.1.5', ips: ['fd00:10:244:1::5'], node: win1 },
      { name: 'default/web-1', ip: '10.244.1.6', node: win1 },
      { name: 'default/web-0', ip: '10.244.2.7', ips: ['fd00:10:244:2::7'], node: 'win-2' },
      { name: 'kube-system/coredns-0', ip: '10.244.0.3', node: 'linux-1' },
    ],
    services: [
      { name: 'default/web', type: 'NodePort', clusterIP: '10.96.0.20', ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30080 }], endpoints: ['web-0', 'web-1'] },
      {
        name: 'kube-system/kube-dns',
        clusterIP: '10.96.0.10',
        ports: [{ name: 'dns', protocol: 'UDP', port: 53, targetPort: 53 }, { name: 'dns-tcp', protocol: 'TCP', port: 53, targetPort: 53 }],
        endpoints: ['coredns-0'],
      },
    ],
  };
  fs.writeFileSync(file, JSON.stringify(scenario, null, 1));
}

/** `Get-HnsNetwork | ConvertTo-Json` of the node's NAT network (not the Kubernetes one), named `name`. */
function hnsNatNetwork(file: string, name: string): void {
  fs.writeFileSync(file, JSON.stringify([{ ActivityId: '5C1B9D4E-0000-4000-8000-000000000001', ID: '8D3A7B22-0000-4000-8000-000000000002', Name: name, Type: 'NAT' }], null, 1));
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
    overlayScenario(path.join(tmp, 'scenario.json'), `win-1${HOSTILE}`);
    hnsNatNetwork(path.join(tmp, 'hns-networks.json'), `nat${HOSTILE}`);
    cluster = [path.join(tmp, 'scenario.json'), path.join(overlay, 'cni.conf'), path.join(overlay, 'net-conf.json'), path.join(tmp, 'hns-networks.json')].flatMap((f) => ['--cluster', f]);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('replay: the text summary and report.txt show the names escaped', () => {
    const report = path.join(tmp, 'report.txt');
    const r = run(['replay', servicesTrace, ...cluster, '--report', report, '--workers', '1'], tmp);
    assert.equal(r.status, 0, r.stderr);
    for (const [what, text] of [['summary', r.stdout], ['report.txt', fs.readFileSync(report, 'utf8')]]) {
      assertSafeText(text, what);
      // A Service name can no longer hold such characters (see the module comment): the network name's diagnostic.
      assert.ok(text.includes(`config-ignored [${path.join(tmp, 'hns-networks.json')}:[0]]: HNS network nat${SHOWN} (type NAT) is not the Kubernetes network; ignored\n`), `${what}: the network, escaped`);
      assert.ok(text.includes('default/web: 10.244.1.6:8080 3\n'), `${what}: the same verdicts as the kubectl List gives`);
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
    // Pod and Service names can no longer hold such characters (see the module comment): checked as they are.
    assert.equal(first.ingress, 'pod/default/client-0');
    assert.equal(first.service, 'default/web');
    const s = JSON.parse(r.stdout) as { services: Record<string, unknown>; diagnostics: { code: string; message: string; source: string }[] };
    assert.ok(Object.hasOwn(s.services, 'default/web'));
    assert.deepEqual(
      s.diagnostics.filter((d) => d.code === 'config-ignored').map((d) => d.message),
      [`HNS network nat${HOSTILE} (type NAT) is not the Kubernetes network; ignored`],
    );
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
    // The pod name can no longer hold such characters (see the module comment); the node name can.
    assert.ok(names.some((n) => n.startsWith(`win-1${SHOWN} pod/default/client-0\n`)), names.join(' | '));
  });

  it('rules and explain show the names escaped', () => {
    const rules = run(['rules', ...cluster], tmp);
    assert.equal(rules.status, 0, rules.stderr);
    assertSafeText(rules.stdout, 'rules');
    assert.ok(rules.stdout.includes(`NODE : win-1${SHOWN}  (`));
    // A Service name can no longer hold such characters (see the module comment): the network name's diagnostic.
    assert.ok(rules.stdout.includes('default/web ClusterIP 10.96.0.20:80'));
    assert.ok(rules.stdout.includes(`CONFIG DIAGNOSTICS\n  config-ignored [${path.join(tmp, 'hns-networks.json')}:[0]]: HNS network nat${SHOWN} (type NAT) is not the Kubernetes network; ignored\n`));
    const explain = run(['explain', servicesTrace, ...cluster, '--packet', '1'], tmp);
    assert.equal(explain.status, 0, explain.stderr);
    assertSafeText(explain.stdout, 'explain');
    assert.ok(explain.stdout.includes(`node("win-1${SHOWN}")`));
    assert.ok(explain.stdout.includes(`Unified flow: node=win-1${SHOWN},scope=entry,`));
    // The pod name can no longer hold such characters (see the module comment).
    assert.ok(explain.stdout.includes('port pod/default/client-0 (OUT'));
  });

  it('a kubectl List with such names is refused, exit 2 naming the file and field, the name escaped', () => {
    const kube = path.join(tmp, 'kubectl.json');
    renamedCluster(kube, { 'win-1': `win-1${HOSTILE}`, 'client-0': `client-0${HOSTILE}`, web: `web${HOSTILE}` });
    const r = run(['replay', servicesTrace, '--cluster', kube, '--cluster', path.join(overlay, 'cni.conf'), '--cluster', path.join(overlay, 'net-conf.json')], tmp);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stdout, '');
    assertSafeText(r.stderr.replace(/\n$/, ''), 'stderr');
    assert.ok(r.stderr.includes(`${kube} at items[1].metadata.name: `), r.stderr);
    assert.ok(r.stderr.includes('is not a DNS-1123 subdomain'), r.stderr);
    const long = path.join(tmp, 'kubectl-long.json');
    renamedCluster(long, { 'client-0': `client-${'é'.repeat(70000)}` });
    const l = run(['rules', '--cluster', long, '--cluster', path.join(overlay, 'cni.conf'), '--cluster', path.join(overlay, 'net-conf.json')], tmp);
    assert.equal(l.status, 2, l.stderr);
    assert.ok(l.stderr.includes(`${long} at items[3].metadata.name: a name of 70007 characters; the API server allows at most 253`), l.stderr.slice(0, 400));
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
    // A kubectl Pod name is capped at 253 (refused, see above); an HNS endpoint's name is not, and a local
    // endpoint that no Pod object has becomes pod hns/<name>. So: the kubectl List without client-0, and
    // client-0's endpoint from `Get-HnsEndpoint` with the long name. Characters outside [A-Za-z0-9_.-]
    // become '-' in that pod name, so the name is ASCII here: the cut at a character boundary of a
    // multi-byte name is checked with the writer alone (test above).
    const ascii = 'x'.repeat(70000);
    const kube = path.join(tmp, 'kubectl.json');
    const list = overlayList();
    list.items = list.items.filter((i) => !(i.kind === 'Pod' && i.metadata.name === 'client-0'));
    fs.writeFileSync(kube, JSON.stringify(list));
    const hns = path.join(tmp, 'hns-endpoints.json');
    fs.writeFileSync(hns, JSON.stringify([{ ID: '3F2C6A10-0000-4000-8000-000000000003', Name: `client-${ascii}`, IPAddress: '10.244.1.5', PrefixLength: 24, VirtualNetworkName: 'vxlan0', IsRemoteEndpoint: false }]));
    const cluster = [kube, path.join(overlay, 'cni.conf'), path.join(overlay, 'net-conf.json'), hns].flatMap((f) => ['--cluster', f]);
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
    const name = read.interfaces.map((i) => i.name ?? '').find((n) => n.includes('pod/hns/client-')) ?? '';
    assert.ok(Buffer.byteLength(name) <= 1024 && Buffer.byteLength(name) > 1000 && name.startsWith('win-1 pod/hns/client-xxx') && name.endsWith('x…'), `${Buffer.byteLength(name)} bytes`);
    for (const { summary } of runs) {
      const cut = summary.diagnostics.filter((d) => d.code === 'output-field-truncated');
      assert.equal(cut.length, 1, JSON.stringify(summary.diagnostics).slice(0, 400));
      // The whole name reached the output trace: `win-1 pod/hns/client-` and the 70,000 characters.
      assert.ok(cut[0].message.includes(`makes one of ${'win-1 pod/hns/client-'.length + 70000} bytes`), cut[0].message.slice(0, 400));
    }
    const text = run(['replay', servicesTrace, ...cluster, '--out', runs[0].out, '--workers', '1'], tmp);
    assert.match(text.stdout, /output-field-truncated \[pod\/hns\/client-x+…\]: the output trace's interface names/);
  });
});

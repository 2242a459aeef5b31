/**
 * Issue 13, "Failing flows up front" and "An HTML report" (src/report/*): what a user reads after a replay.
 * - the failing flows of the text and JSON summaries are the dropped and no-return packets of the verdict
 *   records grouped by 5-tuple and reason (an independent count from verdicts.jsonl), most packets first,
 *   the same bytes for --workers 1..4;
 * - the explain commands replay prints (the lesson's hint, each failing flow's, --fail-on's first match) run
 *   as printed through sh, from the tsc build and from the bundle (dist/bundle/vfp-emu.js, the README's);
 * - --fail-on names what matched, with counts and the first packet;
 * - --report FILE.html opened in headless Chromium shows the JSON summary's numbers; a node name and a trace
 *   name holding HTML come out as text, never as markup. Screenshots: test-output/report/ (logged).
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { clusterList } from '../src/gen/layout';
import { writeTraceFile } from '../src/gen/trace';
import { cliPrefix, explainCommand, shellQuote } from '../src/report/command';
import { esc, htmlReport } from '../src/report/html';
import type { ReplayOptions } from '../src/commands/replay';
import { pathFigure, pathSvg, wrapText } from '../src/report/path-diagram';
import type { Walk } from '../src/vfp/walk';
import { lessonNodes } from './cluster-helpers';

const repo = path.resolve(__dirname, '..', '..');
const cli = path.join(repo, 'dist', 'src', 'cli.js');
const bundle = path.join(repo, 'dist', 'bundle', 'vfp-emu.js');
const CHROMIUM = '/usr/bin/chromium';
const SHOTS = path.join(repo, 'test-output', 'report');

function run(script: string, args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [script, ...args], { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A command line exactly as printed, through sh, in `cwd`. */
function sh(command: string, cwd: string) {
  const r = spawnSync('sh', ['-c', command], { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Entry {
  trace: string;
  flow: { proto: number; src: string; sport: number | null; dst: string; dport: number | null; icmp_type?: number };
  verdict: string;
  reason: string | null;
  node: string | null;
  first_packet: number;
  packets: number;
  explain: string;
}
interface Summary {
  packets: number;
  verdicts: Record<string, number>;
  reasons: Record<string, number>;
  services: Record<string, { backends: Record<string, number> }>;
  nodes: Record<string, Record<string, number>>;
  failing_flows: { flows: number; packets: number; untracked_packets: number; list: Entry[] };
}

/** The failing flows counted from the verdict records alone: key -> packets, first packet, node. */
function fromRecords(file: string): Map<string, { packets: number; first: number; node: string | null }> {
  const out = new Map<string, { packets: number; first: number; node: string | null }>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (line === '') continue;
    const r = JSON.parse(line) as { packet: number; verdict: string; reason: string | null; node: string | null; flow: Entry['flow'] | null };
    if (r.verdict !== 'dropped' && r.verdict !== 'no-return') continue;
    const f = r.flow;
    const key = JSON.stringify([f?.proto, f?.src, f?.sport, f?.dst, f?.dport, f?.icmp_type, r.verdict, r.reason]);
    const g = out.get(key);
    if (g === undefined) out.set(key, { packets: 1, first: r.packet, node: r.node });
    else g.packets++;
  }
  return out;
}

function keyOf(e: Entry): string {
  const f = e.flow;
  return JSON.stringify([f.proto, f.src, f.sport, f.dst, f.dport, f.icmp_type, e.verdict, e.reason]);
}

describe('failing flows, explain commands, --fail-on and the HTML report (issue 13)', function () {
  this.timeout(300_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-report-'));
  const trace = 'gen.pcap';
  const cluster = 'gen-cluster.json';
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  before(() => {
    const g = writeTraceFile(path.join(tmp, trace), 'pcap', { packets: 20_000, flows: 400, seed: 10 });
    fs.writeFileSync(path.join(tmp, cluster), JSON.stringify(clusterList(g.layout)));
  });

  it('the JSON summary lists the dropped and no-return packets of the verdict records, grouped by 5-tuple and reason, most packets first', () => {
    const r = run(cli, ['replay', trace, '--cluster', cluster, '--summary', 'json', '--verdicts', 'v.jsonl'], tmp);
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(r.stdout) as Summary;
    const want = fromRecords(path.join(tmp, 'v.jsonl'));
    const f = s.failing_flows;
    assert.ok(want.size > 10, `the generated trace has failing flows (${want.size})`);
    assert.equal(f.packets, s.verdicts.dropped + s.verdicts['no-return']);
    assert.equal(f.flows, want.size);
    assert.equal(f.untracked_packets, 0);
    assert.equal(f.list.length, want.size);
    for (const e of f.list) {
      const g = want.get(keyOf(e));
      assert.ok(g !== undefined, `${keyOf(e)} is no failing flow of the records`);
      assert.deepEqual({ packets: e.packets, first: e.first_packet, node: e.node }, g, keyOf(e));
      assert.equal(e.trace, trace);
      assert.match(e.explain, new RegExp(`explain ${trace} --cluster ${cluster} --packet ${e.first_packet}$`));
    }
    for (let k = 1; k < f.list.length; k++) {
      const [a, b] = [f.list[k - 1], f.list[k]];
      assert.ok(a.packets > b.packets || (a.packets === b.packets && a.first_packet < b.first_packet), `list order at ${k}`);
    }
    // the per-node counts add up to the packets that reached a node
    let atNodes = 0;
    for (const c of Object.values(s.nodes)) for (const n of Object.values(c)) atNodes += n;
    assert.ok(atNodes > 0 && atNodes <= s.packets);
  });

  it('the same summary bytes (timings aside) for --workers 1, 2, 3, 4, decide-only and with outputs', () => {
    const untimed = (t: string): string => t.replace(/"elapsed_s":[0-9.e-]+,"pps":\d+/, '');
    const runs = [1, 2, 3, 4].flatMap((w) => [
      run(cli, ['replay', trace, '--cluster', cluster, '--summary', 'json', '--workers', String(w)], tmp),
      run(cli, ['replay', trace, '--cluster', cluster, '--summary', 'json', '--workers', String(w), '--out', `o${w}.pcapng`], tmp),
    ]);
    for (const r of runs) assert.equal(r.status, 0, r.stderr);
    for (const r of runs.slice(1)) assert.equal(untimed(r.stdout), untimed(runs[0].stdout));
  });

  it('the text summary shows the first 10 failing flows, each once with its node and command, and says how many more', () => {
    const r = run(cli, ['replay', trace, '--cluster', cluster], tmp);
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(run(cli, ['replay', trace, '--cluster', cluster, '--summary', 'json'], tmp).stdout) as Summary;
    const text = r.stdout.slice(r.stdout.indexOf('failing flows ('));
    assert.match(text, new RegExp(`^failing flows \\(${s.failing_flows.flows} flows, ${s.failing_flows.packets} packets; most packets first\\):`));
    const shown = text.split('\n').filter((l) => l.startsWith('    explain: '));
    assert.equal(shown.length, 10);
    s.failing_flows.list.slice(0, 10).forEach((e, k) => assert.equal(shown[k], `    explain: ${e.explain}`));
    assert.match(text, new RegExp(`\\.\\.\\. and ${s.failing_flows.flows - 10} more failing flows`));
    // a reason's sentence once, under its first flow
    assert.equal(text.split('VFP does not transpose ICMP').length - 1, 1);
  });

  it('the printed explain commands run as printed (sh), from the tsc build and from the bundle the README runs', function () {
    const r = run(cli, ['replay', trace, '--cluster', cluster], tmp);
    const cmd = (/^ {4}explain: (.*)$/m.exec(r.stdout) as RegExpExecArray)[1];
    assert.match(cmd, /^node dist\/src\/cli\.js explain |^node \/\S+\/cli\.js explain /);
    const e = sh(cmd, tmp);
    assert.equal(e.status, 0, e.stderr);
    const n = /--packet (\d+)$/.exec(cmd)?.[1];
    assert.match(e.stdout, new RegExp(`^Packet ${n}: `));
    assert.match(e.stdout, /Verdict: (dropped|no-return)/);
    // the lesson's hint, in a folder of its own
    const lesson = fs.mkdtempSync(path.join(tmp, 'lesson-'));
    const l = run(cli, ['replay'], lesson);
    const hint = (/^step by step: (.*)$/m.exec(l.stdout) as RegExpExecArray)[1];
    const h = sh(hint, lesson);
    assert.equal(h.status, 0, h.stderr);
    assert.match(h.stdout, /^Packet 1: .*\n[\s\S]*Verdict: no-return \(icmp-not-transposed\)/);
    if (!fs.existsSync(bundle)) {
      console.log(`      (bundle part skipped: ${bundle} is missing; npm run build makes it)`);
      return;
    }
    // from the clone's root, as the README says: node dist/bundle/vfp-emu.js replay
    const b = spawnSync(process.execPath, ['dist/bundle/vfp-emu.js', 'replay', '--out', path.join(lesson, 'b.pcapng'), '--verdicts', path.join(lesson, 'b.jsonl'), '--report', path.join(lesson, 'b.txt')], { cwd: repo, encoding: 'utf8' });
    assert.equal(b.status, 0, b.stderr);
    const bundleHint = (/^step by step: (.*)$/m.exec(b.stdout) as RegExpExecArray)[1];
    assert.equal(bundleHint, 'node dist/bundle/vfp-emu.js explain traces/04-icmp-lesson/trace.pcapng --cluster traces/_clusters/l2bridge/kubectl.json --cluster traces/_clusters/l2bridge/cni.conf --cluster traces/_clusters/l2bridge/net-conf.json --packet 1');
    const bh = sh(bundleHint, repo);
    assert.equal(bh.status, 0, bh.stderr);
    assert.match(bh.stdout, /^Packet 1: /);
  });

  it('command building: shell quoting, the start of the command, every option replay decided with', () => {
    assert.equal(shellQuote('a/b-c.pcap'), 'a/b-c.pcap');
    assert.equal(shellQuote("it's <x> $HOME"), `'it'\\''s <x> $HOME'`);
    assert.equal(shellQuote(''), "''");
    assert.equal(cliPrefix('/w/dist/bundle/vfp-emu.js', '/w', '/usr/bin'), 'node dist/bundle/vfp-emu.js');
    assert.equal(cliPrefix('/opt/x/vfp-emu.js', '/w', '/usr/bin'), 'node /opt/x/vfp-emu.js');
    assert.equal(cliPrefix('/usr/local/bin/vfp-emu', '/w', '/usr/bin:/usr/local/bin'), 'vfp-emu');
    assert.equal(cliPrefix('/w/node_modules/.bin/vfp-emu', '/w', '/usr/bin'), 'node node_modules/.bin/vfp-emu');
    const o = { clusterFiles: ['c d.json'], windows: 'ws2022:icmpSnat=true', seed: 7, view: 'wire' as const, vxlanPorts: [8472], strictSnaplen: false, allNodes: true, cli: 'vfp-emu' };
    assert.equal(explainCommand('/w/t.pcap', 3, o, '/w'), "vfp-emu explain t.pcap --cluster 'c d.json' --windows ws2022:icmpSnat=true --seed 7 --view wire --vxlan-port 8472 --lenient-snaplen --packet 3");
  });

  it('--fail-on says which verdict and reason matched, how many packets, and the first packet with a command that runs', () => {
    const r = run(cli, ['replay', trace, '--cluster', cluster, '--fail-on', 'dropped', '--fail-on', 'icmp-not-transposed', '--verdicts', 'f.jsonl'], tmp);
    assert.equal(r.status, 1, r.stderr);
    const s = JSON.parse(run(cli, ['replay', trace, '--cluster', cluster, '--summary', 'json'], tmp).stdout) as Summary;
    assert.match(r.stderr, new RegExp(`--fail-on matched \\(exit status 1\\): verdict dropped: ${s.verdicts.dropped} packets; reason icmp-not-transposed: ${s.reasons['icmp-not-transposed']} packets`));
    const first = fs
      .readFileSync(path.join(tmp, 'f.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { packet: number; verdict: string; reason: string | null })
      .find((v) => v.verdict === 'dropped' || v.reason === 'icmp-not-transposed');
    const m = /first match: packet (\d+) of gen\.pcap; step by step: (.*)$/m.exec(r.stderr);
    assert.ok(m !== null, r.stderr);
    assert.equal(Number(m[1]), first?.packet);
    const e = sh(m[2], tmp);
    assert.equal(e.status, 0, e.stderr);
    assert.match(e.stdout, new RegExp(`^Packet ${m[1]}: `));
    // with several traces: the first trace with a match
    fs.copyFileSync(path.join(tmp, trace), path.join(tmp, 'gen2.pcap'));
    const many = run(cli, ['replay', trace, 'gen2.pcap', '--cluster', cluster, '--fail-on', 'dropped'], tmp);
    assert.equal(many.status, 1, many.stderr);
    assert.match(many.stderr, new RegExp(`verdict dropped: ${2 * s.verdicts.dropped} packets\\n.*first match: packet \\d+ of gen\\.pcap; `));
  });

  it('merged summaries (replay A B, merge a.json b.json) list each trace\'s failing flows, most packets first', () => {
    fs.copyFileSync(path.join(tmp, trace), path.join(tmp, 'gen3.pcap'));
    for (const t of [trace, 'gen3.pcap']) fs.writeFileSync(path.join(tmp, `${t}.json`), run(cli, ['replay', t, '--cluster', cluster, '--summary', 'json'], tmp).stdout);
    const m = run(cli, ['merge', `${trace}.json`, 'gen3.pcap.json'], tmp);
    assert.equal(m.status, 0, m.stderr);
    const merged = JSON.parse(m.stdout) as Summary;
    const one = JSON.parse(fs.readFileSync(path.join(tmp, `${trace}.json`), 'utf8')) as Summary;
    assert.equal(merged.failing_flows.flows, 2 * one.failing_flows.flows);
    assert.deepEqual(
      merged.failing_flows.list.slice(0, 2).map((e) => [e.trace, e.packets, e.first_packet]),
      [
        [trace, one.failing_flows.list[0].packets, one.failing_flows.list[0].first_packet],
        ['gen3.pcap', one.failing_flows.list[0].packets, one.failing_flows.list[0].first_packet],
      ],
    );
    const both = run(cli, ['replay', trace, 'gen3.pcap', '--cluster', cluster, '--summary', 'json'], tmp);
    const untimed = (s: string): unknown => {
      const j = JSON.parse(s) as Record<string, unknown>;
      return JSON.stringify([j.failing_flows, j.nodes]);
    };
    assert.equal(untimed(both.stdout), untimed(m.stdout));
    // merge refuses a failing_flows whose packets disagree with the verdicts
    const bad = JSON.parse(fs.readFileSync(path.join(tmp, `${trace}.json`), 'utf8')) as Summary;
    bad.failing_flows.packets += 1;
    fs.writeFileSync(path.join(tmp, 'bad.json'), JSON.stringify(bad));
    const refused = run(cli, ['merge', 'bad.json'], tmp);
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /bad\.json at failing_flows\.packets: is \d+, but verdicts hold/);
  });

  it('HTML escaping: a Service name, backend and trace holding markup come out as text', () => {
    const hostile = 'default/<script>alert(1)</script>';
    const opts = { trace: 't', clusterFiles: ['<b>c</b>.json'], seed: 1, view: 'pod', failOn: [], vxlanPorts: [], workers: 1 } as ReplayOptions;
    const html = htmlReport(['<img src=x onerror=alert(2)>.pcap'], { packets: 2, verdicts: { delivered: 2, forwarded: 0, 'no-return': 0, dropped: 0, ignored: 0 }, reasons: {}, warnings: {}, services: { [hostile]: { backends: { '10.0.0.1:80': 2, '"><svg onload=x>': 1 } } } }, opts, []);
    assert.doesNotMatch(html, /<script|<img|<b>|<svg onload/);
    assert.match(html, new RegExp(esc(hostile).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    assert.match(html, /max\/min <span class="ratio">2\.00<\/span> over 2 backends/);
    assert.equal(esc(`a<b>&"'\u202e`), 'a&#60;b&#62;&#38;&#34;&#39;\\u202E');
  });

  it('the path diagram (report and page) is drawn from the walk as data: the rule that matched, the packet before and after', () => {
    const lesson = path.join(repo, 'traces', '04-icmp-lesson', 'trace.pcapng');
    const cl = ['kubectl.json', 'cni.conf', 'net-conf.json'].flatMap((f) => ['--cluster', path.join(repo, 'traces', '_clusters', 'l2bridge', f)]);
    const walkOfPacket = (n: number): Walk => JSON.parse(run(cli, ['explain', lesson, ...cl, '--packet', String(n), '--format', 'json'], repo).stdout) as Walk;
    const texts = (svg: string, cls: string): string[] =>
      [...svg.matchAll(new RegExp(`<g class="${cls}">(?:<title>[^<]*</title>)?(?:<rect[^>]*/>)((?:<text[^>]*>[^<]*</text>)+)`, 'g'))].map((m) => [...m[1].matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((t) => t[1]).join(' '));
    // the SYN: SNAT_TCP_OUTBOUNDNAT_* decides it and it leaves with the node IP
    const syn = pathSvg(walkOfPacket(3), { width: 560 });
    assert.deepEqual(texts(syn, 'packet-in'), ['in: tcp 10.244.1.5:49800 &#62; 203.0.113.10:80']);
    const decided = texts(syn, 'step rule decided');
    assert.equal(decided.length, 1);
    assert.match(decided[0], /^rule: SNAT_TCP_OUTBOUNDNAT_[0-9a-f]+ #\d+ \(priority 1000, nat\)$/);
    assert.match(texts(syn, 'step action')[0], /^action: SNAT 10\.244\.1\.5:49800 -&#62; 10\.127\.130\.11:\d+ [^]* packet now: tcp 10\.127\.130\.11:\d+ &#62; 203\.0\.113\.10:80 S$/);
    assert.match(texts(syn, 'packet-out')[0], /^out: eth [0-9a-f:]+ &#62; [0-9a-f:]+, tcp 10\.127\.130\.11:\d+ &#62; 203\.0\.113\.10:80 verdict: forwarded, decided by rule SNAT_TCP_OUTBOUNDNAT_/);
    // the echo request: no SNAT rule matches, it leaves with the pod IP, no-return
    const echo = pathSvg(walkOfPacket(1));
    assert.equal(texts(echo, 'step rule decided').length, 0);
    assert.match(texts(echo, 'packet-out')[0], /^out: eth [^,]*, icmp 10\.244\.1\.5 &#62; 203\.0\.113\.10 [^]*verdict: no-return \(icmp-not-transposed\)$/);
    assert.match(pathFigure(walkOfPacket(2)), /<p class="why">Final packet: unchanged<br>[^]*Verdict: dropped \(icmp-not-transposed\)<br>Dropped at node win-1: VFP does not transpose ICMP/);
    // a name holding markup is text; long texts wrap within the width, nothing is cut
    const w = walkOfPacket(3);
    const hostile = '<script>alert(1)</script>'.repeat(8);
    const marked: Walk = { ...w, steps: w.steps.map((st) => ({ ...st, text: st.kind === 'node' ? hostile : st.text })) };
    const svg = pathSvg(marked, { width: 400 });
    assert.doesNotMatch(svg, /<script/);
    assert.ok(svg.includes('&#60;script&#62;alert(1)&#60;/script&#62;'));
    for (const line of wrapText(`rule: ${hostile} and more words`, 30)) assert.ok(line.length <= 30, line);
    assert.deepEqual(wrapText('abcdefgh ij k', 3), ['abc', 'def', 'gh', 'ij', 'k'], 'a word longer than a line is split, never cut');
  });

  it('a trace read from a FIFO: the HTML report is written without reading it again (its paths say why they are not drawn)', function () {
    const fifo = path.join(tmp, 'trace.fifo');
    if (spawnSync('mkfifo', [fifo]).status !== 0) this.skip();
    // the writer exits once the replay has read the trace; a second open of the FIFO would wait for ever
    const r = spawnSync('sh', ['-c', `cat ${trace} > trace.fifo & node "$0" replay trace.fifo --cluster ${cluster} --report fifo.html --summary json`, cli], { cwd: tmp, encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
    assert.equal(r.signal, null, 'replay ended by itself');
    assert.equal(r.status, 0, r.stderr);
    const html = fs.readFileSync(path.join(tmp, 'fifo.html'), 'utf8');
    assert.match(html, /not drawn: trace\.fifo cannot be read again; run the explain command with the same input/);
    assert.ok((JSON.parse(r.stdout) as Summary).failing_flows.flows > 0);
  });

  describe('in headless Chromium', function () {
    before(function () {
      if (!fs.existsSync(CHROMIUM)) {
        console.log(`      skipped: ${CHROMIUM} is not installed (apt-get install -y chromium)`);
        this.skip();
      }
      fs.mkdirSync(SHOTS, { recursive: true });
    });

    function chromium(args: string[], html: string): string {
      const profile = fs.mkdtempSync(path.join(tmp, 'chromium-'));
      return execFileSync(CHROMIUM, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', `--user-data-dir=${profile}`, ...args, `file://${html}`], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 120000,
        maxBuffer: 64 << 20,
      });
    }

    /** Every `data-ATTR="key"` element's first number, by key (the DOM Chromium built). */
    function numbers(dom: string, attr: string): Map<string, number> {
      const out = new Map<string, number>();
      for (const m of dom.matchAll(new RegExp(`<tr data-${attr}="([^"]*)"><td>[^<]*</td><td class="n">(\\d+)</td>`, 'g'))) out.set(m[1], Number(m[2]));
      return out;
    }

    function unesc(s: string): string {
      return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
    }

    it('the report of the generated trace shows the JSON summary\'s verdicts, reasons, failing flows, backends and nodes; no request leaves the file', () => {
      const r = run(cli, ['replay', trace, '--cluster', cluster, '--summary', 'json', '--report', 'report.html'], tmp);
      assert.equal(r.status, 0, r.stderr);
      const s = JSON.parse(r.stdout) as Summary;
      const file = path.join(tmp, 'report.html');
      const raw = fs.readFileSync(file, 'utf8');
      assert.doesNotMatch(raw, /<script|<link|<img|@import|url\(|https?:\/\//i, 'self-contained: no script, no fetch');
      const dom = chromium(['--dump-dom'], file);
      const verdicts = numbers(dom, 'verdict');
      for (const [v, n] of Object.entries(s.verdicts)) assert.equal(verdicts.get(v), n, `verdict ${v}`);
      const reasons = numbers(dom, 'reason');
      for (const [c, n] of Object.entries(s.reasons)) assert.equal(reasons.get(c), n, `reason ${c}`);
      assert.match(dom, new RegExp(`<span id="failing-flows">${s.failing_flows.flows}</span> flows, <span id="failing-packets">${s.failing_flows.packets}</span> packets`));
      const rows = [...dom.matchAll(/<tr data-flow="(\d+)">[\s\S]*?<td class="n first">(\d+)<\/td><td class="n packets">(\d+)<\/td><\/tr><tr class="cmd"><td colspan="7">step by step: <code>([^<]*)<\/code>/g)];
      assert.equal(rows.length, s.failing_flows.list.length);
      rows.forEach((m, k) => assert.deepEqual([Number(m[2]), Number(m[3]), unesc(m[4])], [s.failing_flows.list[k].first_packet, s.failing_flows.list[k].packets, s.failing_flows.list[k].explain]));
      for (const [svc, { backends }] of Object.entries(s.services)) {
        const fig = dom.slice(dom.indexOf(`<figure data-service="${svc}">`));
        const shown = numbers(fig.slice(0, fig.indexOf('</figure>')), 'backend');
        assert.deepEqual(Object.fromEntries(shown), backends, `service ${svc}`);
        const counts = Object.values(backends);
        assert.match(fig, new RegExp(`max/min <span class="ratio">${(Math.max(...counts) / Math.min(...counts)).toFixed(2)}</span>`));
      }
      for (const [node, counts] of Object.entries(s.nodes)) {
        const row = new RegExp(`<tr data-node="${node}"><td>${node}</td>${Object.entries(counts).map(([v, n]) => `<td class="n" data-verdict="${v}">${n}</td>`).join('')}</tr>`);
        assert.match(dom, row, `node ${node}`);
      }
      // a diagram per drawn failing flow: its node, a port and a layer box
      const paths = [...dom.matchAll(/<figure class="path" data-path="\d+">[\s\S]*?<\/figure>/g)].map((m) => m[0]);
      assert.equal(paths.length, Math.min(10, s.failing_flows.list.length));
      for (const p of paths) assert.match(p, /node win-node-\d[\s\S]*class="step port"[\s\S]*<\/svg><p class="why">Final packet: /);
      assert.ok(paths.some((p) => /class="step layer"/.test(p)), 'a path through a layer');
      // the first drawn path is explain's walk of that packet: its boxes are explain's port and layer lines
      const explained = sh(s.failing_flows.list[0].explain, tmp).stdout;
      const boxes = [...paths[0].matchAll(/<g class="step (port|layer)"><title>([^<]*)<\/title>/g)].map((m) => unesc(m[2]));
      const lines = explained.split('\n').map((l) => l.trim()).filter((l) => /^(port|layer) /.test(l));
      assert.deepEqual(boxes, lines);
      // ... drawn from the walk as data (`explain --format json`): the packet in and out, the verdict, the deciding rule
      const walk = JSON.parse(sh(`${s.failing_flows.list[0].explain} --format json`, tmp).stdout) as Walk;
      const band = (cls: string): string => unesc([...(new RegExp(`<g class="${cls}">[\\s\\S]*?</g>`).exec(paths[0]) ?? [''])[0].matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]).join(' '));
      assert.equal(band('packet-in'), `in: ${walk.input}`);
      assert.match(band('packet-out'), new RegExp(`verdict: ${walk.final.verdict} \\(${walk.final.reason}\\)`));
      const decided = [...paths[0].matchAll(/<g class="step rule decided"><title>([^<]*)<\/title>/g)].map((m) => unesc(m[1]));
      assert.deepEqual(decided, walk.final.rule === null ? [] : [walk.steps.find((st) => st.rule?.id === walk.final.rule?.id)?.text].map((t) => `rule ${t}`));
      const shot = path.join(SHOTS, 'generated-trace.png');
      chromium(['--screenshot=' + shot, '--window-size=1280,4000'], file);
      assert.ok(fs.statSync(shot).size > 10_000);
      console.log(`      screenshot: ${path.relative(repo, shot)}`);
    });

    it('a node name and a trace name holding <script> and <img onerror> show as text (the lesson on a scenario cluster)', () => {
      const node = '<script>alert(1)</script>';
      const name = '<img src=x onerror=alert(2)>.pcapng';
      fs.copyFileSync(path.join(repo, 'traces', '04-icmp-lesson', 'trace.pcapng'), path.join(tmp, name));
      fs.writeFileSync(path.join(tmp, 'hostile.json'), JSON.stringify(hostileScenario(node)));
      const r = run(cli, ['replay', name, '--cluster', 'hostile.json', '--summary', 'json', '--report', 'hostile.html'], tmp);
      assert.equal(r.status, 0, r.stderr);
      const s = JSON.parse(r.stdout) as Summary;
      assert.ok(s.failing_flows.list.some((e) => e.node === node), 'a failing flow on the hostile node');
      const file = path.join(tmp, 'hostile.html');
      assert.doesNotMatch(fs.readFileSync(file, 'utf8'), /<script|<img/);
      const dom = chromium(['--dump-dom'], file);
      assert.doesNotMatch(dom, /<script|<img/, 'no element made from a name');
      assert.ok(dom.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), 'the node name shown as text');
      assert.ok(dom.includes('&lt;img src=x onerror=alert(2)&gt;.pcapng'), 'the trace name shown as text');
      const nodes = [...dom.matchAll(/<tr data-node="([^"]*)">/g)].map((m) => unesc(m[1]));
      assert.deepEqual(nodes.sort(), Object.keys(s.nodes).sort());
      const shot = path.join(SHOTS, 'hostile-names.png');
      chromium(['--screenshot=' + shot, '--window-size=1280,3000'], file);
      console.log(`      screenshot: ${path.relative(repo, shot)}`);
    });
  });
});

/** The lesson's pods and nodes as a scenario cluster (node names are free text there), win-1 named `node`. */
function hostileScenario(node: string): unknown {
  return {
    apiVersion: 'vfp-emu/v1',
    kind: 'Scenario',
    description: 'a node name holding markup',
    nodes: lessonNodes(node),
    pods: [
      { name: 'default/client-0', ip: '10.244.1.5', node },
      { name: 'default/web-0', ip: '10.244.2.7', node: 'win-2' },
    ],
    services: [],
  };
}

/**
 * The teaching page (native-free/): the bundle is built from the sources into a temporary folder, then
 *  (a) run in a bare JavaScript context (node:vm with only TextEncoder/TextDecoder: no require, no process,
 *      no fs), where the ICMP lesson and a user's own files are replayed and explained and compared with
 *      what the CLI (`vfp-emu replay`, `vfp-emu explain`) gives for the same inputs;
 *  (b) opened from file:// in headless Chromium (when /usr/bin/chromium is installed; skipped otherwise),
 *      where the rendered table must hold the lesson's verdicts, and a capture and cluster files handed to
 *      the file input must replay as the CLI replays them.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { bundleText, buildPage, readLesson } from '../native-free/build';
import { clusterList } from '../src/gen/layout';
import { writeTraceFile } from '../src/gen/trace';
import { loadScenario } from '../src/scenario/scenario';
import { withSetting } from '../src/vfp/profile';

const root = path.resolve(__dirname, '..', '..');
const cli = path.join(root, 'dist', 'src', 'cli.js');
const traces = path.join(root, 'traces');
const CHROMIUM = '/usr/bin/chromium';

/** The page API as the bundle exposes it on globalThis.vfpEmuPage (the exports of native-free/core.ts). */
interface PageApi {
  lesson: { id: string; packets: { send: string; expect: string; why: string }[] };
  Session: new (input: unknown) => {
    replay(): {
      rows: { record: Record<string, unknown> & { packet: number; verdict: string; reason: string | null }; words: string; outWords: string | null; reasonSentence: string | null }[];
      packets: number;
      verdicts: Record<string, number>;
      reasons: { code: string; packets: number; sentence: string }[];
      warnings: { code: string; packets: number; sentence: string }[];
      diagnostics: { code: string; message: string; source: string }[];
      error: string | null;
      outPcapng: Uint8Array;
    };
    explain(n: number): string;
  };
  lessonInput(lesson: unknown): unknown;
  whatIfInput(input: unknown, id: string): { windows?: string };
  LESSON_WHAT_IFS: readonly { id: string; cli: string }[];
  decodeClusterFile(bytes: Uint8Array): string;
  errorMessage(e: unknown): string;
}

/** The CLI's outputs for a trace and cluster files: verdict records (as text lines) and the out pcapng. */
function cliReplay(dir: string, trace: string, cluster: string[], view = 'pod'): { lines: string[]; out: Buffer } {
  const verdicts = path.join(dir, `cli-${path.basename(path.dirname(trace))}.jsonl`);
  const out = path.join(dir, `cli-${path.basename(path.dirname(trace))}.pcapng`);
  execFileSync(process.execPath, [cli, 'replay', trace, ...cluster.flatMap((c) => ['--cluster', c]), '--view', view, '--verdicts', verdicts, '--out', out, '--summary', 'json']);
  return { lines: fs.readFileSync(verdicts, 'utf8').trimEnd().split('\n'), out: fs.readFileSync(out) };
}

function cliExplain(trace: string, cluster: string[], n: number): string {
  return execFileSync(process.execPath, [cli, 'explain', trace, ...cluster.flatMap((c) => ['--cluster', c]), '--packet', String(n)], { encoding: 'utf8' });
}

/** A scenario's cluster file paths (scenario.yaml `cluster:`). */
function scenarioCluster(id: string): string[] {
  return loadScenario(path.join(traces, id)).clusterFiles;
}

/** UTF-16LE with a byte-order mark: what Windows PowerShell 5.1's `> file` writes. */
function utf16le(text: string): Uint8Array {
  const body = Buffer.from(text, 'utf16le');
  return new Uint8Array(Buffer.concat([Buffer.from([0xff, 0xfe]), body]));
}

describe('native-free: the teaching page', function () {
  this.timeout(180000);
  let tmp = '';
  let site = '';
  let bundle = '';

  before(async function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-native-free-'));
    site = path.join(tmp, 'site');
    fs.mkdirSync(site);
    for (const f of ['index.html', 'style.css']) fs.copyFileSync(path.join(root, 'native-free', f), path.join(site, f));
    const file = await buildPage({ root, out: path.join(site, 'dist', 'vfp-emu-page.js') });
    bundle = fs.readFileSync(file, 'utf8');
  });

  after(function () {
    if (tmp !== '') fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('builds one self-contained file with esbuild, the same bytes every time', async function () {
    assert.equal(await bundleText(root), bundle, 'a second build differs');
    assert.match(bundle, /^  \/\/ native-free\/core\.ts$/m);
    assert.match(bundle, /^  \/\/ node_modules\/yaml\/dist\/index\.js$/m, "yaml's CommonJS build, by its path in this clone (symlinks kept)");
    assert.match(bundle, /node:fs is a Node\.js module; the page cannot use it \(required by src\/io\/source\.ts\)/);
    assert.doesNotMatch(bundle, /\bfetch\(|XMLHttpRequest|import\(/, 'the page must not fetch anything (it opens from file://)');
    const lesson = readLesson(root);
    assert.equal(lesson.id, '04-icmp-lesson');
    assert.deepEqual(
      lesson.cluster.map((c) => c.name),
      ['_clusters/l2bridge/kubectl.json', '_clusters/l2bridge/cni.conf', '_clusters/l2bridge/net-conf.json'],
    );
    assert.ok(bundle.includes(fs.readFileSync(path.join(traces, '04-icmp-lesson', 'trace.pcapng')).toString('base64')), 'the lesson trace is embedded');
  });

  describe('(a) the core in a bare JavaScript context: no require, process or fs', function () {
    let page: PageApi;
    let context: vm.Context;

    before(function () {
      context = vm.createContext({ TextEncoder, TextDecoder });
      vm.runInContext(bundle, context, { filename: 'vfp-emu-page.js' });
      assert.equal(vm.runInContext('typeof require + typeof process + typeof document', context), 'undefinedundefinedundefined');
      page = (context as { vfpEmuPage: PageApi }).vfpEmuPage;
      assert.ok(page !== undefined, 'the bundle sets globalThis.vfpEmuPage');
    });

    it('replays the ICMP lesson: the ping leaves with no way back, its reply is dropped, curl is forwarded', function () {
      const s = new page.Session(page.lessonInput(page.lesson));
      const r = s.replay();
      const [p1, p2, p3] = r.rows;
      assert.equal(p1.words, 'icmp echo 10.244.1.5 → 203.0.113.10');
      assert.deepEqual([p1.record.verdict, p1.record.reason], ['no-return', 'icmp-not-transposed']);
      assert.deepEqual([p2.record.verdict, p2.record.reason], ['dropped', 'icmp-not-transposed']);
      assert.deepEqual([p3.record.verdict, p3.record.reason], ['forwarded', null]);
      assert.equal(p3.outWords, `${(p3.record.out as { src: string }).src}:${(p3.record.out as { sport: number }).sport} → 203.0.113.10:80`);
      assert.equal((p3.record.out as { src: string }).src, '10.127.130.11', 'curl is SNATed to the node IP');
      assert.match(p1.reasonSentence ?? '', /VFP does not transpose ICMP/);
      assert.equal(r.packets, page.lesson.packets.length);
      r.rows.forEach((row, k) => assert.equal([row.record.verdict, row.record.reason].filter((x) => x !== null).join(' '), page.lesson.packets[k].expect, `packet ${k + 1}`));
      assert.deepEqual(
        Array.from(r.reasons, (x) => [x.code, x.packets]),
        [['icmp-not-transposed', 2]],
      );
      assert.equal(r.error, null);
    });

    it("the what-ifs are the CLI's: the ICMP SNAT profile is written as `vfp-emu trace` writes it, the ExceptionList one names the file change", function () {
      const input = page.lessonInput(page.lesson) as Record<string, unknown>;
      // a setting the input already gives is replaced, not repeated (the profile's name on the page is this text)
      const given = 'ws2022:icmpSnat=false,maxLbDestinations=128';
      const got = page.whatIfInput({ ...input, windows: given }, 'icmp-snat').windows;
      assert.equal(got, 'ws2022:icmpSnat=true,maxLbDestinations=128');
      assert.equal(got, withSetting(given, 'icmpSnat', 'true'), 'the one function trace.ts uses');
      assert.equal(page.whatIfInput(input, 'icmp-snat').windows, 'ws2022:icmpSnat=true');
      const cli = Object.fromEntries(Array.from(page.LESSON_WHAT_IFS, (w) => [w.id, w.cli]));
      assert.equal(cli.exception, "the lesson's cni.conf with 203.0.113.10/32 added to its OutBoundNAT ExceptionList, then `vfp-emu replay TRACE --cluster <that file> ...`");
      assert.equal(cli['icmp-snat'], 'vfp-emu replay TRACE --cluster ... --windows ws2022:icmpSnat=true');
    });

    it('gives the verdict records, output pcapng and explanations the CLI gives for the lesson', function () {
      const id = '04-icmp-lesson';
      const trace = path.join(traces, id, 'trace.pcapng');
      const cluster = scenarioCluster(id);
      const want = cliReplay(tmp, trace, cluster);
      const s = new page.Session(page.lessonInput(page.lesson));
      const r = s.replay();
      assert.deepEqual(
        Array.from(r.rows, (row) => JSON.stringify(row.record)),
        want.lines,
      );
      assert.ok(Buffer.from(r.outPcapng).equals(want.out), 'the downloadable out trace equals `replay --out`');
      for (const n of [1, 2, 3]) {
        const text = s.explain(n);
        assert.equal(text.endsWith('\n') ? text : text + '\n', cliExplain(trace, cluster, n), `explain packet ${n}`); // the CLI ends it with one newline
      }
      assert.match(s.explain(2), /reverse flow of connection #0[\s\S]*Verdict: dropped \(icmp-not-transposed\)/);
    });

    it("replays a user's own files from bytes (a UTF-16 PowerShell-style file too) as the CLI does", function () {
      const id = '05-services';
      const trace = path.join(traces, id, 'trace.pcapng');
      const cluster = scenarioCluster(id);
      const want = cliReplay(tmp, trace, cluster);
      const s = new page.Session({
        trace: { name: 'trace.pcapng', bytes: new Uint8Array(fs.readFileSync(trace)) },
        cluster: cluster.map((f, k) => {
          const text = fs.readFileSync(f, 'utf8');
          const bytes = k === cluster.length - 1 ? utf16le(text) : new Uint8Array(fs.readFileSync(f));
          return { name: path.basename(f), text: page.decodeClusterFile(bytes) };
        }),
        view: 'pod',
        seed: 1,
      });
      const r = s.replay();
      assert.deepEqual(
        Array.from(r.rows, (row) => JSON.stringify(row.record)),
        want.lines,
      );
      assert.ok(Buffer.from(r.outPcapng).equals(want.out), 'out pcapng');
      assert.ok(r.rows.some((row) => row.record.service !== null), 'the scenario reaches a Service');
    });

    it('replays a trace of many batches as the CLI does: the first 20000 rows, counts over every packet, the out pcapng', function () {
      // 20700 packets: about 41 of the replay's batches, the last row (20000) in the middle of one
      const trace = path.join(tmp, 'many.pcap');
      const clusterFile = path.join(tmp, 'many-cluster.json');
      const g = writeTraceFile(trace, 'pcap', { packets: 20700, flows: 300, seed: 5 });
      fs.writeFileSync(clusterFile, JSON.stringify(clusterList(g.layout)));
      const verdicts = path.join(tmp, 'many.jsonl');
      const out = path.join(tmp, 'many.pcapng');
      const cliArgs = [cli, 'replay', trace, '--cluster', clusterFile, '--verdicts', verdicts, '--out', out, '--summary', 'json', '--workers', '1'];
      const summary = JSON.parse(execFileSync(process.execPath, cliArgs, { encoding: 'utf8' })) as { packets: number; verdicts: object; reasons: object; warnings: object };
      const s = new page.Session({
        trace: { name: 'many.pcap', bytes: new Uint8Array(fs.readFileSync(trace)) },
        cluster: [{ name: 'many-cluster.json', text: fs.readFileSync(clusterFile, 'utf8') }],
      });
      const r = s.replay();
      const plain = (x: unknown): unknown => JSON.parse(JSON.stringify(x)); // (objects of the bundle's realm)
      assert.equal(r.packets, 20700);
      assert.equal(r.rows.length, 20000, 'a row for each of the first 20000 packets only');
      const lines = fs.readFileSync(verdicts, 'utf8').trimEnd().split('\n');
      assert.deepEqual(
        Array.from(r.rows, (row) => JSON.stringify(row.record)),
        lines.slice(0, 20000),
      );
      assert.deepEqual(plain(r.verdicts), summary.verdicts);
      assert.deepEqual(Object.fromEntries(Array.from(r.reasons, (x) => [x.code, x.packets])), summary.reasons);
      assert.deepEqual(Object.fromEntries(Array.from(r.warnings, (x) => [x.code, x.packets])), summary.warnings);
      assert.ok(Buffer.from(r.outPcapng).equals(fs.readFileSync(out)), 'the downloadable out trace equals `replay --out`');
      // each row's words are its own packet's (taken from its batch before the engine rewrote it)
      for (const row of r.rows) {
        const flow = row.record.flow as { src: string; dst: string } | null;
        if (flow !== null) assert.ok(row.words.includes(` ${flow.src}`) && row.words.includes(`→ ${flow.dst}`), `packet ${row.record.packet}: ${row.words}`);
      }
    });

    it('lists every config diagnostic: two cluster files that disagree on the network leave config-override', function () {
      const lesson = page.lessonInput(page.lesson) as { trace: unknown; cluster: { name: string; text: string }[] };
      const overlayCni = fs.readFileSync(path.join(traces, '_clusters', 'overlay', 'cni.conf'), 'utf8');
      const r = new page.Session({ ...lesson, cluster: [...lesson.cluster, { name: 'overlay-cni.conf', text: overlayCni }] }).replay();
      const overrides = r.diagnostics.filter((d) => d.code === 'config-override');
      assert.ok(overrides.some((d) => /network\.mode: overlay-cni\.conf:delegate\.type sets overlay, replacing l2bridge/.test(d.message)), JSON.stringify(r.diagnostics));
      const own = new page.Session(page.lessonInput(page.lesson)).replay().diagnostics;
      const others = own.filter((d) => d.code !== 'config-assumed'); // arrays of the page's own realm: compare by content
      assert.equal(others.length, 0, `the lesson alone has none but the assumed facts: ${JSON.stringify(others)}`);
      assert.ok(own.some((d) => d.code === 'config-assumed' && d.source === 'pods[*].mac'), JSON.stringify(own));
    });

    it('reports bad inputs with the file and byte offset or field path, keeping what came before', function () {
      const lessonTrace = fs.readFileSync(path.join(traces, '04-icmp-lesson', 'trace.pcapng'));
      const lessonCluster = (page.lessonInput(page.lesson) as { cluster: unknown }).cluster;
      const cut = new Uint8Array(lessonTrace.subarray(0, lessonTrace.length - 20));
      const r = new page.Session({ trace: { name: 'cut.pcapng', bytes: cut }, cluster: lessonCluster }).replay();
      assert.equal(r.packets, 9, 'the nine whole packets are replayed');
      assert.match(r.error ?? '', /^cut\.pcapng at byte offset \d+: /);
      assert.deepEqual([r.rows[0].record.verdict, r.rows[1].record.verdict], ['no-return', 'dropped']);

      assert.throws(
        () => new page.Session({ trace: { name: 'notes.txt', bytes: new TextEncoder().encode('hello, world') }, cluster: lessonCluster }).replay(),
        (e: Error) => e.name === 'InputError' && /^notes\.txt at byte offset 0: not a pcap or pcapng file/.test(e.message),
      );
      assert.throws(
        () => new page.Session({ trace: { name: 't', bytes: cut }, cluster: [{ name: 'net-conf.json', text: '{"Network": "10.244.0.0/16", "Backend": {"Type": "vxlan", "VNI": 1}}' }] }),
        (e: Error) => e.name === 'InputError' && e.message.startsWith('net-conf.json') && /VNI/.test(e.message) && page.errorMessage(e) === e.message,
      );
      assert.match(page.errorMessage(vm.runInContext("new TypeError('x is undefined')", context)), /^vfp-emu failed \(a bug, please report it with the input\): x is undefined$/);
    });
  });

  describe('(b) in headless Chromium, opened from file://', function () {
    before(function () {
      if (!fs.existsSync(CHROMIUM)) {
        console.log(`      skipped: ${CHROMIUM} is not installed (apt-get install -y chromium)`);
        this.skip();
      }
    });

    /** The page's DOM after the scripts ran (virtual time lets timers and promises finish). */
    function dumpDom(html: string, extra: string[] = []): string {
      const profile = fs.mkdtempSync(path.join(tmp, 'chromium-'));
      return execFileSync(
        CHROMIUM,
        [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--no-first-run',
          `--user-data-dir=${profile}`,
          // virtual time runs ahead while the page is idle; the files' reads are real time, so the budget is
          // generous (a loaded CI machine once dumped the DOM before a 5 s budget's replay had run)
          '--virtual-time-budget=60000',
          ...extra,
          ...(extra.some((a) => a.startsWith('--screenshot')) ? [] : ['--dump-dom']),
          `file://${html}`,
        ],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 120000, maxBuffer: 64 << 20 },
      );
    }

    /**
     * index.html plus what a user does: choose `files` (the input's FileList, as a drop would give), then
     * click Replay once the page has read them. Returns the page's path.
     */
    function pageWithFiles(name: string, files: { name: string; base64: string }[]): string {
      const harness = `<script>
(function () {
  var files = ${JSON.stringify(files)};
  var dt = new DataTransfer();
  files.forEach(function (f) {
    var s = atob(f.base64), a = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) a[i] = s.charCodeAt(i);
    dt.items.add(new File([a], f.name));
  });
  var input = document.getElementById('file-input');
  input.files = dt.files;
  input.dispatchEvent(new Event('change'));
  // click Replay when the page has read the files and enables it (an observer, not a timer polling in
  // virtual time, which ran out once on a loaded CI machine before the reads had finished)
  var button = document.getElementById('replay-mine');
  var observer = new MutationObserver(clickWhenReady);
  function clickWhenReady() {
    if (button.disabled) return;
    observer.disconnect();
    button.click();
  }
  observer.observe(button, { attributes: true });
  clickWhenReady();
})();
</script>
</body>`;
      const file = path.join(site, name);
      fs.writeFileSync(file, fs.readFileSync(path.join(site, 'index.html'), 'utf8').replace('</body>', harness));
      return file;
    }

    /** [packet, verdict, reason] of each rendered table row. */
    function renderedRows(dom: string): [number, string, string][] {
      const rows: [number, string, string][] = [];
      for (const m of dom.matchAll(/<tr class="packet[^"]*"[^>]*>/g)) {
        const attr = (name: string): string => new RegExp(`${name}="([^"]*)"`).exec(m[0])?.[1] ?? '?';
        rows.push([Number(attr('data-packet')), attr('data-verdict'), attr('data-reason')]);
      }
      return rows;
    }

    it('shows the lesson: one row per packet with its verdict, the reasons, and packet 1 explained', function () {
      const dom = dumpDom(path.join(site, 'index.html'));
      const rows = renderedRows(dom);
      assert.equal(rows.length, 10, 'ten packet rows');
      assert.deepEqual(rows[0], [1, 'no-return', 'icmp-not-transposed']);
      assert.deepEqual(rows[1], [2, 'dropped', 'icmp-not-transposed']);
      assert.deepEqual(rows[2], [3, 'forwarded', '']);
      const lesson = readLesson(root);
      rows.forEach(([n, v, reason], k) => assert.equal([v, reason].filter((x) => x !== '').join(' '), lesson.packets[k].expect, `row ${n}`));
      assert.match(dom, /<h2 id="scenario-name">Lesson: A pod's ping to an external host gets no reply/);
      assert.match(dom, /<div id="why" class="why">[\s\S]*icmp-not-transposed[\s\S]*VFP does not transpose ICMP/);
      assert.match(dom, /<pre class="explain-text">Packet 1: icmp 10\.244\.1\.5 &gt; 203\.0\.113\.10 echo/);
      assert.doesNotMatch(dom, /<p id="error" class="error" role="alert">/, 'no error shown');
    });

    it('explains the packet whose row is clicked, and steps to the next one with the arrow key', function () {
      const harness = `<script>
document.getElementById('packet-2').click();
document.getElementById('packet-2').dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowDown', bubbles: true }));
</script>
</body>`;
      const file = path.join(site, 'click.html');
      fs.writeFileSync(file, fs.readFileSync(path.join(site, 'index.html'), 'utf8').replace('</body>', harness));
      const dom = dumpDom(file);
      const explained = [...dom.matchAll(/<pre class="explain-text">Packet (\d+): ([^\n]*)/g)].map((m) => [m[1], m[2]]);
      assert.deepEqual(explained, [['3', 'tcp 10.244.1.5:49800 &gt; 203.0.113.10:80']], 'one explanation open: packet 3');
      assert.match(dom, /<tr class="packet open" id="packet-3"/);
      assert.match(dom, /Unified flow: node=win-1,scope=entry,proto=6,src=10\.244\.1\.5,dst=203\.0\.113\.10,sport=49800,dport=80 \(forward; connection #1, created by packet 3/);
    });

    /** index.html with `script` run after the page started; `dumpDom` of it at 1024x768 (the projector). */
    function harnessPage(name: string, script: string): string {
      const file = path.join(site, name);
      fs.writeFileSync(file, fs.readFileSync(path.join(site, 'index.html'), 'utf8').replace('</body>', `<script>\n${script}\n</script>\n</body>`));
      return file;
    }

    /** What the harness script below measured, read back from the DOM Chromium dumped. */
    interface Seen {
      packets: { inBand: string; outBand: string; decided: string[]; text: string }[];
      scrollWidth: number;
      filtered: { chip: string; rows: string[] }[];
      whatIfs: Record<string, { rows: [string, string, string, boolean][]; quotes: string[]; note: string }>;
    }

    const LESSON_HARNESS = `
var seen = { packets: [], filtered: [], whatIfs: {} };
var texts = function (root, sel) { return Array.prototype.map.call(root.querySelectorAll(sel), function (t) { return t.textContent; }); };
[1, 2, 3, 4].forEach(function (n) {
  document.getElementById('packet-' + n).click();
  var row = document.getElementById('explain-row');
  seen.packets.push({ inBand: texts(row, 'g.packet-in text').join(' '), outBand: texts(row, 'g.packet-out text').join(' '),
    decided: texts(row, 'g.step.rule.decided > title'), text: row.querySelector('pre.explain-text').textContent.split('\\n')[0] });
});
seen.scrollWidth = Math.max(document.documentElement.scrollWidth, document.body.scrollWidth);
var rows = function () { return Array.prototype.map.call(document.querySelectorAll('tr.packet'), function (tr) {
  return [tr.dataset.packet, tr.dataset.verdict, tr.dataset.reason, tr.classList.contains('changed')]; }); };
var quotes = function () { return Array.prototype.map.call(document.querySelectorAll('tr.packet'), function (tr) {
  var q = tr.querySelector('td.what .ref'); return q === null ? '' : q.className + ': ' + q.textContent; }); };
Array.prototype.forEach.call(document.querySelectorAll('button.chip'), function (b) {
  b.click();
  seen.filtered.push({ chip: b.textContent, rows: rows().map(function (r) { return r[0] + ' ' + r[1]; }) });
});
document.querySelector('button.chip[data-filter=""]').click();
['whatif-icmp-snat', 'whatif-exception'].forEach(function (id) {
  document.getElementById(id).click();
  seen.whatIfs[id] = { rows: rows(), quotes: quotes(), note: document.getElementById('whatif-result').textContent };
  document.getElementById(id).click();
});
var pre = document.createElement('pre'); pre.id = 'harness'; pre.textContent = JSON.stringify(seen); document.body.append(pre);
`;

    it('the lesson on a 1024x768 projector: packets 1-4 drawn as paths (the rule that matched, the packet in and out), no horizontal scroll', function () {
      const dom = dumpDom(harnessPage('lesson-1024.html', LESSON_HARNESS), ['--window-size=1024,768']);
      const m = /<pre id="harness">([^<]*)<\/pre>/.exec(dom);
      assert.ok(m !== null, 'the harness ran');
      const seen = JSON.parse(m[1].replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')) as Seen;
      const [echo, reply, syn, synAck] = seen.packets;
      // the echo request: no SNAT rule matches (OutboundNAT is TCP and UDP only), it leaves with the pod IP
      assert.equal(echo.inBand, 'in: icmp 10.244.1.5 > 203.0.113.10 echo');
      assert.deepEqual(echo.decided, []);
      assert.match(echo.outBand, /^out: eth [^,]+, icmp 10\.244\.1\.5 > 203\.0\.113\.10 .*verdict: no-return \(icmp-not-transposed\)$/);
      assert.match(reply.outBand, /^out: nothing leaves \(dropped\) verdict: dropped \(icmp-not-transposed\)$/);
      // the SYN: SNAT_TCP_OUTBOUNDNAT_* matched, and it leaves with the node IP; the SYN-ACK goes back to the pod
      assert.equal(syn.decided.length, 1);
      assert.match(syn.decided[0], /^rule SNAT_TCP_OUTBOUNDNAT_[0-9a-f]+ #\d+ \(priority 1000, nat\)$/);
      assert.match(syn.outBand, /tcp 10\.127\.130\.11:\d+ > 203\.0\.113\.10:80 verdict: forwarded, decided by rule SNAT_TCP_OUTBOUNDNAT_/);
      assert.match(synAck.outBand, /> 10\.244\.1\.5:49800 verdict: delivered/);
      seen.packets.forEach((p, k) => assert.equal(p.text.replace(/ (S|SA)$/, ''), `Packet ${k + 1}: ${p.inBand.slice(4)}`.replace(/ (S|SA)$/, ''), 'the text beside the diagram is the same packet'));
      assert.ok(seen.scrollWidth <= 1024, `no horizontal scroll at 1024 px: scrollWidth ${seen.scrollWidth}`);
      // the verdict filter: each button shows its verdict's packets, with the count on it
      for (const f of seen.filtered) {
        const want = /^all (\d+) packets$/.exec(f.chip);
        if (want !== null) assert.equal(f.rows.length, Number(want[1]));
        else {
          const [verdict, n] = f.chip.split(' ');
          assert.equal(f.rows.length, Number(n), f.chip);
          for (const r of f.rows) assert.equal(r.split(' ')[1], verdict, f.chip);
        }
      }
      assert.deepEqual(seen.filtered.find((f) => f.chip.startsWith('no-return'))?.rows, ['1 no-return']);
    });

    it("the lesson's what-ifs replay it and mark what changes: ICMP SNAT on makes the ping work; the ExceptionList entry changes why it fails and breaks curl", function () {
      const dom = dumpDom(harnessPage('lesson-whatif.html', LESSON_HARNESS), ['--window-size=1024,768']);
      const m = /<pre id="harness">([^<]*)<\/pre>/.exec(dom) as RegExpExecArray;
      const seen = JSON.parse(m[1].replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')) as Seen;
      const snat = seen.whatIfs['whatif-icmp-snat'];
      assert.deepEqual(snat.rows[0], ['1', 'forwarded', '', true], 'the ping leaves SNATed: forwarded, marked as changed');
      assert.deepEqual(snat.rows[1], ['2', 'delivered', '', true], 'its reply comes back to the pod');
      assert.deepEqual(snat.rows[2], ['3', 'forwarded', '', false], 'curl is as before');
      // the lesson's words about packets 1-2 contradict the what-if: labelled and dimmed there, as they are on curl
      const why = readLesson(root).packets.map((p) => p.why);
      assert.equal(snat.quotes[0], `ref stale: the lesson says (without the what-if): “${why[0]}”`);
      assert.equal(snat.quotes[1], why[1] === '' ? '' : `ref stale: the lesson says (without the what-if): “${why[1]}”`);
      assert.equal(snat.quotes[2], why[2] === '' ? '' : `ref: “${why[2]}”`);
      assert.match(snat.note, /^vfp-emu replay TRACE --cluster \.\.\. --windows ws2022:icmpSnat=true\. 2 packets change: packet 1: no-return icmp-not-transposed → forwarded; packet 2: dropped icmp-not-transposed → delivered\.$/);
      const ex = seen.whatIfs['whatif-exception'];
      assert.deepEqual(ex.rows[0], ['1', 'no-return', 'pod-ip-not-routable', true], 'the ping still fails, now because the pod IP is not routable outside');
      assert.deepEqual(ex.rows[2], ['3', 'no-return', 'pod-ip-not-routable', true], 'curl is no longer SNATed and breaks too');
      assert.deepEqual(ex.rows[7], ['8', 'delivered', '', false], 'pod to pod is as before');
      assert.match(ex.note, /^the lesson's cni\.conf with 203\.0\.113\.10\/32 added to its OutBoundNAT ExceptionList, then `vfp-emu replay TRACE --cluster <that file> \.\.\.`\. 7 packets change: packet 1: no-return icmp-not-transposed → no-return pod-ip-not-routable;/);
      // screenshots: the lesson with the SYN's path open, and with ICMP SNAT on (test-output/page/)
      const shots = path.join(root, 'test-output', 'page');
      fs.mkdirSync(shots, { recursive: true });
      const shot = (name: string, script: string): void => {
        const file = path.join(shots, name);
        dumpDom(harnessPage(`shot-${name}.html`, script), ['--window-size=1024,768', `--screenshot=${file}`]);
        assert.ok(fs.statSync(file).size > 10_000, `${name} was written`);
        console.log(`      screenshot: ${path.relative(root, file)}`);
      };
      shot('lesson-1024x768.png', '');
      // (a headless screenshot is of the top of the page: what is above the part shown is hidden, not scrolled past)
      const hide = (ids: string[]): string => `${JSON.stringify(ids)}.forEach(function (id) { document.getElementById(id).style.display = 'none'; }); document.querySelector('header').style.display = 'none';`;
      shot('syn-path-1024x768.png', `document.getElementById('packet-3').click(); ${hide(['scenario-about', 'scenario-sources', 'whatif', 'why', 'diagnostics', 'packet-1', 'packet-2'])}`);
      shot('icmp-snat-whatif-1024x768.png', `document.getElementById('whatif-icmp-snat').click(); ${hide(['scenario-about', 'scenario-sources', 'why', 'diagnostics', 'explain-row'])}`);
    });

    it('replays a capture and cluster files handed to the file input, as the CLI does', function () {
      const id = '05-services';
      const trace = path.join(traces, id, 'trace.pcapng');
      const cluster = scenarioCluster(id);
      const want = cliReplay(tmp, trace, cluster).lines.map((l) => JSON.parse(l) as { packet: number; verdict: string; reason: string | null });
      const files = [trace, ...cluster].map((f, k) => ({
        name: path.basename(f),
        base64: Buffer.from(k === cluster.length ? utf16le(fs.readFileSync(f, 'utf8')) : fs.readFileSync(f)).toString('base64'),
      }));
      const dom = dumpDom(pageWithFiles('mine.html', files));
      assert.match(dom, /<h2 id="scenario-name">Your capture: trace\.pcapng<\/h2>/);
      assert.deepEqual(
        renderedRows(dom),
        want.map((r) => [r.packet, r.verdict, r.reason ?? '']),
      );
      assert.match(dom, /<span class="kind">cluster<\/span><span class="name">services\.yaml<\/span>/);
      assert.match(dom, /<body class="">/, 'the busy cursor is gone');
    });

    it('says which file is bad and keeps the lesson on screen', function () {
      const files = [
        { name: 'trace.pcapng', base64: fs.readFileSync(path.join(traces, '05-services', 'trace.pcapng')).toString('base64') },
        { name: 'net-conf.json', base64: Buffer.from('{"Network": "10.244.0.0/16", "Backend": {"Type": "vxlan", "VNI": 1}}').toString('base64') },
      ];
      const dom = dumpDom(pageWithFiles('bad.html', files));
      assert.match(dom, /<p id="error" class="error" role="alert">net-conf\.json at [^<]*VNI[^<]*<\/p>/);
      assert.match(dom, /<h2 id="scenario-name">Lesson: /);
      assert.equal(renderedRows(dom).length, 10, "the lesson's rows stay");
    });
  });
});

/**
 * pktmon captures (issue 13, src/io/pktmon.ts): the ICMP lesson as etl2pcapng would write a pktmon capture of
 * it (src/gen/pktmon.ts: 3 components per packet, PktGroupId in epb_packetid, drop events with epb_verdict)
 * is judged as the plain lesson is, once per packet; copies are linked (`copy_of`), counted, never judged;
 * pktmon's drop records are compared with the emulator's verdicts; a damaged file is exit 2 with the byte
 * offset; every worker count gives the same bytes. tshark reads the generated files (skipped without it).
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_COMPONENTS, pktmonCapture } from '../src/gen/pktmon';
import { pcapBytes } from './io-helpers';

const repo = path.resolve(__dirname, '..', '..');
const cli = path.join(repo, 'dist', 'src', 'cli.js');
const lesson = path.join(repo, 'traces', '04-icmp-lesson', 'trace.pcapng');
const cluster = ['kubectl.json', 'cni.conf', 'net-conf.json'].flatMap((f) => ['--cluster', path.join(repo, 'traces', '_clusters', 'l2bridge', f)]);

interface Rec {
  packet: number;
  verdict: string;
  reason: string | null;
  copy_of?: number | null;
  [k: string]: unknown;
}

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function records(file: string): Rec[] {
  return fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Rec);
}

describe('pktmon captures (etl2pcapng layout)', function () {
  let tmp: string;
  let pk: string;
  let plain: Rec[];
  const drops = new Map([
    // the echo reply: pktmon drops it at the vSwitch, as the emulator does (agree)
    [2, { component: 134, reason: 8, reasonText: 'Filtered' }],
    // the curl SYN: pktmon drops it at the physical NIC, the emulator forwards it (disagree)
    [3, { component: 2, reason: 23, reasonText: 'MTU mismatch' }],
  ]);

  before(function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-pktmon-'));
    pk = path.join(tmp, 'lesson-pktmon.pcapng');
    fs.writeFileSync(pk, pktmonCapture(fs.readFileSync(lesson), { drops, dropComments: true }));
    const r = run(['replay', lesson, ...cluster, '--verdicts', path.join(tmp, 'plain.jsonl'), '--workers', '1']);
    assert.equal(r.status, 0, r.stderr);
    plain = records(path.join(tmp, 'plain.jsonl'));
  });

  after(function () {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('judges each packet once, at its first component, with the plain trace\'s verdicts; copies link to it', function () {
    const v = path.join(tmp, 'v.jsonl');
    const r = run(['replay', pk, ...cluster, '--verdicts', v, '--summary', 'json', '--workers', '1']);
    assert.equal(r.status, 0, r.stderr);
    const recs = records(v);
    const judged = recs.filter((x) => x.copy_of === undefined);
    const copies = recs.filter((x) => x.copy_of !== undefined);
    assert.equal(judged.length, plain.length);
    // 3 appearances per packet, but the dropped ones stop at their drop: 2 (reply at vmswitch) and 3 (SYN at the NIC)
    assert.equal(recs.length, 3 * plain.length - 1);
    assert.equal(copies.length, recs.length - plain.length);
    for (let k = 0; k < plain.length; k++) {
      const { packet: _a, ...want } = plain[k];
      const { packet: _b, ...got } = judged[k];
      assert.deepEqual(got, want, `packet ${k + 1} of the plain trace`);
    }
    for (const c of copies) {
      assert.equal(c.verdict, 'ignored');
      assert.equal(c.reason, 'pktmon-copy');
      const j = recs[(c.copy_of as number) - 1];
      assert.equal(j.copy_of, undefined, 'copy_of names a judged packet');
      assert.ok(j.packet < c.packet);
    }
    const s = JSON.parse(r.stdout);
    assert.equal(s.packets, recs.length);
    assert.equal(s.reasons['pktmon-copy'], copies.length);
    assert.equal(s.pktmon.packets, plain.length);
    assert.equal(s.pktmon.copies, copies.length);
    assert.equal(s.pktmon.components.length, 3);
    assert.equal(s.pktmon.view, 'first');
    assert.ok(s.diagnostics.some((d: { code: string; message: string }) => d.code === 'pktmon-capture' && /pktmon capture detected: 3 components, view = /.test(d.message)));
  });

  it('compares pktmon drop records with the emulator: agree and disagree, reasons side by side', function () {
    const r = run(['replay', pk, ...cluster, '--summary', 'json', '--workers', '1']);
    const d = JSON.parse(r.stdout).pktmon.drops;
    assert.equal(d.records, 2);
    assert.equal(d.agree, 1);
    assert.equal(d.disagree, 1);
    assert.deepEqual(d.list.map((x: { pktmon_reason: string; verdict: string; agree: boolean }) => [x.pktmon_reason, x.verdict, x.agree]), [
      ['Filtered', 'dropped', true],
      ['MTU mismatch', 'forwarded', false],
    ]);
    assert.match(d.list[1].component, /Hyper-V Network Adapter #2/);
    const t = run(['replay', pk, ...cluster, '--workers', '1']);
    assert.match(t.stdout, /pktmon drops: 2 \(emulator agrees 1, disagrees 1\)/);
    assert.match(t.stdout, /pktmon dropped \(MTU mismatch\); emulator: forwarded - DISAGREE/);
  });

  it('the HTML report has a pktmon section with the drop records side by side', function () {
    const h = path.join(tmp, 'r.html');
    const r = run(['replay', pk, ...cluster, '--report', h, '--workers', '1']);
    assert.equal(r.status, 0, r.stderr);
    const html = fs.readFileSync(h, 'utf8');
    assert.match(html, /<h2>pktmon capture<\/h2>/);
    assert.match(html, /<tr data-pktmon-drop="\d+" class="agree">.*?<td>Filtered<\/td><td>dropped<\/td>/);
    assert.match(html, /class="disagree">.*?<td>MTU mismatch<\/td><td>forwarded<\/td>/);
  });

  it('several traces and vfp-emu merge add the pktmon parts up (per trace and in total)', function () {
    const r = run(['replay', pk, lesson, ...cluster, '--summary', 'json', '--workers', '1']);
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.equal(s.pktmon.packets, plain.length);
    assert.equal(s.traces[0].pktmon.copies, s.pktmon.copies);
    assert.equal(s.traces[1].pktmon, undefined);
    assert.equal(s.pktmon.drops.list[0].trace, pk);
    const a = path.join(tmp, 'a.json');
    fs.writeFileSync(a, run(['replay', pk, ...cluster, '--summary', 'json', '--workers', '1']).stdout);
    const m = run(['merge', a, a]);
    assert.equal(m.status, 0, m.stderr);
    const ms = JSON.parse(m.stdout);
    assert.equal(ms.pktmon.packets, 2 * plain.length);
    assert.equal(ms.pktmon.drops.disagree, 2);
    // a pktmon field merge does not know is refused by name
    const bad = JSON.parse(fs.readFileSync(a, 'utf8'));
    bad.pktmon.extra = 1;
    fs.writeFileSync(a, JSON.stringify(bad));
    const b = run(['merge', a]);
    assert.equal(b.status, 2);
    assert.match(b.stderr, /pktmon\.extra/);
  });

  it('several traces under --pktmon-component: the merged fingerprint is the component it resolved to, as merging the single runs gives; traces judged at different components are named in groups and none is added up', function () {
    // another node's capture: its vmswitch has the lowest component id, so interface 0 is the vmswitch there
    const other = path.join(tmp, 'node-b.pcapng');
    fs.writeFileSync(other, pktmonCapture(fs.readFileSync(lesson), { components: DEFAULT_COMPONENTS.map((c) => (c.name === 'vmswitch.sys' ? { ...c, id: 1 } : c)) }));
    const damaged = path.join(tmp, 'damaged.pcapng');
    fs.writeFileSync(damaged, fs.readFileSync(pk).subarray(0, 100));
    const json = (args: string[], status = 0): Record<string, any> => {
      const r = run([...args, ...(args[0] === 'merge' ? [] : cluster), '--summary', 'json']);
      assert.equal(r.status, status, r.stderr);
      return JSON.parse(r.stdout);
    };
    const untimed = (s: Record<string, any>): string => JSON.stringify({ ...s, elapsed_s: 0, pps: 0, traces: s.traces.map((t: Record<string, unknown>) => ({ ...t, elapsed_s: 0, pps: 0 })) });
    // by if_description: the vmswitch in both; the run's summary is the merge of the single runs' (save timings)
    const one = path.join(tmp, 'one.json');
    const two = path.join(tmp, 'two.json');
    fs.writeFileSync(one, JSON.stringify(json(['replay', pk, '--pktmon-component', 'cbr0_ep'])));
    fs.writeFileSync(two, JSON.stringify(json(['replay', other, '--pktmon-component', 'cbr0_ep'])));
    for (const w of ['1', '2']) {
      const both = json(['replay', pk, other, '--pktmon-component', 'cbr0_ep', '--workers', w]);
      assert.equal(both.fingerprint.pktmon_component, 'vmswitch.sys');
      assert.equal(untimed(both), untimed(json(['merge', one, two])), `--workers ${w}`);
    }
    // a damaged first trace resolves nothing: the fingerprint is the component the next trace resolved `2` to, not '2'
    const first = json(['replay', damaged, pk, '--pktmon-component', '2'], 2);
    assert.equal(first.fingerprint.pktmon_component, 'vmswitch.sys');
    assert.equal(first.packets, json(['replay', pk, '--pktmon-component', '2']).packets);
    // interface 0 is another component on each node: merge refuses the single runs; the run names the trace and leaves it out
    fs.writeFileSync(one, JSON.stringify(json(['replay', pk, '--pktmon-component', '0'])));
    fs.writeFileSync(two, JSON.stringify(json(['replay', other, '--pktmon-component', '0'])));
    const m = run(['merge', one, two]);
    assert.equal(m.status, 2);
    assert.match(m.stderr, /fingerprint\.pktmon_component/);
    // A = this node, B and C = node-b's capture twice: no group is favoured (not the first trace's, not the
    // most traces'): every group is named, none is in the totals, exit 2; --fail-on names no packet of them
    const third = path.join(tmp, 'node-c.pcapng');
    fs.copyFileSync(other, third);
    const r = run(['replay', pk, other, third, ...cluster, '--summary', 'json', '--pktmon-component', '0', '--fail-on', 'dropped']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /fingerprint\.pktmon_component differs between the traces: "Microsoft Hyper-V Network Adapter #2" in [^;]*lesson-pktmon\.pcapng; "vmswitch\.sys" in [^;]*node-b\.pcapng, [^;]*node-c\.pcapng: .*none is added to the totals/);
    assert.doesNotMatch(r.stderr, /first match/);
    const mixed = JSON.parse(r.stdout);
    assert.equal(mixed.fingerprint.pktmon_component, '0');
    assert.equal(mixed.packets, 0);
    assert.deepEqual(mixed.traces.map((t: Record<string, unknown>) => [t.packets, typeof t.error]), [[0, 'string'], [0, 'string'], [0, 'string']]);
    // the order of the traces changes nothing but the order of the groups
    const back = run(['replay', third, other, pk, ...cluster, '--summary', 'json', '--pktmon-component', '0']);
    assert.equal(back.status, 2, back.stderr);
    assert.match(back.stderr, /"vmswitch\.sys" in [^;]*node-c\.pcapng, [^;]*node-b\.pcapng; "Microsoft Hyper-V Network Adapter #2" in [^;]*lesson-pktmon\.pcapng: /);
    assert.equal(JSON.parse(back.stdout).packets, 0);
  });

  it('without a DropReason comment (etl2pcapng writes none) the reason is shown as absent', function () {
    const f = path.join(tmp, 'no-comments.pcapng');
    fs.writeFileSync(f, pktmonCapture(fs.readFileSync(lesson), { drops }));
    const r = run(['replay', f, ...cluster, '--summary', 'json', '--workers', '1']);
    const d = JSON.parse(r.stdout).pktmon.drops;
    assert.equal(d.list[0].pktmon_reason, null);
    assert.equal(d.agree, 1);
  });

  it('--pktmon-component judges at the named component (the vSwitch): copies before it have copy_of null', function () {
    const v = path.join(tmp, 'vs.jsonl');
    const r = run(['replay', pk, ...cluster, '--verdicts', v, '--summary', 'json', '--workers', '1', '--pktmon-component', 'vmswitch.sys']);
    assert.equal(r.status, 0, r.stderr);
    const recs = records(v);
    const judged = recs.filter((x) => x.copy_of === undefined);
    assert.equal(judged.length, plain.length - 0, 'every packet passes the vSwitch');
    assert.ok(recs.some((x) => x.copy_of === null));
    const s = JSON.parse(r.stdout);
    assert.equal(s.pktmon.view, 'vmswitch.sys');
    assert.ok(s.pktmon.copies_unlinked > 0);
  });

  it('the explain commands replay prints under --pktmon-component carry it, and walk the judged packet', function () {
    const r = run(['replay', pk, ...cluster, '--workers', '1', '--pktmon-component', 'vmswitch.sys', '--fail-on', 'dropped']);
    assert.equal(r.status, 1, r.stderr);
    const m = /step by step: .* explain .* --pktmon-component vmswitch\.sys --packet (\d+)$/m.exec(r.stderr);
    assert.ok(m !== null, r.stderr);
    assert.match(r.stdout, /explain: .* --pktmon-component vmswitch\.sys --packet \d+/);
    const e = run(['explain', pk, ...cluster, '--pktmon-component', 'vmswitch.sys', '--packet', m[1]]);
    assert.equal(e.status, 0, e.stderr);
    assert.match(e.stdout, /Verdict: dropped/);
    assert.doesNotMatch(e.stdout, /pktmon-copy/);
  });

  it('--pktmon-component is in the summary fingerprint: merge refuses summaries judged at another component', function () {
    const plainSum = path.join(tmp, 'fp-first.json');
    const vsSum = path.join(tmp, 'fp-vs.json');
    fs.writeFileSync(plainSum, run(['replay', pk, ...cluster, '--summary', 'json', '--workers', '1']).stdout);
    fs.writeFileSync(vsSum, run(['replay', pk, ...cluster, '--summary', 'json', '--workers', '1', '--pktmon-component', 'vmswitch.sys']).stdout);
    assert.equal(JSON.parse(fs.readFileSync(plainSum, 'utf8')).fingerprint.pktmon_component, undefined, 'absent without the flag');
    assert.equal(JSON.parse(fs.readFileSync(vsSum, 'utf8')).fingerprint.pktmon_component, 'vmswitch.sys');
    const m = run(['merge', plainSum, vsSum]);
    assert.equal(m.status, 2, m.stderr);
    assert.match(m.stderr, /fp-vs\.json.*fingerprint\.pktmon_component.*"vmswitch\.sys", but .*fp-first\.json has absent: .*pktmon component/);
    const same = run(['merge', vsSum, vsSum]);
    assert.equal(same.status, 0, same.stderr);
    assert.equal(JSON.parse(same.stdout).fingerprint.pktmon_component, 'vmswitch.sys');
    // the component the flag resolves to is stored, not the flag's text: its index merges with its name
    const bySum = path.join(tmp, 'fp-index.json');
    const byIndex = run(['replay', pk, ...cluster, '--summary', 'json', '--workers', '1', '--pktmon-component', '2']);
    assert.equal(byIndex.status, 0, byIndex.stderr);
    fs.writeFileSync(bySum, byIndex.stdout);
    assert.equal(JSON.parse(byIndex.stdout).fingerprint.pktmon_component, 'vmswitch.sys');
    assert.equal(run(['merge', vsSum, bySum]).status, 0);
    // index 0 names another component than index 2: refused, by the names
    const zero = path.join(tmp, 'fp-zero.json');
    fs.writeFileSync(zero, run(['replay', pk, ...cluster, '--summary', 'json', '--workers', '1', '--pktmon-component', '0']).stdout);
    const z = run(['merge', bySum, zero]);
    assert.equal(z.status, 2, z.stderr);
    assert.match(z.stderr, /fingerprint\.pktmon_component.*"Microsoft Hyper-V Network Adapter #2".*"vmswitch\.sys"/);
    // a hand-edited value of another type is refused by name
    const bad = JSON.parse(fs.readFileSync(vsSum, 'utf8'));
    bad.fingerprint.pktmon_component = 7;
    fs.writeFileSync(vsSum, JSON.stringify(bad));
    const b = run(['merge', vsSum]);
    assert.equal(b.status, 2);
    assert.match(b.stderr, /fingerprint\.pktmon_component/);
  });

  it('--pktmon-component from stdin or a FIFO: the fingerprint holds the component it resolved to, as the same file gives, and merge takes them together', function () {
    const fileRun = (flag: string, w: string): Record<string, any> => {
      const r = run(['replay', pk, ...cluster, '--summary', 'json', '--workers', w, '--pktmon-component', flag]);
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout);
    };
    // the same summary but for the trace's name (the path where it is named) and the timings
    const sameBut = (s: Record<string, any>, name: string): string => {
      const q = JSON.stringify(name).slice(1, -1);
      return JSON.stringify({ ...s, elapsed_s: 0, pps: 0 })
        .split(`"trace":"${q}"`).join('"trace":"T"')
        .split(`"source":"${name === '-' ? 'stdin' : q}"`).join('"source":"T"')
        .split(` explain ${q} `).join(' explain T ');
    };
    // by index, by if_description, by if_name; --workers 2 reads on the split worker (with --verdicts on this thread)
    const shapes = [['--workers', '2'], ['--workers', '2', '--verdicts', path.join(tmp, 'in.jsonl')], ['--workers', '3']];
    for (const [flag, resolved] of [['2', 'vmswitch.sys'], ['cbr0_ep', 'vmswitch.sys'], ['0', 'Microsoft Hyper-V Network Adapter #2']]) {
      const file = fileRun(flag, '1');
      assert.equal(file.fingerprint.pktmon_component, resolved);
      for (const extra of [['--workers', '1'], ...(flag === '2' ? shapes : [])]) {
        const p = spawnSync(process.execPath, [cli, 'replay', '-', ...cluster, '--summary', 'json', '--pktmon-component', flag, ...extra], { input: fs.readFileSync(pk), encoding: 'utf8' });
        assert.equal(p.status, 0, p.stderr);
        const s = JSON.parse(p.stdout);
        assert.equal(s.fingerprint.pktmon_component, resolved, `stdin ${flag} ${extra.join(' ')}: the resolved component, not the flag's text`);
        assert.deepEqual(s.pktmon.components, file.pktmon.components, 'the components by name, not "interface N"');
        assert.equal(sameBut(s, '-'), sameBut(file, pk), `stdin ${flag} ${extra.join(' ')}`);
      }
    }
    const fileSum = path.join(tmp, 'fp-file2.json');
    const stdinSum = path.join(tmp, 'fp-stdin2.json');
    fs.writeFileSync(fileSum, JSON.stringify(fileRun('vmswitch.sys', '1')));
    fs.writeFileSync(stdinSum, spawnSync(process.execPath, [cli, 'replay', '-', ...cluster, '--summary', 'json', '--pktmon-component', '2'], { input: fs.readFileSync(pk), encoding: 'utf8' }).stdout);
    const m = run(['merge', fileSum, stdinSum]);
    assert.equal(m.status, 0, m.stderr);
    assert.equal(JSON.parse(m.stdout).fingerprint.pktmon_component, 'vmswitch.sys');
    // a FIFO (mkfifo; `<(...)` is one): read once, as stdin
    const fifo = path.join(tmp, 'pk.fifo');
    if (spawnSync('mkfifo', [fifo]).status !== 0) return;
    const writer = spawn('sh', ['-c', 'cat "$1" > "$2"', 'sh', pk, fifo]);
    const f = run(['replay', fifo, ...cluster, '--summary', 'json', '--pktmon-component', '2']);
    writer.kill();
    assert.equal(f.status, 0, f.stderr);
    assert.equal(JSON.parse(f.stdout).fingerprint.pktmon_component, 'vmswitch.sys');
    assert.equal(sameBut(JSON.parse(f.stdout), fifo), sameBut(fileRun('2', '1'), pk));
  });

  it('--pktmon-component naming no component, with interface blocks after the first packet: a file is refused before any packet is judged, stdin at the end of the trace', function () {
    const late = path.join(tmp, 'late.pcapng');
    const bytes = pktmonCapture(fs.readFileSync(lesson), { drops, lateIdbs: true });
    fs.writeFileSync(late, bytes);
    const ok = run(['replay', late, ...cluster, '--workers', '1', '--summary', 'json', '--pktmon-component', 'Microsoft Hyper-V Network Adapter #2']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.ok(JSON.parse(ok.stdout).pktmon.packets > 0);
    const comps = /its components: 0 Microsoft Hyper-V Network Adapter .*1 vmswitch\.sys .*2 Microsoft Hyper-V Network Adapter #2/;
    for (const w of ['1', '2']) {
      const v = path.join(tmp, `late-${w}.jsonl`);
      const r = run(['replay', late, ...cluster, '--workers', w, '--pktmon-component', 'vmswitch.syss', '--verdicts', v]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /--pktmon-component vmswitch\.syss: no component .*every interface block read before any packet was judged/);
      assert.match(r.stderr, comps);
      assert.equal(fs.readFileSync(v, 'utf8'), '', 'no packet judged, no verdict written');
      const p = spawnSync(process.execPath, [cli, 'replay', '-', ...cluster, '--workers', w, '--pktmon-component', 'vmswitch.syss'], { input: bytes, encoding: 'utf8' });
      assert.equal(p.status, 2, p.stderr);
      assert.match(p.stderr, /--pktmon-component vmswitch\.syss: no component .*every interface block read, to the end of the trace/);
      assert.match(p.stderr, comps);
    }
    // explain stops at its packet, but reads on for the component before it walks a packet judged nowhere
    const e = run(['explain', late, ...cluster, '--pktmon-component', 'vmswitch.syss', '--packet', '1']);
    assert.equal(e.status, 2, e.stdout);
    assert.match(e.stderr, /--pktmon-component vmswitch\.syss: no component .*before any packet was judged/);
    const good = run(['explain', late, ...cluster, '--pktmon-component', 'Microsoft Hyper-V Network Adapter #2', '--packet', '3']);
    assert.equal(good.status, 0, good.stderr);
    assert.doesNotMatch(good.stdout, /pktmon-copy/);
  });

  it('--pktmon-component naming no component, or given for a capture that is not pktmon\'s, is exit 2 naming the flag', function () {
    for (const w of ['1', '3']) {
      const r = run(['replay', pk, ...cluster, '--workers', w, '--pktmon-component', 'vmswitch.syss']);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /--pktmon-component vmswitch\.syss: no component .*its components: 0 .*vmswitch\.sys/);
      const p = run(['replay', lesson, ...cluster, '--workers', w, '--pktmon-component', '0']);
      assert.equal(p.status, 2, p.stderr);
      assert.match(p.stderr, /--pktmon-component 0: the capture has no pktmon packet ids .*pktmon etl2pcap' writes no packet ids/);
    }
  });

  it('a capture as pktmon\'s own converter writes it (no packet ids: every appearance a packet) gets a pktmon-duplicates warning', function () {
    const f = path.join(tmp, 'builtin.pcapng');
    fs.writeFileSync(f, pktmonCapture(fs.readFileSync(lesson), { drops, builtin: true }));
    const r = run(['replay', f, ...cluster, '--summary', 'json', '--workers', '1']);
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.equal(s.pktmon, undefined, 'not a pktmon capture: no packet ids');
    assert.equal(s.packets, 3 * plain.length - 1);
    const d = s.diagnostics.find((x: { code: string }) => x.code === 'pktmon-duplicates');
    assert.ok(d !== undefined, JSON.stringify(s.diagnostics.map((x: { code: string }) => x.code)));
    assert.match(d.message, new RegExp(`^${2 * plain.length - 1} of the first ${3 * plain.length - 1} packets repeat the packet before byte for byte: .*pktmon etl2pcap --component-id N`));
    assert.equal(d.severity, 'warning');
    // the text summary shows it; the plain trace has no such warning
    assert.match(run(['replay', f, ...cluster, '--workers', '2']).stdout, /pktmon-duplicates/);
    const p = JSON.parse(run(['replay', lesson, ...cluster, '--summary', 'json', '--workers', '1']).stdout);
    assert.ok(!p.diagnostics.some((x: { code: string }) => x.code === 'pktmon-duplicates'));
  });

  it('a tiny ordinary capture with one packet repeated (3 packets) gets no pktmon-duplicates warning', function () {
    // classic pcap, Ethernet: a UDP packet, the same again (a retransmission), another one
    const frame = (sport: number): Buffer => {
      const f = Buffer.alloc(42);
      Buffer.from('02000000000102000000000208004500001c00004000401100000a0000010a000002', 'hex').copy(f, 0);
      f.writeUInt16BE(sport, 34);
      f.writeUInt16BE(53, 36);
      f.writeUInt16BE(8, 38);
      return f;
    };
    const f = path.join(tmp, 'tiny.pcap');
    fs.writeFileSync(f, pcapBytes(1, 65535, [[1, frame(1000)], [2, frame(1000)], [3, frame(1001)]]));
    const r = run(['replay', f, ...cluster, '--summary', 'json', '--workers', '1']);
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.equal(s.packets, 3);
    assert.ok(!s.diagnostics.some((x: { code: string }) => x.code === 'pktmon-duplicates'), JSON.stringify(s.diagnostics));
  });

  it('gives the same bytes for --workers 1..4', function () {
    let first: string | null = null;
    for (const w of [1, 2, 3, 4]) {
      const v = path.join(tmp, `w${w}.jsonl`);
      const o = path.join(tmp, `w${w}.pcapng`);
      const r = run(['replay', pk, ...cluster, '--verdicts', v, '--out', o, '--summary', 'json', '--workers', String(w)]);
      assert.equal(r.status, 0, r.stderr);
      const s = JSON.parse(r.stdout);
      delete s.elapsed_s;
      delete s.pps;
      const all = fs.readFileSync(v, 'utf8') + fs.readFileSync(o).toString('hex') + JSON.stringify(s);
      if (first === null) first = all;
      else assert.equal(all, first, `--workers ${w}`);
    }
    // no --verdicts: the split's worker reads (and marks) the capture itself
    const sums = [1, 2, 3].map((w) => {
      const s = JSON.parse(run(['replay', pk, ...cluster, '--summary', 'json', '--workers', String(w)]).stdout);
      return JSON.stringify([s.verdicts, s.reasons, s.pktmon]);
    });
    assert.equal(sums[1], sums[0]);
    assert.equal(sums[2], sums[0]);
  });

  it('a damaged pktmon capture is exit 2 naming the byte offset (packets before it counted)', function () {
    const bytes = fs.readFileSync(pk);
    const cut = path.join(tmp, 'cut.pcapng');
    fs.writeFileSync(cut, bytes.subarray(0, bytes.length - 37));
    const r = run(['replay', cut, ...cluster, '--summary', 'json', '--workers', '1']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /cut\.pcapng.*byte offset \d+/);
    const s = JSON.parse(r.stdout);
    assert.ok(s.pktmon.packets > 0);
  });

  it('an epb_packetid of another length than 8 is exit 2 naming the option and its byte offset', function () {
    const bytes = Buffer.from(fs.readFileSync(pk));
    // the first EPB's epb_packetid: option code 5, length 8, after epb_flags
    let at = -1;
    for (let k = 0; k + 4 <= bytes.length; k += 4) {
      if (bytes.readUInt16LE(k) === 5 && bytes.readUInt16LE(k + 2) === 8 && bytes.readUInt16LE(k - 8) === 2) {
        at = k;
        break;
      }
    }
    assert.ok(at > 0);
    bytes.writeUInt16LE(4, at + 2);
    const bad = path.join(tmp, 'bad-id.pcapng');
    fs.writeFileSync(bad, bytes);
    const r = run(['replay', bad, ...cluster, '--workers', '1']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, new RegExp(`bad-id\\.pcapng.*byte offset ${at}.*epb_packetid\\) length 4, must be 8`));
  });

  it('the generator\'s command line writes the same file (gen/cli.js pktmon)', function () {
    const out = path.join(tmp, 'gen.pcapng');
    const g = spawnSync(process.execPath, [path.join(repo, 'dist', 'src', 'gen', 'cli.js'), 'pktmon', lesson, out, '--drop', '2@134=8', '--drop', '3@2=23', '--drop-comments'], { encoding: 'utf8' });
    assert.equal(g.status, 0, g.stderr);
    assert.ok(fs.readFileSync(out).equals(fs.readFileSync(pk)));
    // the reason by name, as its usage line says (REASON), gives the same file
    const named = path.join(tmp, 'gen-named.pcapng');
    const n = spawnSync(process.execPath, [path.join(repo, 'dist', 'src', 'gen', 'cli.js'), 'pktmon', lesson, named, '--drop', '2@134=Filtered', '--drop', '3@2=mtu mismatch', '--drop-comments'], { encoding: 'utf8' });
    assert.equal(n.status, 0, n.stderr);
    assert.ok(fs.readFileSync(named).equals(fs.readFileSync(pk)));
    const unknown = spawnSync(process.execPath, [path.join(repo, 'dist', 'src', 'gen', 'cli.js'), 'pktmon', lesson, named, '--drop', '2@134=Filterd'], { encoding: 'utf8' });
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /--drop: give N@COMPONENT=REASON .*'2@134=Filterd'/);
    const bad = spawnSync(process.execPath, [path.join(repo, 'dist', 'src', 'gen', 'cli.js'), 'pktmon', lesson, out, '--drop', '2'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--drop: give N@COMPONENT=REASON/);
  });

  it('tshark reads the generated file: interface names, packet ids, drop verdicts and comments', function () {
    if (spawnSync('tshark', ['-v']).status !== 0) {
      this.skip(); // tshark absent: install it (.ci/run does) to run this check
    }
    const r = spawnSync('tshark', ['-r', pk, '-T', 'fields', '-e', 'frame.interface_name', '-e', 'frame.packet_id', '-e', 'frame.verdict.ebpf_xdp', '-e', 'frame.comment'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout.trim().split('\n').map((l) => l.split('\t'));
    assert.equal(rows.length, 3 * plain.length - 1);
    assert.deepEqual(rows[0].slice(0, 2), ['Microsoft Hyper-V Network Adapter', String(0x2a00)]);
    assert.deepEqual(rows[1].slice(0, 2), ['vmswitch.sys', String(0x2a00)]);
    const drop = rows.filter((x) => x[2] === '1');
    assert.equal(drop.length, 2);
    assert.match(drop[0][3], /DropReason Filtered/);
    // the generator's NAT at the NIC and IDBs after packets: tshark reads the names by first use, the NIC's
    // source address and a good IPv4 header checksum
    const late = path.join(tmp, 'late-nat.pcapng');
    fs.writeFileSync(late, pktmonCapture(fs.readFileSync(lesson), { drops, natAt: 2, lateIdbs: true }));
    const t = spawnSync('tshark', ['-r', late, '-o', 'ip.check_checksum:TRUE', '-T', 'fields', '-e', 'frame.interface_id', '-e', 'frame.interface_name', '-e', 'ip.src', '-e', 'ip.checksum.status'], { encoding: 'utf8' });
    assert.equal(t.status, 0, t.stderr);
    const lr = t.stdout.trim().split('\n').map((l) => l.split('\t'));
    assert.equal(lr.length, rows.length);
    assert.deepEqual(lr.slice(0, 3).map((x) => x.slice(0, 2)), [['0', 'Microsoft Hyper-V Network Adapter'], ['1', 'vmswitch.sys'], ['2', 'Microsoft Hyper-V Network Adapter #2']]);
    const atNic = lr.filter((x) => x[1].endsWith('#2') && x[2] !== '');
    assert.ok(atNic.length > 0 && atNic.every((x) => x[2] === '10.127.130.11' && x[3] === '1'), JSON.stringify(atNic.slice(0, 3)));
  });
});

/**
 * `vfp-emu replay`, `explain` and `rules` as a user runs them: the embedded default, the outputs the
 * contract names, exit statuses, and a bad trace that still gets everything before the fault judged.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Batch } from '../src/core/batch';
import { openCapture } from '../src/io/reader';
import { pcapBytes } from './io-helpers';

const repo = path.resolve(__dirname, '..', '..');
const cli = path.join(repo, 'dist', 'src', 'cli.js');
const lesson = path.join(repo, 'traces', '04-icmp-lesson');
const lessonCluster = ['kubectl.json', 'cni.conf', 'net-conf.json'].flatMap((f) => ['--cluster', path.join(repo, 'traces', '_clusters', 'l2bridge', f)]);

function run(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('vfp-emu replay (command line)', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-replay-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('with no TRACE runs the ICMP lesson, says why ping fails, and writes vfp-out/', () => {
    const r = run(['replay'], tmp);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /icmp-not-transposed \(2\): VFP does not transpose ICMP/);
    assert.match(r.stdout, /no-return 1, dropped 1/);
    // one line per packet: the ping leaves un-NATed, curl's SYN leaves as the node
    assert.match(r.stdout, /^ +1 +ping 10\.244\.1\.5 > 203\.0\.113\.10 +no-return +icmp-not-transposed$/m);
    assert.match(r.stdout, /^ +3 +tcp 10\.244\.1\.5:49800 > 203\.0\.113\.10:80 +forwarded +10\.127\.130\.11:\d+ > 203\.0\.113\.10:80$/m);
    assert.match(r.stdout, /step by step: node \S*cli\.js explain .*--packet 1/); // as this CLI was started (src/report/command.ts)
    for (const f of ['verdicts.jsonl', 'out.pcapng', 'report.txt']) assert.ok(fs.existsSync(path.join(tmp, 'vfp-out', f)), f);
    const lines = fs.readFileSync(path.join(tmp, 'vfp-out', 'verdicts.jsonl'), 'utf8').trim().split('\n');
    assert.equal(lines.length, 10);
    const first = JSON.parse(lines[0]);
    assert.deepEqual(Object.keys(first), ['packet', 'verdict', 'reason', 'warnings', 'node', 'ingress', 'egress', 'flow', 'out', 'service', 'backend']);
    assert.equal(first.verdict, 'no-return');
  });

  it('with no TRACE and --out/--verdicts/--report: the outputs line names the files written, escaped (it always said vfp-out/...)', () => {
    const r = run(['replay', '--out', 'mine.pcapng'], tmp);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^outputs: vfp-out\/verdicts\.jsonl, mine\.pcapng, vfp-out\/report\.txt$/m);
    assert.ok(fs.existsSync(path.join(tmp, 'mine.pcapng')));
    assert.ok(!fs.existsSync(path.join(tmp, 'vfp-out', 'out.pcapng')));
    const odd = 'v\u001b[2J\u202e.jsonl';
    const r2 = run(['replay', '--verdicts', odd, '--out', 'o.pcapng', '--report', 'r.txt'], tmp);
    assert.equal(r2.status, 0, r2.stderr);
    assert.match(r2.stdout, /^outputs: v\\033\[2J\\u202E\.jsonl, o\.pcapng, r\.txt$/m);
    assert.ok(fs.existsSync(path.join(tmp, odd)));
  });

  it('--summary json: verdict counts add up to the packets, reasons and diagnostics are listed', () => {
    const r = run(['replay', path.join(lesson, 'trace.pcapng'), ...lessonCluster, '--summary', 'json'], tmp);
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.equal(s.packets, 10);
    const total = Object.values(s.verdicts as Record<string, number>).reduce((a, b) => a + b, 0);
    assert.equal(total, 10);
    assert.equal(s.reasons['icmp-not-transposed'], 2);
    assert.ok(Array.isArray(s.diagnostics));
    assert.ok(s.pps > 0 && s.elapsed_s >= 0);
  });

  it('--summary json: two cluster files that disagree leave a config-override diagnostic (the later file wins)', () => {
    const overlayCni = path.join(repo, 'traces', '_clusters', 'overlay', 'cni.conf');
    const r = run(['replay', path.join(lesson, 'trace.pcapng'), ...lessonCluster, '--cluster', overlayCni, '--summary', 'json'], tmp);
    assert.equal(r.status, 0, r.stderr);
    const d = (JSON.parse(r.stdout).diagnostics as { code: string; message: string; source: string }[]).filter((x) => x.code === 'config-override');
    assert.ok(d.some((x) => x.source === `${overlayCni}:delegate.type` && /network\.mode: .* sets overlay, replacing l2bridge/.test(x.message)), JSON.stringify(d));
  });

  it('--out: one interface per egress point, a comment per packet, drops marked as etl2pcapng does', () => {
    const out = path.join(tmp, 'out.pcapng');
    const r = run(['replay', path.join(lesson, 'trace.pcapng'), ...lessonCluster, '--out', out], tmp);
    assert.equal(r.status, 0, r.stderr);
    const rd = openCapture(out);
    const b = new Batch();
    const n = rd.next(b);
    assert.equal(n, 10);
    const names = rd.interfaces.map((f) => f.name);
    assert.ok(names.includes('win-1 wire'), names.join(','));
    assert.ok(names.includes('win-1 drop'));
    assert.ok(names.includes('win-1 pod/default/client-0'));
    // packet 2 is the echo reply the node drops
    const o2 = b.options.get(1);
    assert.match(o2?.comments?.[0] ?? '', /^packet 2: dropped icmp-not-transposed: /);
    assert.deepEqual([...(o2?.verdicts?.[0] ?? [])], [2, 1, 0, 0, 0, 0, 0, 0, 0], 'epb_verdict type 2 (XDP) with its u64 value 1');
    assert.equal(rd.interfaces[b.iface[1]].name, 'win-1 drop');
    // packet 3 leaves SNATed: source IP 10.127.130.11 at bytes 26..29 of the Ethernet frame
    const p3 = b.packet(2);
    assert.deepEqual([...p3.subarray(26, 30)], [10, 127, 130, 11]);
    assert.equal(b.options.get(2)?.flags, 2); // outbound
  });

  it('--out: tshark reads every packet, with its comment, and shows the drops as frame.verdict', function () {
    if (spawnSync('tshark', ['-v'], { encoding: 'utf8' }).status !== 0) this.skip(); // tshark is not installed
    const out = path.join(tmp, 'out.pcapng');
    assert.equal(run(['replay', path.join(lesson, 'trace.pcapng'), ...lessonCluster, '--out', out], tmp).status, 0);
    const t = spawnSync('tshark', ['-r', out, '-T', 'fields', '-e', 'frame.number', '-e', 'frame.verdict.ebpf_xdp', '-e', 'frame.comment'], { encoding: 'utf8' });
    assert.equal(t.status, 0, t.stderr);
    const rows = t.stdout.trimEnd().split('\n').map((l) => l.split('\t'));
    assert.equal(rows.length, 10, t.stdout);
    rows.forEach(([n, , comment]) => assert.ok(comment.startsWith(`packet ${n}: `), comment));
    assert.deepEqual(rows.filter((r) => r[1] !== '').map((r) => [r[0], r[1]]), [['2', '1']], 'packet 2, the dropped echo reply, and only it');
  });

  it('--out from a Linux cooked capture (tcpdump -i any): IP packets leave as Ethernet frames, an ignored ARP keeps its link type', () => {
    // a classic pcap, LINKTYPE_LINUX_SLL (113): an ARP, then the lesson's ping (packet 1) with a cooked header
    const lessonFrame = (() => {
      const rd = openCapture(path.join(lesson, 'trace.pcapng'));
      const b = new Batch();
      rd.next(b);
      rd.close();
      return b.packet(0).slice();
    })();
    const cooked = (etherType: number, l3: Uint8Array) => Buffer.from([0, 4, 0, 1, 0, 6, 2, 0, 10, 244, 1, 5, 0, 0, etherType >> 8, etherType & 0xff, ...l3]);
    const arp = cooked(0x0806, Uint8Array.from([0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 10, 244, 1, 5, 10, 244, 1, 5, 0, 0, 0, 0, 0, 0, 10, 244, 1, 1]));
    const ping = cooked(0x0800, lessonFrame.subarray(14));
    const trace = path.join(tmp, 'cooked.pcap');
    fs.writeFileSync(trace, pcapBytes(113, 262144, [[1767225600, arp], [1767225601, ping]]));
    const out = path.join(tmp, 'out.pcapng');
    const r = run(['replay', trace, ...lessonCluster, '--out', out, '--summary', 'json'], tmp);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).verdicts, { delivered: 0, forwarded: 0, 'no-return': 1, dropped: 0, ignored: 1 });
    const rd = openCapture(out);
    const b = new Batch();
    assert.equal(rd.next(b), 2);
    const iface = (i: number) => rd.interfaces[b.iface[i]];
    assert.deepEqual([iface(0).name, iface(0).linkType], ['not emulated (link type 113)', 113]);
    assert.deepEqual([iface(1).name, iface(1).linkType], ['win-1 wire', 1]);
    assert.deepEqual([...b.packet(0)], [...arp], 'the ARP as captured');
    assert.equal(b.packet(1)[12] * 256 + b.packet(1)[13], 0x0800, 'the ping as an Ethernet frame');
    assert.deepEqual([...b.packet(1).subarray(14)], [...lessonFrame.subarray(14)], 'its IP packet unchanged (no NAT for ICMP)');
    rd.close();
    if (spawnSync('tshark', ['-v']).status === 0) {
      const t = spawnSync('tshark', ['-r', out, '-T', 'fields', '-e', 'frame.protocols'], { encoding: 'utf8' });
      assert.deepEqual(t.stdout.trim().split('\n'), ['sll:ethertype:arp', 'eth:ethertype:ip:icmp:data']);
    }
  });

  it('--fail-on: exit 1 when a packet has that reason or verdict, 0 otherwise', () => {
    const base = ['replay', path.join(lesson, 'trace.pcapng'), ...lessonCluster, '--summary', 'json'];
    assert.equal(run([...base, '--fail-on', 'icmp-not-transposed'], tmp).status, 1);
    assert.equal(run([...base, '--fail-on', 'dropped'], tmp).status, 1);
    assert.equal(run([...base, '--fail-on', 'snat-ports-exhausted'], tmp).status, 0);
    const bad = run([...base, '--fail-on', 'nonsense'], tmp);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--fail-on nonsense/);
  });

  it('a trace cut inside packet 5: packets 1-4 are judged and written, the error names the file and offset, exit 2', () => {
    const whole = fs.readFileSync(path.join(lesson, 'trace.pcapng'));
    // find the start of the 5th EPB (block type 6) and cut 20 bytes into it
    let off = 0;
    let epb = 0;
    let cut = -1;
    while (off < whole.length) {
      const type = whole.readUInt32LE(off);
      const len = whole.readUInt32LE(off + 4);
      if (type === 6 && ++epb === 5) {
        cut = off;
        break;
      }
      off += len;
    }
    assert.ok(cut > 0);
    const trace = path.join(tmp, 'cut.pcapng');
    fs.writeFileSync(trace, whole.subarray(0, cut + 20));
    const verdicts = path.join(tmp, 'v.jsonl');
    const r = run(['replay', trace, ...lessonCluster, '--verdicts', verdicts, '--summary', 'json'], tmp);
    assert.equal(r.status, 2);
    assert.ok(r.stderr.includes(trace), r.stderr);
    assert.ok(r.stderr.includes(`byte offset ${cut}`), r.stderr);
    assert.equal(fs.readFileSync(verdicts, 'utf8').trim().split('\n').length, 4);
    assert.equal(JSON.parse(r.stdout).packets, 4);
    // the same with one thread and with two, where the worker reads (no --verdicts): the same output
    const outs: Buffer[] = [];
    for (const workers of ['1', '2']) {
      const out = path.join(tmp, `cut-${workers}.pcapng`);
      const w = run(['replay', trace, ...lessonCluster, '--out', out, '--workers', workers, '--summary', 'json'], tmp);
      assert.equal(w.status, 2, `--workers ${workers}`);
      assert.ok(w.stderr.includes(`byte offset ${cut}`), w.stderr);
      assert.equal(JSON.parse(w.stdout).packets, 4, `--workers ${workers}`);
      outs.push(fs.readFileSync(out));
    }
    assert.ok(outs[0].equals(outs[1]), 'the output pcapng of the 4 packets is the same with two workers');
  });

  it('a file that is no capture: exit 2 naming it, and no output file is created, with one or two workers', () => {
    const trace = path.join(tmp, 'not-a-capture.pcap');
    fs.writeFileSync(trace, 'GET / HTTP/1.1\r\n\r\n');
    for (const workers of ['1', '2']) {
      for (const flags of [['--out'], ['--out', '--verdicts']]) {
        const files = flags.map((f) => path.join(tmp, `never-${workers}${f}`));
        const args = flags.flatMap((f, k) => [f, files[k]]);
        const r = run(['replay', trace, ...lessonCluster, ...args, '--workers', workers], tmp);
        assert.equal(r.status, 2, `${flags.join(' ')} --workers ${workers}`);
        assert.match(r.stderr, /not-a-capture\.pcap at byte offset 0: not a pcap or pcapng file/);
        for (const f of files) assert.ok(!fs.existsSync(f), `${f} was created`);
      }
    }
  });

  it('an output that cannot be written (a full disk) exits 2 naming the file, with one or two workers', function () {
    if (!fs.existsSync('/dev/full')) this.skip(); // Linux: every write to /dev/full fails with ENOSPC
    for (const [flag, workers] of [['--verdicts', '1'], ['--out', '1'], ['--verdicts', '2'], ['--out', '2']]) {
      const r = run(['replay', path.join(lesson, 'trace.pcapng'), ...lessonCluster, flag, '/dev/full', '--workers', workers, '--summary', 'json'], tmp);
      assert.equal(r.status, 2, `${flag} --workers ${workers}: ${r.stderr}`);
      assert.equal(r.stderr, 'vfp-emu: /dev/full: cannot write it (ENOSPC)\n', `${flag} --workers ${workers}`);
    }
  });

  it('bad usage and bad cluster input exit 2 with a message naming the flag or the file and field', () => {
    const u = run(['replay', '--workers', 'zero'], tmp);
    assert.equal(u.status, 2);
    assert.match(u.stderr, /--workers must be an integer/);
    const cfg = path.join(tmp, 'bad.yaml');
    fs.writeFileSync(cfg, 'apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {clusterIP: 10.96.0.9, ports: [{port: notaport}]}\n');
    const c = run(['replay', path.join(lesson, 'trace.pcapng'), '--cluster', cfg], tmp);
    assert.equal(c.status, 2);
    assert.ok(c.stderr.includes(cfg), c.stderr);
    assert.match(c.stderr, /spec\.ports\[0\]\.port/);
  });

  it('explain walks packet 1 of the lesson through the layers and ends with the final packet and the verdict', () => {
    const r = run(['explain', path.join(lesson, 'trace.pcapng'), ...lessonCluster, '--packet', '1'], tmp);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /SLB_NAT_LAYER/);
    assert.match(r.stdout, /Final packet:/);
    assert.match(r.stdout, /icmp-not-transposed/);
  });

  it('rules ends with the config diagnostics: a second cni.conf that changes the network mode is named', () => {
    const overlayCni = path.join(repo, 'traces', '_clusters', 'overlay', 'cni.conf');
    const r = run(['rules', ...lessonCluster, '--cluster', overlayCni, '--node', 'win-1'], tmp);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stdout.includes('\n\nCONFIG DIAGNOSTICS\n') && !r.stdout.includes('\n\n\nCONFIG'), 'one blank line before the CONFIG DIAGNOSTICS section');
    const tail = r.stdout.slice(r.stdout.indexOf('\nCONFIG DIAGNOSTICS\n'));
    assert.ok(tail.includes(`config-override [${overlayCni}:delegate.type]: cluster.network.mode: ${overlayCni}:delegate.type sets overlay, replacing l2bridge`), tail);
    // The lesson cluster alone has no problem: its section lists only the facts no input states (config-assumed).
    const alone = run(['rules', ...lessonCluster], tmp).stdout;
    const section = alone.slice(alone.indexOf('\nCONFIG DIAGNOSTICS\n') + 1).trim().split('\n').slice(1);
    assert.ok(section.length > 0 && section.every((l) => l.startsWith('  config-assumed [')), section.join('\n'));
    assert.ok(section.some((l) => l.startsWith('  config-assumed [pods[*].mac]: no input states pods[*].mac of 3 pods')), section.join('\n'));
  });

  it('rules prints the OutboundNAT SNAT rules for TCP and UDP only, per pod port', () => {
    const r = run(['rules', ...lessonCluster, '--node', 'win-1'], tmp);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /SNAT_TCP_OUTBOUNDNAT/);
    assert.match(r.stdout, /SNAT_UDP_OUTBOUNDNAT/);
    assert.doesNotMatch(r.stdout, /SNAT_ICMP/);
    assert.equal(run(['rules', ...lessonCluster, '--node', 'linux-1'], tmp).status, 2);
  });
});

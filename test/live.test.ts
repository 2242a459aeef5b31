/**
 * `vfp-emu live` (issue 13, "Live capture"), as a user runs it:
 * - without cap (the bundle copied where no node_modules holds it, and a cap whose native build is
 *   missing): live exits 2 saying how to install libpcap-dev and rebuild cap; the other commands work;
 * - in two network namespaces joined by a veth pair, the lesson's addresses (the pod 10.244.1.5 of
 *   traces/_clusters/l2bridge on one end, the external host 203.0.113.10 on the other): real ICMP (ping),
 *   TCP and UDP (ncat) between them, captured by `vfp-emu live` inside the pod's namespace; the verdicts
 *   are the lesson's (ICMP echo no-return and its reply dropped, TCP and UDP forwarded with SNAT to the
 *   node IP, the SYN-ACK delivered), `--count` ends the capture by itself, SIGINT closes every output
 *   whole (tshark reads them, when present).
 * The namespace tests skip, saying why, where they cannot run: not root, no ip, no netns, no ping or ncat,
 * cap not built. The namespaces are deleted after the tests whatever happens.
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { haveCommand, packetCount, repoRoot } from './io-helpers';

const cli = path.join(repoRoot, 'dist', 'src', 'cli.js');
const clusterDir = path.join(repoRoot, 'traces', '_clusters', 'l2bridge');
const CLUSTER = ['kubectl.json', 'cni.conf', 'net-conf.json'].flatMap((f) => ['--cluster', path.join(clusterDir, f)]);
const POD = '10.244.1.5';
const EXTERNAL = '203.0.113.10';
const NODE_IP = '10.127.130.11'; // win-1's InternalIP in traces/_clusters/l2bridge/kubectl.json: the SNAT source
const HINT = 'apt-get install libpcap-dev && npm rebuild cap';

interface Verdict {
  packet: number;
  verdict: string;
  reason: string | null;
  egress: string | null;
  flow: { proto: number; src: string; sport: number | null; dst: string; dport: number | null; icmp_type?: number } | null;
  out: { src: string; sport: number | null; dst: string; dport: number | null } | null;
}

function readVerdicts(file: string): Verdict[] {
  const text = fs.readFileSync(file, 'utf8');
  assert.ok(text.endsWith('\n'), `${file} ends with a whole line`);
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Verdict);
}

describe('vfp-emu live without cap: a clear message, and every other command works', () => {
  let tmp = '';
  before(() => {
    // the package as installed where cap is absent: the bundle and package.json, no node_modules above
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-live-nocap-'));
    fs.mkdirSync(path.join(tmp, 'dist'));
    fs.cpSync(path.join(repoRoot, 'dist', 'bundle'), path.join(tmp, 'dist', 'bundle'), { recursive: true });
    fs.copyFileSync(path.join(repoRoot, 'package.json'), path.join(tmp, 'package.json'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const bundled = (args: string[]): ReturnType<typeof spawnSync> =>
    spawnSync(process.execPath, [path.join(tmp, 'dist', 'bundle', 'vfp-emu.js'), ...args], { cwd: tmp, encoding: 'utf8' });

  it('cap not installed: live exits 2 naming it and how to install it; rules and replay run', () => {
    const r = bundled(['live', '--iface', 'lo', ...CLUSTER]);
    assert.equal(r.status, 2, String(r.stderr));
    assert.match(String(r.stderr), /^vfp-emu: live: cap is not installed; live capture needs the optional package cap/);
    assert.ok(String(r.stderr).includes(HINT), String(r.stderr));
    assert.ok(!String(r.stderr).includes('    at '), 'no stack trace');
    const rules = bundled(['rules', ...CLUSTER]);
    assert.equal(rules.status, 0, String(rules.stderr));
    assert.match(String(rules.stdout), /NODE : win-1/);
    const lesson = path.join(repoRoot, 'traces', '04-icmp-lesson', 'trace.pcapng');
    const replay = bundled(['replay', lesson, ...CLUSTER, '--summary', 'json']);
    assert.equal(replay.status, 0, String(replay.stderr));
    assert.equal((JSON.parse(String(replay.stdout)) as { packets: number }).packets, 10);
  });

  it('cap whose native build failed (no build/Release/cap.node): live exits 2 saying it did not load, and how to rebuild', () => {
    // cap's own lib/Cap.js starts with require('../build/Release/cap.node') (cap 0.2.1)
    const capDir = path.join(tmp, 'node_modules', 'cap');
    fs.mkdirSync(path.join(capDir, 'lib'), { recursive: true });
    fs.writeFileSync(path.join(capDir, 'package.json'), JSON.stringify({ name: 'cap', version: '0.2.1', main: './lib/Cap' }));
    fs.writeFileSync(path.join(capDir, 'lib', 'Cap.js'), "var addon = require('../build/Release/cap.node');\nmodule.exports = addon;\n");
    try {
      const r = bundled(['live', '--iface', 'lo', ...CLUSTER]);
      assert.equal(r.status, 2, String(r.stderr));
      assert.match(String(r.stderr), /^vfp-emu: live: cap did not load \(Cannot find module '\.\.\/build\/Release\/cap\.node'/);
      assert.ok(String(r.stderr).includes(HINT), String(r.stderr));
    } finally {
      fs.rmSync(path.join(tmp, 'node_modules'), { recursive: true, force: true });
    }
  });

  it('bad usage is refused before cap is needed: no --iface, an operand', () => {
    const none = bundled(['live', ...CLUSTER]);
    assert.equal(none.status, 2);
    assert.equal(none.stderr, 'vfp-emu: live: --iface IF is required: the network interface to capture on (ip link lists them)\n');
    const operand = bundled(['live', 'x.pcap', '--iface', 'lo']);
    assert.equal(operand.status, 2);
    assert.match(String(operand.stderr), /^vfp-emu: live takes no operand \(got 'x\.pcap'\)/);
  });

  it('--duration above 2147483 s (the longest timer Node holds) is refused naming the flag and the most; 2147483 is taken', () => {
    // a longer delay made setTimeout fire at once: the capture ended at its start with 0 packets, exit 0
    const r = bundled(['live', '--iface', 'lo', ...CLUSTER, '--duration', '2147484']);
    assert.equal(r.status, 2, String(r.stderr));
    assert.equal(r.stderr, "vfp-emu: live: --duration must be an integer from 1 to 2147483 (got '2147484')\n");
    const most = bundled(['live', '--iface', 'lo', ...CLUSTER, '--duration', '2147483']);
    assert.match(String(most.stderr), /^vfp-emu: live: cap is not installed/, 'the command line was taken: live went on to load cap');
  });
});

/** Why the namespace tests cannot run here, or null when they can. */
function cannotRun(): string | null {
  if (process.getuid?.() !== 0) return 'not root (network namespaces and capturing need root)';
  if (!haveCommand('ip')) return 'no ip command (iproute2; .ci/run installs it)';
  for (const c of ['ping', 'ncat']) if (!haveCommand(c)) return `no ${c} (.ci/run installs iputils-ping and ncat)`;
  const probe = `vfp-live-probe-${process.pid}`;
  if (spawnSync('ip', ['netns', 'add', probe]).status !== 0) return 'ip netns add fails here (no network namespaces in this container)';
  spawnSync('ip', ['netns', 'del', probe]);
  const cap = spawnSync(process.execPath, ['-e', "require('cap')"], { cwd: repoRoot, encoding: 'utf8' });
  if (cap.status !== 0) return `cap does not load (not built: ${HINT}): ${cap.stderr.split('\n').find((l) => l.startsWith('Error')) ?? ''}`;
  return null;
}

describe('vfp-emu live in two network namespaces joined by a veth pair (the lesson: pod 10.244.1.5, external 203.0.113.10)', function () {
  this.timeout(60000);
  const tag = String(process.pid % 100000);
  const podNs = `vfp-live-${tag}-pod`;
  const extNs = `vfp-live-${tag}-ext`;
  const podIf = `vfpl${tag}p`;
  const extIf = `vfpl${tag}e`;
  let tmp = '';
  const children: ChildProcess[] = [];

  const ip = (...args: string[]): void => {
    const r = spawnSync('ip', args, { encoding: 'utf8' });
    assert.equal(r.status, 0, `ip ${args.join(' ')}: ${r.stderr}`);
  };
  const inNs = (ns: string, cmd: string, args: string[], input?: string): ReturnType<typeof spawnSync> =>
    spawnSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', input, timeout: 15000 });

  before(function () {
    const why = cannotRun();
    if (why !== null) {
      console.log(`      skipped: ${why}`);
      this.skip();
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-live-'));
    ip('netns', 'add', podNs);
    ip('netns', 'add', extNs);
    ip('link', 'add', podIf, 'type', 'veth', 'peer', 'name', extIf);
    ip('link', 'set', podIf, 'netns', podNs);
    ip('link', 'set', extIf, 'netns', extNs);
    ip('-n', podNs, 'addr', 'add', `${POD}/32`, 'dev', podIf);
    ip('-n', extNs, 'addr', 'add', `${EXTERNAL}/32`, 'dev', extIf);
    for (const [ns, dev] of [[podNs, podIf], [extNs, extIf]]) {
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'link', 'set', dev, 'up');
    }
    ip('-n', podNs, 'route', 'add', `${EXTERNAL}/32`, 'dev', podIf);
    ip('-n', extNs, 'route', 'add', `${POD}/32`, 'dev', extIf);
  });

  after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    // deleting a namespace deletes its end of the veth pair, and with it the other end
    for (const ns of [podNs, extNs]) spawnSync('ip', ['netns', 'del', ns]);
    if (tmp !== '') fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** Starts `vfp-emu live ARGS` in the pod's namespace; resolves once it says it captures. */
  async function startLive(args: string[]): Promise<{ child: ChildProcess; done: Promise<{ status: number | null; stdout: string; stderr: string }> }> {
    const child = spawn('ip', ['netns', 'exec', podNs, process.execPath, cli, 'live', '--iface', podIf, ...CLUSTER, ...args], { cwd: tmp });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    const done = new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
    await new Promise<void>((resolve, reject) => {
      child.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes(`capturing on ${podIf}`)) resolve();
      });
      void done.then((r) => reject(new Error(`live ended before it captured (status ${r.status}): ${r.stderr}`)));
    });
    return { child, done };
  }

  it('--count 2: a ping to the external host: the echo is no-return (icmp-not-transposed), its reply dropped; --fail-on; the outputs whole', async () => {
    const { done } = await startLive(['--filter', 'icmp', '--count', '2', '--verdicts', 'v.jsonl', '--out', 'o.pcapng', '--save', 's.pcap', '--fail-on', 'no-return', '--report', 'r.html']);
    const ping = inNs(podNs, 'ping', ['-c', '1', '-W', '2', EXTERNAL]);
    assert.equal(ping.status, 0, `the ping itself works between the namespaces: ${ping.stderr}`);
    const r = await done;
    assert.equal(r.status, 1, `--fail-on no-return matched: ${r.stderr}`);
    assert.match(r.stderr, /vfp-emu: --fail-on matched \(exit status 1\): verdict no-return: 1 packet\nvfp-emu: first match: packet 1 of s\.pcap; step by step: .* explain s\.pcap /);
    const v = readVerdicts(path.join(tmp, 'v.jsonl'));
    assert.deepEqual(
      v.map((x) => [x.packet, x.verdict, x.reason, x.flow?.src, x.flow?.dst, x.flow?.icmp_type]),
      [
        [1, 'no-return', 'icmp-not-transposed', POD, EXTERNAL, 8],
        [2, 'dropped', 'icmp-not-transposed', EXTERNAL, POD, 0],
      ],
    );
    assert.equal(v[0].out?.src, POD, 'the echo leaves with the pod IP: no ICMP SNAT');
    assert.match(r.stdout, /verdicts: delivered 0, forwarded 0, no-return 1, dropped 1, ignored 0/);
    assert.equal(packetCount(path.join(tmp, 'o.pcapng')), 2);
    assert.equal(packetCount(path.join(tmp, 's.pcap')), 2);
    // the failing flow's explain command names the saved capture and walks the same packet
    const explain = /explain: (.*--packet 1)\n/.exec(r.stdout);
    assert.ok(explain !== null, r.stdout);
    assert.ok(explain[1].includes('s.pcap'), explain[1]);
    const walked = spawnSync(process.execPath, [cli, 'explain', 's.pcap', ...CLUSTER, '--packet', '1'], { cwd: tmp, encoding: 'utf8' });
    assert.match(walked.stdout, /Verdict: no-return \(icmp-not-transposed\)/);
    // the HTML report, written after s.pcap is complete, draws both failing flows' paths from it
    const html = fs.readFileSync(path.join(tmp, 'r.html'), 'utf8');
    assert.ok(!html.includes('not drawn'), /not drawn[^<]*/.exec(html)?.[0]);
    assert.equal(html.match(/<figure class="path" data-path="\d+"><figcaption>[^<]*<\/figcaption><p class="meta">Packet \d+: [^<]*<\/p><svg/g)?.length, 2, 'two path diagrams');
    if (haveCommand('tshark')) {
      const t = spawnSync('tshark', ['-r', path.join(tmp, 'o.pcapng'), '-T', 'fields', '-e', 'ip.src', '-e', 'icmp.type'], { encoding: 'utf8' });
      assert.equal(t.status, 0, t.stderr);
      assert.equal(t.stdout, `${POD}\t8\n${EXTERNAL}\t0\n`);
    }
  });

  it('without --save: no explain command is printed (none could run: no file holds the packets); the summary says to add --save', async () => {
    const text = await startLive(['--filter', 'icmp', '--count', '2', '--fail-on', 'no-return', '--report', 'nosave.html']);
    assert.equal(inNs(podNs, 'ping', ['-c', '1', '-W', '2', EXTERNAL]).status, 0);
    const r = await text.done;
    assert.equal(r.status, 1, r.stderr);
    // before: `explain live:IF ... --packet 1`, which exits 2 (live:IF: cannot open: ENOENT)
    assert.ok(!/explain live:/.test(r.stdout + r.stderr), r.stdout + r.stderr);
    assert.match(r.stdout, /failing flows \(2 flows, 2 packets; most packets first\):\n(?:  .*\n(?:    (?!explain).*\n)*)+  \(no explain commands: the packets were not saved; add --save FILE to get explain commands\)\n/);
    assert.match(r.stderr, /vfp-emu: --fail-on matched \(exit status 1\): verdict no-return: 1 packet\nvfp-emu: first match: packet 1; add --save FILE to get explain commands\n/);
    const html = fs.readFileSync(path.join(tmp, 'nosave.html'), 'utf8');
    assert.ok(!html.includes('step by step'), 'no explain command in the report');
    assert.match(html, /not drawn: the captured packets were not saved; add --save FILE/);
    const json = await startLive(['--filter', 'icmp', '--count', '2', '--summary', 'json']);
    assert.equal(inNs(podNs, 'ping', ['-c', '1', '-W', '2', EXTERNAL]).status, 0);
    const j = await json.done;
    assert.equal(j.status, 0, j.stderr);
    const list = (JSON.parse(j.stdout) as { failing_flows: { list: { explain: string | null }[] } }).failing_flows.list;
    assert.deepEqual(list.map((e) => e.explain), [null, null]);
    // merge takes such a summary (explain null) and keeps it null
    fs.writeFileSync(path.join(tmp, 'nosave.json'), j.stdout);
    const m = spawnSync(process.execPath, [cli, 'merge', 'nosave.json', '--summary', 'json'], { cwd: tmp, encoding: 'utf8' });
    assert.equal(m.status, 0, m.stderr);
    assert.deepEqual((JSON.parse(m.stdout) as { failing_flows: { list: { explain: string | null }[] } }).failing_flows.list.map((e) => e.explain), [null, null]);
  });

  it('TCP and UDP to the external host, then SIGINT: forwarded with SNAT to the node IP, the SYN-ACK delivered; exit 130, every output whole', async () => {
    const server = spawn('ip', ['netns', 'exec', extNs, 'ncat', '-l', '-k', EXTERNAL, '80', '--send-only', '-c', 'echo hello'], { stdio: 'ignore' });
    const udpServer = spawn('ip', ['netns', 'exec', extNs, 'ncat', '-u', '-l', EXTERNAL, '5353', '--recv-only'], { stdio: 'ignore' });
    children.push(server, udpServer);
    const { child, done } = await startLive(['--filter', 'tcp or udp', '--verdicts', 'tu.jsonl', '--out', 'tu.pcapng', '--report', 'tu.txt', '--summary', 'json']);
    let tcp: ReturnType<typeof spawnSync> | null = null;
    for (let k = 0; k < 20 && tcp?.status !== 0; k++) {
      await new Promise((r) => setTimeout(r, 100)); // the server listening
      tcp = inNs(podNs, 'ncat', ['--recv-only', '-w', '3', EXTERNAL, '80']);
    }
    assert.equal(tcp?.status, 0, `ncat over TCP between the namespaces: ${tcp?.stderr}`);
    const udp = inNs(podNs, 'ncat', ['-u', '--send-only', EXTERNAL, '5353'], 'query\n');
    assert.equal(udp.status, 0, String(udp.stderr));
    await new Promise((r) => setTimeout(r, 1500)); // the view's line comes once a second while packets come
    child.kill('SIGINT');
    const r = await done;
    assert.equal(r.status, 130, r.stderr);
    // stderr is not a terminal here: the rolling view is one line per interval
    assert.match(r.stderr, new RegExp(`^vfp-emu: live on ${podIf}: \\d+ packets in \\d+ s: delivered \\d+, forwarded \\d+, no-return 0, dropped 0, ignored 0$`, 'm'));
    assert.match(r.stderr, /vfp-emu: live: stopped by SIGINT after \d+ packets; the outputs hold them whole/);
    const summary = JSON.parse(r.stdout) as { packets: number; interrupted: string; verdicts: Record<string, number> };
    assert.equal(summary.interrupted, 'SIGINT');
    const v = readVerdicts(path.join(tmp, 'tu.jsonl'));
    assert.equal(v.length, summary.packets);
    assert.deepEqual(v.map((x) => x.packet), v.map((_, k) => k + 1));
    const syn = v.find((x) => x.flow?.proto === 6 && x.flow.dport === 80);
    assert.ok(syn !== undefined, JSON.stringify(v));
    assert.equal(syn.verdict, 'forwarded');
    assert.equal(syn.out?.src, NODE_IP, 'TCP from the pod leaves SNATed to the node IP (OutboundNAT)');
    const synAck = v.find((x) => x.flow?.proto === 6 && x.flow.sport === 80);
    assert.equal(synAck?.verdict, 'delivered', 'the reply to the SNATed connection is translated back to the pod');
    assert.equal(synAck?.egress, 'pod/default/client-0');
    const dgram = v.find((x) => x.flow?.proto === 17 && x.flow.dport === 5353);
    assert.equal(dgram?.verdict, 'forwarded');
    assert.equal(dgram?.out?.src, NODE_IP, 'UDP from the pod leaves SNATed to the node IP');
    assert.equal(packetCount(path.join(tmp, 'tu.pcapng')), summary.packets);
    assert.match(fs.readFileSync(path.join(tmp, 'tu.txt'), 'utf8'), /^vfp-emu replay report\ntrace: live:/);
    if (haveCommand('tshark')) {
      const t = spawnSync('tshark', ['-r', path.join(tmp, 'tu.pcapng')], { encoding: 'utf8' });
      assert.equal(t.status, 0, t.stderr);
      assert.equal(t.stdout.trim().split('\n').length, summary.packets);
    }
  });

  it('SIGTERM before any packet: exit 143, the outputs exist whole (empty), the summary says SIGTERM', async () => {
    const { child, done } = await startLive(['--filter', 'udp port 9', '--out', 'term.pcapng', '--verdicts', 'term.jsonl', '--save', 'term.pcap', '--summary', 'json']);
    child.kill('SIGTERM');
    const r = await done;
    assert.equal(r.status, 143, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { interrupted: string; packets: number }).interrupted, 'SIGTERM');
    assert.equal(fs.readFileSync(path.join(tmp, 'term.jsonl'), 'utf8'), '');
    assert.equal(packetCount(path.join(tmp, 'term.pcapng')), 0);
    assert.equal(packetCount(path.join(tmp, 'term.pcap')), 0);
    assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left');
  });

  it('an interface that does not exist, a filter libpcap cannot compile: exit 2 naming them, no output left', () => {
    const r = spawnSync('ip', ['netns', 'exec', podNs, process.execPath, cli, 'live', '--iface', 'vfpl-none0', ...CLUSTER, '--out', 'none.pcapng'], { cwd: tmp, encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`^vfp-emu: live --iface vfpl-none0: no such interface here \\(libpcap lists: .*\\b${podIf}\\b.*\\)\\n$`));
    assert.ok(!fs.existsSync(path.join(tmp, 'none.pcapng')));
    const filter = spawnSync('ip', ['netns', 'exec', podNs, process.execPath, cli, 'live', '--iface', podIf, ...CLUSTER, '--filter', 'tcp port eighty'], { cwd: tmp, encoding: 'utf8' });
    assert.equal(filter.status, 2, filter.stderr);
    assert.match(filter.stderr, new RegExp(`^vfp-emu: live --iface ${podIf} --filter 'tcp port eighty': cannot capture: .*\\n$`));
  });
});

/**
 * `vfp-emu replay` over several traces (issue 12, "Many captures at once"; src/commands/multi-replay.ts,
 * trace-list.ts) as a user runs it: files, a folder, a glob; one merged summary whose per-trace counts are
 * each trace's own single-trace run (state per trace); per-trace outputs equal, byte for byte, to those single
 * runs and the same for every --workers; name clashes, inputs as outputs, a bad trace among good ones, and
 * --fail-on over the totals.
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { generateList } from '../bench/cluster-scale';
import { loadClusterFiles } from '../src/cluster/load';
import { jobOrder } from '../src/commands/multi-replay';
import { writeTraceFile } from '../src/gen/trace';
import { cli, run, untimed, untimedText, writeTraces } from './multi-helpers';

describe('vfp-emu replay with several traces', function () {
  this.timeout(300_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-multi-'));
  const caps = path.join(tmp, 'caps');
  const cluster = path.join(tmp, 'cluster.json');
  const names = ['a-node1.pcap', 'b-node2.pcapng', 'c-node3.pcap'];
  before(() => {
    fs.mkdirSync(caps);
    writeTraces(caps, names, cluster, { packets: 3000, flows: 60, firstSeed: 1 });
    fs.writeFileSync(path.join(caps, 'README.txt'), 'not a capture');
    fs.writeFileSync(path.join(caps, '.hidden.pcap'), 'not taken: a dot file');
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('a folder: its captures by name, each counted as its own single-trace run, totals the sum; outputs per trace equal the single runs byte for byte', () => {
    const singles = names.map((n) => {
      const stem = n.replace(/\.pcap(ng)?$/, '');
      const r = run(['replay', `caps/${n}`, '--cluster', cluster, '--summary', 'json', '--out', `one-${stem}.pcapng`, '--verdicts', `one-${stem}.jsonl`], tmp);
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as Record<string, unknown>;
    });
    const r = run(['replay', 'caps', '--cluster', cluster, '--summary', 'json', '--out', 'o', '--verdicts', 'v', '--workers', '2'], tmp);
    assert.equal(r.status, 0, r.stderr);
    const m = JSON.parse(r.stdout) as { packets: number; verdicts: Record<string, number>; traces: Record<string, unknown>[]; fingerprint: unknown };
    assert.deepEqual(
      m.traces.map((t) => t.trace),
      names.map((n) => path.join('caps', n)),
    );
    assert.equal(m.packets, 9000);
    for (const [k, s] of singles.entries()) {
      // the failing flows and per-node counts are the merged summary's (their totals), not a trace entry's
      const { diagnostics, fingerprint, failing_flows, nodes, ...own } = untimed(s);
      void diagnostics;
      void failing_flows;
      void nodes;
      assert.deepEqual(m.fingerprint, fingerprint);
      assert.deepEqual(untimed(m.traces[k]), own, `trace ${k}: the counts of its own run`);
    }
    for (const v of Object.keys(m.verdicts)) assert.equal(m.verdicts[v], singles.reduce((sum, s) => sum + (s.verdicts as Record<string, number>)[v], 0), v);
    for (const n of names) {
      const stem = n.replace(/\.pcap(ng)?$/, '');
      assert.ok(fs.readFileSync(path.join(tmp, 'o', `${stem}.pcapng`)).equals(fs.readFileSync(path.join(tmp, `one-${stem}.pcapng`))), `${stem}.pcapng`);
      assert.ok(fs.readFileSync(path.join(tmp, 'v', `${stem}.jsonl`)).equals(fs.readFileSync(path.join(tmp, `one-${stem}.jsonl`))), `${stem}.jsonl`);
    }
    assert.deepEqual(fs.readdirSync(path.join(tmp, 'o')).sort(), ['a-node1.pcapng', 'b-node2.pcapng', 'c-node3.pcapng']);
  });

  it('the same summary, report and output bytes for --workers 1, 2, 4 and 8 (8: 2 threads for each trace)', () => {
    const outs = [1, 2, 4, 8].map((w) => {
      const r = run(['replay', 'caps', '--cluster', cluster, '--summary', 'json', '--out', `o${w}`, '--verdicts', `v${w}`, '--report', `r${w}.txt`, '--workers', String(w)], tmp);
      assert.equal(r.status, 0, r.stderr);
      const files = ['o', 'v'].flatMap((d) => fs.readdirSync(path.join(tmp, `${d}${w}`)).sort().map((f) => fs.readFileSync(path.join(tmp, `${d}${w}`, f)).toString('base64')));
      return { summary: untimed(JSON.parse(r.stdout)), report: untimedText(fs.readFileSync(path.join(tmp, `r${w}.txt`), 'utf8')), files };
    });
    for (const o of outs.slice(1)) assert.deepEqual(o, outs[0]);
    assert.match(outs[0].report, /^traces: caps\/a-node1\.pcap, caps\/b-node2\.pcapng, caps\/c-node3\.pcap$/m);
    assert.match(outs[0].report, /^ {2}caps\/b-node2\.pcapng: 3000 packets \(delivered \d+/m);
  });

  it('files and quoted globs: in the order given, a glob sorted by name, ** through sub-folders; a glob matching nothing is bad usage', () => {
    fs.mkdirSync(path.join(tmp, 'deep', 'x'), { recursive: true });
    fs.copyFileSync(path.join(caps, names[0]), path.join(tmp, 'deep', 'x', 'z.pcap'));
    fs.copyFileSync(path.join(caps, names[1]), path.join(tmp, 'deep', 'y.pcapng'));
    const order = (args: string[]): string[] => {
      const r = run(['replay', ...args, '--cluster', cluster, '--summary', 'json', '--workers', '1'], tmp);
      assert.equal(r.status, 0, r.stderr);
      return (JSON.parse(r.stdout) as { traces: { trace: string }[] }).traces.map((t) => t.trace);
    };
    assert.deepEqual(order([`caps/${names[2]}`, `caps/${names[0]}`]), [`caps/${names[2]}`, `caps/${names[0]}`]);
    assert.deepEqual(order(['caps/*.pcap']), ['caps/a-node1.pcap', 'caps/c-node3.pcap']);
    assert.deepEqual(order(['deep/**/*.pcap*']), ['deep/x/z.pcap', 'deep/y.pcapng']);
    assert.deepEqual(order(['caps/[ab]-node?.pcap*']), ['caps/a-node1.pcap', 'caps/b-node2.pcapng']);
    assert.deepEqual(order(['deep/**']), ['deep/x/z.pcap', 'deep/y.pcapng'], 'a last ** takes every file below, as bash globstar');
    const none = run(['replay', 'caps/*.cap', '--cluster', cluster], tmp);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /pattern caps\/\*\.cap matches no file/);
    const empty = run(['replay', 'deep/x/', 'caps', '--cluster', cluster], tmp);
    assert.equal(empty.status, 0, empty.stderr);
    fs.mkdirSync(path.join(tmp, 'nothing'));
    const nothing = run(['replay', 'nothing', '--cluster', cluster], tmp);
    assert.equal(nothing.status, 2);
    assert.match(nothing.stderr, /folder nothing holds no capture/);
  });

  it('refuses by name: two traces whose outputs share a name, the same capture twice, --out a file, outputs onto the inputs', () => {
    fs.mkdirSync(path.join(tmp, 'other'), { recursive: true });
    fs.copyFileSync(path.join(caps, names[0]), path.join(tmp, 'other', 'a-node1.pcapng'));
    const clash = run(['replay', `caps/${names[0]}`, 'other/a-node1.pcapng', '--cluster', cluster, '--out', 'oc'], tmp);
    assert.equal(clash.status, 2);
    assert.match(clash.stderr, /traces caps\/a-node1\.pcap and other\/a-node1\.pcapng would both write outputs named a-node1/);
    assert.ok(!fs.existsSync(path.join(tmp, 'oc')), 'nothing made');
    const twice = run(['replay', 'caps', `caps/./${names[1]}`, '--cluster', cluster], tmp);
    assert.equal(twice.status, 2);
    assert.match(twice.stderr, /trace caps\/\.\/b-node2\.pcapng is the same file as caps\/b-node2\.pcapng/);
    fs.writeFileSync(path.join(tmp, 'afile'), 'mine');
    const file = run(['replay', 'caps', '--cluster', cluster, '--out', 'afile'], tmp);
    assert.equal(file.status, 2);
    assert.match(file.stderr, /--out afile: with several traces --out names a folder/);
    assert.equal(fs.readFileSync(path.join(tmp, 'afile'), 'utf8'), 'mine');
    fs.mkdirSync(path.join(tmp, 'same'));
    fs.copyFileSync(path.join(caps, names[0]), path.join(tmp, 'same', 'a.pcapng'));
    fs.copyFileSync(path.join(caps, names[2]), path.join(tmp, 'same', 'c.pcap'));
    const before = fs.readFileSync(path.join(tmp, 'same', 'a.pcapng'));
    const onto = run(['replay', 'same', '--cluster', cluster, '--out', 'same'], tmp);
    assert.equal(onto.status, 2);
    assert.match(onto.stderr, /--out same\/a\.pcapng is the same file as the trace same\/a\.pcapng: refusing to overwrite it/);
    assert.ok(fs.readFileSync(path.join(tmp, 'same', 'a.pcapng')).equals(before), "the user's capture is untouched");
    const stdin = run(['replay', '-', 'caps', '--cluster', cluster], tmp);
    assert.equal(stdin.status, 2);
    assert.match(stdin.stderr, /TRACE - \(stdin\) cannot be one of several traces/);
  });

  it('a bad trace among good ones: the others run whole, the bad one is named with what was judged before its fault, exit 2', () => {
    fs.mkdirSync(path.join(tmp, 'mixed'));
    fs.copyFileSync(path.join(caps, names[0]), path.join(tmp, 'mixed', 'a.pcap'));
    const whole = fs.readFileSync(path.join(caps, names[2]));
    fs.writeFileSync(path.join(tmp, 'mixed', 'b-cut.pcap'), Buffer.concat([whole.subarray(0, 5000), Buffer.alloc(40, 0xff)]));
    fs.writeFileSync(path.join(tmp, 'mixed', 'c-junk.pcap'), 'this is no capture at all, not even a header');
    fs.copyFileSync(path.join(caps, names[1]), path.join(tmp, 'mixed', 'd.pcapng'));
    const r = run(['replay', 'mixed', '--cluster', cluster, '--summary', 'json', '--out', 'om', '--workers', '2'], tmp);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /mixed\/b-cut\.pcap at byte offset \d+/);
    assert.match(r.stderr, /mixed\/c-junk\.pcap/);
    const m = JSON.parse(r.stdout) as { packets: number; traces: { trace: string; packets: number; error?: string }[] };
    assert.deepEqual(
      m.traces.map((t) => [path.basename(t.trace), t.packets > 0, t.error !== undefined]),
      [
        ['a.pcap', true, false],
        ['b-cut.pcap', true, true],
        ['c-junk.pcap', false, true],
        ['d.pcapng', true, false],
      ],
    );
    assert.equal(m.traces[0].packets + m.traces[3].packets, 6000);
    assert.deepEqual(fs.readdirSync(path.join(tmp, 'om')).sort(), ['a.pcapng', 'b-cut.pcapng', 'd.pcapng']);
  });

  it('--fail-on applies to the merged totals (exit 1 when any trace has it); the text summary lists each trace', () => {
    const one = JSON.parse(run(['replay', `caps/${names[0]}`, '--cluster', cluster, '--summary', 'json'], tmp).stdout) as { verdicts: Record<string, number> };
    const some = Object.entries(one.verdicts).find(([, n]) => n > 0)?.[0] as string;
    const r = run(['replay', 'caps', '--cluster', cluster, '--fail-on', some], tmp);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stdout, /^per trace \(3\):$/m);
    assert.match(r.stdout, /^ {2}caps\/c-node3\.pcap: 3000 packets \(delivered \d+, forwarded \d+, no-return \d+, dropped \d+, ignored \d+\)$/m);
    const bad = run(['replay', 'caps', '--cluster', cluster, '--fail-on', 'no-such-reason'], tmp);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--fail-on no-such-reason: not a verdict/);
  });
  it('SIGINT in the middle: exit 130, the traces run so far counted, each output whole (records = its packets), no temporary file left', async () => {
    const big = path.join(tmp, 'big');
    fs.mkdirSync(big);
    for (let k = 0; k < 3; k++) writeTraceFile(path.join(big, `n${k}.pcap`), 'pcap', { packets: 600_000, flows: 3000, seed: k + 1, sizes: [{ size: 64, weight: 1 }] });
    const out = path.join(tmp, 'int-out');
    const child = spawn(process.execPath, [cli, 'replay', 'big', '--cluster', cluster, '--workers', '2', '--summary', 'json', '--out', 'int-out', '--verdicts', 'int-out', '--report', 'int-r.txt'], { cwd: tmp });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const poll = setInterval(() => {
      if (fs.existsSync(out) && fs.readdirSync(out).some((f) => f.endsWith('.tmp'))) {
        clearInterval(poll);
        child.kill('SIGINT');
      }
    }, 20);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearInterval(poll);
    assert.equal(code, 130, stderr);
    const m = JSON.parse(stdout) as { packets: number; interrupted: string; traces: { trace: string; packets: number; interrupted?: string }[] };
    assert.equal(m.interrupted, 'SIGINT');
    assert.ok(m.traces.length >= 1 && m.packets < 1_800_000, `stopped in the middle: ${m.packets} packets`);
    assert.match(stderr, new RegExp(`interrupted \\(SIGINT\\) after ${m.packets} packets`));
    for (const t of m.traces) {
      const stem = path.basename(t.trace, '.pcap');
      const lines = fs.readFileSync(path.join(out, `${stem}.jsonl`), 'utf8');
      assert.ok(lines === '' || lines.endsWith('\n'), `${stem}.jsonl ends whole`);
      assert.equal(lines === '' ? 0 : lines.split('\n').length - 1, t.packets, `${stem}.jsonl: one record per packet counted`);
    }
    assert.deepEqual(fs.readdirSync(out).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left');
    assert.equal(fs.readdirSync(out).length, 2 * m.traces.length, 'outputs only for the traces run');
    assert.match(fs.readFileSync(path.join(tmp, 'int-r.txt'), 'utf8'), /^interrupted \(SIGINT\) after \d+ packets$/m);
  });

  it('--all-nodes reaches every trace of a multi-trace replay: no nodes-compiled restriction (without it, a big cluster is restricted)', () => {
    fs.writeFileSync(path.join(tmp, 'big-cluster.json'), JSON.stringify(generateList({ nodes: 10, pods: 5, services: 1000 })));
    const codes = (extra: string[]): string[] => {
      const r = run(['replay', `caps/${names[0]}`, `caps/${names[1]}`, '--cluster', 'big-cluster.json', '--summary', 'json', '--workers', '1', ...extra], tmp);
      assert.equal(r.status, 0, r.stderr);
      return (JSON.parse(r.stdout) as { diagnostics: { code: string }[] }).diagnostics.map((d) => d.code);
    };
    assert.ok(codes([]).includes('nodes-compiled'), 'restricted by default');
    assert.ok(!codes(['--all-nodes']).includes('nodes-compiled'), '--all-nodes compiles every node');
  });

  it('--cluster - (stdin): read once, and its fingerprint is the file\'s; streamed and whole reads hash the same bytes', () => {
    const file = run(['replay', `caps/${names[0]}`, '--cluster', cluster, '--summary', 'json'], tmp);
    assert.equal(file.status, 0, file.stderr);
    const piped = run(['replay', `caps/${names[0]}`, '--cluster', '-', '--summary', 'json'], tmp, fs.readFileSync(cluster));
    assert.equal(piped.status, 0, piped.stderr);
    assert.deepEqual((JSON.parse(piped.stdout) as { fingerprint: unknown }).fingerprint, (JSON.parse(file.stdout) as { fingerprint: unknown }).fingerprint);
    // a FIFO (as `<(...)` gives): hashed as read, not re-read drained
    const fifo = path.join(tmp, 'cluster.fifo');
    spawnSync('mkfifo', [fifo]);
    const viaFifo = spawnSync('sh', ['-c', 'cat "$1" > "$2" & exec "$3" "$4" replay "$5" --cluster "$2" --summary json', 'sh', cluster, fifo, process.execPath, cli, `caps/${names[0]}`], { cwd: tmp, encoding: 'utf8' });
    assert.equal(viaFifo.status, 0, viaFifo.stderr);
    assert.deepEqual((JSON.parse(viaFifo.stdout) as { fingerprint: unknown }).fingerprint, (JSON.parse(file.stdout) as { fingerprint: unknown }).fingerprint);
    // several traces on several threads: stdin is read once, on the main thread, and the workers get its cluster
    const many = run(['replay', 'caps', '--cluster', cluster, '--summary', 'json', '--workers', '3'], tmp);
    const manyPiped = run(['replay', 'caps', '--cluster', '-', '--summary', 'json', '--workers', '3'], tmp, fs.readFileSync(cluster));
    assert.equal(manyPiped.status, 0, manyPiped.stderr);
    const counts = (out: string): Record<string, unknown> => {
      const { diagnostics, ...rest } = untimed(JSON.parse(out) as Record<string, unknown>);
      void diagnostics; // they name the file: `-` or its path
      return JSON.parse(JSON.stringify(rest).replace(/"explain":"[^"]*"/g, '"explain":""')) as Record<string, unknown>; // so do the explain commands

    };
    assert.deepEqual(counts(manyPiped.stdout), counts(many.stdout));
    const streamed = loadClusterFiles([cluster]).digests;
    assert.deepEqual(loadClusterFiles([cluster], { streamLists: false }).digests, streamed);
    assert.match(streamed[0], /^[0-9a-f]{64}$/);
    const bom = path.join(tmp, 'bom-cluster.json');
    fs.writeFileSync(bom, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), fs.readFileSync(cluster)]));
    assert.deepEqual(loadClusterFiles([bom]).digests, loadClusterFiles([bom], { streamLists: false }).digests, 'the byte-order mark is hashed too');
    assert.notDeepEqual(loadClusterFiles([bom]).digests, streamed);
  });

  it('a refused command makes no --out / --verdicts folder', () => {
    const bad = run(['replay', 'caps', '--cluster', cluster, '--out', 'never-o', '--verdicts', 'never-v', '--fail-on', 'no-such-reason'], tmp);
    assert.equal(bad.status, 2);
    fs.mkdirSync(path.join(tmp, 'same2'));
    fs.copyFileSync(path.join(caps, names[0]), path.join(tmp, 'same2', 'a.pcapng'));
    const onto = run(['replay', 'same2/a.pcapng', `caps/${names[1]}`, '--cluster', cluster, '--out', 'same2', '--verdicts', 'never-v'], tmp);
    assert.equal(onto.status, 2);
    assert.match(onto.stderr, /--out same2\/a\.pcapng is the same file as the trace same2\/a\.pcapng/);
    const clash = run(['replay', 'caps', '--cluster', cluster, '--out', 'never-o', '--report', '/dev/stdout', '--summary', 'json'], tmp);
    assert.equal(clash.status, 2);
    const missing = run(['replay', 'caps', '--cluster', 'no-such-cluster.json', '--out', 'never-o'], tmp);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /no-such-cluster\.json: cannot read the file: ENOENT/);
    assert.ok(!fs.existsSync(path.join(tmp, 'never-o')) && !fs.existsSync(path.join(tmp, 'never-v')), 'no folder left behind');
    const ok = run(['replay', 'caps', '--cluster', cluster, '--out', 'made-o', '--verdicts', 'made-o', '--report', 'made-o/r.txt'], tmp);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(fs.readdirSync(path.join(tmp, 'made-o')).length, 7, 'made once every check passed: 3 traces x 2 outputs and the report');
  });

  it('a bad --cluster file: the same message and exit 2 for --workers 1 and 2 (loaded once, on the main thread, before any worker gets a trace)', () => {
    const bad = path.join(tmp, 'bad-cluster.json');
    fs.writeFileSync(bad, '{"apiVersion": "v1", "kind": "List", "items": [ {"kind": "Pod", } ]}');
    const outs = [1, 2, 3].map((w) => run(['replay', 'caps', '--cluster', bad, '--summary', 'json', '--workers', String(w)], tmp));
    for (const r of outs) {
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /bad-cluster\.json at byte offset 64: not valid JSON/);
      assert.equal(r.stderr, outs[0].stderr);
    }
  });

  it('the threads take the largest traces first (a trace not a regular file counts 0 bytes), results in trace order', () => {
    const sized = path.join(tmp, 'sized');
    fs.mkdirSync(sized);
    const sizes = [10, 30, 20, 30];
    sizes.forEach((n, k) => fs.writeFileSync(path.join(sized, `t${k}.pcap`), Buffer.alloc(n)));
    const jobs = [...sizes.map((_, k) => path.join(sized, `t${k}.pcap`)), '-', path.join(sized, 'missing.pcap')].map((trace, index) => ({ index, trace }));
    assert.deepEqual(jobOrder(jobs).map((j) => j.index), [1, 3, 2, 0, 4, 5]);
    // the run: traces of different lengths, the same summary in trace order for 1 and 2 threads
    const mixed = path.join(tmp, 'by-size');
    fs.mkdirSync(mixed);
    for (const [k, n] of [300, 3000, 1000].entries()) writeTraceFile(path.join(mixed, `m${k}.pcap`), 'pcap', { packets: n, flows: 30, seed: 10 + k });
    const one = run(['replay', 'by-size', '--cluster', cluster, '--summary', 'json', '--workers', '1'], tmp);
    const two = run(['replay', 'by-size', '--cluster', cluster, '--summary', 'json', '--workers', '2'], tmp);
    assert.equal(two.status, 0, two.stderr);
    assert.deepEqual(untimed(JSON.parse(two.stdout)), untimed(JSON.parse(one.stdout)));
    assert.deepEqual((JSON.parse(two.stdout) as { traces: { trace: string }[] }).traces.map((t) => t.trace), ['by-size/m0.pcap', 'by-size/m1.pcap', 'by-size/m2.pcap']);
  });
});

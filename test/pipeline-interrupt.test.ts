/**
 * SIGINT / SIGTERM in the middle of a long replay, as a user sends them (issue 9): the run stops reading,
 * closes every output whole at the same packet, says how far it got (text and JSON summaries, report,
 * stderr) and exits 130 / 143; a second SIGINT ends it at once, leaving the final names untouched.
 * Also the pipeline's conservation check (packets read = judged = written).
 *
 * A real process on a generated trace long enough to run several seconds (4M small packets); each signal
 * is sent once the run shows progress, so that it lands in the middle of the packets.
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Batch } from '../src/core/batch';
import { clusterList } from '../src/gen/layout';
import { writeTraceFile } from '../src/gen/trace';
import { openCapture } from '../src/io/reader';
import { checkConservation } from '../src/pipeline/pipeline';
import { Tally } from '../src/pipeline/stage';
import { Counters } from '../src/vfp/counters';
import { haveCommand } from './io-helpers';

const repo = path.resolve(__dirname, '..', '..');
const cli = path.join(repo, 'dist', 'src', 'cli.js');

interface Ended {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Resolves with the child's exit once it has ended; `onStderr` sees its stderr as it comes. */
function ended(child: ChildProcess, onStderr: (all: string) => void = () => {}): Promise<Ended> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    onStderr(stderr);
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** Files in `dir` that look like an output's temporary file. */
function temps(dir: string): string[] {
  return fs.readdirSync(dir).filter((f) => f.includes('.vfp-emu-') && f.endsWith('.tmp'));
}

/** The verdict records of `file`: each line whole JSON, numbered 1..N with no gap; their verdicts. */
function readRecords(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  assert.ok(text.endsWith('\n'), 'the last record ends with a newline');
  const verdicts: string[] = [];
  let at = 0;
  while (at < text.length) {
    const nl = text.indexOf('\n', at);
    const r = JSON.parse(text.slice(at, nl)) as { packet: number; verdict: string };
    assert.equal(r.packet, verdicts.length + 1, `record ${verdicts.length + 1} is numbered ${r.packet}`);
    verdicts.push(r.verdict);
    at = nl + 1;
  }
  return verdicts;
}

/** Reads the output pcapng whole with our reader; checks that packet k's comment is record k's verdict. */
function checkPcapng(file: string, verdicts: string[]): void {
  const reader = openCapture(file);
  const batch = new Batch({ capacity: 4096 });
  let n = 0;
  while (reader.next(batch) > 0) {
    for (let i = 0; i < batch.count; i++) {
      const comment = batch.options.get(i)?.comments?.[0] ?? '';
      const want = `packet ${n + 1}: ${verdicts[n]}`;
      if (!comment.startsWith(want)) assert.fail(`output packet ${n + 1}: comment '${comment}', want '${want} ...'`);
      n++;
    }
  }
  reader.close();
  assert.equal(reader.error, null, `our reader: ${reader.error?.message}`);
  assert.equal(n, verdicts.length, 'output packets = verdict records');
}

describe('replay stopped by SIGINT / SIGTERM (issue 9)', function () {
  this.timeout(300_000);
  let tmp: string;
  let trace: string;
  let cluster: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-interrupt-'));
    trace = path.join(tmp, 'big.pcap');
    cluster = path.join(tmp, 'cluster.json');
    const g = writeTraceFile(trace, 'pcap', { packets: 4_000_000, flows: 20_000, seed: 3, sizes: [{ size: 64, weight: 1 }] });
    fs.writeFileSync(cluster, JSON.stringify(clusterList(g.layout)));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /**
   * Starts a replay writing every output into `dir`, sends `signal` once it shows progress; also the
   * files of `dir` at that moment.
   */
  async function stopped(dir: string, workers: number, signal: NodeJS.Signals): Promise<Ended & { running: string[] }> {
    fs.mkdirSync(dir);
    const args = ['replay', trace, '--cluster', cluster, '--workers', String(workers), '--summary', 'json', '--progress'];
    args.push('--verdicts', path.join(dir, 'v.jsonl'), '--out', path.join(dir, 'o.pcapng'), '--report', path.join(dir, 'report.txt'));
    const child = spawn(process.execPath, [cli, ...args]);
    let running: string[] = [];
    const r = await ended(child, (err) => {
      if (running.length > 0 || !err.includes(' packets, ')) return;
      running = fs.readdirSync(dir);
      child.kill(signal);
    });
    assert.equal(running.filter((f) => f.endsWith('.tmp')).length, 2, `while it runs, the outputs are temporary files: ${running.join(' ')}`);
    return { ...r, running };
  }

  for (const workers of [1, 2, 3]) {
    it(`--workers ${workers}: SIGINT -> exit 130, every output whole and ending at the same packet, "interrupted after N packets"`, async () => {
      const dir = path.join(tmp, `int-w${workers}`);
      const r = await stopped(dir, workers, 'SIGINT');
      assert.equal(r.code, 130, r.stderr);
      const summary = JSON.parse(r.stdout) as { packets: number; interrupted: string; verdicts: Record<string, number> };
      const N = summary.packets;
      assert.equal(summary.interrupted, 'SIGINT');
      assert.ok(N > 0 && N < 4_000_000, `stopped in the middle: ${N} packets`);
      assert.equal(Object.values(summary.verdicts).reduce((a, b) => a + b, 0), N, 'one verdict per packet judged');
      assert.match(r.stderr, new RegExp(`interrupted \\(SIGINT\\) after ${N} packets`));
      assert.match(fs.readFileSync(path.join(dir, 'report.txt'), 'utf8'), new RegExp(`^interrupted \\(SIGINT\\) after ${N} packets$`, 'm'));
      const verdicts = readRecords(path.join(dir, 'v.jsonl'));
      assert.equal(verdicts.length, N, 'verdict records = the summary\'s packets');
      checkPcapng(path.join(dir, 'o.pcapng'), verdicts);
      if (haveCommand('tshark')) {
        const t = spawnSync('tshark', ['-r', path.join(dir, 'o.pcapng'), '-q'], { encoding: 'utf8' });
        assert.equal(t.status, 0, `tshark: ${t.stderr}`);
      }
      assert.deepEqual(temps(dir), [], 'no temporary file left');
    });
  }

  it('SIGTERM -> exit 143, the summary and the report say SIGTERM', async () => {
    const dir = path.join(tmp, 'term');
    const r = await stopped(dir, 3, 'SIGTERM');
    assert.equal(r.code, 143, r.stderr);
    const summary = JSON.parse(r.stdout) as { packets: number; interrupted: string };
    assert.equal(summary.interrupted, 'SIGTERM');
    assert.match(fs.readFileSync(path.join(dir, 'report.txt'), 'utf8'), new RegExp(`^interrupted \\(SIGTERM\\) after ${summary.packets} packets$`, 'm'));
    assert.equal(readRecords(path.join(dir, 'v.jsonl')).length, summary.packets);
    assert.deepEqual(temps(dir), []);
  });

  it('a second SIGINT exits at once: non-zero, temporary files removed, the final names untouched', async () => {
    // the trace comes on stdin and stops coming: the run waits in the middle of it when both signals
    // arrive, and sees them together when more comes (a first SIGINT alone would stop it cleanly; and
    // while a read waits for stdin no signal handler can run)
    const dir = path.join(tmp, 'twice');
    fs.mkdirSync(dir);
    const outs = ['v.jsonl', 'o.pcapng', 'report.txt'].map((f) => path.join(dir, f));
    for (const f of outs) fs.writeFileSync(f, `the user's ${path.basename(f)}\n`);
    const args = ['replay', '-', '--cluster', cluster, '--workers', '1', '--summary', 'json', '--progress', '--verdicts', outs[0], '--out', outs[1], '--report', outs[2]];
    const child = spawn(process.execPath, [cli, ...args]);
    const done = ended(child);
    child.stdin?.on('error', () => {}); // it may exit before taking the rest
    const bytes = fs.readFileSync(trace).subarray(0, 32 << 20);
    // the first 1024 packets (two whole batches), then nothing until both signals were sent
    let cut = 24;
    for (let k = 0; k < 1024; k++) cut += 16 + bytes.readUInt32LE(cut + 8);
    child.stdin?.write(bytes.subarray(0, cut));
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const judged = (): number => {
      const t = temps(dir).find((f) => f.startsWith('.v.jsonl'));
      return t === undefined ? 0 : fs.readFileSync(path.join(dir, t), 'utf8').split('\n').length - 1;
    };
    for (let k = 0; k < 1200 && judged() < 1024; k++) await sleep(50);
    assert.equal(judged(), 1024, 'the first 1024 packets were judged and written to the temporary files');
    assert.equal(temps(dir).length, 2, 'the outputs are temporary files while it runs');
    await sleep(300); // it waits for more input
    child.kill('SIGINT');
    await sleep(200);
    child.kill('SIGINT');
    await sleep(200);
    child.stdin?.end(bytes.subarray(cut));
    const r = await done;
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /SIGINT again: stopped at once/);
    assert.equal(r.stdout, '', 'no summary: it did not finish');
    for (const f of outs) assert.equal(fs.readFileSync(f, 'utf8'), `the user's ${path.basename(f)}\n`, `${f} untouched`);
    assert.deepEqual(temps(dir), [], 'no temporary file left');
  });
});

describe('pipeline conservation check', () => {
  const tally = (verdicts: number[]): Tally => {
    const t = new Tally(new Counters(0));
    verdicts.forEach((n, k) => (t.counters.verdicts[k] = n));
    return t;
  };

  it('passes when packets read = packets given a verdict = records and blocks written', () => {
    checkConservation(10, tally([4, 3, 1, 1, 1]), 10, 10);
    checkConservation(10, tally([4, 3, 1, 1, 1]), -1, -1); // no output file asked for
  });

  it('throws an internal error naming the numbers when a packet was lost or counted twice', () => {
    assert.throws(() => checkConservation(10, tally([4, 3, 1, 1, 0]), 10, 10), /conservation broke: 10 packets read, 9 given a verdict, 10 verdict records written, 10 output packets written/);
    assert.throws(() => checkConservation(1024, tally([1024, 0, 0, 0, 0]), 1024, 512), /conservation broke: 1024 packets read, 1024 given a verdict, 1024 verdict records written, 512 output packets written/);
    assert.throws(() => checkConservation(7, tally([7, 0, 0, 0, 0]), 8, -1), /conservation broke: 7 packets read, 7 given a verdict, 8 verdict records written$/);
  });
});

/**
 * The replay's outputs are written whole (issue 9; src/pipeline/output-files.ts `AtomicOutput`): a
 * temporary file in the same folder, renamed onto the final name when complete. A run that fails (a
 * write error on any output) leaves a user's existing files as they were; while a run writes, the final
 * name still holds the previous file; special files (a FIFO, /dev/null) are written in place; the report
 * goes the same way, and a report that cannot be written is exit 2 naming it, not an internal error.
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { clusterList } from '../src/gen/layout';
import { writeTraceFile } from '../src/gen/trace';

const repo = path.resolve(__dirname, '..', '..');
const cli = path.join(repo, 'dist', 'src', 'cli.js');

function temps(dir: string): string[] {
  return fs.readdirSync(dir).filter((f) => f.includes('.vfp-emu-') && f.endsWith('.tmp'));
}

describe('replay outputs are written whole (temporary file, then rename)', function () {
  this.timeout(300_000);
  let tmp: string;
  let trace: string;
  let cluster: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-atomic-'));
    trace = path.join(tmp, 'trace.pcap');
    cluster = path.join(tmp, 'cluster.json');
    const g = writeTraceFile(trace, 'pcap', { packets: 300_000, flows: 3_000, seed: 4 });
    fs.writeFileSync(cluster, JSON.stringify(clusterList(g.layout)));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** A folder holding a user's files `names` (each with its own text); returns their paths. */
  function userFiles(dir: string, names: string[]): string[] {
    fs.mkdirSync(dir);
    return names.map((n) => {
      const f = path.join(dir, n);
      fs.writeFileSync(f, `the user's ${n}\n`);
      return f;
    });
  }

  function untouched(files: string[]): void {
    for (const f of files) assert.equal(fs.readFileSync(f, 'utf8'), `the user's ${path.basename(f)}\n`, `${f} was changed`);
  }

  const replay = (args: string[], shell?: string) => {
    const argv = [cli, 'replay', trace, '--cluster', cluster, '--no-progress', '--summary', 'json', ...args];
    return shell === undefined
      ? spawnSync(process.execPath, argv, { encoding: 'utf8' })
      : spawnSync('sh', ['-c', `${shell} && exec "$0" "$@"`, process.execPath, ...argv], { encoding: 'utf8' });
  };

  for (const workers of [1, 2, 3]) {
    it(`--workers ${workers}: a write failure on one output (--verdicts /dev/full) leaves the user's --out and --report as they were`, () => {
      const dir = path.join(tmp, `full-w${workers}`);
      const [out, report] = userFiles(dir, ['out.pcapng', 'report.txt']);
      const r = replay(['--workers', String(workers), '--verdicts', '/dev/full', '--out', out, '--report', report]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /^vfp-emu: \/dev\/full: cannot write it \(ENOSPC\)\n$/);
      untouched([out, report]);
      assert.deepEqual(temps(dir), [], 'the temporary files were removed');
    });
  }

  it('a write failure on the output file itself (file size limit: EFBIG) leaves the previous file whole', () => {
    for (const workers of [1, 2, 3]) {
      const dir = path.join(tmp, `efbig-w${workers}`);
      const [out, verdicts] = userFiles(dir, ['out.pcapng', 'verdicts.jsonl']);
      const r = replay(['--workers', String(workers), '--out', out, '--verdicts', verdicts], 'ulimit -f 256');
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /: cannot write it \(EFBIG\)\n$/);
      untouched([out, verdicts]);
      assert.deepEqual(temps(dir), [], `--workers ${workers}: the temporary files were removed`);
    }
  });

  it('while a run writes, the final names hold the previous files; at the end they are replaced, with their mode', async () => {
    const dir = path.join(tmp, 'during');
    const files = userFiles(dir, ['out.pcapng', 'verdicts.jsonl']);
    fs.chmodSync(files[0], 0o640);
    const child = spawn(process.execPath, [cli, 'replay', trace, '--cluster', cluster, '--no-progress', '--workers', '1', '--out', files[0], '--verdicts', files[1]]);
    let seen = 0;
    const done = new Promise<number | null>((resolve) => child.on('close', resolve));
    let exited = false;
    void done.then(() => (exited = true));
    while (!exited) {
      // read the final names while the temporary files exist (before and after the read: no rename between)
      const writing = temps(dir).length === 2;
      const texts = files.map((f) => fs.readFileSync(f, 'utf8'));
      if (writing && temps(dir).length === 2) {
        texts.forEach((t, k) => assert.equal(t, `the user's ${path.basename(files[k])}\n`, `${files[k]} was changed during the run`));
        seen++;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(await done, 0);
    assert.ok(seen > 0, 'the run was seen writing its temporary files');
    assert.equal(fs.readFileSync(files[0]).readUInt32LE(0), 0x0a0d0d0a, 'out.pcapng is the new pcapng');
    assert.equal(fs.readFileSync(files[1], 'utf8').split('\n').length - 1, 300_000, 'one record per packet');
    assert.equal(fs.statSync(files[0]).mode & 0o777, 0o640, 'the replaced file keeps its mode');
    assert.deepEqual(temps(dir), []);
  });

  it("leftovers of a killed run (.NAME.vfp-emu-PID.tmp, PID not running) are removed when NAME is written; a live PID's stay", () => {
    const dir = path.join(tmp, 'leftovers');
    fs.mkdirSync(dir);
    const done = spawnSync(process.execPath, ['-e', '']);
    const dead = done.pid as number; // exited: no such process now (unless the number was reused since)
    const leftovers = [`.out.pcapng.vfp-emu-${dead}.tmp`, `.out.pcapng.vfp-emu-${dead}-3.tmp`, `.report.txt.vfp-emu-${dead}.tmp`];
    const kept = [`.out.pcapng.vfp-emu-${process.pid}.tmp`, `.other.pcapng.vfp-emu-${dead}.tmp`, `.out.pcapng.vfp-emu-${dead}.tmp.keep`];
    for (const f of [...leftovers, ...kept]) fs.writeFileSync(path.join(dir, f), 'half');
    const lesson = path.join(repo, 'traces', '04-icmp-lesson', 'trace.pcapng');
    const l2bridge = ['kubectl.json', 'cni.conf', 'net-conf.json'].flatMap((f) => ['--cluster', path.join(repo, 'traces', '_clusters', 'l2bridge', f)]);
    const r = spawnSync(process.execPath, [cli, 'replay', lesson, ...l2bridge, '--out', path.join(dir, 'out.pcapng'), '--report', path.join(dir, 'report.txt')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const left = fs.readdirSync(dir).sort();
    assert.deepEqual(left, ['out.pcapng', 'report.txt', ...kept].sort());
  });

  it('a symbolic link keeps pointing at its target, which gets the output', () => {
    const dir = path.join(tmp, 'link');
    const [target] = userFiles(dir, ['real.pcapng']);
    const link = path.join(dir, 'out.pcapng');
    fs.symlinkSync('real.pcapng', link);
    const r = replay(['--workers', '1', '--out', link]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(fs.lstatSync(link).isSymbolicLink(), 'still a link');
    assert.equal(fs.readFileSync(target).readUInt32LE(0), 0x0a0d0d0a, 'the target holds the output');
    assert.deepEqual(temps(dir), []);
  });

  it('special files are written in place: a FIFO gets the records (and stays a FIFO), /dev/null takes the pcapng', async function () {
    if (spawnSync('sh', ['-c', 'command -v mkfifo'], { encoding: 'utf8' }).status !== 0) this.skip();
    const dir = path.join(tmp, 'fifo');
    fs.mkdirSync(dir);
    const fifo = path.join(dir, 'verdicts.fifo');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const reader = spawn('sh', ['-c', 'wc -l < "$0"', fifo]);
    let lines = '';
    reader.stdout.on('data', (d: Buffer) => (lines += d.toString()));
    const counted = new Promise((resolve) => reader.on('close', resolve));
    const child = spawn(process.execPath, [cli, 'replay', trace, '--cluster', cluster, '--no-progress', '--workers', '2', '--verdicts', fifo, '--out', '/dev/null']);
    const code = await new Promise((resolve) => child.on('close', resolve));
    await counted;
    assert.equal(code, 0);
    assert.equal(lines.trim(), '300000', 'the FIFO reader got one record per packet');
    assert.ok(fs.statSync(fifo).isFIFO(), 'still a FIFO');
    assert.deepEqual(temps(dir), []);
  });

  it('--report that cannot be written: exit 2 naming it and the errno (not an internal error); the other outputs are whole', () => {
    const dir = path.join(tmp, 'report-full');
    fs.mkdirSync(dir);
    const verdicts = path.join(dir, 'verdicts.jsonl');
    const r = replay(['--workers', '1', '--verdicts', verdicts, '--report', '/dev/full']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^vfp-emu: \/dev\/full: cannot write it \(ENOSPC\)\n$/);
    assert.equal(fs.readFileSync(verdicts, 'utf8').split('\n').length - 1, 300_000);
  });
});

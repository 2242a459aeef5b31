/**
 * The CLI in pipes as a shell user writes them (issue 13, "A CLI that fits in pipes and habits"), through the
 * built CLI and bash:
 * - `-` is stdout for --out, --verdicts and --report: `replay T --out - | tshark -r -` reads the same pcapng
 *   bytes as `--out FILE`, our reader reads them back, and no file named `-` is made; the summary goes to stderr;
 * - `--verdicts - | head -1` ends quietly (exit 0, no message, no stack trace) and leaves no temporary file;
 *   the other outputs end whole;
 * - two outputs on stdout, or --summary beside an output on stdout, are refused naming both; several traces
 *   cannot share stdout (`--out -`, `--verdicts -` refused by name, nothing made);
 * - `--quiet` prints nothing but errors, the exit status says the rest;
 * - `merge --out -` is stdout.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openCaptureBytes } from '../src/io/reader';
import { packetCount } from './io-helpers';

const repo = path.resolve(__dirname, '..', '..');
const cli = path.join(repo, 'dist', 'src', 'cli.js');
const gen = path.join(repo, 'dist', 'src', 'gen', 'cli.js');
const lesson = path.join(repo, 'traces', '04-icmp-lesson', 'trace.pcapng');
const other = path.join(repo, 'traces', '01-l2bridge', 'trace.pcapng');
const cluster = ['kubectl.json', 'cni.conf', 'net-conf.json'].flatMap((f) => ['--cluster', path.join(repo, 'traces', '_clusters', 'l2bridge', f)]);

/** `vfp-emu ARGS | TAIL` in bash (`TAIL` '' for none): TAIL's stdout (as bytes), the CLI's status and its stderr. */
function pipe(args: string[], tail: string, cwd: string): { stdout: Buffer; status: number; stderr: string } {
  const err = path.join(os.tmpdir(), `vfp-pipes-stderr-${process.pid}-${process.hrtime.bigint()}`);
  const script = `node "$@" 2>"$ERR"${tail === '' ? '' : ` | ${tail} 2>/dev/null`}; echo "\${PIPESTATUS[0]}" >&2`;
  const r = spawnSync('bash', ['-c', script, 'bash', cli, ...args], { cwd, env: { ...process.env, ERR: err } });
  const stderr = fs.readFileSync(err, 'utf8');
  fs.rmSync(err);
  return { stdout: r.stdout, status: Number(r.stderr.toString().trim()), stderr };
}

const hasTshark = spawnSync('tshark', ['-v']).status === 0;

describe('vfp-emu in pipes: - is stdout, --quiet (issue 13)', function () {
  this.timeout(300000);
  let tmp: string;
  let work: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-cli-pipes-'));
    const g = spawnSync(process.execPath, [gen, '--out', 'big.pcap', '--packets', '20000', '--cluster-out', 'big.json', '--format', 'pcap'], { cwd: tmp, encoding: 'utf8' });
    assert.equal(g.status, 0, g.stderr);
  });
  beforeEach(() => {
    work = fs.mkdtempSync(path.join(tmp, 'run-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('replay T --out - writes the pcapng to stdout (the bytes --out FILE holds; our reader reads them back), the summary to stderr, no file named -', () => {
    const r = pipe(['replay', lesson, ...cluster, '--out', '-'], '', work);
    assert.equal(r.status, 0, r.stderr);
    const file = spawnSync(process.execPath, [cli, 'replay', lesson, ...cluster, '--out', 'o.pcapng'], { cwd: work, encoding: 'utf8' });
    assert.equal(file.status, 0, file.stderr);
    assert.deepEqual(r.stdout, fs.readFileSync(path.join(work, 'o.pcapng')));
    assert.equal(packetCount(openCaptureBytes('stdout', new Uint8Array(r.stdout))), 10);
    const untimed = (t: string): string => t.replace(/^\d+ packets in .*\n/, '');
    assert.equal(untimed(r.stderr), untimed(file.stdout), 'the summary, on stderr (timings aside)');
    assert.deepEqual(fs.readdirSync(work), ['o.pcapng']);
    // and from stdin to stdout
    const viaStdin = spawnSync('bash', ['-c', `node "$@" < "${lesson}"`, 'bash', cli, 'replay', '-', ...cluster, '--out', '-'], { cwd: work });
    assert.equal(viaStdin.status, 0, viaStdin.stderr.toString());
    assert.deepEqual(viaStdin.stdout, r.stdout);
  });

  it('replay T --out - | tshark -r - reads every packet', function () {
    if (!hasTshark) this.skip(); // tshark: .ci/run installs it
    const r = pipe(['replay', lesson, ...cluster, '--out', '-'], 'tshark -r - -T fields -e frame.number', work);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.toString(), '1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n');
  });

  for (const workers of ['1', '2']) {
    it(`--verdicts - | head -1 (--workers ${workers}): exit 0, no message, no temporary file; --out FILE ends whole`, () => {
      const big = path.join(tmp, 'big.pcap');
      const r = pipe(['replay', big, '--cluster', path.join(tmp, 'big.json'), '--verdicts', '-', '--out', 'o.pcapng', '--workers', workers], 'head -1', work);
      assert.match(r.stdout.toString(), /^\{"packet":1,[^\n]*\n$/);
      assert.equal(r.status, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /vfp-emu:|internal error|\n\s+at |Error/);
      assert.match(r.stderr, /^stdout closed after \d+ packets\n/);
      assert.deepEqual(fs.readdirSync(work), ['o.pcapng'], 'no .tmp file, no file named -');
      const n = packetCount(path.join(work, 'o.pcapng'));
      assert.ok(n > 0 && n < 20000, `${n} packets`);
    });
  }

  it('two outputs on stdout, or --summary beside one, are refused naming both; nothing is written', () => {
    const cases: [string[], string][] = [
      [['--verdicts', '-', '--out', '-'], 'vfp-emu: --verdicts - and --out - both write stdout: give one of them a file\n'],
      [['--out', '-', '--report', '/dev/stdout'], 'vfp-emu: --out - and --report /dev/stdout both write stdout: give one of them a file\n'],
      [['--report', '-', '--summary', 'json'], 'vfp-emu: --report - and --summary json both write stdout: give one of them a file, or drop --summary\n'],
      [['--out', '-', '--quiet', '--summary', 'text'], 'vfp-emu: replay: --quiet prints no summary, and --summary asks for one: drop one of them\n'],
      [['-q', '--progress'], 'vfp-emu: replay: --quiet prints no progress, and --progress asks for one: drop one of them\n'],
    ];
    for (const [flags, message] of cases) {
      const r = pipe(['replay', lesson, ...cluster, ...flags], '', work);
      assert.equal(r.status, 2, flags.join(' '));
      assert.equal(r.stderr, message);
      assert.equal(r.stdout.length, 0);
    }
    assert.deepEqual(fs.readdirSync(work), []);
  });

  it('several traces cannot share stdout: --out - and --verdicts - refused by name, nothing made; --report - is stdout', () => {
    for (const flag of ['--out', '--verdicts']) {
      const r = pipe(['replay', lesson, other, ...cluster, flag, '-'], '', work);
      assert.equal(r.status, 2);
      assert.equal(r.stderr, `vfp-emu: replay ${flag} -: several traces cannot share stdout (each gets its own file): give ${flag} a folder, or replay one trace\n`);
    }
    assert.deepEqual(fs.readdirSync(work), []);
    const rep = pipe(['replay', lesson, other, ...cluster, '--report', '-'], '', work);
    assert.equal(rep.status, 0, rep.stderr);
    assert.match(rep.stdout.toString(), /^vfp-emu replay report\n/);
    assert.match(rep.stderr, /^\d+ packets in /, 'the summary on stderr');
    assert.deepEqual(fs.readdirSync(work), []);
  });

  it('--quiet prints nothing but errors; the exit status says the rest', () => {
    const failing = pipe(['replay', lesson, ...cluster, '--fail-on', 'dropped', '-q'], '', work);
    assert.deepEqual([failing.status, failing.stdout.toString(), failing.stderr], [1, '', '']);
    fs.copyFileSync(lesson, path.join(work, 'a.pcapng'));
    fs.copyFileSync(other, path.join(work, 'b.pcapng'));
    const many = pipe(['replay', 'a.pcapng', 'b.pcapng', ...cluster, '--quiet', '--verdicts', 'v'], '', work);
    assert.deepEqual([many.status, many.stdout.toString(), many.stderr], [0, '', '']);
    assert.deepEqual(fs.readdirSync(path.join(work, 'v')).sort(), ['a.jsonl', 'b.jsonl']);
    const lessonRun = pipe(['replay', '--quiet'], '', work);
    assert.deepEqual([lessonRun.status, lessonRun.stdout.toString(), lessonRun.stderr], [0, '', '']);
    assert.deepEqual(fs.readdirSync(path.join(work, 'vfp-out')).sort(), ['out.pcapng', 'report.txt', 'verdicts.jsonl']);
    // an error is still said: a capture cut in the middle of a record
    const cut = path.join(work, 'cut.pcapng');
    fs.writeFileSync(cut, fs.readFileSync(lesson).subarray(0, 700));
    const bad = pipe(['replay', cut, ...cluster, '-q'], '', work);
    assert.equal(bad.status, 2);
    assert.equal(bad.stdout.length, 0);
    assert.match(bad.stderr, /^vfp-emu: .*cut\.pcapng.*\n$/);
  });

  it('merge --out - is stdout (no file named -)', () => {
    const summary = spawnSync(process.execPath, [cli, 'replay', lesson, ...cluster, '--summary', 'json'], { cwd: work, encoding: 'utf8' });
    fs.writeFileSync(path.join(work, 'a.json'), summary.stdout);
    const r = pipe(['merge', 'a.json', '--out', '-', '--summary', 'text'], '', work);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout.toString(), /^10 packets in /);
    assert.deepEqual(fs.readdirSync(work), ['a.json']);
  });

  it('merge - reads a summary on stdin (the same sum as from the file)', () => {
    const summary = spawnSync(process.execPath, [cli, 'replay', lesson, ...cluster, '--summary', 'json'], { cwd: work, encoding: 'utf8' });
    fs.writeFileSync(path.join(work, 'a.json'), summary.stdout);
    const fromFile = spawnSync(process.execPath, [cli, 'merge', 'a.json', 'a.json'], { cwd: work, encoding: 'utf8' });
    const fromStdin = spawnSync(process.execPath, [cli, 'merge', '-', 'a.json'], { cwd: work, encoding: 'utf8', input: summary.stdout });
    assert.equal(fromStdin.status, 0, fromStdin.stderr);
    assert.equal(fromStdin.stdout, fromFile.stdout);
  });

  it('stdin given to two inputs, or an empty flag value, is refused before anything runs (exit 2, naming them)', () => {
    const twice = spawnSync(process.execPath, [cli, 'replay', '-', '--cluster', '-'], { cwd: work, encoding: 'utf8', input: fs.readFileSync(lesson) });
    assert.equal(twice.status, 2);
    assert.equal(twice.stderr, 'vfp-emu: replay: stdin (-) is given 2 times (TRACE, --cluster): one input only can read it; give the others as files\n');
    const clusters = spawnSync(process.execPath, [cli, 'explain', lesson, '--cluster', '-', '--cluster=-', '--packet', '1'], { cwd: work, encoding: 'utf8', input: '' });
    assert.equal(clusters.status, 2);
    assert.match(clusters.stderr, /stdin \(-\) is given 2 times \(--cluster, --cluster\)/);
    for (const flag of ['--out=', '--verdicts=', '--report=', '--cluster=']) {
      const r = spawnSync(process.execPath, [cli, 'replay', lesson, ...cluster, flag], { cwd: work, encoding: 'utf8' });
      assert.equal(r.status, 2, flag);
      assert.equal(r.stderr, `vfp-emu: replay: ${flag.slice(0, -1)} needs a value (it is empty)\n`);
    }
    assert.deepEqual(fs.readdirSync(work), []);
  });
});

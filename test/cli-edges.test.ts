/**
 * The command line's edges (issue 9), through the built CLI and real pipes:
 * - a closed stdout (`| head -N`, or a reader gone before the first write) ends every command quietly:
 *   exit 0, nothing on stderr;
 * - a stdout that cannot be written (`> /dev/full`) is exit 2 naming stdout and the errno, never 1 (that
 *   is --fail-on's) and never an internal error;
 * - output paths are checked before anything is opened: an output that is the input trace (directly,
 *   through a symlink, a hard link, `..`, stdin redirected from it), a --cluster file or another output
 *   is refused with exit 2 and the input keeps its bytes; a report folder that cannot be written (a file,
 *   missing, a read-only file system) is found before the long work; a full disk under the report is
 *   exit 2 naming it;
 * - `--verdicts /dev/stdout` gives a stdout of JSONL alone (the summary goes to stderr).
 */
import { strict as assert } from 'node:assert';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { packetCount } from './io-helpers';

const repo = path.resolve(__dirname, '..', '..');
const cli = path.join(repo, 'dist', 'src', 'cli.js');
const gen = path.join(repo, 'dist', 'src', 'gen', 'cli.js');
const lessonTrace = path.join(repo, 'traces', '04-icmp-lesson', 'trace.pcapng');
const l2bridge = ['kubectl.json', 'cni.conf', 'net-conf.json'].map((f) => path.join(repo, 'traces', '_clusters', 'l2bridge', f));
const lessonCluster = l2bridge.flatMap((f) => ['--cluster', f]);

/**
 * `vfp-emu ARGS | TAIL` in bash: what TAIL printed, the CLI's status and its stderr. (A real pipe: Node's
 * spawn gives the child a socket, which /dev/stdout cannot be opened on.)
 */
function pipeTo(args: string[], tail: string, cwd: string): { stdout: string; status: number; stderr: string } {
  const err = path.join(cwd, `stderr-${process.hrtime.bigint()}`);
  const script = `node "$@" 2>"$ERR" | ${tail}; echo "\${PIPESTATUS[0]}" >&2`;
  const r = spawnSync('bash', ['-c', script, 'bash', cli, ...args], { cwd, encoding: 'utf8', env: { ...process.env, ERR: err } });
  const stderr = fs.readFileSync(err, 'utf8');
  fs.rmSync(err);
  return { stdout: r.stdout, status: Number(r.stderr.trim()), stderr };
}

/** The CLI with a stdout (or stderr) pipe, a FIFO, whose reader is gone before the CLI starts. */
function readerGone(args: string[], cwd: string, fd: 1 | 2 = 1): SpawnSyncReturns<string> {
  const fifo = path.join(cwd, `fifo-${process.hrtime.bigint()}`);
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  const reader = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const writer = fs.openSync(fifo, fs.constants.O_WRONLY);
  fs.closeSync(reader);
  try {
    return spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8', stdio: fd === 1 ? ['ignore', writer, 'pipe'] : ['ignore', 'pipe', writer] });
  } finally {
    fs.closeSync(writer);
    fs.rmSync(fifo);
  }
}

/** The CLI with stdout on /dev/full. */
function toDevFull(args: string[], cwd: string): SpawnSyncReturns<string> {
  const fd = fs.openSync('/dev/full', 'w');
  try {
    return spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8', stdio: ['ignore', fd, 'pipe'] });
  } finally {
    fs.closeSync(fd);
  }
}

function run(args: string[], cwd: string, input?: number): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8', stdio: [input ?? 'ignore', 'pipe', 'pipe'] });
}

const sha1 = (file: string): string => crypto.createHash('sha1').update(fs.readFileSync(file)).digest('hex');

describe('vfp-emu command line edges (issue 9)', function () {
  this.timeout(120000);
  let tmp: string;
  /** A generated trace of 20,000 packets and its cluster: outputs far larger than a pipe's buffer. */
  let big: string[];
  let bigCluster: string[];
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-cli-edges-'));
    const g = spawnSync(process.execPath, [gen, '--out', 'big.pcap', '--packets', '20000', '--cluster-out', 'big.json', '--format', 'pcap'], { cwd: tmp, encoding: 'utf8' });
    assert.equal(g.status, 0, g.stderr);
    big = [path.join(tmp, 'big.pcap')];
    bigCluster = ['--cluster', path.join(tmp, 'big.json')];
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  describe('a closed stdout ends the run quietly (exit 0, nothing on stderr)', () => {
    // --verdicts /dev/stdout: 20,000 records, far more than the pipe holds; the other outputs of such a run
    // are checked below.
    const cases: { name: string; args: () => string[]; lines: number; first: RegExp; opensStdout?: boolean }[] = [
      { name: 'replay (the embedded default) | head -2', args: () => ['replay'], lines: 2, first: /^A pod's ping/ },
      { name: 'replay TRACE --cluster ... | head -2', args: () => ['replay', ...big, ...bigCluster, '--workers', '1'], lines: 2, first: /^20000 packets in / },
      { name: 'replay --verdicts /dev/stdout | head -3 (one worker)', args: () => ['replay', ...big, ...bigCluster, '--verdicts', '/dev/stdout', '--workers', '1'], lines: 3, first: /^\{"packet":1,/, opensStdout: true },
      { name: 'replay --verdicts /dev/stdout | head -3 (two workers)', args: () => ['replay', ...big, ...bigCluster, '--verdicts', '/dev/stdout', '--workers', '2'], lines: 3, first: /^\{"packet":1,/, opensStdout: true },
      { name: 'replay --verdicts /dev/stdout | head -3 (three workers)', args: () => ['replay', ...big, ...bigCluster, '--verdicts', '/dev/stdout', '--workers', '3'], lines: 3, first: /^\{"packet":1,/, opensStdout: true },
      { name: 'rules | head -1', args: () => ['rules', ...bigCluster], lines: 1, first: /^NODE : / },
      { name: 'decode | head -1', args: () => ['decode', ...big], lines: 1, first: /^n\tcaplen\t/ },
      { name: 'explain | head -1', args: () => ['explain', lessonTrace, ...lessonCluster, '--packet', '3'], lines: 1, first: /^Packet 3: tcp / },
      { name: 'help | head -1', args: () => ['help'], lines: 1, first: /^vfp-emu: replay packet traces/ },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const r = pipeTo(c.args(), `head -n ${c.lines}`, tmp);
        // an output on stdout: the run stops as for Ctrl-C and its summary goes to stderr, as it always does then
        const quiet = (stderr: string): void => {
          if (c.opensStdout === true) assert.match(stderr, /^stdout closed after \d+ packets\n\d+ packets in /);
          else assert.equal(stderr, '', 'no message, no stack trace');
          assert.doesNotMatch(stderr, /vfp-emu:|internal error|\n\s+at /);
        };
        quiet(r.stderr);
        assert.equal(r.status, 0);
        const got = r.stdout.split('\n');
        assert.equal(got.length, c.lines + 1, r.stdout);
        assert.match(got[0], c.first);
        // the reader gone before the first write: the same, every time (stdout is written as fd 1, never opened)
        const g = readerGone(c.args(), tmp);
        quiet(g.stderr);
        assert.equal(g.status, 0);
      });
    }

    it('replay keeps its own status when the reader goes away after the run (--fail-on matched: 1)', () => {
      const r = readerGone(['replay', lessonTrace, ...lessonCluster, '--fail-on', 'dropped'], tmp);
      assert.equal(withoutFailOn(r.stderr), ''); // (what --fail-on matched, issue 13: stderr, not stdout)
      assert.match(r.stderr, /^vfp-emu: --fail-on matched \(exit status 1\): verdict dropped: 1 packet\n/);
      assert.equal(r.status, 1);
    });
  });

  describe('a closed stdout under --verdicts /dev/stdout stops the run: the other outputs are committed whole', () => {
    for (const workers of ['1', '2', '3']) {
      for (const failOn of [[], ['--fail-on', 'delivered']]) {
        const status = failOn.length === 0 ? 0 : 1;
        it(`--workers ${workers} ${failOn.join(' ')} | head -3: exit ${status}, o.pcapng whole, the report says where it stopped`, () => {
          const out = path.join(tmp, `o-${workers}-${status}.pcapng`);
          const report = path.join(tmp, `r-${workers}-${status}.txt`);
          const r = pipeTo(['replay', ...big, ...bigCluster, '--verdicts', '/dev/stdout', '--out', out, '--report', report, '--workers', workers, ...failOn], 'head -3', tmp);
          assert.equal(r.stdout.split('\n').length, 4, r.stdout);
          assert.equal(r.status, status, r.stderr);
          assert.doesNotMatch(withoutFailOn(r.stderr), /vfp-emu:|internal error|\n\s+at /);
          assert.ok(fs.existsSync(out) && fs.existsSync(report), 'both outputs committed');
          const n = packetCount(out);
          assert.ok(n > 0 && n < 20000, `${n} packets: stopped early`);
          const text = fs.readFileSync(report, 'utf8');
          assert.match(text, new RegExp(`^stdout closed after ${n} packets\n${n} packets in `, 'm'));
          assert.match(r.stderr, new RegExp(`^stdout closed after ${n} packets\n`));
          assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.endsWith('.tmp')), []);
        });
      }
    }
  });

  it('a closed stderr (replay --progress | with 2>&1 gone) is not exit 1: the run ends with its own status', () => {
    const r = readerGone(['replay', ...big, ...bigCluster, '--progress', '--workers', '1', '--summary', 'json'], tmp, 2);
    assert.equal(JSON.parse(r.stdout).packets, 20000);
    assert.equal(r.status, 0);
  });

  describe('a stdout that cannot be written is exit 2 naming it and the errno', () => {
    const cases: { name: string; args: () => string[]; message: string }[] = [
      { name: 'decode > /dev/full', args: () => ['decode', ...big], message: 'stdout: cannot write it (ENOSPC)' },
      { name: 'replay --summary json > /dev/full', args: () => ['replay', lessonTrace, ...lessonCluster, '--summary', 'json'], message: 'stdout: cannot write it (ENOSPC)' },
      { name: 'replay --fail-on dropped > /dev/full (2, not the 1 of --fail-on)', args: () => ['replay', lessonTrace, ...lessonCluster, '--fail-on', 'dropped'], message: 'stdout: cannot write it (ENOSPC)' },
      { name: 'rules > /dev/full', args: () => ['rules', ...lessonCluster], message: 'stdout: cannot write it (ENOSPC)' },
      { name: 'help > /dev/full', args: () => ['help'], message: 'stdout: cannot write it (ENOSPC)' },
      { name: 'replay --verdicts /dev/stdout > /dev/full', args: () => ['replay', lessonTrace, ...lessonCluster, '--verdicts', '/dev/stdout'], message: '/dev/stdout: cannot write it (ENOSPC)' },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const r = toDevFull(c.args(), tmp);
        assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('vfp-emu:')).join('\n'), `vfp-emu: ${c.message}`, r.stderr);
        assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
        assert.equal(r.status, 2);
      });
    }
  });

  describe('an output that is an input or another output is refused before anything is opened', () => {
    let trace: string;
    let before: string;
    beforeEach(() => {
      trace = path.join(tmp, 'capture.pcapng');
      fs.copyFileSync(lessonTrace, trace);
      before = sha1(trace);
    });
    afterEach(() => {
      for (const f of fs.readdirSync(tmp)) if (!f.startsWith('big.')) fs.rmSync(path.join(tmp, f), { recursive: true, force: true });
    });

    /** Refused with exit 2 and exactly `message`; the input keeps its bytes. */
    function refused(r: SpawnSyncReturns<string>, message: string): void {
      assert.equal(r.stderr, `vfp-emu: ${message}\n`);
      assert.equal(r.status, 2);
      assert.equal(sha1(trace), before, "the input's bytes are unchanged");
    }

    for (const flag of ['--out', '--verdicts', '--report']) {
      it(`${flag} naming the input trace`, () => {
        refused(run(['replay', trace, ...lessonCluster, flag, trace], tmp), `${flag} ${trace} is the same file as the trace ${trace}: refusing to overwrite it`);
      });
    }

    it('--out reaching the input through a symlink, a hard link, and ..', () => {
      fs.symlinkSync('capture.pcapng', path.join(tmp, 'link.pcapng'));
      fs.linkSync(trace, path.join(tmp, 'hard.pcapng'));
      fs.mkdirSync(path.join(tmp, 'sub'));
      for (const out of ['link.pcapng', 'hard.pcapng', 'sub/../capture.pcapng']) {
        refused(run(['replay', 'capture.pcapng', ...lessonCluster, '--out', out], tmp), `--out ${out} is the same file as the trace capture.pcapng: refusing to overwrite it`);
      }
    });

    it('--out naming the file the shell redirected into stdin (TRACE -)', () => {
      const fd = fs.openSync(trace, 'r');
      try {
        refused(run(['replay', '-', ...lessonCluster, '--out', trace], tmp, fd), `--out ${trace} is the same file as the trace -: refusing to overwrite it`);
      } finally {
        fs.closeSync(fd);
      }
    });

    it('--out equal to --verdicts (through a dangling symlink too): refused, neither file created', () => {
      fs.symlinkSync('both.out', path.join(tmp, 'dangling'));
      refused(run(['replay', trace, ...lessonCluster, '--verdicts', 'both.out', '--out', 'both.out'], tmp), '--out both.out is the same file as --verdicts both.out: refusing to overwrite it');
      refused(run(['replay', trace, ...lessonCluster, '--verdicts', 'both.out', '--out', 'dangling'], tmp), '--out dangling is the same file as --verdicts both.out: refusing to overwrite it');
      assert.ok(!fs.existsSync(path.join(tmp, 'both.out')));
    });

    it('--report equal to a --cluster file: refused, the cluster file unchanged', () => {
      const cluster = path.join(tmp, 'kubectl.json');
      fs.copyFileSync(l2bridge[0], cluster);
      const args = ['replay', trace, '--cluster', cluster, '--cluster', l2bridge[1], '--cluster', l2bridge[2], '--report', cluster];
      refused(run(args, tmp), `--report ${cluster} is the same file as --cluster ${cluster}: refusing to overwrite it`);
      assert.deepEqual(fs.readFileSync(cluster), fs.readFileSync(l2bridge[0]));
    });

    it('the embedded default: --out naming its default verdict file vfp-out/verdicts.jsonl', () => {
      refused(run(['replay', '--out', 'vfp-out/verdicts.jsonl'], tmp), '--out vfp-out/verdicts.jsonl is the same file as --verdicts vfp-out/verdicts.jsonl: refusing to overwrite it');
      assert.ok(!fs.existsSync(path.join(tmp, 'vfp-out', 'verdicts.jsonl')));
    });

    it('--report in a folder that is a file, or missing: exit 2 naming the folder, before any output is written', () => {
      fs.writeFileSync(path.join(tmp, 'afile'), 'x');
      for (const [report, folder, code] of [['afile/report.txt', 'afile', 'ENOTDIR'], ['missing/report.txt', 'missing', 'ENOENT']]) {
        const r = run(['replay', ...big, ...bigCluster, '--out', 'out.pcapng', '--report', report], tmp);
        assert.equal(r.stderr, `vfp-emu: --report ${report}: cannot create files in its folder ${folder} (${code})\n`);
        assert.equal(r.status, 2);
        assert.ok(!fs.existsSync(path.join(tmp, 'out.pcapng')), 'the replay did not run');
      }
    });

    it('--report naming a folder: exit 2 before any output is written', () => {
      fs.mkdirSync(path.join(tmp, 'reports'));
      const r = run(['replay', trace, ...lessonCluster, '--out', 'out.pcapng', '--report', 'reports'], tmp);
      assert.equal(r.stderr, 'vfp-emu: --report reports: is a folder; give a file name\n');
      assert.equal(r.status, 2);
      assert.ok(!fs.existsSync(path.join(tmp, 'out.pcapng')), 'the replay did not run');
    });
  });

  describe('a read-only folder and a full disk (tmpfs mounts in a mount namespace of their own: root only)', () => {
    /** `vfp-emu ARGS` run in `tmp` where ro/ is a read-only file system and full/ one with no space left. */
    function onSmallFs(args: string[], setup = ''): SpawnSyncReturns<string> {
      const script =
        'mkdir -p ro full && mount -t tmpfs -o ro,size=16k tmpfs ro && mount -t tmpfs -o size=16k tmpfs full || exit 99\n' +
        'head -c 1048576 /dev/zero > full/filler 2>/dev/null\n' +
        `${setup}\n` +
        'exec node "$@"';
      return spawnSync('unshare', ['-m', 'bash', '-c', script, 'bash', cli, ...args], { cwd: tmp, encoding: 'utf8' });
    }
    before(function () {
      if (spawnSync('unshare', ['-m', 'true']).status !== 0) this.skip();
    });
    afterEach(() => {
      for (const f of ['ro', 'full', 'out.pcapng', 'old.txt', 'link.txt']) fs.rmSync(path.join(tmp, f), { recursive: true, force: true });
    });

    it('--report in a read-only folder: exit 2 naming the folder (EROFS), before the replay runs', () => {
      const r = onSmallFs(['replay', ...big, ...bigCluster, '--out', 'out.pcapng', '--report', 'ro/report.txt']);
      assert.equal(r.stderr, 'vfp-emu: --report ro/report.txt: cannot create files in its folder ro (EROFS)\n');
      assert.equal(r.status, 2);
      assert.ok(!fs.existsSync(path.join(tmp, 'out.pcapng')), 'the replay did not run');
    });

    // (as root, access(2) lets every mode bit pass: a read-only bind mount of the file, or a read-only
    // file system under a symlink's target, is what refuses root)
    it('an existing --report/--out/--verdicts that cannot be written (a read-only bind mount): exit 2 before the replay runs', () => {
      for (const flag of ['--report', '--out', '--verdicts']) {
        fs.writeFileSync(path.join(tmp, 'old.txt'), 'old');
        const other = flag === '--out' ? ['--verdicts', 'out.pcapng'] : ['--out', 'out.pcapng'];
        const args = ['replay', ...big, ...bigCluster, ...other, flag, 'old.txt'];
        const r = onSmallFs(args, 'mount --bind -o ro old.txt old.txt || mount -o remount,bind,ro old.txt || exit 98');
        assert.notEqual(r.status, 98, 'read-only bind mount refused');
        assert.equal(r.stderr, `vfp-emu: ${flag} old.txt: cannot write it (EROFS)\n`);
        assert.equal(r.status, 2);
        assert.ok(!fs.existsSync(path.join(tmp, 'out.pcapng')), 'the replay did not run');
        assert.equal(fs.readFileSync(path.join(tmp, 'old.txt'), 'utf8'), 'old');
      }
    });

    it('--report a symlink whose target (there or not) is in a read-only folder: exit 2 before the replay runs', () => {
      for (const existing of [false, true]) {
        fs.rmSync(path.join(tmp, 'link.txt'), { force: true });
        fs.symlinkSync(path.join('ro', 'report.txt'), path.join(tmp, 'link.txt'));
        // an existing target: made on a writable mount, then that mount made read-only
        const setup = existing ? 'umount ro && mount -t tmpfs -o size=16k tmpfs ro && echo old > ro/report.txt && mount -o remount,ro ro || exit 98' : '';
        const r = onSmallFs(['replay', ...big, ...bigCluster, '--out', 'out.pcapng', '--report', 'link.txt'], setup);
        assert.notEqual(r.status, 98, 'remount refused');
        // (an existing target on a read-only file system is itself not writable: that is said first)
        const why = existing ? 'cannot write it' : `cannot create files in its folder ${path.join(fs.realpathSync(tmp), 'ro')}`;
        assert.equal(r.stderr, `vfp-emu: --report link.txt: ${why} (EROFS)\n`);
        assert.equal(r.status, 2);
        assert.ok(!fs.existsSync(path.join(tmp, 'out.pcapng')), 'the replay did not run');
      }
    });

    it('--report on a full disk: exit 2 naming the report and ENOSPC, not an internal error', () => {
      const r = onSmallFs(['replay', lessonTrace, ...lessonCluster, '--report', 'full/report.txt', '--summary', 'json']);
      assert.match(r.stderr, /^vfp-emu: full\/report\.txt: .*\(ENOSPC\)\n$/);
      assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
      assert.equal(r.status, 2);
    });
  });

  describe('outputs on the standard streams', () => {
    it('--verdicts /dev/stdout: stdout is JSONL alone, the summary goes to stderr (/dev/null for the others)', () => {
      const r = pipeTo(['replay', lessonTrace, ...lessonCluster, '--verdicts', '/dev/stdout', '--out', '/dev/null', '--report', '/dev/null'], 'cat', tmp);
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.trimEnd().split('\n');
      assert.equal(lines.length, 10);
      assert.deepEqual(lines.map((l) => (JSON.parse(l) as { packet: number }).packet), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      assert.match(r.stderr, /^10 packets in .*\nverdicts: delivered 4, forwarded 4, no-return 1, dropped 1/);
    });

    it('--verdicts /dev/stdout with --summary json: both want stdout, exit 2', () => {
      const r = run(['replay', lessonTrace, ...lessonCluster, '--verdicts', '/dev/stdout', '--summary', 'json'], tmp);
      assert.equal(r.stderr, 'vfp-emu: --verdicts /dev/stdout and --summary json both write stdout: give one of them a file, or drop --summary\n');
      assert.equal(r.status, 2);
      assert.equal(r.stdout, '');
    });

    it('--verdicts and --out both on /dev/stdout: exit 2', () => {
      const r = run(['replay', lessonTrace, ...lessonCluster, '--verdicts', '/dev/stdout', '--out', '/dev/stdout'], tmp);
      assert.equal(r.stderr, 'vfp-emu: --verdicts /dev/stdout and --out /dev/stdout both write stdout: give one of them a file\n');
      assert.equal(r.status, 2);
    });

    /** The CLI with fd `fd` (1 or 2) appended to `file`, as `>> file` / `2>> file`. */
    function appendedTo(args: string[], file: string, fd: 1 | 2): SpawnSyncReturns<string> {
      const f = fs.openSync(file, 'a');
      try {
        return spawnSync(process.execPath, [cli, ...args], { cwd: tmp, encoding: 'utf8', stdio: ['ignore', fd === 1 ? f : 'pipe', fd === 2 ? f : 'pipe'] });
      } finally {
        fs.closeSync(f);
      }
    }

    for (const name of ['/dev/stdout', '/dev/fd/1', '/proc/self/fd/1', '/dev/stderr', '/dev/fd/2', '/proc/self/fd/2']) {
      it(`--verdicts ${name} with that stream appended to the input trace: exit 2, the capture keeps its bytes`, () => {
        const trace = path.join(tmp, 'own.pcapng');
        fs.copyFileSync(lessonTrace, trace);
        const before = fs.readFileSync(trace);
        const fd = name.endsWith('1') || name.endsWith('stdout') ? 1 : 2;
        const r = appendedTo(['replay', trace, ...lessonCluster, '--verdicts', name], trace, fd);
        assert.equal(r.status, 2, `${r.stderr ?? ''}${r.stdout ?? ''}`);
        const message = `vfp-emu: --verdicts ${name} is the same file as the trace ${trace}: refusing to overwrite it\n`;
        // with stderr appended to the capture, the message itself lands there (the shell's doing): nothing else does
        const after = fs.readFileSync(trace);
        assert.ok(after.subarray(0, before.length).equals(before), 'the capture keeps its bytes');
        assert.equal(after.subarray(before.length).toString(), fd === 1 ? '' : message);
        if (fd === 1) assert.equal(r.stderr, message);
        fs.rmSync(trace);
      });
    }

    it('stdout redirected into the --cluster file or into --out: exit 2 naming both', () => {
      const cfg = path.join(tmp, 'cluster-copy.yaml');
      fs.copyFileSync(l2bridge[0], cfg);
      const before = sha1(cfg);
      const r = appendedTo(['replay', lessonTrace, '--cluster', cfg, ...lessonCluster.slice(2), '--verdicts', '/dev/stdout'], cfg, 1);
      assert.equal(r.stderr, `vfp-emu: --verdicts /dev/stdout is the same file as --cluster ${cfg}: refusing to overwrite it\n`);
      assert.equal(r.status, 2);
      assert.equal(sha1(cfg), before);
      const out = path.join(tmp, 'same.out');
      fs.writeFileSync(out, 'keep');
      const r2 = appendedTo(['replay', lessonTrace, ...lessonCluster, '--verdicts', '/dev/stdout', '--out', out], out, 1);
      assert.equal(r2.stderr, `vfp-emu: --out ${out} is the same file as --verdicts /dev/stdout: refusing to overwrite it\n`);
      assert.equal(r2.status, 2);
      assert.equal(fs.readFileSync(out, 'utf8'), 'keep');
      fs.rmSync(cfg);
      fs.rmSync(out);
    });

    it('--verdicts /dev/stdout > FILE: written to fd 1 itself (the same inode, appended after what was there, no temporary file)', () => {
      const out = path.join(tmp, 'redirected.jsonl');
      fs.writeFileSync(out, 'first line\n');
      const ino = fs.statSync(out).ino;
      const r = appendedTo(['replay', lessonTrace, ...lessonCluster, '--verdicts', '/dev/stdout'], out, 1);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(fs.statSync(out).ino, ino, 'not replaced by a rename');
      const lines = fs.readFileSync(out, 'utf8').trimEnd().split('\n');
      assert.equal(lines[0], 'first line');
      assert.equal(lines.length, 11);
      assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.endsWith('.tmp')), []);
      fs.rmSync(out);
    });

    it('decode through a pipe another process made non-blocking: every row arrives (EAGAIN is waited out)', function () {
      if (spawnSync('python3', ['-c', 'pass']).status !== 0) this.skip();
      // python3 sets O_NONBLOCK on the pipe's shared write end, as asyncio programs do; the reader is slow
      const nonblock = 'import os, fcntl; fcntl.fcntl(1, fcntl.F_SETFL, fcntl.fcntl(1, fcntl.F_GETFL) | os.O_NONBLOCK)';
      const script = `{ python3 -c "${nonblock}"; node "$@"; } | { sleep 0.5; wc -l; }; echo "\${PIPESTATUS[0]}" >&2`;
      const r = spawnSync('bash', ['-c', script, 'bash', cli, 'decode', ...big], { cwd: tmp, encoding: 'utf8' });
      assert.equal(r.stderr.trim(), '0');
      assert.equal(r.stdout.trim(), '20001');
    });
  });
});

/** stderr without the lines saying what --fail-on matched (replay.ts failOnText, issue 13). */
function withoutFailOn(stderr: string): string {
  return stderr.replace(/^vfp-emu: (--fail-on matched|first match:) .*\n/gm, '');
}

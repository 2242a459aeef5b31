/**
 * The bundled CLI (dist/bundle/vfp-emu.js, package.json `bin`, built by scripts/bundle.mjs in `npm run build`)
 * and the tsc build (dist/src/cli.js) give the same bytes: stdout, stderr, exit status and every output
 * file, on the embedded lesson, explain, rules, decode and bad input, so the bundle cannot drift from the
 * code the other tests check. The only bytes allowed to differ are the run's own timing (`N packets in
 * T s (R packets/s)`, `elapsed_s`, `pps`). And the bundle runs alone: copied without dist/src and
 * node_modules, it starts its worker bundle (`--workers 2`) and reads YAML through its yaml.js. V8 accepts
 * the code cache the build wrote for it (src/bundle-loader.ts): one it rejected would only cost time,
 * silently, so this is where it shows.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { CODE_CACHE_FILE, loadMain, MAIN_FILE } from '../src/bundle-loader';

const repo = path.resolve(__dirname, '..', '..');
const tscCli = path.join(repo, 'dist', 'src', 'cli.js');
const bundleDir = path.join(repo, 'dist', 'bundle');
const bundleCli = path.join(bundleDir, 'vfp-emu.js');
const T = (p: string): string => path.join(repo, 'traces', p);
const lessonTrace = T('04-icmp-lesson/trace.pcapng');
const l2bridge = ['kubectl.json', 'cni.conf', 'net-conf.json'].flatMap((f) => ['--cluster', T(`_clusters/l2bridge/${f}`)]);

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(cli: string, args: string[], cwd: string): Ran {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8' });
  return { status: r.status, stdout: timeless(r.stdout), stderr: r.stderr };
}

/**
 * The run's own timing, the one thing two runs of the same command may print differently, and the explain
 * commands' start, which says how this CLI was started (src/report/command.ts: `node dist/src/cli.js`,
 * `node dist/bundle/vfp-emu.js`).
 */
function timeless(text: string): string {
  return text
    .replace(/node \S+?(?:cli|vfp-emu)\.js explain/g, 'node CLI explain')
    .replace(/^(\d+ packets) in \d+\.\d+ s \(\d+ packets\/s\)$/gm, '$1 in T s (R packets/s)')
    .replace(/"elapsed_s":[0-9.e-]+,"pps":\d+/g, '"elapsed_s":T,"pps":R');
}

/** Every file under `dir` (relative path -> bytes, timing masked in text reports). */
/** dist/bundle copied alone to a folder of `tmp` (no dist/src, no node_modules beside it); its path. */
function bundleAlone(tmp: string): string {
  const alone = path.join(tmp, 'pkg', 'dist', 'bundle');
  fs.mkdirSync(alone, { recursive: true });
  for (const f of fs.readdirSync(bundleDir)) fs.copyFileSync(path.join(bundleDir, f), path.join(alone, f));
  return alone;
}

/**
 * `replay ARGS` run by the tsc build on one thread and by the copied-alone bundle in `alone` with --workers 2,
 * each in a new folder of `tmp`: the same exit status, stdout, stderr and files written.
 */
function sameAsTscWithTwoWorkers(tmp: string, alone: string, args: string[], label: string): void {
  const dirs = ['tsc', 'alone'].map((d) => fs.mkdtempSync(path.join(tmp, `${label}-${d}-`)));
  const a = run(tscCli, ['replay', ...args, '--workers', '1'], dirs[0]);
  const b = run(path.join(alone, 'vfp-emu.js'), ['replay', ...args, '--workers', '2'], dirs[1]);
  assert.equal(a.status, 0, a.stderr);
  assert.deepEqual(b, a);
  assert.deepEqual(files(dirs[1]), files(dirs[0]));
}

function files(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const p = path.join(dir, f);
    if (fs.statSync(p).isFile()) out.set(f, f.endsWith('.txt') ? timeless(fs.readFileSync(p, 'utf8')) : fs.readFileSync(p).toString('base64'));
  }
  return out;
}

describe('the bundled CLI (dist/bundle) against the tsc build', () => {
  let tmp: string;
  before(function () {
    assert.ok(fs.existsSync(bundleCli), `${bundleCli} is missing: npm run build makes it (tsc, then scripts/bundle.mjs)`);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-bundle-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** Runs both builds, each in a fresh folder of its own, and compares what they print and write. */
  function same(args: string[]): Ran {
    const dirs = ['tsc', 'bundle'].map((d) => fs.mkdtempSync(path.join(tmp, `${d}-`)));
    const a = run(tscCli, args, dirs[0]);
    const b = run(bundleCli, args, dirs[1]);
    assert.deepEqual(b, a, `vfp-emu ${args.join(' ')}`);
    assert.deepEqual(files(dirs[1]), files(dirs[0]), `vfp-emu ${args.join(' ')}: the files written`);
    return a;
  }

  it('the embedded lesson: the same story, table, summary and vfp-out/ files', () => {
    const r = same(['replay']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /icmp-not-transposed \(2\)/);
  });

  it('replay of a trace with --summary json and every output', () => {
    const r = same(['replay', T('09-views/trace.pcapng'), ...l2bridge, '--view', 'wire', '--summary', 'json', '--verdicts', 'v.jsonl', '--out', 'o.pcapng', '--report', 'r.txt']);
    assert.equal(r.status, 0, r.stderr);
  });

  it('explain, every packet of the lesson', () => {
    for (let n = 1; n <= 10; n++) assert.equal(same(['explain', lessonTrace, ...l2bridge, '--packet', String(n)]).status, 0);
  });

  it('rules (YAML and JSON inputs), decode (tsv and jsonl), help, version', () => {
    const overlay = ['kubectl.yaml', 'cni.conf', 'net-conf.json'].flatMap((f) => ['--cluster', T(`_clusters/overlay/${f}`)]);
    assert.equal(same(['rules', ...l2bridge]).status, 0);
    assert.equal(same(['rules', ...overlay, '--cluster', T('05-services/services.yaml'), '--node', 'win-1']).status, 0);
    assert.equal(same(['decode', lessonTrace]).status, 0);
    assert.equal(same(['decode', lessonTrace, '--format', 'jsonl']).status, 0);
    assert.equal(same(['help']).status, 0);
    assert.equal(same(['version']).status, 0);
  });

  it('bad input and bad usage: the same message and exit status', () => {
    const bad = path.join(tmp, 'bad.yaml');
    fs.writeFileSync(bad, 'kind: List\nitems: [\n');
    const r = same(['rules', '--cluster', bad]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /bad\.yaml/);
    assert.equal(same(['decode', T('_clusters/l2bridge/cni.conf')]).status, 2);
    assert.equal(same(['replay', '--workers', '0']).status, 2);
  });

  it('copied alone (no dist/src, no node_modules): --workers 2 starts its worker bundle; YAML is read through yaml.js', () => {
    const alone = bundleAlone(tmp);
    const args = [T('01-l2bridge/trace.pcapng'), ...l2bridge, '--cluster', T('01-l2bridge/win-3.yaml'), '--summary', 'json', '--verdicts', 'v.jsonl', '--out', 'o.pcapng'];
    sameAsTscWithTwoWorkers(tmp, alone, args, 'one');
  });

  it('copied alone: a multi-trace replay with --workers 2 starts its multi-worker bundle, same bytes as the tsc build', () => {
    const alone = bundleAlone(tmp);
    const caps = path.join(tmp, 'caps');
    fs.mkdirSync(caps, { recursive: true });
    for (const n of ['a', 'b', 'c']) fs.copyFileSync(T('01-l2bridge/trace.pcapng'), path.join(caps, `${n}.pcapng`));
    const args = [caps, ...l2bridge, '--cluster', T('01-l2bridge/win-3.yaml'), '--summary', 'json', '--verdicts', 'v', '--out', 'o'];
    sameAsTscWithTwoWorkers(tmp, alone, args, 'multi');
  });

  it('V8 accepts the code cache of main.js that the build wrote (src/bundle-loader.ts, scripts/code-cache.js)', () => {
    assert.ok(fs.existsSync(path.join(bundleDir, CODE_CACHE_FILE)), CODE_CACHE_FILE);
    const m = loadMain(bundleDir, createRequire(path.join(bundleDir, MAIN_FILE)));
    assert.equal(m.script.cachedDataRejected, false);
    assert.equal(typeof m.runAsMain, 'function');
    // a multi-trace replay's worker runs main.js with this cache too: its own file is only the loader
    assert.equal(typeof m.runMultiWorker, 'function');
    assert.ok(fs.statSync(path.join(bundleDir, 'multi-worker.js')).size < 16 << 10, 'multi-worker.js is a loader, not a second copy of the CLI');
  });
});

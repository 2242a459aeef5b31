/**
 * What a replay loads (issue 12, start-up of a replay): a decide-only run (no --out, no --verdicts) never
 * loads the output encoders' modules (src/pipeline/encoders.ts: out-trace-encoder, verdict-encoder and
 * bytes.ts with its digit tables); a run with outputs loads them, and its summary is the decide-only one.
 * The tsc build (dist/src/cli.js) is spawned and the files in its `require.cache` are listed at exit
 * through a --require file (the bundle has the same modules inside one file: scripts/bundle.mjs).
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const repo = path.resolve(__dirname, '..', '..');
const cli = path.join(repo, 'dist', 'src', 'cli.js');
const lessonTrace = path.join(repo, 'traces', '04-icmp-lesson', 'trace.pcapng');
const l2bridge = ['kubectl.json', 'cni.conf', 'net-conf.json'].flatMap((f) => ['--cluster', path.join(repo, 'traces', '_clusters', 'l2bridge', f)]);
const ENCODERS = ['out-trace-encoder.js', 'verdict-encoder.js', 'bytes.js'];

describe('replay: the output encoders load only for an output', function () {
  this.timeout(120000);
  let dir = '';
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-replay-lazy-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** The src/pipeline files a replay with `extra` loaded, and its summary (timings cut). */
  function run(extra: string[]): { pipeline: string[]; summary: string } {
    const list = path.join(dir, 'modules.txt');
    const hook = path.join(dir, 'hook.js');
    fs.writeFileSync(hook, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(list)}, Object.keys(require.cache).join('\\n')));\n`);
    const r = spawnSync(process.execPath, ['--require', hook, cli, 'replay', lessonTrace, ...l2bridge, '--summary', 'json', '--workers', '1', ...extra], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const files = fs.readFileSync(list, 'utf8').split('\n');
    assert.ok(files.some((f) => f.endsWith(path.join('pipeline', 'replay-loop.js'))), 'the list was written');
    const pipeline = files.filter((f) => path.basename(path.dirname(f)) === 'pipeline').map((f) => path.basename(f));
    return { pipeline, summary: r.stdout.replace(/"(elapsed_s|pps)":[0-9.e+-]+/g, '') };
  }

  it('decide-only loads none of them; --out and --verdicts load them and count the same', () => {
    const decide = run([]);
    assert.deepEqual(decide.pipeline.filter((f) => ENCODERS.includes(f)), []);
    const out = run(['--out', path.join(dir, 'out.pcapng'), '--verdicts', path.join(dir, 'v.jsonl')]);
    assert.deepEqual(out.pipeline.filter((f) => ENCODERS.includes(f)).sort(), [...ENCODERS].sort());
    assert.equal(out.summary, decide.summary);
  });
});

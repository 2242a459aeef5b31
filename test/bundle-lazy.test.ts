/**
 * What the bundled CLI (dist/bundle/vfp-emu.js) loads at start-up (issue 12, start-up): a run on one thread
 * (the embedded lesson, decode) never loads node:worker_threads nor node:os (scripts/bundle.mjs
 * lazyBuiltins: they load on their first use), and a replay with --workers 2 still starts its worker and
 * gives the same summary as with one thread. Node's list of the built-in modules it loaded
 * (process.moduleLoadList) is read at the child's exit through a --require file.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const repo = path.resolve(__dirname, '..', '..');
const bundleCli = path.join(repo, 'dist', 'bundle', 'vfp-emu.js');
const lessonTrace = path.join(repo, 'traces', '04-icmp-lesson', 'trace.pcapng');
const l2bridge = ['kubectl.json', 'cni.conf', 'net-conf.json'].flatMap((f) => ['--cluster', path.join(repo, 'traces', '_clusters', 'l2bridge', f)]);

/** The built-in modules a run of the bundle with `args` loaded, and its stdout. */
function loaded(args: string[], dir: string): { modules: string[]; stdout: string } {
  const list = path.join(dir, 'modules.txt');
  const hook = path.join(dir, 'hook.js');
  fs.writeFileSync(hook, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(list)}, process.moduleLoadList.join('\\n')));\n`);
  const r = spawnSync(process.execPath, ['--require', hook, bundleCli, ...args], { cwd: dir, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return { modules: fs.readFileSync(list, 'utf8').split('\n'), stdout: r.stdout };
}

describe('bundle start-up: built-in modules loaded on first use', function () {
  this.timeout(120000);
  let dir = '';
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-lazy-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const [name, args] of [
    ['the embedded lesson', ['replay']],
    ['decode', ['decode', lessonTrace]],
    ['replay --workers 1', ['replay', lessonTrace, ...l2bridge, '--summary', 'json', '--workers', '1']],
  ] as const) {
    it(`${name} loads neither worker_threads nor os`, () => {
      const { modules } = loaded([...args], dir);
      assert.ok(modules.includes('NativeModule fs'), 'the list was written');
      assert.deepEqual(modules.filter((m) => m === 'NativeModule worker_threads' || m === 'NativeModule os'), []);
    });
  }

  it('replay --workers 2 loads worker_threads and gives the same summary as one thread', () => {
    const strip = (s: string) => s.replace(/"(elapsed_s|pps)":[0-9.e+-]+/g, '');
    const one = loaded(['replay', lessonTrace, ...l2bridge, '--summary', 'json', '--workers', '1'], dir);
    const two = loaded(['replay', lessonTrace, ...l2bridge, '--summary', 'json', '--workers', '2'], dir);
    assert.ok(two.modules.includes('NativeModule worker_threads'));
    assert.equal(strip(two.stdout), strip(one.stdout));
  });
});

/**
 * bench/compare-builds.ts stops on Ctrl-C (issue 12): it builds the old revision in a temporary git
 * worktree and runs the benches as child processes; a SIGINT must stop the running child, remove the
 * worktree and exit 130 (before, the signal waited behind spawnSync and the comparison ran on).
 * The SIGINT is sent to the compare process alone (as `kill -INT`): the forwarding is what is tested.
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const repo = path.resolve(__dirname, '..', '..');
const script = path.join(repo, 'dist', 'bench', 'compare-builds.js');

describe('bench:compare and Ctrl-C', () => {
  it('forwards SIGINT to the running build, removes its temporary worktree and exits 130', async function () {
    if (spawnSync('git', ['rev-parse', 'HEAD'], { cwd: repo }).status !== 0) this.skip(); // not a git checkout
    const child = spawn(process.execPath, [script, 'HEAD', '--rounds', '1', '--no-e2e', '--no-1m'], { cwd: repo });
    let err = '';
    let dir = '';
    const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await new Promise<void>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString('utf8');
        const m = /building HEAD \([0-9a-f]+\) in (\S+) \.\.\./.exec(err);
        if (m !== null && dir === '') {
          dir = m[1];
          resolve();
        }
      });
      child.on('close', () => resolve());
    });
    assert.notEqual(dir, '', `no build started:\n${err}`);
    assert.ok(fs.existsSync(dir), 'the temporary worktree exists while it builds');
    child.kill('SIGINT');
    const code = await done;
    assert.equal(code, 130, err);
    assert.match(err, /SIGINT: stopping the running bench/);
    assert.ok(!fs.existsSync(dir), `${dir} is removed`);
    const list = spawnSync('git', ['worktree', 'list', '--porcelain'], { cwd: repo, encoding: 'utf8' }).stdout;
    assert.ok(!list.includes(dir), `${dir} is no longer a worktree:\n${list}`);
  });
});

/**
 * Parse limits of cluster inputs (src/cluster/limits.ts): hostile or broken files are bad input (an
 * InputError naming the file and the byte offset or field path; exit 2 from the CLI), never an internal
 * error, a stack overflow or memory without end.
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InputError } from '../src/core/errors';
import { loadCluster, parseClusterText } from '../src/cluster';
import { MAX_NESTING, MAX_STRING_CHARS } from '../src/cluster/limits';

const cli = path.resolve(__dirname, '..', 'src', 'cli.js');

function inputError(fn: () => unknown): InputError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof InputError, `expected an InputError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected an InputError, nothing was thrown');
}

/** `a: &a [x,...]`, then 8 levels each listing the previous anchor 9 times: 9^9 nodes when expanded. */
function aliasBomb(): string {
  const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x]'];
  for (let k = 1; k <= 8; k++) lines.push(`a${k}: &a${k} [${Array(9).fill(`*a${k - 1}`).join(', ')}]`);
  return lines.join('\n') + '\n';
}

describe('cluster: parse limits (hostile inputs are exit 2, naming the file)', () => {
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-limits-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const write = (name: string, text: string) => {
    const f = path.join(tmp, name);
    fs.writeFileSync(f, text);
    return f;
  };
  const runCli = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60000 });

  it('a YAML alias bomb: "too many aliases", exit 2 from rules (was internal error, exit 70)', () => {
    const e = inputError(() => parseClusterText('bomb.yaml', aliasBomb()));
    assert.match(e.message, /^bomb\.yaml at \(document\): too many aliases/);
    const r = runCli(['rules', '--cluster', write('bomb.yaml', aliasBomb())]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^vfp-emu: .*bomb\.yaml at \(document\): too many aliases/);
    assert.doesNotMatch(r.stderr, /internal error|    at /);
  });

  it('an alias whose anchor is not defined (`healthzBindAddress: *.0.0.0:10256`): named with its line and column and a hint to quote, not "too many aliases"', () => {
    const text = 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nhealthzBindAddress: *.0.0.0:10256\n';
    const e = inputError(() => parseClusterText('kp.yaml', text));
    assert.equal(e.offset, text.indexOf('*'));
    assert.match(e.message, /^kp\.yaml at byte offset 94: YAML alias `\*\.0\.0\.0:10256` refers to an anchor `&\.0\.0\.0:10256` that is not defined before it \(line 3, column 21\); a value that starts with `\*` must be quoted in YAML/);
    assert.doesNotMatch(e.message, /too many aliases|alias bomb/);
    const r = runCli(['rules', '--cluster', write('kp.yaml', text)]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^vfp-emu: .*kp\.yaml at byte offset 94: YAML alias `\*\.0\.0\.0:10256` refers to an anchor .* not defined .*\(line 3, column 21\).*must be quoted/);
    assert.doesNotMatch(r.stderr, /too many aliases|internal error|    at /);
  });

  it('an undefined alias inside a ConfigMap key: named with the key, not "too many aliases"', () => {
    const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kube-proxy, namespace: kube-system}\ndata:\n  config.yaml: |\n    healthzBindAddress: *:10256\n';
    const e = inputError(() => parseClusterText('cm.yaml', cm));
    assert.equal(e.fieldPath, 'data["config.yaml"]');
    assert.match(e.message, /YAML alias `\*:10256` refers to an anchor `&:10256` that is not defined before it; a value that starts with `\*` must be quoted/);
    assert.doesNotMatch(e.message, /too many aliases/);
  });

  it('an alias bomb inside a ConfigMap key is refused naming that key (was skipped in silence)', () => {
    const inner = aliasBomb().split('\n').map((l) => `      ${l}`).join('\n');
    const cm = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kube-proxy, namespace: kube-system}\ndata:\n  config.yaml: |\n${inner}\n`;
    const e = inputError(() => parseClusterText('cm.yaml', cm));
    assert.equal(e.fieldPath, 'data["config.yaml"]');
    assert.match(e.message, /too many aliases/);
  });

  it('invalid JSON nested 8,000 deep: the byte offset of the bracket one level too deep (was a stack overflow, exit 70)', () => {
    const e = inputError(() => parseClusterText('deep.json', '['.repeat(8000)));
    assert.equal(e.offset, MAX_NESTING);
    assert.match(e.message, /nest more than 256 levels deep/);
    const r = runCli(['rules', '--cluster', write('deep.json', '['.repeat(8000))]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /deep\.json at byte offset 256: lists and objects nest more than 256 levels/);
  });

  it('valid JSON and YAML nested past the limit, and a YAML alias to its own ancestor: the field path', () => {
    const json = inputError(() => parseClusterText('deep.json', `{"a":${'['.repeat(300)}${']'.repeat(300)}}`));
    assert.match(json.fieldPath ?? '', /^a\[0\]\[0\].*\(256 levels\)$/);
    const yaml = inputError(() => parseClusterText('deep.yaml', `a: ${'['.repeat(400)}${']'.repeat(400)}\n`));
    assert.match(yaml.fieldPath ?? '', /^a\[0\]/);
    assert.match(yaml.message, /nest more than 256 levels/);
    const cyc = inputError(() => parseClusterText('cycle.yaml', 'a: &a [1, *a]\n'));
    assert.match(cyc.fieldPath ?? '', /^a\[1\]\[1\]/);
  });

  it('YAML deeper than its parser can follow: nesting too deep at a byte offset (not "Maximum call stack size exceeded")', () => {
    const e = inputError(() => parseClusterText('deep.yaml', `a: ${'['.repeat(8000)}${']'.repeat(8000)}\n`));
    assert.ok(e.offset !== undefined && e.offset > 0);
    assert.match(e.message, /nest deeper than the YAML parser can follow/);
    assert.doesNotMatch(e.message, /call stack/);
  });

  it('a YAML complex key (`? [hello]`): bad input at its line and column, with no Node warning on stderr (was used as the text "[hello]")', () => {
    const text = 'apiVersion: v1\nkind: List\nitems:\n  - ? [hello]\n    : 1\n';
    const e = inputError(() => parseClusterText('complex.yaml', text));
    assert.match(e.message, /map key that is a list or a map.*\(line 4, column 7\)/);
    const f = write('complex.yaml', text);
    const r = runCli(['rules', '--cluster', f]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^vfp-emu: .*complex\.yaml at byte offset 39: a map key that is a list or a map/);
    assert.doesNotMatch(r.stderr, /Warning|stringified/);
  });

  it('a string over 1 MiB: the field path', () => {
    const text = `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${'a'.repeat(MAX_STRING_CHARS + 1)}\n`;
    const e = inputError(() => parseClusterText('long.yaml', text));
    assert.equal(e.fieldPath, 'metadata.name');
    assert.match(e.message, /1048577 characters long, more than the limit of 1048576/);
  });

  it('file size: a file over --max-config-bytes and /dev/zero stop at the cap (exit 2, the offset)', () => {
    const f = write('big.yaml', `# ${'x'.repeat(5000)}\napiVersion: v1\n`);
    const e = inputError(() => loadCluster([f], { maxConfigBytes: 4096 }));
    assert.equal(e.offset, 4096);
    assert.match(e.message, /larger than 4096 bytes.*--max-config-bytes/);
    const r = runCli(['rules', '--cluster', '/dev/zero', '--max-config-bytes', '100000']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^vfp-emu: \/dev\/zero at byte offset 100000: the file is larger than 100000 bytes/);
    // the default cap (64 MiB) holds too: /dev/zero never ends, yet the run ends with exit 2
    const d = runCli(['rules', '--cluster', '/dev/zero']);
    assert.equal(d.status, 2, d.stderr);
    assert.match(d.stderr, /at byte offset 67108864: the file is larger than 67108864 bytes/);
  });

  it('a FIFO that never ends stops at the cap', function () {
    const fifo = path.join(tmp, 'fifo');
    if (spawnSync('mkfifo', [fifo]).status !== 0) this.skip();
    const writer = spawn('sh', ['-c', `yes 'x: 1' > '${fifo}'`], { stdio: 'ignore' });
    try {
      const r = runCli(['rules', '--cluster', fifo, '--max-config-bytes', '65536']);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /fifo at byte offset 65536: the file is larger than 65536 bytes/);
    } finally {
      writer.kill();
    }
  });
});

/**
 * A kubectl List in a JSON file is streamed (src/cluster/stream-list.ts, issue 12): never held whole, yet the
 * user sees what the whole-text reader gives: the same model, the same errors (file, byte offset or field
 * path, line and column), a List larger than --max-config-bytes read, memory bounded by one item.
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InputError } from '../src/core/errors';
import { loadCluster } from '../src/cluster';
import { Draft } from '../src/cluster/draft';
import { MAX_NESTING, MAX_STRING_CHARS } from '../src/cluster/limits';
import { importStreamedList } from '../src/cluster/stream-list';
import { clusterList, makeLayout } from '../src/gen/layout';

const FIXTURES = path.resolve(__dirname, '..', '..', 'test', 'fixtures-cluster');

function allFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? allFiles(path.join(dir, d.name)) : [path.join(dir, d.name)]));
}

/** The model as JSON, or the error message: what a user sees. */
function outcome(files: string[], stream: boolean, max?: number): string {
  try {
    return JSON.stringify(loadCluster(files, { streamLists: stream, maxConfigBytes: max }));
  } catch (e) {
    if (e instanceof InputError) return `InputError ${e.message} offset=${String(e.offset)} path=${String(e.fieldPath)}`;
    throw e;
  }
}

/** The streamed reader's own error (no fall-back to the whole-text reader: the cap is below the file's size). */
function streamedError(file: string): InputError {
  const fd = fs.openSync(file, 'r');
  try {
    importStreamedList(file, fd, fs.fstatSync(fd).size, new Draft(), 16);
  } catch (e) {
    assert.ok(e instanceof InputError, String(e));
    return e;
  } finally {
    fs.closeSync(fd);
  }
  assert.fail('expected an InputError');
}

describe('cluster: a kubectl List in JSON is streamed', () => {
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-stream-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const write = (name: string, text: string | Buffer): string => {
    const f = path.join(tmp, name);
    fs.writeFileSync(f, text);
    return f;
  };
  const list = clusterList(makeLayout({ windowsNodes: 3 })) as { items: object[] };
  const pretty = JSON.stringify(list, null, 4);

  it('gives the model the whole-text reader gives, for every fixture and generated Lists (indented, compact, BOM, typed)', () => {
    const files = allFiles(FIXTURES);
    files.push(write('pretty.json', pretty), write('compact.json', JSON.stringify(list)), write('bom.json', `\uFEFF${pretty}`));
    // a PodList from the API (its items have no kind), and a List whose kind comes before items
    const pods = list.items.filter((o) => (o as { kind: string }).kind === 'Pod').map((o) => ({ ...o, kind: undefined }));
    files.push(write('podlist.json', JSON.stringify({ apiVersion: 'v1', items: pods, kind: 'PodList', metadata: {} }, null, 2)));
    files.push(write('kind-first.json', JSON.stringify({ kind: 'List', apiVersion: 'v1', items: list.items })));
    let streamed = 0;
    for (const f of files) {
      assert.equal(outcome([f], true), outcome([f], false), f);
      if (f.endsWith('.json') && !outcome([f], true).startsWith('InputError')) streamed++;
    }
    assert.ok(streamed > 10, `${streamed} JSON files read`);
    // several files in order: the later one wins, as before
    const two = [path.join(FIXTURES, 'kubectl-list.json'), files[files.length - 1]];
    assert.equal(outcome(two, true), outcome(two, false));
  });

  /** Texts of the List with one syntax error each (what, text). */
  const badJsonCases = (): [string, string][] => {
    const at = (s: string, find: string, k = 0): number => {
      let i = -1;
      for (let n = 0; n <= k; n++) i = s.indexOf(find, i + 1);
      assert.ok(i >= 0, find);
      return i;
    };
    const item = at(pretty, '"kind": "Pod"', 3);
    const cases: [string, string][] = [
      ['a comma too many in an item', pretty.slice(0, item) + ',' + pretty.slice(item)],
      ['a literal misspelt', pretty.replace(/: true([,\n])/, ': tru$1')],
      ['a bad escape', pretty.slice(0, item) + '"x\\q": 1, ' + pretty.slice(item)],
      ['a bad \\u escape', pretty.slice(0, item) + '"x\\u12g4": 1, ' + pretty.slice(item)],
      ['a number with a leading zero', pretty.replace(/"port": (\d+)/, '"port": 0$1')],
      ['a control character in a string', pretty.slice(0, item + 9) + '\t' + pretty.slice(item + 9)],
      ['a missing comma between items', pretty.replace(/\n {8}\},\n {8}\{/, '\n        }\n        {')],
      ['a bracket of the wrong kind', pretty.replace(/\n {16}\]/, '\n                }')],
      ['the file cut short', pretty.slice(0, Math.floor(pretty.length / 2))],
      ['in the envelope before the items', pretty.replace('"apiVersion": "v1"', '"apiVersion" "v1"')],
      ['in the envelope after the items', pretty.replace('"kind": "List"', '"kind": List')],
      ['text after the root', `${pretty}\nx`],
      ['a non-ASCII character before the error on its line', pretty.replace('"kind": "List"', '"kind": "Lïst", x')],
      ['nesting too deep, then an error', pretty.slice(0, item) + '"x": ' + '['.repeat(MAX_NESTING + 5) + '}' + pretty.slice(item)],
      ['a UTF-8 byte-order mark first', `\uFEFF${pretty.replace(/: true([,\n])/, ': tru$1')}`],
    ];
    return cases;
  };

  it('bad JSON: the streamed reader names the byte offset, line and column the whole-text reader names', () => {
    const cases = badJsonCases();
    for (const [what, text] of cases) {
      assert.notEqual(text, pretty, what);
      const f = write('bad.json', text);
      const whole = outcome([f], false);
      assert.match(whole, /^InputError .* offset=\d+/s, what);
      // read as a file under the cap: the whole-text reader's words
      assert.equal(outcome([f], true), whole, what);
      const e = streamedError(f);
      const [, line, offset] = /(\(line \d+, column \d+\)).* offset=(\d+)/s.exec(whole)!;
      assert.equal(String(e.offset), offset, `${what}: ${e.message} / ${whole}`);
      assert.ok(e.message.includes(line), `${what}: ${e.message} / ${whole}`);
      assert.equal(e.file, f);
    }
  });

  it('the CLI: bad JSON in a List over --max-config-bytes is exit 2 naming the file, byte offset, line and column', () => {
    const item = pretty.indexOf('"kind": "Pod"');
    const f = write('cli-bad.json', pretty.slice(0, item) + ',' + pretty.slice(item));
    const cli = path.resolve(__dirname, '..', 'src', 'cli.js');
    const r = spawnSync(process.execPath, [cli, 'rules', '--cluster', f, '--max-config-bytes', '4096'], { encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    const whole = outcome([f], false);
    const [, line, offset] = /(\(line \d+, column \d+\)).* offset=(\d+)/s.exec(whole)!;
    assert.match(r.stderr, new RegExp(`^vfp-emu: ${f} at byte offset ${offset}: not valid JSON: .*${line.replace(/[()]/g, '\\$&')}`));
    assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
  });

  it('a bad field: the same field path, line and column (streamed items are located in their own text)', () => {
    const svc = pretty.indexOf('"kind": "Service"');
    const port = pretty.indexOf('"port": ', svc);
    const cases: [string, string][] = [
      ['a port that is a word', pretty.slice(0, port) + '"port": "http", "x": ' + pretty.slice(port + 8)],
      ['an item that is no object', pretty.replace(/\{\n {12}"apiVersion": "v1",\n {12}"kind": "Pod"/, '7, {"apiVersion": "v1", "kind": "Pod"')],
      ['an item without kind', pretty.replace('"kind": "Pod",', '')],
      ['a compact file (an item mid-line)', JSON.stringify(list).replace(/"port":(\d+)/, '"port":"ïx"')],
      ['the envelope kind is no string', pretty.replace('"kind": "List"', '"kind": 5')],
    ];
    for (const [what, text] of cases) {
      const f = write('field.json', text);
      const whole = outcome([f], false);
      assert.match(whole, /^InputError .*path=(?!undefined)/, `${what}: ${whole}`);
      assert.equal(outcome([f], true), whole, what);
    }
  });

  it('limits: a string over 1 MiB and nesting over the limit in an item name the same field as before', () => {
    const item = pretty.indexOf('"kind": "Pod"');
    const long = write('long.json', pretty.slice(0, item) + `"x": "${'a'.repeat(MAX_STRING_CHARS + 1)}", ` + pretty.slice(item));
    const whole = outcome([long], false, 1 << 26);
    assert.match(whole, /items\[\d+\]\.x: this string is 1048577 characters long/);
    assert.equal(outcome([long], true, 1 << 26), whole);
    const deep = write('deep.json', pretty.slice(0, item) + `"x": ${'['.repeat(MAX_NESTING)}${']'.repeat(MAX_NESTING)}, ` + pretty.slice(item));
    const d = outcome([deep], false);
    assert.match(d, /nest more than 256 levels/);
    assert.equal(outcome([deep], true), d);
    // a limit error in a later item comes before a field error in an earlier one, as before
    const both = write('both.json', fs.readFileSync(long, 'utf8').replace(/"podCIDR": "/, '"podCIDR": "x'));
    assert.match(outcome([both], false, 1 << 26), /1048577 characters long/);
    assert.equal(outcome([both], true, 1 << 26), outcome([both], false, 1 << 26));
  });

  it('a List larger than --max-config-bytes is read (each item is what is held); an item larger than it is refused at its offset', () => {
    const f = write('big.json', pretty);
    const max = 8192;
    assert.match(outcome([f], false, max), /larger than 8192 bytes/);
    assert.equal(outcome([f], true, max), outcome([f], false, 1 << 26));
    const big = JSON.stringify({ apiVersion: 'v1', items: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'y' }, data: { a: 'b'.repeat(10000) } }], kind: 'List' });
    const g = write('big-item.json', big);
    assert.match(outcome([g], true, max), /InputError .* at byte offset 28: items\[0\] is 10\d+ bytes long, more than 8192 bytes.* offset=28/);
  });

  it('memory: a 60 MB dump of pods with bulky fields no decision reads loads in a 48 MB heap', function () {
    // Each pod carries 24 KB of managedFields-like bulk: held whole, the text alone would not fit the heap.
    const f = path.join(tmp, 'bulky.json');
    const fd = fs.openSync(f, 'w');
    const bulk = Array.from({ length: 200 }, (_, k) => ({ manager: `m${k}`, operation: 'Update', fieldsV1: { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } } } }));
    fs.writeSync(fd, '{"apiVersion": "v1", "items": [');
    for (let k = 0; k < 3000; k++) {
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: `p-${k}`, namespace: 'default', managedFields: bulk }, spec: { nodeName: 'n1' }, status: { phase: 'Running', podIP: `10.${(k >> 8) & 255}.${k & 255}.9` } };
      fs.writeSync(fd, (k > 0 ? ',' : '') + JSON.stringify(pod));
    }
    fs.writeSync(fd, '], "kind": "List", "metadata": {}}');
    fs.closeSync(fd);
    assert.ok(fs.statSync(f).size > 55e6);
    const script = `const { loadCluster } = require(${JSON.stringify(path.resolve(__dirname, '..', 'src', 'cluster'))}); const c = loadCluster([${JSON.stringify(f)}], { streamLists: process.argv[1] === 'stream', maxConfigBytes: 2 ** 30 }); console.log(c.pods.length);`;
    const run = (mode: string) => spawnSync(process.execPath, ['--max-old-space-size=48', '-e', script, mode], { encoding: 'utf8' });
    const r = run('stream');
    assert.equal(r.status, 0, r.stderr.slice(-2000));
    assert.equal(r.stdout.trim(), '3000');
    // the same file read whole does not fit (the test can fail)
    assert.notEqual(run('whole').status, 0);
  });

  describe('on standard input and through a FIFO (copied as read, then streamed: src/cluster/spool.ts)', () => {
    const clusterDir = path.resolve(__dirname, '..', 'src', 'cluster');
    const errorsFile = path.resolve(__dirname, '..', 'src', 'core', 'errors');
    const script = `const { loadClusterFiles } = require(${JSON.stringify(clusterDir + '/load')}); const { InputError } = require(${JSON.stringify(errorsFile)});
const [mode, max, file] = process.argv.slice(1);
try { const r = loadClusterFiles([file], { streamLists: mode === 'stream', maxConfigBytes: max === '-' ? undefined : Number(max) }); console.log(JSON.stringify(r.cluster) + ' ' + r.digests[0]); }
catch (e) { if (!(e instanceof InputError)) throw e; console.log('InputError ' + e.message + ' offset=' + String(e.offset) + ' path=' + String(e.fieldPath)); }`;
    /** What a user sees loading `text` given on stdin (`-`), in a child process whose temporary folder is `tmpDir`. */
    const viaStdin = (text: string | Buffer, stream = true, max?: number, tmpDir = tmp, heapMb?: number): string => {
      const r = spawnSync(process.execPath, [...(heapMb !== undefined ? [`--max-old-space-size=${heapMb}`] : []), '-e', script, stream ? 'stream' : 'whole', String(max ?? '-'), '-'], { input: text, encoding: 'utf8', env: { ...process.env, TMPDIR: tmpDir }, maxBuffer: 1 << 30 });
      assert.equal(r.status, 0, r.stderr.slice(-2000));
      return r.stdout.trim();
    };
    /** The same for the file `f` (its name written `-`, as stdin's is). */
    const viaFile = (f: string, stream = true, max?: number): string => {
      const r = spawnSync(process.execPath, ['-e', script, stream ? 'stream' : 'whole', String(max ?? '-'), f], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim().split(f).join('-');
    };

    it('a List: the model and the digest of the file; bad JSON: the file\'s byte offset, line and column, under the cap and over it', () => {
      const f = write('stdin-list.json', pretty);
      assert.equal(viaStdin(pretty), viaFile(f));
      assert.equal(viaStdin(pretty, true, 4096), viaFile(f, true, 4096), 'a List larger than the cap is read from stdin as from a file');
      assert.match(viaStdin(pretty, false, 4096), /larger than 4096 bytes/, 'read whole it is refused (the test can fail)');
      for (const [what, text] of badJsonCases()) {
        const g = write('stdin-bad.json', text);
        const whole = viaFile(g, false);
        assert.match(whole, /^InputError - at byte offset \d+: .*\(line \d+, column \d+\).* offset=\d+/s, what);
        assert.equal(viaStdin(text), whole, `${what}: under the cap, the whole-text reader's words`);
        // over the cap (no element nor the envelope over it: a stream stops at the cap, spool.ts)
        assert.equal(viaStdin(text, true, 4096), viaFile(g, true, 4096), `${what}: over the cap, the streamed reader's offset, line and column`);
        assert.match(viaFile(g, true, 4096), /not valid JSON|nest more/, what);
      }
      assert.deepEqual(fs.readdirSync(tmp).filter((n) => n.startsWith('vfp-emu-cluster-')), [], 'no copy left behind, after errors too');
    });

    it('a bad field: the same field path, line and column as the file', () => {
      const svc = pretty.indexOf('"kind": "Service"');
      const port = pretty.indexOf('"port": ', svc);
      for (const text of [pretty.slice(0, port) + '"port": "http", "x": ' + pretty.slice(port + 8), pretty.replace('"kind": "Pod",', ''), pretty.replace('"kind": "List"', '"kind": 5')]) {
        const g = write('stdin-field.json', text);
        const seen = viaStdin(text);
        assert.match(seen, /^InputError .*path=(?!undefined)/, seen);
        assert.equal(seen, viaFile(g));
        assert.equal(viaStdin(text, true, 4096), viaFile(g, true, 4096));
      }
    });

    it('what is no JSON List is read whole as before: YAML, UTF-16, JSON that is no List, a stream that never stops being no JSON', () => {
      const yaml = path.resolve(__dirname, '..', '..', 'traces', '_clusters', 'overlay', 'kubectl.yaml');
      assert.equal(viaStdin(fs.readFileSync(yaml)), viaFile(yaml));
      const utf16 = write('utf16.json', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(pretty, 'utf16le')]));
      assert.equal(viaStdin(fs.readFileSync(utf16)), viaFile(utf16));
      const net = path.join(FIXTURES, 'kube-flannel-net-conf.json');
      assert.equal(viaStdin(fs.readFileSync(net)), viaFile(net));
      // `{` then no JSON for ever: read to the cap and no further
      const endless = spawnSync('sh', ['-c', 'yes "{" | "$0" -e "$1" stream 4096 -', process.execPath, script], { encoding: 'utf8', env: { ...process.env, TMPDIR: tmp }, timeout: 60_000 });
      assert.equal(endless.status, 0, endless.stderr);
      assert.match(endless.stdout, /^InputError - at byte offset 2: not valid JSON: .*\(line 2, column 1\)/);
    });

    it('memory: a 60 MB dump piped in loads in a 48 MB heap; through a FIFO too, with the file\'s digest', function () {
      const f = path.join(tmp, 'bulky.json'); // written by the memory test above
      if (!fs.existsSync(f)) this.skip();
      const own = fs.mkdtempSync(path.join(tmp, 'own-tmp-'));
      const r = viaStdin(fs.readFileSync(f), true, 2 ** 30, own, 48);
      assert.match(r, / [0-9a-f]{64}$/, r.slice(0, 300));
      const digest = r.slice(-64);
      const fifo = path.join(tmp, 'bulky.fifo');
      spawnSync('mkfifo', [fifo]);
      const viaFifo = spawnSync('sh', ['-c', 'cat "$1" > "$2" & exec "$0" --max-old-space-size=48 -e "$3" stream 1073741824 "$2"', process.execPath, f, fifo, script], { encoding: 'utf8', env: { ...process.env, TMPDIR: own }, maxBuffer: 1 << 30 });
      assert.equal(viaFifo.status, 0, viaFifo.stderr.slice(-2000));
      assert.equal(viaFifo.stdout.trim().slice(-64), digest);
      assert.deepEqual(fs.readdirSync(own), [], 'the copies are removed');
      // read whole from stdin, the same dump does not fit (the test can fail)
      const whole = spawnSync(process.execPath, ['--max-old-space-size=48', '-e', script, 'whole', String(2 ** 30), '-'], { input: fs.readFileSync(f), encoding: 'utf8' });
      assert.notEqual(whole.status, 0);
    });

    it('a stream is refused as soon as it passes a cap: its own fields over --max-config-bytes, an item over it (the writer still writing)', async () => {
      const own = fs.mkdtempSync(path.join(tmp, 'own-tmp-'));
      // no List: the whole read's refusal at the cap (a file gives the same), and an endless one stops there
      const noList = '{"a":"' + 'x'.repeat(200_000) + '"}';
      const f = write('stdin-nolist.json', noList);
      const file = viaFile(f, true, 1000);
      assert.match(file, /^InputError - at byte offset 1000: the file is larger than 1000 bytes/);
      assert.equal(viaStdin(noList, true, 1000, own), file);
      const endless = spawnSync('sh', ['-c', '(printf \'{"a":"\'; tr "\\0" x < /dev/zero) | "$0" -e "$1" stream 1000 -', process.execPath, script], { encoding: 'utf8', env: { ...process.env, TMPDIR: own }, timeout: 60_000 });
      assert.equal(endless.status, 0, endless.stderr);
      assert.equal(endless.stdout.trim(), file);
      // the same List's envelope under a larger cap is read (the test can fail)
      assert.doesNotMatch(viaStdin(noList, true, 300_000, own), /larger than/);
      // an item over the cap: the file reader's offset and words, before the stream ends
      const item = '{"apiVersion": "v1", "items": [{"kind": "ConfigMap", "data": {"a": "' + 'b'.repeat(5000) + '"}}], "kind": "List"}';
      const g = write('stdin-big-item.json', item);
      assert.match(viaFile(g, true, 1000), /^InputError - at byte offset 31: items\[0\] is 5\d{3} bytes long, more than 1000 bytes, the most one object may hold/);
      const child = spawn(process.execPath, ['-e', script, 'stream', '1000', '-'], { env: { ...process.env, TMPDIR: own } });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stdin.on('error', () => undefined);
      child.stdin.write(item.slice(0, 4000)); // the item not ended, the pipe kept open
      const [code] = (await once(child, 'exit')) as [number | null];
      child.stdin.destroy();
      assert.equal(code, 0);
      assert.match(out.trim(), /^InputError - at byte offset 31: items\[0\] is more than 1000 bytes long, the most one object may hold \(--max-config-bytes N raises it\); it was not read further offset=31/);
      assert.deepEqual(fs.readdirSync(own), [], 'no copy left after a refusal');
    });

    it('SIGTERM / SIGINT while a stream is read end replay at once (killed by the signal: 143 / 130 in a shell), leaving no copy', async function () {
      if (process.platform !== 'linux') this.skip(); // /proc shows the copy's descriptor
      const cli = path.resolve(__dirname, '..', 'src', 'cli.js');
      const trace = path.resolve(__dirname, '..', '..', 'traces', '04-icmp-lesson', 'trace.pcapng');
      for (const sig of ['SIGTERM', 'SIGINT'] as const) {
        const own = fs.mkdtempSync(path.join(tmp, 'own-tmp-'));
        const child = spawn(process.execPath, [cli, 'replay', trace, '--cluster', '-', '-q'], { env: { ...process.env, TMPDIR: own } });
        child.stdin.on('error', () => undefined);
        child.stdin.write('{"apiVersion": "v1", "items": [{"kind": "ConfigMap"}, '); // a List under way, its writer still there
        // the copy is open, with no name left on disk
        for (;;) {
          const fds = fs.existsSync(`/proc/${child.pid}/fd`) ? fs.readdirSync(`/proc/${child.pid}/fd`) : [];
          const links = fds.map((d) => {
            try {
              return fs.readlinkSync(`/proc/${child.pid}/fd/${d}`);
            } catch {
              return '';
            }
          });
          if (links.some((l) => l.includes('stream.json'))) {
            assert.ok(links.some((l) => /stream\.json \(deleted\)$/.test(l)), links.join(' '));
            break;
          }
          await new Promise((r) => setTimeout(r, 20));
        }
        assert.deepEqual(fs.readdirSync(own), [], 'the copy has no name while it is read');
        child.kill(sig);
        const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
        child.stdin.destroy();
        assert.equal(signal, sig, `exit ${code}`);
        assert.deepEqual(fs.readdirSync(own), [], 'nothing left after the signal');
      }
    });

    it('the CLI: `--cluster -` with bad JSON over --max-config-bytes is exit 2 naming -, byte offset, line and column', () => {
      const item = pretty.indexOf('"kind": "Pod"');
      const text = pretty.slice(0, item) + ',' + pretty.slice(item);
      const g = write('cli-stdin-bad.json', text);
      const cli = path.resolve(__dirname, '..', 'src', 'cli.js');
      const r = spawnSync(process.execPath, [cli, 'rules', '--cluster', '-', '--max-config-bytes', '4096'], { input: text, encoding: 'utf8' });
      assert.equal(r.status, 2, r.stderr);
      const file = spawnSync(process.execPath, [cli, 'rules', '--cluster', g, '--max-config-bytes', '4096'], { encoding: 'utf8' });
      assert.equal(r.stderr, file.stderr.split(g).join('-'));
      assert.match(r.stderr, /^vfp-emu: - at byte offset \d+: not valid JSON: .*\(line \d+, column \d+\)/);
    });
  });
});

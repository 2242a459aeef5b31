/**
 * The package as a Node user gets it (issue 13, "Packaging as a Node user expects"): `npm pack` in a clean
 * copy of the working tree (the files git tracks or would track, node_modules linked as `npm ci` made it, no
 * dist/) runs the `prepack` build and makes the tarball; that tarball is installed offline into an empty
 * project (`npm install --offline`, its one dependency `yaml` packed from our node_modules as the registry's
 * stand-in), and there:
 * - the bin runs: `vfp-emu --help` lists the commands, `vfp-emu replay --help`, the embedded lesson, a replay;
 * - `require('vfp-emu')` gives the library, `vfp-emu/package.json` is exported, deep paths are not;
 * - the typings are shipped: tsc compiles a small .ts file against the package, and refuses a misuse (the
 *   types are real, not `any`);
 * - the tarball holds the LICENSE (Apache-2.0 text), and neither tests, source maps nor the TypeScript sources.
 */
import { strict as assert } from 'node:assert';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const repo = path.resolve(__dirname, '..', '..');

function ok(r: SpawnSyncReturns<string>, what: string): string {
  assert.equal(r.status, 0, `${what}: exit ${r.status}\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

describe('npm pack from a clean clone, installed offline into a project (issue 13)', function () {
  this.timeout(600000);
  let tmp: string;
  let project: string;
  let tarball: string;
  let listing: string[];
  const bin = (): string => path.join(project, 'node_modules', '.bin', 'vfp-emu');
  const vfp = (args: string[]): SpawnSyncReturns<string> => spawnSync(bin(), args, { cwd: project, encoding: 'utf8' });

  before(function () {
    const git = spawnSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: repo, encoding: 'utf8' });
    if (git.status !== 0) this.skip(); // not a git checkout: nothing to call a clean clone
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-package-'));
    const clone = path.join(tmp, 'clone');
    for (const f of git.stdout.split('\0').filter((f) => f !== '' && fs.existsSync(path.join(repo, f)))) {
      fs.mkdirSync(path.dirname(path.join(clone, f)), { recursive: true });
      fs.copyFileSync(path.join(repo, f), path.join(clone, f));
    }
    assert.ok(!fs.existsSync(path.join(clone, 'dist')), 'the copy has no build');
    fs.symlinkSync(fs.realpathSync(path.join(repo, 'node_modules')), path.join(clone, 'node_modules'));
    const packs = path.join(tmp, 'packs');
    fs.mkdirSync(packs);
    ok(spawnSync('npm', ['pack', '--pack-destination', packs], { cwd: clone, encoding: 'utf8' }), 'npm pack (prepack builds)');
    ok(spawnSync('npm', ['pack', '--pack-destination', packs, path.join(clone, 'node_modules', 'yaml')], { cwd: tmp, encoding: 'utf8' }), 'npm pack yaml');
    tarball = path.join(packs, fs.readdirSync(packs).find((f) => f.startsWith('vfp-emu-'))!);
    listing = ok(spawnSync('tar', ['tzf', tarball], { encoding: 'utf8' }), 'tar').split('\n').filter((l) => l !== '');
    project = path.join(tmp, 'project');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'user-project', version: '1.0.0', private: true }));
    const yamlTgz = path.join(packs, fs.readdirSync(packs).find((f) => f.startsWith('yaml-'))!);
    const env = { ...process.env, npm_config_cache: path.join(tmp, 'npm-cache') }; // an empty cache: nothing comes from elsewhere
    ok(spawnSync('npm', ['install', '--offline', '--no-audit', '--no-fund', yamlTgz, tarball], { cwd: project, encoding: 'utf8', env }), 'npm install --offline');
  });
  after(() => {
    if (tmp !== undefined) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('the tarball holds the builds, the typings, the lesson, the LICENSE; no tests, sources or source maps', () => {
    for (const f of ['package/dist/bundle/vfp-emu.js', 'package/dist/bundle/main.code-cache', 'package/dist/src/index.js', 'package/dist/src/index.d.ts', 'package/traces/04-icmp-lesson/trace.pcapng', 'package/LICENSE', 'package/README.md']) {
      assert.ok(listing.includes(f), `${f} is not in the tarball`);
    }
    assert.deepEqual(listing.filter((f) => /\.map$|^package\/(src|test|dist\/test|bench|dist\/bench|scripts|native-free)\//.test(f) || /\.ts$/.test(f.replace(/\.d\.ts$/, ''))), []);
    const license = fs.readFileSync(path.join(project, 'node_modules', 'vfp-emu', 'LICENSE'), 'utf8');
    assert.match(license, /^\s+Apache License\n\s+Version 2\.0, January 2004\n/);
    assert.match(license, /END OF TERMS AND CONDITIONS/);
    assert.equal(JSON.parse(fs.readFileSync(path.join(project, 'node_modules', 'vfp-emu', 'package.json'), 'utf8')).license, 'Apache-2.0');
  });

  it('its bin: --help lists the commands, replay --help its flags, the embedded lesson and a replay run', () => {
    const top = ok(vfp(['--help']), 'vfp-emu --help');
    for (const c of ['replay', 'decode', 'explain', 'rules', 'merge']) assert.match(top, new RegExp(`^  ${c} `, 'm'));
    assert.match(ok(vfp(['replay', '--help']), 'replay --help'), /^Usage: vfp-emu replay \[TRACE\.\.\.\] \[OPTIONS\]$/m);
    assert.match(ok(vfp(['replay']), 'vfp-emu replay'), /^10 packets in /m);
    assert.deepEqual(fs.readdirSync(path.join(project, 'vfp-out')).sort(), ['out.pcapng', 'report.txt', 'verdicts.jsonl']);
    const lesson = path.join('node_modules', 'vfp-emu', 'traces', '04-icmp-lesson', 'trace.pcapng');
    const cluster = path.join('node_modules', 'vfp-emu', 'traces', '_clusters', 'l2bridge', 'kubectl.json');
    const summary = JSON.parse(ok(vfp(['replay', lesson, '--cluster', cluster, '--summary', 'json', '--workers', '2']), 'replay --workers 2')) as { packets: number };
    assert.equal(summary.packets, 10);
    assert.equal(ok(vfp(['--version']), '--version'), `${JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')).version}\n`);
  });

  it("require('vfp-emu') is the library; its package.json is exported, deep paths are not", () => {
    const script = [
      "const v = require('vfp-emu');",
      "console.log(typeof v.replay, typeof v.openCapture, typeof v.Batch, Object.keys(v.PROFILES).length > 0, require('vfp-emu/package.json').name);",
      "try { require('vfp-emu/dist/src/cli.js'); console.log('deep'); } catch (e) { console.log(e.code); }",
    ].join('\n');
    const out = ok(spawnSync(process.execPath, ['-e', script], { cwd: project, encoding: 'utf8' }), 'require');
    assert.equal(out, 'function function function true vfp-emu\nERR_PACKAGE_PATH_NOT_EXPORTED\n');
  });

  it('typings: tsc compiles a .ts file using the package (and the run judges the lesson); a misuse is a type error', () => {
    const tsc = path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
    const flags = ['--strict', '--module', 'node16', '--moduleResolution', 'node16', '--target', 'es2022', '--typeRoots', path.join(repo, 'node_modules', '@types'), '--types', 'node', '--outDir', 'out'];
    fs.writeFileSync(
      path.join(project, 'use.ts'),
      [
        "import { openCapture, Batch, replay, PROFILES, type ReplaySummary } from 'vfp-emu';",
        "const trace = 'node_modules/vfp-emu/traces/04-icmp-lesson/trace.pcapng';",
        'const reader = openCapture(trace);',
        'const first: number = reader.next(new Batch());',
        'async function main(): Promise<ReplaySummary> {',
        "  const o = await replay({ trace, clusterFiles: ['node_modules/vfp-emu/traces/_clusters/l2bridge/kubectl.json'], workers: 1, seed: 1, view: 'pod', failOn: [], vxlanPorts: [] });",
        '  return o.summary;',
        '}',
        'main().then((s) => console.log(first, Object.keys(PROFILES).length > 0, s.packets, Object.values(s.verdicts).reduce((a, b) => a + b, 0)));',
        '',
      ].join('\n'),
    );
    ok(spawnSync(process.execPath, [tsc, ...flags, 'use.ts'], { cwd: project, encoding: 'utf8' }), 'tsc use.ts');
    assert.equal(ok(spawnSync(process.execPath, ['out/use.js'], { cwd: project, encoding: 'utf8' }), 'node out/use.js'), '10 true 10 10\n');
    fs.writeFileSync(path.join(project, 'misuse.ts'), "import { replay } from 'vfp-emu';\nvoid replay({ trace: 1 });\n");
    const bad = spawnSync(process.execPath, [tsc, ...flags, 'misuse.ts'], { cwd: project, encoding: 'utf8' });
    assert.equal(bad.status, 2, bad.stdout);
    assert.match(bad.stdout, /misuse\.ts\(2,\d+\): error TS2\d+/);
  });
});

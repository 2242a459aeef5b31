/**
 * `vfp-emu --help` against what the commands accept (issue 13, "A CLI that fits in pipes and habits"): the
 * help printed by the CLI shows every flag the parser takes and the parser takes every flag the help shows
 * (probed through parseArgs, short options letter by letter), README's commands section shows the same
 * flags, the examples run as printed, errors list what is accepted, and an option is never read as a file.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { COMMANDS, parseArgs, SPECS, type CommandName } from '../src/cli-args';
import { UsageError } from '../src/core/errors';
import { PROFILES } from '../src/vfp/profile';
import { REASON_TABLE, VERDICT_NAMES } from '../src/vfp/reasons';

const repo = path.resolve(__dirname, '..', '..');
const cli = path.join(repo, 'dist', 'src', 'cli.js');
const lesson = path.join(repo, 'traces', '04-icmp-lesson', 'trace.pcapng');
const cluster = path.join(repo, 'traces', '_clusters', 'l2bridge', 'kubectl.json');
const names = Object.keys(COMMANDS) as CommandName[];

/** `vfp-emu live` can capture here: root, and the optional package cap built (test/live.test.ts tests the rest). */
function liveCanRun(): boolean {
  return process.getuid?.() === 0 && spawnSync(process.execPath, ['-e', "require('cap')"], { cwd: repo }).status === 0;
}

function run(args: string[], cwd = repo): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8' });
}

/** The usage error parseArgs throws for `argv`, or null when it accepts it. */
function usageError(argv: string[]): string | null {
  try {
    parseArgs(argv);
    return null;
  } catch (e) {
    assert.ok(e instanceof UsageError, String(e));
    return e.message;
  }
}

/** The flags an Options section shows: long names, and short ones with the long name they stand for. */
function shownFlags(help: string): { long: Set<string>; short: Map<string, string> } {
  const section = help.slice(help.indexOf('\nOptions:\n'), help.indexOf('\n\n', help.indexOf('\nOptions:\n') + 1));
  const long = new Set<string>();
  const short = new Map<string, string>();
  for (const line of section.split('\n')) {
    const m = /^ {2}(?:(-[A-Za-z]), )?\s*(--[a-z][a-z-]*)/.exec(line);
    if (m === null) continue;
    long.add(m[2]);
    if (m[1] !== undefined) short.set(m[1], m[2]);
  }
  return { long, short };
}

/** A value the flag takes (its first allowed one, its lowest integer, or a word). */
function valueFor(command: CommandName, flag: string): string[] {
  const spec = SPECS[command][flag];
  if (!spec.value) return [];
  return [spec.oneOf?.[0] ?? (spec.int !== undefined ? String(spec.int[0]) : 'x')];
}

describe('vfp-emu --help matches what the commands accept', () => {
  for (const command of names) {
    it(`${command} --help shows every flag the parser takes, one line each with its value; the parser takes every flag it shows`, () => {
      const r = run([command, '--help']);
      assert.equal(r.status, 0, r.stderr);
      const { long, short } = shownFlags(r.stdout);
      assert.ok(long.size > 1, r.stdout);
      for (const flag of Object.keys(SPECS[command])) assert.ok(long.has(flag), `${command} takes ${flag}, its --help does not show it:\n${r.stdout}`);
      for (const flag of long) {
        const err = usageError([command, flag, ...valueFor(command, flag)]);
        assert.ok(err === null || !/unknown flag/.test(err), `the help shows ${flag} for ${command}, which refuses it: ${err}`);
      }
      // every letter: a short option is taken exactly when the help shows it
      for (const letter of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ') {
        const err = usageError([command, `-${letter}`]);
        const taken = err === null || !/unknown flag/.test(err);
        assert.equal(taken, short.has(`-${letter}`), `${command} -${letter}: parser ${taken ? 'takes' : 'refuses'} it, the help ${short.has(`-${letter}`) ? 'shows' : 'does not show'} it`);
      }
      for (const [s, l] of short) assert.deepEqual(parseArgs([command, s, ...valueFor(command, l)]).flags.has(l.slice(2)) || l === '--help', true, `${s} is ${l}`);
      assert.match(r.stdout, new RegExp(`^Usage: vfp-emu ${command}\\b`, 'm'));
      assert.match(r.stdout, new RegExp(`\\nExamples:\\n  vfp-emu ${command}\\b`));
    });
  }

  it('vfp-emu help COMMAND, COMMAND --help and COMMAND -h print the same text; --help and help list every command', () => {
    for (const command of names) {
      const a = run(['help', command]);
      assert.equal(a.status, 0, a.stderr);
      assert.equal(run([command, '-h']).stdout, a.stdout);
      assert.equal(run([command, lesson, '--help']).stdout, a.stdout, 'help wins wherever it is');
    }
    const top = run(['--help']);
    assert.equal(top.status, 0);
    assert.equal(run(['help']).stdout, top.stdout);
    assert.equal(run([]).stdout, top.stdout);
    for (const command of names) assert.match(top.stdout, new RegExp(`^  ${command} +\\S`, 'm'));
    const bad = run(['help', 'replya']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^vfp-emu: help: 'replya' is not a command \(commands: replay, decode, explain, trace, rules, merge or live\)\n$/);
  });

  it("README's commands section shows the same flags as each command's --help", () => {
    const readme = fs.readFileSync(path.join(repo, 'README.md'), 'utf8');
    const at = readme.indexOf('## Commands');
    const from = readme.indexOf('```\n', at) + 4;
    const block = readme.slice(from, readme.indexOf('\n```', from));
    for (const command of names) {
      const lines = block.split('\n');
      const start = lines.findIndex((l) => l.startsWith(`vfp-emu ${command} `) || l === `vfp-emu ${command}`);
      assert.ok(start >= 0, `README shows no usage line for ${command}`);
      let end = start + 1;
      while (end < lines.length && /^ {10,}\[/.test(lines[end])) end++;
      const shown = new Set(lines.slice(start, end).join('\n').match(/--[a-z][a-z-]*/g) ?? []);
      const takes = Object.keys(SPECS[command]);
      assert.deepEqual([...shown].sort(), [...takes].sort(), `README's vfp-emu ${command} line`);
    }
  });

  it('every example of every command runs as printed (from the package folder): exit 0, or 1 where --fail-on matched', function () {
    this.timeout(120000);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-help-examples-'));
    try {
      // the merge example's inputs, made as its notes say: replay --summary json
      for (const node of ['node1', 'node2']) {
        const r = spawnSync(process.execPath, [cli, 'replay', lesson, '--cluster', cluster, '--summary', 'json'], { cwd: repo, encoding: 'utf8' });
        fs.writeFileSync(path.join(tmp, `${node}.json`), r.stdout.replace(/"trace":"[^"]*"/, `"trace":"${node}.pcapng"`));
      }
      fs.cpSync(path.join(repo, 'traces'), path.join(tmp, 'traces'), { recursive: true });
      for (const command of names) {
        for (const example of COMMANDS[command].examples) {
          if (!example.startsWith('vfp-emu ') || (example.includes('| tshark') && spawnSync('tshark', ['-v']).status !== 0)) continue;
          if (example.startsWith('vfp-emu live ') && !liveCanRun()) continue; // root and a built cap (test/live.test.ts says why when not)
          const r = spawnSync('bash', ['-o', 'pipefail', '-c', example.replace(/^vfp-emu /, `"${process.execPath}" "${cli}" `)], { cwd: tmp, encoding: 'utf8' });
          assert.equal(r.status, example.includes('--fail-on') ? 1 : 0, `${example}\n${r.stderr}`);
          assert.ok(r.stdout.length > 0 || example.includes('--quiet'), `${example} printed nothing`);
        }
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('vfp-emu command line: errors say what is accepted; an option is never a file', () => {
  it('--fail-on lists the verdicts and reason codes; --windows lists the profiles and settings', () => {
    const f = run(['replay', lesson, '--cluster', cluster, '--fail-on', 'droped']);
    assert.equal(f.status, 2);
    assert.match(f.stderr, new RegExp(`^vfp-emu: --fail-on droped: not a verdict nor a reason code; verdicts: ${VERDICT_NAMES.join(', ')}; reason codes: `));
    for (const r of REASON_TABLE) if (r.kind !== 'diagnostic') assert.ok(f.stderr.includes(r.code), r.code);
    const w = run(['replay', lesson, '--cluster', cluster, '--windows', 'ws2021']);
    assert.equal(w.status, 2);
    assert.equal(w.stderr, `vfp-emu: --windows: unknown profile 'ws2021' (known: ${Object.keys(PROFILES).join(', ')})\n`);
    const s = run(['replay', lesson, '--cluster', cluster, '--windows', 'ws2022:icmpSant=true']);
    assert.equal(s.status, 2);
    assert.match(s.stderr, /^vfp-emu: --windows: unknown setting 'icmpSant' \(settings: .*\bicmpSnat\b.*\btimeouts\.udp\b.*\)/);
    // the embedded lesson (no TRACE) refuses them before it makes ./vfp-out
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-help-usage-'));
    try {
      for (const flags of [['--windows', 'ws2021'], ['--fail-on', 'droped']]) {
        assert.equal(run(['replay', ...flags], tmp).status, 2);
        assert.deepEqual(fs.readdirSync(tmp), [], `replay ${flags.join(' ')}`);
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    // the help names every profile
    const help = run(['replay', '--help']).stdout;
    for (const name of Object.keys(PROFILES)) assert.match(help, new RegExp(`--windows PROFILE[^]*\\b${name}\\b`));
  });

  it('a -x or --unknown is refused as an option (exit 2 naming it) even when a file of that name exists; - is stdin; -- ends the options', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-help-dash-'));
    try {
      fs.copyFileSync(lesson, path.join(tmp, '-x'));
      fs.copyFileSync(lesson, path.join(tmp, '--odd'));
      const x = run(['decode', '-x'], tmp);
      assert.equal(x.status, 2);
      assert.equal(x.stderr, 'vfp-emu: decode: unknown flag -x: flags have two dashes; its short options are -h (a file whose name starts with - is given as ./-x)\n');
      assert.equal(x.stdout, '');
      const odd = run(['decode', '--odd'], tmp);
      assert.equal(odd.status, 2);
      assert.equal(odd.stderr, 'vfp-emu: decode: unknown flag --odd (see vfp-emu decode --help)\n');
      const dashed = run(['decode', '--', '-x'], tmp);
      assert.equal(dashed.status, 0, dashed.stderr);
      assert.equal(dashed.stdout.split('\n').length, 12, 'header, 10 packets, final newline');
      assert.equal(run(['decode', './-x'], tmp).stdout, dashed.stdout);
      const stdin = spawnSync(process.execPath, [cli, 'decode', '-'], { cwd: tmp, encoding: 'utf8', input: fs.readFileSync(lesson) });
      assert.equal(stdin.stdout, dashed.stdout, '- is stdin');
      // a value that is itself a flag is not taken as a file name
      const v = run(['replay', lesson, '--cluster', cluster, '--out', '--verdicts', 'v.jsonl'], tmp);
      assert.equal(v.status, 2);
      assert.match(v.stderr, /^vfp-emu: replay: --out needs a value, not the flag --verdicts \(a value that starts with - is given as --out=--verdicts\)\n$/);
      assert.deepEqual(fs.readdirSync(tmp).sort(), ['--odd', '-x']);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('a misspelt flag is answered with the flag meant; a flag of another command is named', () => {
    const msg = (argv: string[]): string => usageError(argv) ?? assert.fail(`${argv.join(' ')} was accepted`);
    assert.equal(msg(['replay', 't.pcap', '--clutser', 'c.yaml']), 'replay: unknown flag --clutser; did you mean --cluster? (see vfp-emu replay --help)');
    assert.equal(msg(['rules', '--Cluster', 'c.yaml']), 'rules: unknown flag --Cluster; did you mean --cluster? (see vfp-emu rules --help)');
    assert.equal(msg(['replay', '--summry', 'json']), 'replay: unknown flag --summry; did you mean --summary? (see vfp-emu replay --help)');
    assert.equal(msg(['replay', 't.pcap', '-c', 'x']), 'replay: unknown flag -c: flags have two dashes; its short options are -q, -h (a file whose name starts with - is given as ./-c)');
    assert.match(msg(['rules', '-cluster', 'x']), /^rules: unknown flag -cluster: flags have two dashes; did you mean --cluster\?/);
    assert.equal(msg(['replay', '--node', 'win-1']), 'replay: unknown flag --node; --node is a flag of rules, not replay (see vfp-emu replay --help)');
    assert.equal(msg(['replay', '--out-dir', 'x']), 'replay: unknown flag --out-dir (see vfp-emu replay --help)');
    assert.equal(parseArgs(['replay', '-']).positional[0], '-', "'-' is still stdin");
    assert.deepEqual(parseArgs(['rules', '-h']), { command: 'help', positional: ['rules'], flags: new Map() });
  });

  it('replay, decode and explain take --lenient-snaplen (a caplen above the snaplen is bad input without it)', () => {
    for (const cmd of ['replay', 'decode', 'explain']) assert.equal(parseArgs([cmd, 't.pcap', '--lenient-snaplen']).flags.get('lenient-snaplen'), true);
    assert.throws(() => parseArgs(['rules', '--lenient-snaplen']), UsageError);
  });

  it('replay and explain take --pktmon-component (explain walks a pktmon capture as replay judged it)', () => {
    for (const cmd of ['replay', 'explain']) assert.equal(parseArgs([cmd, 't.pcapng', '--pktmon-component', 'vmswitch.sys']).flags.get('pktmon-component'), 'vmswitch.sys');
  });

  it('--windows help lists every profile and exits 0', () => {
    const r = run(['replay', '--windows', 'help']);
    assert.equal(r.status, 0, r.stderr);
    for (const name of Object.keys(PROFILES)) assert.match(r.stdout, new RegExp(`^${name} +\\S`, 'm'));
  });

  it('an output file that cannot be written is bad usage (exit 2, the path named), not an internal error', () => {
    for (const flag of ['--verdicts', '--out', '--report']) {
      const r = run(['replay', lesson, '--cluster', cluster, '--workers', '1', flag, '/nonexistent-dir/x']);
      assert.equal(r.status, 2, `${flag}: ${r.stderr}`);
      // checked before anything is opened (output-paths.ts): the flag, the path, its folder and the errno
      assert.equal(r.stderr, `vfp-emu: ${flag} /nonexistent-dir/x: cannot create files in its folder /nonexistent-dir (ENOENT)\n`, flag);
    }
  });
});

/**
 * `vfp-emu --help` against what the commands accept: every flag a command takes is in its usage lines,
 * every flag the usage lines show is taken, a flag nothing reads is refused, and `--windows help`
 * lists the Windows profiles. Bad usage that only shows when the command runs: an output path that
 * cannot be written.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { HELP, parseArgs, SPECS } from '../src/cli-args';
import { UsageError } from '../src/core/errors';
import { PROFILES } from '../src/vfp/profile';

const cli = path.resolve(__dirname, '..', 'src', 'cli.js');

/** The usage lines of `command` in HELP: its `vfp-emu <command>` line and the indented lines after it. */
function usage(command: string): string {
  const lines = HELP.split('\n');
  const start = lines.findIndex((l) => l.trimStart().startsWith(`vfp-emu ${command} `));
  assert.ok(start >= 0, `HELP has no usage line for ${command}`);
  let end = start + 1;
  while (end < lines.length && /^ {10,}\[/.test(lines[end])) end++;
  return lines.slice(start, end).join('\n');
}

describe('vfp-emu --help matches what the commands accept', () => {
  for (const command of Object.keys(SPECS) as (keyof typeof SPECS)[]) {
    it(`${command}: the usage shows every flag it takes, and it takes every flag the usage shows`, () => {
      const text = usage(command);
      const shown = new Set(text.match(/--[a-z-]+/g) ?? []);
      for (const flag of Object.keys(SPECS[command])) assert.ok(shown.has(flag), `${command} takes ${flag}, the help does not show it:\n${text}`);
      for (const flag of shown) assert.ok(flag in SPECS[command], `the help shows ${flag} for ${command}, which refuses it`);
    });
  }

  it('refuses a flag no command reads (replay --out-dir) with a usage error', () => {
    assert.throws(() => parseArgs(['replay', '--out-dir', 'x']), (e: unknown) => e instanceof UsageError && /unknown flag --out-dir/.test(e.message));
  });

  it('a misspelt flag is answered with the flag meant; a single-dash word is a flag, not a trace; a flag of another command is named', () => {
    const msg = (argv: string[]) => {
      try {
        parseArgs(argv);
      } catch (e) {
        assert.ok(e instanceof UsageError, String(e));
        return e.message;
      }
      return assert.fail(`${argv.join(' ')} was accepted`);
    };
    assert.equal(msg(['replay', 't.pcap', '--clutser', 'c.yaml']), 'replay: unknown flag --clutser; did you mean --cluster? (see vfp-emu help)');
    assert.equal(msg(['rules', '--Cluster', 'c.yaml']), 'rules: unknown flag --Cluster; did you mean --cluster? (see vfp-emu help)');
    assert.equal(msg(['replay', '--summry', 'json']), 'replay: unknown flag --summry; did you mean --summary? (see vfp-emu help)');
    // before: `replay -c x` said "replay takes at most one TRACE, got 3"; `rules -n win-1` "takes no positional argument"
    assert.equal(msg(['replay', 't.pcap', '-c', 'x']), 'replay: unknown flag -c: flags have two dashes (a file whose name starts with - is given as ./-c)');
    assert.match(msg(['rules', '-cluster', 'x']), /^rules: unknown flag -cluster: flags have two dashes; did you mean --cluster\?/);
    assert.equal(msg(['replay', '--node', 'win-1']), 'replay: unknown flag --node; --node is a flag of rules, not replay (see vfp-emu help)');
    assert.equal(parseArgs(['replay', '-']).positional[0], '-', "'-' is still stdin");
    assert.deepEqual(parseArgs(['rules', '-h']), { command: 'help', positional: ['rules'], flags: new Map() });
  });

  it('replay, decode and explain take --lenient-snaplen (a caplen above the snaplen is bad input without it)', () => {
    for (const cmd of ['replay', 'decode', 'explain']) assert.equal(parseArgs([cmd, 't.pcap', '--lenient-snaplen']).flags.get('lenient-snaplen'), true);
    assert.throws(() => parseArgs(['rules', '--lenient-snaplen']), UsageError);
  });

  it('--windows help lists every profile and exits 0', () => {
    const r = spawnSync(process.execPath, [cli, 'replay', '--windows', 'help'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    for (const name of Object.keys(PROFILES)) assert.match(r.stdout, new RegExp(`^${name} +\\S`, 'm'));
  });
});

describe('vfp-emu command line: bad usage', () => {
  it('an output file that cannot be written is bad usage (exit 2, the path named), not an internal error', () => {
    const lesson = path.resolve(__dirname, '..', '..', 'traces', '04-icmp-lesson', 'trace.pcapng');
    const cluster = path.resolve(__dirname, '..', '..', 'traces', '_clusters', 'l2bridge', 'kubectl.json');
    for (const flag of ['--verdicts', '--out', '--report']) {
      const r = spawnSync(process.execPath, [cli, 'replay', lesson, '--cluster', cluster, '--workers', '1', flag, '/nonexistent-dir/x'], { encoding: 'utf8' });
      assert.equal(r.status, 2, `${flag}: ${r.stderr}`);
      // checked before anything is opened (output-paths.ts): the flag, the path, its folder and the errno
      assert.equal(r.stderr, `vfp-emu: ${flag} /nonexistent-dir/x: cannot create files in its folder /nonexistent-dir (ENOENT)\n`, flag);
    }
  });
});

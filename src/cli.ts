#!/usr/bin/env node
/**
 * `vfp-emu` entry point: parses the command line (cli-args.ts) and hands over to src/commands/*.
 * Exit status (CONTRACT): 0 done; 1 the run completed but --fail-on matched; 2 bad usage or bad input.
 * Bad input is an InputError whose message names the file and the byte offset or field path; a file the
 * system refuses to open or write (an output path in a missing folder) is bad usage too.
 *
 * Output (issue 9):
 * - stdout is written only through core/stdout.ts `writeStdout` (synchronous, fd 1).
 * - A closed stdout (EPIPE: `vfp-emu ... | head -1`) is the reader saying it has enough: the command
 *   stops writing and ends quietly, no message. The status is the run's own when the run was already
 *   over (replay prints after it: 1 when --fail-on matched, 2 for a bad trace, else 0); otherwise 0
 *   (decode, explain, rules, help). An output of replay on stdout (`--verdicts /dev/stdout | head`) is
 *   not an error either: the pipeline stops the run as for Ctrl-C, drops that output, keeps the others
 *   and replay returns the run's own status (pipeline.ts); `isClosedStdout` maps what is left (the
 *   report on /dev/stdout, written after the run).
 * - Any other failure to write stdout or an output file (ENOSPC on `> /dev/full`, EIO) is exit 2 naming
 *   the output and the errno (`vfp-emu: stdout: cannot write it (ENOSPC)`), never 1, never a stack trace.
 * - Output paths are checked before anything is opened (commands/output-paths.ts).
 */
import { InputError, UsageError } from './core/errors';
import { safeMessage, safeText } from './core/safe-text';
import { guardProcessStdout, StdoutClosed, writeStdout } from './core/stdout';
import { standardStream } from './commands/output-paths';
import { commandHelp, topHelp, parseArgs, flagList, flagString, type CommandName, type ParsedArgs } from './cli-args';
import { runDecode } from './commands/decode';
import { describeProfiles } from './vfp/profile';

async function run(a: ParsedArgs): Promise<number> {
  if (flagString(a, 'windows') === 'help') {
    writeStdout(`Windows profiles (--windows NAME, or NAME:key=value,... to override one setting):\n${describeProfiles()}\n`);
    return 0;
  }
  switch (a.command) {
    case 'help':
      writeStdout(a.positional.length === 0 ? topHelp() : commandHelp(a.positional[0] as CommandName));
      return 0;
    case 'version':
      writeStdout(`${(require('../../package.json') as { version: string }).version}\n`);
      return 0;
    case 'decode': {
      if (a.positional.length !== 1) throw new UsageError('decode takes exactly one TRACE (a file, or - for stdin)');
      const format = (flagString(a, 'format') ?? 'tsv') as 'tsv' | 'jsonl';
      return runDecode({
        trace: a.positional[0],
        format,
        vxlanPorts: flagList(a, 'vxlan-port').map(Number),
        strictSnaplen: !a.flags.has('lenient-snaplen'),
      });
    }
    case 'replay':
      return (await import('./commands/replay')).runReplayCommand(a);
    case 'explain':
      return (await import('./commands/explain')).runExplainCommand(a);
    case 'trace':
      return (await import('./commands/trace')).runTraceCommand(a);
    case 'rules':
      return (await import('./commands/rules')).runRulesCommand(a);
    case 'merge':
      if (flagString(a, 'out') === '-') a.flags.delete('out'); // `--out -`: stdout, merge's default
      return (await import('./commands/merge')).runMergeCommand(a);
    case 'live':
      return (await import('./commands/live')).runLiveCommand(a);
  }
}

async function main(argv: string[]): Promise<number> {
  try {
    return await run(parseArgs(argv));
  } catch (e) {
    if (e instanceof StdoutClosed || isClosedStdout(e)) return 0;
    if (e instanceof UsageError || e instanceof InputError) {
      process.stderr.write(`vfp-emu: ${safeMessage(e.message)}\n`);
      return 2;
    }
    const sys = e as NodeJS.ErrnoException;
    if (e instanceof Error && typeof sys.code === 'string' && typeof sys.path === 'string') {
      // a file named on the command line that cannot be opened or written (an output in a missing folder,
      // a read-only place, a directory): bad usage, not a bug
      process.stderr.write(`vfp-emu: ${safeText(sys.path)}: cannot ${sys.syscall ?? 'open'} it (${sys.code})\n`);
      return 2;
    }
    throw e;
  }
}

/** EPIPE writing an output file that is stdout (`--verdicts /dev/stdout | head -3`): a closed stdout. */
function isClosedStdout(e: unknown): boolean {
  const sys = e as NodeJS.ErrnoException;
  return e instanceof Error && sys.code === 'EPIPE' && typeof sys.path === 'string' && standardStream(sys.path) === 'stdout';
}

/**
 * Runs the CLI as the process's main module: sets process.exitCode (70 and the stack for a bug). The promise
 * settles when the command is done (scripts/code-cache.js runs several commands in one process).
 */
export function runAsMain(argv: string[]): Promise<void> {
  guardProcessStdout();
  return main(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`vfp-emu: internal error: ${safeMessage(e instanceof Error ? (e.stack ?? e.message) : String(e))}\n`);
      process.exitCode = 70;
    },
  );
}

if (require.main === module) runAsMain(process.argv.slice(2));

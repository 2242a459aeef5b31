/**
 * Ctrl-C and `kill` during a replay: the first SIGINT or SIGTERM asks the pipeline to stop (an AbortSignal
 * whose reason is the signal's name); the pipeline stops reading, finishes the batches in flight and closes
 * every output whole at the same packet (pipeline.ts). A second one ends the process at once: the outputs'
 * temporary files are removed (output-files.ts `AtomicOutput.discardAll`), their final names untouched.
 *
 * The handlers are installed for one run only (`dispose` removes them): outside a replay the signals keep
 * Node's default (the process ends). They run when the pipeline lets the event loop turn (every 50 ms, see
 * pipeline.ts `Pacer`), so a stop takes effect within a batch or two.
 */
import * as os from 'node:os';
import { AtomicOutput } from './output-files';

export type StopSignal = 'SIGINT' | 'SIGTERM';

/** The exit status of a run ended by `sig`: 128 + its number (130 SIGINT, 143 SIGTERM), as a shell reports it. */
export function signalStatus(sig: StopSignal): number {
  return 128 + os.constants.signals[sig];
}

interface StopOnSignals {
  /** Aborted (reason: the signal's name) at the first SIGINT or SIGTERM. */
  signal: AbortSignal;
  dispose(): void;
}

/** Installs the handlers (see the module comment) until `dispose`. */
export function stopOnSignals(): StopOnSignals {
  const ctl = new AbortController();
  const onSignal = (sig: StopSignal): void => {
    if (!ctl.signal.aborted) {
      ctl.abort(sig);
      return;
    }
    AtomicOutput.discardAll();
    process.stderr.write(`\nvfp-emu: ${sig} again: stopped at once, unfinished outputs removed\n`);
    process.exit(signalStatus(sig));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: ctl.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

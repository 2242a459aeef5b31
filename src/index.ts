/**
 * vfp-emu as a library: the same stages the CLI chains (see src/commands/replay.ts for the loop).
 *   openCapture(path) -> reader.next(batch) -> decodeBatch(batch) -> dataplane.process(batch, results)
 * or the whole run: replay(options) -> { summary, status } (summaryText(summary) is the CLI's text).
 *
 * The package's one entry (package.json `exports`: `require('vfp-emu')`, typings dist/src/index.d.ts); the
 * modules behind it are not part of the package's interface. Verdict and reason codes are the CONTRACT's
 * (REASON_TABLE: each code with its sentence).
 */
export { Batch, PF, HEADROOM } from './core/batch';
export { InputError, UsageError } from './core/errors';
export { openCapture, openCaptureBytes, createWriter, formatEpoch, type CaptureReader, type CaptureWriter, type ReaderOptions } from './io';
export { decodeBatch } from './decode/decoder';
export { loadCluster, parseClusterText, parseClusterTexts } from './cluster';
export { compileDataplane, Dataplane, Results } from './vfp/engine';
export { resolveProfile, PROFILES, type WindowsProfile } from './vfp/profile';
export { VERDICT_NAMES, REASON_TABLE, reasonCode, reasonSentence } from './vfp/reasons';
export type { Cluster, Diagnostic } from './cluster/model';
export { replay, summaryText, type ReplayOptions, type ReplaySummary, type ReplayOutcome } from './commands/replay';

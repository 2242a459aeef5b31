/**
 * vfp-emu as a library: the same stages the CLI chains (see src/commands/replay.ts for the loop).
 *   openCapture(path) -> reader.next(batch) -> decodeBatch(batch) -> dataplane.process(batch, results)
 */
export { Batch, PF, HEADROOM } from './core/batch';
export { InputError, UsageError } from './core/errors';
export { openCapture, openCaptureBytes, createWriter, formatEpoch } from './io';
export { decodeBatch } from './decode/decoder';
export { loadCluster, parseClusterText, parseClusterTexts } from './cluster';
export { compileDataplane, Dataplane, Results } from './vfp/engine';
export { resolveProfile, PROFILES } from './vfp/profile';
export { replay, type ReplayOptions, type ReplaySummary } from './commands/replay';

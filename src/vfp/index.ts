/**
 * The VFP data plane: compile a Cluster for a Windows profile, then decide packets.
 *
 *   const dp = compileDataplane(cluster, { profile: resolveProfile('ws2022'), seed: 1, view: 'pod' });
 *   decodeBatch(batch); dp.process(batch, results);
 *
 * See engine.ts (the stage), compile.ts (the objects), reasons.ts (the reason table), profile.ts.
 */
export { compileDataplane, Dataplane, type DataplaneOptions } from './engine';
export { Results } from './results';
export { DataplaneState } from './state';
export { resolveProfile, describeProfiles, PROFILES, DEFAULT_PROFILE, type WindowsProfile } from './profile';
export {
  V,
  VERDICT_NAMES,
  R,
  REASON_TABLE,
  reasonCode,
  reasonId,
  reasonRow,
  reasonSentence,
  warningCodes,
  warningBit,
  type ReasonRow,
} from './reasons';
export { EP_EXTERNAL, EP_WIRE, EP_HOST, EP_POD0 } from './compile';

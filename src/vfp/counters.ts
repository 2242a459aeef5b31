/**
 * Counters: the one home of every count a run keeps about its packets (issue 10, "one counter system").
 *
 *   verdicts     packets per verdict (V.*)
 *   reasons      packets per final reason id (index 0: no reason)
 *   warnings     packets per warning reason id (a packet with two warnings counts in both)
 *   backends     packets per (service, backend) pair, for packets a load balancer rule sent to a backend:
 *                counted per backend id in `perBackend` (a backend ip:port serves one Service but for rare
 *                configs), pairs beyond that in a KeyCounts table by service * 0x100000 + backend
 *   rulePackets  packets per deciding rule id (vfpctrl "Matched packets")
 *   ruleFlows    connections created per rule id
 *   fastPath     packets that took a unified flow table hit / the slow path (per node crossed)
 *   slowPath
 *
 * Each DataplaneState owns one (state.ts), so a shard counts its own packets and nothing else touches its
 * counters. The engine increments them: once per packet when it ends the packet (`packet`, from
 * Dataplane `finish`), and where a flow is looked up or a connection created (the path and rule flows).
 * Every increment is a typed-array or number increment: no allocation on the hot path (only a backend
 * that serves a second Service goes to the KeyCounts table, which grows when a new pair shows up).
 *
 * Across threads: `data()` is the plain-data form (structured-clone friendly, posted by pipeline workers),
 * `add(data)` adds one into another; the pipeline merges its shards' counters with these two only.
 * Readers: the replay summary and report (commands/replay.ts), the page (native-free/core.ts),
 * Dataplane.counters(), the pipeline's conservation check.
 *
 * Uses: reasons.ts (REASON_COUNT, WARNING_IDS). Sets: nothing outside itself.
 */
import { REASON_COUNT, reasonCode, VERDICT_NAMES, WARNING_IDS, type VerdictName } from './reasons';

/** Reason id per warning bit (the bit of `Results.warnings`, reasons.ts `warningBit`). */
const WARNING_ID_BY_BIT = Uint8Array.from(WARNING_IDS);

/** Counts per non-negative integer key: an open-addressing table in typed arrays (no object per key). */
class KeyCounts {
  private keys = new Float64Array(64).fill(-1);
  private counts = new Float64Array(64);
  private size = 0;

  private static slot(key: number, mask: number): number {
    return (Math.imul((key | 0) ^ ((key / 4294967296) | 0), 0x9e3779b1) >>> 7) & mask;
  }

  add(key: number, n: number): void {
    const mask = this.keys.length - 1;
    let s = KeyCounts.slot(key, mask);
    for (;;) {
      const k = this.keys[s];
      if (k === key) {
        this.counts[s] += n;
        return;
      }
      if (k === -1) break;
      s = (s + 1) & mask;
    }
    this.keys[s] = key;
    this.counts[s] = n;
    if (++this.size * 2 > this.keys.length) this.grow();
  }

  private grow(): void {
    const keys = this.keys;
    const counts = this.counts;
    this.keys = new Float64Array(keys.length * 2).fill(-1);
    this.counts = new Float64Array(keys.length * 2);
    this.size = 0;
    for (let s = 0; s < keys.length; s++) if (keys[s] !== -1) this.add(keys[s], counts[s]);
  }

  /** [key, count] pairs, by key. */
  entries(): [number, number][] {
    const out: [number, number][] = [];
    for (let s = 0; s < this.keys.length; s++) if (this.keys[s] !== -1) out.push([this.keys[s], this.counts[s]]);
    return out.sort((a, b) => a[0] - b[0]);
  }
}

/** Counters as plain data (`Counters.data`, posted between threads). */
export interface CountersData {
  verdicts: number[];
  reasons: number[];
  warnings: number[];
  backends: [number, number][];
  rulePackets: number[];
  ruleFlows: number[];
  fastPath: number;
  slowPath: number;
}

/** The key of a service/backend pair in `Counters.backends`. */
export function backendKey(service: number, backend: number): number {
  return service * 0x100000 + backend;
}

/** The service and backend ids of a `Counters.backends` key. */
export function backendOfKey(key: number): { service: number; backend: number } {
  return { service: Math.floor(key / 0x100000), backend: key % 0x100000 };
}

export class Counters {
  readonly verdicts = new Float64Array(VERDICT_NAMES.length);
  readonly reasons = new Float64Array(REASON_COUNT);
  readonly warnings = new Float64Array(REASON_COUNT);
  /** Packets per backend id, for the service in `backendService` (-1: none counted yet). */
  private readonly perBackend: Float64Array;
  private readonly backendService: Int32Array;
  /** The (service, backend) pairs whose backend already counts for another service. */
  private readonly otherPairs = new KeyCounts();
  readonly rulePackets: Float64Array;
  readonly ruleFlows: Float64Array;
  fastPath = 0;
  slowPath = 0;

  /**
   * `rules`: the compiled rule count (rule ids are 0..rules-1); `backends`: the compiled backend count
   * (ids 0..backends-1; 0 for counters that only add others' data up: every pair then goes to the table).
   */
  constructor(rules: number, backends = 0) {
    this.rulePackets = new Float64Array(rules);
    this.ruleFlows = new Float64Array(rules);
    this.perBackend = new Float64Array(backends);
    this.backendService = new Int32Array(backends).fill(-1);
  }

  /**
   * Counts one packet as the engine ended it: its verdict, reason, warning bitmask, service and backend
   * ids (-1: none) and deciding rule (-1: none). Called once per packet (Dataplane `finish`).
   */
  packet(verdict: number, reason: number, warn: number, service: number, backend: number, rule: number): void {
    this.verdicts[verdict]++;
    this.reasons[reason]++;
    for (let w = warn; w !== 0; w &= w - 1) this.warnings[WARNING_ID_BY_BIT[31 - Math.clz32(w & -w)]]++;
    if (service >= 0 && backend >= 0) this.backend(service, backend, 1);
    if (rule >= 0) this.rulePackets[rule]++;
  }

  /** Adds `n` packets to the pair (`service`, `backend`). */
  private backend(service: number, backend: number, n: number): void {
    const s = this.backendService[backend];
    if (s === service) this.perBackend[backend] += n;
    else if (s === -1 && backend < this.perBackend.length) {
      this.backendService[backend] = service;
      this.perBackend[backend] = n;
    } else this.otherPairs.add(backendKey(service, backend), n);
  }

  /** [backendKey(service, backend), packets] of every pair counted, by key. */
  backends(): [number, number][] {
    const out = this.otherPairs.entries();
    for (let b = 0; b < this.perBackend.length; b++) if (this.backendService[b] >= 0) out.push([backendKey(this.backendService[b], b), this.perBackend[b]]);
    return out.sort((x, y) => x[0] - y[0]);
  }

  /** Packets counted (one verdict each). */
  packets(): number {
    let n = 0;
    for (let v = 0; v < this.verdicts.length; v++) n += this.verdicts[v];
    return n;
  }

  /** Adds `o` (another shard's counters, as data) into these. */
  add(o: CountersData): void {
    addInto(this.verdicts, o.verdicts);
    addInto(this.reasons, o.reasons);
    addInto(this.warnings, o.warnings);
    for (const [key, n] of o.backends) {
      const { service, backend } = backendOfKey(key);
      this.backend(service, backend, n);
    }
    addInto(this.rulePackets, o.rulePackets);
    addInto(this.ruleFlows, o.ruleFlows);
    this.fastPath += o.fastPath;
    this.slowPath += o.slowPath;
  }

  data(): CountersData {
    return {
      verdicts: [...this.verdicts],
      reasons: [...this.reasons],
      warnings: [...this.warnings],
      backends: this.backends(),
      rulePackets: [...this.rulePackets],
      ruleFlows: [...this.ruleFlows],
      fastPath: this.fastPath,
      slowPath: this.slowPath,
    };
  }

  /** Packets per verdict name, every verdict, in V order (the summary's `verdicts`). */
  byVerdict(): Record<VerdictName, number> {
    return Object.fromEntries(VERDICT_NAMES.map((name, k) => [name, this.verdicts[k]])) as Record<VerdictName, number>;
  }

  /** Packets per final reason code, in reason id order; codes with none left out (the summary's `reasons`). */
  byReason(): Record<string, number> {
    return byCode(this.reasons);
  }

  /** Packets per warning code, likewise (the summary's `warnings`). */
  byWarning(): Record<string, number> {
    return byCode(this.warnings);
  }
}

function byCode(counts: Float64Array): Record<string, number> {
  const out: Record<string, number> = {};
  for (let id = 1; id < counts.length; id++) if (counts[id] > 0) out[reasonCode(id) as string] = counts[id];
  return out;
}

function addInto(to: Float64Array, from: readonly number[]): void {
  if (from.length !== to.length) throw new Error(`counters: ${from.length} counts added to ${to.length} (shards compiled differently?)`);
  for (let k = 0; k < to.length; k++) to[k] += from[k];
}

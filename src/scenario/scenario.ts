/**
 * Scenarios: the folders under traces/. Each holds
 *   scenario.yaml  what it shows, which cluster inputs it uses, the packets (one-line notation, see
 *                  packet-line.ts) and, per packet, the verdict a Windows node gives and why;
 *   cluster/...    the cluster inputs in their real formats (kubectl output, cni.conf, net-conf.json, ...);
 *   trace.pcapng   the packets, built from scenario.yaml by `npm run traces` (src/scenario/build-traces.ts).
 *
 * scenario.yaml:
 *   name: short title
 *   about: what a user learns (free text)
 *   cluster: [cluster/kubectl.yaml, cluster/cni.conf]   # relative to the folder; passed as --cluster
 *   (JSON syntax, being YAML too, is read without the yaml package: `parseScenarioText`)
 *   view: pod | wire            # default pod
 *   windows: PROFILE            # default: the default profile
 *   seed: N                     # default 1
 *   start: EPOCH_SECONDS        # time of packet 1 (default 1767225600 = 2026-01-01T00:00:00Z)
 *   step: SECONDS               # time between packets (default 0.001)
 *   packets:
 *     - send: tcp 10.244.1.5:40000 > 203.0.113.10:80 S
 *       expect: forwarded                # verdict, then the reason code if any
 *       warn: [dns-pqdn-unresolvable]    # warnings the record must carry (optional)
 *       check: {egress: wire, out.src: 10.127.130.11}   # verdict-record fields, dotted paths (optional)
 *       why: the sentence of the reference that says so
 *   diagnostics: [host-network-unsupported]   # codes the summary's diagnostics must hold (optional)
 *
 * A `check` value '@N' means "the same as packet N's record has" (session affinity: same backend).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { yaml } from '../cluster/yaml';
import { InputError } from '../core/errors';
import { buildPacketLine, PacketLineError } from './packet-line';

interface ScenarioPacket {
  send: string;
  frame: Uint8Array;
  /** Epoch seconds. */
  ts: number;
  expectVerdict: string;
  expectReason: string | null;
  warn: string[];
  check: Record<string, string | number | null>;
  why: string;
}

export interface Scenario {
  dir: string;
  name: string;
  about: string;
  clusterFiles: string[];
  view: 'pod' | 'wire';
  windows: string | undefined;
  seed: number;
  packets: ScenarioPacket[];
  /** Diagnostic codes the summary must list (`diagnostics:` in scenario.yaml). */
  diagnostics: string[];
}

const VERDICTS = new Set(['delivered', 'forwarded', 'no-return', 'dropped', 'ignored']);

export function loadScenario(dir: string): Scenario {
  const file = path.join(dir, 'scenario.yaml');
  const doc = parseScenarioText(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  const err = (fieldPath: string, detail: string): InputError => new InputError(file, { fieldPath }, detail);
  if (doc === null || typeof doc !== 'object') throw err('', 'expected a mapping');
  const str = (k: string, dflt?: string): string => {
    const v = doc[k];
    if (v === undefined && dflt !== undefined) return dflt;
    if (typeof v !== 'string') throw err(k, 'expected a string');
    return v;
  };
  const num = (k: string, dflt: number): number => {
    const v = doc[k];
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw err(k, 'expected a number');
    return v;
  };
  const cluster = doc.cluster;
  if (!Array.isArray(cluster) || cluster.some((c) => typeof c !== 'string')) throw err('cluster', 'expected a list of file names');
  const view = str('view', 'pod');
  if (view !== 'pod' && view !== 'wire') throw err('view', `expected pod or wire, got '${view}'`);
  const start = num('start', 1767225600);
  const step = num('step', 0.001);
  const list = doc.packets;
  if (!Array.isArray(list)) throw err('packets', 'expected a list');
  const packets = list.map((p: unknown, k: number): ScenarioPacket => {
    const at = `packets[${k}]`;
    if (p === null || typeof p !== 'object') throw err(at, 'expected a mapping with send and expect');
    const e = p as Record<string, unknown>;
    if (typeof e.send !== 'string') throw err(`${at}.send`, 'expected a packet line');
    if (typeof e.expect !== 'string') throw err(`${at}.expect`, "expected '<verdict> [reason]'");
    const [verdict, reason, ...extra] = e.expect.trim().split(/\s+/);
    if (!VERDICTS.has(verdict) || extra.length > 0) throw err(`${at}.expect`, `'${e.expect}' is not '<verdict> [reason]'`);
    let frame: Uint8Array;
    try {
      frame = buildPacketLine(e.send);
    } catch (x) {
      if (x instanceof PacketLineError) throw err(`${at}.send`, x.message);
      throw x;
    }
    const warn = e.warn === undefined ? [] : e.warn;
    if (!Array.isArray(warn)) throw err(`${at}.warn`, 'expected a list of reason codes');
    const check = (e.check ?? {}) as Record<string, string | number | null>;
    if (typeof check !== 'object') throw err(`${at}.check`, 'expected a mapping');
    return {
      send: e.send,
      frame,
      ts: start + k * step,
      expectVerdict: verdict,
      expectReason: reason ?? null,
      warn: warn.map(String),
      check,
      why: typeof e.why === 'string' ? e.why : '',
    };
  });
  return {
    dir,
    name: str('name'),
    about: str('about', ''),
    clusterFiles: (cluster as string[]).map((c) => path.join(dir, c)),
    view,
    windows: typeof doc.windows === 'string' ? doc.windows : undefined,
    seed: num('seed', 1),
    packets,
    diagnostics: Array.isArray(doc.diagnostics) ? doc.diagnostics.map(String) : [],
  };
}

/**
 * A scenario.yaml's value. YAML 1.2 reads JSON as it is, so a scenario may be written in JSON syntax, as the
 * embedded lesson's is (traces/04-icmp-lesson): such a text is read with JSON.parse and the yaml package is
 * not loaded, which saved about 60 ms of the lesson's start-up (loading the package, then parsing 3 KB with
 * it cold; issue 12). A text that JSON.parse refuses (any other YAML) goes to the yaml package as before.
 * The one difference: JSON.parse keeps the last of two equal keys where YAML refuses them.
 */
export function parseScenarioText(text: string): unknown {
  if (text.startsWith('{')) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      // not JSON: YAML (flow style, say) decides
    }
  }
  return yaml().parse(text) as unknown;
}

/** The scenario folders under `tracesDir` (those with a scenario.yaml), sorted by name. */
export function listScenarios(tracesDir: string): string[] {
  return fs
    .readdirSync(tracesDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(tracesDir, d.name, 'scenario.yaml')))
    .map((d) => path.join(tracesDir, d.name))
    .sort();
}

/** traces/ of the installed package (works from dist/src/scenario and from src/scenario). */
export function tracesDir(): string {
  for (const up of ['../../../traces', '../../traces']) {
    const p = path.resolve(__dirname, up);
    if (fs.existsSync(p)) return p;
  }
  throw new Error(`traces/ not found next to ${__dirname}`);
}

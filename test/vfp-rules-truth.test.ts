/**
 * Issue 10, "The rule model is the truth": every rule `vfp-emu rules` prints for the scenario clusters in
 * traces/ decides something. For each scenario (its cluster inputs, profile, seed and view, as
 * test/scenarios.test.ts runs it) the cluster is compiled (compile.ts `compileCluster`), and for every rule
 * the compiled model holds, two mutants of a fresh compile are made through the model `rules` prints
 * (ports -> layers -> groups -> rules, and a group's `byVip` index):
 *   remove   the rule taken out of its group (its scan list and its byVip list);
 *   default  the rule's action replaced by its layer's default action ({kind: 'allow'} or {kind: 'block'});
 *            not applicable when the rule's action already is that default (the mutant is the model itself).
 * Nothing else is touched: compile's side indexes (node.routes, node.lbByKey, node.noLb, lb.hostRule /
 * dsrRule, node.vnet) keep the rule. An engine that decides from them instead of the groups is exactly
 * what this test exposes; an index the engine wants for speed must be built from the groups (in the
 * Dataplane constructor, or lazily), so that it sees the mutation.
 *
 * Each mutant runs the scenario's whole trace through `new Dataplane(mutant)` the way the product replays
 * it (test/pipeline-reference.ts: read, decode, Dataplane.process, decode again), and its outcome is
 * compared packet by packet with the unmutated run: the Results columns a user sees in a verdict record
 * (verdict, reason, warnings, node, ingress, egress, service, backend, outer header) and the bytes of each
 * packet as it leaves (what `--out` writes and what the record's `out` is decoded from). The `rule` and
 * `flow` columns are not compared: they name the rule, they are not what it does.
 *
 * Probes: a scenario's trace leaves most rules unmet (no scenario sends to them), so for each scenario
 * cluster (the scenarios that share cluster inputs, profile, seed and view: `clusterKey`) and every rule
 * site of its compiled model, packets are synthesized that meet the rule's conditions (its protocol, a
 * destination in its prefixes or its VIP, a destination port in its range, a source in its prefixes) and
 * enter the cluster at a port that holds it, once per ingress kind its `from` allows (`probesFor`): from a
 * pod port (the pod's address and MAC), from the host vNIC (the node's), from the wire (OUTSIDE towards an
 * address of the node or an external VIP, to the node's MAC); a decap rule's probe is VXLAN from another
 * node to the node's PA with the rule's VNI and UDP port around a SYN to a local pod (`decapProbe`). Each
 * probe runs ALONE on a fresh `new Dataplane(...)`, on the unmutated model and on each mutant of its rule:
 * a probe after the trace would meet the trace's flows and NAT state, and a difference could come from
 * what the mutant did to an earlier packet rather than from the rule meeting the probe; alone, what changes
 * is the rule's own doing (and each probe costs one packet, not a replay).
 *
 * A rule is identified by its node and its name (`win-1/PA_ROUTE_10_244_2_0_24`); the copies one name has
 * on the pod ports of a node (OUTBOUNDNAT_EXCEPTION_*) are one rule, mutated together. A rule passes when
 * each applicable mutant changes the verdict, reason, a field or the output bytes of at least one packet of
 * some scenario that holds it, OR of one of its own probes. A rule in CompiledDataplane.rules that no
 * port's groups hold is not printed by `rules` and not walked: it fails as "not in the printed model".
 *
 * ALLOW: rules that cannot matter in the scenarios, even for a probe, with the reason (short, and every
 * entry must still be needed). KNOWN_DEAD_TODAY: what still fails on today's engine, TO BE EMPTIED BY
 * ISSUE 10. An entry of either list that matches no failing rule, or that matches a rule a mutant now
 * changes, fails the test, so that the lists only shrink as the engine is fixed.
 * The table of every rule and what each mutant changed is printed, then the rules only a probe made live
 * (with the probe), then the rules nothing made live (with their probes' unmutated outcomes).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Batch, PF } from '../src/core/batch';
import { loadCluster } from '../src/cluster/load';
import type { Cluster } from '../src/cluster/model';
import { decodeBatch } from '../src/decode/decoder';
import { openCaptureBytes } from '../src/io/reader';
import { toU32 } from '../src/packet/addr';
import { u32ToIpv4 } from '../src/core/ip';
import { buildPacketLine } from '../src/scenario/packet-line';
import { scenarioTracePath } from '../src/scenario/build-traces';
import { listScenarios, loadScenario, tracesDir, type Scenario } from '../src/scenario/scenario';
import { AK_EXTERNAL_VIP, AK_NODE, AK_PA, compileCluster, prefixOf, type CompiledDataplane, type CompiledNode, type CompiledPod } from '../src/vfp/compile';
import { Dataplane } from '../src/vfp/engine';
import { FROM_HOST, FROM_POD, FROM_WIRE, conditionsMatch, inPrefixes, type Group, type Layer, type Port, type Prefix, type Rule } from '../src/vfp/objects';
import { resolveProfile } from '../src/vfp/profile';
import { VERDICT_NAMES, reasonCode, warningCodes } from '../src/vfp/reasons';
import { Results } from '../src/vfp/results';

type Mutant = 'remove' | 'default';

interface Listed {
  /** Matches rule keys `node/NAME`. */
  pattern: RegExp;
  /** The mutants the entry excuses. */
  mutants: Mutant[];
  why: string;
}

/**
 * Rules that cannot matter in the scenario clusters of traces/, for a scenario packet or a probe (every
 * entry must match a rule that needs it).
 */
const ALLOW: Listed[] = [
  {
    pattern: /^(win-\d|10\.127\.130\.11)\/SDN_ROUTE_/,
    mutants: ['remove', 'default'],
    why: "to-host (NeedEncap): the host's stack sends what no load balancer took exactly as the VNET default does (actions.ts composeRoute: source MAC -> the host's, next node by address; neither the service CIDR nor the management IP is in the cluster CIDRs, where the default drops no-route; a route layer's allow is its default, step-switch.ts route), and VIP traffic reaches the host vNIC's load balancers from every port whether or not it is steered (UNCONFIRMED, domain.md §7; README 'The rules decide'): removing it or defaulting it changes only the `rule` column (10.127.130.11: scenario 14's node, emulated from its HNS dump alone and named after its management IP)",
  },
  {
    pattern: /^(win-\d|10\.127\.130\.11)\/OUTBOUNDNAT_EXCEPTION_\d+_/,
    mutants: ['default'],
    why: "its action `pass` (no transposition) is what the SLB_NAT_LAYER's default `allow` does: the mutant is the same program (removing it is what shows it matters)",
  },
  {
    pattern: /^win-[12]\/OUTBOUNDNAT_EXCEPTION_3_10_244_[12]_0_24$/,
    mutants: ['remove'],
    why: "shadowed: OUTBOUNDNAT_EXCEPTION_0 (the cluster CIDR 10.244.0.0/16, priority 100) holds the node's own pod subnet and has the same action",
  },
  {
    pattern: /^win-3\/(SNAT_(TCP|UDP)_OUTBOUNDNAT_77eb0aa2|OUTBOUNDNAT_EXCEPTION_[01]_.*)$/,
    mutants: ['remove', 'default'],
    why: "win-3 (01, MAC spoofing off): these rules decide only for destinations off the node (outside the exceptions, or in the cluster and service CIDRs, where win-3 holds no address but app-3's own), and a pod's packet leaving win-3 is dropped for MAC spoofing whatever its NAT (a dropped packet keeps its bytes)",
  },
  {
    pattern: /^(win-[12]|10\.127\.130\.11)\/LB_DSR_[0-9a-f]{8}_[\d.]+_(?!20\.0\.0\.61_)/,
    mutants: ['remove', 'default'],
    why: "06 (DSR): a DSR load balancer's rule on the pod port has a copy on the host vNIC (LB layer) with the same action; without it the copy balances the same packet the same way, after an OutboundNAT walk that treats the VIP and the backend alike in 06 (pod backends in the exceptions; PreserveDIP keeps the VIP); likewise the DSR NodePort of 14 (the node emulated from its HNS dump alone is named after its management IP, 10.127.130.11). Not 10's externalIP 20.0.0.61: outside the exceptions, without its DSR rule a pod's packet is SNATed first, so that rule is live",
  },
  {
    pattern: /^win-[12]\/LB_[0-9a-f]{8}_10\.96\./,
    mutants: ['remove', 'default'],
    why: "06 (DSR): a ClusterIP's copy on the host vNIC: only pods reach a ClusterIP (not the wire; not the host, node-to-service-ip on this profile), and every pod port's LB_DSR copy balances the packet first",
  },
];

/**
 * TO BE EMPTIED BY ISSUE 10: rules whose mutants change nothing on the engine of today's main, and why
 * (the engine decides beside the printed rule). Remove or narrow an entry once its rule decides; the test
 * fails while an entry is not needed. (On the main before issue 10's engine it also held the PA and L2
 * routes of win-1, win-1's VNET_DECAP and the host vNIC's LB rules: the engine skipped the VNET, LB and
 * SLB_LB_LAYER layers by name and decided from node.routes / node.lbByKey.)
 */
const KNOWN_DEAD_TODAY: Listed[] = []; // issue 10 emptied it: keep it empty

/** The columns of Results a verdict record shows, in the order the difference is described. */
const COLUMNS = ['verdict', 'reason', 'warnings', 'node', 'ingress', 'egress', 'service', 'backend', 'encap', 'outerSrc', 'outerDst', 'outerDport', 'vni'] as const;
type Column = (typeof COLUMNS)[number];

/** One packet's outcome: the columns above and its bytes as it leaves. */
interface Outcome {
  cols: number[];
  bytes: Buffer;
}

/** An IPv4 header tuple a packet carried (as sent or as it left; outer and inner of VXLAN). */
interface Tuple {
  proto: number;
  src: number;
  dst: number;
  sport: number;
  dport: number;
  ports: boolean;
}

/** The IPv4 tuples of packet `i` of decoded batch `b` (the outer one, and the inner one of a tunnel). */
function tuplesOf(b: Batch, i: number): Tuple[] {
  if (b.ipVer[i] !== 4) return [];
  const f = b.flags[i];
  const out: Tuple[] = [{ proto: b.proto[i], src: b.src4[i], dst: b.dst4[i], sport: b.sport[i], dport: b.dport[i], ports: (f & PF.HAS_PORTS) !== 0 }];
  if ((f & PF.TUNNEL) !== 0 && b.innerIpVer[i] === 4) {
    out.push({ proto: b.innerProto[i], src: b.innerSrc4[i], dst: b.innerDst4[i], sport: b.innerSport[i], dport: b.innerDport[i], ports: (f & PF.INNER_PORTS) !== 0 });
  }
  return out;
}

/** A place of a rule in the printed model. */
interface Site {
  key: string;
  node: CompiledNode;
  /** The ports whose layers hold it (a layer is shared by the pod ports and the host vNIC of a node). */
  ports: Port[];
  layer: Layer;
  group: Group;
  rule: Rule;
}

/** Every (group, rule) the ports of `c` hold, once each (layers are shared between ports), with the rule's key. */
function sites(c: CompiledDataplane): Site[] {
  const out: Site[] = [];
  const seen = new Map<string, Site>();
  for (const node of c.nodes) {
    const ports = [node.ext, node.host, ...node.pods.map((p) => p.port)];
    for (const port of ports) {
      for (const layer of port.layers) {
        for (const group of layer.groups) {
          const rules = [...group.rules];
          if (group.byVip !== null) for (const list of group.byVip.values()) rules.push(...list);
          for (const rule of rules) {
            const at = `${node.id}.${rule.id}`;
            const known = seen.get(at);
            if (known !== undefined) {
              if (!known.ports.includes(port)) known.ports.push(port);
              continue;
            }
            const site: Site = { key: `${node.name}/${rule.name}`, node, ports: [port], layer, group, rule };
            seen.set(at, site);
            out.push(site);
          }
        }
      }
    }
  }
  return out;
}

/** Rules of `c.rules` that no port's groups hold (not printed, not walked), as `node/NAME` where known. */
function orphans(c: CompiledDataplane, held: Set<Rule>): string[] {
  const nodeOf = new Map<Rule, string>();
  for (const n of c.nodes) {
    for (const rt of n.routes) nodeOf.set(rt.rule, n.name);
    for (const lb of n.lbs) {
      if (lb.hostRule !== null) nodeOf.set(lb.hostRule, n.name);
      if (lb.dsrRule !== null) nodeOf.set(lb.dsrRule, n.name);
    }
  }
  return c.rules.filter((r) => !held.has(r)).map((r) => `${nodeOf.get(r) ?? '?'}/${r.name}`);
}

/** Applies mutant `m` of the rules with key `key` to `c` (a fresh compile); false when it changes nothing. */
function mutate(c: CompiledDataplane, key: string, m: Mutant): boolean {
  let changed = false;
  for (const s of sites(c)) {
    if (s.key !== key) continue;
    if (m === 'default') {
      if (s.rule.action.kind === s.layer.defaultAction) continue;
      s.rule.action = { kind: s.layer.defaultAction };
      changed = true;
      continue;
    }
    const g = s.group;
    const k = g.rules.indexOf(s.rule);
    if (k >= 0) g.rules.splice(k, 1);
    if (g.byVip !== null) {
      for (const [vk, list] of g.byVip) {
        const j = list.indexOf(s.rule);
        if (j < 0) continue;
        list.splice(j, 1);
        if (list.length === 0) g.byVip.delete(vk);
      }
    }
    changed = true;
  }
  return changed;
}

/** A scenario loaded once: its cluster, compile options and trace bytes. */
interface Loaded {
  id: string;
  s: Scenario;
  cluster: Cluster;
  trace: Uint8Array;
}

/** What makes two scenarios' compiled models the same: their cluster inputs, profile, seed and view. */
function clusterKey(s: Scenario): string {
  return JSON.stringify([s.clusterFiles.map((f) => path.resolve(f)).sort(), s.windows ?? null, s.seed, s.view]);
}

function compile(l: Loaded): CompiledDataplane {
  return compileCluster(l.cluster, { profile: resolveProfile(l.s.windows), seed: l.s.seed, view: l.s.view });
}

/**
 * The trace through `new Dataplane(c)` as replay runs it: one outcome per packet. With `seen`, the tuples
 * of each packet as sent and as it left are pushed there (seen[k]: packet k+1's).
 */
function runTrace(l: Loaded, c: CompiledDataplane, seen?: Tuple[][]): Outcome[] {
  const dp = new Dataplane(c);
  const reader = openCaptureBytes(scenarioTracePath(l.s), l.trace);
  const b = new Batch();
  const r = new Results(b.capacity);
  const out: Outcome[] = [];
  try {
    for (;;) {
      const n = reader.next(b);
      if (n === 0) break;
      decodeBatch(b);
      if (seen !== undefined) for (let i = 0; i < n; i++) seen.push(tuplesOf(b, i));
      dp.process(b, r);
      decodeBatch(b);
      if (seen !== undefined) for (let i = 0; i < n; i++) seen[seen.length - n + i].push(...tuplesOf(b, i));
      for (let i = 0; i < n; i++) out.push(outcomeOf(b, r, i));
    }
  } finally {
    reader.close();
  }
  return out;
}

/** Packet `i`'s outcome after `Dataplane.process`: its Results columns and its bytes as it leaves. */
function outcomeOf(b: Batch, r: Results, i: number): Outcome {
  const cols = COLUMNS.map((col) => (r[col] as ArrayLike<number>)[i]);
  return { cols, bytes: Buffer.from(b.arena.subarray(b.off[i], b.off[i] + b.caplen[i])) };
}

function colText(col: Column, v: number): string {
  if (col === 'verdict') return VERDICT_NAMES[v] ?? String(v);
  if (col === 'reason') return reasonCode(v) ?? 'none';
  if (col === 'warnings') return warningCodes(v).join(',') || 'none';
  return String(v);
}

/** The first difference between two outcomes of one packet in words (`verdict forwarded>dropped`), null when none. */
function outcomeDifference(base: Outcome, got: Outcome): string | null {
  for (let k = 0; k < COLUMNS.length; k++) {
    if (base.cols[k] !== got.cols[k]) return `${COLUMNS[k]} ${colText(COLUMNS[k], base.cols[k])}>${colText(COLUMNS[k], got.cols[k])}`;
  }
  return base.bytes.equals(got.bytes) ? null : 'bytes';
}

/** The first difference between two runs in words (`p4 verdict forwarded>dropped`), null when none. */
function firstDifference(base: Outcome[], got: Outcome[]): string | null {
  if (got.length !== base.length) return `${got.length} packets instead of ${base.length}`;
  for (let i = 0; i < base.length; i++) {
    const d = outcomeDifference(base[i], got[i]);
    if (d !== null) return `p${i + 1} ${d}`;
  }
  return null;
}

/** An outcome in words: `delivered egress=5`, `dropped no-route`. */
function outcomeText(o: Outcome): string {
  const reason = o.cols[1] === 0 ? '' : ` ${colText('reason', o.cols[1])}`;
  return `${colText('verdict', o.cols[0])}${reason} egress=${o.cols[5]}`;
}

/** What is known of one rule key across the scenarios. */
interface Row {
  key: string;
  scenarios: string[];
  /** First difference per mutant and scenario (`05: p3 verdict ...`); empty when none changed anything. */
  remove: string[];
  dflt: string[];
  /** The default mutant is not applicable in every scenario (the action is the layer's default). */
  dfltSame: boolean;
  orphan: boolean;
  /**
   * Packets whose tuple as sent or as it left (outer or inner) meets the rule's conditions, whatever the
   * port (`05:p1`): a hint for the reader of the table, not a criterion.
   */
  matched: string[];
  /** What its own probes changed, per mutant (`02,03,08: verdict delivered>forwarded`). */
  probeRemove: string[];
  probeDflt: string[];
  /** Its probes, with the scenarios of the cluster and the unmutated outcome (`02,03,08: tcp ... -> delivered`). */
  probes: string[];
}

function rowFor(rows: Map<string, Row>, key: string): Row {
  let row = rows.get(key);
  if (row === undefined) {
    row = { key, scenarios: [], remove: [], dflt: [], dfltSame: true, orphan: false, matched: [], probeRemove: [], probeDflt: [], probes: [] };
    rows.set(key, row);
  }
  return row;
}

/** Runs every mutant of every rule of scenario `l` into `rows`. */
function mutateScenario(l: Loaded, rows: Map<string, Row>): void {
  const c0 = compile(l);
  const seen: Tuple[][] = [];
  const base = runTrace(l, c0, seen);
  const held = new Set<Rule>();
  const keys = new Set<string>();
  for (const s of sites(c0)) {
    held.add(s.rule);
    if (keys.has(s.key)) continue;
    keys.add(s.key);
    const row = rowFor(rows, s.key);
    seen.forEach((ts, k) => {
      const c = s.rule.cond;
      if (ts.some((t) => conditionsMatch(c, t.proto, t.src, t.dst, t.sport, t.dport, t.ports, c.from))) row.matched.push(`${l.id}:p${k + 1}`);
    });
  }
  for (const key of orphans(c0, held)) {
    const row = rowFor(rows, key);
    row.orphan = true;
    row.dfltSame = false;
    row.scenarios.push(l.id);
  }
  for (const key of keys) {
    const row = rowFor(rows, key);
    row.scenarios.push(l.id);
    for (const m of ['remove', 'default'] as const) {
      const c = compile(l);
      if (!mutate(c, key, m)) continue;
      if (m === 'default') row.dfltSame = false;
      let d: string | null;
      try {
        d = firstDifference(base, runTrace(l, c));
      } catch (e) {
        d = `the engine threw: ${(e as Error).message}`;
      }
      if (d !== null) (m === 'remove' ? row.remove : row.dflt).push(`${l.id}: ${d}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Probes: one packet per rule site, so that a rule no scenario packet meets is still put to the test

/** The outside address a probe comes from (the external port) or goes to (a rule without destinations). */
const OUTSIDE = '198.51.100.7';
const PROBE_SPORT = 61000;
const PROBE_DPORT = 80;
/** The outer UDP source port of a VXLAN probe. */
const PROBE_VXLAN_SPORT = 51000;
const PROBE_TS = 1767225600;

/** One packet synthesized to meet one rule site: its packet line (scenario notation) and its frame. */
interface Probe {
  line: string;
  frame: Uint8Array;
  /** A rule of the same group the packet also meets and that the group selects before this one, or null. */
  shadowedBy: string | null;
}

/** Where a probe enters: its ingress kind (FROM_*), source address and source MAC. */
interface Entry {
  from: number;
  src: number;
  smac: string;
}

/** An address inside `p`: the address itself for a /32, else the first host address. */
function addressIn(p: Prefix): number {
  return p.mask === 0xffffffff ? p.base : (p.base + 1) >>> 0;
}

/** True when a frame from the wire to `dst` enters `node`: its node or provider address, or an external VIP. */
function wireReaches(c: CompiledDataplane, node: CompiledNode, dst: number): boolean {
  const e = c.addr.get(dst | 0);
  if (e < 0) return false;
  const kind = c.addrKind[e];
  return ((kind & (AK_NODE | AK_PA)) !== 0 && c.addrNode[e] === node.id) || (kind & AK_EXTERNAL_VIP) !== 0;
}

/**
 * The ways a probe for site `s` can enter: every ingress kind the rule's `from` allows, at a port that holds
 * the rule's layer (any port for the host vNIC's load balancers, which every port's VIP traffic reaches),
 * with a source its source prefixes hold. A pod port sends from its pod's address and MAC (the first pod
 * that qualifies), the host vNIC from the node's, the external port from OUTSIDE.
 */
function entriesFor(s: Site): Entry[] {
  const cond = s.rule.cond;
  const node = s.node;
  const anyPort = s.layer.role === 'lb';
  const holds = (p: Port): boolean => anyPort || s.ports.includes(p);
  const srcOk = (a: number): boolean => cond.src === null || inPrefixes(cond.src, a);
  const out: Entry[] = [];
  const pod = node.pods.find((p: CompiledPod) => holds(p.port) && srcOk(p.ip));
  if ((cond.from & FROM_POD) !== 0 && pod !== undefined) out.push({ from: FROM_POD, src: pod.ip, smac: pod.port.mac });
  if ((cond.from & FROM_HOST) !== 0 && holds(node.host) && srcOk(node.ip)) out.push({ from: FROM_HOST, src: node.ip, smac: node.model.mac });
  if ((cond.from & FROM_WIRE) !== 0 && holds(node.ext) && srcOk(toU32(OUTSIDE))) out.push({ from: FROM_WIRE, src: toU32(OUTSIDE), smac: '02:00:c6:33:64:07' });
  return out;
}

/**
 * The destinations a probe for site `s` tries: in each destination prefix, the address of a pod of another
 * node (a real endpoint), else its first address (a /32: the address); and the node's own addresses inside
 * them (its IP, its pods: a packet that stays on the node is not subject to the limits of leaving it);
 * OUTSIDE when the rule has no destination condition.
 */
function destinationsFor(cluster: Cluster, s: Site): number[] {
  const dst = s.rule.cond.dst;
  if (dst === null) return [toU32(OUTSIDE)];
  const remote = cluster.pods.filter((p) => p.node !== s.node.name).map((p) => toU32(p.ip));
  const out = dst.map((p) => remote.find((a) => inPrefixes([p], a)) ?? addressIn(p));
  for (const a of [s.node.ip, ...s.node.pods.map((p) => p.ip)]) if (inPrefixes(dst, a) && !out.includes(a >>> 0)) out.push(a >>> 0);
  return out;
}

/** The rule of `s`'s group that a packet with this tuple meets and the group selects before `s.rule`, or null. */
function shadowOf(s: Site, proto: number, src: number, dst: number, sport: number, dport: number, from: number): Rule | null {
  const ports = proto !== 1;
  const rules = [...s.group.rules];
  if (s.group.byVip !== null) for (const list of s.group.byVip.values()) rules.push(...list);
  for (const r of rules) {
    if (r === s.rule || r.priority > s.rule.priority) continue;
    if (r.priority === s.rule.priority && s.group.rules.indexOf(r) > s.group.rules.indexOf(s.rule)) continue;
    if (conditionsMatch(r.cond, proto, src, dst, sport, dport, ports, from)) return r;
  }
  return null;
}

/** The packet line of a TCP SYN, a UDP datagram or an ICMP echo request (null for another protocol). */
function l4Line(proto: number, src: number, sport: number, dst: number, dport: number): string | null {
  const a = u32ToIpv4(src);
  const b = u32ToIpv4(dst);
  if (proto === 6) return `tcp ${a}:${sport} > ${b}:${dport} S`;
  if (proto === 17) return `udp ${a}:${sport} > ${b}:${dport} len=8`;
  if (proto === 1) return `icmp ${a} > ${b} type=echo id=${sport}`;
  return null;
}

/**
 * The probe of a decap rule: VXLAN from another node's address to the address the rule holds (the node's
 * PA), on the rule's UDP port with its VNI, to the node's MAC; inside, a TCP SYN from a pod of that other
 * node (or its pod subnet) to the node's first pod (or the node), addressed to the node's DR MAC.
 */
function decapProbe(cluster: Cluster, s: Site, a: { vni: number; port: number }): Probe | null {
  const node = s.node;
  const cond = s.rule.cond;
  const peer = cluster.nodes.find((n) => n.name !== node.name);
  if (peer === undefined || cond.dst === null) return null;
  const pa = addressIn(cond.dst[0]);
  const peerIp = toU32(peer.internalIP);
  const peerPod = cluster.pods.find((p) => p.node === peer.name);
  const subnet = peer.podCIDR !== null ? prefixOf(peer.podCIDR) : null;
  const inner = peerPod !== undefined ? toU32(peerPod.ip) : subnet !== null ? addressIn(subnet) : peerIp;
  const to = node.pods.length > 0 ? node.pods[0].ip : node.ip;
  const outer = `vxlan ${u32ToIpv4(peerIp)}:${PROBE_VXLAN_SPORT} > ${u32ToIpv4(pa)}:${a.port} vni=${a.vni} smac=${peer.mac} dmac=${node.model.mac}`;
  const line = `${outer} | tcp ${u32ToIpv4(inner)}:${PROBE_SPORT} > ${u32ToIpv4(to)}:${PROBE_DPORT} S smac=${peer.drMac} dmac=${node.model.drMac}`;
  assert.ok(conditionsMatch(cond, 17, peerIp, pa, PROBE_VXLAN_SPORT, a.port, true, FROM_WIRE), `${s.key}: its probe does not meet it: ${line}`);
  return { line, frame: buildPacketLine(line), shadowedBy: shadowOf(s, 17, peerIp, pa, PROBE_VXLAN_SPORT, a.port, FROM_WIRE)?.name ?? null };
}

/**
 * Packets that meet the conditions of rule site `s` (its protocol, a destination in its prefixes or its
 * VIP, a destination port in its range, a source in its prefixes), one per way in (`entriesFor`) and
 * destination (`destinationsFor`); from the wire only towards an address that enters the node from there
 * (its own, an external VIP; the node's IP for a rule without destinations). Empty when none can.
 */
function probesFor(c: CompiledDataplane, cluster: Cluster, s: Site): Probe[] {
  const a = s.rule.action;
  if (a.kind === 'decap') {
    const p = decapProbe(cluster, s, a);
    return p === null ? [] : [p];
  }
  const cond = s.rule.cond;
  const proto = cond.protocols?.[0] ?? 6;
  const sport = cond.srcPorts?.[0][0] ?? PROBE_SPORT;
  const dport = cond.dstPorts?.[0][0] ?? PROBE_DPORT;
  const hasPorts = proto !== 1;
  const out: Probe[] = [];
  for (const entry of entriesFor(s)) {
    for (const want of destinationsFor(cluster, s)) {
      const dst = entry.from !== FROM_WIRE ? want : cond.dst === null ? s.node.ip : want;
      if (dst === entry.src || (entry.from === FROM_WIRE && !wireReaches(c, s.node, dst))) continue;
      const l4 = l4Line(proto, entry.src, sport, dst, dport);
      if (l4 === null) continue;
      const line = `${l4} smac=${entry.smac}${entry.from === FROM_WIRE ? ` dmac=${s.node.model.mac}` : ''}`;
      assert.ok(conditionsMatch(cond, proto, entry.src, dst, sport, hasPorts ? dport : sport, hasPorts, entry.from), `${s.key}: its probe does not meet it: ${line}`);
      out.push({ line, frame: buildPacketLine(line), shadowedBy: shadowOf(s, proto, entry.src, dst, sport, dport, entry.from)?.name ?? null });
    }
  }
  return out;
}

/** Probe `frame` alone through a fresh `new Dataplane(c)` (no state from another packet), as replay runs it. */
function runProbe(c: CompiledDataplane, frame: Uint8Array, b: Batch): Outcome {
  const dp = new Dataplane(c);
  const r = new Results(b.capacity);
  b.reset(1);
  const i = b.alloc(frame.length);
  b.arena.set(frame, b.off[i]);
  b.wirelen[i] = frame.length;
  b.linktype[i] = 1;
  b.ts[i] = PROBE_TS;
  decodeBatch(b);
  dp.process(b, r);
  return outcomeOf(b, r, i);
}

/**
 * The probes of one scenario cluster (`ids`: the scenarios that share its inputs, profile, seed and view):
 * those of every rule site of the compiled model (`probesFor`), each run alone on the unmutated model and
 * on each mutant of its rule; what a mutant changes in the rule's own probes goes to its row. Returns the
 * number of probes.
 */
function probeCluster(ids: string, l: Loaded, rows: Map<string, Row>): number {
  let count = 0;
  const c0 = compile(l);
  const b = new Batch({ capacity: 4, arenaBytes: 1 << 16 });
  const byKey = new Map<string, { p: Probe; base: Outcome }[]>();
  for (const s of sites(c0)) {
    const row = rowFor(rows, s.key);
    const ps = probesFor(c0, l.cluster, s);
    if (ps.length === 0) row.probes.push(`${ids}: no probe (no port that holds it lets in a packet its conditions allow)`);
    const list = byKey.get(s.key) ?? [];
    count += ps.length;
    for (const p of ps) {
      const base = runProbe(c0, p.frame, b);
      row.probes.push(`${ids}: ${p.line} -> ${outcomeText(base)}${p.shadowedBy !== null ? ` (meets ${p.shadowedBy} first)` : ''}`);
      list.push({ p, base });
    }
    byKey.set(s.key, list);
  }
  for (const [key, probes] of byKey) {
    const row = rowFor(rows, key);
    for (const m of ['remove', 'default'] as const) {
      const c = compile(l);
      if (!mutate(c, key, m)) continue;
      for (const { p, base } of probes) {
        let d: string | null;
        try {
          d = outcomeDifference(base, runProbe(c, p.frame, b));
        } catch (e) {
          d = `the engine threw: ${(e as Error).message}`;
        }
        if (d !== null) (m === 'remove' ? row.probeRemove : row.probeDflt).push(`${ids}: ${p.line}: ${d}`);
      }
    }
  }
  return count;
}

/** The mutants of `row` that changed nothing (its failures before the lists). */
function failedMutants(row: Row): Mutant[] {
  if (row.orphan) return ['remove', 'default'];
  const out: Mutant[] = [];
  if (row.remove.length === 0 && row.probeRemove.length === 0) out.push('remove');
  if (!row.dfltSame && row.dflt.length === 0 && row.probeDflt.length === 0) out.push('default');
  return out;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function table(rows: Row[]): string {
  const w = Math.max(...rows.map((r) => r.key.length));
  const lines = [`${pad('rule (node/name)', w)}  ${pad('scenarios', 26)}  ${pad('remove: first change', 40)}  ${pad('default action: first change', 40)}  packets meeting its conditions`];
  for (const r of rows) {
    const rem = r.orphan ? 'NOT IN THE PRINTED MODEL' : (r.remove[0] ?? probeChange(r.probeRemove));
    const def = r.orphan ? '-' : r.dfltSame ? 'n/a (action is the layer default)' : (r.dflt[0] ?? probeChange(r.probeDflt));
    const hits = r.matched.length === 0 ? 'none' : r.matched.length > 4 ? `${r.matched.slice(0, 4).join(' ')} +${r.matched.length - 4}` : r.matched.join(' ');
    lines.push(`${pad(r.key, w)}  ${pad(r.scenarios.join(','), 26)}  ${pad(rem, 40)}  ${pad(def, 40)}  ${hits}`);
  }
  return lines.join('\n');
}

/** A change only a probe showed, for the table (`probe 02,03,08: verdict ...`), or NOTHING. */
function probeChange(changes: string[]): string {
  return changes.length === 0 ? 'NOTHING' : `probe ${changes[0]}`;
}

/**
 * The rules only a probe made live (no scenario packet changed for that mutant), with the probe and what
 * changed; then the rules nothing made live, with their probes' unmutated outcomes (the ALLOW reasons').
 */
function probeReport(rows: Row[]): string {
  const live: string[] = [];
  const dead: string[] = [];
  for (const r of rows) {
    if (r.orphan) continue;
    const only: string[] = [];
    if (r.remove.length === 0 && r.probeRemove.length > 0) only.push(`remove: ${r.probeRemove[0]}`);
    if (!r.dfltSame && r.dflt.length === 0 && r.probeDflt.length > 0) only.push(`default: ${r.probeDflt[0]}`);
    if (only.length > 0) live.push(`  ${r.key}  ${only.join('; ')}\n      ${r.probes.join('\n      ')}`);
    const failed = failedMutants(r);
    if (failed.length > 0) dead.push(`  ${r.key} [${failed.join(',')}]\n      ${r.probes.join('\n      ') || 'no probe'}`);
  }
  return `Rules only a probe made live (${live.length}):\n${live.join('\n')}\n\nRules no scenario packet and no probe made live (${dead.length}):\n${dead.join('\n')}`;
}

/** `key` excused for mutant `m` by an entry of `list`. */
function excused(list: Listed[], key: string, m: Mutant): boolean {
  return list.some((e) => e.pattern.test(key) && e.mutants.includes(m));
}

/**
 * The entries of `list` (named `name`) that are not needed as they stand: an entry must match at least
 * one failing rule, and every (rule, mutant) it matches must fail, so that a list only shrinks as rules
 * start to decide.
 */
function unneededEntries(name: string, list: Listed[], rows: Row[]): string[] {
  const out: string[] = [];
  for (const e of list) {
    let needed = 0;
    const passing: string[] = [];
    for (const row of rows) {
      if (!e.pattern.test(row.key)) continue;
      const failed = failedMutants(row);
      for (const m of e.mutants) {
        if (failed.includes(m)) needed++;
        else passing.push(`${row.key} [${m}]`);
      }
    }
    if (needed === 0) out.push(`${name} ${e.pattern} [${e.mutants.join(',')}] matches no failing rule: remove the entry`);
    else if (passing.length > 0) out.push(`${name} ${e.pattern} also matches what changes packets now: ${passing.join(', ')}; narrow the entry`);
  }
  return out;
}

describe('vfp rules are the truth (issue 10): every printed rule changes some packet of traces/ when removed or defaulted', function () {
  this.timeout(300_000);
  const rows = new Map<string, Row>();
  let probes = 0;
  let probeClusters = 0;

  before(() => {
    const clusters = new Map<string, Loaded[]>();
    for (const dir of listScenarios(tracesDir())) {
      const s = loadScenario(dir);
      const l: Loaded = { id: path.basename(dir).slice(0, 2), s, cluster: loadCluster(s.clusterFiles), trace: fs.readFileSync(scenarioTracePath(s)) };
      mutateScenario(l, rows);
      const same = clusterKey(s);
      clusters.set(same, [...(clusters.get(same) ?? []), l]);
    }
    for (const ls of clusters.values()) probes += probeCluster(ls.map((l) => l.id).join(','), ls[0], rows);
    probeClusters = clusters.size;
  });

  it('the unmutated run gives every scenario packet the verdict and reason scenario.yaml holds (the harness replays as the product does)', () => {
    const problems: string[] = [];
    for (const dir of listScenarios(tracesDir())) {
      const s = loadScenario(dir);
      const l: Loaded = { id: path.basename(dir), s, cluster: loadCluster(s.clusterFiles), trace: fs.readFileSync(scenarioTracePath(s)) };
      const got = runTrace(l, compile(l));
      assert.equal(got.length, s.packets.length, `${l.id}: packets`);
      s.packets.forEach((p, k) => {
        const verdict = VERDICT_NAMES[got[k].cols[0]];
        const reason = got[k].cols[1] === 0 ? null : reasonCode(got[k].cols[1]);
        if (verdict !== p.expectVerdict || reason !== p.expectReason) problems.push(`${l.id} p${k + 1}: ${verdict} ${reason}, want ${p.expectVerdict} ${p.expectReason}`);
      });
    }
    assert.deepEqual(problems, []);
  });

  it('each rule: removing it, and setting its action to its layer default, changes some packet (or it is listed)', () => {
    const all = [...rows.values()].sort((a, b) => a.key.localeCompare(b.key));
    assert.ok(all.length > 0, 'no rule compiled');
    console.log(`\n${table(all)}\n\n${probes} probes in ${probeClusters} scenario clusters. ${probeReport(all)}\n`);
    const unexpected: string[] = [];
    for (const row of all) {
      for (const m of failedMutants(row)) {
        if (excused(ALLOW, row.key, m) || excused(KNOWN_DEAD_TODAY, row.key, m)) continue;
        unexpected.push(`${row.key} [${m}]${row.orphan ? ' not in the printed model (no port holds it)' : ': changes no packet'} in ${row.scenarios.join(',')}`);
      }
    }
    const unneeded = [...unneededEntries('ALLOW', ALLOW, all), ...unneededEntries('KNOWN_DEAD_TODAY', KNOWN_DEAD_TODAY, all)];
    assert.deepEqual({ unexpected, unneeded }, { unexpected: [], unneeded: [] });
  });
});

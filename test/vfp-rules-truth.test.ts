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
 * A rule is identified by its node and its name (`win-1/PA_ROUTE_10_244_2_0_24`); the copies one name has
 * on the pod ports of a node (OUTBOUNDNAT_EXCEPTION_*) are one rule, mutated together. A rule passes when
 * each applicable mutant changes the verdict, reason, a field or the output bytes of at least one packet of
 * some scenario that holds it. A rule in CompiledDataplane.rules that no port's groups hold is not printed
 * by `rules` and not walked: it fails as "not in the printed model".
 *
 * ALLOW: rules that cannot matter in the scenarios, with the reason (short, and every entry must still
 * be needed). KNOWN_DEAD_TODAY: what still fails on today's engine, TO BE EMPTIED BY ISSUE 10. An entry
 * of either list that matches no failing rule, or that matches a rule a mutant now changes, fails the
 * test, so that the lists only shrink as the engine is fixed.
 * The table of every rule and what each mutant changed is printed.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Batch, PF } from '../src/core/batch';
import { loadCluster } from '../src/cluster/load';
import type { Cluster } from '../src/cluster/model';
import { decodeBatch } from '../src/decode/decoder';
import { openCaptureBytes } from '../src/io/reader';
import { scenarioTracePath } from '../src/scenario/build-traces';
import { listScenarios, loadScenario, tracesDir, type Scenario } from '../src/scenario/scenario';
import { compileCluster, type CompiledDataplane } from '../src/vfp/compile';
import { Dataplane } from '../src/vfp/engine';
import { conditionsMatch, type Group, type Layer, type Rule } from '../src/vfp/objects';
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
 * Rules that cannot matter in the scenarios of traces/ (every entry must match a rule that needs it).
 */
const ALLOW: Listed[] = [
  {
    pattern: /^win-1\/SDN_ROUTE_10_96_0_0_12$/,
    mutants: ['remove', 'default'],
    why: "the service CIDR's SDN route (to-host): VIP traffic of every port reaches the host vNIC's load-balancer layers whether or not it steers it there (the steering is UNCONFIRMED, domain.md §7; README 'The rules decide'), and its other addresses the host forwards as the VNET default does; no scenario sends to a service-CIDR address without a load balancer",
  },
  {
    pattern: /^win-\d\/OUTBOUNDNAT_EXCEPTION_\d+_/,
    mutants: ['default'],
    why: "its action `pass` (no transposition) is what the SLB_NAT_LAYER's default `allow` does: the mutant is the same program (removing it is what shows it matters)",
  },
  {
    pattern: /^win-[12]\/OUTBOUNDNAT_EXCEPTION_3_10_244_[12]_0_24$/,
    mutants: ['remove'],
    why: "shadowed: OUTBOUNDNAT_EXCEPTION_0 (the cluster CIDR 10.244.0.0/16, priority 100) holds the node's own pod subnet and has the same action",
  },
  {
    pattern: /^win-1\/SNAT_(TCP|UDP)_OUTBOUNDNAT_51cf4165$/,
    mutants: ['remove', 'default'],
    why: 'the SNAT of web-1 (win-1): web-1 opens no connection in any scenario',
  },
  {
    pattern: /^win-2\/(SNAT_(TCP|UDP)_OUTBOUNDNAT_|OUTBOUNDNAT_EXCEPTION_|LB_DSR_)/,
    mutants: ['remove', 'default'],
    why: "pod-port rules of win-2, whose only pod web-0 opens no connection in any scenario (its replies take their connection's reverse flow)",
  },
  {
    pattern: /^win-3\/(?!L2_ROUTE_10_244_0_0_24$)/,
    mutants: ['remove', 'default'],
    why: 'win-3 (01 only) sees one packet, 01:p6 from its pod to 10.244.0.3, dropped for MAC spoofing whatever its NAT (a dropped packet keeps its bytes); nothing else enters win-3',
  },
  {
    pattern: /^win-\d\/(LB|LB_HOST|LB_DSR)_0a7a6ba6_/,
    mutants: ['remove', 'default'],
    why: 'kube-dns over TCP (10.96.0.10:53/tcp): no scenario sends DNS over TCP',
  },
  {
    pattern: /^win-\d\/LB_HOST_75b21ba0_10\.127\.130\.1[12]_30081_/,
    mutants: ['remove', 'default'],
    why: "default/shop's NodePort 30081: no scenario sends to it",
  },
  {
    pattern: /^win-\d\/(NAT|LB|LB_HOST|LB_DSR)_8c90ebba_(10\.127\.130\.1[12]_)?10\.96\.0\.60_80_/,
    mutants: ['remove', 'default'],
    why: "the ClusterIP 10.96.0.60:80 (05-07's ETP Local service): no scenario sends to it",
  },
  {
    pattern: /^win-\d\/(LB|LB_DSR)_cf3df685_(10\.127\.130\.1[12]_)?10\.96\.0\.70_80_/,
    mutants: ['remove', 'default'],
    why: "the ClusterIP 10.96.0.70:80 (06's PreserveDIP service): no scenario sends to it",
  },
  {
    pattern: /^win-\d\/LB_(DSR_)?e010eeec_/,
    mutants: ['remove', 'default'],
    why: '06 (DSR) sends no DNS (08 does, without DSR: LB_HOST_e010eeec_* decides there)',
  },
  {
    pattern: /^win-2\/(LB_HOST_|NAT_|LB_b46cd59c_10\.96\.0\.20_80_)/,
    mutants: ['remove', 'default'],
    why: "win-2's host vNIC load balancers: no packet addressed to a VIP enters win-2 (ClusterIP traffic comes from win-1's pod and is balanced there; 05's external VIPs are sent to win-1's MAC)",
  },
  {
    pattern: /^win-1\/(LB_DSR_b46cd59c_10\.127\.130\.11_10\.96\.0\.20_80_|LB_b46cd59c_10\.96\.0\.20_80_)/,
    mutants: ['remove', 'default'],
    why: "06:p1, the only packet to 10.96.0.20:80 in 06, is balanced by the pod port's LB_DSR rule, and without it by the host vNIC's copy after the SDN_ROUTE steering, with the same result (DSR: DNAT only): each copy hides the other's removal",
  },
  {
    pattern: /^win-[12]\/L2_ROUTE_10_244_3_0_24$/,
    mutants: ['remove', 'default'],
    why: "the route to win-3's pod subnet (01 only): no packet is sent to a pod of win-3",
  },
  {
    pattern: /^win-2\/(L2|PA)_ROUTE_10_244_0_0_24$/,
    mutants: ['remove', 'default'],
    why: 'nothing that crosses win-2 goes to the Linux node\'s pod subnet 10.244.0.0/24',
  },
  {
    pattern: /^win-2\/PA_ROUTE_10_244_1_0_24$/,
    mutants: ['remove', 'default'],
    why: "overlay: only the reverse flows of connections that reach win-2 from win-1 use it, and no reply in 02-08 takes one (pod-view replies match win-1's alias)",
  },
  {
    pattern: /^win-3\/L2_ROUTE_10_244_0_0_24$/,
    mutants: ['default'],
    why: "01:p6, the only packet it routes, is dropped by win-3's MAC spoofing after the route: with the action allow it leaves unrouted and is dropped the same (removing the rule shows it matters: no-route)",
  },
  {
    pattern: /^win-2\/L2_ROUTE_10_244_1_0_24$/,
    mutants: ['remove', 'default'],
    why: "only 04:p9's reverse flow at win-2 uses it, and the MACs it sets are rewritten by win-1, which delivers the reply (without a route the next node comes from the address): the packet that arrives is the same",
  },
  {
    pattern: /^win-1\/SDN_ROUTE_10_127_130_11_32$/,
    mutants: ['remove', 'default'],
    why: "l2bridge's NeedEncap route to the management IP: no pod sends to 10.127.130.11 in 01, 04, 09",
  },
  {
    pattern: /^win-2\/SDN_ROUTE_/,
    mutants: ['remove', 'default'],
    why: "no pod or host of win-2 sends to a ClusterIP or to the management IP",
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
  layer: Layer;
  group: Group;
  rule: Rule;
}

/** Every (group, rule) the ports of `c` hold, once each (layers are shared between ports), with the rule's key. */
function sites(c: CompiledDataplane): Site[] {
  const out: Site[] = [];
  const seen = new Set<string>();
  for (const node of c.nodes) {
    const ports = [node.ext, node.host, ...node.pods.map((p) => p.port)];
    for (const port of ports) {
      for (const layer of port.layers) {
        for (const group of layer.groups) {
          const rules = [...group.rules];
          if (group.byVip !== null) for (const list of group.byVip.values()) rules.push(...list);
          for (const rule of rules) {
            const at = `${node.id}.${rule.id}`;
            if (seen.has(at)) continue;
            seen.add(at);
            out.push({ key: `${node.name}/${rule.name}`, layer, group, rule });
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
      for (let i = 0; i < n; i++) {
        const cols = COLUMNS.map((col) => (r[col] as ArrayLike<number>)[i]);
        out.push({ cols, bytes: Buffer.from(b.arena.subarray(b.off[i], b.off[i] + b.caplen[i])) });
      }
    }
  } finally {
    reader.close();
  }
  return out;
}

function colText(col: Column, v: number): string {
  if (col === 'verdict') return VERDICT_NAMES[v] ?? String(v);
  if (col === 'reason') return reasonCode(v) ?? 'none';
  if (col === 'warnings') return warningCodes(v).join(',') || 'none';
  return String(v);
}

/** The first difference between two runs in words (`p4 verdict forwarded>dropped`), null when none. */
function firstDifference(base: Outcome[], got: Outcome[]): string | null {
  if (got.length !== base.length) return `${got.length} packets instead of ${base.length}`;
  for (let i = 0; i < base.length; i++) {
    for (let k = 0; k < COLUMNS.length; k++) {
      if (base[i].cols[k] !== got[i].cols[k]) return `p${i + 1} ${COLUMNS[k]} ${colText(COLUMNS[k], base[i].cols[k])}>${colText(COLUMNS[k], got[i].cols[k])}`;
    }
    if (!base[i].bytes.equals(got[i].bytes)) return `p${i + 1} bytes`;
  }
  return null;
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
}

function rowFor(rows: Map<string, Row>, key: string): Row {
  let row = rows.get(key);
  if (row === undefined) {
    row = { key, scenarios: [], remove: [], dflt: [], dfltSame: true, orphan: false, matched: [] };
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

/** The mutants of `row` that changed nothing (its failures before the lists). */
function failedMutants(row: Row): Mutant[] {
  if (row.orphan) return ['remove', 'default'];
  const out: Mutant[] = [];
  if (row.remove.length === 0) out.push('remove');
  if (!row.dfltSame && row.dflt.length === 0) out.push('default');
  return out;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function table(rows: Row[]): string {
  const w = Math.max(...rows.map((r) => r.key.length));
  const lines = [`${pad('rule (node/name)', w)}  ${pad('scenarios', 26)}  ${pad('remove: first change', 40)}  ${pad('default action: first change', 40)}  packets meeting its conditions`];
  for (const r of rows) {
    const rem = r.orphan ? 'NOT IN THE PRINTED MODEL' : (r.remove[0] ?? 'NOTHING');
    const def = r.orphan ? '-' : r.dfltSame ? 'n/a (action is the layer default)' : (r.dflt[0] ?? 'NOTHING');
    const hits = r.matched.length === 0 ? 'none' : r.matched.length > 4 ? `${r.matched.slice(0, 4).join(' ')} +${r.matched.length - 4}` : r.matched.join(' ');
    lines.push(`${pad(r.key, w)}  ${pad(r.scenarios.join(','), 26)}  ${pad(rem, 40)}  ${pad(def, 40)}  ${hits}`);
  }
  return lines.join('\n');
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

  before(() => {
    for (const dir of listScenarios(tracesDir())) {
      const s = loadScenario(dir);
      const l: Loaded = { id: path.basename(dir).slice(0, 2), s, cluster: loadCluster(s.clusterFiles), trace: fs.readFileSync(scenarioTracePath(s)) };
      mutateScenario(l, rows);
    }
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
    console.log(`\n${table(all)}\n`);
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

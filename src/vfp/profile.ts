/**
 * Windows profiles (`--windows NAME`): what differs between Windows builds in how the VFP data plane
 * treats a packet. The default profile, `ws2022`, follows the Kubernetes page (reference/windows-networking.md)
 * wherever the page says something; facts domain.md marks UNCONFIRMED are settings here, with the page's
 * behaviour as their default, and each such field says so.
 *
 * Used by: compile.ts (which rules exist), lb.ts (destinations limit, affinity), snat.ts (block size),
 * engine.ts (limits on host traffic, flow timeouts). A profile is plain data; `resolveProfile` also accepts
 * `name:key=value,key=value` overrides so a user can try one setting without a new profile.
 */

import { UsageError } from '../core/errors';
import { FLOW_SHARES } from './flow-table';

export interface FlowTimeouts {
  /** Idle seconds before an established TCP connection expires. UNCONFIRMED (VFP's value is not public); 240 s (4 minutes). */
  tcpEstablished: number;
  /** Idle seconds before a TCP connection that saw only a SYN expires ("TCP Half Open Timeouts"). UNCONFIRMED; 30 s. */
  tcpHalfOpen: number;
  /** Seconds a TCP connection lingers after FIN in both directions or RST. UNCONFIRMED; 5 s. */
  tcpClosed: number;
  /** Idle seconds before a UDP flow expires. UNCONFIRMED; 60 s. */
  udp: number;
  /** Idle seconds before an ICMP (or other protocol) flow expires. UNCONFIRMED; 30 s. */
  icmp: number;
}

export interface WindowsProfile {
  name: string;
  /** One line shown by `--windows help` and in the summary. */
  description: string;
  /**
   * Most unique destinations in one VFP load balancer rule; a Service with more backends gets no load
   * balancer (lb-too-many-destinations). 64 per the page; raised to 1024 on newer builds (which build is
   * UNCONFIRMED, domain.md §1.9).
   */
  maxLbDestinations: number;
  /** HNS supports sessionAffinity ClientIP (HNS >= 12.0, Windows Server 2022 per the page). */
  sessionAffinity: boolean;
  /**
   * HNS supports DSR load balancers (Windows Server 2019 with the 2020-08 update and later): kube-proxy's
   * `hcn.DsrSupported()`. It alone decides whether externalTrafficPolicy Local and preserve-destination are
   * honoured (DSR load balancers with local endpoints, client IP kept), whatever `--enable-dsr` says;
   * without it they are treated as Cluster (local-policy-requires-dsr). See src/vfp/lb.ts.
   */
  dsr: boolean;
  /**
   * OutboundNAT also transposes ICMP queries (echo id as the port). False per the page ("VFP doesn't support
   * ICMP packet transpositions"); which builds changed it is UNCONFIRMED (Windows-Containers#625 hints that some did).
   */
  icmpSnat: boolean;
  /**
   * What VFP does with ICMP it cannot transpose: true, it leaves un-NATed with the pod IP and no reply can
   * come back (no-return; the page: "will not be routed back to their source"); false, the node drops it
   * (dropped). Which one real nodes do is UNCONFIRMED (domain.md §5a); the page's reading is the default.
   */
  icmpUntransposedLeaves: boolean;
  /**
   * The node (host vNIC) can reach Services by ClusterIP. False per the page's troubleshooting ("My Windows
   * node cannot access my services using the service IP"); current builds are UNCONFIRMED (domain.md §5d).
   */
  nodeToClusterIp: boolean;
  /** NodePort works from the node itself. False per the page ("Local NodePort access from the node itself"). */
  localNodePortAccess: boolean;
  /** IPv6 between pods on an overlay network works. False per the page. */
  overlayIpv6: boolean;
  /**
   * flannel VXLAN: the node reaches pods on other nodes. False per the page ("Node-pod connectivity isn't
   * possible by design. It's only possible for local pods with Flannel v0.12.0").
   */
  flannelNodeToRemotePod: boolean;
  /**
   * VXLAN to a node's provider address on UDP 8472 (Linux flannel's default `Backend.Port`) when the
   * network's port is another (4789, the only one flannel on Windows accepts): true, it is not decapsulated
   * and is dropped as `vni-mismatch` (it reaches the host as plain UDP to a port nothing listens on); false,
   * it is judged as the plain UDP packet it is (delivered to the host). What VFP does is UNCONFIRMED
   * (plan11 A16); step-input.ts `foreignVxlan`.
   */
  foreignVxlanDropped: boolean;
  /**
   * The underlay routes the pod CIDRs back to the nodes (Azure UDRs, BGP, static routes on the peers), so a
   * host outside the cluster answers a packet that left with a pod IP. False per the page (the ExceptionList
   * keeps the pod IP; "IP may be rewritten to host IP using OutboundNAT" only outside it): such a packet is
   * no-return, pod-ip-not-routable. Azure's UDRs are UNCONFIRMED (plan11 A18); step-switch.ts `podIpUnroutable`.
   */
  underlayRoutesPodCidrs: boolean;
  /**
   * A pod's reply to a client outside the ExceptionList that reached the pod IP directly: false, dropped
   * (outboundnat-reply-unmatched, per aks-engine#2080); true, it leaves SNATed to the node IP, which the
   * client does not recognise. The mechanism is UNCONFIRMED (plan11 A19); step-connection.ts `replyMeetsSnat`.
   */
  outsideReplySnat: boolean;
  /** Ports per OutboundNAT block reserved from the dynamic range ("64 per pod", domain.md §5h). */
  snatBlockSize: number;
  /** Flow idle timeouts, on trace time. */
  timeouts: FlowTimeouts;
  /**
   * Most connections (flow pairs; a connection crossing two emulated nodes has one at each) the unified
   * flow table holds, in 64 equal shares by the connection's owner (a pod, all hosts, or a hash of the
   * tuple: engine.ts `shardKey`, modulo 64); a share that is full evicts its least recently used
   * connection, whose later packets are then judged as a new flow's, as a node would after losing the
   * flow; the summary counts them (`flows_evicted`, with the per-share limit). The limit that bites is
   * the per-share one, maxConnections/64 (32,768 by default), not maxConnections: every connection of one
   * pod as a client (or with its own node) is in one share (with more than 64 pods, a few pods share one),
   * and every connection of a node address, NodePort, externalIP or LoadBalancer VIP (all hosts' traffic)
   * is in one share, so that traffic starts evicting at 32,768 concurrent connections however idle the
   * rest of the table is. Raise it with `--windows ws2022:maxConnections=N` (64 x the connections one
   * share should hold; memory grows with what is held, 273 B per connection). Not a modelled Windows limit (VFP holds up to 500k TCP connections per
   * port, domain.md §4.2): it bounds the emulator's memory for traces whose flows never close. Default
   * 2^21 = 2,097,152 (32,768 per share): 546 MiB of flow table when full (273 B per connection with its
   * keys), so a replay stays under 1 GiB of RSS (1M flows that never close: 660 MiB peak;
   * bench/flow-memory.ts).
   */
  maxConnections: number;
}

const DEFAULT_TIMEOUTS: FlowTimeouts = { tcpEstablished: 240, tcpHalfOpen: 30, tcpClosed: 5, udp: 60, icmp: 30 };

/** WindowsProfile.maxConnections by default. */
export const DEFAULT_MAX_CONNECTIONS = 1 << 21;

/** The page's behaviour: the default profile. */
const WS2022: WindowsProfile = {
  name: 'ws2022',
  description: 'Windows Server 2022 as the Kubernetes page describes it (the default): 64 destinations per LB, session affinity, DSR, no ICMP SNAT, no node->ClusterIP, no local NodePort',
  maxLbDestinations: 64,
  sessionAffinity: true,
  dsr: true,
  icmpSnat: false,
  icmpUntransposedLeaves: true,
  nodeToClusterIp: false,
  localNodePortAccess: false,
  overlayIpv6: false,
  flannelNodeToRemotePod: false,
  foreignVxlanDropped: true,
  underlayRoutesPodCidrs: false,
  outsideReplySnat: false,
  snatBlockSize: 64,
  timeouts: DEFAULT_TIMEOUTS,
  maxConnections: DEFAULT_MAX_CONNECTIONS,
};

/** Built-in profiles by name. */
export const PROFILES: Readonly<Record<string, WindowsProfile>> = {
  ws2019: {
    ...WS2022,
    name: 'ws2019',
    description: 'Windows Server 2019 (with KB4489899 and the 2020-08 DSR update): as ws2022, but sessionAffinity ClientIP is not supported (HNS < 12.0)',
    sessionAffinity: false,
  },
  ws2022: WS2022,
  ws2025: {
    ...WS2022,
    name: 'ws2025',
    description:
      'Windows Server 2025 / newer builds: as ws2022 with 1024 destinations per LB rule (the raised limit reported in kubernetes#135518; the exact build is UNCONFIRMED)',
    maxLbDestinations: 1024,
  },
  future: {
    ...WS2022,
    name: 'future',
    description:
      'What the page\'s limitations look like lifted (UNCONFIRMED on any build): 1024 destinations, ICMP SNAT, node->ClusterIP and local NodePort access work',
    maxLbDestinations: 1024,
    icmpSnat: true,
    nodeToClusterIp: true,
    localNodePortAccess: true,
  },
};

export const DEFAULT_PROFILE = 'ws2022';

const NUMERIC_KEYS = new Set(['maxLbDestinations', 'snatBlockSize', 'maxConnections']);
const TIMEOUT_KEYS = new Set(Object.keys(DEFAULT_TIMEOUTS));
const BOOLEAN_KEYS = new Set(
  Object.entries(WS2022)
    .filter(([, v]) => typeof v === 'boolean')
    .map(([k]) => k),
);

/**
 * The profile named by `spec`: a profile name, optionally followed by `:key=value,...` overrides of its
 * fields (`ws2022:icmpSnat=true,maxLbDestinations=128`, `ws2022:timeouts.udp=120`). Throws a UsageError
 * naming the flag for an unknown name, key or value.
 */
export function resolveProfile(spec: string | undefined | null): WindowsProfile {
  const text = spec ?? DEFAULT_PROFILE;
  const colon = text.indexOf(':');
  const name = colon < 0 ? text : text.slice(0, colon);
  const base = PROFILES[name];
  if (!base) throw new UsageError(`--windows: unknown profile '${name}' (known: ${Object.keys(PROFILES).join(', ')})`);
  if (colon < 0) return base;
  const p: WindowsProfile = { ...base, timeouts: { ...base.timeouts } };
  for (const part of text.slice(colon + 1).split(',')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq < 0) throw new UsageError(`--windows: '${part}' is not key=value (settings: ${settingNames().join(', ')})`);
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    const num = (min: number): number => {
      const n = Number(value);
      if (!Number.isFinite(n) || n < min) throw new UsageError(`--windows: ${key} must be a number >= ${min}, got '${value}'`);
      return n;
    };
    if (key.startsWith('timeouts.') && TIMEOUT_KEYS.has(key.slice(9))) {
      (p.timeouts as unknown as Record<string, number>)[key.slice(9)] = num(0);
    } else if (NUMERIC_KEYS.has(key)) {
      (p as unknown as Record<string, number>)[key] = Math.floor(num(1));
    } else if (BOOLEAN_KEYS.has(key)) {
      if (value !== 'true' && value !== 'false') throw new UsageError(`--windows: ${key} must be true or false, got '${value}'`);
      (p as unknown as Record<string, boolean>)[key] = value === 'true';
    } else {
      throw new UsageError(`--windows: unknown setting '${key}' (settings: ${settingNames().join(', ')}; vfp-emu replay --windows help)`);
    }
  }
  p.name = text;
  return p;
}

/**
 * The `--windows` value that sets `key` to `value` on top of the profile given (default DEFAULT_PROFILE): an
 * existing `key=` is replaced (the first in place, later ones removed), else it is appended. The one writer of
 * a what-if's profile for `vfp-emu trace` and the teaching page (native-free/core.ts whatIfInput).
 */
export function withSetting(windows: string | undefined, key: string, value: string): string {
  const base = windows ?? DEFAULT_PROFILE;
  const colon = base.indexOf(':');
  const items = colon < 0 ? [] : base.slice(colon + 1).split(',').filter((it) => it.trim() !== '');
  const mine = (it: string): boolean => it.slice(0, it.indexOf('=')).trim() === key;
  const at = items.findIndex(mine);
  const out = items.filter((it, k) => !mine(it) || k === at).map((it) => (mine(it) ? `${key}=${value}` : it));
  if (at < 0) out.push(`${key}=${value}`);
  return `${colon < 0 ? base : base.slice(0, colon)}:${out.join(',')}`;
}

/** The settings `--windows NAME:key=value` takes, for its errors (issue 13: an error lists what is accepted). */
function settingNames(): string[] {
  return [...NUMERIC_KEYS, ...BOOLEAN_KEYS, ...[...TIMEOUT_KEYS].map((k) => `timeouts.${k}`)];
}

/** One line per profile, for `--windows help` and the docs. */
export function describeProfiles(): string {
  return [
    ...Object.values(PROFILES).map((p) => `${p.name.padEnd(8)} ${p.description}`),
    '',
    MAX_CONNECTIONS_HELP,
  ].join('\n');
}

/** The `maxConnections` setting as `--windows help` explains it (WindowsProfile.maxConnections). */
export const MAX_CONNECTIONS_HELP =
  `maxConnections (every profile; default ${DEFAULT_MAX_CONNECTIONS}): the flow table's bound, split into ${FLOW_SHARES} shares of ` +
  `maxConnections/${FLOW_SHARES} connections (${DEFAULT_MAX_CONNECTIONS / FLOW_SHARES} by default). One share holds every connection of one pod ` +
  `as a client or with its own node, and one share holds all node-address, NodePort, externalIP and LoadBalancer-VIP ` +
  `connections: that traffic is evicted (flows_evicted in the summary) from ${DEFAULT_MAX_CONNECTIONS / FLOW_SHARES} concurrent connections on. ` +
  `Raise it with --windows ws2022:maxConnections=N.`;

/**
 * The Draft: what the importers (src/cluster/importers/*) have read so far, before merging.
 * Importers only add facts here, each with where it came from; `finalizeCluster` (merge.ts) turns the
 * Draft into the Cluster model. The merge rule lives in `FactSet.put`: a later explicit value replaces
 * an earlier one, and a different value leaves a `config-override` diagnostic. A "weak" value is what a
 * format implies when a key is left out (net-conf VNI 4096); it never overrides an explicit one.
 */

import type { Diagnostic, EndpointModel, HnsLbFrontend, NetworkMode, Protocol } from './model';
import { whereText, type Where } from './source';

interface Fact<T = unknown> {
  value: T;
  where: Where;
  weak: boolean;
}

/** Diagnostic severity: `error` (Windows will fail this), `warning` (works differently), `info` (a note). */
type Severity = 'error' | 'warning' | 'info';

function same(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

function show(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Named facts about one object (or the cluster-wide settings), merged with the later-wins rule. */
export class FactSet {
  readonly facts = new Map<string, Fact>();

  constructor(
    /** How diagnostics name this object (`network`, `nodes[win-1]`, `services[default/web]`). */
    readonly label: string,
    private readonly draftDiagnostics: Diagnostic[],
  ) {}

  put(key: string, value: unknown, where: Where, weak = false): void {
    if (value === undefined) return;
    const old = this.facts.get(key);
    if (old && !old.weak && weak) return;
    if (old && !old.weak && !same(old.value, value)) {
      this.draftDiagnostics.push({
        code: 'config-override',
        severity: 'warning',
        message: `${this.label}.${key}: ${whereText(where)} sets ${show(value)}, replacing ${show(old.value)} from ${whereText(old.where)} (the later file wins)`,
        source: whereText(where),
      });
    }
    this.facts.set(key, { value, where, weak });
  }

  /** Merges another set into this one, fact by fact, in the other's order. */
  absorb(other: FactSet): void {
    for (const [k, f] of other.facts) this.put(k, f.value, f.where, f.weak);
  }

  get<T>(key: string): T | undefined {
    return this.facts.get(key)?.value as T | undefined;
  }

  fact<T>(key: string): Fact<T> | undefined {
    return this.facts.get(key) as Fact<T> | undefined;
  }

  has(key: string): boolean {
    return this.facts.has(key);
  }
}

/** How a fact about a node finds its node. */
export type NodeKey =
  | { by: 'name'; name: string }
  /** The node whose InternalIP (or provider address) is this IP; a node named by the IP is created if none. */
  | { by: 'ip'; ip: string; create: boolean; windows?: boolean }
  /** The node whose podCIDR contains this address (subnet.env, an HNS v2 network without a management IP). */
  | { by: 'subnet'; ip: string; cidr: string };

export interface NodeFacts {
  key: NodeKey;
  where: Where;
  facts: FactSet;
}

interface PodFacts {
  namespace: string;
  name: string;
  where: Where;
  facts: FactSet;
}

export interface ServicePortFacts {
  name: string;
  protocol: Protocol;
  port: number;
  targetPort: number | string;
  nodePort: number | null;
  where: Where;
}

/** An endpoint as an input states it; `podRef` (scenario) names a pod whose IP and node are filled in later. */
export interface EndpointFacts extends Partial<EndpointModel> {
  ip?: string;
  podRef?: string;
  where: Where;
}

interface ServiceFacts {
  namespace: string;
  name: string;
  where: Where;
  facts: FactSet;
  /** Endpoints stated on the Service itself (scenario). */
  endpoints: EndpointFacts[];
}

/** An EndpointSlice, or a legacy Endpoints object (`legacy`), linked to its Service by name. */
interface SliceFacts {
  namespace: string;
  service: string;
  legacy: boolean;
  where: Where;
  endpoints: EndpointFacts[];
}

/** A local HNS endpoint from Get-HnsEndpoint: its IP and MAC (the pod's real MAC). */
interface HnsEndpointFacts {
  name: string;
  ip: string;
  mac: string | null;
  /** Address of the endpoint's PA / ProviderAddress policy (its node's provider address). */
  pa: string | null;
  where: Where;
}

/** One HNS network from Get-HnsNetwork (v1) or a HostComputeNetwork (v2). */
export interface HnsNetworkFacts {
  name: string;
  mode: NetworkMode | null;
  /** The HNS Type as written (`L2Bridge`, `Overlay`, `NAT`, ...). */
  type: string;
  where: Where;
  /** Node-level facts about the node the dump was taken on (management IP, DR MAC, subnet, MAC pool). */
  local: NodeFacts | null;
  /** Facts about other nodes from RemoteSubnetRoute policies. */
  remotes: NodeFacts[];
  /** Network-level settings (vni, vxlanPort, dns) to apply when this network is the cluster's. */
  settings: FactSet;
}

/** (HNS truth) An HNS endpoint by its ID, local or remote: load balancers name their endpoints by ID. */
export interface HnsEndpointIdFacts {
  /** Lower-case GUID. */
  id: string;
  ip: string;
  remote: boolean;
  where: Where;
}

/** (HNS truth) One HNS load balancer frontend as a dump states it (model.ts HnsLbFrontend), with where. */
export interface HnsLbFacts extends HnsLbFrontend {
  /** Endpoint IDs (lower case) it balances to, with where each is named. */
  endpoints: { id: string; where: Where }[];
  /** Flags set in the dump that the emulator reads and does not use (`ILB`, `LocalRoutedVIP`, ...), for a note. */
  unusedFlags: string[];
  where: Where;
}

/** Everything read from subnet.env. */
interface SubnetEnvFacts {
  where: Where;
  node: NodeFacts | null;
}

interface RouteFact {
  destinationPrefix: string;
  needEncap: boolean;
  nextHop?: string;
  where: Where;
}

interface AclFact {
  action: 'Allow' | 'Block' | 'Pass';
  direction: 'In' | 'Out';
  protocols: number[];
  localAddresses: string[];
  remoteAddresses: string[];
  localPorts: [number, number][];
  remotePorts: [number, number][];
  priority: number;
  ruleType: 'Switch' | 'Host';
  /** IP of the HNS endpoint whose policy list held it (a Get-HnsEndpoint dump); absent: a CNI config's. */
  endpoint?: string;
  where: Where;
}

export class Draft {
  readonly diagnostics: Diagnostic[] = [];
  readonly sources: string[] = [];
  /** Cluster-wide settings: `network.*`, `proxy.*`, `clusterDomain`, `flannel.*`, `scenario.*`. */
  readonly settings = new FactSet('cluster', this.diagnostics);
  readonly nodes: NodeFacts[] = [];
  readonly pods: PodFacts[] = [];
  readonly services: ServiceFacts[] = [];
  readonly slices: SliceFacts[] = [];
  readonly hnsNetworks: HnsNetworkFacts[] = [];
  readonly hnsEndpoints: HnsEndpointFacts[] = [];
  /** (HNS truth) Every dumped endpoint with an ID (local and remote). */
  readonly hnsEndpointIds: HnsEndpointIdFacts[] = [];
  /** (HNS truth) Load balancers of the dumps (what the dumped node runs). */
  readonly hnsLbs: HnsLbFacts[] = [];
  readonly subnetEnvs: SubnetEnvFacts[] = [];
  /** OutBoundNAT exceptions of every policy seen (they union). */
  readonly exceptions: { cidr: string; where: Where }[] = [];
  /** Where an OutBoundNAT policy was seen (an endpoint with none gets no SNAT at all). */
  readonly natPolicies: Where[] = [];
  readonly routes: RouteFact[] = [];
  readonly acls: AclFact[] = [];
  /** Where CNI configs / HNS endpoint policy lists were read (they replace the default exceptions). */
  readonly policySources: Where[] = [];

  note(code: string, severity: Severity, message: string, where: Where | string): void {
    this.diagnostics.push({ code, severity, message, source: typeof where === 'string' ? where : whereText(where) });
  }

  newFacts(label: string): FactSet {
    return new FactSet(label, this.diagnostics);
  }

  node(key: NodeKey, where: Where): NodeFacts {
    const label = key.by === 'name' ? `nodes[${key.name}]` : key.by === 'ip' ? `nodes[${key.ip}]` : `nodes[podCIDR ∋ ${key.ip}]`;
    const n: NodeFacts = { key, where, facts: this.newFacts(label) };
    this.nodes.push(n);
    return n;
  }

  pod(namespace: string, name: string, where: Where): PodFacts {
    const p: PodFacts = { namespace, name, where, facts: this.newFacts(`pods[${namespace}/${name}]`) };
    this.pods.push(p);
    return p;
  }

  service(namespace: string, name: string, where: Where): ServiceFacts {
    const s: ServiceFacts = { namespace, name, where, facts: this.newFacts(`services[${namespace}/${name}]`), endpoints: [] };
    this.services.push(s);
    return s;
  }
}

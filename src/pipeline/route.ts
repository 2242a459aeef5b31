/**
 * Which shard (worker) decides a packet: `routeKey` refines the engine's `Dataplane.shardKey` so that
 * every packet whose outcome can depend on a piece of mutable state goes where that state lives, then
 * `key % shards` picks the shard.
 *
 * The engine's key is the connection's owner endpoint (a pod, a node's host, or a hash of the tuple for
 * traffic that touches no state); the NAT port pools are striped per owner (vfp/snat.ts), so a pod's
 * flows and its NAT ports live together. Three cases need more (found by reading the engine; each is
 * covered by test/pipeline-route.test.ts or a scenario of test/pipeline-determinism.test.ts):
 *  1. The host's NAT pool (owner 0 of a node) serves the node's own flows, traffic between nodes, and
 *     every external client of a NodePort, externalIP or LoadBalancer VIP. The engine keys a node's host
 *     traffic by node (1_000_000 + node, from whichever end it looks at first) and VIP traffic by a tuple
 *     hash. All of it goes to one key, HOSTS_KEY: host traffic is a small share of real traffic.
 *  2. The remaining hash keys that name an address the engine knows (a ClusterIP, a VIP) go to HOSTS_KEY
 *     too; a hash key is kept only for traffic between addresses no emulated node owns.
 *  3. A TCP/UDP packet to or from a SourceVIP that is not a node address, at a port inside that node's
 *     NAT stripes, belongs to the connection that port was drawn for: its owner's key. That is a backend
 *     replying to `SourceVIP:port` in a wire-view capture, for which the engine's key would name the
 *     backend pod. Node addresses are left out: a node address at a dynamic port is just as often the
 *     host's own connection (a kubelet probe and its reply), which the engine keys by the pod.
 * Merging keys into one shard never changes a result (one state for everything is the single-threaded
 * run); splitting them must not, which is what the cases above make sure of.
 *
 * Limits (the engine's key; reported, not fixable statelessly): a node address at a port inside a pod's
 * NAT stripe is taken for that pod's NAT port when no pod is in the tuple, so the reply to a host
 * connection whose ephemeral port lies in a pod's stripe (host to an external address) is keyed by that
 * pod while the connection is in HOSTS_KEY; and on l2bridge, where the SourceVIP is the node IP, a
 * backend's wire-view reply to `nodeIP:port` is keyed by the backend pod. Both need the engine to tell
 * NAT ports from the host's own ports without state (e.g. NAT stripes that exclude a host range).
 */
import type { Batch } from '../core/batch';
import { PF } from '../core/batch';
import { AK_NODE, AK_PA, AK_SOURCE_VIP, type CompiledDataplane } from '../vfp/compile';
import type { Dataplane } from '../vfp/engine';

/** The key of every packet that may use a node's host NAT pool (see the module comment). */
export const HOSTS_KEY = 1_000_000;
/** Engine keys from HOST_KEY_MIN on are node hosts, from HASH_KEY_MIN on tuple hashes (engine.ts shardKey). */
const HOST_KEY_MIN = 1_000_000;
const HASH_KEY_MIN = 2_000_000;

/**
 * The owner key of NAT port `port` of SourceVIP `ip` (pod endpoint, or HOSTS_KEY for the host), -1 when
 * `ip` is not a SourceVIP distinct from the node addresses or the port is outside the node's NAT stripes.
 */
function sourceVipOwnerKey(c: CompiledDataplane, ip: number, port: number): number {
  const e = c.addr.get(ip);
  if (e < 0 || (c.addrKind[e] & (AK_SOURCE_VIP | AK_NODE)) !== AK_SOURCE_VIP) return -1;
  const node = c.nodes[c.addrNode[e]];
  const r = node.nat;
  const rel = port - r.start;
  if (rel < 0 || rel >= Math.floor(r.count / r.blockSize) * r.blockSize) return -1;
  const owner = Math.floor(rel / r.blockSize) % r.owners;
  if (owner === 0) return HOSTS_KEY;
  const pod = node.pods[owner - 1];
  return pod !== undefined ? pod.endpoint : HOSTS_KEY;
}

/** The routing key of packet `i` (after decode). Any function of it keeps outputs identical. */
export function routeKey(dp: Dataplane, b: Batch, i: number): number {
  const k = dp.shardKey(b, i);
  if (b.ipVer[i] !== 4) return k;
  const c = dp.c;
  let src = b.src4[i];
  let dst = b.dst4[i];
  let proto = b.proto[i];
  let sport = b.sport[i];
  let dport = b.dport[i];
  if ((b.flags[i] & PF.TUNNEL) !== 0 && b.innerIpVer[i] === 4 && c.mode === 'overlay') {
    const e = c.addr.get(dst);
    if (e >= 0 && (c.addrKind[e] & (AK_PA | AK_NODE)) !== 0) {
      src = b.innerSrc4[i];
      dst = b.innerDst4[i];
      proto = b.innerProto[i];
      sport = b.innerSport[i];
      dport = b.innerDport[i];
    }
  }
  if (proto === 6 || proto === 17) {
    const d = sourceVipOwnerKey(c, dst, dport);
    if (d >= 0) return d;
    const s = sourceVipOwnerKey(c, src, sport);
    if (s >= 0) return s;
  }
  if (k >= HOST_KEY_MIN && k < HASH_KEY_MIN) return HOSTS_KEY;
  if (k >= HASH_KEY_MIN && (c.addr.get(src) >= 0 || c.addr.get(dst) >= 0)) return HOSTS_KEY;
  return k;
}

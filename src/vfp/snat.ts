/**
 * OutboundNAT port blocks (domain.md §5h): "HNS consumes dynamic ports for NAT purposes (64 per pod)";
 * HNS reserves them from the node's dynamic port range in 64-port blocks.
 *
 * Model (inference, documented in the summary of each choice):
 *  - The node's range [start, start + count) is cut into B = floor(count / blockSize) blocks.
 *  - NAT owners of a node: owner 0 is the host (external clients of NodePorts, host-originated flows),
 *    owners 1..E-1 are its local pod endpoints in pod order. A flow's NAT port comes from its *client*
 *    endpoint's blocks, whichever address it is NATed to (the node IP for OutboundNAT, the SourceVIP for a
 *    non-DSR load balancer).
 *  - Owner o's j-th block is block j * E + o: each owner draws from a fixed stripe of the range. HNS hands
 *    blocks out first come first served; the stripe keeps one owner's ports independent of every other
 *    owner's traffic, so the state of one endpoint can live on its own shard (issue 4) and a reply to
 *    `nodeIP:port` names its owner without any shared state (`ownerOfPort`). An owner's first block is
 *    its "64 per pod" reservation; more are taken when it has more concurrent NATed flows, until its
 *    stripe is used up: then the flow is dropped with snat-ports-exhausted.
 *  - TCP, UDP and ICMP (when the profile SNATs ICMP) are separate port spaces.
 *  - Within an owner's blocks, ports are handed out by a rotating cursor (deterministic); a port whose
 *    connection has expired on trace time is taken back (its connection is freed first).
 *  - An owner whose stripe is used up and whose every port is busy would scan all its ports for each new
 *    flow (thousands of expiry checks per dropped flow at 100k flows). After a scan that found nothing,
 *    the pool remembers the earliest time one of its connections can expire (`quietUntil`); until then a
 *    new flow is refused without a scan, with the same result the scan would give. The engine lowers that
 *    time when a connection's expiry moves earlier (a FIN shortens its timeout: `expiryLowered`; a new
 *    connection's first time is such a move, from NaN), and keeps it when it takes a new block.
 *  - A scan for a free port passes every busy port before it, and must take back one whose connection has
 *    expired. Each port keeps a lower bound of its connection's expiry (`until`: the time `expiryLowered`
 *    gave for its port, or the expiry read when a scan last looked), so a scan reads a connection's record
 *    (a cache miss, thousands per pool at 100k flows) only once the trace time is past it. The contract
 *    this rests on: a bound connection does not expire before its first packet sets its time, and every
 *    lowering of a connection's time reaches `expiryLowered` with its port (the engine: step-flow.ts
 *    tcpUpdate). The ports handed out are the same as a scan reading every record would give.
 *
 * All of it is mutable state of one DataplaneState (one shard); nothing is shared.
 */

/** Protocol slots of a pool. */
export const NAT_TCP = 0;
export const NAT_UDP = 1;
export const NAT_ICMP = 2;
const SLOTS = 3;

/** The port-space slot of IP protocol `proto`, -1 when it has no NAT pool. */
export function natSlot(proto: number): number {
  return proto === 6 ? NAT_TCP : proto === 17 ? NAT_UDP : proto === 1 ? NAT_ICMP : -1;
}

/** The static layout of one node's range (from compile.ts). */
export interface NatRange {
  start: number;
  count: number;
  blockSize: number;
  /** Number of NAT owners on the node (host + local endpoints). */
  owners: number;
  /** Global pool index of owner 0 of this node (pools of owner o: (base + o) * 3 + slot). */
  ownerBase: number;
}

/** Blocks an owner can ever hold: |{ j : j * E + o < B }|. */
export function stripeBlocks(r: NatRange, owner: number): number {
  const b = Math.floor(r.count / r.blockSize);
  return owner < b ? Math.floor((b - 1 - owner) / r.owners) + 1 : 0;
}

/** First port of owner `owner`'s `j`-th block. */
export function blockStart(r: NatRange, owner: number, j: number): number {
  return r.start + (j * r.owners + owner) * r.blockSize;
}

/**
 * The owner of NAT port `port` of a node, or -1 when the port is outside the node's blocks. Stateless:
 * the stripe layout alone decides (a number, not an object: the pipeline asks it for every packet).
 */
export function ownerOfPort(r: NatRange, port: number): number {
  const rel = port - r.start;
  if (rel < 0 || rel >= Math.floor(r.count / r.blockSize) * r.blockSize) return -1;
  return Math.floor(rel / r.blockSize) % r.owners;
}

/** The index of NAT port `port` inside its owner's pool (for a port whose `ownerOfPort` is not -1). */
export function indexOfPort(r: NatRange, port: number): number {
  const rel = port - r.start;
  const block = Math.floor(rel / r.blockSize);
  return Math.floor(block / r.owners) * r.blockSize + (rel % r.blockSize);
}

/**
 * What the allocator needs to know of the connections that hold ports (DataplaneState provides it).
 */
export interface PortHolders {
  /** Trace time of the packet being decided (NaN: no clock). */
  readonly now: number;
  /** True when connection `c` has expired at `now`: its port may be taken back. */
  isExpired(c: number): boolean;
  /** Frees connection `c`, and with it its port (through `release`). */
  reclaim(c: number): void;
  /** The trace time after which connection `c` is expired, as far as is known now (+Infinity: never). */
  expiresAfter(c: number): number;
}

/**
 * The port pools of one state: per (global owner, protocol slot) the connection using each port of the
 * blocks held so far (-1 free).
 */
export class SnatPools {
  /** Connection by port index, per pool; grows one block at a time. */
  private conns: (Int32Array | null)[] = [];
  /**
   * Per pool, beside `conns`: the client's own port of the connection bound to each port index (its source
   * port before the NAT: the forward key's sport). The pod-view reply check (step-reply-checks.ts
   * podPortTaken) looks for a pod's connection by that port: it reads this dense array first and the
   * connection's record (a cache miss each, thousands per pool at 100k flows) only where it matches.
   */
  private clientPorts: (Uint16Array | null)[] = [];
  /**
   * Per pool, beside `conns`: a lower bound of the expiry time of the connection bound to each port index
   * (Infinity when bound: a connection expires only after its first packet set its time, which
   * `expiryLowered` passes on with the port; raised to the connection's expiry when a scan reads it). A
   * scan reads a connection's record only when the trace time is past it.
   */
  private until: (Float64Array | null)[] = [];
  /** Rotating cursor per pool. */
  private cursor: number[] = [];
  /** Ports in use per pool. */
  private inUse: number[] = [];
  /**
   * Per pool: while every port is busy, no connection of the pool can expire up to this trace time
   * (-Infinity: unknown, scan). Set by a scan that found nothing; reset when the pool hands out a port;
   * lowered by `expiryLowered`.
   */
  private quietUntil: number[] = [];

  /**
   * A free port of `owner` (node-local index) on node range `r` for protocol slot `slot`, bound to
   * connection `conn`; -1 when the owner's stripe is exhausted. A port held by a connection that
   * `holders.isExpired` says has expired is taken back (`holders.reclaim` frees it first).
   */
  allocate(r: NatRange, owner: number, slot: number, conn: number, holders: PortHolders, clientPort = 0): number {
    const pool = (r.ownerBase + owner) * SLOTS + slot;
    while (this.conns.length <= pool) {
      this.conns.push(null);
      this.clientPorts.push(null);
      this.until.push(null);
      this.cursor.push(0);
      this.inUse.push(0);
      this.quietUntil.push(-Infinity);
    }
    const arr = this.conns[pool];
    const held = arr === null ? 0 : arr.length;
    // every port busy and none can have expired since the last fruitless scan: a scan would find nothing
    if (arr !== null && !(this.inUse[pool] === held && holders.now <= this.quietUntil[pool])) {
      const k = this.scan(pool, arr, holders);
      if (k >= 0) {
        this.bind(pool, k, conn, clientPort);
        this.quietUntil[pool] = -Infinity;
        return this.portAt(r, owner, k);
      }
    }
    // Every held port is busy: take the next block of the owner's stripe. quietUntil stays: it bounds the
    // expiry of the connections that held every port (the scan above just set it, or found it still
    // valid), and a new one never expires before its first packet sets its time, which goes through
    // `expiryLowered` (NaN -> a time is a lowering). So when the new block is full too, the next connection
    // takes another block without scanning the ones it holds again.
    const j = held / r.blockSize;
    if (j >= stripeBlocks(r, owner)) return -1;
    this.grow(pool, held + r.blockSize);
    this.bind(pool, held, conn, clientPort);
    return this.portAt(r, owner, held);
  }

  /**
   * The first port index from the pool's cursor that is free or whose connection has expired (taken back:
   * `holders.reclaim` frees it), -1 when none is; a fruitless scan sets the pool's quietUntil. A connection's
   * record is read only when the trace time is past its `until` (a lower bound of its expiry): the busy
   * ports of a pod at 100k flows are thousands, each a cache miss, and most are far from expiring.
   */
  private scan(pool: number, arr: Int32Array, holders: PortHolders): number {
    const until = this.until[pool] as Float64Array;
    const now = holders.now;
    const n = arr.length;
    let k = this.cursor[pool] % n;
    for (let step = 0; step < n; step++, k = k + 1 === n ? 0 : k + 1) {
      let c = arr[k];
      if (c >= 0 && !(now <= until[k])) {
        if (holders.isExpired(c)) {
          holders.reclaim(c); // frees the port through `release`
          c = arr[k];
        } else until[k] = holders.expiresAfter(c);
      }
      if (c < 0) return k;
    }
    // every entry's `until` is now a lower bound of its connection's expiry, none before the trace time
    let quiet = Infinity;
    for (let q = 0; q < n; q++) if (!(until[q] >= quiet)) quiet = until[q];
    this.quietUntil[pool] = quiet;
    return -1;
  }

  /** Binds port index `k` of `pool` to connection `conn` (client port `clientPort`). */
  private bind(pool: number, k: number, conn: number, clientPort: number): void {
    (this.conns[pool] as Int32Array)[k] = conn;
    (this.clientPorts[pool] as Uint16Array)[k] = clientPort;
    // a new connection never expires until its first packet sets its time (through `expiryLowered`)
    (this.until[pool] as Float64Array)[k] = Infinity;
    this.cursor[pool] = k + 1;
    this.inUse[pool]++;
  }

  /** The pool's arrays grown to `size` port indexes (the new ones free). */
  private grow(pool: number, size: number): void {
    const arr = new Int32Array(size).fill(-1);
    const ports = new Uint16Array(size);
    const until = new Float64Array(size);
    const had = this.conns[pool];
    if (had !== null) {
      arr.set(had);
      ports.set(this.clientPorts[pool] as Uint16Array);
      until.set(this.until[pool] as Float64Array);
    }
    this.conns[pool] = arr;
    this.clientPorts[pool] = ports;
    this.until[pool] = until;
  }

  /**
   * A connection holding a port of `owner`'s pool may now expire as early as trace time `t`; `port` is its
   * NAT port (-1: not known, then the `until` of every port of the pool is forgotten).
   */
  expiryLowered(r: NatRange, owner: number, slot: number, t: number, port = -1): void {
    const pool = (r.ownerBase + owner) * SLOTS + slot;
    if (pool >= this.quietUntil.length) return;
    if (!(t >= this.quietUntil[pool])) this.quietUntil[pool] = t;
    const until = this.until[pool];
    if (until === null) return;
    if (port < 0 || ownerOfPort(r, port) !== owner) until.fill(-Infinity);
    else {
      const k = indexOfPort(r, port);
      if (k < until.length && !(t >= until[k])) until[k] = t;
    }
  }

  /** Frees `port` of `owner` if it is bound to `conn`. */
  release(r: NatRange, owner: number, slot: number, port: number, conn: number): void {
    const pool = (r.ownerBase + owner) * SLOTS + slot;
    const arr = this.conns[pool];
    if (!arr) return;
    if (ownerOfPort(r, port) !== owner) return;
    const index = indexOfPort(r, port);
    if (index >= arr.length) return;
    if (arr[index] === conn) {
      arr[index] = -1;
      this.inUse[pool]--;
    }
  }

  /** The connection bound to NAT port `port` of node range `r` (any owner), or -1. */
  connectionOfPort(r: NatRange, slot: number, port: number): number {
    const owner = ownerOfPort(r, port);
    if (owner < 0) return -1;
    const arr = this.conns[(r.ownerBase + owner) * SLOTS + slot];
    const index = indexOfPort(r, port);
    return arr && index < arr.length ? arr[index] : -1;
  }

  /** Live connections using `owner`'s pool (for mismatch checks by pod port; slow path). */
  connectionsOf(r: NatRange, owner: number, slot: number): Int32Array | null {
    return this.conns[(r.ownerBase + owner) * SLOTS + slot] ?? null;
  }

  /** The client ports of `connectionsOf`'s connections, index for index (`allocate`'s `clientPort`). */
  clientPortsOf(r: NatRange, owner: number, slot: number): Uint16Array | null {
    return this.clientPorts[(r.ownerBase + owner) * SLOTS + slot] ?? null;
  }

  /** Ports in use and blocks held by `owner` (tests, explain). */
  usage(r: NatRange, owner: number, slot: number): { inUse: number; blocks: number } {
    const pool = (r.ownerBase + owner) * SLOTS + slot;
    const arr = this.conns[pool];
    return { inUse: this.inUse[pool] ?? 0, blocks: arr ? arr.length / r.blockSize : 0 };
  }

  private portAt(r: NatRange, owner: number, index: number): number {
    const j = Math.floor(index / r.blockSize);
    return blockStart(r, owner, j) + (index % r.blockSize);
  }
}

/**
 * The unified flow table (VFP's UFT, domain.md §4.5): the cached result of the slow path for each flow,
 * so later packets and replies take the fast path.
 *
 * Layout (typed arrays only; no Map, no object per flow), chosen so that a fast-path hit touches two cold
 * cache lines whatever the table size (issue 12; before it, a 16-word record per flow and a separate key
 * copy in the index cost three or four):
 *  - A *connection* `c` owns two flows created together: `2c` (forward, the first packet's direction) and
 *    `2c + 1` (reverse, its replies); `f ^ 1` is a flow's partner.
 *  - Flow record: 8 words (32 bytes) per flow in one Int32Array (`rec`), so a connection's two flows fill
 *    one 64-byte line: the flow's key (4 words, stored only here), its expiry time (a float64 over words
 *    4-5), its action id with the connection's TCP state in the top bits, and its own 16-bit NAT port
 *    (when its action does not say it) with its VXLAN outer source port.
 *  - Interned actions: the composed header transposition (FX flags and values), verdict, reason,
 *    warnings, endpoints, node, rule, service and backend of a flow, 16 words, stored once per distinct
 *    value and shared by every flow that takes the same path (`seal` interns a new connection's two
 *    flows). A NAT's address and port that equal the partner flow's key (always, for a connection the
 *    slow path composed: the reply's tuple is the NATed one) are read from the partner's key, in the same
 *    line, so per-connection NAT ports and client addresses do not split actions; the number of actions
 *    is bounded by the paths the configuration has, and they live as long as the table.
 *  - Cold columns per connection (SoA): NAT port and owner, the trace number of the first packet, the
 *    connection flags, the share ring.
 *  - Key index: open addressing with linear probing, each slot one int32 (flow + 1, an alias bit for a
 *    pod-view alias, and the top bits of the key's hash as a tag; 0 = empty), 16 slots a cache line: a
 *    probe compares the tag, then the key in the flow's record (the line a hit reads next anyway); a
 *    deletion's backward shift and a growth take each entry's hash from its record. Keys are
 *    `(scope, proto, src, dst, sport, dport)`:
 *      k0 = scope * 256 + proto, k1 = src, k2 = dst, k3 = sport << 16 | dport.
 *    `scope` says where the packet meets the flow: SCOPE_ENTRY (the first emulated node the packet
 *    enters, a function of its addresses), `scopeHop(node)` (it arrives at `node`'s external port from
 *    another emulated node or encapsulated from the wire), SCOPE_ALIAS (a reply as a pod-side capture
 *    shows it, see engine.ts "views"): the exact reverse of the forward key, so not stored, read reversed
 *    from the forward flow's record.
 *
 * Expiry runs on trace time: each direction's record holds its expiry time (last packet + the timeout of
 * the connection's state), so a packet updates only its own record; a connection is expired when both
 * directions are. A lookup that finds an expired connection treats it as absent (the engine frees it).
 *
 * Bound (issue 9): at most `maxConnections` connections (WindowsProfile.maxConnections), so that a trace
 * of flows that never close still replays in bounded memory. The limit is split into FLOW_SHARES equal
 * *shares*; the engine puts each connection in the share of its shard key (engine.ts `shardKey`, modulo
 * FLOW_SHARES), and each share keeps its connections in a ring walked by a CLOCK hand:
 *  - `admit` (a connection the slow path cached; a packet decided without caching evicts nothing) first lets the hand take two steps, freeing the expired
 *    connections it meets: a share's ring then holds about twice its unexpired connections at most (each
 *    new one adds one and the hand frees two when half are expired). There is no global sweep; a share
 *    that gets no new connections keeps its expired ones (within its limit) until lookups find them;
 *  - while the share is at its limit the hand walks on: a connection that saw a packet since the hand last
 *    passed it (its expiry times changed: `stamp`) gets a second chance, one that saw none is *evicted*
 *    (freed as if expired, counted in `evicted`); the new connection goes in behind the hand.
 * So eviction takes the least recently used connection (CLOCK's approximation of LRU) on trace time, and
 * the fast path pays nothing for it: it writes the expiry times it wrote before, the hand reads them.
 * Why shares: with --workers >= 3 each shard has its own table (pipeline.ts), and one global limit would
 * evict different connections for different worker counts. A share depends on the shard key alone and
 * FLOW_SHARES is a multiple of the pipeline's SHARD_TABLE (stage.ts), so a share lies within one shard
 * for every worker count, sees its own connections' packets in trace order, and nothing else frees or
 * counts its connections: its evictions are a function of the trace. The price: one share holds
 * ceil(maxConnections / FLOW_SHARES), however idle the others are (connections of all hosts, HOSTS_KEY,
 * are one share).
 * When every slot is taken the capacity grows by half, never past the limit (+1: the connection of the
 * packet in the slow path, not yet admitted); past 256k slots the per-connection arrays
 * reserve the whole bound (`reserveFor`), so that a large table's growth copies nothing more and writes
 * no page twice. Nothing is allocated per packet.
 *
 * Memory: 64 bytes of records, 4 per index slot (2-4 slots), ~33 of cold columns per connection slot,
 * see `bytesPerConnection`: measured 116 B on the 10k-flow e2e trace (bench/engine-trace.ts; 268 B
 * before issue 12) and 105 B for a table of 64k connections as made.
 */

/**
 * Shares of the connection limit (see the module comment). Must stay a multiple of stage.ts SHARD_TABLE
 * (checked there): a share must lie within one shard whatever the worker count. Equal to it, the
 * coarsest split that does, so each share is as large as it can be (256 shares of a quarter the size
 * would evict sooner for a busy pod, with nothing gained).
 */
export const FLOW_SHARES = 64;
/** `shareOf` of a connection in no share (not admitted yet). */
export const NO_SHARE = 0xff;

/** Scope of keys a packet's addresses lead to (first emulated node). */
export const SCOPE_ENTRY = 0;
/** Scope of pod-view reply aliases (engine.ts). */
export const SCOPE_ALIAS = 1 << 21;
/** Scope of packets arriving at `node`'s external port from another emulated node (or encapsulated). */
export function scopeHop(node: number): number {
  return 1 + node;
}
/** k0 of a key. */
export function key0(scope: number, proto: number): number {
  return (scope * 256 + (proto & 0xff)) | 0;
}
/** k3 of a key (an int32: key words are kept as int32 so that they stay small integers in V8, never boxed). */
export function key3(sport: number, dport: number): number {
  return ((sport & 0xffff) << 16) | (dport & 0xffff);
}

/** Flow transposition flags (`xflags`): what the fast path does to a packet of the flow. */
export const FX = {
  /** Set the Ethernet source MAC to `smac`. */
  SET_SMAC: 1 << 0,
  /** Set the Ethernet destination MAC to `dmac` (before encapsulation: the inner frame's). */
  SET_DMAC: 1 << 1,
  /** Source NAT to snatIp:snatPort. */
  SNAT: 1 << 2,
  /** Destination NAT to dnatIp:dnatPort. */
  DNAT: 1 << 3,
  /** VXLAN-encapsulate with template `tpl` and outer source port `outerSport`. */
  ENCAP: 1 << 4,
  /** The packet continues at emulated node `next` (its external port). */
  NEXT_NODE: 1 << 5,
  /** Check DNS questions of this flow for partially qualified names (flow from a Windows pod to port 53). */
  DNS_CHECK: 1 << 6,
} as const;

/** TCP connection states (kept in both records of a connection). */
export const TCP_NONE = 0;
export const TCP_SYN = 1;
export const TCP_ESTABLISHED = 2;
export const TCP_FIN = 3;
export const TCP_CLOSED = 4;

/** Connection flag bits (`cflags`, cold). */
export const CF = {
  FWD_KEYED: 1,
  REV_KEYED: 2,
  ALIAS_KEYED: 4,
  /** Forward direction saw a FIN. */
  FIN_FWD: 8,
  /** Reverse direction saw a FIN. */
  FIN_REV: 16,
  /** The slot holds a connection (set by allocConnection, cleared by freeConnection). */
  LIVE: 64,
} as const;

/** Sentinel for "no MAC" and "no template". */
export const NONE16 = 0xffff;

/** Words per flow record (8: a connection's two flows share one 64-byte line) and the offsets inside it. */
export const W = 8;
// k0, k1, k2, k3 at words 0-3: the flow's key, stored only here (the key index holds hash and flow)
const W_EXP = 4; //      float64 expiry time over words 4-5 (Float64Array index f * 4 + 2)
const W_ACT = 6; //      interned action id (bits 0-27) | TCP state (bits 28-30) | HOP_CHECKED (bit 31)
const W_VAR = 7; //      the flow's own NAT port when its action does not say it (bits 0-15) | outerSport (16-31)
const F64_EXP = W_EXP / 2;
const ACT_MASK = 0x0fffffff;
const TCP_SHIFT = 28;
const TCP_BITS = 7 << TCP_SHIFT;
/**
 * W_ACT bit 31: the next node's external port decapsulated this flow's VXLAN packet (step-input.ts
 * decapAtHop). That check walks the next node's layers with the flow's outer header, which is the same
 * for every packet of the flow (the template and outer source port are the flow's, the layers do not
 * change after compile), so its success is kept here and later packets skip the walk. Cleared with the
 * record when the connection slot is taken again.
 */
const HOP_CHECKED = 1 << 31;

/**
 * Words per interned action and the offsets inside it. The fast path (step-flow.ts) reads a hit's words
 * straight from `actions` at `actBase(f)` (exported: A_X ... A_BACKEND), each once per hop, instead of one
 * accessor call per field, each reading the flow's action id again.
 */
const AW = 16;
export const A_X = 0; //        xflags (bits 0-15) | verdict (16-23) | reason (24-31)
export const A_MACS = 1; //     smac (0-15) | dmac (16-31)
const A_SNAT_IP = 2;
const A_DNAT_IP = 3;
const A_PORTS = 4; //    snatPort (0-15) | dnatPort (16-31), when their mode is NAT_CONST
export const A_TPL = 5; //      tpl
export const A_WARN = 6;
export const A_EPS = 7; //      ingress (0-15) | egress (16-31)
export const A_NODE = 8; //     next (0-15) | node (16-31)
export const A_RULE = 9; //     rule id + 1 (0 = none)
export const A_SERVICE = 10; // service id + 1
export const A_BACKEND = 11; // backend id + 1
const A_MODE = 12; //    snat mode (bits 0-1) | dnat mode (bits 2-3)
/**
 * Where a NAT's address and port come from (A_MODE): NAT_PARTNER, the partner flow's key (a SNAT's are the
 * reply's destination, a DNAT's the reply's source: what makes a connection's NAT per connection lives
 * in its keys already); NAT_VAR, the address in the action and the port in the flow's W_VAR; NAT_CONST,
 * both in the action.
 */
const NAT_CONST = 0;
const NAT_VAR = 1;
const NAT_PARTNER = 2;

/** Slots past which the per-connection arrays reserve the table's whole bound (`reserveFor`). */
const RESERVE_FROM = 1 << 18;
/** Most slots reserved at once (`reserveFor`): 4M connections, about 400 MB of address space. */
const RESERVE_MAX = 1 << 22;

/**
 * Test hook: bytes past which a reservation (`connectionArrays` with `oneBuffer`) throws the RangeError a
 * failed `new ArrayBuffer` throws (Infinity: never), to check `grow`'s fallback without a host that
 * refuses the allocation (vm.overcommit_memory=2, ulimit -v).
 */
let reserveLimitBytes = Infinity;

/** Sets the reservation limit of the test hook above; returns the previous one. */
export function setReserveLimitForTest(bytes: number): number {
  const old = reserveLimitBytes;
  reserveLimitBytes = bytes;
  return old;
}

/** Most index slots `touch` walks looking for a key's tag (the warm pass: a bound, not a rule). */
const TOUCH_PROBES = 8;

/** The offset in FlowTable.actions of the action that action word `w` (FlowTable.actWord) names. */
export function actBaseOf(w: number): number {
  return (w & ACT_MASK) * AW;
}
/** The TCP state that action word `w` (FlowTable.actWord) holds. */
export function tcpOf(w: number): number {
  return (w & TCP_BITS) >>> TCP_SHIFT;
}

/**
 * Key index slot: one int32, flow + 1 in the low `flowBits` bits, then the alias bit (the pod-view alias of
 * the flow's partner's key), then as many top bits of the key's hash as are left (the tag); 0 = empty.
 */
function flowBitsFor(maxCapacity: number): number {
  let bits = 1;
  while (bits < 30 && 2 ** bits <= 2 * maxCapacity + 1) bits++;
  return bits;
}

function mixKey(k0: number, k1: number, k2: number, k3: number): number {
  let h = Math.imul(k0 ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ k1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ k2, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ k3, 0xc2b2ae35);
  return h ^ (h >>> 16); // int32: never boxed when the call is not inlined
}

/** k3 with its ports swapped (the alias key's). */
function swap3(k3: number): number {
  return ((k3 & 0xffff) << 16) | (k3 >>> 16);
}

export class FlowTable {
  // ---- key index ----
  private slots: Int32Array;
  private slotMask: number;
  /** Slot value layout (see flowBitsFor): flow + 1 mask, alias bit, tag mask. */
  private readonly flowMask: number;
  private readonly aliasBit: number;
  private readonly tagMask: number;
  /** Keys in the index. */
  keyCount = 0;

  // ---- records ----
  /** Connection capacity (flows = 2x). */
  capacity: number;
  /** Slots of the per-connection arrays (>= capacity; `reserveFor`). */
  private reserved: number;
  /** The system refused a reservation (`reserve`): the arrays grow x1.5 from then on. */
  private reserveRefused = false;
  /** Live connections. */
  live = 0;
  private freeList: Int32Array;
  private freeTop = 0;
  /** Highest connection index ever handed out + 1. */
  private highWater = 0;
  /** Hot records, W words per flow (key, expiry, action, own port), 2W per connection. */
  private rec: Int32Array;
  /** The same memory as float64 (expiry times). */
  private recF: Float64Array;

  // ---- interned actions (never freed: their number is bounded by the paths the configuration has)
  private acts: Int32Array;
  /** Actions interned (action 0: the empty one a new connection starts with). */
  actionCount = 0;
  private actIndex: Int32Array;
  /** Staging of the connection being built (its two flows' actions and own words), sealed by `seal`. */
  private readonly stage = new Int32Array(2 * AW);
  private readonly stageVar = new Int32Array(2);

  // ---- cold columns (per connection) ----
  /** CF bits. */
  cflags: Uint8Array;
  /** SNAT owner (snat.ts, node-local owner index) of the connection's NAT port, -1 none. */
  natOwner: Int32Array;
  /** The NAT port and its protocol slot (0 TCP, 1 UDP, 2 ICMP). */
  natPort: Uint16Array;
  natProto: Uint8Array;
  /** 1-based trace number of the packet that created the connection (explain). */
  firstPacket: Uint32Array;

  // ---- the bound: shares, each a ring of its connections with a CLOCK hand (cold, per connection)
  /** Most connections per share: ceil(maxConnections / FLOW_SHARES) (Infinity: no limit). */
  readonly shareLimit: number;
  /** Most connections the arrays ever hold: every share full + the one in the slow path. */
  readonly maxCapacity: number;
  /** Connections evicted (freed unexpired to make room), since the table was made. */
  evicted = 0;
  /** Each connection's share, NO_SHARE when none. */
  shareOf: Uint8Array;
  /** Ring links (connection indexes) within a share. */
  private ringNext: Int32Array;
  private ringPrev: Int32Array;
  /** Both directions' expiry times summed when the hand last passed the connection (-Infinity: never). */
  private stamp: Float64Array;
  /** Per share: the connection the hand looks at next (-1: empty), and how many it holds. */
  private readonly hand = new Int32Array(FLOW_SHARES).fill(-1);
  readonly shareLive = new Int32Array(FLOW_SHARES);

  /** Called before a connection's slot is freed (the state frees its NAT port). */
  onFree: ((c: number) => void) | null = null;

  /** `maxConnections`: the bound (module comment); rounded up to a multiple of FLOW_SHARES. */
  constructor(initialConnections = 1024, maxConnections = Infinity) {
    if (!(maxConnections >= 1)) throw new RangeError(`maxConnections must be at least 1, got ${maxConnections}`);
    this.shareLimit = Math.ceil(maxConnections / FLOW_SHARES);
    this.maxCapacity = this.shareLimit * FLOW_SHARES + 1;
    let cap = 16;
    while (cap < initialConnections) cap <<= 1;
    cap = Math.min(cap, this.maxCapacity);
    this.capacity = cap;
    this.reserved = cap;
    let slots = 16;
    while (slots < cap * 2) slots <<= 1;
    this.slots = new Int32Array(slots);
    this.slotMask = slots - 1;
    const fb = flowBitsFor(this.maxCapacity);
    this.flowMask = 2 ** fb - 1;
    this.aliasBit = 2 ** fb;
    this.tagMask = ~(2 ** (fb + 1) - 1);
    const a = connectionArrays(cap, false);
    this.freeList = a.freeList;
    this.rec = a.rec;
    this.recF = a.recF;
    this.acts = new Int32Array(64 * AW);
    this.actIndex = new Int32Array(128);
    this.resetStage(0);
    this.resetStage(1);
    this.intern(0); // action 0: the empty action
    this.cflags = a.cflags;
    this.natOwner = a.natOwner.fill(-1);
    this.natPort = a.natPort;
    this.natProto = a.natProto;
    this.firstPacket = a.firstPacket;
    this.shareOf = a.shareOf.fill(NO_SHARE);
    this.ringNext = a.ringNext;
    this.ringPrev = a.ringPrev;
    this.stamp = a.stamp;
  }

  // ---------------------------------------------------------------------------------------------
  // key index

  /** True when index value `v` stands for key k0..k3 (read from the flow's record). */
  private holds(v: number, k0: number, k1: number, k2: number, k3: number): boolean {
    if ((v & this.aliasBit) !== 0) return this.holdsAlias(v, k0, k1, k2, k3);
    const rec = this.rec;
    const o = ((v & this.flowMask) - 1) * W;
    return rec[o + 1] === k1 && rec[o + 2] === k2 && rec[o + 3] === k3 && rec[o] === k0;
  }

  /** `holds` for an alias entry (kept apart so that `holds`, on every hit, stays small enough to inline). */
  private holdsAlias(v: number, k0: number, k1: number, k2: number, k3: number): boolean {
    const rec = this.rec;
    const o = (((v & this.flowMask) - 1) ^ 1) * W; // the alias of the reverse flow is its forward partner's key reversed
    return rec[o + 2] === k1 && rec[o + 1] === k2 && swap3(rec[o + 3]) === k3 && key0(SCOPE_ALIAS, rec[o] & 0xff) === k0;
  }

  /** The hash of the key index value `v` stands for (from the flow's record). */
  private hashOf(v: number): number {
    const rec = this.rec;
    const f = (v & this.flowMask) - 1;
    if ((v & this.aliasBit) === 0) return mixKey(rec[f * W], rec[f * W + 1], rec[f * W + 2], rec[f * W + 3]);
    const o = (f ^ 1) * W;
    return mixKey(key0(SCOPE_ALIAS, rec[o] & 0xff), rec[o + 2], rec[o + 1], swap3(rec[o + 3]));
  }

  /** The flow a key maps to, or -1. Does not look at expiry. Key words are compared as int32. */
  lookup(k0: number, k1: number, k2: number, k3: number): number {
    k1 |= 0;
    k2 |= 0;
    k3 |= 0;
    const sl = this.slots;
    const m = this.slotMask;
    const tm = this.tagMask;
    const h = mixKey(k0, k1, k2, k3);
    const tag = h & tm;
    let s = h & m;
    for (;;) {
      const v = sl[s];
      if (v === 0) return -1;
      if ((v & tm) === tag && this.holds(v, k0, k1, k2, k3)) return (v & this.flowMask) - 1;
      s = (s + 1) & m;
    }
  }

  /**
   * Brings key k0..k3's index line and the record of the first flow whose tag matches into the cache, and
   * returns a word of each (the caller sums them so the loads are kept): nothing is changed. The batch's
   * warm pass (step-warm.ts) calls it for every packet before deciding any, so that the misses of many
   * packets overlap instead of each packet waiting for its own two in turn.
   */
  touch(k0: number, k1: number, k2: number, k3: number): number {
    const h = mixKey(k0, k1 | 0, k2 | 0, k3 | 0);
    const sl = this.slots;
    const m = this.slotMask;
    const tm = this.tagMask;
    const tag = h & tm;
    // the probe run as `lookup` walks it, tags only (a key is often not in its home slot: linear probing);
    // a run rarely leaves the home slot's line, and TOUCH_PROBES bounds the walk
    let s = h & m;
    for (let p = 0; p < TOUCH_PROBES; p++) {
      const v = sl[s];
      if (v === 0) return 0;
      if ((v & tm) === tag) return v + this.rec[((v & this.flowMask) - 1) * W];
      s = (s + 1) & m;
    }
    return 0;
  }

  /** Indexes key k0..k3 (already in flow records) for flow + 1 `v` (with the alias bit); false (nothing changed) when the key is present. */
  private addKey(k0: number, k1: number, k2: number, k3: number, v: number): boolean {
    k0 |= 0;
    k1 |= 0;
    k2 |= 0;
    k3 |= 0;
    if ((this.keyCount + 1) * 5 > (this.slotMask + 1) * 4) this.growKeys(); // load <= 0.8
    const sl = this.slots;
    const m = this.slotMask;
    const tm = this.tagMask;
    const h = mixKey(k0, k1, k2, k3);
    let s = h & m;
    for (;;) {
      const u = sl[s];
      if (u === 0) break;
      if ((u & tm) === (h & tm) && this.holds(u, k0, k1, k2, k3)) return false;
      s = (s + 1) & m;
    }
    sl[s] = (h & tm) | v;
    this.keyCount++;
    return true;
  }

  /** Removes the index entry of key hash `h` for flow + 1 `v` (with the alias bit): backward-shift deletion, no tombstones. */
  private deleteKey(h: number, v: number): boolean {
    const sl = this.slots;
    const m = this.slotMask;
    const want = (h & this.tagMask) | v;
    let s = h & m;
    for (;;) {
      const u = sl[s];
      if (u === 0) return false;
      if (u === want) break;
      s = (s + 1) & m;
    }
    // Backward shift: move later entries of the same probe run into the hole.
    let hole = s;
    let j = s;
    for (;;) {
      j = (j + 1) & m;
      const u = sl[j];
      if (u === 0) break;
      const home = this.hashOf(u) & m;
      // The entry at j may move to `hole` unless its home lies cyclically in (hole, j].
      const stays = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (stays) continue;
      sl[hole] = u;
      hole = j;
    }
    sl[hole] = 0;
    this.keyCount--;
    return true;
  }

  /**
   * Doubles the key index. The keys are taken from the connections' records in connection order (a
   * sequential read of `rec`, where taking them slot by slot read one random record per key: a cache miss
   * each at 100k connections); the index holds exactly the keys the CF.*_KEYED bits say (keyFlow and
   * aliasKey set them when they index a key, freeConnection deletes those keys), so the new index holds the
   * same entries, and a lookup (keys are unique in it) finds the same flow whatever their order. Should the
   * count ever disagree, the index is rebuilt slot by slot instead.
   */
  private growKeys(): void {
    const n = (this.slotMask + 1) * 2;
    const sl = new Int32Array(n);
    const m = n - 1;
    const r = this.rec;
    const fl = this.cflags;
    let placed = 0;
    for (let c = 0; c < this.highWater; c++) {
      const f = fl[c];
      if ((f & CF.LIVE) === 0) continue;
      const o = 2 * c * W;
      if ((f & CF.FWD_KEYED) !== 0) placed += this.place(sl, m, mixKey(r[o], r[o + 1], r[o + 2], r[o + 3]), 2 * c + 1);
      if ((f & CF.REV_KEYED) !== 0) placed += this.place(sl, m, mixKey(r[o + W], r[o + W + 1], r[o + W + 2], r[o + W + 3]), 2 * c + 2);
      if ((f & CF.ALIAS_KEYED) !== 0) {
        placed += this.place(sl, m, mixKey(key0(SCOPE_ALIAS, r[o] & 0xff), r[o + 2], r[o + 1], swap3(r[o + 3])), (2 * c + 2) | this.aliasBit);
      }
    }
    if (placed !== this.keyCount) return this.growKeysBySlot();
    this.slots = sl;
    this.slotMask = m;
  }

  /** Puts index value `v` (flow + 1, alias bit) of a key with hash `h` into `sl` (mask `m`); returns 1. */
  private place(sl: Int32Array, m: number, h: number, v: number): number {
    let t = h & m;
    while (sl[t] !== 0) t = (t + 1) & m;
    sl[t] = (h & this.tagMask) | v;
    return 1;
  }

  /** growKeys, slot by slot (each entry's hash from its record). */
  private growKeysBySlot(): void {
    const old = this.slots;
    const n = this.slotMask + 1;
    const sl = new Int32Array(n * 2);
    const m = n * 2 - 1;
    for (let s = 0; s < n; s++) {
      const v = old[s];
      if (v === 0) continue;
      let t = this.hashOf(v) & m;
      while (sl[t] !== 0) t = (t + 1) & m;
      sl[t] = v;
    }
    this.slots = sl;
    this.slotMask = m;
  }

  /** Key word `j` (0-3: k0, k1, k2, k3) of flow `f` (set by keyFlow, kept while the connection lives). */
  key(f: number, j: number): number {
    return this.rec[f * W + j];
  }

  // ---------------------------------------------------------------------------------------------
  // hot record accessors (small: V8 inlines them); a flow's action fields are its interned action's

  /** Word offset of flow `f`'s action in `acts`. */
  private act(f: number): number {
    return (this.rec[f * W + W_ACT] & ACT_MASK) * AW;
  }
  /** Word offset of flow `f`'s action in `actions` (its words at A_X ... A_BACKEND). */
  actBase(f: number): number {
    return (this.rec[f * W + W_ACT] & ACT_MASK) * AW;
  }
  /**
   * Flow `f`'s action word: its action's offset (`actBaseOf`) and the connection's TCP state (`tcpOf`) in
   * one read, for the fast path (step-flow.ts), which reads it once per hop.
   */
  actWord(f: number): number {
    return this.rec[f * W + W_ACT];
  }
  /**
   * A NAT's address (`dst` false: the SNAT's, true: the DNAT's) of flow `f` whose action is at `a`
   * (`actBaseOf`), as int32: snatIp / dnatIp without reading the action id again.
   */
  natIpAt(f: number, a: number, dst: boolean): number {
    const mode = dst ? (this.acts[a + A_MODE] >>> 2) & 3 : this.acts[a + A_MODE] & 3;
    if (mode === NAT_PARTNER) return this.rec[(f ^ 1) * W + (dst ? 1 : 2)];
    return this.acts[a + (dst ? A_DNAT_IP : A_SNAT_IP)];
  }
  /** A NAT's port (as natIpAt): snatPort / dnatPort without reading the action id again. */
  natPortAt(f: number, a: number, dst: boolean): number {
    const mode = dst ? (this.acts[a + A_MODE] >>> 2) & 3 : this.acts[a + A_MODE] & 3;
    if (mode === NAT_PARTNER) return dst ? this.rec[(f ^ 1) * W + 3] >>> 16 : this.rec[(f ^ 1) * W + 3] & 0xffff;
    if (mode === NAT_VAR) return this.rec[f * W + W_VAR] & 0xffff;
    return dst ? this.acts[a + A_PORTS] >>> 16 : this.acts[a + A_PORTS] & 0xffff;
  }
  /** The interned actions' words (replaced when it grows: read it again after a slow path). */
  get actions(): Int32Array {
    return this.acts;
  }
  /** Flow `f`'s action id (flows with the same id do the same to their packets, NAT ports aside). */
  actionOf(f: number): number {
    return this.rec[f * W + W_ACT] & ACT_MASK;
  }
  xflags(f: number): number {
    return this.acts[this.act(f) + A_X] & 0xffff;
  }
  verdict(f: number): number {
    return (this.acts[this.act(f) + A_X] >>> 16) & 0xff;
  }
  reason(f: number): number {
    return this.acts[this.act(f) + A_X] >>> 24;
  }
  smac(f: number): number {
    return this.acts[this.act(f) + A_MACS] & 0xffff;
  }
  dmac(f: number): number {
    return this.acts[this.act(f) + A_MACS] >>> 16;
  }
  /** NAT addresses as int32 (`>>> 0` for the unsigned value). */
  snatIp(f: number): number {
    const a = this.act(f);
    return (this.acts[a + A_MODE] & 3) === NAT_PARTNER ? this.rec[(f ^ 1) * W + 2] : this.acts[a + A_SNAT_IP];
  }
  dnatIp(f: number): number {
    const a = this.act(f);
    return ((this.acts[a + A_MODE] >>> 2) & 3) === NAT_PARTNER ? this.rec[(f ^ 1) * W + 1] : this.acts[a + A_DNAT_IP];
  }
  snatPort(f: number): number {
    const a = this.act(f);
    const mode = this.acts[a + A_MODE] & 3;
    if (mode === NAT_PARTNER) return this.rec[(f ^ 1) * W + 3] & 0xffff;
    return mode === NAT_VAR ? this.rec[f * W + W_VAR] & 0xffff : this.acts[a + A_PORTS] & 0xffff;
  }
  dnatPort(f: number): number {
    const a = this.act(f);
    const mode = (this.acts[a + A_MODE] >>> 2) & 3;
    if (mode === NAT_PARTNER) return this.rec[(f ^ 1) * W + 3] >>> 16;
    return mode === NAT_VAR ? this.rec[f * W + W_VAR] & 0xffff : this.acts[a + A_PORTS] >>> 16;
  }
  tpl(f: number): number {
    return this.acts[this.act(f) + A_TPL] & 0xffff;
  }
  outerSport(f: number): number {
    return this.rec[f * W + W_VAR] >>> 16;
  }
  warn(f: number): number {
    return this.acts[this.act(f) + A_WARN] >>> 0;
  }
  ingress(f: number): number {
    return this.acts[this.act(f) + A_EPS] & 0xffff;
  }
  egress(f: number): number {
    return this.acts[this.act(f) + A_EPS] >>> 16;
  }
  next(f: number): number {
    return this.acts[this.act(f) + A_NODE] & 0xffff;
  }
  /** The emulated node the flow belongs to. */
  node(f: number): number {
    return this.acts[this.act(f) + A_NODE] >>> 16;
  }
  /** Deciding rule id, -1 none. */
  rule(f: number): number {
    return this.acts[this.act(f) + A_RULE] - 1;
  }
  /** Service id, -1 none (same in both flows of a connection). */
  service(f: number): number {
    return this.acts[this.act(f) + A_SERVICE] - 1;
  }
  backend(f: number): number {
    return this.acts[this.act(f) + A_BACKEND] - 1;
  }
  /** TCP state (same in both flows of a connection). */
  tcp(f: number): number {
    return (this.rec[f * W + W_ACT] & TCP_BITS) >>> TCP_SHIFT;
  }
  /** True when flow `f`'s packets passed the next node's decap check (HOP_CHECKED). */
  hopChecked(f: number): boolean {
    return (this.rec[f * W + W_ACT] & HOP_CHECKED) !== 0;
  }
  /** Flow `f`'s packets pass the next node's decap check (HOP_CHECKED). */
  setHopChecked(f: number): void {
    this.rec[f * W + W_ACT] |= HOP_CHECKED;
  }
  /** This direction's expiry time. */
  expiresAt(f: number): number {
    return this.recF[f * (W / 2) + F64_EXP];
  }

  // ---- writers: the slow path stages the new connection's flows (`f & 1` picks the direction), `seal` interns them

  setX(f: number, xflags: number, verdict: number, reason: number): void {
    this.stage[(f & 1) * AW + A_X] = (xflags & 0xffff) | ((verdict & 0xff) << 16) | ((reason & 0xff) << 24);
  }
  orXflags(f: number, bits: number): void {
    this.stage[(f & 1) * AW + A_X] |= bits & 0xffff;
  }
  setMacs(f: number, smac: number, dmac: number): void {
    this.stage[(f & 1) * AW + A_MACS] = (smac & 0xffff) | ((dmac & 0xffff) << 16);
  }
  setNat(f: number, snatIp: number, snatPort: number, dnatIp: number, dnatPort: number): void {
    const o = (f & 1) * AW;
    this.stage[o + A_SNAT_IP] = snatIp | 0;
    this.stage[o + A_DNAT_IP] = dnatIp | 0;
    this.stage[o + A_PORTS] = (snatPort & 0xffff) | ((dnatPort & 0xffff) << 16);
  }
  setEncap(f: number, tpl: number, outerSport: number): void {
    this.stage[(f & 1) * AW + A_TPL] = tpl & 0xffff;
    this.stageVar[f & 1] = (outerSport & 0xffff) << 16;
  }
  setWarn(f: number, warn: number): void {
    this.stage[(f & 1) * AW + A_WARN] = warn | 0;
  }
  setEndpoints(f: number, ingress: number, egress: number): void {
    this.stage[(f & 1) * AW + A_EPS] = (ingress & 0xffff) | ((egress & 0xffff) << 16);
  }
  setNode(f: number, node: number, next: number): void {
    this.stage[(f & 1) * AW + A_NODE] = (next & 0xffff) | ((node & 0xffff) << 16);
  }
  setRule(f: number, rule: number): void {
    this.stage[(f & 1) * AW + A_RULE] = rule + 1;
  }
  /** Service and backend of the connection being built (both flows). */
  setService(_c: number, service: number, backend: number): void {
    for (let d = 0; d < 2; d++) {
      this.stage[d * AW + A_SERVICE] = service + 1;
      this.stage[d * AW + A_BACKEND] = backend + 1;
    }
  }
  /** TCP state of connection `c` (both flows). */
  setTcp(c: number, state: number): void {
    const o = 2 * c * W + W_ACT;
    this.rec[o] = (this.rec[o] & ~TCP_BITS) | (state << TCP_SHIFT);
    this.rec[o + W] = (this.rec[o + W] & ~TCP_BITS) | (state << TCP_SHIFT);
  }
  setExpiresAt(f: number, t: number): void {
    this.recF[f * (W / 2) + F64_EXP] = t;
  }

  /**
   * Interns the staged actions of connection `c`'s two flows (set by the writers since `allocConnection`;
   * keys set) and points the flows at them. A NAT address and port equal to the partner's key (always, for
   * a composed connection: the reply's tuple is the NATed one) are taken from there; else the port is the
   * flow's own (W_VAR) and the address the action's.
   */
  seal(c: number): void {
    const st = this.stage;
    const rec = this.rec;
    for (let d = 0; d < 2; d++) {
      const f = 2 * c + d;
      const o = d * AW;
      const p = (f ^ 1) * W;
      const x = st[o + A_X];
      const sport = st[o + A_PORTS] & 0xffff;
      const dport = st[o + A_PORTS] >>> 16;
      let v = this.stageVar[d];
      let sm = NAT_CONST;
      let dm = NAT_CONST;
      if ((x & FX.SNAT) !== 0) {
        if (rec[p + 2] === st[o + A_SNAT_IP] && (rec[p + 3] & 0xffff) === sport) sm = NAT_PARTNER;
        else {
          sm = NAT_VAR;
          v |= sport;
        }
      }
      if ((x & FX.DNAT) !== 0) {
        if (rec[p + 1] === st[o + A_DNAT_IP] && rec[p + 3] >>> 16 === dport) dm = NAT_PARTNER;
        else if (sm !== NAT_VAR) {
          dm = NAT_VAR;
          v |= dport;
        }
      }
      // what the partner's key or the flow's own word says is left out of the action, so that it is shared
      st[o + A_PORTS] = (sm === NAT_CONST ? sport : 0) | (dm === NAT_CONST ? dport << 16 : 0);
      if (sm === NAT_PARTNER) st[o + A_SNAT_IP] = 0;
      if (dm === NAT_PARTNER) st[o + A_DNAT_IP] = 0;
      st[o + A_MODE] = sm | (dm << 2);
      rec[f * W + W_ACT] = this.intern(d) | (rec[f * W + W_ACT] & ~ACT_MASK);
      rec[f * W + W_VAR] = v;
      this.resetStage(d);
    }
  }

  private resetStage(d: number): void {
    const o = d * AW;
    this.stage.fill(0, o, o + AW);
    this.stage[o + A_MACS] = NONE16 | (NONE16 << 16);
    this.stage[o + A_TPL] = NONE16;
    this.stageVar[d] = 0;
  }

  /** The id of the action equal to staged direction `d` (added when new). */
  private intern(d: number): number {
    const st = this.stage;
    const o = d * AW;
    let h = 0x811c9dc5;
    for (let j = 0; j < AW; j++) h = Math.imul(h ^ st[o + j], 0x01000193);
    h ^= h >>> 15;
    const m = this.actIndex.length - 1;
    for (let s = h & m; ; s = (s + 1) & m) {
      const v = this.actIndex[s];
      if (v === 0) break;
      const a = (v - 1) * AW;
      let j = 0;
      while (j < AW && this.acts[a + j] === st[o + j]) j++;
      if (j === AW) return v - 1;
    }
    const id = this.actionCount++;
    if (id > ACT_MASK) throw new Error('flow table: more than 2^28 distinct actions');
    if ((id + 1) * AW > this.acts.length) {
      const a = new Int32Array(this.acts.length * 2);
      a.set(this.acts);
      this.acts = a;
    }
    this.acts.set(st.subarray(o, o + AW), id * AW);
    if (this.actionCount * 2 > this.actIndex.length) this.rehashActions();
    else this.placeAction(this.actIndex, id, h);
    return id;
  }

  private actionHash(id: number): number {
    let h = 0x811c9dc5;
    for (let j = 0; j < AW; j++) h = Math.imul(h ^ this.acts[id * AW + j], 0x01000193);
    return h ^ (h >>> 15);
  }

  private placeAction(index: Int32Array, id: number, h: number): void {
    const m = index.length - 1;
    let s = h & m;
    while (index[s] !== 0) s = (s + 1) & m;
    index[s] = id + 1;
  }

  private rehashActions(): void {
    const index = new Int32Array(this.actIndex.length * 2);
    for (let id = 0; id < this.actionCount; id++) this.placeAction(index, id, this.actionHash(id));
    this.actIndex = index;
  }

  // ---------------------------------------------------------------------------------------------
  // connections

  /**
   * A free connection index, its records reset (both directions expire at NaN: never, until a packet
   * sets them), in no share until `admit`. When none is free, the table grows by half (up to
   * `maxCapacity`). Expired connections are freed by lookups and by the shares' hands, never by a sweep
   * here: a sweep's timing depends on the other shares, which would make evictions depend on the worker
   * count (module comment).
   */
  allocConnection(): number {
    if (this.freeTop === 0 && this.highWater === this.capacity) {
      if (this.capacity >= this.maxCapacity) throw new Error(`flow table: more than ${this.maxCapacity} connections (every share full and none admitted)`);
      this.grow();
    }
    const c = this.freeTop > 0 ? this.freeList[--this.freeTop] : this.highWater++;
    this.live++;
    this.cflags[c] = CF.LIVE;
    this.shareOf[c] = NO_SHARE; // (a slot past the old capacity is 0 after a growth: `grow` fills nothing)
    this.natOwner[c] = -1;
    this.natPort[c] = 0;
    this.natProto[c] = 0;
    this.firstPacket[c] = 0;
    const o = 2 * c * W;
    this.rec.fill(0, o, o + 2 * W); // action 0 (empty), TCP_NONE, no key
    this.resetStage(0);
    this.resetStage(1);
    this.setExpiresAt(2 * c, NaN);
    this.setExpiresAt(2 * c + 1, NaN);
    return c;
  }

  /** Sets flow `f`'s key and indexes it; returns false when another live flow holds that key (then `f` is not indexed). */
  keyFlow(f: number, k0: number, k1: number, k2: number, k3: number): boolean {
    const o = f * W;
    this.rec[o] = k0;
    this.rec[o + 1] = k1;
    this.rec[o + 2] = k2;
    this.rec[o + 3] = k3;
    const ok = this.addKey(k0, k1, k2, k3, f + 1);
    if (ok) this.cflags[f >> 1] |= (f & 1) === 0 ? CF.FWD_KEYED : CF.REV_KEYED;
    return ok;
  }

  /**
   * The pod-view alias of connection `c`: the exact reverse of its forward key's tuple, in SCOPE_ALIAS,
   * mapped to the reverse flow (engine.ts, views).
   */
  aliasKey(c: number): boolean {
    const o = 2 * c * W;
    const r = this.rec;
    const ok = this.addKey(key0(SCOPE_ALIAS, r[o] & 0xff), r[o + 2], r[o + 1], swap3(r[o + 3]), (2 * c + 2) | this.aliasBit);
    if (ok) this.cflags[c] |= CF.ALIAS_KEYED;
    return ok;
  }

  /** Frees connection `c`: its keys go, `onFree` runs, the index is reused later. */
  freeConnection(c: number): void {
    const fl = this.cflags[c];
    if ((fl & CF.LIVE) === 0) return;
    if (this.onFree !== null) this.onFree(c);
    if (this.shareOf[c] !== NO_SHARE) this.unlink(c);
    const r = this.rec;
    const o = 2 * c * W;
    if ((fl & CF.FWD_KEYED) !== 0) this.deleteKey(mixKey(r[o], r[o + 1], r[o + 2], r[o + 3]), 2 * c + 1);
    if ((fl & CF.REV_KEYED) !== 0) this.deleteKey(mixKey(r[o + W], r[o + W + 1], r[o + W + 2], r[o + W + 3]), 2 * c + 2);
    if ((fl & CF.ALIAS_KEYED) !== 0) {
      this.deleteKey(mixKey(key0(SCOPE_ALIAS, r[o] & 0xff), r[o + 2], r[o + 1], swap3(r[o + 3])), (2 * c + 2) | this.aliasBit);
    }
    this.cflags[c] = 0;
    this.natOwner[c] = -1;
    this.freeList[this.freeTop++] = c;
    this.live--;
  }

  /** True when connection `c` is expired at trace time `now`: both directions past their time (NaN never expires). */
  expired(c: number, now: number): boolean {
    return now > this.expiresAt(2 * c) && now > this.expiresAt(2 * c + 1);
  }

  /** The trace time after which connection `c` is expired: the later of its directions' (+Infinity when one has none). */
  expiryOf(c: number): number {
    const a = this.expiresAt(2 * c);
    const b = this.expiresAt(2 * c + 1);
    if (a !== a || b !== b) return Infinity;
    return a > b ? a : b;
  }

  /** True when index `c` holds a live connection. */
  isLive(c: number): boolean {
    return c < this.highWater && (this.cflags[c] & CF.LIVE) !== 0;
  }

  // ---------------------------------------------------------------------------------------------
  // the bound: shares and their CLOCK hands (module comment)

  /**
   * Puts connection `c` (cached by the slow path at trace time `now`) into share `s`: the hand takes two
   * steps, then walks on while the share is at its limit (evicting), and `c` goes in behind it.
   */
  admit(c: number, s: number, now: number): void {
    this.tend(s, now, 2);
    const h = this.hand[s];
    if (h < 0) {
      this.ringNext[c] = c;
      this.ringPrev[c] = c;
      this.hand[s] = c;
    } else {
      const p = this.ringPrev[h];
      this.ringNext[p] = c;
      this.ringPrev[c] = p;
      this.ringNext[c] = h;
      this.ringPrev[h] = c;
    }
    this.shareOf[c] = s;
    this.stamp[c] = -Infinity; // a second chance on the hand's first pass, as CLOCK gives a new entry
    this.shareLive[s]++;
  }

  /**
   * The hand of share `s` takes `steps` steps, and more while the share is at its limit: an expired
   * connection is freed; one whose expiry times changed since the last pass is stamped and passed; one
   * unchanged is evicted when the share is at its limit, else stamped and passed. Ends within two turns
   * (the trace time does not move meanwhile, so a stamped connection is unchanged on the next pass).
   */
  private tend(s: number, now: number, steps: number): void {
    const limit = this.shareLimit;
    for (;;) {
      const full = this.shareLive[s] >= limit;
      if (!full && steps <= 0) return;
      const c = this.hand[s];
      if (c < 0) return;
      steps--;
      if (this.expired(c, now)) {
        this.freeConnection(c); // moves the hand on
        continue;
      }
      const t = this.expiresAt(2 * c) + this.expiresAt(2 * c + 1);
      const st = this.stamp[c];
      if (full && (st === t || (st !== st && t !== t))) {
        this.freeConnection(c);
        this.evicted++;
        continue;
      }
      this.stamp[c] = t;
      this.hand[s] = this.ringNext[c];
    }
  }

  /** Takes connection `c` out of its share's ring (the hand moves on if it pointed at it). */
  private unlink(c: number): void {
    const s = this.shareOf[c];
    const n = this.ringNext[c];
    if (n === c) this.hand[s] = -1;
    else {
      const p = this.ringPrev[c];
      this.ringNext[p] = n;
      this.ringPrev[n] = p;
      if (this.hand[s] === c) this.hand[s] = n;
    }
    this.shareOf[c] = NO_SHARE;
    this.shareLive[s]--;
  }

  /**
   * More connection slots: `capacity` x1.5 (never past `maxCapacity`). Within the reserved arrays
   * (`reserved`) that is all: nothing is copied, and the new slots' pages are committed by the system when
   * `allocConnection` first writes them. Else the per-connection arrays are allocated anew and copied
   * (`reserveFor` says how large) and the old ones left to the collector.
   */
  private grow(): void {
    const cap = Math.min(Math.ceil((this.capacity * 3) / 2), this.maxCapacity);
    if (2 * cap + 1 > this.flowMask) throw new Error(`flow table: more than ${this.flowMask >> 1} connections`);
    if (cap > this.reserved) {
      const n = this.reserveFor(cap);
      if (n > cap && !this.reserveRefused) this.reserve(n, cap);
      else this.reallocate(cap, false);
    }
    this.capacity = cap;
  }

  /**
   * Reserves `n` slots for a capacity of `cap`; when the system refuses the address space (a RangeError
   * from `new ArrayBuffer`: strict overcommit, vm.overcommit_memory=2, or an address-space limit, ulimit
   * -v) the arrays grow to `cap` alone, x1.5 as below RESERVE_FROM, and no later growth tries to reserve
   * again. The connections and every output byte are the same either way: only the copies differ.
   */
  private reserve(n: number, cap: number): void {
    try {
      this.reallocate(n, true);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      this.reserveRefused = true;
      this.reallocate(cap, false);
    }
  }

  /**
   * Slots to reserve for a capacity of `cap` connections. A large ArrayBuffer is mapped zeroed by the system
   * (calloc, mmap on Linux) and a page becomes resident only when written, so slots reserved past the
   * connections made cost address space, not memory; but each reallocation copies the arrays and writes
   * fresh pages, which cost 13% of a new connection's time at 100k-1M connections when the arrays grew x1.5
   * from 1024 (grow and the first writes of the copies: a copy of about twice the final size in all). So a
   * table that outgrows RESERVE_FROM slots reserves its whole bound at once (when at most RESERVE_MAX: the
   * default bound, 2^21 connections, is about 200 MB of address space, of which 1M connections touch
   * half), one with a larger bound RESERVE_MAX, then twice what it has. Below RESERVE_FROM the arrays are
   * exactly as large as the capacity (x1.5, as before): a reservation's cost (the collector runs when 200
   * MB of ArrayBuffer appear, and fresh pages fault where a small table reuses the heap's) measured more than
   * the copies it saves at 100k connections.
   */
  private reserveFor(cap: number): number {
    if (cap < RESERVE_FROM) return cap;
    return Math.min(this.maxCapacity, Math.max(cap, 2 * this.reserved, RESERVE_MAX));
  }

  /** The per-connection arrays with `n` slots (n >= highWater; in one buffer when `reserve`), their contents copied. */
  private reallocate(n: number, reserve: boolean): void {
    const a = connectionArrays(n, reserve);
    // the new slots are left 0 (no fill: a pass over fresh memory), allocConnection sets what a connection
    // must start with (natOwner -1, shareOf NO_SHARE); nothing reads a slot before it is allocated
    a.rec.set(this.rec);
    this.rec = a.rec;
    this.recF = a.recF;
    this.cflags = copyInto(a.cflags, this.cflags);
    this.natOwner = copyInto(a.natOwner, this.natOwner);
    this.natPort = copyInto(a.natPort, this.natPort);
    this.natProto = copyInto(a.natProto, this.natProto);
    this.firstPacket = copyInto(a.firstPacket, this.firstPacket);
    this.shareOf = copyInto(a.shareOf, this.shareOf);
    this.ringNext = copyInto(a.ringNext, this.ringNext);
    this.ringPrev = copyInto(a.ringPrev, this.ringPrev);
    this.stamp = copyInto(a.stamp, this.stamp);
    this.freeList = copyInto(a.freeList, this.freeList.subarray(0, this.freeTop));
    this.reserved = n;
  }

  /** Bytes of typed-array memory per connection slot at the current capacity (records, cold columns, key slots). */
  bytesPerConnection(): number {
    // the per-connection arrays count at `capacity` slots: the reserved slots past it are address space only
    // (`reserveFor`), never written before `grow` makes them part of the capacity
    const perSlot = (this.rec.byteLength + this.cflags.byteLength + this.natOwner.byteLength + this.natPort.byteLength + this.natProto.byteLength + this.firstPacket.byteLength + this.shareOf.byteLength + this.ringNext.byteLength + this.ringPrev.byteLength + this.stamp.byteLength + this.freeList.byteLength) / this.reserved;
    const bytes = this.slots.byteLength + this.acts.byteLength + this.actIndex.byteLength + perSlot * this.capacity;
    return bytes / this.capacity;
  }
}

/**
 * The per-connection arrays of `n` slots (97 bytes a slot). A reservation (`oneBuffer`) puts them in one
 * ArrayBuffer, widest elements first (each view aligned): glibc's calloc maps a block of 32 MB or more
 * (M_MMAP_THRESHOLD's dynamic maximum on 64-bit) zeroed by the system page by page as it is written, but
 * takes a smaller one from the heap once its threshold has risen and clears it whole (measured here: a
 * 16 MB ArrayBuffer 15 ms, a 64 MB one 1 ms), and the reserved slots must cost nothing until used. Else
 * one buffer per array, as large as the capacity (a combined buffer of 8-32 MB measured twice as slow).
 */
function connectionArrays(n: number, oneBuffer: boolean): {
  rec: Int32Array;
  recF: Float64Array;
  stamp: Float64Array;
  natOwner: Int32Array;
  firstPacket: Uint32Array;
  ringNext: Int32Array;
  ringPrev: Int32Array;
  freeList: Int32Array;
  natPort: Uint16Array;
  cflags: Uint8Array;
  natProto: Uint8Array;
  shareOf: Uint8Array;
} {
  const bytes = n * (2 * W * 4 + 8 + 5 * 4 + 2 + 3);
  if (oneBuffer && bytes > reserveLimitBytes) throw new RangeError('Array buffer allocation failed (test hook)');
  const buf = oneBuffer ? new ArrayBuffer(bytes) : null;
  let at = 0;
  /** The buffer and byte offset of the next array, of `bytes` bytes a slot. */
  const take = (bytes: number): [ArrayBuffer, number] => {
    if (buf === null) return [new ArrayBuffer(bytes * n), 0];
    const o = at;
    at += bytes * n;
    return [buf, o];
  };
  const [recBuf, recAt] = take(2 * W * 4);
  return {
    rec: new Int32Array(recBuf, recAt, 2 * W * n),
    recF: new Float64Array(recBuf, recAt, W * n),
    stamp: new Float64Array(...take(8), n),
    natOwner: new Int32Array(...take(4), n),
    firstPacket: new Uint32Array(...take(4), n),
    ringNext: new Int32Array(...take(4), n),
    ringPrev: new Int32Array(...take(4), n),
    freeList: new Int32Array(...take(4), n),
    natPort: new Uint16Array(...take(2), n),
    cflags: new Uint8Array(...take(1), n),
    natProto: new Uint8Array(...take(1), n),
    shareOf: new Uint8Array(...take(1), n),
  };
}

/** `to` with `from` copied into its start. */
function copyInto<T extends Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array>(to: T, from: T): T {
  to.set(from);
  return to;
}

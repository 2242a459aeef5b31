/**
 * The unified flow table (VFP's UFT, domain.md §4.5): the cached result of the slow path for each flow,
 * so later packets and replies take the fast path.
 *
 * Layout (typed arrays only; no Map, no object per flow):
 *  - A *connection* `c` owns two flows created together: `2c` (forward, the first packet's direction) and
 *    `2c + 1` (reverse, its replies); `f ^ 1` is a flow's partner. Connection columns hold what both
 *    directions share (expiry time, TCP state, NAT port, service, backend).
 *  - Flow columns hold one direction's composed header transposition and its verdict (see `FX` and the
 *    column docs below).
 *  - A key index (open addressing, linear probing, keys stored inline: 4 words + the flow index per slot)
 *    maps a key to a flow. Keys are `(scope, proto, src, dst, sport, dport)`:
 *      k0 = scope * 256 + proto, k1 = src, k2 = dst, k3 = sport << 16 | dport.
 *    `scope` says where the packet meets the flow: SCOPE_ENTRY (the first emulated node the packet
 *    enters, a function of its addresses), `scopeHop(node)` (it arrives at `node`'s external port from
 *    another emulated node or encapsulated from the wire), SCOPE_ALIAS (a reply as a pod-side capture
 *    shows it, see engine.ts "views").
 *
 * Expiry runs on trace time: each connection has `expiresAt` (seconds), refreshed by every packet; a
 * lookup that finds an expired connection treats it as absent (the engine frees it). When the table is
 * full it first frees connections expired at the current packet's time, then grows by half. Growth copies
 * columns (rare, amortised); nothing is allocated per packet.
 *
 * Memory: about 210-250 bytes per live connection (both directions and their 2-3 keys), see
 * `bytesPerConnection`.
 */

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
  return (scope * 256 + (proto & 0xff)) >>> 0;
}
/** k3 of a key. */
export function key3(sport: number, dport: number): number {
  return (((sport & 0xffff) << 16) | (dport & 0xffff)) >>> 0;
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
  /** The packet continues at emulated node `next` (its external port, scope HOP). */
  NEXT_NODE: 1 << 5,
  /** Check DNS questions of this flow for partially qualified names (flow from a Windows pod to port 53). */
  DNS_CHECK: 1 << 6,
  /** The port is kept by the NAT (ICMP id / TCP-UDP port unchanged): set when SNAT keeps the port. */
  KEEP_PORT: 1 << 7,
} as const;

/** TCP connection states (connection column `tcp`). */
export const TCP_NONE = 0;
export const TCP_SYN = 1;
export const TCP_ESTABLISHED = 2;
export const TCP_FIN = 3;
export const TCP_CLOSED = 4;

/** Connection flag bits (`cflags`). */
export const CF = {
  FWD_KEYED: 1,
  REV_KEYED: 2,
  ALIAS_KEYED: 4,
  /** Forward flow saw a FIN. */
  FIN_FWD: 8,
  /** Reverse flow saw a FIN. */
  FIN_REV: 16,
  /** Reverse direction seen (for TCP: SYN-ACK or any reply). */
  REPLIED: 32,
  /** The slot holds a connection (set by allocConnection, cleared by freeConnection). */
  LIVE: 64,
} as const;

/** Sentinel for "no MAC" in smac/dmac and "no template" in tpl. */
export const NONE16 = 0xffff;

function mixKey(k0: number, k1: number, k2: number, k3: number): number {
  let h = Math.imul(k0 ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ k1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ k2, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ k3, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class FlowTable {
  // ---- key index ----
  private slotKey: Uint32Array;
  private slotVal: Int32Array;
  private slotMask: number;
  /** Keys in the index. */
  keyCount = 0;

  // ---- connections ----
  /** Connection capacity (flows = 2x). */
  capacity: number;
  /** Live connections. */
  live = 0;
  private freeList: Int32Array;
  private freeTop = 0;
  /** Highest connection index ever handed out + 1 (for sweeps). */
  private highWater = 0;

  /** Trace time (s) after which the connection is expired (NaN: never; 0 in a free slot). */
  expiresAt: Float64Array;
  /** TCP_* state. */
  tcp: Uint8Array;
  /** CF_* bits. */
  cflags: Uint8Array;
  /** SNAT owner (snat.ts pool index) of the connection's NAT port, -1 none. */
  natOwner: Int32Array;
  /** The NAT port (in the owner's pool) and its protocol slot (0 TCP, 1 UDP, 2 ICMP). */
  natPort: Uint16Array;
  natProto: Uint8Array;
  /** Service / backend ids (compile.ts), -1 none. */
  service: Int32Array;
  backend: Int32Array;
  /** 1-based trace number of the packet that created the connection (for explain). */
  firstPacket: Uint32Array;
  /** Node whose flows these are. */
  node: Uint16Array;

  // ---- flows (2 per connection) ----
  /** The flow's own key (4 words), to delete it and to print it. */
  fkey: Uint32Array;
  xflags: Uint16Array;
  /** MAC table indexes (compile.ts macs), NONE16 for none. */
  smac: Uint16Array;
  dmac: Uint16Array;
  snatIp: Uint32Array;
  snatPort: Uint16Array;
  dnatIp: Uint32Array;
  dnatPort: Uint16Array;
  /** VXLAN template id, NONE16 for none; outer UDP source port. */
  tpl: Uint16Array;
  outerSport: Uint16Array;
  verdict: Uint8Array;
  reason: Uint8Array;
  /** Warning bits (reasons.ts warningBit). */
  warn: Uint32Array;
  /** Endpoint ids (compile.ts EP_*). */
  ingress: Uint16Array;
  egress: Uint16Array;
  /** Next emulated node (FX.NEXT_NODE). */
  next: Uint16Array;
  /** The rule that decided the flow (counters), -1 none. */
  rule: Int32Array;

  /** Called before a connection's slot is reused or freed (the state frees its NAT port). */
  onFree: ((c: number) => void) | null = null;

  constructor(initialConnections = 1024) {
    let cap = 16;
    while (cap < initialConnections) cap <<= 1;
    this.capacity = cap;
    const slots = cap * 4; // 2 flows + alias per connection, at load <= 0.75
    this.slotKey = new Uint32Array(slots * 4);
    this.slotVal = new Int32Array(slots).fill(-1);
    this.slotMask = slots - 1;
    this.freeList = new Int32Array(cap);
    this.expiresAt = new Float64Array(cap);
    this.tcp = new Uint8Array(cap);
    this.cflags = new Uint8Array(cap);
    this.natOwner = new Int32Array(cap).fill(-1);
    this.natPort = new Uint16Array(cap);
    this.natProto = new Uint8Array(cap);
    this.service = new Int32Array(cap).fill(-1);
    this.backend = new Int32Array(cap).fill(-1);
    this.firstPacket = new Uint32Array(cap);
    this.node = new Uint16Array(cap);
    const f = cap * 2;
    this.fkey = new Uint32Array(f * 4);
    this.xflags = new Uint16Array(f);
    this.smac = new Uint16Array(f).fill(NONE16);
    this.dmac = new Uint16Array(f).fill(NONE16);
    this.snatIp = new Uint32Array(f);
    this.snatPort = new Uint16Array(f);
    this.dnatIp = new Uint32Array(f);
    this.dnatPort = new Uint16Array(f);
    this.tpl = new Uint16Array(f).fill(NONE16);
    this.outerSport = new Uint16Array(f);
    this.verdict = new Uint8Array(f);
    this.reason = new Uint8Array(f);
    this.warn = new Uint32Array(f);
    this.ingress = new Uint16Array(f);
    this.egress = new Uint16Array(f);
    this.next = new Uint16Array(f);
    this.rule = new Int32Array(f).fill(-1);
  }

  // ---------------------------------------------------------------------------------------------
  // key index

  /** The flow a key maps to, or -1. Does not look at expiry. */
  lookup(k0: number, k1: number, k2: number, k3: number): number {
    const sk = this.slotKey;
    const sv = this.slotVal;
    const m = this.slotMask;
    let s = mixKey(k0, k1, k2, k3) & m;
    for (;;) {
      const v = sv[s];
      if (v < 0) return -1;
      const o = s << 2;
      if (sk[o] === k0 && sk[o + 1] === k1 && sk[o + 2] === k2 && sk[o + 3] === k3) return v;
      s = (s + 1) & m;
    }
  }

  /** Adds a key for `flow`; returns false (and changes nothing) when the key is already present. */
  addKey(k0: number, k1: number, k2: number, k3: number, flow: number): boolean {
    if ((this.keyCount + 1) * 4 > this.slotVal.length * 3) this.growKeys();
    const sk = this.slotKey;
    const sv = this.slotVal;
    const m = this.slotMask;
    let s = mixKey(k0, k1, k2, k3) & m;
    for (;;) {
      if (sv[s] < 0) break;
      const o = s << 2;
      if (sk[o] === k0 && sk[o + 1] === k1 && sk[o + 2] === k2 && sk[o + 3] === k3) return false;
      s = (s + 1) & m;
    }
    const o = s << 2;
    sk[o] = k0;
    sk[o + 1] = k1;
    sk[o + 2] = k2;
    sk[o + 3] = k3;
    sv[s] = flow;
    this.keyCount++;
    return true;
  }

  /** Removes a key if it maps to `flow` (backward-shift deletion, no tombstones). */
  deleteKey(k0: number, k1: number, k2: number, k3: number, flow: number): boolean {
    const sk = this.slotKey;
    const sv = this.slotVal;
    const m = this.slotMask;
    let s = mixKey(k0, k1, k2, k3) & m;
    for (;;) {
      const v = sv[s];
      if (v < 0) return false;
      const o = s << 2;
      if (sk[o] === k0 && sk[o + 1] === k1 && sk[o + 2] === k2 && sk[o + 3] === k3) {
        if (v !== flow) return false;
        break;
      }
      s = (s + 1) & m;
    }
    // Backward shift: move later entries of the same probe run into the hole.
    let hole = s;
    let j = s;
    for (;;) {
      j = (j + 1) & m;
      if (sv[j] < 0) break;
      const o = j << 2;
      const home = mixKey(sk[o], sk[o + 1], sk[o + 2], sk[o + 3]) & m;
      // The entry at j may move to `hole` unless its home lies cyclically in (hole, j].
      const stays = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (stays) continue;
      const h = hole << 2;
      sk[h] = sk[o];
      sk[h + 1] = sk[o + 1];
      sk[h + 2] = sk[o + 2];
      sk[h + 3] = sk[o + 3];
      sv[hole] = sv[j];
      hole = j;
    }
    sv[hole] = -1;
    this.keyCount--;
    return true;
  }

  private growKeys(): void {
    const oldK = this.slotKey;
    const oldV = this.slotVal;
    const slots = oldV.length * 2;
    this.slotKey = new Uint32Array(slots * 4);
    this.slotVal = new Int32Array(slots).fill(-1);
    this.slotMask = slots - 1;
    this.keyCount = 0;
    for (let s = 0; s < oldV.length; s++) {
      if (oldV[s] >= 0) {
        const o = s << 2;
        this.addKey(oldK[o], oldK[o + 1], oldK[o + 2], oldK[o + 3], oldV[s]);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // connections

  /**
   * A free connection index, its columns reset. When none is free, connections expired at `now` are freed
   * first; if that frees less than a quarter of the table, the table grows by half.
   */
  allocConnection(now: number): number {
    if (this.freeTop === 0 && this.highWater === this.capacity) {
      const freed = this.sweep(now);
      if (freed * 4 < this.capacity) this.grow();
    }
    const c = this.freeTop > 0 ? this.freeList[--this.freeTop] : this.highWater++;
    this.live++;
    this.expiresAt[c] = NaN;
    this.tcp[c] = TCP_NONE;
    this.cflags[c] = CF.LIVE;
    this.natOwner[c] = -1;
    this.natPort[c] = 0;
    this.natProto[c] = 0;
    this.service[c] = -1;
    this.backend[c] = -1;
    this.firstPacket[c] = 0;
    this.node[c] = 0;
    for (let f = 2 * c; f <= 2 * c + 1; f++) {
      this.xflags[f] = 0;
      this.smac[f] = NONE16;
      this.dmac[f] = NONE16;
      this.snatIp[f] = 0;
      this.snatPort[f] = 0;
      this.dnatIp[f] = 0;
      this.dnatPort[f] = 0;
      this.tpl[f] = NONE16;
      this.outerSport[f] = 0;
      this.verdict[f] = 0;
      this.reason[f] = 0;
      this.warn[f] = 0;
      this.ingress[f] = 0;
      this.egress[f] = 0;
      this.next[f] = 0;
      this.rule[f] = -1;
    }
    return c;
  }

  /** Sets flow `f`'s key and indexes it; returns false when another live flow holds that key (then `f` is not indexed). */
  keyFlow(f: number, k0: number, k1: number, k2: number, k3: number): boolean {
    const o = f << 2;
    this.fkey[o] = k0;
    this.fkey[o + 1] = k1;
    this.fkey[o + 2] = k2;
    this.fkey[o + 3] = k3;
    const ok = this.addKey(k0, k1, k2, k3, f);
    if (ok) this.cflags[f >> 1] |= (f & 1) === 0 ? CF.FWD_KEYED : CF.REV_KEYED;
    return ok;
  }

  /**
   * The pod-view alias of connection `c`: the exact reverse of its forward key's tuple, in SCOPE_ALIAS,
   * mapped to the reverse flow (engine.ts, views).
   */
  aliasKey(c: number): boolean {
    const o = (2 * c) << 2;
    const proto = this.fkey[o] & 0xff;
    const k3 = this.fkey[o + 3];
    const ok = this.addKey(key0(SCOPE_ALIAS, proto), this.fkey[o + 2], this.fkey[o + 1], ((k3 & 0xffff) << 16) | (k3 >>> 16), 2 * c + 1);
    if (ok) this.cflags[c] |= CF.ALIAS_KEYED;
    return ok;
  }

  /** Frees connection `c`: its keys go, `onFree` runs, the index is reused later. */
  freeConnection(c: number): void {
    if ((this.cflags[c] & CF.LIVE) === 0) return;
    if (this.onFree !== null) this.onFree(c);
    const fl = this.cflags[c];
    const fk = this.fkey;
    if ((fl & CF.FWD_KEYED) !== 0) {
      const o = (2 * c) << 2;
      this.deleteKey(fk[o], fk[o + 1], fk[o + 2], fk[o + 3], 2 * c);
    }
    if ((fl & CF.REV_KEYED) !== 0) {
      const o = (2 * c + 1) << 2;
      this.deleteKey(fk[o], fk[o + 1], fk[o + 2], fk[o + 3], 2 * c + 1);
    }
    if ((fl & CF.ALIAS_KEYED) !== 0) {
      const o = (2 * c) << 2;
      const k3 = fk[o + 3];
      this.deleteKey(key0(SCOPE_ALIAS, fk[o] & 0xff), fk[o + 2], fk[o + 1], ((k3 & 0xffff) << 16) | (k3 >>> 16), 2 * c + 1);
    }
    this.cflags[c] = 0;
    this.expiresAt[c] = 0;
    this.natOwner[c] = -1;
    this.freeList[this.freeTop++] = c;
    this.live--;
  }

  /** True when connection `c` is expired at trace time `now` (NaN times never expire). */
  expired(c: number, now: number): boolean {
    return now > this.expiresAt[c];
  }

  /** True when index `c` holds a live connection. */
  isLive(c: number): boolean {
    return c < this.highWater && (this.cflags[c] & CF.LIVE) !== 0;
  }

  /** Frees every live connection expired at `now`; returns how many. */
  sweep(now: number): number {
    if (!(now === now)) return 0; // NaN: no clock
    let n = 0;
    for (let c = 0; c < this.highWater; c++) {
      if (this.isLive(c) && now > this.expiresAt[c]) {
        this.freeConnection(c);
        n++;
      }
    }
    return n;
  }

  private grow(): void {
    // x1.5 keeps the slack (memory per live connection) below a third after a growth.
    const cap = Math.ceil((this.capacity * 3) / 2);
    const f = cap * 2;
    const g32 = (a: Uint32Array, n: number) => {
      const x = new Uint32Array(n);
      x.set(a);
      return x;
    };
    const gi32 = (a: Int32Array, n: number, fill: number) => {
      const x = new Int32Array(n).fill(fill);
      x.set(a);
      return x;
    };
    const g16 = (a: Uint16Array, n: number, fill = 0) => {
      const x = new Uint16Array(n).fill(fill);
      x.set(a);
      return x;
    };
    const g8 = (a: Uint8Array, n: number) => {
      const x = new Uint8Array(n);
      x.set(a);
      return x;
    };
    const f64 = new Float64Array(cap);
    f64.set(this.expiresAt);
    this.expiresAt = f64;
    this.tcp = g8(this.tcp, cap);
    this.cflags = g8(this.cflags, cap);
    this.natOwner = gi32(this.natOwner, cap, -1);
    this.natPort = g16(this.natPort, cap);
    this.natProto = g8(this.natProto, cap);
    this.service = gi32(this.service, cap, -1);
    this.backend = gi32(this.backend, cap, -1);
    this.firstPacket = g32(this.firstPacket, cap);
    this.node = g16(this.node, cap);
    const fl = new Int32Array(cap);
    fl.set(this.freeList.subarray(0, this.freeTop));
    this.freeList = fl;
    this.fkey = g32(this.fkey, f * 4);
    this.xflags = g16(this.xflags, f);
    this.smac = g16(this.smac, f, NONE16);
    this.dmac = g16(this.dmac, f, NONE16);
    this.snatIp = g32(this.snatIp, f);
    this.snatPort = g16(this.snatPort, f);
    this.dnatIp = g32(this.dnatIp, f);
    this.dnatPort = g16(this.dnatPort, f);
    this.tpl = g16(this.tpl, f, NONE16);
    this.outerSport = g16(this.outerSport, f);
    this.verdict = g8(this.verdict, f);
    this.reason = g8(this.reason, f);
    this.warn = g32(this.warn, f);
    this.ingress = g16(this.ingress, f);
    this.egress = g16(this.egress, f);
    this.next = g16(this.next, f);
    this.rule = gi32(this.rule, f, -1);
    this.capacity = cap;
  }

  /** Bytes of typed-array memory per connection slot at the current capacity (both flows + key slots). */
  bytesPerConnection(): number {
    let bytes = this.slotKey.byteLength + this.slotVal.byteLength + this.freeList.byteLength;
    for (const a of [
      this.expiresAt, this.tcp, this.cflags, this.natOwner, this.natPort, this.natProto, this.service, this.backend, this.firstPacket,
      this.node, this.fkey, this.xflags, this.smac, this.dmac, this.snatIp, this.snatPort, this.dnatIp, this.dnatPort, this.tpl,
      this.outerSport, this.verdict, this.reason, this.warn, this.ingress, this.egress, this.next, this.rule,
    ]) {
      bytes += a.byteLength;
    }
    return bytes / this.capacity;
  }
}

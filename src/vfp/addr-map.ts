/**
 * Compile-time lookup tables for the hot path: an IPv4 address (u32) -> int map and an IPv6 address
 * (16 bytes in a packet) -> int map, both open addressing in typed arrays (no Map, no string per packet).
 * Built by compile.ts, read by the engine; `get` allocates nothing.
 */

function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/** u32 -> non-negative int. `get` returns -1 when the key is absent. Grows while being filled. */
export class U32Map {
  private keys: Uint32Array;
  private vals: Int32Array;
  private used: Uint8Array;
  private mask: number;
  size = 0;

  constructor(capacity = 16) {
    let cap = 16;
    while (cap < capacity * 2) cap <<= 1;
    this.keys = new Uint32Array(cap);
    this.vals = new Int32Array(cap);
    this.used = new Uint8Array(cap);
    this.mask = cap - 1;
  }

  get(key: number): number {
    const keys = this.keys;
    const used = this.used;
    const m = this.mask;
    key >>>= 0;
    let s = mix32(key) & m;
    while (used[s] !== 0) {
      if (keys[s] === key) return this.vals[s];
      s = (s + 1) & m;
    }
    return -1;
  }

  has(key: number): boolean {
    return this.get(key) >= 0;
  }

  /** Sets `key` to `value` (>= 0), replacing an existing value. */
  set(key: number, value: number): void {
    if ((this.size + 1) * 2 > this.keys.length) this.grow();
    key >>>= 0;
    const m = this.mask;
    let s = mix32(key) & m;
    while (this.used[s] !== 0) {
      if (this.keys[s] === key) {
        this.vals[s] = value;
        return;
      }
      s = (s + 1) & m;
    }
    this.used[s] = 1;
    this.keys[s] = key;
    this.vals[s] = value;
    this.size++;
  }

  private grow(): void {
    const { keys, vals, used } = this;
    const cap = keys.length * 2;
    this.keys = new Uint32Array(cap);
    this.vals = new Int32Array(cap);
    this.used = new Uint8Array(cap);
    this.mask = cap - 1;
    this.size = 0;
    for (let s = 0; s < keys.length; s++) if (used[s] !== 0) this.set(keys[s], vals[s]);
  }
}

/** IPv6 address (16 bytes) -> non-negative int, for the few IPv6 endpoints of a dual-stack cluster. */
export class Ip6Map {
  private keys: Uint8Array;
  private vals: Int32Array;
  private used: Uint8Array;
  private mask: number;
  size = 0;

  constructor() {
    this.keys = new Uint8Array(16 * 16);
    this.vals = new Int32Array(16);
    this.used = new Uint8Array(16);
    this.mask = 15;
  }

  private static hash(a: Uint8Array, o: number): number {
    let h = 0x811c9dc5;
    for (let k = 0; k < 16; k++) h = Math.imul(h ^ a[o + k], 0x01000193);
    return mix32(h);
  }

  /** The value of the address at `a[o..o+16)`, or -1. */
  get(a: Uint8Array, o: number): number {
    if (this.size === 0) return -1;
    const m = this.mask;
    let s = Ip6Map.hash(a, o) & m;
    while (this.used[s] !== 0) {
      let eq = true;
      const ko = s * 16;
      for (let k = 0; k < 16; k++) {
        if (this.keys[ko + k] !== a[o + k]) {
          eq = false;
          break;
        }
      }
      if (eq) return this.vals[s];
      s = (s + 1) & m;
    }
    return -1;
  }

  set(addr: Uint8Array, value: number): void {
    if ((this.size + 1) * 2 > this.vals.length) this.grow();
    const m = this.mask;
    let s = Ip6Map.hash(addr, 0) & m;
    while (this.used[s] !== 0) {
      if (this.matchAt(s, addr)) {
        this.vals[s] = value;
        return;
      }
      s = (s + 1) & m;
    }
    this.used[s] = 1;
    this.keys.set(addr, s * 16);
    this.vals[s] = value;
    this.size++;
  }

  private matchAt(s: number, addr: Uint8Array): boolean {
    for (let k = 0; k < 16; k++) if (this.keys[s * 16 + k] !== addr[k]) return false;
    return true;
  }

  private grow(): void {
    const { keys, vals, used } = this;
    const cap = vals.length * 2;
    this.keys = new Uint8Array(cap * 16);
    this.vals = new Int32Array(cap);
    this.used = new Uint8Array(cap);
    this.mask = cap - 1;
    this.size = 0;
    for (let s = 0; s < vals.length; s++) if (used[s] !== 0) this.set(keys.subarray(s * 16, s * 16 + 16), vals[s]);
  }
}

/**
 * A set of IPv4 endpoints (u32 address, 16-bit port), open addressing in one typed array (the key packed
 * as address * 65536 + port would be a double above 2^31: boxed at every Set call on the hot path).
 */
export class IpPortSet {
  /** Per slot: address, port + 1 (0: empty). */
  private slots: Uint32Array;
  private mask: number;
  size = 0;

  constructor(capacity = 16) {
    let cap = 16;
    while (cap < capacity * 2) cap <<= 1;
    this.slots = new Uint32Array(cap * 2);
    this.mask = cap - 1;
  }

  has(ip: number, port: number): boolean {
    const sl = this.slots;
    const m = this.mask;
    ip >>>= 0;
    const p1 = (port & 0xffff) + 1;
    let s = mix32(ip ^ Math.imul(p1, 0x9e3779b1)) & m;
    for (;;) {
      const v = sl[2 * s + 1];
      if (v === 0) return false;
      if (v === p1 && sl[2 * s] === ip) return true;
      s = (s + 1) & m;
    }
  }

  add(ip: number, port: number): void {
    if (this.has(ip, port)) return;
    if ((this.size + 1) * 2 > this.mask + 1) this.grow();
    const sl = this.slots;
    const m = this.mask;
    ip >>>= 0;
    const p1 = (port & 0xffff) + 1;
    let s = mix32(ip ^ Math.imul(p1, 0x9e3779b1)) & m;
    while (sl[2 * s + 1] !== 0) s = (s + 1) & m;
    sl[2 * s] = ip;
    sl[2 * s + 1] = p1;
    this.size++;
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Uint32Array(old.length * 2);
    this.mask = old.length - 1;
    this.size = 0;
    for (let s = 0; s < old.length; s += 2) if (old[s + 1] !== 0) this.add(old[s], old[s + 1] - 1);
  }
}

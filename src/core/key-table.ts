/**
 * A set of integer key tuples (`width` int32 keys each) numbered 0, 1, 2, ... in the order added: an
 * open-addressing table in typed arrays, at most half full, doubled when it would pass that (the numbers
 * stay), so a lookup makes no object. The caller fills `key` and calls `find` (then `add` when it is -1), and
 * keeps its values in arrays indexed by the number. The one such table of the encoders' text caches
 * (src/pipeline/out-trace-encoder.ts, verdict-encoder.ts) and of pktmon's PktGroupId groups (src/io/pktmon.ts).
 */
export class KeyTable {
  /** The key to `find` or `add` (its first `width` entries; uint32 values are kept as their int32 bits). */
  readonly key: Int32Array;
  /** Keys added (also the number the next `add` returns). */
  size = 0;
  /** Number + 1 per slot (0: free). */
  private slots: Int32Array;
  /** The keys of number n at `width * n`. */
  private keys: Int32Array;

  constructor(
    private readonly width: number,
    bits = 10,
  ) {
    this.key = new Int32Array(width);
    this.slots = new Int32Array(1 << bits);
    this.keys = new Int32Array(width << (bits - 1));
  }

  /** The number of `key`, or -1 when it was not added. */
  find(): number {
    const w = this.width;
    const key = this.key;
    const keys = this.keys;
    const mask = this.slots.length - 1;
    const slots = this.slots;
    for (let s = this.hash(key, 0) & mask; ; s = (s + 1) & mask) {
      const n = slots[s] - 1;
      if (n < 0) return -1;
      const o = w * n;
      let j = 0;
      while (j < w && keys[o + j] === key[j]) j++;
      if (j === w) return n;
    }
  }

  /** Adds `key` (not already in: `find` said -1); returns its number. */
  add(): number {
    if (2 * (this.size + 1) > this.slots.length) this.grow();
    const n = this.size++;
    this.keys.set(this.key, this.width * n);
    this.place(n);
    return n;
  }

  /** Forgets every key (numbers start again at 0). */
  clear(): void {
    this.slots.fill(0);
    this.size = 0;
  }

  private hash(a: Int32Array, o: number): number {
    const end = o + this.width;
    let h = 0x811c9dc5;
    for (let j = o; j < end; j++) h = Math.imul(h ^ a[j], 0x9e3779b1);
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    return (h ^ (h >>> 13)) >>> 0;
  }

  private place(n: number): void {
    const mask = this.slots.length - 1;
    let s = this.hash(this.keys, this.width * n) & mask;
    while (this.slots[s] !== 0) s = (s + 1) & mask;
    this.slots[s] = n + 1;
  }

  private grow(): void {
    this.slots = new Int32Array(2 * this.slots.length);
    const keys = new Int32Array(2 * this.keys.length);
    keys.set(this.keys);
    this.keys = keys;
    for (let n = 0; n < this.size; n++) this.place(n);
  }
}

/**
 * Live capture (issue 13, `vfp-emu live`): packets from a network interface through the npm package `cap`
 * (mscdex/cap 0.2.1, a libpcap binding; an optional dependency), handed to the replay pipeline as a
 * CaptureReader that fills Batches like the file readers do (io/reader.ts).
 *
 * cap is loaded here only, when `live` runs (`loadCap`): every other command works without it, and the
 * bundle keeps it external (scripts/bundle.mjs). When it is missing or its native build failed, the error
 * says how to install libpcap-dev and rebuild it.
 *
 * What cap gives, and what it does not (read from cap's src/binding.cc at 0.2.1): it opens the device with
 * pcap_create, snaplen 65535, promiscuous, immediate mode on Linux, non-blocking, the BPF filter compiled
 * and set; each packet is copied into the one Buffer given to `open` and announced with a `packet` event
 * (bytes, truncated), from libuv's poll of the pcap descriptor, on the main thread. It passes neither the
 * packet's pcap timestamp nor its length on the wire. So:
 * - timestamp: the time the event ran on this thread, in microseconds since the epoch (performance.timeOrigin
 *   + performance.now()); packets read in one poll get nearly the same time (a decision: it orders the
 *   packets as they came, and the flow table's idle timeouts count in seconds);
 * - wire length: the bytes captured (the snaplen, 65535, is at least an Ethernet frame's MTU; a larger GRO
 *   frame is cut, and cap says `truncated`: counted in `truncated`).
 *
 * Packets wait in a bounded queue (QUEUE_PACKETS, QUEUE_BYTES) until the pipeline takes them: `ready`
 * resolves when a batch's worth is queued (FLUSH_PACKETS) or FLUSH_MS after the first packet of a batch
 * arrived, so a packet is judged at most about 100 ms after it was captured. A packet that finds the queue
 * full is dropped and counted (`dropped`), as the kernel drops what libpcap cannot take.
 *
 * The capture ends (`end`): after `count` packets, after `duration` seconds, or when `stop` aborts (Ctrl-C,
 * SIGTERM: src/pipeline/stop.ts); the queued packets are still handed out, then `next` returns 0.
 */
import { Batch } from '../core/batch';
import { UsageError } from '../core/errors';
import type { CaptureReader, InterfaceInfo } from './reader';

/** The part of cap's `Cap` object used here (cap/lib/Cap.js: the addon's Pcap, an EventEmitter). */
interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  setMinBytes?(bytes: number): void;
  close(): boolean;
  on(event: 'packet', listener: (nbytes: number, truncated: boolean) => void): void;
}

export interface CapModule {
  Cap: new () => CapHandle;
  /** libpcap's devices (pcap_findalldevs), by name. */
  deviceList(): { name: string }[];
}

/** How to get cap working, in every message that says it is not. */
export const CAP_INSTALL_HINT =
  'live capture needs the optional package cap, built against libpcap: apt-get install libpcap-dev && npm rebuild cap ' +
  '(in the vfp-emu folder; or npm install cap), then run as root or with CAP_NET_RAW';

/**
 * Loads cap. Throws a UsageError (exit 2) with CAP_INSTALL_HINT when it is missing or its native part
 * cannot be loaded (test/live.test.ts runs the bundle where neither is there).
 */
export function loadCap(): CapModule {
  const name = 'cap';
  try {
    return require(name) as CapModule;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'MODULE_NOT_FOUND' && err.message.includes(`'${name}'`) ? `${name} is not installed` : `${name} did not load (${firstLine(err.message)})`;
    throw new UsageError(`live: ${why}; ${CAP_INSTALL_HINT}`);
  }
}

function firstLine(s: string): string {
  const nl = s.indexOf('\n');
  return nl < 0 ? s : s.slice(0, nl);
}

/** cap's link-type names (binding.cc `Open`) as LINKTYPE_* numbers; "Unknown linktype N" gives N. */
export function linkTypeOf(name: string): number {
  const known: Record<string, number> = { NULL: 0, ETHERNET: 1, RAW: 101, IEEE802_11_RADIO: 127, LINKTYPE_LINUX_SLL: 113 };
  if (Object.prototype.hasOwnProperty.call(known, name)) return known[name];
  const m = /^Unknown linktype (\d+)$/.exec(name);
  return m !== null ? Number(m[1]) : -1;
}

/** A packet is judged at most this long after it was captured (the queue is handed out then). */
export const FLUSH_MS = 100;
/** Packets that make a batch: handed out at once (the pipeline's batch capacity, replay-loop.ts). */
export const FLUSH_PACKETS = 512;
/** The queue's bounds: packets beyond them are dropped and counted. */
export const QUEUE_PACKETS = 16384;
export const QUEUE_BYTES = 32 << 20;
/** cap's snaplen (binding.cc) and the kernel buffer asked for. */
const SNAPLEN = 65535;
const KERNEL_BUFFER = 16 << 20;

/**
 * The timers the capture sets (FLUSH_MS after a batch's first packet, the --duration end): Node's by
 * default; a test gives its own clock and fires them itself (test/live-queue.test.ts: no test waits for time).
 */
export interface LiveTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const NODE_TIMERS: LiveTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface LiveOptions {
  iface: string;
  /** BPF capture filter ('' none). */
  filter: string;
  /** Stop after this many packets (0: no limit). */
  count: number;
  /** Stop after this many seconds (0: no limit). */
  duration: number;
  stop?: AbortSignal;
  /** cap, loaded by `loadCap` (a test gives a fake one). */
  cap: CapModule;
  /** Default NODE_TIMERS. */
  timers?: LiveTimers;
}

/**
 * One live capture: `open` starts it and returns its CaptureReader (this object); `ready` and `next` feed the
 * pipeline (pipeline.ts PipelineInput). The queue is flat typed arrays and one byte buffer, filled in
 * arrival order from `head` and emptied from `tail`: no object per packet.
 */
export class LiveSource implements CaptureReader {
  readonly path: string;
  readonly format = 'pcap' as const;
  readonly pcapVariant = 'standard' as const;
  readonly littleEndian = true;
  readonly interfaces: InterfaceInfo[] = [];
  readonly error = null;
  packetsRead = 0;
  bytesRead = 0;
  readonly overSnaplenPackets = 0;
  /** Packets captured (queued), dropped because the queue was full, and cut by cap's buffer. */
  captured = 0;
  dropped = 0;
  truncated = 0;
  /** The capture has ended (count, duration, stop): nothing more is queued. */
  ended = false;

  private cap: CapHandle | null = null;
  private readonly packet = Buffer.alloc(SNAPLEN);
  private readonly bytes = new Uint8Array(QUEUE_BYTES);
  /** `bytes` as a Buffer (Buffer.copy: no view object per packet). */
  private readonly bytesBuf = Buffer.from(this.bytes.buffer);
  private readonly start = new Uint32Array(QUEUE_PACKETS);
  private readonly len = new Uint32Array(QUEUE_PACKETS);
  private readonly when = new Float64Array(QUEUE_PACKETS);
  private head = 0;
  private tail = 0;
  private used = 0;
  private linkType = 1;
  private due = false;
  private flushTimer: unknown = null;
  private durationTimer: unknown = null;
  private readonly timers: LiveTimers;
  private wake: (() => void) | null = null;
  private readonly onAbort = (): void => this.end();

  constructor(private readonly o: LiveOptions) {
    this.path = `live:${o.iface}`;
    this.timers = o.timers ?? NODE_TIMERS;
  }

  /** Opens the device (UsageError naming it when libpcap refuses: no such device, no permission, bad filter). */
  open(): CaptureReader {
    // named first: for a device that does not exist cap prints its own warning before libpcap's error
    const names = this.o.cap.deviceList().map((d) => d.name);
    if (!names.includes(this.o.iface)) throw new UsageError(`live --iface ${this.o.iface}: no such interface here (libpcap lists: ${names.join(', ')})`);
    const c = new this.o.cap.Cap();
    let link: string;
    try {
      link = c.open(this.o.iface, this.o.filter, KERNEL_BUFFER, this.packet);
    } catch (e) {
      const why = (e as Error).message;
      const root = /not permitted|permission/i.test(why) ? ' (capturing needs root or CAP_NET_RAW)' : '';
      throw new UsageError(`live --iface ${this.o.iface}${this.o.filter !== '' ? ` --filter '${this.o.filter}'` : ''}: cannot capture: ${why}${root}`);
    }
    this.linkType = linkTypeOf(link);
    if (this.linkType < 0) {
      c.close();
      throw new UsageError(`live --iface ${this.o.iface}: link type ${link} is not one vfp-emu decodes`);
    }
    c.setMinBytes?.(0);
    this.cap = c;
    this.interfaces.push({ linkType: this.linkType, snapLen: SNAPLEN, tsUnitsPerSec: 1e6, tsresolRaw: 6, tsOffset: 0, tsKind: 'sec-frac', name: this.o.iface, section: 0 });
    c.on('packet', (n, cut) => this.arrived(n, cut));
    // --duration is at most 2147483 s (cli-args.ts): setTimeout holds at most 2^31 - 1 ms, and a longer delay
    // fires at once (Node's TimeoutOverflowWarning: the delay is set to 1), which ended the capture at its start
    if (this.o.duration > 0) this.durationTimer = this.timers.setTimeout(() => this.end(), this.o.duration * 1000);
    if (this.o.stop?.aborted === true) this.end();
    else this.o.stop?.addEventListener('abort', this.onAbort, { once: true });
    return this;
  }

  /** cap's `packet` event: the packet is in `this.packet`; queued (or dropped when the queue is full). */
  private arrived(n: number, cut: boolean): void {
    if (this.ended) return;
    if (cut) this.truncated++;
    const queued = this.head - this.tail;
    if (queued >= QUEUE_PACKETS || !this.roomFor(n)) {
      this.dropped++;
      return;
    }
    const k = this.head % QUEUE_PACKETS;
    this.start[k] = this.used;
    this.len[k] = n;
    this.when[k] = performance.timeOrigin + performance.now();
    this.packet.copy(this.bytes, this.used, 0, n);
    this.used += n;
    this.head++;
    this.captured++;
    if (this.o.count > 0 && this.captured >= this.o.count) this.end();
    else if (this.head - this.tail >= FLUSH_PACKETS) this.flush();
    else if (this.flushTimer === null) this.flushTimer = this.timers.setTimeout(() => this.flush(), FLUSH_MS);
  }

  /** Room for `n` more bytes at the end of the byte buffer (moving the queued bytes to its start when that makes room). */
  private roomFor(n: number): boolean {
    if (this.used + n <= this.bytes.length) return true;
    if (this.head === this.tail) {
      this.used = 0;
      return n <= this.bytes.length;
    }
    const from = this.start[this.tail % QUEUE_PACKETS];
    if (from === 0 || this.used - from + n > this.bytes.length) return false;
    this.bytes.copyWithin(0, from, this.used);
    for (let q = this.tail; q < this.head; q++) this.start[q % QUEUE_PACKETS] -= from;
    this.used -= from;
    return true;
  }

  /** The queued packets may be handed out now. */
  private flush(): void {
    if (this.flushTimer !== null) this.timers.clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.due = true;
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** Ends the capture (idempotent): closes cap; what is queued is still handed out. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.durationTimer !== null) this.timers.clearTimeout(this.durationTimer);
    this.durationTimer = null;
    this.o.stop?.removeEventListener('abort', this.onAbort);
    this.cap?.close();
    this.cap = null;
    this.flush();
  }

  /** Resolves once packets may be handed out (a batch's worth, FLUSH_MS after the first) or the capture ended. */
  ready(): Promise<void> {
    if (this.ended || (this.due && this.head > this.tail)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.wake = resolve;
    });
  }

  next(b: Batch): number {
    b.reset(this.packetsRead + 1);
    while (this.tail < this.head) {
      const k = this.tail % QUEUE_PACKETS;
      const n = this.len[k];
      if (!b.fits(n)) break;
      const i = b.alloc(n);
      this.bytesBuf.copy(b.arena, b.off[i], this.start[k], this.start[k] + n);
      const us = Math.floor(this.when[k] * 1000);
      const sec = Math.floor(us / 1e6);
      b.wirelen[i] = n;
      b.tsHi[i] = sec;
      b.tsLo[i] = us - sec * 1e6;
      b.ts[i] = us / 1e6;
      b.iface[i] = 0;
      b.linktype[i] = this.linkType;
      this.bytesRead += 16 + n;
      this.tail++;
    }
    if (this.tail === this.head) {
      this.due = false;
      this.used = 0;
    }
    this.packetsRead += b.count;
    return b.count;
  }

  close(): void {
    this.end();
    if (this.flushTimer !== null) this.timers.clearTimeout(this.flushTimer);
    this.flushTimer = null;
  }
}

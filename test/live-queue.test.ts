/**
 * `vfp-emu live`'s capture queue without root, cap or time (issue 13, "Live capture"): a fake cap module
 * (the part src/io/live-source.ts uses: deviceList, Cap with open / on('packet') / close) hands packets
 * over as cap does (copied into the one buffer `open` was given, then the `packet` event), and a clock the
 * test fires itself stands for Node's timers (live-source.ts LiveTimers, live.ts LiveClock). Checked:
 * - the batch flush: 511 queued packets wait, the 512th hands them out at once (no timer needed);
 * - the timer flush: fewer wait until the FLUSH_MS timer fires, and then are handed out;
 * - the queue's bounds (QUEUE_PACKETS, QUEUE_BYTES): what does not fit is dropped and counted, what fits
 *   is handed out whole and in order;
 * - the whole command (live.ts runLiveCommand with LiveDeps): the verdicts file holds every packet the queue
 *   kept, the rolling view and the summary (text and JSON `capture_lost`) say how many were lost.
 * No test waits for time: each step fires the timer it needs, and waits for the pipeline's turns only.
 */

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Batch } from '../src/core/batch';
import { parseArgs } from '../src/cli-args';
import { runLiveCommand, type LiveClock } from '../src/commands/live';
import { FLUSH_MS, FLUSH_PACKETS, LiveSource, QUEUE_BYTES, QUEUE_PACKETS, type CapModule } from '../src/io/live-source';
import { buildPacketLine } from '../src/scenario/packet-line';

const repo = path.resolve(__dirname, '../..');
const L2 = path.join(repo, 'traces', '_clusters', 'l2bridge');
const CLUSTER = ['kubectl.json', 'cni.conf', 'net-conf.json'].flatMap((f) => ['--cluster', path.join(L2, f)]);
/** The view's redraw period (live.ts VIEW_MS). */
const VIEW_MS = 1000;

/** Timers the test fires: `fire(ms)` runs every pending timer set for `ms` (one-shot ones once). */
class FakeClock implements LiveClock {
  private next = 1;
  readonly pending = new Map<number, { fn: () => void; ms: number; every: boolean }>();
  setTimeout(fn: () => void, ms: number): unknown {
    this.pending.set(this.next, { fn, ms, every: false });
    return this.next++;
  }
  clearTimeout(h: unknown): void {
    this.pending.delete(h as number);
  }
  setInterval(fn: () => void, ms: number): unknown {
    this.pending.set(this.next, { fn, ms, every: true });
    return this.next++;
  }
  clearInterval(h: unknown): void {
    this.pending.delete(h as number);
  }
  /** The delays pending, sorted. */
  delays(): number[] {
    return [...this.pending.values()].map((t) => t.ms).sort((a, b) => a - b);
  }
  fire(ms: number): void {
    for (const [id, t] of [...this.pending]) {
      if (t.ms !== ms) continue;
      if (!t.every) this.pending.delete(id);
      t.fn();
    }
  }
}

/** A cap module whose one device, fake0, gets the packets `send` gives it. */
class FakeCap {
  opened: Promise<void>;
  closed = false;
  private buffer: Buffer | null = null;
  private listener: ((n: number, cut: boolean) => void) | null = null;
  private resolveOpen: () => void = () => {};
  readonly module: CapModule;

  constructor() {
    this.opened = new Promise((r) => (this.resolveOpen = r));
    const fake = this;
    this.module = {
      deviceList: () => [{ name: 'fake0' }],
      Cap: class {
        open(_device: string, _filter: string, _size: number, buffer: Buffer): string {
          fake.buffer = buffer;
          fake.resolveOpen();
          return 'ETHERNET';
        }
        on(_event: 'packet', fn: (n: number, cut: boolean) => void): void {
          fake.listener = fn;
        }
        close(): boolean {
          fake.closed = true;
          return true;
        }
      },
    };
  }

  /** One packet, as cap hands it over. */
  send(frame: Uint8Array): void {
    this.buffer!.set(frame, 0);
    this.listener!(frame.length, false);
  }
}

/** A SYN from the lesson's pod to a pod on win-2 (no SNAT: no port runs out), from source port `port` (it numbers the packets). */
const syn = (port: number, len = 0): Uint8Array => buildPacketLine(`tcp 10.244.1.5:${port} > 10.244.2.7:80 S len=${len}`);
const portOf = (b: Batch, i: number): number => (b.arena[b.off[i] + 34] << 8) | b.arena[b.off[i] + 35];

/** Resolves after the pending callbacks and I/O of this turn ran (the pipeline's turns), not after a time. */
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Whether `p` is settled once the current turn's callbacks ran. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  await turn();
  return done;
}

/** Takes every packet queued (next until 0 while not ended; the batch holds them as the pipeline's does). */
function drain(s: LiveSource): number[] {
  const b = new Batch();
  const ports: number[] = [];
  for (let n = s.next(b); n > 0; n = s.next(b)) for (let i = 0; i < n; i++) ports.push(portOf(b, i));
  return ports;
}

function source(cap: FakeCap, clock: FakeClock, count = 0): LiveSource {
  const s = new LiveSource({ iface: 'fake0', filter: '', count, duration: 0, cap: cap.module, timers: clock });
  s.open();
  return s;
}

describe('live capture queue: batch flush, timer flush, overflow (a fake cap and a clock the test fires)', () => {
  it(`${FLUSH_PACKETS} packets are handed out at once, without the timer; ${FLUSH_PACKETS - 1} wait`, async () => {
    const cap = new FakeCap();
    const clock = new FakeClock();
    const s = source(cap, clock);
    for (let k = 0; k < FLUSH_PACKETS - 1; k++) cap.send(syn(10000 + k));
    assert.equal(await settled(s.ready()), false, `${FLUSH_PACKETS - 1} packets wait for the timer`);
    assert.deepEqual(clock.delays(), [FLUSH_MS], 'the flush timer is set once, at the first packet');
    const ready = s.ready();
    cap.send(syn(10000 + FLUSH_PACKETS - 1));
    assert.equal(await settled(ready), true, `the ${FLUSH_PACKETS}th packet hands the batch out`);
    assert.deepEqual(clock.delays(), [], 'the flush timer is cleared');
    const ports = drain(s);
    assert.deepEqual(ports, Array.from({ length: FLUSH_PACKETS }, (_, k) => 10000 + k));
    s.close();
    assert.ok(cap.closed);
  });

  it(`fewer packets are handed out when the ${FLUSH_MS} ms timer fires, not before`, async () => {
    const cap = new FakeCap();
    const clock = new FakeClock();
    const s = source(cap, clock);
    for (const p of [1, 2, 3]) cap.send(syn(p));
    const ready = s.ready();
    assert.equal(await settled(ready), false);
    clock.fire(FLUSH_MS);
    assert.equal(await settled(ready), true);
    assert.deepEqual(drain(s), [1, 2, 3]);
    cap.send(syn(4));
    assert.deepEqual(clock.delays(), [FLUSH_MS], 'the next packet sets the timer again');
    assert.equal(await settled(s.ready()), false);
    s.end();
    assert.deepEqual(drain(s), [4], 'the end hands out what is queued');
    assert.equal(s.dropped, 0);
  });

  it(`more than ${QUEUE_PACKETS} packets between two takes: the rest are dropped and counted; the kept ones come whole and in order`, () => {
    const cap = new FakeCap();
    const s = source(cap, new FakeClock());
    const sent = QUEUE_PACKETS + 7;
    for (let k = 0; k < sent; k++) cap.send(syn(1024 + k));
    assert.deepEqual([s.captured, s.dropped], [QUEUE_PACKETS, 7]);
    const ports = drain(s);
    assert.equal(ports.length, QUEUE_PACKETS);
    assert.ok(ports.every((p, k) => p === 1024 + k), 'in order, the first ones kept');
    cap.send(syn(5));
    assert.deepEqual([s.captured, s.dropped], [QUEUE_PACKETS + 1, 7], 'a taken queue has room again');
    s.close();
  });

  it(`more than ${QUEUE_BYTES >> 20} MiB between two takes: the packets that do not fit are dropped and counted`, () => {
    const cap = new FakeCap();
    const s = source(cap, new FakeClock());
    const size = syn(1, 60000).length;
    const fit = Math.floor(QUEUE_BYTES / size);
    for (let k = 0; k < fit + 3; k++) cap.send(syn(1024 + k, 60000));
    assert.deepEqual([s.captured, s.dropped], [fit, 3]);
    assert.equal(drain(s).length, fit);
    s.close();
  });

  it('--count N: the capture ends at the Nth packet; later ones are not queued', async () => {
    const cap = new FakeCap();
    const s = source(cap, new FakeClock(), 2);
    for (const p of [1, 2, 3]) cap.send(syn(p));
    assert.equal(await settled(s.ready()), true);
    assert.ok(s.ended && cap.closed);
    assert.deepEqual(drain(s), [1, 2]);
  });
});

describe('vfp-emu live with a fake capture: the outputs hold every kept packet; the lost ones are said', function () {
  this.timeout(300000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-live-queue-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** Runs `live --iface fake0 ...args` with the fakes; `drive` sends and fires while it runs. */
  async function live(args: string[], drive: (cap: FakeCap, clock: FakeClock, err: string[]) => Promise<void>): Promise<{ status: number; out: string; err: string }> {
    const cap = new FakeCap();
    const clock = new FakeClock();
    const out: string[] = [];
    const err: string[] = [];
    const run = runLiveCommand(parseArgs(['live', '--iface', 'fake0', ...CLUSTER, '--duration', '60', ...args]), {
      cap: cap.module,
      clock,
      stdout: (t) => void out.push(t),
      stderr: { write: (t: string) => err.push(t), isTTY: false },
    });
    await cap.opened;
    await drive(cap, clock, err);
    clock.fire(60000); // --duration 60 ends the capture
    const status = await run;
    return { status, out: out.join(''), err: err.join('') };
  }

  /** Turns of the event loop (the view's timer fired at each) until the view's last line matches `re`. */
  async function viewShows(clock: FakeClock, err: string[], re: RegExp): Promise<string> {
    for (let k = 0; k < 100000; k++) {
      clock.fire(VIEW_MS);
      const last = err.filter((l) => l.startsWith('vfp-emu: live on ')).pop() ?? '';
      if (re.test(last)) return last;
      await turn();
    }
    assert.fail(`the view never showed ${String(re)}: ${err.join('')}`);
  }

  it('an overflowing burst, then a timer-flushed trickle: the verdicts file is whole; the view and the JSON summary count the lost packets', async () => {
    const verdicts = path.join(tmp, 'v.jsonl');
    let shown = '';
    const r = await live(['--verdicts', verdicts, '--summary', 'json'], async (cap, clock, err) => {
      for (let k = 0; k < QUEUE_PACKETS + 5; k++) cap.send(syn(1024 + k));
      shown = await viewShows(clock, err, new RegExp(`^vfp-emu: live on fake0: ${QUEUE_PACKETS} packets in \\d+ s: .*; 5 packets lost: capture queue full`));
      for (const p of [1, 2, 3]) cap.send(syn(p));
      for (let k = 0; k < 20; k++) await turn();
      const before = err.filter((l) => l.startsWith('vfp-emu: live on ')).length;
      clock.fire(VIEW_MS);
      assert.equal(err.filter((l) => l.startsWith('vfp-emu: live on ')).length, before, 'the 3 packets wait for the flush timer: nothing new to show');
      clock.fire(FLUSH_MS);
      await viewShows(clock, err, new RegExp(`^vfp-emu: live on fake0: ${QUEUE_PACKETS + 3} packets `));
    });
    assert.equal(r.status, 0, r.err);
    assert.match(shown, /delivered \d+/);
    const lines = fs.readFileSync(verdicts, 'utf8').split('\n');
    assert.equal(lines.pop(), '', 'the verdicts file ends with a whole line');
    assert.equal(lines.length, QUEUE_PACKETS + 3);
    const recs = lines.map((l) => JSON.parse(l) as { packet: number; verdict: string; flow: { sport: number } });
    assert.ok(recs.every((v, k) => v.packet === k + 1), 'numbered 1..N');
    const seen = new Set(recs.map((v) => `${v.verdict} ${String((v as { reason?: string }).reason)}`));
    assert.deepEqual([...seen], ['delivered null']);
    assert.deepEqual(recs.slice(-4).map((v) => v.flow.sport), [1024 + QUEUE_PACKETS - 1, 1, 2, 3], 'the dropped ones are missing, the rest in order');
    const summary = JSON.parse(r.out) as { packets: number; capture_lost: { queue_full: number; truncated: number } };
    assert.equal(summary.packets, QUEUE_PACKETS + 3);
    assert.deepEqual(summary.capture_lost, { queue_full: 5, truncated: 0 });
  });

  it('the text summary ends with the lost packets; a run that lost none says nothing of it (JSON: no capture_lost, merge reads it)', async () => {
    const lossy = await live([], async (cap) => {
      for (let k = 0; k < QUEUE_PACKETS + 2; k++) cap.send(syn(1024 + k));
    });
    assert.equal(lossy.status, 0, lossy.err);
    assert.match(lossy.out, /^Capture: 2 packets lost: capture queue full \(captured faster than they were judged; not in the outputs\)$/m);
    assert.match(lossy.out, new RegExp(`\\b${QUEUE_PACKETS}\\b`));
    const clean = await live([], async (cap, clock) => {
      cap.send(syn(1));
      clock.fire(FLUSH_MS);
    });
    assert.equal(clean.status, 0, clean.err);
    assert.doesNotMatch(clean.out, /Capture:|lost/);
    const json = await live(['--summary', 'json'], async (cap) => cap.send(syn(1)));
    const clean1 = JSON.parse(json.out) as { capture_lost?: unknown; packets: number };
    assert.deepEqual([clean1.packets, 'capture_lost' in clean1], [1, false]);
  });
});

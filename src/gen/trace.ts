/**
 * Deterministic trace generator for benchmarks and scenarios: Kubernetes-shaped traffic of pods on
 * Windows nodes (see layout.ts), as captured in the client pods (the common "sender view" of
 * ../shared/DESIGN.md): requests leave the pod towards its gateway MAC, replies come back addressed to the
 * pod, from the address the pod talked to (a Service's ClusterIP, a remote pod, an external host).
 *
 * Traffic kinds (weights in `mix`):
 *   pod-service    TCP to a `web-<s>` ClusterIP:80           pod-pod        TCP to a pod on another node :8080
 *   external-tcp   TCP to an external host :443 or :80       external-udp   UDP to an external host :443 or :123
 *   icmp-external  ping to an external host                  icmp-pod       ping to a pod on another node
 *   dns            UDP queries to kube-dns 10.96.0.10:53 (FQDNs, single labels, a dotted partial name, external names)
 * Each flow is two-way: TCP flows run SYN, SYN-ACK, ACK, data both ways (request first), FIN-ACK, FIN-ACK,
 * ACK (a flow with fewer than 6 packets stops before the close); UDP, ICMP echo and DNS flows alternate
 * request and reply. The `packets` are spread evenly over the `flows` (each gets floor or ceil of
 * packets/flows); at most `concurrency` flows are open at once and the next packet comes from an open flow
 * picked at random, so flows interleave. Every flow has its own client (pod IP, port or ICMP id), so the
 * trace holds exactly `min(flows, packets)` distinct connections.
 * Sizes: data packets get an IP length drawn from `sizes` (default IMIX 64:576:1500 as 7:4:1), capped at
 * `mtu` (default 1450 on overlay, the flannel VXLAN pod MTU, 1500 on l2bridge); handshakes are 44 (SYN
 * with MSS) or 40 bytes, pings carry Windows ping's 32-byte payload.
 * Timestamps start at `startTime` and advance by a uniform 1..2*meanGapUs-1 microseconds per packet.
 *
 * Same options (seed included) -> byte-identical output. Frames are written field by field straight into
 * the output buffer with checksums from partial sums (payload sums come from prefix sums over one random
 * pattern buffer), so a packet costs O(header) plus one memcpy; nothing is allocated per packet.
 */

import * as fs from 'node:fs';
import { Batch, HEADROOM } from '../core/batch';
import { createWriter, DEFAULT_SNAPLEN, pcapInterface } from '../io/writer';
import { dnsQuery, dnsResponse } from '../packet/build';
import { checksumOf, onesSum } from '../packet/checksum';
import { parseMac } from '../packet/addr';
import { ClusterLayout, LayoutOptions, makeLayout } from './layout';
import { cumulative, Prng } from './prng';

export const TRAFFIC_KINDS = ['pod-service', 'pod-pod', 'external-tcp', 'external-udp', 'icmp-external', 'icmp-pod', 'dns'] as const;
export type TrafficKind = (typeof TRAFFIC_KINDS)[number];

/** Default traffic mix (relative weights per flow). */
export const DEFAULT_MIX: Readonly<Record<TrafficKind, number>> = {
  'pod-service': 35,
  'pod-pod': 20,
  'external-tcp': 15,
  'external-udp': 8,
  'icmp-external': 5,
  'icmp-pod': 5,
  dns: 12,
};

/** An IP packet length and its relative weight. */
export interface SizeWeight {
  size: number;
  weight: number;
}

/** Default size mix: simple IMIX (7 x 64, 4 x 576, 1 x 1500 bytes of IP packet). */
const DEFAULT_SIZES: readonly SizeWeight[] = [
  { size: 64, weight: 7 },
  { size: 576, weight: 4 },
  { size: 1500, weight: 1 },
];

export interface TraceOptions extends LayoutOptions {
  /** Packets in the trace. */
  packets: number;
  /** Flows (connections) in the trace (default packets/100, at least 1); capped at `packets`. */
  flows?: number;
  /** PRNG seed (default 1). */
  seed?: number;
  /** Relative weights of the traffic kinds (missing kinds keep their default weight; 0 turns one off). */
  mix?: Partial<Record<TrafficKind, number>>;
  /** Size mix of data packets (IP length). */
  sizes?: readonly SizeWeight[];
  /** Largest IP packet (default 1450 on overlay, 1500 on l2bridge). */
  mtu?: number;
  /** Most flows open at once (default: all flows). */
  concurrency?: number;
  /** Timestamp of the first packet, whole epoch seconds (default 1700000000). */
  startTime?: number;
  /** Mean gap between packets in microseconds (default 10). */
  meanGapUs?: number;
}

/** Largest frame the generator writes (Ethernet + 1500-byte IP packet). */
const MAX_FRAME = 1514;

const K_SERVICE = 0;
const K_POD = 1;
const K_EXT_TCP = 2;
const K_EXT_UDP = 3;
const K_ICMP_EXT = 4;
const K_ICMP_POD = 5;
const K_DNS = 6;

const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_PSH = 0x08;
const TCP_ACK = 0x10;
const CLIENT_WINDOW = 64240;
const SERVER_WINDOW = 65160;
const CLIENT_TTL = 128;
/** Windows ping's payload. */
const PING_PAYLOAD = 'abcdefghijklmnopqrstuvwabcdefghi';
const PATTERN_BYTES = 16384 + 2048;

/**
 * The generator. `next(out, pos)` writes the next frame; `fillBatch(b)` fills a Batch as a reader would;
 * `writeTraceFile` and `generateTrace` wrap them.
 */
export class TraceGenerator {
  readonly layout: ClusterLayout;
  /** Packets the trace will hold. */
  readonly packets: number;
  /** Flows the trace will hold. */
  readonly flows: number;
  /** Frames written so far. */
  emitted = 0;
  /** Timestamp of the last frame: whole seconds and microseconds. */
  tsSec = 0;
  tsUsec = 0;
  /** Traffic kind index (into TRAFFIC_KINDS), flow number and direction of the last frame. */
  lastKind = 0;
  lastFlow = 0;
  lastFromClient = true;
  /** Flows started so far, per traffic kind. */
  readonly flowsByKind = new Float64Array(TRAFFIC_KINDS.length);
  /** Packets written so far, per traffic kind. */
  readonly packetsByKind = new Float64Array(TRAFFIC_KINDS.length);

  private readonly rng: Prng;
  private readonly mixCum: Float64Array;
  private readonly sizeCum: Float64Array;
  private readonly sizeVal: Int32Array;
  private readonly mtu: number;
  private readonly meanGap: number;
  private tsUs: number;

  // ---- addressing tables
  /** MACs: pods at index*6, node gateways at (pods + node)*6. */
  private readonly macs: Uint8Array;
  private readonly podIp: Uint32Array;
  private readonly podNode: Uint32Array;
  private readonly podOs: Uint8Array; // 1 = Windows
  private readonly remotePods: Uint32Array[]; // per node: default-namespace pods on other nodes
  private readonly portUsed: Uint32Array;
  private readonly portStart: Uint32Array;

  // ---- payload pattern and prefix sums
  private readonly pattern: Buffer;
  private readonly patternSum: Float64Array;
  private readonly ping: Buffer;
  private readonly pingSum: number;
  private readonly dnsQ: Buffer[];
  private readonly dnsQSum: Float64Array;
  private readonly dnsR: Buffer[];
  private readonly dnsRSum: Float64Array;

  // ---- open flows: one slot each (struct of arrays)
  private readonly slotFlow: Uint32Array;
  private readonly kind: Uint8Array;
  private readonly pod: Uint32Array;
  private readonly cIp: Uint32Array;
  private readonly sIp: Uint32Array;
  private readonly cPort: Uint16Array;
  private readonly sPort: Uint16Array;
  private readonly budget: Uint32Array;
  private readonly step: Uint32Array;
  private readonly cSeq: Uint32Array;
  private readonly sSeq: Uint32Array;
  private readonly cId: Uint16Array;
  private readonly sId: Uint16Array;
  private readonly sTtl: Uint8Array;
  private readonly aux: Uint32Array;
  private open = 0;
  private nextFlow = 0;

  constructor(opts: TraceOptions) {
    const packets = opts.packets;
    if (!Number.isInteger(packets) || packets < 0) throw new RangeError(`packets must be a non-negative integer, got ${packets}`);
    const flowsWanted = opts.flows ?? Math.max(1, Math.ceil(packets / 100));
    if (!Number.isInteger(flowsWanted) || flowsWanted < 1) throw new RangeError(`flows must be a positive integer, got ${flowsWanted}`);
    this.packets = packets;
    this.flows = Math.min(flowsWanted, packets);
    this.layout = makeLayout(opts, Math.ceil(this.flows / 16384));
    const l = this.layout;
    this.rng = new Prng(opts.seed ?? 1);

    const mix = { ...DEFAULT_MIX, ...(opts.mix ?? {}) };
    for (const k of Object.keys(mix)) if (!(TRAFFIC_KINDS as readonly string[]).includes(k)) throw new RangeError(`unknown traffic kind '${k}' in mix (known: ${TRAFFIC_KINDS.join(', ')})`);
    this.mixCum = cumulative(TRAFFIC_KINDS.map((k) => mix[k]));
    this.mtu = opts.mtu ?? (l.network === 'overlay' ? 1450 : 1500);
    if (!Number.isInteger(this.mtu) || this.mtu < 68 || this.mtu > 1500) throw new RangeError(`mtu must be an integer in 68..1500, got ${this.mtu}`);
    const sizes = opts.sizes ?? DEFAULT_SIZES;
    if (sizes.length === 0) throw new RangeError('sizes must not be empty');
    this.sizeCum = cumulative(sizes.map((s) => s.weight));
    this.sizeVal = Int32Array.from(sizes.map((s) => s.size));
    this.meanGap = opts.meanGapUs ?? 10;
    if (!(this.meanGap >= 1)) throw new RangeError(`meanGapUs must be at least 1, got ${this.meanGap}`);
    const start = opts.startTime ?? 1_700_000_000;
    if (!Number.isInteger(start) || start < 0) throw new RangeError(`startTime must be whole epoch seconds, got ${start}`);
    this.tsUs = start * 1e6;

    const nPods = l.pods.length;
    this.macs = new Uint8Array((nPods + l.nodes.length) * 6);
    this.podIp = new Uint32Array(nPods);
    this.podNode = new Uint32Array(nPods);
    this.podOs = new Uint8Array(nPods);
    l.pods.forEach((p, k) => {
      this.macs.set(parseMac(p.mac), k * 6);
      this.podIp[k] = p.ip4;
      this.podNode[k] = p.node;
      this.podOs[k] = l.nodes[p.node].windows ? 1 : 0;
    });
    l.nodes.forEach((n, k) => this.macs.set(parseMac(n.gatewayMac), (nPods + k) * 6));
    this.remotePods = l.nodes.map((_, n) => Uint32Array.from(l.pods.flatMap((p, k) => (p.node !== n && p.namespace === 'default' ? [k] : []))));
    this.portUsed = new Uint32Array(nPods);
    this.portStart = new Uint32Array(nPods);
    for (let k = 0; k < nPods; k++) this.portStart[k] = this.rng.below(16384);

    this.pattern = Buffer.from(this.rng.fill(new Uint8Array(PATTERN_BYTES)).buffer);
    this.patternSum = new Float64Array(PATTERN_BYTES / 2 + 1);
    for (let w = 0; w < PATTERN_BYTES / 2; w++) this.patternSum[w + 1] = this.patternSum[w] + ((this.pattern[2 * w] << 8) | this.pattern[2 * w + 1]);
    this.ping = Buffer.from(PING_PAYLOAD, 'latin1');
    this.pingSum = onesSum(this.ping, 0, this.ping.length);
    this.dnsQ = [];
    this.dnsR = [];
    this.dnsQSum = new Float64Array(l.dnsNames.length);
    this.dnsRSum = new Float64Array(l.dnsNames.length);
    l.dnsNames.forEach((d, k) => {
      const q = Buffer.from(dnsQuery(0, d.name, 1));
      const r = Buffer.from(dnsResponse(0, d.name, 1, d.answer ? [d.answer] : [], d.answer ? 0 : 3));
      this.dnsQ.push(q);
      this.dnsR.push(r);
      this.dnsQSum[k] = onesSum(q, 0, q.length);
      this.dnsRSum[k] = onesSum(r, 0, r.length);
    });

    const conc = Math.max(1, Math.min(opts.concurrency ?? this.flows, this.flows));
    if (!Number.isInteger(conc)) throw new RangeError(`concurrency must be a positive integer, got ${opts.concurrency}`);
    this.slotFlow = new Uint32Array(conc);
    this.kind = new Uint8Array(conc);
    this.pod = new Uint32Array(conc);
    this.cIp = new Uint32Array(conc);
    this.sIp = new Uint32Array(conc);
    this.cPort = new Uint16Array(conc);
    this.sPort = new Uint16Array(conc);
    this.budget = new Uint32Array(conc);
    this.step = new Uint32Array(conc);
    this.cSeq = new Uint32Array(conc);
    this.sSeq = new Uint32Array(conc);
    this.cId = new Uint16Array(conc);
    this.sId = new Uint16Array(conc);
    this.sTtl = new Uint8Array(conc);
    this.aux = new Uint32Array(conc);
    while (this.open < conc && this.nextFlow < this.flows) this.startFlow(this.open++);
  }

  /** True when every packet has been written. */
  done(): boolean {
    return this.emitted >= this.packets;
  }

  /** Starts the next flow in slot `j`: its kind, client (pod, port), server, sequence numbers. */
  private startFlow(j: number): void {
    const f = this.nextFlow++;
    const l = this.layout;
    const rng = this.rng;
    const per = Math.floor(this.packets / this.flows);
    this.slotFlow[j] = f;
    this.budget[j] = per + (f < this.packets - per * this.flows ? 1 : 0);
    this.step[j] = 0;
    const kind = rng.pick(this.mixCum);
    this.kind[j] = kind;
    this.flowsByKind[kind]++;

    // Client: a Windows pod with a free port (16384 ports each; the layout holds enough pods).
    const wp = l.windowsPods;
    let w = rng.below(wp.length);
    while (this.portUsed[wp[w]] >= 16384) w = (w + 1) % wp.length;
    const p = wp[w];
    this.pod[j] = p;
    this.cIp[j] = this.podIp[p];
    this.cPort[j] = 49152 + ((this.portStart[p] + this.portUsed[p]++) & 0x3fff);
    this.cSeq[j] = rng.u32();
    this.sSeq[j] = rng.u32();
    this.cId[j] = rng.below(65536);
    this.sId[j] = rng.below(65536);
    this.aux[j] = 0;

    switch (kind) {
      case K_SERVICE: {
        const svc = l.services[l.webServices[rng.below(l.webServices.length)]];
        this.sIp[j] = svc.ip4;
        this.sPort[j] = 80;
        this.sTtl[j] = this.podOs[svc.backends[0]] ? 128 : 64;
        break;
      }
      case K_POD:
      case K_ICMP_POD: {
        const cands = this.remotePods[this.podNode[p]];
        const sp = cands[rng.below(cands.length)];
        this.sIp[j] = this.podIp[sp];
        this.sPort[j] = kind === K_POD ? 8080 : 0;
        this.sTtl[j] = this.podOs[sp] ? 128 : 64;
        break;
      }
      case K_EXT_TCP:
      case K_EXT_UDP:
      case K_ICMP_EXT: {
        const e = l.externals[rng.below(l.externals.length)];
        this.sIp[j] = e.ip4;
        this.sPort[j] = kind === K_ICMP_EXT ? 0 : rng.below(2) ? 443 : kind === K_EXT_TCP ? 80 : 123;
        this.sTtl[j] = 44 + rng.below(16);
        break;
      }
      case K_DNS: {
        this.sIp[j] = l.services[l.dnsService].ip4;
        this.sPort[j] = 53;
        this.sTtl[j] = 64;
        this.aux[j] = rng.below(l.dnsNames.length);
        break;
      }
    }
  }

  /** An IP packet length from the size mix, capped at the MTU. */
  private drawSize(): number {
    const s = this.sizeVal[this.rng.pick(this.sizeCum)];
    return s < this.mtu ? s : this.mtu;
  }

  /**
   * Writes the next frame at `out[pos]` (at most MAX_FRAME bytes) and returns its length, or -1 when the
   * trace is complete. Sets `tsSec`/`tsUsec`, `lastKind`, `lastFlow`, `lastFromClient`.
   */
  next(out: Uint8Array, pos: number): number {
    if (this.emitted >= this.packets) return -1;
    const rng = this.rng;
    const j = this.open === 1 ? 0 : rng.below(this.open);
    const gap = this.meanGap <= 1 ? 1 : 1 + rng.below(2 * this.meanGap - 1);
    this.tsUs += gap;
    this.tsSec = Math.floor(this.tsUs / 1e6);
    this.tsUsec = this.tsUs - this.tsSec * 1e6;

    const kind = this.kind[j];
    const s = this.step[j];
    let len: number;
    let fromClient: boolean;
    if (kind === K_SERVICE || kind === K_POD || kind === K_EXT_TCP) {
      const B = this.budget[j];
      const closeAt = B >= 6 ? B - 3 : B;
      let flags: number;
      let pay = 0;
      let mss = false;
      if (s === 0) {
        fromClient = true;
        flags = TCP_SYN;
        mss = true;
      } else if (s === 1) {
        fromClient = false;
        flags = TCP_SYN | TCP_ACK;
        mss = true;
      } else if (s === 2) {
        fromClient = true;
        flags = TCP_ACK;
      } else if (s < closeAt) {
        fromClient = ((s - 3) & 1) === 0;
        flags = TCP_PSH | TCP_ACK;
        pay = this.drawSize() - 40;
        if (pay < 1) pay = 1;
      } else {
        const k = s - closeAt;
        fromClient = k !== 1;
        flags = k === 2 ? TCP_ACK : TCP_FIN | TCP_ACK;
      }
      len = this.writeTcp(out, pos, j, fromClient, flags, pay, mss);
    } else if (kind === K_EXT_UDP) {
      fromClient = (s & 1) === 0;
      let pay = this.drawSize() - 28;
      if (pay < 1) pay = 1;
      len = this.writeUdpPattern(out, pos, j, fromClient, pay);
    } else if (kind === K_DNS) {
      fromClient = (s & 1) === 0;
      len = this.writeDns(out, pos, j, fromClient, s >>> 1);
    } else {
      fromClient = (s & 1) === 0;
      len = this.writeIcmp(out, pos, j, fromClient, (s >>> 1) + 1);
    }

    this.lastKind = kind;
    this.lastFlow = this.slotFlow[j];
    this.lastFromClient = fromClient;
    this.packetsByKind[kind]++;
    this.emitted++;
    this.step[j] = s + 1;
    if (s + 1 >= this.budget[j]) {
      if (this.nextFlow < this.flows) this.startFlow(j);
      else {
        const last = --this.open;
        if (j !== last) this.moveSlot(last, j);
      }
    }
    return len;
  }

  private moveSlot(from: number, to: number): void {
    this.slotFlow[to] = this.slotFlow[from];
    this.kind[to] = this.kind[from];
    this.pod[to] = this.pod[from];
    this.cIp[to] = this.cIp[from];
    this.sIp[to] = this.sIp[from];
    this.cPort[to] = this.cPort[from];
    this.sPort[to] = this.sPort[from];
    this.budget[to] = this.budget[from];
    this.step[to] = this.step[from];
    this.cSeq[to] = this.cSeq[from];
    this.sSeq[to] = this.sSeq[from];
    this.cId[to] = this.cId[from];
    this.sId[to] = this.sId[from];
    this.sTtl[to] = this.sTtl[from];
    this.aux[to] = this.aux[from];
  }

  /**
   * Writes Ethernet and IPv4 headers (20 bytes, no options) for slot `j` in direction `fromClient`;
   * returns the partial sum of the addresses (for pseudo headers).
   */
  private writeL2L3(out: Uint8Array, p: number, j: number, fromClient: boolean, proto: number, ipLen: number): number {
    const macs = this.macs;
    const podAt = this.pod[j] * 6;
    const gwAt = (this.podIp.length + this.podNode[this.pod[j]]) * 6;
    const dAt = fromClient ? gwAt : podAt;
    const sAt = fromClient ? podAt : gwAt;
    for (let k = 0; k < 6; k++) {
      out[p + k] = macs[dAt + k];
      out[p + 6 + k] = macs[sAt + k];
    }
    out[p + 12] = 0x08;
    out[p + 13] = 0x00;
    const src = fromClient ? this.cIp[j] : this.sIp[j];
    const dst = fromClient ? this.sIp[j] : this.cIp[j];
    let id: number;
    if (fromClient) {
      id = this.cId[j];
      this.cId[j] = id + 1;
    } else {
      id = this.sId[j];
      this.sId[j] = id + 1;
    }
    const ttl = fromClient ? CLIENT_TTL : this.sTtl[j];
    const df = proto === 6 ? 0x40 : 0;
    const o = p + 14;
    out[o] = 0x45;
    out[o + 1] = 0;
    out[o + 2] = ipLen >>> 8;
    out[o + 3] = ipLen & 0xff;
    out[o + 4] = id >>> 8;
    out[o + 5] = id & 0xff;
    out[o + 6] = df;
    out[o + 7] = 0;
    out[o + 8] = ttl;
    out[o + 9] = proto;
    out[o + 12] = src >>> 24;
    out[o + 13] = (src >>> 16) & 0xff;
    out[o + 14] = (src >>> 8) & 0xff;
    out[o + 15] = src & 0xff;
    out[o + 16] = dst >>> 24;
    out[o + 17] = (dst >>> 16) & 0xff;
    out[o + 18] = (dst >>> 8) & 0xff;
    out[o + 19] = dst & 0xff;
    const addrSum = (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff);
    const c = checksumOf(0x4500 + ipLen + id + (df << 8) + ((ttl << 8) | proto) + addrSum);
    out[o + 10] = c >>> 8;
    out[o + 11] = c & 0xff;
    return addrSum;
  }

  /** Copies `n` pattern bytes to `out[at]` from a random even offset; returns their partial sum. */
  private writePattern(out: Uint8Array, at: number, n: number): number {
    const po = this.rng.u32() & 0x3ffe;
    this.pattern.copy(out, at, po, po + n);
    const w0 = po >>> 1;
    const half = n >>> 1;
    let s = this.patternSum[w0 + half] - this.patternSum[w0];
    if (n & 1) s += this.pattern[po + n - 1] << 8;
    return s;
  }

  private writeTcp(out: Uint8Array, p: number, j: number, fromClient: boolean, flags: number, pay: number, mss: boolean): number {
    const hl = mss ? 24 : 20;
    const tcpLen = hl + pay;
    const addrSum = this.writeL2L3(out, p, j, fromClient, 6, 20 + tcpLen);
    const o = p + 34;
    const sport = fromClient ? this.cPort[j] : this.sPort[j];
    const dport = fromClient ? this.sPort[j] : this.cPort[j];
    let seq: number;
    let ack: number;
    if (fromClient) {
      seq = this.cSeq[j];
      ack = flags & TCP_ACK ? this.sSeq[j] : 0;
    } else {
      seq = this.sSeq[j];
      ack = this.cSeq[j];
    }
    const consumed = pay + (flags & (TCP_SYN | TCP_FIN) ? 1 : 0);
    if (fromClient) this.cSeq[j] = (seq + consumed) >>> 0;
    else this.sSeq[j] = (seq + consumed) >>> 0;
    const win = fromClient ? CLIENT_WINDOW : SERVER_WINDOW;
    out[o] = sport >>> 8;
    out[o + 1] = sport & 0xff;
    out[o + 2] = dport >>> 8;
    out[o + 3] = dport & 0xff;
    out[o + 4] = seq >>> 24;
    out[o + 5] = (seq >>> 16) & 0xff;
    out[o + 6] = (seq >>> 8) & 0xff;
    out[o + 7] = seq & 0xff;
    out[o + 8] = ack >>> 24;
    out[o + 9] = (ack >>> 16) & 0xff;
    out[o + 10] = (ack >>> 8) & 0xff;
    out[o + 11] = ack & 0xff;
    out[o + 12] = (hl >>> 2) << 4;
    out[o + 13] = flags;
    out[o + 14] = win >>> 8;
    out[o + 15] = win & 0xff;
    out[o + 18] = 0;
    out[o + 19] = 0;
    let s =
      addrSum + 6 + tcpLen + sport + dport + (seq >>> 16) + (seq & 0xffff) + (ack >>> 16) + (ack & 0xffff) + (((hl >>> 2) << 12) | flags) + win;
    if (mss) {
      // MSS option (kind 2, length 4): the MTU less 40.
      const m = this.mtu - 40;
      out[o + 20] = 2;
      out[o + 21] = 4;
      out[o + 22] = m >>> 8;
      out[o + 23] = m & 0xff;
      s += 0x0204 + m;
    }
    if (pay > 0) s += this.writePattern(out, o + hl, pay);
    const c = checksumOf(s);
    out[o + 16] = c >>> 8;
    out[o + 17] = c & 0xff;
    return 34 + tcpLen;
  }

  /** UDP header for slot `j`; returns the partial sum of pseudo header and UDP header (checksum excluded). */
  private writeUdpHeader(out: Uint8Array, o: number, j: number, fromClient: boolean, udpLen: number, addrSum: number): number {
    const sport = fromClient ? this.cPort[j] : this.sPort[j];
    const dport = fromClient ? this.sPort[j] : this.cPort[j];
    out[o] = sport >>> 8;
    out[o + 1] = sport & 0xff;
    out[o + 2] = dport >>> 8;
    out[o + 3] = dport & 0xff;
    out[o + 4] = udpLen >>> 8;
    out[o + 5] = udpLen & 0xff;
    return addrSum + 17 + udpLen + sport + dport + udpLen;
  }

  private finishUdp(out: Uint8Array, o: number, s: number): void {
    let c = checksumOf(s);
    if (c === 0) c = 0xffff;
    out[o + 6] = c >>> 8;
    out[o + 7] = c & 0xff;
  }

  private writeUdpPattern(out: Uint8Array, p: number, j: number, fromClient: boolean, pay: number): number {
    const udpLen = 8 + pay;
    const addrSum = this.writeL2L3(out, p, j, fromClient, 17, 20 + udpLen);
    const o = p + 34;
    let s = this.writeUdpHeader(out, o, j, fromClient, udpLen, addrSum);
    s += this.writePattern(out, o + 8, pay);
    this.finishUdp(out, o, s);
    return 34 + udpLen;
  }

  private writeDns(out: Uint8Array, p: number, j: number, fromClient: boolean, query: number): number {
    const names = this.dnsQ.length;
    const n = (this.aux[j] + query) % names;
    const msg = fromClient ? this.dnsQ[n] : this.dnsR[n];
    const udpLen = 8 + msg.length;
    const addrSum = this.writeL2L3(out, p, j, fromClient, 17, 20 + udpLen);
    const o = p + 34;
    let s = this.writeUdpHeader(out, o, j, fromClient, udpLen, addrSum);
    msg.copy(out, o + 8);
    // The DNS id: one per query, from the flow's random base (kept in cSeq; UDP has no sequence numbers).
    const id = (this.cSeq[j] + query) & 0xffff;
    out[o + 8] = id >>> 8;
    out[o + 9] = id & 0xff;
    s += (fromClient ? this.dnsQSum[n] : this.dnsRSum[n]) + id;
    this.finishUdp(out, o, s);
    return 34 + udpLen;
  }

  private writeIcmp(out: Uint8Array, p: number, j: number, fromClient: boolean, seq: number): number {
    const icmpLen = 8 + this.ping.length;
    this.writeL2L3(out, p, j, fromClient, 1, 20 + icmpLen);
    const o = p + 34;
    const type = fromClient ? 8 : 0;
    const id = this.cPort[j];
    seq &= 0xffff;
    out[o] = type;
    out[o + 1] = 0;
    out[o + 4] = id >>> 8;
    out[o + 5] = id & 0xff;
    out[o + 6] = seq >>> 8;
    out[o + 7] = seq & 0xff;
    this.ping.copy(out, o + 8);
    const c = checksumOf((type << 8) + id + seq + this.pingSum);
    out[o + 2] = c >>> 8;
    out[o + 3] = c & 0xff;
    return 34 + icmpLen;
  }

  /**
   * Resets `b` and fills it with the next frames as a pcap reader would (off, caplen, wirelen, tsHi =
   * seconds, tsLo = microseconds, ts, iface 0, linktype 1). Returns the number of frames (0 when done).
   */
  fillBatch(b: Batch): number {
    b.reset(this.emitted + 1);
    while (this.emitted < this.packets && b.fits(MAX_FRAME)) {
      const at = b.used + HEADROOM;
      const len = this.next(b.arena, at);
      const i = b.alloc(len);
      b.wirelen[i] = len;
      b.tsHi[i] = this.tsSec;
      b.tsLo[i] = this.tsUsec;
      b.ts[i] = this.tsSec + this.tsUsec / 1e6;
      b.iface[i] = 0;
      b.linktype[i] = 1;
    }
    return b.count;
  }

  /** Counts so far, by traffic kind name. */
  summary(): TraceSummary {
    const flowsByKind = {} as Record<TrafficKind, number>;
    const packetsByKind = {} as Record<TrafficKind, number>;
    TRAFFIC_KINDS.forEach((k, n) => {
      flowsByKind[k] = this.flowsByKind[n];
      packetsByKind[k] = this.packetsByKind[n];
    });
    return { packets: this.emitted, flows: this.nextFlow, flowsByKind, packetsByKind };
  }
}

interface TraceSummary {
  packets: number;
  flows: number;
  flowsByKind: Record<TrafficKind, number>;
  packetsByKind: Record<TrafficKind, number>;
}

/** One generated frame with what the generator knows about it (for tests and small tools; allocates). */
interface GeneratedFrame {
  /** 1-based packet number. */
  n: number;
  tsSec: number;
  tsUsec: number;
  data: Uint8Array;
  kind: TrafficKind;
  /** 0-based flow number. */
  flow: number;
  fromClient: boolean;
}

/** The trace as an iterator of frames (each a fresh copy). */
export function* generateTrace(opts: TraceOptions): Generator<GeneratedFrame, TraceSummary> {
  const g = new TraceGenerator(opts);
  const buf = new Uint8Array(MAX_FRAME);
  for (;;) {
    const len = g.next(buf, 0);
    if (len < 0) break;
    yield { n: g.emitted, tsSec: g.tsSec, tsUsec: g.tsUsec, data: buf.slice(0, len), kind: TRAFFIC_KINDS[g.lastKind], flow: g.lastFlow, fromClient: g.lastFromClient };
  }
  return g.summary();
}

export type TraceFormat = 'pcap' | 'pcapng';

interface WriteTraceResult extends TraceSummary {
  /** File size (0 for stdout). */
  bytes: number;
  elapsedMs: number;
  layout: ClusterLayout;
}

/**
 * Generates the trace into `path` ('-' for stdout) as classic pcap (microsecond, LINKTYPE_ETHERNET,
 * snaplen 262144) or pcapng (one Ethernet interface, microsecond resolution, one Enhanced Packet Block per
 * frame), through the project's capture writer (src/io/writer.ts), one Batch at a time.
 */
export function writeTraceFile(path: string, format: TraceFormat, opts: TraceOptions): WriteTraceResult {
  if (format !== 'pcap' && format !== 'pcapng') throw new RangeError(`format must be pcap or pcapng, got ${String(format)}`);
  const t0 = process.hrtime.bigint();
  const g = new TraceGenerator(opts);
  const w = createWriter(path === '-' ? 1 : path, format, { linkType: 1, snapLen: DEFAULT_SNAPLEN, nanosecond: false, userAppl: 'vfp-emu trace generator' });
  const ifs = [pcapInterface(1, false, DEFAULT_SNAPLEN)];
  const b = new Batch({ capacity: 8192, arenaBytes: 8 << 20 });
  try {
    while (g.fillBatch(b) > 0) w.writeBatch(b, ifs);
  } finally {
    w.close();
  }
  const bytes = path === '-' ? 0 : fs.statSync(path).size;
  const elapsedMs = Number(process.hrtime.bigint() - t0) / 1e6;
  return { ...g.summary(), bytes, elapsedMs, layout: g.layout };
}

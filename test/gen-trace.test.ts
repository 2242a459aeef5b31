import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Batch } from '../src/core/batch';
import { verifyIpv4HeaderChecksum, verifyL4Checksum } from '../src/packet/checksum';
import { formatMac, u32ToIpv4 } from '../src/packet/addr';
import { clusterList } from '../src/gen/layout';
import { DEFAULT_MIX, generateTrace, TRAFFIC_KINDS, TraceGenerator, TraceOptions, TrafficKind, writeTraceFile } from '../src/gen/trace';
import { main as genMain } from '../src/gen/cli';
import { loadCluster } from '../src/cluster/load';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const pcapParser = require('pcap-parser') as { parse(file: string): NodeJS.EventEmitter };

const g16 = (a: Uint8Array, o: number) => (a[o] << 8) | a[o + 1];
const g32 = (a: Uint8Array, o: number) => ((a[o] << 24) | (a[o + 1] << 16) | (a[o + 2] << 8) | a[o + 3]) >>> 0;

let tmp: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-gen-'));
});
after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Reads a classic pcap with pcap-parser (an independent reader): header fields and every record. */
function readWithPcapParser(file: string): Promise<{ header: { linkLayerType: number; snapLength: number }; packets: { sec: number; usec: number; data: Buffer; orig: number }[] }> {
  return new Promise((resolve, reject) => {
    const packets: { sec: number; usec: number; data: Buffer; orig: number }[] = [];
    let header: { linkLayerType: number; snapLength: number } = { linkLayerType: -1, snapLength: -1 };
    const p = pcapParser.parse(file);
    p.on('globalHeader', (h: { linkLayerType: number; snapLength: number }) => (header = h));
    p.on('packet', (pk: { header: { timestampSeconds: number; timestampMicroseconds: number; originalLength: number }; data: Buffer }) =>
      packets.push({ sec: pk.header.timestampSeconds, usec: pk.header.timestampMicroseconds, data: Buffer.from(pk.data), orig: pk.header.originalLength }),
    );
    p.on('end', () => resolve({ header, packets }));
    p.on('error', reject);
  });
}

/** Walks a little-endian pcapng file: block types in order and the EPB payloads. */
function readPcapng(file: string): { blocks: number[]; frames: { ts: bigint; data: Buffer }[]; linktype: number } {
  const b = fs.readFileSync(file);
  const blocks: number[] = [];
  const frames: { ts: bigint; data: Buffer }[] = [];
  let linktype = -1;
  let o = 0;
  while (o < b.length) {
    const type = b.readUInt32LE(o);
    const len = b.readUInt32LE(o + 4);
    assert.equal(len % 4, 0, `block at ${o} has length ${len}`);
    assert.equal(b.readUInt32LE(o + len - 4), len, `trailing length of block at ${o}`);
    blocks.push(type);
    if (type === 0x0a0d0d0a) assert.equal(b.readUInt32LE(o + 8), 0x1a2b3c4d);
    if (type === 1) linktype = b.readUInt16LE(o + 8);
    if (type === 6) {
      const cap = b.readUInt32LE(o + 20);
      assert.equal(b.readUInt32LE(o + 24), cap);
      const ts = (BigInt(b.readUInt32LE(o + 12)) << 32n) | BigInt(b.readUInt32LE(o + 16));
      frames.push({ ts, data: b.subarray(o + 28, o + 28 + cap) });
    }
    o += len;
  }
  return { blocks, frames, linktype };
}

/** What a user sees in a frame: addresses, protocol, ports or ICMP id/type. */
function look(f: Uint8Array) {
  const l3 = 14;
  const proto = f[l3 + 9];
  const l4 = l3 + (f[l3] & 15) * 4;
  return {
    src: g32(f, l3 + 12),
    dst: g32(f, l3 + 16),
    proto,
    ipLen: g16(f, l3 + 2),
    l4,
    sport: proto === 1 ? 0 : g16(f, l4),
    dport: proto === 1 ? 0 : g16(f, l4 + 2),
    icmpType: proto === 1 ? f[l4] : -1,
    icmpId: proto === 1 ? g16(f, l4 + 4) : 0,
  };
}

/** The traffic kind a frame's client-side addresses imply (the layout's fixed addressing). */
function kindOf(client: number, server: number, proto: number): TrafficKind {
  const s = u32ToIpv4(server);
  if (s === '10.96.0.10') return 'dns';
  if (s.startsWith('10.96.')) return 'pod-service';
  if (s.startsWith('203.0.113.')) return proto === 6 ? 'external-tcp' : proto === 17 ? 'external-udp' : 'icmp-external';
  if (s.startsWith('10.244.')) return proto === 1 ? 'icmp-pod' : 'pod-pod';
  throw new Error(`unexpected server ${s} of client ${u32ToIpv4(client)}`);
}

describe('gen/trace', () => {
  it('same seed -> byte-identical pcap and pcapng files; another seed -> different bytes', () => {
    const opts: TraceOptions = { packets: 5000, flows: 200, seed: 42 };
    const a = path.join(tmp, 'a.pcap');
    const b = path.join(tmp, 'b.pcap');
    const c = path.join(tmp, 'c.pcap');
    writeTraceFile(a, 'pcap', opts);
    writeTraceFile(b, 'pcap', opts);
    writeTraceFile(c, 'pcap', { ...opts, seed: 43 });
    assert.ok(fs.readFileSync(a).equals(fs.readFileSync(b)));
    assert.ok(!fs.readFileSync(a).equals(fs.readFileSync(c)));
    const an = path.join(tmp, 'a.pcapng');
    const bn = path.join(tmp, 'b.pcapng');
    writeTraceFile(an, 'pcapng', opts);
    writeTraceFile(bn, 'pcapng', opts);
    assert.ok(fs.readFileSync(an).equals(fs.readFileSync(bn)));
    // The two formats carry the same frames and timestamps.
    const ng = readPcapng(an);
    const frames = [...generateTrace(opts)];
    assert.equal(ng.frames.length, frames.length);
    ng.frames.forEach((f, k) => {
      assert.ok(f.data.equals(frames[k].data), `frame ${k + 1}`);
      assert.equal(f.ts, BigInt(frames[k].tsSec) * 1000000n + BigInt(frames[k].tsUsec));
    });
    assert.deepEqual(ng.blocks.slice(0, 2), [0x0a0d0d0a, 1]);
    assert.equal(ng.linktype, 1);
  });

  it('writes a classic pcap that pcap-parser reads: the requested packet count, Ethernet, increasing timestamps', async () => {
    const file = path.join(tmp, 'count.pcap');
    const r = writeTraceFile(file, 'pcap', { packets: 12345, flows: 777, seed: 3 });
    assert.equal(r.packets, 12345);
    assert.equal(r.flows, 777);
    const { header, packets } = await readWithPcapParser(file);
    assert.equal(header.linkLayerType, 1);
    assert.equal(packets.length, 12345);
    let prev = -1;
    for (const p of packets) {
      const t = p.sec * 1e6 + p.usec;
      assert.ok(t > prev, 'timestamps increase');
      prev = t;
      assert.equal(p.orig, p.data.length);
    }
    assert.equal(Math.floor(packets[0].sec / 1e6), 1700); // default start 1700000000 s
  });

  it('holds exactly the requested number of distinct flows, every one two-way', () => {
    const opts: TraceOptions = { packets: 20000, flows: 1500, seed: 9 };
    const flows = new Map<string, { c2s: number; s2c: number }>();
    for (const fr of generateTrace(opts)) {
      const x = look(fr.data);
      const client = fr.fromClient ? x.src : x.dst;
      const server = fr.fromClient ? x.dst : x.src;
      const cport = x.proto === 1 ? x.icmpId : fr.fromClient ? x.sport : x.dport;
      const sport = x.proto === 1 ? 0 : fr.fromClient ? x.dport : x.sport;
      // The direction the generator reports is the one the bytes show: requests come from the client pod.
      assert.ok(u32ToIpv4(client).startsWith('10.244.'), `client ${u32ToIpv4(client)}`);
      if (x.proto === 1) assert.equal(x.icmpType, fr.fromClient ? 8 : 0);
      const key = `${x.proto} ${client}:${cport} ${server}:${sport}`;
      const e = flows.get(key) ?? { c2s: 0, s2c: 0 };
      if (fr.fromClient) e.c2s++;
      else e.s2c++;
      flows.set(key, e);
    }
    assert.equal(flows.size, 1500);
    let total = 0;
    for (const [key, e] of flows) {
      total += e.c2s + e.s2c;
      assert.ok(e.c2s > 0 && e.s2c > 0, `flow ${key} is two-way`);
      assert.ok(e.c2s + e.s2c === 13 || e.c2s + e.s2c === 14, `flow ${key} has ${e.c2s + e.s2c} packets`);
    }
    assert.equal(total, 20000);
  });

  it('follows the traffic mix within tolerance, as the addresses in the frames show', () => {
    const opts: TraceOptions = { packets: 40000, flows: 20000, seed: 5 };
    const firstKind = new Map<number, TrafficKind>();
    for (const fr of generateTrace(opts)) {
      if (firstKind.has(fr.flow)) continue;
      const x = look(fr.data);
      const k = kindOf(fr.fromClient ? x.src : x.dst, fr.fromClient ? x.dst : x.src, x.proto);
      assert.equal(k, fr.kind, `flow ${fr.flow}`);
      firstKind.set(fr.flow, k);
    }
    const total = Object.values(DEFAULT_MIX).reduce((a, b) => a + b, 0);
    for (const k of TRAFFIC_KINDS) {
      const share = [...firstKind.values()].filter((v) => v === k).length / firstKind.size;
      assert.ok(Math.abs(share - DEFAULT_MIX[k] / total) < 0.015, `${k}: ${share.toFixed(3)} vs ${(DEFAULT_MIX[k] / total).toFixed(3)}`);
    }
    // A mix weight of 0 turns a kind off; a custom mix is followed.
    const g = new TraceGenerator({ packets: 4000, flows: 2000, seed: 1, mix: { 'icmp-external': 0, dns: 0, 'pod-service': 100 } });
    const buf = new Uint8Array(2000);
    while (g.next(buf, 0) > 0);
    const s = g.summary();
    assert.equal(s.flowsByKind['icmp-external'], 0);
    assert.equal(s.flowsByKind.dns, 0);
    assert.ok(s.flowsByKind['pod-service'] > 2000 * 0.5);
    assert.throws(() => new TraceGenerator({ packets: 1, mix: { bogus: 1 } as never }), /unknown traffic kind 'bogus'/);
  });

  it('every frame is valid: IPv4 and TCP/UDP/ICMP checksums verify, lengths agree, TCP sequence numbers continue', () => {
    const opts: TraceOptions = { packets: 30000, flows: 600, seed: 11, network: 'l2bridge' };
    const nextSeq = new Map<string, number>();
    const sizes = new Map<number, number>();
    let tcpData = 0;
    for (const fr of generateTrace(opts)) {
      const f = fr.data;
      const x = look(f);
      assert.equal(g16(f, 12), 0x0800);
      assert.equal(x.ipLen, f.length - 14);
      assert.ok(verifyIpv4HeaderChecksum(f, 14), `IP checksum, packet ${fr.n}`);
      assert.ok(verifyL4Checksum(f, 4, 14, x.l4, f.length, x.proto), `L4 checksum, packet ${fr.n}`);
      if (x.proto === 17) {
        assert.equal(g16(f, x.l4 + 4), f.length - x.l4);
        assert.notEqual(g16(f, x.l4 + 6), 0);
      }
      if (x.proto === 6) {
        const flags = f[x.l4 + 13];
        const hl = (f[x.l4 + 12] >> 4) * 4;
        const pay = f.length - x.l4 - hl;
        const seq = g32(f, x.l4 + 4);
        const key = `${x.src}:${x.sport}>${x.dst}:${x.dport}`;
        const rev = `${x.dst}:${x.dport}>${x.src}:${x.sport}`;
        if (flags & 0x02) assert.equal(hl, 24, 'SYN carries the MSS option');
        else {
          assert.equal(seq, nextSeq.get(key), `sequence continues, packet ${fr.n}`);
          if (flags & 0x10) assert.equal(g32(f, x.l4 + 8), nextSeq.get(rev), `ack = peer's next sequence, packet ${fr.n}`);
        }
        nextSeq.set(key, (seq + pay + (flags & 0x03 ? 1 : 0)) >>> 0);
        if (pay > 0) {
          tcpData++;
          sizes.set(x.ipLen, (sizes.get(x.ipLen) ?? 0) + 1);
        }
      }
    }
    // l2bridge: MTU 1500, so the size mix is 64/576/1500 by 7:4:1.
    assert.deepEqual([...sizes.keys()].sort((a, b) => a - b), [64, 576, 1500]);
    assert.ok(Math.abs(sizes.get(64)! / tcpData - 7 / 12) < 0.03);
    assert.ok(Math.abs(sizes.get(1500)! / tcpData - 1 / 12) < 0.03);
  });

  it('caps data packets at the overlay pod MTU (1450) and lets sizes and mtu be set', () => {
    const lens = new Set<number>();
    for (const fr of generateTrace({ packets: 3000, flows: 100, seed: 2, mix: { 'external-udp': 1, 'pod-service': 0, 'pod-pod': 0, 'external-tcp': 0, 'icmp-external': 0, 'icmp-pod': 0, dns: 0 } })) lens.add(fr.data.length - 14);
    assert.deepEqual([...lens].sort((a, b) => a - b), [64, 576, 1450]);
    const custom = new Set<number>();
    for (const fr of generateTrace({ packets: 500, flows: 10, seed: 2, sizes: [{ size: 100, weight: 1 }], mix: { 'external-udp': 1, 'pod-service': 0, 'pod-pod': 0, 'external-tcp': 0, 'icmp-external': 0, 'icmp-pod': 0, dns: 0 } })) custom.add(fr.data.length - 14);
    assert.deepEqual([...custom], [100]);
  });

  it('fills a Batch with the same frames, in order, as the file holds', () => {
    const opts: TraceOptions = { packets: 3000, flows: 50, seed: 8 };
    const frames = [...generateTrace(opts)];
    const g = new TraceGenerator(opts);
    const b = new Batch({ capacity: 1000 });
    let n = 0;
    while (g.fillBatch(b) > 0) {
      assert.equal(b.firstNumber, n + 1);
      for (let i = 0; i < b.count; i++, n++) {
        assert.ok(Buffer.from(b.packet(i)).equals(frames[n].data), `frame ${n + 1}`);
        assert.equal(b.wirelen[i], frames[n].data.length);
        assert.equal(b.tsHi[i], frames[n].tsSec);
        assert.equal(b.tsLo[i], frames[n].tsUsec);
        assert.equal(b.linktype[i], 1);
      }
    }
    assert.equal(n, 3000);
  });

  it('emits a cluster that names every address and MAC the trace uses', () => {
    const opts: TraceOptions = { packets: 5000, flows: 500, seed: 4 };
    const g = new TraceGenerator(opts);
    const list = clusterList(g.layout) as { kind: string; items: { kind: string; metadata: { name: string; annotations?: Record<string, string> }; status?: { podIP?: string }; spec?: { clusterIP?: string; nodeName?: string } }[] };
    assert.equal(list.kind, 'List');
    const podIps = new Map(list.items.filter((i) => i.kind === 'Pod').map((i) => [i.status!.podIP!, i]));
    const svcIps = new Set(list.items.filter((i) => i.kind === 'Service').map((i) => i.spec!.clusterIP!));
    const winNodes = new Set(list.items.filter((i) => i.kind === 'Node' && i.metadata.name.startsWith('win-')).map((i) => i.metadata.name));
    const macOfPod = new Map(g.layout.pods.map((p) => [p.ip, p.mac]));
    assert.ok(list.items.some((i) => i.kind === 'ConfigMap' && i.metadata.name === 'kube-flannel-cfg'));
    for (const fr of generateTrace(opts)) {
      const x = look(fr.data);
      const client = u32ToIpv4(fr.fromClient ? x.src : x.dst);
      const server = u32ToIpv4(fr.fromClient ? x.dst : x.src);
      const pod = podIps.get(client);
      assert.ok(pod, `client ${client} is a pod`);
      assert.ok(winNodes.has(pod.spec!.nodeName!), `client ${client} runs on a Windows node`);
      assert.ok(svcIps.has(server) || podIps.has(server) || server.startsWith('203.0.113.'), `server ${server} is known`);
      assert.equal(formatMac(fr.data, fr.fromClient ? 6 : 0), macOfPod.get(client), 'the pod side of the frame carries the pod MAC');
      // Overlay pods on Windows: MAC 0e:2a:<IPv4 octets> (win-overlay endpointMacPrefix).
      assert.equal(macOfPod.get(client), '0e:2a:' + client.split('.').map((o) => Number(o).toString(16).padStart(2, '0')).join(':'));
    }
  });

  for (const network of ['overlay', 'l2bridge'] as const) {
    it(`its ${network} cluster loads through --cluster with no diagnostics, and the importer derives the same MACs`, () => {
      const g = new TraceGenerator({ packets: 10, network, windowsNodes: 3 });
      const file = path.join(tmp, `cluster-${network}.json`);
      fs.writeFileSync(file, JSON.stringify(clusterList(g.layout)));
      const c = loadCluster([file]);
      assert.equal(c.network.mode, network);
      assert.equal(c.network.vni, 4096);
      assert.deepEqual(c.network.outboundNatExceptions, ['10.244.0.0/16', '10.96.0.0/12', '10.127.130.0/24']);
      // Nothing but the facts no input states (MACs, defaults: config-assumed, listed so a user sees them).
      assert.deepEqual(c.diagnostics.filter((d) => d.code !== 'config-assumed'), []);
      assert.equal(c.nodes.filter((n) => n.windows).length, 3);
      for (const n of g.layout.nodes) {
        const m = c.nodes.find((x) => x.name === n.name)!;
        assert.deepEqual([m.internalIP, m.podCIDR, m.mac, m.windows], [n.ip, n.podCIDR, n.mac, n.windows], n.name);
        if (network === 'overlay' && n.windows) assert.deepEqual([m.drMac, m.sourceVip], [n.drMac, n.sourceVip], n.name);
      }
      assert.equal(c.pods.length, g.layout.pods.length);
      for (const p of g.layout.pods) assert.equal(c.pods.find((x) => x.ip === p.ip)?.mac, p.mac, p.name);
      for (const s of g.layout.services) {
        const m = c.services.find((x) => x.name === s.name && x.namespace === s.namespace)!;
        assert.equal(m.clusterIP, s.clusterIP);
        assert.equal(m.endpoints.length, Math.max(1, s.backends.length));
      }
    });
  }

  it('the CLI writes the trace and the cluster, and rejects bad usage with exit status 2', () => {
    const out = path.join(tmp, 'cli.pcapng');
    const cl = path.join(tmp, 'cluster.json');
    const err = process.stderr.write;
    const lines: string[] = [];
    process.stderr.write = ((s: string) => (lines.push(String(s)), true)) as typeof process.stderr.write;
    try {
      assert.equal(genMain(['--out', out, '--packets', '1000', '--flows', '10', '--seed', '7', '--cluster-out', cl, '--mix', 'dns=1,pod-service=1']), 0);
      assert.equal(genMain(['--out', out, '--packets', 'many']), 2);
      assert.equal(genMain(['--packets', '5']), 2);
      assert.equal(genMain(['--out', out, '--packets', '5', '--format', 'erf']), 2);
      assert.equal(genMain(['--out', out, '--packets', '5', '--bogus', '1']), 2);
      assert.equal(genMain(['--out', out, '--packets', '5', '--windows-nodes', '0']), 2);
    } finally {
      process.stderr.write = err;
    }
    const summary = JSON.parse(lines[0]);
    assert.equal(summary.packets, 1000);
    assert.equal(summary.format, 'pcapng');
    assert.equal(readPcapng(out).frames.length, 1000);
    assert.equal(JSON.parse(fs.readFileSync(cl, 'utf8')).kind, 'List');
    assert.match(lines[1], /--packets: 'many' is not a non-negative integer/);
    assert.match(lines.join(''), /windowsNodes must be an integer in 1\.\.200, got 0/);
  });
});

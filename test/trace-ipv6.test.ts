/**
 * `vfp-emu trace` on IPv6 flows (issue 13, "Ask about a flow, no capture needed"; dual-stack l2bridge,
 * traces/20-dualstack): the reply is built (TCP, UDP, ICMPv6 echo) and walked, and the conversation judged
 * as for IPv4, on the engine's stateless IPv6 model, which the trace names among what it assumed. The CLI
 * is spawned as a person runs it; the reply's comparison with the request (vfp/trace-reply.ts
 * replyMismatch) is also checked on IPv6 frames directly, since no dual-stack flow of the scenarios makes
 * a reply come back from another address.
 */

import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { Batch } from '../src/core/batch';
import { buildPacketLine } from '../src/scenario/packet-line';
import { decodeFrame } from './io-helpers';
import { loadScenario } from '../src/scenario/scenario';
import { replyMismatch } from '../src/vfp/trace-reply';
import { describeInput } from '../src/vfp/trace-text';

const repo = path.resolve(__dirname, '../..');
const cli = path.join(repo, 'dist', 'src', 'cli.js');
const DUAL = loadScenario(path.join(repo, 'traces', '20-dualstack'));
const CLUSTER = DUAL.clusterFiles.flatMap((f) => ['--cluster', f]);

type Json = Record<string, unknown>;

function ok(args: string[]): string {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: repo, encoding: 'utf8' });
  assert.equal(r.status, 0, `vfp-emu ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const trace = (flow: string, extra: string[] = []): Json => JSON.parse(ok(['trace', flow, ...CLUSTER, '--format', 'json', ...extra])) as Json;
const final = (w: unknown): Json => (w as Json).final as Json;

type Shape = '*' | { [k: string]: Shape };

/** Two shapes as one: objects by the union of their keys; an object and a leaf (null) give the object. */
function merge(a: Shape, b: Shape): Shape {
  if (a === '*') return b;
  if (b === '*') return a;
  const out: Record<string, Shape> = {};
  for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) out[k] = merge(a[k] ?? '*', b[k] ?? '*');
  return out;
}

/** The keys of a JSON value, nested: an array is the merge of its items, null and scalars are leaves. */
function shape(v: unknown): Shape {
  if (Array.isArray(v)) return v.map(shape).reduce<Shape>(merge, '*');
  if (v === null || typeof v !== 'object') return '*';
  return Object.fromEntries(Object.keys(v).sort().map((k) => [k, shape((v as Json)[k])]));
}

/** `a` and `b` have the same keys wherever both are objects (a leaf, i.e. null, matches anything). */
function assertSameShape(a: Shape, b: Shape, at: string): void {
  if (a === '*' || b === '*') return;
  assert.deepEqual(Object.keys(a), Object.keys(b), at);
  for (const k of Object.keys(a)) assertSameShape(a[k], b[k], `${at}.${k}`);
}

/** One frame as row 0 of a decoded batch. */
function frame(line: string): Batch {
  return decodeFrame(buildPacketLine(line));
}

describe('vfp-emu trace on IPv6 flows (dual-stack l2bridge, traces/20-dualstack)', function () {
  this.timeout(300000);

  it("TCP to the IPv6 ClusterIP: the backend's SYN-ACK is walked and un-DNATed to the VIP, as the scenario's packet 2 expects", () => {
    const t = trace(DUAL.packets[0].send);
    const v = t.verdict as Json;
    assert.deepEqual([v.code, v.works, v.broken_by], ['works', true, null]);
    assert.equal((t.reply_plan as Json).line, 'tcp [fd00:10:244:2::17]:8080 > [fd00:10:244:1::15]:43000 SA seq=5000 ack=1001 smac=00:15:5d:0b:52:11 dmac=00:15:5d:82:0b:01');
    assert.equal((t.reply_plan as Json).from, 'pod/default/api-0 (on win-2)');
    const rep = final(t.reply);
    // the scenario's packet 2 (the same SYN-ACK): delivered at win-1 to client6-0, from the ClusterIP and port 80
    const p2 = DUAL.packets[1];
    assert.equal(rep.verdict, p2.expectVerdict);
    assert.deepEqual([rep.node, rep.egress, rep.service], [p2.check.node, p2.check.egress, p2.check.service]);
    assert.match(rep.packet as string, /, tcp \[fd00:10:96::60\]:80 > \[fd00:10:244:1::15\]:43000$/);
    // the reply is decided by the load-balancer rule the request matched (as an IPv4 reply's final.rule)
    assert.equal((final(t.request).rule as Json).name, 'LB_HOST_96e2179a_fd00:10:96::60_80_8080_6');
    assert.deepEqual(rep.rule, final(t.request).rule);
    assert.ok((t.assumed as string[]).some((a) => /^IPv6: the engine models it statelessly \(src\/vfp\/step-ipv6\.ts\).*the verdict rests on that model$/.test(a)), 'the model the verdict rests on is named');
    const text = ok(['trace', DUAL.packets[0].send, ...CLUSTER]);
    assert.match(text, /^Reply: tcp \[fd00:10:244:2::17\]:8080 > \[fd00:10:244:1::15\]:43000 SA /m);
    assert.match(text, /^Conversation: works end to end: the request is delivered \(pod\/default\/api-0 at win-2\) and the reply is delivered \(pod\/default\/client6-0 at win-1\)$/m);
    assert.match(text, /^ {2}- IPv6: the engine models it statelessly/m);
  });

  it("the walk's packet lines name IPv6 addresses and ports in the packet-line notation (input, each step's packet)", () => {
    const t = trace(DUAL.packets[0].send, ['--detail', 'summary']);
    const req = t.request as Json;
    const rep = t.reply as Json;
    assert.equal(req.input, 'tcp [fd00:10:244:1::15]:43000 > [fd00:10:96::60]:80');
    assert.equal(((req.steps as Json[])[0]).packet, 'tcp [fd00:10:244:1::15]:43000 > [fd00:10:244:2::17]:8080 S', 'after the DNAT');
    assert.equal(rep.input, 'tcp [fd00:10:244:2::17]:8080 > [fd00:10:244:1::15]:43000');
    assert.equal(((rep.steps as Json[])[0]).packet, 'tcp [fd00:10:96::60]:80 > [fd00:10:244:1::15]:43000 SA', 'after the un-DNAT');
    const text = ok(['trace', 'icmp fd00:10:244:1::15 > fd00:10:244:2::17 type=echo id=9 seq=4', ...CLUSTER]);
    assert.match(text, /^Packet 1: icmp fd00:10:244:1::15 > fd00:10:244:2::17 echo id 9$/m);
    assert.match(text, /^Packet 2: icmp fd00:10:244:2::17 > fd00:10:244:1::15 echo-reply id 9$/m);
  });

  it("explain's `Final packet:` line of an IPv6 packet is in the packet-line notation, as the IPv4 line and the `Packet N:` line", () => {
    const trace0 = path.join(repo, 'traces', '20-dualstack', 'trace.pcapng');
    const p2 = ok(['explain', trace0, ...CLUSTER, '--packet', '2']);
    assert.match(p2, /^Packet 2: tcp \[fd00:10:244:2::17\]:8080 > \[fd00:10:244:1::15\]:43000$/m);
    assert.match(p2, /^Final packet: eth 00:15:5d:82:0c:01 > 00:15:5d:06:91:0f, tcp \[fd00:10:96::60\]:80 > \[fd00:10:244:1::15\]:43000$/m);
    const p6 = ok(['explain', trace0, ...CLUSTER, '--packet', '6']);
    assert.match(p6, /^Final packet: eth 00:15:5d:82:0b:01 > 00:15:5d:0b:52:11, udp \[fd00:10:244:1::15\]:53001 > \[fd00:10:244:2::17\]:5353$/m);
    assert.doesNotMatch(p2 + p6, /IPv6 (tcp|udp)/);
  });

  it('UDP to the IPv6 ClusterIP: the datagram back comes from the VIP and port 53', () => {
    const t = trace('udp [fd00:10:244:1::15]:53001 > [fd00:10:96::60]:53');
    assert.equal((t.verdict as Json).code, 'works');
    assert.equal((t.reply_plan as Json).line, 'udp [fd00:10:244:2::17]:5353 > [fd00:10:244:1::15]:53001 smac=00:15:5d:0b:52:11 dmac=00:15:5d:82:0b:01');
    assert.match(final(t.reply).packet as string, /, udp \[fd00:10:96::60\]:53 > \[fd00:10:244:1::15\]:53001$/);
  });

  it('ICMPv6 echo: to a pod on another node and to an outside host it works (echo reply, same id and seq); to the ClusterIP it is dropped', () => {
    const pod = trace('icmp fd00:10:244:1::15 > fd00:10:244:2::17 type=echo id=9 seq=4');
    assert.equal((pod.reply_plan as Json).line, 'icmp fd00:10:244:2::17 > fd00:10:244:1::15 type=echo-reply id=9 seq=4 smac=00:15:5d:0b:52:11 dmac=00:15:5d:82:0b:01');
    assert.deepEqual([(pod.verdict as Json).code, final(pod.reply).verdict, final(pod.reply).egress], ['works', 'delivered', 'pod/default/client6-0']);
    // the final packet in the packet-line notation, as the IPv4 line (`icmp A > B echo id 7`), not `IPv6 icmp6 A > B`
    assert.match(final(pod.request).packet as string, /, icmp fd00:10:244:1::15 > fd00:10:244:2::17 echo id 9$/);
    assert.match(final(pod.reply).packet as string, /, icmp fd00:10:244:2::17 > fd00:10:244:1::15 echo-reply id 9$/);
    const out = trace('icmp fd00:10:244:1::15 > 2001:db8::1 echo');
    assert.deepEqual([final(out.request).verdict, (out.verdict as Json).code], ['forwarded', 'works']);
    assert.match((out.reply_plan as Json).how as string, /^2001:db8::1 answers; its reply comes in from the wire at win-1/);
    const vip = trace(DUAL.packets[12].send);
    const v = vip.verdict as Json;
    assert.deepEqual([v.code, v.works, (v.broken_by as Json).reason, (v.broken_by as Json).node], ['request-dropped', false, 'no-service-port', 'win-1']);
    assert.equal(vip.reply, null);
  });

  it('an ICMPv6 error is no-reply-expected; a port the IPv6 LB lacks breaks the request, naming the layer', () => {
    const err = trace('icmp fd00:10:244:1::15 > fd00:10:244:2::17 unreachable');
    assert.deepEqual([(err.verdict as Json).code, (err.verdict as Json).works], ['no-reply-expected', true]);
    assert.match((err.reply_plan as Json).why as string, /an ICMPv6 message of type 1 is not answered/);
    const text = ok(['trace', DUAL.packets[10].send, ...CLUSTER]);
    assert.match(text, /^Broken at: the request, node win-1, no rule matched in layer SLB_LB_LAYER, group SLB_GROUP_LB_IPv6_OUT .*: no-service-port$/m);
  });

  it('--format json: an IPv6 conversation has the shape of an IPv4 one (every key, nested, at both details)', () => {
    for (const detail of ['full', 'summary']) {
      const v4 = trace(DUAL.packets[9].send, ['--detail', detail]); // the same Service's IPv4 ClusterIP
      const v6 = trace(DUAL.packets[0].send, ['--detail', detail]);
      assert.ok(v6.reply !== null && v4.reply !== null, 'both replies walked');
      assertSameShape(shape(v6), shape(v4), detail);
      assert.deepEqual([(v4.verdict as Json).code, (v6.verdict as Json).code], ['works', 'works']);
    }
  });

  it('replyMismatch compares IPv6 addresses and ports: a reply from the backend rather than the VIP is named', () => {
    const req = frame('tcp [fd00:10:244:1::15]:43000 > [fd00:10:96::60]:80 S');
    assert.equal(replyMismatch(req, frame('tcp [fd00:10:96::60]:80 > [fd00:10:244:1::15]:43000 SA'), {}), null);
    assert.equal(replyMismatch(req, frame('tcp [fd00:10:244:2::17]:8080 > [fd00:10:244:1::15]:43000 SA'), {}), '[fd00:10:244:2::17]:8080 > [fd00:10:244:1::15]:43000');
    assert.equal(replyMismatch(req, frame('tcp [fd00:10:96::60]:80 > [fd00:10:244:1::15]:43001 SA'), {}), '[fd00:10:96::60]:80 > [fd00:10:244:1::15]:43001');
    const ping = frame('icmp fd00:10:244:1::15 > fd00:10:244:2::17 echo');
    assert.equal(replyMismatch(ping, frame('icmp fd00:10:244:2::17 > fd00:10:244:1::15 echo-reply'), {}), null);
    assert.equal(replyMismatch(ping, frame('icmp fd00:10:244:2::18 > fd00:10:244:1::15 echo-reply'), {}), 'fd00:10:244:2::18 > fd00:10:244:1::15');
  });

  it("an IPv6 packet whose header is not captured whole is named by its protocol, as in the packet-line notation, not `IPv6 tcp`", () => {
    const b = frame('tcp [fd00:10:244:1::15]:43000 > [fd00:10:96::60]:80 S');
    assert.equal(describeInput(b, 0), 'tcp [fd00:10:244:1::15]:43000 > [fd00:10:96::60]:80');
    b.caplen[0] = b.l3Off[0] + 20; // the header cut after 20 of its 40 bytes
    assert.equal(describeInput(b, 0), 'tcp (IPv6 header not captured whole: no addresses)');
    b.l3Off[0] = -1;
    assert.doesNotMatch(describeInput(b, 0), /^IPv6 /);
  });
});

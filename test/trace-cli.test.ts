/**
 * `vfp-emu trace FLOW` as a person runs it (issue 13, "Ask about a flow, no capture needed"): the CLI is
 * spawned as the README shows. Checks: the first packet of every scenario in traces/ gets the verdict its
 * scenario.yaml expects; the lesson's ping fails end to end at SLB_NAT_LAYER (no reply comes back) and its
 * curl works (the reply meets the request's NAT flow); the what-if and the assumed settings; the JSON schema
 * of trace and of `explain --format json` at both details; a bad FLOW is exit 2 naming what is wrong and
 * what is accepted; every rule a walk names is the rule `vfp-emu rules` lists with that Id.
 */

import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadScenario } from '../src/scenario/scenario';

const repo = path.resolve(__dirname, '../..');
const cli = path.join(repo, 'dist', 'src', 'cli.js');
const L2 = path.join(repo, 'traces', '_clusters', 'l2bridge');
const LESSON = ['kubectl.json', 'cni.conf', 'net-conf.json'].flatMap((f) => ['--cluster', path.join(L2, f)]);
const PING = 'icmp 10.244.1.5 > 203.0.113.10 echo';
const CURL = 'tcp 10.244.1.5:49800 > 203.0.113.10:80 S';

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [cli, ...args], { cwd: repo, encoding: 'utf8' });
}

function ok(args: string[]): string {
  const r = run(args);
  assert.equal(r.status, 0, `vfp-emu ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

type Json = Record<string, unknown>;
const traceJson = (flow: string, extra: string[] = []): Json => JSON.parse(ok(['trace', flow, ...LESSON, '--format', 'json', ...extra])) as Json;

const STEP_KINDS = new Set(['node', 'port', 'layer', 'group', 'rule', 'action', 'detail', 'warning', 'error']);
const VERDICTS = new Set(['delivered', 'forwarded', 'no-return', 'dropped', 'ignored']);

function isStrOrNull(v: unknown): boolean {
  return v === null || typeof v === 'string';
}

/** A walk as vfp/walk.ts writes it: {number, input, detail, steps, final}; throws naming the path. */
function checkWalk(w: Json, at: string, detail: 'summary' | 'full'): void {
  assert.deepEqual(Object.keys(w).sort(), ['detail', 'final', 'input', 'number', 'steps'], at);
  assert.equal(w.detail, detail, `${at}.detail`);
  assert.ok(Number.isInteger(w.number) && typeof w.input === 'string', at);
  const steps = w.steps as Json[];
  assert.ok(Array.isArray(steps) && steps.length > 0, `${at}.steps`);
  steps.forEach((s, k) => {
    const p = `${at}.steps[${k}]`;
    for (const key of ['node', 'port', 'layer', 'group', 'action']) assert.ok(isStrOrNull(s[key]), `${p}.${key}`);
    assert.ok(typeof s.text === 'string' && typeof s.packet === 'string' && s.packet !== '', `${p}.text/packet`);
    if (detail === 'full') assert.ok(STEP_KINDS.has(s.kind as string), `${p}.kind ${String(s.kind)}`);
    else assert.ok(s.kind === 'hop' && Array.isArray(s.rules), `${p}.kind hop`);
    const rules = s.rule === null ? [] : [s.rule as Json, ...((s.rules as Json[] | undefined) ?? [])];
    for (const r of rules) assert.ok(typeof r.name === 'string' && Number.isInteger(r.id) && typeof r.priority === 'number' && typeof r.type === 'string', `${p}.rule`);
  });
  const f = w.final as Json;
  assert.ok(VERDICTS.has(f.verdict as string), `${at}.final.verdict`);
  for (const key of ['reason', 'sentence', 'node', 'ingress', 'egress', 'service', 'backend']) assert.ok(isStrOrNull(f[key]), `${at}.final.${key}`);
  for (const key of ['packet', 'unified_flow', 'actions']) assert.equal(typeof f[key], 'string', `${at}.final.${key}`);
  assert.ok(Array.isArray(f.warnings), `${at}.final.warnings`);
}

/** trace's JSON: {flow, line, request, reply_plan, reply, verdict, what_if, assumed, diagnostics}. */
function checkTrace(t: Json, detail: 'summary' | 'full'): void {
  assert.deepEqual(Object.keys(t).sort(), ['assumed', 'diagnostics', 'flow', 'line', 'reply', 'reply_plan', 'request', 'verdict', 'what_if']);
  assert.ok((t.diagnostics as Json[]).every((d) => typeof d.code === 'string' && typeof d.source === 'string' && typeof d.message === 'string'), 'diagnostics');
  checkWalk(t.request as Json, 'request', detail);
  if (t.reply !== null) checkWalk(t.reply as Json, 'reply', detail);
  const v = t.verdict as Json;
  assert.ok(typeof v.works === 'boolean' || v.works === null, 'verdict.works');
  assert.ok(typeof v.code === 'string' && typeof v.text === 'string', 'verdict.code/text');
  if (v.works === false) assert.ok(v.broken_by !== null, 'a failing conversation names what broke it');
  assert.ok(Array.isArray(t.assumed) && (t.assumed as unknown[]).every((x) => typeof x === 'string'), 'assumed');
}

describe('vfp-emu trace FLOW', function () {
  this.timeout(300000);

  describe('the first packet of every scenario gets the verdict its scenario.yaml expects', () => {
    const dirs = fs.readdirSync(path.join(repo, 'traces')).filter((d) => /^\d/.test(d));
    for (const d of dirs) {
      it(d, () => {
        const s = loadScenario(path.join(repo, 'traces', d));
        const p = s.packets[0];
        const args = ['trace', p.send, ...s.clusterFiles.flatMap((f) => ['--cluster', f]), '--view', s.view, '--seed', String(s.seed), '--format', 'json'];
        if (s.windows !== undefined) args.push('--windows', s.windows);
        const t = JSON.parse(ok(args)) as Json;
        checkTrace(t, 'full');
        const f = (t.request as Json).final as Json;
        assert.equal(`${String(f.verdict)}${f.reason !== null ? ` ${String(f.reason)}` : ''}`, `${p.expectVerdict}${p.expectReason !== null ? ` ${p.expectReason}` : ''}`, p.send);
      });
    }
  });

  it("the lesson's ping fails end to end: it leaves un-SNATed at SLB_NAT_LAYER and no reply comes back", () => {
    const text = ok(['trace', PING, ...LESSON]);
    assert.match(text, /^Conversation: fails: the request leaves, but no reply comes back$/m);
    assert.match(text, /^Broken at: the request, node win-1, no rule matched in layer SLB_NAT_LAYER, group SLB_GROUP_NAT_IPv4_OUT .*: icmp-not-transposed$/m);
    assert.match(text, /^Why, and what to change: VFP does not transpose ICMP.*use curl instead of ping/m);
    assert.match(text, /^What if \(--windows ws2022:icmpSnat=true\): works end to end/m);
    assert.match(text, /underlayRoutesPodCidrs=false/);
    assert.match(text, /^ {2}- facts no input states \(config-assumed.*\): clusterDomain, network\.serviceCidr/m);
    const t = traceJson(PING);
    const v = t.verdict as Json;
    assert.equal(v.works, false);
    assert.equal(v.code, 'no-return');
    assert.equal((v.broken_by as Json).layer, 'SLB_NAT_LAYER');
    assert.equal((t.reply_plan as Json).arrives, false);
    assert.equal((t.reply_plan as Json).line, 'icmp 203.0.113.10 > 10.244.1.5 type=echo-reply id=1 seq=1 smac=02:00:cb:00:71:0a dmac=00:15:5d:82:0b:01');
    assert.deepEqual(((t.what_if as Json).verdict as Json).works, true);
  });

  it("the lesson's curl works end to end: the SYN-ACK comes in at the NAT port and meets the request's flow", () => {
    const t = traceJson(CURL);
    checkTrace(t, 'full');
    const v = t.verdict as Json;
    assert.equal(v.code, 'works');
    assert.equal(v.works, true);
    const req = (t.request as Json).final as Json;
    assert.equal(req.verdict, 'forwarded');
    const m = /^eth \S+ > \S+, tcp 10\.127\.130\.11:(\d+) > 203\.0\.113\.10:80$/.exec(req.packet as string);
    assert.ok(m !== null, `request leaves SNATed: ${String(req.packet)}`);
    assert.match((t.reply_plan as Json).line as string, new RegExp(`^tcp 203\\.0\\.113\\.10:80 > 10\\.127\\.130\\.11:${m[1]} SA seq=5000 ack=1001 `));
    const reply = t.reply as Json;
    assert.equal((reply.final as Json).verdict, 'delivered');
    assert.equal((reply.final as Json).egress, 'pod/default/client-0');
    assert.match((reply.final as Json).packet as string, /tcp 203\.0\.113\.10:80 > 10\.244\.1\.5:49800$/);
    assert.ok((reply.steps as Json[]).some((s) => /unified flow table hit: reverse flow of connection #0/.test(s.text as string)), 'the reply uses the flow the request made');
    assert.equal(t.what_if, null);
  });

  it('a reply the node drops, and one that comes back with other addresses (traces/19-return-path)', () => {
    const s = loadScenario(path.join(repo, 'traces', '19-return-path'));
    const cluster = s.clusterFiles.flatMap((f) => ['--cluster', f]);
    const flow = 'tcp 192.168.50.10:50000 > 10.244.1.6:8080 S dmac=00:15:5d:82:0b:01';
    const t = JSON.parse(ok(['trace', flow, ...cluster, '--format', 'json'])) as Json;
    const v = t.verdict as Json;
    assert.equal(v.code, 'reply-dropped');
    assert.deepEqual([(v.broken_by as Json).walk, (v.broken_by as Json).reason], ['reply', 'outboundnat-reply-unmatched']);
    assert.equal((t.reply_plan as Json).from, 'pod/default/web-1 (on win-1)');
    const w = (t.what_if as Json).verdict as Json;
    assert.equal((t.what_if as Json).windows, 'ws2022:outsideReplySnat=true');
    assert.equal(w.code, 'reply-mismatch');
    assert.match(w.text as string, /reaches the sender as 10\.127\.130\.11:8080 > 192\.168\.50\.10:50000/);
    const ping = ok(['trace', 'tcp 10.244.1.5:42000 > 10.127.130.50:443', ...cluster, '--windows', 'ws2022:underlayRoutesPodCidrs=true']);
    assert.match(ping, /^Conversation: works end to end/m);
  });

  it('a TCP flow without flags is a SYN; a bare ICMP type name is type=', () => {
    assert.equal(traceJson('tcp 10.244.1.5:49800 > 203.0.113.10:80').line, CURL);
    const t = traceJson('icmp 10.244.1.5 > 10.244.2.7 echo');
    assert.equal((t.verdict as Json).code, 'works');
    assert.equal(((t.reply as Json).final as Json).egress, 'pod/default/client-0');
  });

  it('a profile what-if changes the answer: --windows ws2022:icmpSnat=true makes the ping work', () => {
    const t = traceJson(PING, ['--windows', 'ws2022:icmpSnat=true']);
    assert.equal((t.verdict as Json).code, 'works');
    assert.match((t.assumed as string[])[0], /icmpSnat=true/);
  });

  it('--detail summary: one hop per node the packet crosses, with every rule that matched', () => {
    const full = traceJson(CURL);
    const sum = traceJson(CURL, ['--detail', 'summary']);
    checkTrace(sum, 'summary');
    const fullSteps = (full.request as Json).steps as Json[];
    const hops = (sum.request as Json).steps as Json[];
    assert.equal(hops.length, fullSteps.filter((s) => s.kind === 'node').length);
    assert.deepEqual(
      hops.flatMap((h) => h.rules as Json[]),
      fullSteps.filter((s) => s.kind === 'rule').map((s) => s.rule),
    );
    assert.equal(hops[hops.length - 1].packet, fullSteps[fullSteps.length - 1].packet);
    const text = ok(['trace', CURL, ...LESSON, '--detail', 'summary']);
    assert.match(text, /^node win-1: in pod\/default\/client-0; rule SNAT_TCP_OUTBOUNDNAT_\w+ #\d+; SNAT 10\.244\.1\.5:49800 -> 10\.127\.130\.11:\d+/m);
  });

  it('explain --format json is the same walk as trace gives for the same packet; its text is unchanged', () => {
    const pcap = path.join(repo, 'traces', '04-icmp-lesson', 'trace.pcapng');
    const ej = JSON.parse(ok(['explain', pcap, ...LESSON, '--packet', '1', '--format', 'json'])) as Json;
    checkWalk(ej, 'explain', 'full');
    const tj = traceJson('icmp 10.244.1.5 > 203.0.113.10 type=echo id=7 seq=1');
    assert.deepEqual(ej.steps, (tj.request as Json).steps);
    assert.deepEqual(ej.final, (tj.request as Json).final);
    const es = JSON.parse(ok(['explain', pcap, ...LESSON, '--packet', '3', '--format', 'json', '--detail', 'summary'])) as Json;
    checkWalk(es, 'explain', 'summary');
    const sumText = ok(['explain', pcap, ...LESSON, '--packet', '3', '--detail', 'summary']);
    assert.match(sumText, /^Packet 3: tcp 10\.244\.1\.5:49800 > 203\.0\.113\.10:80\n\nnode win-1: in pod\/default\/client-0; rule SNAT_TCP_OUTBOUNDNAT_\w+ #\d+; .*\n\nFinal packet: /);
    const text = ok(['explain', pcap, ...LESSON, '--packet', '1']);
    assert.equal(ok(['explain', pcap, ...LESSON, '--packet', '1', '--detail', 'full']), text);
  });

  it('a bad FLOW is exit 2 naming what is wrong and what a FLOW is', () => {
    const cases: [string, RegExp][] = [
      ['tcp 10.244.1.5 > 203.0.113.10:80', /tcp needs ports on both ends/],
      ['ping 10.244.1.5 > 8.8.8.8', /unknown protocol 'ping' \(tcp, udp, icmp, dns, vxlan\)/],
      ['icmp 10.244.1.5 8.8.8.8', /expected '<proto> <src> > <dst> \.\.\.'/],
      ['udp 10.244.1.500:1 > 8.8.8.8:53', /'10\.244\.1\.500' is not an IPv4 or IPv6 address/],
      ['tcp 10.244.1.5:1 > 8.8.8.8:80 bogus', /unknown word 'bogus'/],
    ];
    for (const [flow, why] of cases) {
      const r = run(['trace', flow, ...LESSON]);
      assert.equal(r.status, 2, `${flow}: ${r.stderr}`);
      assert.match(r.stderr, why, flow);
      assert.match(r.stderr, /^vfp-emu: trace: FLOW '.*': .*; a FLOW is <proto> <src>\[:port\] > <dst>\[:port\]/, flow);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      assert.equal(r.stdout, '');
    }
    const none = run(['trace', ...LESSON]);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /trace needs a FLOW/);
    const noCluster = run(['trace', CURL]);
    assert.equal(noCluster.status, 2);
    assert.match(noCluster.stderr, /--cluster/);
  });

  it('a FLOW too big for its IP length field is exit 2 naming len= and the limit, not an internal error (exit 70)', () => {
    for (const [flow, limit] of [
      ['tcp 10.244.1.5:1 > 1.1.1.1:80 len=600000', 'len=600000: .* from 0 to 65495'],
      ['udp 10.244.1.5:1 > 1.1.1.1:53 len=65508', 'len=65508: .* from 0 to 65507'],
      ['tcp [fd00::5]:1 > [fd00::6]:80 len=70000', 'len=70000: .* from 0 to 65515'],
    ]) {
      const r = run(['trace', flow, '--cluster', path.join(L2, 'kubectl.json')]);
      assert.equal(r.status, 2, `${flow}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(limit), flow);
      assert.doesNotMatch(r.stderr, /internal error|RangeError|\n\s+at /, flow);
    }
    const big = run(['trace', 'tcp 10.244.1.5:1 > 1.1.1.1:80 len=65495', '--cluster', path.join(L2, 'kubectl.json'), '--format', 'json']);
    assert.equal(big.status, 0, big.stderr);
  });

  it('a FLOW with an unknown key, a key twice, or a value its header field cannot hold is exit 2 naming it', () => {
    const cases: [string, RegExp][] = [
      ['tcp 10.244.1.5:1 > 1.1.1.1:80 x=y', /unknown key 'x' in 'x=y' \(tcp takes seq= ack= len= ttl= smac= dmac= vlan=\)/],
      ['icmp 10.244.1.5 > 1.1.1.1 sqe=5', /unknown key 'sqe' in 'sqe=5' \(icmp takes type= code= id= seq= len= ttl= smac= dmac= vlan=\)/],
      ['tcp 10.244.1.5:1 > 1.1.1.1:80 q=a', /unknown key 'q'/],
      ['tcp 10.244.1.5:1 > 1.1.1.1:80 ttl=300', /ttl=300: the 8-bit IPv4 TTL holds a whole number from 0 to 255/],
      ['tcp 10.244.1.5:1 > 1.1.1.1:80 vlan=abc', /vlan=abc: the 12-bit VLAN id holds a whole number from 0 to 4095/],
      ['icmp 10.244.1.5 > 1.1.1.1 id=70000', /id=70000: the 16-bit ICMP id holds a whole number from 0 to 65535/],
      ['icmp 10.244.1.5 > 1.1.1.1 code=999', /code=999: the 8-bit ICMP code holds a whole number from 0 to 255/],
      ['icmp 10.244.1.5 > 1.1.1.1 type=300', /type=300: unknown ICMP type/],
      ['tcp 10.244.1.5:1 > 1.1.1.1:80 seq=99999999999', /seq=99999999999: the 32-bit TCP sequence number holds a whole number from 0 to 4294967295/],
      ['tcp 10.244.1.5:1 > 1.1.1.1:80 seq=', /seq=: the 32-bit TCP sequence number/],
      ['tcp 10.244.1.5:1 > 1.1.1.1:80 seq=1 seq=2', /seq= given twice/],
      ['udp 10.244.1.5:1 > 1.1.1.1:53 S', /flags 'S' are for tcp only/],
      ['dns 10.244.1.5:1 > 10.96.0.10:53 q=a..b', /q=a\.\.b: not a DNS name/],
      ['dns 10.244.1.5:1 > 10.96.0.10:53 q=a qid=65536', /qid=65536: the 16-bit DNS id/],
      ['tcp 10.244.1.5:1 > 1.1.1.1:80 dmac=00:11', /dmac=00:11: not a MAC address/],
      ['tcp [fd00::zz]:1 > [fd00::1]:80', /'fd00::zz' is not an IPv4 or IPv6 address/],
      ['vxlan 10.127.130.10:49200 > 10.127.130.11 vni=16777216 | udp 10.244.0.3:80 > 10.244.1.5:40000', /vni=16777216: the 24-bit VXLAN network identifier/],
    ];
    for (const [flow, why] of cases) {
      const r = run(['trace', flow, ...LESSON]);
      assert.equal(r.status, 2, `${flow}: ${r.stderr}`);
      assert.match(r.stderr, why, flow);
      assert.match(r.stderr, /^vfp-emu: trace: FLOW '.*': .*; a FLOW is /, flow);
      assert.equal(r.stdout, '');
    }
  });

  it('a conversation that works while a walk warns says so: works at the packet level, with the warning (text and JSON)', () => {
    const flow = 'dns 10.244.1.5:5300 > 10.96.0.10:53 q=kubernetes.default';
    const text = ok(['trace', flow, ...LESSON]);
    assert.match(text, /^Conversation: works at the packet level: .*; warning: dns-pqdn-unresolvable: Windows pods have a single DNS suffix/m);
    assert.doesNotMatch(text, /works end to end/);
    const v = traceJson(flow).verdict as Json;
    assert.deepEqual([v.code, v.works, v.warnings], ['works', true, ['dns-pqdn-unresolvable']]);
    const fqdn = traceJson('dns 10.244.1.5:5300 > 10.96.0.10:53 q=kubernetes.default.svc.cluster.local.').verdict as Json;
    assert.deepEqual([fqdn.code, fqdn.warnings], ['works', []]);
    assert.match(fqdn.text as string, /^works end to end/);
  });

  it('an outward ICMP error is no-reply-expected (nothing answers it), with no what-if that changes nothing', () => {
    const flow = 'icmp 10.244.1.5 > 1.1.1.1 unreachable';
    const text = ok(['trace', flow, ...LESSON]);
    assert.match(text, /^Conversation: the request is no-return \(wire at win-1: icmp-not-transposed\); no reply: an ICMP message of type 3 is not answered/m);
    assert.doesNotMatch(text, /^What if/m);
    const t = traceJson(flow);
    assert.deepEqual([(t.verdict as Json).code, (t.verdict as Json).works, t.what_if], ['no-reply-expected', true, null]);
  });

  it("the what-if's --windows replaces the setting it flips rather than appending it again", () => {
    const text = ok(['trace', PING, ...LESSON, '--windows', 'ws2022:icmpSnat=true,underlayRoutesPodCidrs=false,icmpSnat=false']);
    assert.match(text, /^What if \(--windows ws2022:icmpSnat=true,underlayRoutesPodCidrs=false\): works end to end/m);
    assert.equal((traceJson(PING, ['--windows', 'ws2022:icmpSnat=false']).what_if as Json).windows, 'ws2022:icmpSnat=true');
  });

  it('every rule a walk names is the rule `vfp-emu rules` lists with that Id on that node, port and layer', () => {
    const dir = path.join(repo, 'traces', '05-services');
    const s = loadScenario(dir);
    const cluster = s.clusterFiles.flatMap((f) => ['--cluster', f]);
    const listing = rulesListing(ok(['rules', ...cluster]));
    let seen = 0;
    for (const p of s.packets.slice(0, 4)) {
      const t = JSON.parse(ok(['trace', p.send, ...cluster, '--format', 'json'])) as Json;
      for (const w of [t.request, t.reply]) {
        if (w === null) continue;
        for (const st of (w as Json).steps as Json[]) {
          if (st.rule === null || st.kind !== 'rule') continue;
          const r = st.rule as Json;
          const ids = listing.get(`${String(st.node)}|${String(st.port)}|${String(st.layer)}`);
          assert.ok(ids !== undefined, `rules lists ${String(st.node)} ${String(st.port)} ${String(st.layer)}`);
          assert.equal(ids.get(r.name as string), r.id, `${String(r.name)} on ${String(st.node)}`);
          seen++;
        }
      }
    }
    assert.ok(seen >= 3, `rules named: ${seen}`);
  });
});

/** `node|port|layer` -> rule name -> Id, from `vfp-emu rules`. */
function rulesListing(text: string): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  let node = '';
  let port = '';
  let layer: Map<string, number> | undefined;
  for (const line of text.split('\n')) {
    let m: RegExpMatchArray | null;
    if ((m = line.match(/^NODE : (\S+)/))) node = m[1];
    else if ((m = line.match(/^PORT : (\S+)/))) port = m[1];
    else if ((m = line.match(/^ {2}LAYER : (\S+)/))) out.set(`${node}|${port}|${m[1]}`, (layer = new Map()));
    else if ((m = line.match(/^ {8}Friendly name : (\S+), Id : (\d+)/))) layer!.set(m[1], Number(m[2]));
  }
  return out;
}

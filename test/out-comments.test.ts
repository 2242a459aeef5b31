/**
 * The output pcapng's comments as a Wireshark user reads them (issue 13, "failing flows up front"): per
 * packet the verdict, the reason, the Service and backend chosen, the NAT and encapsulation applied, and for
 * drops the pktmon drop reason text (src/pipeline/out-comment.ts documents the fields). Each scenario is
 * replayed by the CLI as a user runs it, and the comments are read back by tshark (`frame.comment`, when
 * installed) and by the project's own reader; the expected strings are written out whole.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Batch } from '../src/core/batch';
import { openCapture } from '../src/io/reader';
import { REASON_TABLE } from '../src/vfp/reasons';
import { putIpv6 } from '../src/pipeline/bytes';
import { KeyTable } from '../src/core/key-table';
import { ipv6Text } from '../src/decode/format';

const repo = path.resolve(__dirname, '..', '..');
const cli = path.join(repo, 'dist', 'src', 'cli.js');
const traces = path.join(repo, 'traces');
const FIELD_SPLIT = /; (?=[a-z-]+=)/;

function clusterArgs(dir: string, files: string[]): string[] {
  return files.flatMap((f) => ['--cluster', path.join(traces, f.startsWith('_') ? f : `${dir}/${f}`)]);
}

const overlay = ['_clusters/overlay/kubectl.yaml', '_clusters/overlay/cni.conf', '_clusters/overlay/net-conf.json'];
const l2bridge = ['_clusters/l2bridge/kubectl.json', '_clusters/l2bridge/cni.conf', '_clusters/l2bridge/net-conf.json'];

/** Replays scenario `dir` with --out and returns the comments (the project's reader). */
function replayComments(tmp: string, dir: string, cluster: string[], extra: string[] = []): { out: string; comments: string[] } {
  const out = path.join(tmp, `${dir}.pcapng`);
  const r = spawnSync(process.execPath, [cli, 'replay', path.join(traces, dir, 'trace.pcapng'), ...clusterArgs(dir, cluster), ...extra, '--out', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const rd = openCapture(out);
  const b = new Batch();
  const comments: string[] = [];
  for (let n = rd.next(b); n > 0; n = rd.next(b)) for (let i = 0; i < n; i++) comments.push(b.options.get(i)?.comments?.[0] ?? '');
  rd.close();
  return { out, comments };
}

function haveTshark(): boolean {
  return spawnSync('tshark', ['-v'], { encoding: 'utf8' }).status === 0;
}

function tsharkComments(file: string): string[] {
  const t = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.comment'], { encoding: 'utf8' });
  assert.equal(t.status, 0, t.stderr);
  return t.stdout.trimEnd().split('\n');
}

/** The comment without the reason's sentence (`dropped no-rule: ...` -> `dropped no-rule`), for short goldens. */
function shortOf(c: string): string {
  const [head, ...fields] = c.split(FIELD_SPLIT);
  const m = /^(packet \d+: \S+)( [a-z0-9-]+): /.exec(head);
  return [m !== null ? m[1] + m[2] : head, ...fields].join('; ');
}

describe('output pcapng comments (what a Wireshark user needs)', () => {
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-comments-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('the lesson: the reason sentence whole, the OutboundNAT SNAT of curl, nothing on un-NATed packets', function () {
    const { out, comments } = replayComments(tmp, '04-icmp-lesson', l2bridge);
    const icmp = REASON_TABLE.find((r) => r.code === 'icmp-not-transposed')?.sentence;
    const want = [
      `packet 1: no-return icmp-not-transposed: ${icmp}`,
      `packet 2: dropped icmp-not-transposed: ${icmp}`,
      'packet 3: forwarded; snat=10.244.1.5:49800->10.127.130.11:49216',
      'packet 4: delivered',
      'packet 5: forwarded; snat=10.244.1.5:49800->10.127.130.11:49216',
      'packet 6: forwarded; snat=10.244.1.5:49800->10.127.130.11:49216',
      'packet 7: delivered',
      'packet 8: delivered',
      'packet 9: delivered',
      'packet 10: forwarded',
    ];
    assert.deepEqual(comments, want);
    if (!haveTshark()) this.skip(); // tshark is not installed: the reader's view was checked
    assert.deepEqual(tsharkComments(out), want);
  });

  it('Services and DSR: the Service with its frontend, the backend, dsr=yes and the DNAT', function () {
    const { out, comments } = replayComments(tmp, '06-dsr', [...overlay, 'kube-proxy.yaml', 'services.yaml']);
    const want = [
      'packet 1: delivered; service=default/web ClusterIP 10.96.0.20:80/tcp; backend=10.244.2.7:8080; dsr=yes; dnat=10.96.0.20:80->10.244.2.7:8080',
      'packet 2: delivered; service=default/web ClusterIP 10.96.0.20:80/tcp; backend=10.244.2.7:8080; dsr=yes',
      'packet 3: dropped no-local-endpoint',
      'packet 4: delivered; service=default/local-web NodePort 10.127.130.12:30090/tcp; backend=10.244.2.7:8080; dsr=yes; dnat=10.127.130.12:30090->10.244.2.7:8080',
      // preserve-destination: the VIP stays, no dnat
      'packet 5: delivered; service=default/keep-vip Ingress 20.0.0.60:80/tcp; backend=10.244.2.7:80; dsr=yes',
    ];
    assert.deepEqual(comments.map(shortOf), want);
    if (!haveTshark()) this.skip();
    assert.deepEqual(tsharkComments(out), comments);
  });

  it('non-DSR to a remote backend: DNAT, SNAT to the SourceVIP and the VXLAN encapsulation, with warnings', function () {
    const { out, comments } = replayComments(tmp, '18-dns-names', [...overlay, 'services.yaml']);
    assert.equal(
      comments[0],
      'packet 1: forwarded; warnings=dns-pqdn-unresolvable; service=kube-system/kube-dns ClusterIP 10.96.0.10:53/udp; backend=10.244.0.3:53; dnat=10.96.0.10:53->10.244.0.3:53; snat=10.244.1.5:53101->10.244.1.2:49216; encap=vxlan vni 4096 10.127.130.11->10.127.130.10:4789',
    );
    if (!haveTshark()) this.skip();
    assert.deepEqual(tsharkComments(out), comments);
  });

  it('IPv6 Services: the IPv6 load balancer\'s frontend in brackets, as the IPv4 one (20-dualstack)', function () {
    const { out, comments } = replayComments(tmp, '20-dualstack', [...l2bridge, 'dualstack.yaml']);
    const want = [
      'packet 1: delivered; service=default/api ClusterIP [fd00:10:96::60]:80/tcp; backend=[fd00:10:244:2::17]:8080; dnat=[fd00:10:96::60]:80->[fd00:10:244:2::17]:8080',
      // the reply: decided by the load balancer's rule, so its frontend is named (as an IPv4 reply's: 06-dsr packet 2)
      'packet 2: delivered; service=default/api ClusterIP [fd00:10:96::60]:80/tcp; backend=[fd00:10:244:2::17]:8080; snat=[fd00:10:244:2::17]:8080->[fd00:10:96::60]:80',
      'packet 6: delivered; service=default/api ClusterIP [fd00:10:96::60]:53/udp; backend=[fd00:10:244:2::17]:5353; dnat=[fd00:10:96::60]:53->[fd00:10:244:2::17]:5353',
      'packet 10: delivered; service=default/api ClusterIP 10.96.0.60:80/tcp; backend=10.244.1.16:8080; dnat=10.96.0.60:80->10.244.1.16:8080',
    ];
    assert.deepEqual([0, 1, 5, 9].map((k) => comments[k]), want);
    if (!haveTshark()) this.skip();
    assert.deepEqual(tsharkComments(out), comments);
  });

  it('IPv6 addresses in comments are written as the reports print them (putIpv6 = ipv6Text, RFC 5952)', () => {
    const cases = ['fd00:10:96::60', '::', '::1', '1::', '2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:0:1', '::ffff:10.1.2.3', '::10.1.2.3', '1:0:2:0:3:0:4:0', 'abcd:ef01:2345:6789:abcd:ef01:2345:6789', 'fe80::ffff:1', '0:0:1::'];
    const bytes = (t: string): Uint8Array => {
      const [head, tail] = t.includes('::') ? t.split('::') : [t, undefined];
      const words = (x: string): number[] => (x === '' ? [] : x.split(':').flatMap((w) => (w.includes('.') ? ((q) => [(q[0] << 8) | q[1], (q[2] << 8) | q[3]])(w.split('.').map(Number)) : [parseInt(w, 16)])));
      const h = words(head);
      const tl = tail === undefined ? [] : words(tail);
      const all = [...h, ...new Array<number>(8 - h.length - tl.length).fill(0), ...tl];
      return Uint8Array.from(all.flatMap((w) => [w >> 8, w & 255]));
    };
    const out = new Uint8Array(64);
    for (const c of cases) {
      const a = bytes(c);
      const end = putIpv6(new DataView(out.buffer), 0, a, 0);
      assert.equal(Buffer.from(out.subarray(0, end)).toString('latin1'), ipv6Text(a, 0), c);
    }
  });

  it('the text caches\' KeyTable keeps each key\'s number through growth (uint32 keys too)', () => {
    const t = new KeyTable(3, 2);
    const put = (a: number, b: number, c: number): number => {
      t.key.set([a, b, c]);
      const n = t.find();
      return n >= 0 ? n : t.add();
    };
    const keys = Array.from({ length: 500 }, (_, k) => [k % 7, -1 - (k % 3), 0xffffffff - k] as const);
    const first = keys.map(([a, b, c]) => put(a, b, c));
    assert.deepEqual(first, Array.from({ length: 500 }, (_, k) => k), 'numbered in the order added');
    assert.deepEqual(keys.map(([a, b, c]) => put(a, b, c)), first, 'found again after the table grew');
    assert.equal(t.size, 500);
    t.key.set([1, 2, 3]);
    assert.equal(t.find(), -1);
    t.clear();
    t.key.set([0, -1, 0xffffffff]);
    assert.equal(t.find(), -1, 'cleared');
  });

  it('drops carry the pktmon drop reason; a VXLAN packet delivered decapsulated says decap', () => {
    const l2 = replayComments(tmp, '01-l2bridge', [...l2bridge, 'win-3.yaml']).comments.map(shortOf);
    assert.equal(l2[5], 'packet 6: dropped mac-spoofing-disabled; pktmon-drop=Spoofed MAC address is not allowed');
    const ov = replayComments(tmp, '02-overlay', overlay).comments.map(shortOf);
    assert.equal(ov[0], 'packet 1: forwarded; encap=vxlan vni 4096 10.127.130.11->10.127.130.10:4789');
    assert.equal(ov[1], 'packet 2: delivered; decap=vxlan');
    assert.equal(ov[2], 'packet 3: dropped vni-mismatch; pktmon-drop=Virtual Subnet ID does not match');
  });

  it('no reason sentence holds `; KEY=`: the fields split on /; (?=[a-z-]+=)/ whatever the sentence', () => {
    for (const r of REASON_TABLE) assert.ok(!FIELD_SPLIT.test(r.sentence), `${r.code}: ${r.sentence}`);
    const sentence = REASON_TABLE.find((r) => r.code === 'nat-reply-mismatch')?.sentence ?? '';
    assert.ok(sentence.includes('; '), 'a sentence with "; " (the split must not cut it)');
  });
});

/**
 * `vfp-emu merge` (src/commands/merge.ts, summary-merge.ts): summaries made by separate runs (another machine,
 * one Kubernetes Job pod per node) merged equal what one multi-trace replay over the same traces prints,
 * save the timings; merged summaries merge again; summaries of another cluster, seed or profile, or that are
 * not summaries, are refused naming the file and the field (exit 2).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { clusterList } from '../src/gen/layout';
import { writeTraceFile } from '../src/gen/trace';
import { run, untimed, untimedText, writeTraces } from './multi-helpers';

describe('vfp-emu merge', function () {
  this.timeout(300_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-merge-'));
  const cluster = path.join(tmp, 'cluster.json');
  const traces = ['A.pcap', 'B.pcapng', 'C.pcap'];
  let multiJson: Record<string, unknown>;
  let multiText: string;
  before(() => {
    writeTraces(tmp, traces, cluster, { packets: 2000, flows: 40, firstSeed: 10 });
    for (const n of traces) {
      const r = run(['replay', n, '--cluster', cluster, '--summary', 'json'], tmp);
      assert.equal(r.status, 0, r.stderr);
      fs.writeFileSync(path.join(tmp, `${n}.json`), r.stdout);
    }
    const m = run(['replay', ...traces, '--cluster', cluster, '--summary', 'json'], tmp);
    assert.equal(m.status, 0, m.stderr);
    multiJson = JSON.parse(m.stdout) as Record<string, unknown>;
    const t = run(['replay', ...traces, '--cluster', cluster], tmp);
    assert.equal(t.status, 0, t.stderr);
    multiText = t.stdout;
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('replay A, B, C separately, merge: equal to one `replay A B C --summary json` (timings aside), as JSON and as text', () => {
    const r = run(['merge', 'A.pcap.json', 'B.pcapng.json', 'C.pcap.json'], tmp);
    assert.equal(r.status, 0, r.stderr);
    const merged = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.deepEqual(untimed(merged), untimed(multiJson));
    assert.equal((merged.traces as unknown[]).length, 3);
    // the merge's time is the runs' times added up; its rate follows from it
    const sum = traces.reduce((s, n) => s + (JSON.parse(fs.readFileSync(path.join(tmp, `${n}.json`), 'utf8')) as { elapsed_s: number }).elapsed_s, 0);
    assert.ok(Math.abs((merged.elapsed_s as number) - sum) < 1e-5);
    const text = run(['merge', 'A.pcap.json', 'B.pcapng.json', 'C.pcap.json', '--summary', 'text'], tmp);
    assert.equal(text.status, 0, text.stderr);
    assert.equal(untimedText(text.stdout), untimedText(multiText));
  });

  it('a merged summary merges again: merge(merge(A, B), C) = merge(A, B, C); --out FILE holds what stdout would', () => {
    const ab = run(['merge', 'A.pcap.json', 'B.pcapng.json', '--out', 'AB.json'], tmp);
    assert.equal(ab.status, 0, ab.stderr);
    assert.equal(ab.stdout, '');
    const abc = run(['merge', 'AB.json', 'C.pcap.json'], tmp);
    assert.equal(abc.status, 0, abc.stderr);
    assert.deepEqual(untimed(JSON.parse(abc.stdout)), untimed(multiJson));
    const direct = run(['merge', 'A.pcap.json', 'B.pcapng.json'], tmp);
    assert.equal(fs.readFileSync(path.join(tmp, 'AB.json'), 'utf8'), direct.stdout);
  });

  it('refuses summaries of another seed or cluster by file and field, and leaves --out alone', () => {
    const seeded = run(['replay', 'C.pcap', '--cluster', cluster, '--summary', 'json', '--seed', '9'], tmp);
    fs.writeFileSync(path.join(tmp, 'seed9.json'), seeded.stdout);
    const r = run(['merge', 'A.pcap.json', 'seed9.json', '--out', 'never.json'], tmp);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^vfp-emu: seed9\.json at fingerprint\.seed: 9, but A\.pcap\.json has 1: /m);
    assert.ok(!fs.existsSync(path.join(tmp, 'never.json')));
    const other = JSON.parse(JSON.stringify(clusterList(writeTraceFile(path.join(tmp, 'x.pcap'), 'pcap', { packets: 10, seed: 1, windowsNodes: 3 }).layout))) as object;
    fs.writeFileSync(path.join(tmp, 'cluster2.json'), JSON.stringify(other, null, 1));
    const c2 = run(['replay', 'C.pcap', '--cluster', 'cluster2.json', '--summary', 'json'], tmp);
    fs.writeFileSync(path.join(tmp, 'c2.json'), c2.stdout);
    const r2 = run(['merge', 'A.pcap.json', 'c2.json'], tmp);
    assert.equal(r2.status, 2);
    assert.match(r2.stderr, /c2\.json at fingerprint\.cluster: /);
  });

  it('refuses what is not a summary, naming the file and the field path; --out naming an input is refused', () => {
    const good = JSON.parse(fs.readFileSync(path.join(tmp, 'A.pcap.json'), 'utf8')) as Record<string, unknown>;
    const cases: [string, unknown, RegExp][] = [
      ['notjson.json', 'not { json', /notjson\.json at byte offset 0: not a JSON summary \(starts with byte 0x6e\)/],
      ['badjson.json', ' { json', /badjson\.json: not JSON/],
      ['array.json', [1], /array\.json at byte offset 0: not a JSON summary \(starts with byte 0x5b\)/],
      ['neg.json', { ...good, verdicts: { ...(good.verdicts as object), dropped: -1 } }, /neg\.json at verdicts\.dropped: must be a count/],
      ['odd.json', { ...good, verdicts: { ...(good.verdicts as object), lost: 1 } }, /odd\.json at verdicts\.lost: not a verdict/],
      ['old.json', { ...good, fingerprint: undefined }, /old\.json at fingerprint: missing/],
      ['svc.json', { ...good, services: { 'default/web': { backends: { '10.0.0.1:80': 'x' } } } }, /svc\.json at services\.default\/web\.backends\.10\.0\.0\.1:80: must be a count/],
      ['sum.json', { ...multiJson, packets: 1 }, /sum\.json at verdicts: sum to 6000, but packets is 1/],
      ['lost.json', { ...multiJson, traces: (multiJson.traces as unknown[]).slice(1) }, /lost\.json at packets: is 6000, but its traces hold 4000 packets/],
      ['extra.json', { ...good, node: 'win-1' }, /extra\.json at node: not a field of a vfp-emu replay summary/],
      ['both.json', { ...multiJson, trace: 'A.pcap' }, /both\.json at trace: not a field/],
    ];
    for (const [file, doc, re] of cases) {
      fs.writeFileSync(path.join(tmp, file), typeof doc === 'string' ? doc : JSON.stringify(doc));
      const r = run(['merge', 'A.pcap.json', file], tmp);
      assert.equal(r.status, 2, `${file}: ${r.stderr}`);
      assert.match(r.stderr, re, file);
      assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
    }
    const onto = run(['merge', 'A.pcap.json', 'B.pcapng.json', '--out', 'B.pcapng.json'], tmp);
    assert.equal(onto.status, 2);
    assert.match(onto.stderr, /--out B\.pcapng\.json is the same file as summary B\.pcapng\.json/);
    const none = run(['merge'], tmp);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /merge takes one or more SUMMARY\.json files/);
  });

  it('a folder, an unreadable file or a binary file: exit 2 naming the file, no stack trace', () => {
    fs.mkdirSync(path.join(tmp, 'adir'), { recursive: true });
    const cases: [string[], RegExp][] = [
      [['A.pcap.json', 'adir'], /^vfp-emu: adir: is a folder; give a summary file$/m],
      [['A.pcap.json', 'missing.json'], /^vfp-emu: missing\.json: cannot read it \(ENOENT\)$/m],
      [['A.pcap.json', 'A.pcap'], /^vfp-emu: A\.pcap at byte offset 0: not a JSON summary \(starts with byte 0xd4\)/m],
    ];
    for (const [args, re] of cases) {
      const r = run(['merge', ...args], tmp);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, re);
      assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
    }
  });

  it('refuses what merge would drop: unknown fields in fingerprint and services, verdicts that do not sum to packets', () => {
    const good = JSON.parse(fs.readFileSync(path.join(tmp, 'A.pcap.json'), 'utf8')) as Record<string, unknown>;
    const v = good.verdicts as Record<string, number>;
    const cases: [string, unknown, RegExp][] = [
      ['fpx.json', { ...good, fingerprint: { ...(good.fingerprint as object), node: 'win-1' } }, /fpx\.json at fingerprint\.node: not a field of a vfp-emu replay summary/],
      ['svcx.json', { ...good, services: { 'default/web': { backends: {}, weight: 2 } } }, /svcx\.json at services\.default\/web\.weight: not a field/],
      ['vsum.json', { ...good, verdicts: { ...v, dropped: v.dropped + 1 } }, new RegExp(`vsum\\.json at verdicts: sum to ${(good.packets as number) + 1}, but packets is ${good.packets as number}`)],
    ];
    for (const [file, doc, re] of cases) {
      fs.writeFileSync(path.join(tmp, file), JSON.stringify(doc));
      const r = run(['merge', 'A.pcap.json', file], tmp);
      assert.equal(r.status, 2, `${file}: ${r.stderr}`);
      assert.match(r.stderr, re, file);
    }
  });

  it('live summaries that lost packets (capture_lost) are added up, as one run would say; a bad capture_lost is refused by field', () => {
    // what `vfp-emu live --summary json` writes when its capture lost packets (live.ts LiveSummary; test/live-queue.test.ts)
    const good = JSON.parse(fs.readFileSync(path.join(tmp, 'A.pcap.json'), 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(path.join(tmp, 'lost1.json'), JSON.stringify({ ...good, capture_lost: { queue_full: 5, truncated: 0 } }));
    fs.writeFileSync(path.join(tmp, 'lost2.json'), JSON.stringify({ ...good, capture_lost: { queue_full: 2, truncated: 3 } }));
    const r = run(['merge', 'lost1.json', 'lost2.json', '--out', 'lost12.json'], tmp);
    assert.equal(r.status, 0, r.stderr);
    const m = JSON.parse(fs.readFileSync(path.join(tmp, 'lost12.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(m.capture_lost, { queue_full: 7, truncated: 3 });
    assert.equal(m.packets, 2 * (good.packets as number));
    // one lossy input and a replay's: only the live one's losses; merged again, still added up
    const one = JSON.parse(run(['merge', 'lost1.json', 'B.pcapng.json'], tmp).stdout) as Record<string, unknown>;
    assert.deepEqual(one.capture_lost, { queue_full: 5, truncated: 0 });
    const again = JSON.parse(run(['merge', 'lost12.json', 'lost1.json'], tmp).stdout) as Record<string, unknown>;
    assert.deepEqual(again.capture_lost, { queue_full: 12, truncated: 3 });
    const none = JSON.parse(run(['merge', 'A.pcap.json', 'B.pcapng.json'], tmp).stdout) as Record<string, unknown>;
    assert.equal('capture_lost' in none, false, 'no input lost packets: no capture_lost');
    // the text ends with live's closing line on the losses
    const text = run(['merge', 'lost1.json', 'lost2.json', '--summary', 'text'], tmp);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /\nCapture: 7 packets lost: capture queue full \(captured faster than they were judged; not in the outputs\); 3 packets cut to cap's 65535-byte buffer\n$/);
    const cases: [string, unknown, RegExp][] = [
      ['lostx.json', { ...good, capture_lost: { queue_full: 1, truncated: 0, ring: 2 } }, /lostx\.json at capture_lost\.ring: not a field of a vfp-emu replay summary/],
      ['losty.json', { ...good, capture_lost: { queue_full: -1, truncated: 0 } }, /losty\.json at capture_lost\.queue_full: must be a count/],
      ['lostz.json', { ...good, capture_lost: { queue_full: 1 } }, /lostz\.json at capture_lost\.truncated: must be a count/],
    ];
    for (const [file, doc, re] of cases) {
      fs.writeFileSync(path.join(tmp, file), JSON.stringify(doc));
      const bad = run(['merge', 'A.pcap.json', file], tmp);
      assert.equal(bad.status, 2, `${file}: ${bad.stderr}`);
      assert.match(bad.stderr, re, file);
    }
  });

  it('merge --help lists every fingerprint field it refuses, --pktmon-component too', () => {
    const r = run(['merge', '--help'], tmp);
    assert.equal(r.status, 0, r.stderr);
    const help = r.stdout.replace(/\s+/g, ' ');
    for (const flag of ['cluster', '--windows', '--seed', '--view', '--vxlan-port', '--pktmon-component']) assert.ok(help.includes(flag), `merge --help names ${flag}: ${help}`);
  });

  it('a code, service or backend named __proto__ is counted as any other name', () => {
    const good = JSON.parse(fs.readFileSync(path.join(tmp, 'A.pcap.json'), 'utf8')) as Record<string, unknown>;
    const text = JSON.stringify({ ...good, reasons: {}, warnings: {}, services: {} })
      .replace('"reasons":{}', '"reasons":{"__proto__":5}')
      .replace('"warnings":{}', '"warnings":{"__proto__":6}')
      .replace('"services":{}', '"services":{"__proto__":{"backends":{"__proto__":7}}}');
    fs.writeFileSync(path.join(tmp, 'proto.json'), text);
    const r = run(['merge', 'proto.json', 'proto.json'], tmp);
    assert.equal(r.status, 0, r.stderr);
    const own = (o: unknown): unknown => Object.getOwnPropertyDescriptor(o, '__proto__')?.value;
    const m = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(own(m.reasons), 10);
    assert.equal(own(m.warnings), 12);
    assert.equal(own((own(m.services) as { backends: unknown }).backends), 14);
    const again = run(['merge', 'proto.json'], tmp);
    assert.match(again.stdout, /"reasons":\{"__proto__":5\},"warnings":\{"__proto__":6\}/);
  });
});


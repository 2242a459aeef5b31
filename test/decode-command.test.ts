/**
 * `vfp-emu decode` as a command: TSV and JSONL output of a trace written at test time (in os.tmpdir()),
 * packet numbers across batches, a reader of the output that goes away, and bad input (exit status 2, the packets before
 * the fault still written, the message naming the file and byte offset).
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UsageError } from '../src/core/errors';
import { StdoutClosed } from '../src/core/stdout';
import { flagList, flagString, parseArgs } from '../src/cli-args';
import { runDecode } from '../src/commands/decode';
import { TSV_HEADER } from '../src/decode/format';
import { buildFrame, buildVxlanFrame, dnsQuery } from '../src/packet/build';

/** A classic little-endian microsecond pcap of these frames (Ethernet). */
function pcapBytes(frames: Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0xa1b2c3d4, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeUInt32LE(262144, 16);
  h.writeUInt32LE(1, 20);
  parts.push(h);
  frames.forEach((f, k) => {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(1700000000 + k, 0);
    r.writeUInt32LE(k, 4);
    r.writeUInt32LE(f.length, 8);
    r.writeUInt32LE(f.length, 12);
    parts.push(r, Buffer.from(f));
  });
  return Buffer.concat(parts);
}

/** Collects what runDecode writes (`write` is its `out` or `err`). */
class Collect {
  text = '';
  readonly write = (s: string): void => {
    this.text += s;
  };
}

const tcpFrame = (k: number) =>
  buildFrame({
    ip: { version: 4, src: '10.244.1.5', dst: '10.96.0.20' },
    l4: { proto: 'tcp', sport: 40000 + (k % 20000), dport: 80, flags: 'S' },
  });

describe('vfp-emu decode (command)', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-decode-'));
  });
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const frames = [
    tcpFrame(0),
    buildFrame({
      eth: { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02', vlans: [{ id: 300, tpid: 0x88a8 }, { id: 7 }] },
      ip: { version: 6, src: '2001:db8::5', dst: 'fd00::53' },
      l4: { proto: 'udp', sport: 5353, dport: 53, payload: dnsQuery(1, 'web.default.svc.cluster.local', 28) },
    }),
    buildVxlanFrame({
      ip: { version: 4, src: '172.16.0.11', dst: '172.16.0.12' },
      sport: 50000,
      dport: 8472,
      vni: 1,
      inner: { ip: { version: 4, src: '10.244.1.5', dst: '10.244.2.7' }, l4: { proto: 'icmp', type: 8, id: 1, seq: 1 } },
    }),
  ];

  it('writes the TSV header and one row per packet', async () => {
    const file = path.join(dir, 'three.pcap');
    fs.writeFileSync(file, pcapBytes(frames));
    const out = new Collect();
    const code = await runDecode({ trace: file, format: 'tsv', vxlanPorts: [8472] }, out.write, new Collect().write);
    assert.equal(code, 0);
    const lines = out.text.split('\n');
    assert.equal(lines[0] + '\n', TSV_HEADER);
    assert.equal(lines.length, 5, 'header, 3 rows, final newline');
    assert.equal(lines[4], '');
    assert.equal(lines[1], `1\t${frames[0].length}\t${frames[0].length}\t02:00:00:00:00:01\t02:00:00:00:00:02\t\t10.244.1.5\t10.96.0.20\t6\t40000\t80\t\t\t\t\t\t\t`);
    assert.equal(
      lines[2],
      `2\t${frames[1].length}\t${frames[1].length}\t02:00:00:00:00:01\t02:00:00:00:00:02\t300\t2001:db8::5\tfd00::53\t17\t5353\t53\t\t\t\t\t\tweb.default.svc.cluster.local\t`,
    );
    const c3 = lines[3].split('\t');
    assert.deepEqual(c3.slice(6, 18), ['172.16.0.11', '172.16.0.12', '17', '50000', '8472', '8', '0', '1', '10.244.1.5', '10.244.2.7', '', '']);
  });

  it('without --vxlan-port 8472 the same packet is plain UDP', async () => {
    const file = path.join(dir, 'three.pcap');
    const out = new Collect();
    assert.equal(await runDecode({ trace: file, format: 'tsv', vxlanPorts: [] }, out.write, new Collect().write), 0);
    const c3 = out.text.split('\n')[3].split('\t');
    assert.deepEqual(c3.slice(13, 16), ['', '', '']);
  });

  it('writes JSONL: one object per packet, numbers as numbers', async () => {
    const file = path.join(dir, 'three.pcap');
    const out = new Collect();
    assert.equal(await runDecode({ trace: file, format: 'jsonl', vxlanPorts: [8472] }, out.write, new Collect().write), 0);
    const objs = out.text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(objs.length, 3);
    assert.equal(objs[0].dport, 80);
    assert.equal(objs[1].vlan, 300);
    assert.equal(objs[1].dns_qtype, 28);
    assert.equal(objs[2].vni, 1);
    assert.equal(objs[2].inner_dst, '10.244.2.7');
    assert.ok(!('vlan' in objs[0]), 'absent fields are omitted');
  });

  it('numbers packets across batches', async () => {
    const many = Array.from({ length: 9000 }, (_, k) => tcpFrame(k));
    const file = path.join(dir, 'many.pcap');
    fs.writeFileSync(file, pcapBytes(many));
    const out = new Collect();
    assert.equal(await runDecode({ trace: file, format: 'tsv', vxlanPorts: [] }, out.write, new Collect().write), 0);
    const lines = out.text.trimEnd().split('\n');
    assert.equal(lines.length, 9001);
    for (const k of [1, 4096, 4097, 8192, 9000]) assert.equal(lines[k].split('\t')[0], String(k));
    assert.equal(lines[9000].split('\t')[9], String(40000 + (8999 % 20000)));
  });

  it('stops at once when the reader of its output goes away (StdoutClosed, for the CLI to end quietly)', async () => {
    const file = path.join(dir, 'many.pcap');
    let writes = 0;
    const gone = (): void => {
      writes++;
      throw new StdoutClosed();
    };
    const err = new Collect();
    await assert.rejects(runDecode({ trace: file, format: 'tsv', vxlanPorts: [] }, gone, err.write), StdoutClosed);
    assert.equal(writes, 1, 'nothing more is written after the pipe closed');
    assert.equal(err.text, '');
  });

  it('bad input: the packets before the fault, then the message (file, byte offset) and status 2', async () => {
    const whole = pcapBytes(frames);
    const cut = whole.subarray(0, whole.length - 10); // the third record loses its last 10 bytes
    const file = path.join(dir, 'cut.pcap');
    fs.writeFileSync(file, cut);
    const out = new Collect();
    const err = new Collect();
    const code = await runDecode({ trace: file, format: 'tsv', vxlanPorts: [] }, out.write, err.write);
    assert.equal(code, 2);
    const lines = out.text.trimEnd().split('\n');
    assert.equal(lines.length, 3, 'header and the 2 whole packets');
    assert.equal(lines[2].split('\t')[0], '2');
    const thirdRecord = 24 + 16 + frames[0].length + 16 + frames[1].length;
    assert.ok(err.text.includes(file), err.text);
    assert.ok(err.text.includes(`byte offset ${thirdRecord}`), err.text);
  });

  it('a file that is not a capture: status 2 and a message, no rows', async () => {
    const file = path.join(dir, 'not.pcap');
    fs.writeFileSync(file, 'hello, this is text\n');
    const out = new Collect();
    const err = new Collect();
    assert.equal(await runDecode({ trace: file, format: 'tsv', vxlanPorts: [] }, out.write, err.write), 2);
    assert.equal(out.text, '');
    assert.ok(err.text.startsWith(`vfp-emu: ${file} at byte offset 0: `), err.text);
  });

  it('words a bad trace as replay does: one line, vfp-emu: FILE at byte offset N: ...', () => {
    const file = path.join(dir, 'not-a-capture.pcap');
    fs.writeFileSync(file, 'hello, this is text\n');
    const cli = path.resolve(__dirname, '..', 'src', 'cli.js');
    const decode = spawnSync(process.execPath, [cli, 'decode', file], { encoding: 'utf8' });
    const replay = spawnSync(process.execPath, [cli, 'replay', file, '--cluster', path.resolve(__dirname, '..', '..', 'traces', '_clusters', 'l2bridge', 'kubectl.json'), '--workers', '1'], { encoding: 'utf8' });
    assert.equal(decode.status, 2);
    assert.equal(replay.status, 2);
    assert.match(decode.stderr, /^vfp-emu: .* at byte offset 0: .*\n$/);
    assert.equal(decode.stderr, replay.stderr);
  });

  it('a file name holding ESC and U+202E: the message shows them as escapes, no raw control or bidi character, status 2', () => {
    const cli = path.resolve(__dirname, '..', 'src', 'cli.js');
    const missing = path.join(dir, 'tr\u001b[31mun\u202e.pcapng');
    const bad = path.join(dir, 'bad\u001b]0;title\u0007\u202e.pcap');
    const whole = pcapBytes(frames);
    fs.writeFileSync(bad, whole.subarray(0, whole.length - 10)); // read, then a fault: the reader's error (not the open's)
    for (const [file, shown] of [
      [missing, 'tr\\033[31mun\\u202E.pcapng'],
      [bad, 'bad\\033]0;title\\a\\u202E.pcap'],
    ]) {
      const r = spawnSync(process.execPath, [cli, 'decode', file], { encoding: 'utf8' });
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stdout === '', file === missing, 'the cut trace writes its whole packets first');
      assert.doesNotMatch(r.stderr.replace(/\n$/, ''), /[\p{Cc}\p{Cf}]/u, JSON.stringify(r.stderr));
      assert.ok(r.stderr.includes(shown), JSON.stringify(r.stderr));
      assert.match(r.stderr, /^vfp-emu: .*\n$/);
    }
  });

  it('refuses a bad format or VXLAN port given by a caller (UsageError)', async () => {
    const file = path.join(dir, 'three.pcap');
    await assert.rejects(runDecode({ trace: file, format: 'xml' as 'tsv', vxlanPorts: [] }, new Collect().write, new Collect().write), UsageError);
    await assert.rejects(runDecode({ trace: file, format: 'tsv', vxlanPorts: [NaN] }, new Collect().write, new Collect().write), UsageError);
  });

  it('parses its arguments as the CLI does, and refuses bad ones with status 2', () => {
    const a = parseArgs(['decode', '--format', 'jsonl', 't.pcap', '--vxlan-port', '8472', '--vxlan-port', '4790']);
    assert.deepEqual([a.positional, flagString(a, 'format'), flagList(a, 'vxlan-port')], [['t.pcap'], 'jsonl', ['8472', '4790']]);
    const cli = path.resolve(__dirname, '..', 'src', 'cli.js');
    const bads = [[], ['a', 'b'], ['t', '--format', 'xml'], ['t', '--vxlan-port', '70000'], ['t', '--vxlan-port'], ['t', '--nope']];
    for (const bad of bads) {
      const r = spawnSync(process.execPath, [cli, 'decode', ...bad], { encoding: 'utf8' });
      assert.equal(r.status, 2, JSON.stringify(bad));
      assert.match(r.stderr, /^vfp-emu: .*\n$/, JSON.stringify(bad));
      assert.equal(r.stdout, '', JSON.stringify(bad));
    }
  });
});

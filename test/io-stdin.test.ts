/**
 * Reading from stdin (`-`): a child process lists a capture fed through a pipe (in chunks, with pauses,
 * on a non-blocking stdin) and must print exactly what reading the file gives; `tcpdump -r FILE -w - |`
 * when tcpdump is installed; hostile lengths on a stream (where the file size cannot bound them).
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Batch } from '../src/core/batch';
import { createWriter } from '../src/io/writer';
import { corpusDir, corpusPresent, haveCommand, repoRoot, tmpFile } from './io-helpers';

const catCli = path.join(repoRoot, 'dist', 'src', 'io', 'cat-cli.js');
const nonBlockingChild = path.join(repoRoot, 'dist', 'test', 'io-stdin-child.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `node script args`, feeding `input` to its stdin in chunks of `chunk` bytes with short pauses. */
function runWithStdin(script: string, args: string[], input: Buffer, chunk: number, pauseEvery = 8): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
    child.stdin.on('error', () => undefined); // the child may stop reading early (bad input)
    let at = 0;
    let n = 0;
    const feed = (): void => {
      while (at < input.length) {
        const piece = input.subarray(at, Math.min(at + chunk, input.length));
        at += piece.length;
        const more = child.stdin.write(piece);
        if (++n % pauseEvery === 0) {
          setTimeout(feed, 3); // let the reader find the pipe empty now and then
          return;
        }
        if (!more) {
          child.stdin.once('drain', feed);
          return;
        }
      }
      child.stdin.end();
    };
    feed();
  });
}

function runFile(file: string): Run {
  const r = spawnSync(process.execPath, [catCli, file], { encoding: 'utf8', maxBuffer: 256 << 20 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A pcapng of two sections in both byte orders with SPB-like and optioned packets, and a pcap. */
function sampleCaptures(): string[] {
  const files: string[] = [];
  for (const format of ['pcap', 'pcapng'] as const) {
    const file = tmpFile(`stdin-sample.${format}`);
    const w = createWriter(file, format, { bigEndian: format === 'pcap' });
    if (format === 'pcapng') {
      w.addInterface({ linkType: 1, name: 'eth0' });
      w.addInterface({ linkType: 113, tsresol: 9 });
    }
    for (let k = 0; k < 3000; k++) {
      const len = (k * 37) % 1500;
      const data = new Uint8Array(len).map((_v, j) => (k * 7 + j) & 0xff);
      w.writePacket(data, {
        tsHi: format === 'pcap' ? 1700000000 + k : k,
        tsLo: format === 'pcap' ? k % 1000000 : k * 1000,
        iface: format === 'pcapng' ? k % 2 : undefined,
        options: format === 'pcapng' && k % 10 === 0 ? { comments: [`c${k}`], flags: k } : undefined,
      });
    }
    w.close();
    files.push(file);
  }
  return files;
}

describe('io: reading from stdin', function () {
  this.timeout(60000);
  let samples: string[] = [];
  before(function () {
    samples = sampleCaptures();
  });

  it('reads pcap and pcapng from a pipe fed in small pieces exactly as from the file', async function () {
    for (const file of samples) {
      const expected = runFile(file);
      assert.equal(expected.code, 0, expected.stderr);
      for (const chunk of [1, 777, 65536]) {
        const input = chunk === 1 ? fs.readFileSync(file).subarray(0, 1200) : fs.readFileSync(file);
        const got = await runWithStdin(catCli, ['-'], input, chunk, chunk === 1 ? 16 : 64);
        if (chunk === 1) {
          // A prefix fed byte by byte: the packets it holds, then a clean fault at the cut.
          assert.equal(got.code, 2);
          assert.match(got.stderr, /^- at byte offset \d+: /);
          const lines = got.stdout.trim().split('\n');
          assert.ok(lines.length > 2);
          assert.deepEqual(lines.slice(0, -1), expected.stdout.split('\n').slice(0, lines.length - 1));
        } else {
          assert.equal(got.code, 0, got.stderr);
          assert.equal(got.stdout, expected.stdout, `${path.basename(file)} in ${chunk}-byte pieces`);
        }
      }
    }
  });

  it('handles a non-blocking stdin (EAGAIN) by waiting', async function () {
    for (const file of samples) {
      const expected = runFile(file);
      const got = await runWithStdin(nonBlockingChild, [], fs.readFileSync(file), 4096, 8);
      assert.equal(got.code, 0, got.stderr);
      const waits = /eagain-waits=(\d+)/.exec(got.stderr);
      assert.ok(waits && Number(waits[1]) > 0, `the reader never met an empty non-blocking stdin: ${got.stderr}`);
      assert.equal(got.stdout, expected.stdout);
    }
  });

  it('reads a corpus pcapng with several sections and a big-endian pcap through a pipe', async function () {
    if (!corpusPresent()) this.skip(); // the corpus folder is absent
    for (const name of ['pcapng-testgen__be__test202.pcapng', 'pcapplusplus__nanosecs_big_endian.pcap', 'gopacket__le__test901.pcapng']) {
      const file = path.join(corpusDir, name);
      const expected = runFile(file);
      const got = await runWithStdin(catCli, ['-'], fs.readFileSync(file), 100);
      assert.equal(got.stdout, expected.stdout, name);
      assert.equal(got.code, expected.code, name);
      assert.equal(got.stderr.replace(/^- /, ''), expected.stderr.slice(file.length + 1), name);
    }
  });

  it('reads `tcpdump -r FILE -w -` through a pipe', async function () {
    if (!haveCommand('tcpdump')) this.skip(); // tcpdump is not installed
    const file = samples[0];
    const expected = runFile(file);
    const dumped = spawnSync('tcpdump', ['-r', file, '-w', '-'], { maxBuffer: 256 << 20 });
    assert.equal(dumped.status, 0, dumped.stderr.toString());
    const viaTcpdump = await new Promise<Run>((resolve, reject) => {
      const tcpdump = spawn('tcpdump', ['-r', file, '-w', '-'], { stdio: ['ignore', 'pipe', 'ignore'] });
      const reader = spawn(process.execPath, [catCli, '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
      tcpdump.stdout.pipe(reader.stdin);
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      reader.stdout.on('data', (d: Buffer) => out.push(d));
      reader.stderr.on('data', (d: Buffer) => err.push(d));
      reader.on('error', reject);
      reader.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
    });
    assert.equal(viaTcpdump.code, 0, viaTcpdump.stderr);
    assert.equal(viaTcpdump.stdout, expected.stdout);
  });

  it('bounds hostile lengths on a stream: a 100 MiB packet block, a 2 GiB skipped block, a 4 GiB caplen', async function () {
    const base = tmpFile('hostile-base.pcapng');
    const wb = createWriter(base, 'pcapng');
    wb.addInterface({ linkType: 1 });
    const b = new Batch({ capacity: 2 });
    b.reset(1);
    for (let k = 0; k < 2; k++) {
      const i = b.alloc(100);
      b.wirelen[i] = 100;
      b.ts[i] = 0;
    }
    wb.writeBatch(b);
    wb.close();
    const good = fs.readFileSync(base);
    for (const [type, len, re] of [
      [6, 100 << 20, /^- at byte offset (\d+): enhanced packet block length 104857600 is larger than the 16 MiB limit/],
      [0x0bad, 0x80000000, /^- at byte offset (\d+): block of type 0x00000bad length 2147483648 runs past the end of the input \(1048604 bytes left\)/],
    ] as const) {
      const hdr = Buffer.alloc(28);
      hdr.writeUInt32LE(type, 0);
      hdr.writeUInt32LE(len, 4);
      const got = await runWithStdin(catCli, ['-'], Buffer.concat([good, hdr, Buffer.alloc(1 << 20)]), 65536);
      assert.equal(got.code, 2);
      const m = re.exec(got.stderr);
      assert.ok(m, got.stderr);
      assert.equal(Number(m[1]), good.length);
      assert.match(got.stdout, /end packets=2\n$/);
    }
    const pcap = tmpFile('hostile.pcap');
    const wp = createWriter(pcap, 'pcap');
    wp.writeBatch(b);
    wp.close();
    const bytes = Buffer.concat([fs.readFileSync(pcap), Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])]);
    const got = await runWithStdin(catCli, ['-'], bytes, 4096);
    assert.equal(got.code, 2);
    assert.match(got.stderr, new RegExp(`^- at byte offset ${24 + 2 * 116}: record 3: caplen 4294967295 is larger than the maximum of 262144`));
  });
});

#!/usr/bin/env node
/**
 * `node dist/src/gen/cli.js --out FILE --packets N [--flows N] [--seed S] [--format pcap|pcapng]
 *  [--cluster-out FILE] [--network overlay|l2bridge] [--windows-nodes N] [--pods-per-node N]
 *  [--linux-pods N] [--services N] [--backends N] [--externals N] [--concurrency N] [--mtu N]
 *  [--gap-us N] [--start S] [--mix kind=weight,...] [--sizes size:weight,...]`
 *
 * Writes a generated trace (see trace.ts) and, with --cluster-out, the matching cluster as a kubectl List
 * JSON that `vfp-emu replay --cluster` reads. Prints one JSON summary line on stderr. Bad usage exits 2.
 *
 * `node dist/src/gen/cli.js pktmon IN.pcapng OUT.pcapng [--drop N@COMPONENT=REASON]... [--drop-comments]`:
 * IN's packets as microsoft/etl2pcapng writes a pktmon capture of them (src/gen/pktmon.ts).
 */

import * as fs from 'node:fs';
import { UsageError } from '../core/errors';
import { clusterList } from './layout';
import { pktmonMain } from './pktmon';
import { DEFAULT_MIX, TRAFFIC_KINDS, TraceFormat, TraceOptions, TrafficKind, writeTraceFile, type SizeWeight } from './trace';

const USAGE =
  'usage: node dist/src/gen/cli.js --out FILE --packets N [--flows N] [--seed S] [--format pcap|pcapng] [--cluster-out FILE]\n' +
  '       [--network overlay|l2bridge] [--windows-nodes N] [--pods-per-node N] [--linux-pods N] [--services N] [--backends N]\n' +
  '       [--externals N] [--concurrency N] [--mtu N] [--gap-us N] [--start EPOCH_S]\n' +
  `       [--mix kind=weight,...  kinds: ${TRAFFIC_KINDS.join(' ')}] [--sizes ipbytes:weight,...]`;

const INT_FLAGS = ['--packets', '--flows', '--seed', '--windows-nodes', '--pods-per-node', '--linux-pods', '--services', '--backends', '--externals', '--concurrency', '--mtu', '--gap-us', '--start'];
const STR_FLAGS = ['--out', '--format', '--cluster-out', '--network', '--mix', '--sizes'];

/** Parses the command line into writer arguments; throws UsageError naming the flag. */
function parseGenArgs(argv: string[]): { out: string; format: TraceFormat; clusterOut: string | null; opts: TraceOptions } {
  const v = new Map<string, string>();
  for (let k = 0; k < argv.length; k++) {
    let flag = argv[k];
    let value: string | undefined;
    const eq = flag.indexOf('=');
    if (flag.startsWith('--') && eq > 0) {
      value = flag.slice(eq + 1);
      flag = flag.slice(0, eq);
    }
    if (flag === '--help' || flag === '-h') throw new UsageError(USAGE);
    if (!INT_FLAGS.includes(flag) && !STR_FLAGS.includes(flag)) throw new UsageError(`unknown argument '${argv[k]}'\n${USAGE}`);
    if (value === undefined) {
      if (k + 1 >= argv.length) throw new UsageError(`${flag} needs a value`);
      value = argv[++k];
    }
    v.set(flag, value);
  }
  const int = (flag: string): number | undefined => {
    const s = v.get(flag);
    if (s === undefined) return undefined;
    if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))) throw new UsageError(`${flag}: '${s}' is not a non-negative integer`);
    return Number(s);
  };
  const out = v.get('--out');
  if (!out) throw new UsageError(`--out is required\n${USAGE}`);
  const packets = int('--packets');
  if (packets === undefined) throw new UsageError(`--packets is required\n${USAGE}`);
  const format = (v.get('--format') ?? (out.endsWith('.pcapng') ? 'pcapng' : 'pcap')) as TraceFormat;
  if (format !== 'pcap' && format !== 'pcapng') throw new UsageError(`--format: '${format}' is not pcap or pcapng`);
  const network = v.get('--network');
  if (network !== undefined && network !== 'overlay' && network !== 'l2bridge') throw new UsageError(`--network: '${network}' is not overlay or l2bridge`);

  let mix: Partial<Record<TrafficKind, number>> | undefined;
  const mixText = v.get('--mix');
  if (mixText !== undefined) {
    mix = {};
    for (const part of mixText.split(',')) {
      const m = /^([a-z-]+)=(\d+(?:\.\d+)?)$/.exec(part.trim());
      if (!m || !(m[1] in DEFAULT_MIX)) throw new UsageError(`--mix: '${part}' is not kind=weight (kinds: ${TRAFFIC_KINDS.join(', ')})`);
      mix[m[1] as TrafficKind] = Number(m[2]);
    }
  }
  let sizes: SizeWeight[] | undefined;
  const sizeText = v.get('--sizes');
  if (sizeText !== undefined) {
    sizes = sizeText.split(',').map((part) => {
      const m = /^(\d+):(\d+(?:\.\d+)?)$/.exec(part.trim());
      if (!m) throw new UsageError(`--sizes: '${part}' is not ipbytes:weight`);
      return { size: Number(m[1]), weight: Number(m[2]) };
    });
  }
  const opts: TraceOptions = {
    packets,
    flows: int('--flows'),
    seed: int('--seed'),
    network: network as TraceOptions['network'],
    windowsNodes: int('--windows-nodes'),
    podsPerNode: int('--pods-per-node'),
    linuxPods: int('--linux-pods'),
    services: int('--services'),
    backendsPerService: int('--backends'),
    externalHosts: int('--externals'),
    concurrency: int('--concurrency'),
    mtu: int('--mtu'),
    meanGapUs: int('--gap-us'),
    startTime: int('--start'),
    mix,
    sizes,
  };
  return { out, format, clusterOut: v.get('--cluster-out') ?? null, opts };
}

export function main(argv: string[]): number {
  try {
    if (argv[0] === 'pktmon') return pktmonMain(argv.slice(1));
    const a = parseGenArgs(argv);
    let r;
    try {
      r = writeTraceFile(a.out, a.format, a.opts);
    } catch (e) {
      if (e instanceof RangeError) throw new UsageError(e.message);
      throw e;
    }
    if (a.clusterOut) fs.writeFileSync(a.clusterOut, JSON.stringify(clusterList(r.layout), null, 2) + '\n');
    const pps = r.elapsedMs > 0 ? Math.round((r.packets / r.elapsedMs) * 1000) : 0;
    process.stderr.write(
      JSON.stringify({ out: a.out, format: a.format, packets: r.packets, flows: r.flows, bytes: r.bytes, elapsed_s: +(r.elapsedMs / 1000).toFixed(3), pps, flowsByKind: r.flowsByKind }) + '\n',
    );
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`vfp-emu-gen: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));

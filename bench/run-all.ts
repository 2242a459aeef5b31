/**
 * `npm run bench`: every benchmark in one run, in order: the micro-suites (benchmark.js, ns per packet:
 * decoder per header stack, rewrite primitives, VFP engine; the verdict-record encoder), the scale script (concurrent flows, Services,
 * spread and affinity), the engine on the e2e trace (bench/engine-trace.ts), then the end-to-end comparison with tcprewrite, tcpdump and pcap-parser. Each runs
 * in its own process (a fresh heap and JIT each time). Arguments are passed to e2e (e.g. `--runs 1`).
 *
 *   npm run bench            (npm run build && node dist/bench/run-all.js)
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const scripts: [string, string[]][] = [
  ['decode.bench.js', []],
  ['rewrite.bench.js', []],
  ['vfp.bench.js', []],
  ['verdict-encode.bench.js', []],
  ['scale.js', []],
  ['engine-trace.js', []],
  ['e2e.js', process.argv.slice(2)],
];

let failed = 0;
for (const [script, args] of scripts) {
  console.log(`\n=== ${script} ${args.join(' ')}`.trimEnd());
  const r = spawnSync(process.execPath, [path.join(__dirname, script), ...args], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.log(`${script} failed (exit ${r.status ?? r.signal})`);
    failed++;
  }
}
process.exitCode = failed > 0 ? 1 : 0;

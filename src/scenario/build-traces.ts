/**
 * Builds traces/<scenario>/trace.pcapng from traces/<scenario>/scenario.yaml (`npm run traces`).
 * The trace is a pcapng with one Ethernet interface in microseconds, one packet per `packets[]` entry,
 * each with a comment holding its `send` line, so a teacher opening it in Wireshark sees the intent.
 * Same scenario.yaml -> byte-identical file (test/scenarios.test.ts checks the committed files).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createWriter } from '../io/writer';
import { listScenarios, loadScenario, tracesDir, type Scenario } from './scenario';

/** Write the scenario's packets as pcapng to `file`. */
export function writeScenarioTrace(s: Scenario, file: string): void {
  const w = createWriter(file, 'pcapng');
  w.addInterface({ linkType: 1, tsresol: 6, name: 'scenario', description: s.name });
  for (const p of s.packets) {
    const ticks = Math.round(p.ts * 1e6);
    w.writePacket(p.frame, {
      tsHi: Math.floor(ticks / 2 ** 32),
      tsLo: ticks >>> 0,
      iface: 0,
      options: { comments: [p.send] },
    });
  }
  w.close();
}

/** Path of a scenario's committed trace. */
export function scenarioTracePath(s: Scenario): string {
  return path.join(s.dir, 'trace.pcapng');
}

if (require.main === module) {
  const dirs = process.argv.length > 2 ? process.argv.slice(2) : listScenarios(tracesDir());
  for (const dir of dirs) {
    const s = loadScenario(dir);
    const out = scenarioTracePath(s);
    writeScenarioTrace(s, out);
    process.stdout.write(`${path.relative(process.cwd(), out)}: ${s.packets.length} packets (${fs.statSync(out).size} bytes)\n`);
  }
}

/**
 * The pktmon summary's component names (src/commands/replay.ts componentNames): the capture is opened once
 * however many interfaces are asked for, including ones it does not have (it was opened again for each).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { componentNames } from '../src/commands/replay';
import { pktmonCapture } from '../src/gen/pktmon';

describe('pktmon component names', () => {
  it('opens the capture once, names every component, and "interface N" for one it lacks', () => {
    const repo = path.resolve(__dirname, '..', '..');
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vfp-pknames-'));
    const pk = path.join(tmp, 'pk.pcapng');
    fs.writeFileSync(pk, pktmonCapture(fs.readFileSync(path.join(repo, 'traces', '04-icmp-lesson', 'trace.pcapng')), { drops: new Map() }));
    // the module object itself (an `import * as` namespace is read-only): the reader calls its openSync
    const rawFs = require('node:fs') as { openSync: typeof fs.openSync };
    const real = rawFs.openSync;
    let opens = 0;
    rawFs.openSync = ((...a: Parameters<typeof fs.openSync>) => {
      if (a[0] === pk) opens++;
      return real(...a);
    }) as typeof fs.openSync;
    try {
      const n = componentNames(pk, true);
      const got = [0, 7, 1, 9, 2].map((g) => n.name(g));
      n.close();
      assert.equal(got[1], 'interface 7');
      assert.equal(got[3], 'interface 9');
      assert.match(got[4], /vmswitch\.sys/);
      assert.equal(opens, 1);
    } finally {
      rawFs.openSync = real;
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

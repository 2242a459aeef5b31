/**
 * Golden `explain` texts (OVS-style: the golden test *is* the explanation). Regenerate after a deliberate
 * change with `UPDATE_GOLDEN=1 npx mocha --no-config dist/test/vfp-explain.test.js`, then review the diff.
 */

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Batch } from '../src/core/batch';
import { decodeBatch } from '../src/decode/decoder';
import type { Dataplane } from '../src/vfp/engine';
import { Results } from '../src/vfp/results';
import { CLIENT, EXT, WEB0, WEB_SERVICE, cluster, dataplane, echo, ep, frame, service, tcp } from './vfp-fixtures.test';

const GOLDEN = path.resolve(__dirname, '../../test/golden');

/** Explains every packet of `frames` in order, one after the other (each on the state the earlier ones left). */
function explainAll(dp: Dataplane, frames: Uint8Array[]): string {
  const b = new Batch({ capacity: frames.length });
  b.reset(1);
  frames.forEach((f, k) => {
    const i = b.alloc(f.length);
    b.arena.set(f, b.off[i]);
    b.wirelen[i] = f.length;
    b.linktype[i] = 1;
    b.ts[i] = 1767225600 + k;
  });
  decodeBatch(b);
  const r = new Results(b.capacity);
  r.reset(b.count);
  const out: string[] = [];
  for (let i = 0; i < b.count; i++) out.push(dp.explainPacket(b, i, r));
  return out.join('\n');
}

function golden(name: string, text: string): void {
  const file = path.join(GOLDEN, name);
  if (process.env.UPDATE_GOLDEN === '1' || !fs.existsSync(file)) {
    fs.mkdirSync(GOLDEN, { recursive: true });
    fs.writeFileSync(file, text);
  }
  assert.equal(text, fs.readFileSync(file, 'utf8'), `explain text differs from ${file}`);
}

describe('vfp explain (golden texts)', () => {
  it('ICMP to the internet: the echo leaves un-NATed (no-return), its reply is dropped', () => {
    const dp = dataplane(cluster({ mode: 'l2bridge' }));
    const text = explainAll(dp, [frame(CLIENT.ip, EXT, echo(7), { src: CLIENT.mac }), frame(EXT, CLIENT.ip, echo(7, true))]);
    for (const s of ['layer SLB_NAT_LAYER', 'group SLB_GROUP_NAT_IPv4_OUT', 'SNAT_TCP_OUTBOUNDNAT_', 'Final packet:', 'Unified flow:', 'Actions:', 'Verdict: no-return (icmp-not-transposed)', 'Verdict: dropped (icmp-not-transposed)']) {
      assert.ok(text.includes(s), `missing '${s}'`);
    }
    golden('explain-icmp-no-return.txt', text);
  });

  it('DSR: the client\'s port load balances and DNATs only; the reply is translated back there', () => {
    const web = service('default', 'web', { ...WEB_SERVICE(), endpoints: [ep(WEB0.ip, 'win-2', 8080)] });
    const dp = dataplane(cluster({ enableDSR: true, services: [web] }));
    const text = explainAll(dp, [frame(CLIENT.ip, '10.96.0.20', tcp(43000, 80), { src: CLIENT.mac }), frame('10.96.0.20', CLIENT.ip, tcp(80, 43000, 'SA'))]);
    for (const s of ['layer LB_DSR', 'group LB_DSR_IPv4_OUT', 'rule LB_DSR_', 'DSR: DNAT only', 'node("win-2")', 'pod-view reply alias', 'Verdict: delivered']) {
      assert.ok(text.includes(s), `missing '${s}'`);
    }
    golden('explain-dsr.txt', text);
  });

  it('names what is not IP: an ARP by its EtherType, an 802.3 LLC frame (CDP, STP) as such', () => {
    const mac = [0x02, 0, 0x0a, 0xf4, 0x01, 0x05];
    const arp = Uint8Array.from([...Array(6).fill(0xff), ...mac, 0x08, 0x06, ...Array(28).fill(0)]);
    const llc = Uint8Array.from([0x01, 0x00, 0x0c, 0xcc, 0xcc, 0xcc, ...mac, 0x00, 0x26, 0xaa, 0xaa, 0x03, 0x00, 0x00, 0x0c, 0x20, 0x00, ...Array(30).fill(0)]);
    const [a, l] = explainAll(dataplane(cluster()), [arp, llc]).split('\n\n' + 'Packet 2').map((t, k) => (k === 1 ? 'Packet 2' + t : t));
    assert.match(a, /^Packet 1: EtherType 0x0806\n[\s\S]*EtherType 0x0806: not IP[\s\S]*Verdict: ignored \(not-ip\)/);
    assert.match(l, /^Packet 2: an 802\.3 frame \(LLC, no EtherType\)\n[\s\S]*an 802\.3 frame \(LLC, no EtherType\): not IP[\s\S]*Verdict: ignored \(not-ip\)/);
  });

  it('costs nothing when not tracing: process gives the same results as explain', () => {
    const frames = [frame(CLIENT.ip, EXT, echo(7)), frame(CLIENT.ip, EXT, tcp(41000, 80))];
    const a = dataplane(cluster());
    const b = dataplane(cluster());
    const text = explainAll(a, frames);
    assert.ok(text.length > 0);
    const bb = new Batch({ capacity: 2 });
    bb.reset(1);
    frames.forEach((f, k) => {
      const i = bb.alloc(f.length);
      bb.arena.set(f, bb.off[i]);
      bb.wirelen[i] = f.length;
      bb.linktype[i] = 1;
      bb.ts[i] = 1767225600 + k;
    });
    decodeBatch(bb);
    const r = new Results(2);
    b.process(bb, r);
    assert.deepEqual(b.counters().verdicts, a.counters().verdicts);
  });
});

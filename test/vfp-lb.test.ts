import { strict as assert } from 'node:assert';
import { chooseBackend, lbSalt, type NodeLb } from '../src/vfp/lb';

function lb(n: number, affinity: boolean): NodeLb {
  return {
    index: 0,
    service: 0,
    kind: 'ClusterIP',
    proto: 6,
    vip: 0x0a600014,
    vipText: '10.96.0.20',
    extPort: 80,
    intPort: 8080,
    dsr: false,
    preserveDip: false,
    affinity,
    hostAccess: false,
    sourceVip: 0,
    backends: Array.from({ length: n }, (_, k) => ({ ip: 0x0af40200 + k, ipText: `10.244.2.${k}`, port: 8080, id: k, node: 'win-2' })),
    localCount: 0,
    warn: 0,
    salt: lbSalt(0, 0),
    hostRule: null,
    dsrRule: null,
  };
}

describe('vfp load balancing (lb.ts)', () => {
  it('is a deterministic function of the seed and the 5-tuple (Distribution None)', () => {
    const l = lb(5, false);
    for (let sport = 40000; sport < 40100; sport++) {
      const a = chooseBackend(l, 1, 6, 0x0af40105, l.vip, sport, 80);
      const b = chooseBackend(l, 1, 6, 0x0af40105, l.vip, sport, 80);
      assert.equal(a, b);
    }
    const seed1 = Array.from({ length: 200 }, (_, k) => chooseBackend(l, 1, 6, 0x0af40105, l.vip, 40000 + k, 80));
    const seed2 = Array.from({ length: 200 }, (_, k) => chooseBackend(l, 2, 6, 0x0af40105, l.vip, 40000 + k, 80));
    assert.notDeepEqual(seed1, seed2, 'another seed gives another assignment');
  });

  it('spreads connections over every backend', () => {
    const l = lb(8, false);
    const counts = new Array(8).fill(0);
    for (let k = 0; k < 8000; k++) counts[chooseBackend(l, 7, 6, 0x0af40105 + (k % 50), l.vip, 30000 + k, 80)]++;
    const min = Math.min(...counts);
    const max = Math.max(...counts);
    assert.ok(min > 0 && max / min < 1.5, `spread ${counts.join(',')}`);
  });

  it('keeps a client on one backend with sessionAffinity ClientIP (Distribution SourceIP), whatever its ports', () => {
    const l = lb(8, true);
    for (let client = 0; client < 50; client++) {
      const ip = 0x0af40100 + client;
      const first = chooseBackend(l, 3, 6, ip, l.vip, 40000, 80);
      for (let sport = 40001; sport < 40050; sport++) assert.equal(chooseBackend(l, 3, 6, ip, l.vip, sport, 80), first);
    }
    const used = new Set(Array.from({ length: 200 }, (_, c) => chooseBackend(l, 3, 6, 0x0af40100 + c, l.vip, 1, 80)));
    assert.ok(used.size > 4, 'different clients still spread');
  });

  it('salts per Service port, so two ports of a Service need not agree but ClusterIP and NodePort of one port do', () => {
    assert.equal(lbSalt(3, 1), lbSalt(3, 1));
    assert.notEqual(lbSalt(3, 1), lbSalt(3, 2));
    assert.notEqual(lbSalt(3, 1), lbSalt(4, 1));
  });
});

import { strict as assert } from 'node:assert';
import { NAT_TCP, NAT_UDP, SnatPools, blockStart, indexOfPort, natSlot, ownerOfPort, stripeBlocks, type NatRange, type PortHolders } from '../src/vfp/snat';

const range = (count: number, owners: number, start = 49152): NatRange => ({ start, count, blockSize: 64, owners, ownerBase: 0 });
/** Connections that never expire (nothing is reclaimed). */
const never: PortHolders = {
  now: 0,
  isExpired: () => false,
  reclaim: () => {
    throw new Error('nothing should be reclaimed');
  },
  expiresAfter: () => Infinity,
};

/**
 * Endpoint 1 of a 2-owner range of 128 ports (its stripe: one block of 64), every port held by connections
 * 0..63, connection c expiring after `expiresAt(c)`; its PortHolders count the expiry checks and reclaim
 * through `release`.
 */
function fullPool(expiresAt: (c: number) => number) {
  const r = range(128, 2);
  const p = new SnatPools();
  const portOf = new Map<number, number>();
  const expiry = new Map<number, number>();
  const h = {
    now: 0,
    checks: 0,
    reclaimed: [] as number[],
    isExpired(c: number): boolean {
      h.checks++;
      return h.now > (expiry.get(c) ?? Infinity);
    },
    reclaim(c: number): void {
      h.reclaimed.push(c);
      p.release(r, 1, NAT_TCP, portOf.get(c) as number, c);
      expiry.delete(c);
    },
    expiresAfter(c: number): number {
      return expiry.get(c) ?? Infinity;
    },
  };
  for (let c = 0; c < 64; c++) {
    portOf.set(c, p.allocate(r, 1, NAT_TCP, c, h));
    expiry.set(c, expiresAt(c));
    // as the engine does when a connection's first packet sets its time (step-flow.ts tcpUpdate)
    p.expiryLowered(r, 1, NAT_TCP, expiresAt(c), portOf.get(c));
  }
  return { r, p, h, portOf, expiry };
}

describe('vfp OutboundNAT port blocks (snat.ts)', () => {
  it('cuts the dynamic range into 64-port blocks striped over the node\'s NAT owners (host first)', () => {
    const r = range(16384, 3); // 256 blocks, host + 2 endpoints
    assert.equal(stripeBlocks(r, 0), 86);
    assert.equal(stripeBlocks(r, 1), 85);
    assert.equal(stripeBlocks(r, 2), 85);
    assert.equal(blockStart(r, 1, 0), 49152 + 64);
    assert.equal(blockStart(r, 1, 1), 49152 + 4 * 64);
    assert.equal(ownerOfPort(r, 49152 + 64 + 5), 1);
    assert.equal(indexOfPort(r, 49152 + 64 + 5), 5);
    assert.equal(ownerOfPort(r, 49152 + 4 * 64 + 7), 1);
    assert.equal(indexOfPort(r, 49152 + 4 * 64 + 7), 64 + 7);
    assert.equal(ownerOfPort(r, 49152 + 2 * 64), 2);
    assert.equal(ownerOfPort(r, 49151), -1);
    assert.equal(ownerOfPort(r, 65536), -1);
  });

  it('hands an endpoint the ports of its first block in order, then its next block, then none', () => {
    const r = range(256, 2); // 4 blocks: host gets 0 and 2, the endpoint 1 and 3
    const p = new SnatPools();
    const got: number[] = [];
    for (let c = 0; c < 128; c++) got.push(p.allocate(r, 1, NAT_TCP, c, never));
    assert.deepEqual(got.slice(0, 3), [49216, 49217, 49218]);
    assert.equal(got[63], 49216 + 63);
    assert.equal(got[64], 49152 + 3 * 64);
    assert.equal(new Set(got).size, 128);
    assert.deepEqual(p.usage(r, 1, NAT_TCP), { inUse: 128, blocks: 2 });
    // the stripe is used up: snat-ports-exhausted
    assert.equal(p.allocate(r, 1, NAT_TCP, 999, never), -1);
    // UDP is its own port space
    assert.equal(p.allocate(r, 1, NAT_UDP, 1000, never), 49216);
    // the host's blocks are untouched
    assert.equal(p.allocate(r, 0, NAT_TCP, 1001, never), 49152);
  });

  it('frees a port only for the connection that holds it, and reuses it', () => {
    const r = range(128, 2);
    const p = new SnatPools();
    const a = p.allocate(r, 1, NAT_TCP, 1, never);
    p.release(r, 1, NAT_TCP, a, 2); // not its holder: no effect
    assert.equal(p.connectionOfPort(r, NAT_TCP, a), 1);
    p.release(r, 1, NAT_TCP, a, 1);
    assert.equal(p.connectionOfPort(r, NAT_TCP, a), -1);
    for (let c = 10; c < 73; c++) p.allocate(r, 1, NAT_TCP, c, never);
    assert.equal(p.allocate(r, 1, NAT_TCP, 99, never), a, 'the freed port is found again');
  });

  it('takes back a port whose connection expired (the reclaim callback frees it first)', () => {
    const r = range(128, 2);
    const p = new SnatPools();
    for (let c = 0; c < 64; c++) p.allocate(r, 1, NAT_TCP, c, never);
    const reclaimed: number[] = [];
    const holders: PortHolders = {
      now: 0,
      isExpired: (c) => c === 5,
      reclaim: (c) => {
        reclaimed.push(c);
        p.release(r, 1, NAT_TCP, 49216 + c, c);
      },
      expiresAfter: (c) => (c === 5 ? -1 : Infinity),
    };
    p.expiryLowered(r, 1, NAT_TCP, -1, 49216 + 5); // connection 5's packets set its time
    const port = p.allocate(r, 1, NAT_TCP, 500, holders);
    assert.deepEqual(reclaimed, [5]);
    assert.equal(port, 49216 + 5);
    assert.equal(p.connectionOfPort(r, NAT_TCP, port), 500);
  });

  it('an exhausted owner refuses new flows without rescanning its ports until one of them can expire', () => {
    const { r, p, h, portOf } = fullPool((c) => 100 + c); // connection c expires after t = 100 + c
    h.now = 50;
    assert.equal(p.allocate(r, 1, NAT_TCP, 1000, h), -1, 'every port busy: snat-ports-exhausted');
    const afterScan = h.checks;
    assert.equal(afterScan, 0, 'the first refusal reads no connection: each is known to expire after 100 + c, later than 50');
    for (let k = 0; k < 10; k++) assert.equal(p.allocate(r, 1, NAT_TCP, 1001 + k, h), -1);
    h.now = 100; // connection 0 expires only after 100
    assert.equal(p.allocate(r, 1, NAT_TCP, 1100, h), -1);
    assert.equal(h.checks, afterScan, 'no port was looked at again before any could expire');
    h.now = 100.5; // connection 0 has expired: its port is taken back, as a scan finds it
    assert.equal(p.allocate(r, 1, NAT_TCP, 1200, h), portOf.get(0));
    assert.deepEqual(h.reclaimed, [0]);
    assert.equal(h.checks, afterScan + 1, 'only the connection past its known expiry was read');
  });

  it('reads a busy port\'s connection only once the trace time passes what it knew of its expiry', () => {
    // 64 busy ports, connection c expiring after 100 + c; a port freed in the middle makes the pool scan
    const { r, p, h, portOf, expiry } = fullPool((c) => 100 + c);
    p.release(r, 1, NAT_TCP, portOf.get(40) as number, 40);
    expiry.delete(40);
    h.now = 50;
    assert.equal(p.allocate(r, 1, NAT_TCP, 1000, h), portOf.get(40), 'the free port is found');
    assert.equal(h.checks, 0, 'the 40 busy ports passed on the way are known to expire after 50');
    // trace time 120.5: connections 0..20 have expired; the scan from the cursor (41) passes 41..63 (known
    // to expire after 141..163: not read), then reads 0 (expired: taken back)
    h.now = 120.5;
    assert.equal(p.allocate(r, 1, NAT_TCP, 1001, h), portOf.get(0));
    assert.deepEqual(h.reclaimed, [0]);
    assert.equal(h.checks, 1, 'only connection 0 was read');
    assert.equal(p.allocate(r, 1, NAT_TCP, 1002, h), portOf.get(1), 'the next expired one, after the cursor');
    assert.equal(h.checks, 2, 'then only connection 1');
    // a connection whose time is not known to the pool (expiryLowered without its port) is read again
    h.now = 130;
    p.expiryLowered(r, 1, NAT_TCP, 125);
    assert.equal(p.allocate(r, 1, NAT_TCP, 1003, h), portOf.get(2));
    assert.equal(h.checks, 3);
  });

  it('a connection whose expiry moves earlier (FIN) makes the exhausted owner look again from then', () => {
    const { r, p, h, portOf, expiry } = fullPool(() => 1000);
    h.now = 10;
    assert.equal(p.allocate(r, 1, NAT_TCP, 500, h), -1);
    // connection 7 closes: it now expires after t = 20, earlier than the pool's remembered 1000
    expiry.set(7, 20);
    p.expiryLowered(r, 1, NAT_TCP, 20);
    h.now = 21;
    assert.equal(p.allocate(r, 1, NAT_TCP, 501, h), portOf.get(7));
    assert.deepEqual(h.reclaimed, [7]);
  });

  it('maps protocols to port spaces: TCP, UDP, ICMP; others have none', () => {
    assert.equal(natSlot(6), 0);
    assert.equal(natSlot(17), 1);
    assert.equal(natSlot(1), 2);
    assert.equal(natSlot(47), -1);
  });
});

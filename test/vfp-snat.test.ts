import { strict as assert } from 'node:assert';
import { NAT_TCP, NAT_UDP, SnatPools, blockStart, natSlot, ownerOfPort, stripeBlocks, type NatRange } from '../src/vfp/snat';

const range = (count: number, owners: number, start = 49152): NatRange => ({ start, count, blockSize: 64, owners, ownerBase: 0 });
const never = () => false;
const noReclaim = () => {
  throw new Error('nothing should be reclaimed');
};

describe('vfp OutboundNAT port blocks (snat.ts)', () => {
  it('cuts the dynamic range into 64-port blocks striped over the node\'s NAT owners (host first)', () => {
    const r = range(16384, 3); // 256 blocks, host + 2 endpoints
    assert.equal(stripeBlocks(r, 0), 86);
    assert.equal(stripeBlocks(r, 1), 85);
    assert.equal(stripeBlocks(r, 2), 85);
    assert.equal(blockStart(r, 1, 0), 49152 + 64);
    assert.equal(blockStart(r, 1, 1), 49152 + 4 * 64);
    assert.deepEqual(ownerOfPort(r, 49152 + 64 + 5), { owner: 1, index: 5 });
    assert.deepEqual(ownerOfPort(r, 49152 + 4 * 64 + 7), { owner: 1, index: 64 + 7 });
    assert.equal(ownerOfPort(r, 49151), null);
    assert.equal(ownerOfPort(r, 65536), null);
  });

  it('hands an endpoint the ports of its first block in order, then its next block, then none', () => {
    const r = range(256, 2); // 4 blocks: host gets 0 and 2, the endpoint 1 and 3
    const p = new SnatPools();
    const got: number[] = [];
    for (let c = 0; c < 128; c++) got.push(p.allocate(r, 1, NAT_TCP, c, never, noReclaim));
    assert.deepEqual(got.slice(0, 3), [49216, 49217, 49218]);
    assert.equal(got[63], 49216 + 63);
    assert.equal(got[64], 49152 + 3 * 64);
    assert.equal(new Set(got).size, 128);
    assert.deepEqual(p.usage(r, 1, NAT_TCP), { inUse: 128, blocks: 2 });
    // the stripe is used up: snat-ports-exhausted
    assert.equal(p.allocate(r, 1, NAT_TCP, 999, never, noReclaim), -1);
    // UDP is its own port space
    assert.equal(p.allocate(r, 1, NAT_UDP, 1000, never, noReclaim), 49216);
    // the host's blocks are untouched
    assert.equal(p.allocate(r, 0, NAT_TCP, 1001, never, noReclaim), 49152);
  });

  it('frees a port only for the connection that holds it, and reuses it', () => {
    const r = range(128, 2);
    const p = new SnatPools();
    const a = p.allocate(r, 1, NAT_TCP, 1, never, noReclaim);
    p.release(r, 1, NAT_TCP, a, 2); // not its holder: no effect
    assert.equal(p.connectionOfPort(r, NAT_TCP, a), 1);
    p.release(r, 1, NAT_TCP, a, 1);
    assert.equal(p.connectionOfPort(r, NAT_TCP, a), -1);
    for (let c = 10; c < 73; c++) p.allocate(r, 1, NAT_TCP, c, never, noReclaim);
    assert.equal(p.allocate(r, 1, NAT_TCP, 99, never, noReclaim), a, 'the freed port is found again');
  });

  it('takes back a port whose connection expired (the reclaim callback frees it first)', () => {
    const r = range(128, 2);
    const p = new SnatPools();
    for (let c = 0; c < 64; c++) p.allocate(r, 1, NAT_TCP, c, never, noReclaim);
    const expired = (c: number) => c === 5;
    const reclaimed: number[] = [];
    const port = p.allocate(r, 1, NAT_TCP, 500, expired, (c) => {
      reclaimed.push(c);
      p.release(r, 1, NAT_TCP, 49216 + c, c);
    });
    assert.deepEqual(reclaimed, [5]);
    assert.equal(port, 49216 + 5);
    assert.equal(p.connectionOfPort(r, NAT_TCP, port), 500);
  });

  it('maps protocols to port spaces: TCP, UDP, ICMP; others have none', () => {
    assert.equal(natSlot(6), 0);
    assert.equal(natSlot(17), 1);
    assert.equal(natSlot(1), 2);
    assert.equal(natSlot(47), -1);
  });
});

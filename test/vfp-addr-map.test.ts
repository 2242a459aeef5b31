import { strict as assert } from 'node:assert';
import { IpPortSet } from '../src/vfp/addr-map';

describe('vfp endpoint set (addr-map.ts IpPortSet)', () => {
  it('holds (address, port) pairs, tells them apart by either half, and keeps them through growth', () => {
    const s = new IpPortSet(2);
    const ip = (a: number, b: number) => ((10 << 24) | (244 << 16) | (a << 8) | b) >>> 0;
    for (let k = 0; k < 500; k++) s.add(ip(k >> 8, k & 255), 8000 + (k % 7));
    s.add(ip(0, 0), 8000); // again: no duplicate
    assert.equal(s.size, 500);
    for (let k = 0; k < 500; k++) assert.ok(s.has(ip(k >> 8, k & 255), 8000 + (k % 7)), `endpoint ${k}`);
    assert.ok(!s.has(ip(0, 0), 8001), 'same address, other port');
    assert.ok(!s.has(ip(9, 9), 8000), 'other address, same port');
    // addresses above 2^31 and ports 0 and 65535 are ordinary members
    s.add(0xfffffffe, 0);
    s.add(0xc0a80001, 65535);
    assert.ok(s.has(0xfffffffe, 0) && s.has(-2, 0), 'an address as u32 or as int32');
    assert.ok(s.has(0xc0a80001, 65535));
    assert.ok(!s.has(0xc0a80001, 0));
  });
});

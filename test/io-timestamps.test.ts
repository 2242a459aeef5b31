/**
 * Timestamps: formatEpoch prints what tshark 4.0 prints as frame.time_epoch (the corpus test checks it
 * on real files; these cases run without the corpus), and the exact unit conversions the writer uses.
 */
import { strict as assert } from 'node:assert';
import { Batch } from '../src/core/batch';
import { InterfaceInfo } from '../src/io/reader';
import { formatEpoch, secFracToTicks, ticksToSecFrac, tsResult, tsresolFromUnits, unitsFromTsresol } from '../src/io/timestamps';

function one(hi: number, lo: number, ts = 0): Batch {
  const b = new Batch({ capacity: 1 });
  b.reset(1);
  b.alloc(0);
  b.tsHi[0] = hi;
  b.tsLo[0] = lo;
  b.ts[0] = ts;
  return b;
}

const pcapUsec: InterfaceInfo = { linkType: 1, snapLen: 0, tsUnitsPerSec: 1e6, tsresolRaw: 6, tsOffset: 0, tsKind: 'sec-frac', section: 0 };
const pcapNsec: InterfaceInfo = { ...pcapUsec, tsUnitsPerSec: 1e9, tsresolRaw: 9 };
const ng = (units: number, tsresolRaw: number, tsOffset = 0): InterfaceInfo => ({ ...pcapUsec, tsKind: 'ticks64', tsUnitsPerSec: units, tsresolRaw, tsOffset });

describe('io: timestamps', function () {
  it('formats classic pcap times as tshark does, including invalid fractions', function () {
    assert.equal(formatEpoch(one(1418145369, 999999), 0, pcapUsec), '1418145369.999999000');
    // tcpdump__timestamp_invalid_micro.pcap: a fraction of 1000000 us prints as 10 digits.
    assert.equal(formatEpoch(one(1418145370, 1000000), 0, pcapUsec), '1418145370.1000000000');
    // A fraction whose nanoseconds overflow a C int prints negative (suricata bug-6875 packet 2).
    assert.equal(formatEpoch(one(1409179648, 4211277), 0, pcapUsec), '-1409179648.083690296');
    assert.equal(formatEpoch(one(980658802, 1882137472), 0, pcapNsec), '980658802.1882137472');
    assert.equal(formatEpoch(one(5, 7), 0, pcapNsec), '5.000000007');
  });

  it('formats pcapng times: resolutions, if_tsoffset, beyond 2106, no timestamp', function () {
    // 2^32 seconds in microseconds (tcpdump__time_2106_overflow.pcapng).
    const t = 4294967296n * 1000000n;
    assert.equal(formatEpoch(one(Number(t >> 32n), Number(t & 0xffffffffn)), 0, ng(1e6, 6)), '4294967296.000000000');
    // 2^-8 s units (gopacket test902): 1519128000 s + 50/256 s.
    const u = 1519128000n * 256n + 50n;
    assert.equal(formatEpoch(one(Number(u >> 32n), Number(u & 0xffffffffn)), 0, ng(256, 0x88)), '1519128000.195312500');
    assert.equal(formatEpoch(one(0x17a, 0x12345678), 0, ng(1e9, 9)), '1623.803057784');
    assert.equal(formatEpoch(one(5, 0x12345678), 0, ng(256, 0x88, 1000)), '85080126.468750000');
    assert.equal(formatEpoch(one(0, 1500000), 0, ng(1e6, 6, -100)), '-99.500000000');
    // Finer than 1 ns: truncated to ns (tshark 4.0 overflows 64 bits here and prints .010339615).
    assert.equal(formatEpoch(one(0x5a0000, 0x12345678), 0, ng(1e12, 12, -100)), '25232.748209378');
    assert.equal(formatEpoch(one(0, 0, NaN), 0, ng(1e6, 6)), '');
  });

  it('maps if_tsresol bytes to units and back', function () {
    assert.equal(unitsFromTsresol(6), 1e6);
    assert.equal(unitsFromTsresol(9), 1e9);
    assert.equal(unitsFromTsresol(0x88), 256);
    assert.equal(unitsFromTsresol(19), 1e19);
    assert.equal(unitsFromTsresol(20), null);
    assert.equal(unitsFromTsresol(0x80 | 63), 2 ** 63);
    assert.equal(unitsFromTsresol(0x80 | 64), null);
    for (const r of [0, 3, 6, 9, 12, 0x80, 0x88, 0x9f]) assert.equal(tsresolFromUnits(unitsFromTsresol(r) as number), r === 0x80 ? 0 : r);
    assert.equal(tsresolFromUnits(1000 * 3), null);
  });

  it('converts seconds+fraction and 64-bit ticks exactly', function () {
    let s = 12345;
    const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0);
    for (let k = 0; k < 2000; k++) {
      const units = [1e6, 1e9, 256, 1e3, 2 ** 20][k % 5];
      const sec = rnd();
      const frac = rnd() % units;
      secFracToTicks(sec, frac, units, units);
      const ticks = BigInt(sec) * BigInt(units) + BigInt(frac);
      assert.equal(BigInt(tsResult[0]) * 4294967296n + BigInt(tsResult[1]), ticks, `${sec}.${frac} @${units}`);
      const hi = Number(ticks >> 32n);
      const lo = Number(ticks & 0xffffffffn);
      for (const out of [units, 1e6, 1e9]) {
        ticksToSecFrac(hi, lo, units, out);
        assert.equal(tsResult[0], sec);
        assert.equal(BigInt(tsResult[1]), (BigInt(frac) * BigInt(out)) / BigInt(units), `fraction of ${sec}.${frac} @${units} in ${out}`);
      }
    }
    // Units above 2^32 go through BigInt.
    ticksToSecFrac(0xffffffff, 0xffffffff, 2 ** 40, 1e9);
    assert.equal(tsResult[0], Number(0xffffffffffffffffn / 2n ** 40n));
  });
});

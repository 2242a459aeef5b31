/**
 * Timestamps: how the raw `tsHi`/`tsLo` columns a reader sets turn into seconds, text and other units.
 *
 * Two kinds of interface (InterfaceInfo.tsKind):
 * - 'sec-frac' (classic pcap): tsHi = seconds, tsLo = fraction in `tsUnitsPerSec` units (1e6 or 1e9);
 * - 'ticks64' (pcapng): tsHi:tsLo = one 64-bit count of 1/`tsUnitsPerSec` seconds since the epoch,
 *   plus `tsOffset` seconds (if_tsoffset).
 *
 * `formatEpoch` prints a packet's time exactly as tshark 4.0 prints `frame.time_epoch` (9 decimals, and
 * the same quirks for invalid fractions). The conversions are exact integer math on doubles (all
 * intermediate values < 2^53), with a BigInt fallback for unusual resolutions; the writer uses them when
 * the output's units differ from the input's.
 */
import type { Batch } from '../core/batch';

export type TsKind = 'sec-frac' | 'ticks64';

/** What a timestamp conversion needs to know about an interface (a subset of InterfaceInfo). */
export interface TsUnits {
  tsKind: TsKind;
  /** Timestamp units per second. */
  tsUnitsPerSec: number;
  /** Seconds added to every timestamp (pcapng if_tsoffset). */
  tsOffset: number;
}

const TWO32 = 4294967296;

/**
 * Units per second for a pcapng if_tsresol byte: 10^n, or 2^n when the top bit is set. Null when the
 * result does not fit in 64 bits (10^20 and up, 2^64 and up).
 */
export function unitsFromTsresol(raw: number): number | null {
  const exp = raw & 0x7f;
  if (raw & 0x80) return exp < 64 ? 2 ** exp : null;
  return exp < 20 ? 10 ** exp : null; // 10^n is an exact double for n <= 22
}

/** pcapng if_tsresol byte for a number of units per second (10^n or 2^n), or null when it is neither. */
export function tsresolFromUnits(units: number): number | null {
  for (let e = 0; e < 20; e++) if (10 ** e === units) return e;
  for (let e = 0; e < 64; e++) if (2 ** e === units) return 0x80 | e;
  return null;
}

/** 9-digit zero padding (longer numbers stay longer, as C's %09d does). */
function pad9(n: number | bigint): string {
  const s = String(n);
  return s.length >= 9 ? s : '000000000'.slice(s.length) + s;
}

/**
 * The packet's time as tshark prints `frame.time_epoch`: `seconds.nnnnnnnnn`; '' for a packet without a
 * timestamp (pcapng Simple Packet Block, `ts` NaN).
 *
 * Classic pcap follows wiretap: nanoseconds = fraction * 1000 (microsecond files) kept as a C int, so an
 * invalid fraction of 1000000 prints as `.1000000000` and a larger one wraps to a negative value that is
 * printed with a leading '-'. pcapng: seconds = ticks / units, nanoseconds = the remainder scaled to 1e9,
 * then if_tsoffset added to the seconds.
 */
export function formatEpoch(batch: Batch, i: number, iface: TsUnits): string {
  if (Number.isNaN(batch.ts[i])) return '';
  const hi = batch.tsHi[i];
  const lo = batch.tsLo[i];
  if (iface.tsKind === 'sec-frac') {
    const secs = hi + iface.tsOffset;
    const nsecs = iface.tsUnitsPerSec === 1e9 ? lo | 0 : Math.imul(lo, 1e9 / iface.tsUnitsPerSec);
    if (nsecs < 0) return (secs >= 0 ? '-' : '') + secs + '.' + pad9(-nsecs);
    return secs + '.' + pad9(nsecs);
  }
  const ticks = (BigInt(hi) << 32n) | BigInt(lo);
  const units = BigInt(iface.tsUnitsPerSec);
  const secs = ticks / units + BigInt(iface.tsOffset);
  const rem = ticks % units;
  const nsecs = units > 1000000000n ? rem / (units / 1000000000n) : (rem * 1000000000n) / units;
  return secs + '.' + pad9(nsecs);
}

/** Scratch result of the conversions below: [high or seconds, low or fraction]. Read it right away. */
export const tsResult = new Float64Array(2);

/**
 * (seconds, fraction in `fracUnits`) -> 64-bit ticks of `outUnits`, as [hi, lo] in `tsResult`.
 * Exact; fast path when both units are equal and at most 2^32 (every pcap file).
 */
export function secFracToTicks(sec: number, frac: number, fracUnits: number, outUnits: number): void {
  if (fracUnits === outUnits && outUnits <= TWO32) {
    // sec * units + frac with every partial product below 2^53.
    const sLo = sec % 65536;
    const sHi = (sec - sLo) / 65536;
    const p0 = sLo * outUnits + frac;
    const p1 = sHi * outUnits;
    const p1Lo = p1 % 65536;
    const low = p1Lo * 65536 + p0;
    const lowLo = low % TWO32;
    tsResult[0] = (p1 - p1Lo) / 65536 + (low - lowLo) / TWO32;
    tsResult[1] = lowLo;
    return;
  }
  const t = (BigInt(sec) * BigInt(outUnits)) + (BigInt(frac) * BigInt(outUnits)) / BigInt(fracUnits);
  tsResult[0] = Number((t >> 32n) & 0xffffffffn);
  tsResult[1] = Number(t & 0xffffffffn);
}

/**
 * 64-bit ticks of `units` -> (seconds, fraction in `fracUnits`) in `tsResult`, truncating. Exact long
 * division for units up to 2^32; BigInt otherwise.
 */
export function ticksToSecFrac(hi: number, lo: number, units: number, fracUnits: number): void {
  if (units <= TWO32) {
    const qHi = Math.floor(hi / units);
    let r = hi - qHi * units;
    let x = r * 65536 + (lo >>> 16);
    const q1 = Math.floor(x / units);
    r = x - q1 * units;
    x = r * 65536 + (lo & 0xffff);
    const q0 = Math.floor(x / units);
    r = x - q0 * units;
    tsResult[0] = qHi * TWO32 + q1 * 65536 + q0;
    if (units === fracUnits) tsResult[1] = r;
    else if (r * fracUnits < 2 ** 53) tsResult[1] = Math.floor((r * fracUnits) / units);
    else tsResult[1] = Number((BigInt(r) * BigInt(fracUnits)) / BigInt(units));
    return;
  }
  const t = (BigInt(hi) << 32n) | BigInt(lo);
  const u = BigInt(units);
  tsResult[0] = Number(t / u);
  tsResult[1] = Number(((t % u) * BigInt(fracUnits)) / u);
}

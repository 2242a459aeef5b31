/**
 * Address conversions between the forms users write (dotted IPv4, RFC 4291 IPv6 text, `aa:bb:cc:dd:ee:ff`
 * or `AA-BB-CC-DD-EE-FF` MACs) and the forms packets and batch columns hold (unsigned 32-bit IPv4
 * numbers, 16-byte IPv6 arrays, 6-byte MACs, or a MAC as a (hi16, lo32) number pair for typed-array
 * tables). Not for the hot path: parsing allocates. Throws a plain Error on bad text; callers that read
 * user files wrap it in an InputError naming the field.
 */

/** Parses dotted-quad IPv4 text to an unsigned 32-bit number. */
export function ipv4ToU32(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4) throw new Error(`not an IPv4 address: '${text}'`);
  let v = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) throw new Error(`not an IPv4 address: '${text}'`);
    const n = Number(p);
    if (n > 255) throw new Error(`not an IPv4 address: '${text}'`);
    v = v * 256 + n;
  }
  return v >>> 0;
}

/** Formats an unsigned 32-bit IPv4 number as dotted-quad text. */
export function u32ToIpv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}

/** Accepts an IPv4 address as text or as a 32-bit number; returns the number. */
export function toU32(addr: string | number): number {
  return typeof addr === 'number' ? addr >>> 0 : ipv4ToU32(addr);
}

/** Parses IPv6 text (with `::` and an optional trailing dotted IPv4) into 16 bytes. */
export function parseIpv6(text: string): Uint8Array {
  const out = new Uint8Array(16);
  const bad = () => new Error(`not an IPv6 address: '${text}'`);
  const halves = text.split('::');
  if (halves.length > 2) throw bad();
  const words = (s: string): number[] => {
    if (s === '') return [];
    const res: number[] = [];
    const parts = s.split(':');
    for (let k = 0; k < parts.length; k++) {
      const p = parts[k];
      if (k === parts.length - 1 && p.includes('.')) {
        const v = ipv4ToU32(p);
        res.push(v >>> 16, v & 0xffff);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) throw bad();
        res.push(parseInt(p, 16));
      }
    }
    return res;
  };
  const head = words(halves[0]);
  const tail = halves.length === 2 ? words(halves[1]) : [];
  if (halves.length === 1 ? head.length !== 8 : head.length + tail.length > 7) throw bad();
  const all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  for (let k = 0; k < 8; k++) {
    out[2 * k] = all[k] >>> 8;
    out[2 * k + 1] = all[k] & 0xff;
  }
  return out;
}

/** A MAC address as text (`aa:bb:cc:dd:ee:ff` or with `-`), 6 bytes, or an array of 6 numbers. */
export type MacLike = string | Uint8Array | readonly number[];

/** Parses a MAC to 6 bytes (copies when given bytes). */
export function parseMac(mac: MacLike): Uint8Array {
  if (typeof mac !== 'string') {
    if (mac.length !== 6) throw new Error(`a MAC address has 6 bytes, got ${mac.length}`);
    return Uint8Array.from(mac);
  }
  const parts = mac.split(/[:-]/);
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p))) throw new Error(`not a MAC address: '${mac}'`);
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

/** Formats 6 bytes at `a[o]` as lower-case `aa:bb:cc:dd:ee:ff`. */
export function formatMac(a: Uint8Array, o = 0): string {
  let s = '';
  for (let k = 0; k < 6; k++) s += (k ? ':' : '') + a[o + k].toString(16).padStart(2, '0');
  return s;
}

/** The first two bytes of a MAC as a 16-bit number (for (hi, lo) MAC tables). */
export function macHi(mac: MacLike): number {
  const m = parseMac(mac);
  return (m[0] << 8) | m[1];
}

/** The last four bytes of a MAC as an unsigned 32-bit number (for (hi, lo) MAC tables). */
export function macLo(mac: MacLike): number {
  const m = parseMac(mac);
  return ((m[2] << 24) | (m[3] << 16) | (m[4] << 8) | m[5]) >>> 0;
}

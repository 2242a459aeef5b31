/**
 * The one-line packet notation of scenario files (traces/<name>/scenario.yaml, `packets[].send`).
 *
 *   <proto> <src>[:port] > <dst>[:port] [FLAGS] [key=value]...  [| <inner packet>]
 *
 * proto: tcp | udp | icmp (IPv4 or ICMPv6 by address family) | dns (UDP, a DNS query) | vxlan (UDP
 * to port 4789 by default, wrapping the packet after `|`). IPv6 addresses with a port are written
 * `[fd00::1]:80`. FLAGS for tcp are letters (S, SA, A, PA, FA, R). Keys:
 *   seq= ack= (tcp), len= (payload bytes, default 0; tcp/udp), id= seq= (icmp echo),
 *   type=echo|echo-reply|<number> code=<n> (icmp; a bare `echo`, `echo-reply`, ... is type=), q=<name> qtype=A|AAAA|<n> qid=<n> (dns),
 *   vni=<n> (vxlan), ttl=<n>, smac= dmac= (Ethernet addresses), vlan=<id>.
 * Examples:
 *   icmp 10.244.1.5 > 203.0.113.10 type=echo id=1 seq=1
 *   tcp 10.244.1.5:40000 > 203.0.113.10:80 S seq=1000
 *   dns 10.244.1.5:53000 > 10.96.0.10:53 q=kubernetes.default
 *   vxlan 10.127.130.10:49200 > 10.127.130.11 vni=4097 | tcp 10.244.0.3:80 > 10.244.1.5:40000 SA
 *
 * Ethernet addresses default to locally administered MACs derived from the IP addresses
 * (02:00 + the low 4 bytes), so a line never needs them; a scenario that cares gives smac/dmac.
 *
 * A line is read whole or refused (PacketLineError, naming the word): a key its protocol does not take
 * (the error lists the keys it takes), a key given twice, flags on anything but tcp, and a value that does
 * not fit the header field it fills (seq= ack= 32 bits on tcp, 16 on icmp; id= qid= qtype= 16; ttl= code=
 * 8; vlan= 12; vni= 24; len= what the 16-bit IPv4 total length / IPv6 payload length leaves after the
 * headers, and for vxlan the inner frame must fit the outer packet) are refused, never wrapped or ignored.
 */
import { parseIPv6 } from '../core/ip';
import { buildFrame, buildVxlanFrame, dnsQuery, DNS_TYPE, type FrameSpec, type L4Spec } from '../packet/build';

export class PacketLineError extends Error {}

interface Endpoint {
  ip: string;
  v6: boolean;
  port: number | null;
}

function parseEndpoint(word: string): Endpoint {
  let ip: string;
  let port: string | undefined;
  if (word.startsWith('[')) {
    const close = word.indexOf(']');
    if (close < 0) throw new PacketLineError(`'${word}': missing ']'`);
    ip = word.slice(1, close);
    const rest = word.slice(close + 1);
    if (rest.startsWith(':')) port = rest.slice(1);
    else if (rest !== '') throw new PacketLineError(`'${word}': expected ':port' after ']'`);
  } else if (word.split(':').length > 2) {
    ip = word; // bare IPv6, no port
  } else {
    const c = word.indexOf(':');
    ip = c < 0 ? word : word.slice(0, c);
    port = c < 0 ? undefined : word.slice(c + 1);
  }
  const v6 = ip.includes(':');
  if (v6 && parseIPv6(ip) === null) throw new PacketLineError(`'${ip}' is not an IPv4 or IPv6 address`);
  if (!v6 && (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip) || ip.split('.').some((o) => Number(o) > 255))) throw new PacketLineError(`'${ip}' is not an IPv4 or IPv6 address`);
  let p: number | null = null;
  if (port !== undefined) {
    p = Number(port);
    if (!/^\d+$/.test(port) || p > 65535) throw new PacketLineError(`'${word}': bad port '${port}'`);
  }
  return { ip, v6, port: p };
}

function macFor(ip: string, v6: boolean): string {
  let b: number[];
  if (!v6) b = ip.split('.').map(Number);
  else {
    const h = ip.replace(/[^0-9a-f]/gi, '').padStart(8, '0').slice(-8);
    b = [0, 2, 4, 6].map((k) => parseInt(h.slice(k, k + 2), 16));
  }
  return ['02', '00', ...b.map((x) => x.toString(16).padStart(2, '0'))].join(':');
}

const ICMP_TYPES: Record<string, [number, number]> = {
  // name: [ICMPv4 type, ICMPv6 type]
  echo: [8, 128],
  'echo-request': [8, 128],
  'echo-reply': [0, 129],
  unreachable: [3, 1],
  'time-exceeded': [11, 3],
};

/** Every line takes these keys (the IP and Ethernet headers). */
const COMMON_KEYS = ['ttl', 'smac', 'dmac', 'vlan'] as const;

/** The keys of each protocol (besides COMMON_KEYS). */
const PROTO_KEYS: Readonly<Record<string, readonly string[]>> = {
  tcp: ['seq', 'ack', 'len'],
  udp: ['len'],
  dns: ['q', 'qtype', 'qid'],
  icmp: ['type', 'code', 'id', 'seq', 'len'],
  vxlan: ['vni'],
};

/** The L4 header bytes that come before a `len=` payload, by protocol. */
const L4_HEADER: Readonly<Record<string, number>> = { tcp: 20, udp: 8, icmp: 8 };

/** The most bytes an IP length field lets follow the IP header: 65535 less IPv4's own 20 (IPv6 counts only its payload). */
const ipRoom = (v6: boolean): number => 65535 - (v6 ? 0 : 20);

const MAC_TEXT = /^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$/i;

/** `q=` as a DNS name: labels of 1 to 63 printable ASCII characters, at most 255 bytes encoded (RFC 1035 2.3.4). */
function checkDnsName(q: string): void {
  const t = q.endsWith('.') ? q.slice(0, -1) : q;
  const labels = t === '' ? [] : t.split('.');
  if (!/^[\x21-\x7e]*$/.test(t) || labels.some((l) => l.length === 0 || l.length > 63) || t.length + 2 > 255) {
    throw new PacketLineError(`q=${q}: not a DNS name (labels of 1 to 63 printable ASCII characters, at most 255 bytes)`);
  }
}

/** The key=value words of a `proto` line (a bare ICMP type name is type=) and its flags word; refuses what the line cannot hold. */
function readWords(proto: string, words: string[]): { keys: Map<string, string>; flags: string } {
  const accepted = [...PROTO_KEYS[proto], ...COMMON_KEYS];
  const keys = new Map<string, string>();
  let flags = '';
  const set = (k: string, v: string, w: string): void => {
    if (!accepted.includes(k)) throw new PacketLineError(`unknown key '${k}' in '${w}' (${proto} takes ${accepted.map((x) => `${x}=`).join(' ')})`);
    if (keys.has(k)) throw new PacketLineError(`${k}= given twice ('${w}')`);
    keys.set(k, v);
  };
  for (const w of words) {
    const eq = w.indexOf('=');
    if (eq > 0) set(w.slice(0, eq).toLowerCase(), w.slice(eq + 1), w);
    else if (proto === 'icmp' && Object.prototype.hasOwnProperty.call(ICMP_TYPES, w.toLowerCase())) set('type', w.toLowerCase(), w);
    else if (/^[SAFRPUEC]+$/.test(w)) {
      if (proto !== 'tcp') throw new PacketLineError(`flags '${w}' are for tcp only`);
      if (flags !== '') throw new PacketLineError(`flags given twice ('${flags}', '${w}')`);
      flags = w;
    } else throw new PacketLineError(`unknown word '${w}' (flags are letters like SA, options are key=value)`);
  }
  for (const k of ['smac', 'dmac']) {
    const m = keys.get(k);
    if (m !== undefined && !MAC_TEXT.test(m)) throw new PacketLineError(`${k}=${m}: not a MAC address (aa:bb:cc:dd:ee:ff)`);
  }
  const q = keys.get('q');
  if (q !== undefined) checkDnsName(q);
  return { keys, flags };
}

/** Parse one packet line into a frame spec (throws PacketLineError with the reason). */
function parsePacketLine(line: string): FrameSpec & { outer?: { sport: number; dport: number; vni: number } } {
  const bar = line.indexOf('|');
  if (bar >= 0) {
    const outer = parsePacketLine(line.slice(0, bar));
    const inner = parsePacketLine(line.slice(bar + 1));
    if (outer.outer === undefined) throw new PacketLineError(`only vxlan may wrap another packet (before '|')`);
    (outer as { inner?: FrameSpec }).inner = inner;
    return outer;
  }
  const words = line.trim().split(/\s+/);
  if (words.length < 4 || words[2] !== '>') {
    throw new PacketLineError(`expected '<proto> <src> > <dst> ...', got '${line.trim()}'`);
  }
  const proto = words[0].toLowerCase();
  const src = parseEndpoint(words[1]);
  const dst = parseEndpoint(words[3]);
  if (src.v6 !== dst.v6) throw new PacketLineError('source and destination are of different address families');
  if (!Object.prototype.hasOwnProperty.call(PROTO_KEYS, proto)) throw new PacketLineError(`unknown protocol '${proto}' (${LINE_PROTOCOLS.join(', ')})`);
  const { keys, flags } = readWords(proto, words.slice(4));
  /** Key `k` as a decimal integer from 0 to `max` (the header field it fills, `field`), else `dflt`. */
  const num = (k: string, dflt: number, max: number, field: string): number => {
    const v = keys.get(k);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!/^\d+$/.test(v) || n > max) throw new PacketLineError(`${k}=${v}: ${field} holds a whole number from 0 to ${max}`);
    return n;
  };
  const lenMax = ipRoom(src.v6) - (L4_HEADER[proto] ?? 0);
  const len = (dflt: number): Uint8Array => new Uint8Array(num('len', dflt, lenMax, `the payload of a ${proto} packet in IPv${src.v6 ? 6 : 4} (a 16-bit IP length field)`));
  const payload = len(0);
  const needPorts = (): [number, number] => {
    if (src.port === null || dst.port === null) throw new PacketLineError(`${proto} needs ports on both ends`);
    return [src.port, dst.port];
  };
  let l4: L4Spec;
  let outer: { sport: number; dport: number; vni: number } | undefined;
  switch (proto) {
    case 'tcp': {
      const [sport, dport] = needPorts();
      l4 = { proto: 'tcp', sport, dport, flags, seq: num('seq', 1000, 0xffffffff, 'the 32-bit TCP sequence number'), ack: num('ack', flags.includes('A') ? 2000 : 0, 0xffffffff, 'the 32-bit TCP acknowledgment number'), payload };
      break;
    }
    case 'udp': {
      const [sport, dport] = needPorts();
      l4 = { proto: 'udp', sport, dport, payload };
      break;
    }
    case 'dns': {
      const [sport, dport] = needPorts();
      const q = keys.get('q');
      if (q === undefined) throw new PacketLineError('dns needs q=<name>');
      const qt = keys.get('qtype') ?? 'A';
      const named = Object.prototype.hasOwnProperty.call(DNS_TYPE, qt);
      const qtype = named ? DNS_TYPE[qt as keyof typeof DNS_TYPE] : Number(qt);
      if (!named && (!/^\d+$/.test(qt) || qtype > 0xffff)) throw new PacketLineError(`qtype=${qt}: unknown type (${Object.keys(DNS_TYPE).join(', ')} or a number from 0 to 65535)`);
      l4 = { proto: 'udp', sport, dport, payload: dnsQuery(num('qid', 1, 0xffff, 'the 16-bit DNS id'), q, qtype) };
      break;
    }
    case 'icmp': {
      const t = keys.get('type') ?? 'echo';
      const pair = ICMP_TYPES[t];
      const type = pair !== undefined ? pair[src.v6 ? 1 : 0] : Number(t);
      if (pair === undefined && (!/^\d+$/.test(t) || type > 255)) throw new PacketLineError(`type=${t}: unknown ICMP type (${Object.keys(ICMP_TYPES).join(', ')} or a number from 0 to 255)`);
      const f16 = (k: string, dflt: number): number => num(k, dflt, 0xffff, `the 16-bit ICMP ${k}`);
      l4 = { proto: 'icmp', type, code: num('code', 0, 255, 'the 8-bit ICMP code'), id: f16('id', 1), seq: f16('seq', 1), payload: len(32) };
      break;
    }
    case 'vxlan': {
      if (src.port === null) throw new PacketLineError('vxlan needs the outer UDP source port (src:port)');
      outer = { sport: src.port, dport: dst.port ?? 4789, vni: num('vni', 4096, 0xffffff, 'the 24-bit VXLAN network identifier') };
      l4 = { proto: 'udp', sport: outer.sport, dport: outer.dport };
      break;
    }
    default:
      throw new PacketLineError(`unknown protocol '${proto}' (${LINE_PROTOCOLS.join(', ')})`);
  }
  const vlan = keys.has('vlan') ? num('vlan', 0, 4095, 'the 12-bit VLAN id') : undefined;
  const ttl = num('ttl', 64, 255, src.v6 ? 'the 8-bit IPv6 hop limit' : 'the 8-bit IPv4 TTL');
  const spec: FrameSpec & { outer?: { sport: number; dport: number; vni: number } } = {
    eth: {
      src: keys.get('smac') ?? macFor(src.ip, src.v6),
      dst: keys.get('dmac') ?? macFor(dst.ip, dst.v6),
      vlans: vlan === undefined ? undefined : [{ id: vlan }],
    },
    ip: src.v6
      ? { version: 6, src: src.ip, dst: dst.ip, hopLimit: ttl }
      : { version: 4, src: src.ip, dst: dst.ip, ttl, df: proto === 'tcp' },
    l4,
  };
  if (outer) spec.outer = outer;
  return spec;
}

/** The protocols a packet line may start with (the error of a bad line lists them). */
export const LINE_PROTOCOLS = ['tcp', 'udp', 'icmp', 'dns', 'vxlan'] as const;

/** Build the bytes of one packet line. */
export function buildPacketLine(line: string): Uint8Array {
  const spec = parsePacketLine(line) as FrameSpec & { outer?: { sport: number; dport: number; vni: number }; inner?: FrameSpec };
  if (spec.outer) {
    if (spec.inner === undefined) throw new PacketLineError("vxlan needs the inner packet after '|'");
    const inner = buildFrame(spec.inner).length;
    const room = ipRoom(spec.ip.version === 6) - 16; // the outer UDP and VXLAN headers
    if (inner > room) throw new PacketLineError(`the inner frame (${inner} bytes) does not fit the outer packet (at most ${room} bytes after its UDP and VXLAN headers): lower the inner len=`);
    return buildVxlanFrame({ eth: spec.eth, ip: spec.ip, sport: spec.outer.sport, dport: spec.outer.dport, vni: spec.outer.vni, inner: spec.inner });
  }
  return buildFrame(spec);
}

/**
 * MAC addresses as HNS, kube-proxy and the Windows CNI plugins make them (domain.md 1.6, 3.2, 3.3),
 * plus the deterministic stand-ins the emulator uses when an input does not give a MAC.
 * All results are lower-case `aa:bb:cc:dd:ee:ff` (the model's form).
 */

import { ipBytes, tryParseIPv4 } from '../core/ip';

/** Normalises `00-15-5D-04-9E-FC`, `c6:71:81:86:b2:77` or `0015.5d04.9efc` to `00:15:5d:04:9e:fc`; null if not a MAC. */
export function parseMac(s: string): string | null {
  const hex = s.trim().toLowerCase();
  let digits: string;
  if (/^[0-9a-f]{2}([-:])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/.test(hex)) digits = hex.replace(/[-:]/g, '');
  else if (/^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$/.test(hex)) digits = hex.replace(/\./g, '');
  else if (/^[0-9a-f]{12}$/.test(hex)) digits = hex;
  else return null;
  return digits.match(/../g)!.join(':');
}

/** Formats 6 bytes as `aa:bb:cc:dd:ee:ff`. */
export function macFromBytes(b: ArrayLike<number>): string {
  const parts: string[] = [];
  for (let k = 0; k < 6; k++) parts.push((b[k] & 255).toString(16).padStart(2, '0'));
  return parts.join(':');
}

/** The 6 bytes of a model MAC (`aa:bb:cc:dd:ee:ff`). */
export function macBytes(mac: string): Uint8Array {
  const out = new Uint8Array(6);
  const parts = mac.split(/[-:]/);
  for (let k = 0; k < 6; k++) out[k] = parseInt(parts[k], 16);
  return out;
}

/**
 * The four address bytes kube-proxy's `conjureMac` and win-overlay put after a 2-byte prefix:
 * the IPv4 octets in order, or for IPv6 bytes 15, 14, 13, 12 (domain.md 1.6). Null when not an address.
 */
function conjureTail(ip: string): number[] | null {
  const b = ipBytes(ip);
  if (!b) return null;
  return b.length === 4 ? [b[0], b[1], b[2], b[3]] : [b[15], b[14], b[13], b[12]];
}

/**
 * MAC of a remote HNS endpoint as kube-proxy creates it: `conjureMac("02-11", ip)` = `02:11:aa:bb:cc:dd`
 * (10.240.0.11 -> 02:11:0a:f0:00:0b, as in the AKS dump of domain.md 2.6d). Falls back to
 * `02:11:22:33:44:55` like kube-proxy when `ip` is not an address.
 */
export function remoteEndpointMac(ip: string): string {
  const tail = conjureTail(ip);
  return tail ? macFromBytes([0x02, 0x11, ...tail]) : '02:11:22:33:44:55';
}

/** A win-overlay endpoint MAC: `<endpointMacPrefix>-aa-bb-cc-dd` from the IPv4 octets (10.244.3.7 -> 0e:2a:0a:f4:03:07). */
export function overlayEndpointMac(prefix: string, ip: string): string {
  const p = prefix.split(/[-:]/).map((x) => parseInt(x, 16));
  const tail = conjureTail(ip) ?? [0, 0, 0, 0];
  return macFromBytes([p[0], p[1], ...tail]);
}

/** The Linux bridge CNI's pod MAC `0a:58:aa:bb:cc:dd`, used for pods on non-Windows nodes (peers on the wire). */
export function linuxPodMac(ip: string): string {
  const tail = conjureTail(ip) ?? [0, 0, 0, 0];
  return macFromBytes([0x0a, 0x58, ...tail]);
}

/** Hyper-V OUI 00-15-5D used by HNS for host vNICs, DR MACs and endpoint MAC pools. */
const HYPERV = [0x00, 0x15, 0x5d];

/**
 * Host NIC MAC of a node when no input gives it: Hyper-V prefix + the last three octets of the
 * node IP (10.127.130.11 -> 00:15:5d:7f:82:0b), so a MAC in a trace names its node at a glance.
 */
export function hyperVNodeMac(nodeIp: string): string {
  const v = tryParseIPv4(nodeIp);
  const b = ipBytes(nodeIp);
  const tail = v >= 0 ? [(v >>> 16) & 255, (v >>> 8) & 255, v & 255] : b ? [b[13], b[14], b[15]] : [0, 0, 0];
  return macFromBytes([...HYPERV, ...tail]);
}

/** FNV-1a (32-bit) of a string: a stable spread for derived MAC bytes. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Overlay distributed-router MAC of a node when neither flannel's VtepMAC nor a RemoteSubnetRoute gives it. */
export function derivedDrMac(nodeIp: string): string {
  const h = fnv1a(`dr-mac:${nodeIp}`);
  return macFromBytes([...HYPERV, (h >>> 16) & 255, (h >>> 8) & 255, h & 255]);
}

/**
 * First MAC of a node's HNS MacPool when no dump gives it. Real pools span 4096 addresses,
 * `00-15-5D-xx-y0-00 … 00-15-5D-xx-yF-FF` (domain.md 3.2); this picks xx and y from the node IP.
 */
export function derivedMacPoolStart(nodeIp: string): string {
  const h = fnv1a(`mac-pool:${nodeIp}`);
  return macFromBytes([...HYPERV, (h >>> 8) & 255, h & 0xf0, 0]);
}

/**
 * A win-bridge endpoint MAC from the node's HNS MacPool: pool start + the low 12 bits of the pod
 * IPv4 address. HNS hands out pool addresses in creation order, which no input records; keying by
 * the IP keeps every MAC stable when pods are added and unique within a /20 pod subnet.
 */
export function poolEndpointMac(poolStart: string, podIp: string): string {
  const base = macBytes(poolStart);
  const v = tryParseIPv4(podIp);
  const b = ipBytes(podIp);
  const low = v >= 0 ? v & 0xfff : b ? ((b[14] << 8) | b[15]) & 0xfff : 0;
  const n = (((base[3] << 16) | (base[4] << 8) | base[5]) + low) & 0xffffff;
  return macFromBytes([base[0], base[1], base[2], (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
}

import { strict as assert } from 'node:assert';
import {
  cidrContains,
  cidrsOverlap,
  formatCidr,
  formatIPv6,
  ipv4ToU32,
  normalizeIp,
  parseCidr,
  parseIPv6,
  tryParseCidr,
  tryParseIPv4,
  u32ToIpv4,
} from '../src/core/ip';
import { hyperVNodeMac, overlayEndpointMac, parseMac, poolEndpointMac, remoteEndpointMac } from '../src/cluster/mac';

describe('cluster: IP and CIDR helpers (src/core/ip)', () => {
  it('parses dotted IPv4 strictly', () => {
    assert.equal(ipv4ToU32('10.244.3.7'), 0x0af40307);
    assert.equal(ipv4ToU32('255.255.255.255'), 0xffffffff);
    assert.equal(u32ToIpv4(0x0af40307), '10.244.3.7');
    for (const bad of ['10.244.3', '10.244.3.7.1', '10.244.3.256', '010.1.1.1', '10..1.1', '10.1.1.1.', '', 'a.b.c.d', '1.2.3.-4']) {
      assert.equal(tryParseIPv4(bad), -1, bad);
    }
    assert.throws(() => ipv4ToU32('10.0.0.300'), /not an IPv4 address/);
  });

  it('parses and prints IPv6 in RFC 5952 form', () => {
    assert.equal(normalizeIp('2001:0db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
    assert.equal(normalizeIp('FD00::1'), 'fd00::1');
    assert.equal(normalizeIp('::'), '::');
    assert.equal(normalizeIp('::1'), '::1');
    assert.equal(normalizeIp('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1');
    assert.equal(normalizeIp('::ffff:10.0.0.1'), '::ffff:a00:1');
    assert.equal(parseIPv6('1::2::3'), null);
    assert.equal(parseIPv6('12345::'), null);
    assert.equal(parseIPv6('1:2:3:4:5:6:7:8:9'), null);
    assert.equal(formatIPv6(parseIPv6('fe80:0:0:0:0:0:0:0')!), 'fe80::');
  });

  it('parses CIDRs, clearing host bits but keeping the written address', () => {
    const c = parseCidr('10.244.4.1/24');
    assert.equal(formatCidr(c), '10.244.4.0/24');
    assert.equal(u32ToIpv4(c.addr), '10.244.4.1');
    assert.equal(formatCidr(parseCidr('0.0.0.0/0')), '0.0.0.0/0');
    assert.equal(formatCidr(parseCidr('fd00:10:244::5/64')), 'fd00:10:244::/64');
    assert.equal(tryParseCidr('10.0.0.0/33'), null);
    assert.equal(tryParseCidr('10.0.0.0'), null);
    assert.equal(tryParseCidr('10.0.0.0/x'), null);
  });

  it('tests containment and overlap', () => {
    assert.ok(cidrContains('10.244.0.0/16', '10.244.3.7'));
    assert.ok(!cidrContains('10.244.0.0/16', '10.245.0.1'));
    assert.ok(cidrContains('10.96.0.0/12', ipv4ToU32('10.111.255.255')));
    assert.ok(!cidrContains('10.96.0.0/12', '10.112.0.0'));
    assert.ok(cidrContains('0.0.0.0/0', '8.8.8.8'));
    assert.ok(!cidrContains('10.0.0.0/8', 'fd00::1'));
    assert.ok(cidrContains('fd00::/8', 'fd12::1'));
    assert.ok(!cidrContains('fd00::/8', 'fe80::1'));
    assert.ok(cidrsOverlap('10.244.0.0/16', '10.244.3.0/24'));
    assert.ok(!cidrsOverlap('10.244.1.0/24', '10.244.2.0/24'));
  });
});

describe('cluster: MAC derivations (src/cluster/mac)', () => {
  it('remote endpoint MAC is conjureMac("02-11", ip), as in the AKS dump', () => {
    assert.equal(remoteEndpointMac('10.240.0.11'), '02:11:0a:f0:00:0b');
    assert.equal(remoteEndpointMac('fd00::1:2:3:4'), '02:11:04:00:03:00');
    assert.equal(remoteEndpointMac('not-an-ip'), '02:11:22:33:44:55');
  });

  it('win-overlay endpoint MAC is <endpointMacPrefix>-<IPv4 octets>', () => {
    assert.equal(overlayEndpointMac('0e:2a', '10.244.3.7'), '0e:2a:0a:f4:03:07');
    assert.equal(overlayEndpointMac('0E-2B', '192.168.1.10'), '0e:2b:c0:a8:01:0a');
  });

  it('normalises the MAC spellings HNS, flannel and Cisco use', () => {
    assert.equal(parseMac('00-15-5D-04-9E-FC'), '00:15:5d:04:9e:fc');
    assert.equal(parseMac('c6:71:81:86:b2:77'), 'c6:71:81:86:b2:77');
    assert.equal(parseMac('0015.5d04.9efc'), '00:15:5d:04:9e:fc');
    assert.equal(parseMac('00-15-5D:04-9E-FC'), null);
    assert.equal(parseMac('00-15-5D-04-9E'), null);
  });

  it('node MACs carry the Hyper-V prefix and the node IP; pool MACs stay inside the 4096-address pool', () => {
    assert.equal(hyperVNodeMac('10.127.130.11'), '00:15:5d:7f:82:0b');
    assert.equal(poolEndpointMac('00:15:5d:6d:b0:00', '10.244.1.5'), '00:15:5d:6d:b1:05');
    assert.equal(poolEndpointMac('00:15:5d:6d:b0:00', '10.244.15.255'), '00:15:5d:6d:bf:ff');
  });
});

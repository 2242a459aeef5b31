import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../src/core/errors';
import { PROFILES, resolveProfile } from '../src/vfp/profile';
import { R, REASON_TABLE, V, reasonCode, reasonId, warningBit, warningCodes } from '../src/vfp/reasons';

/** The reason codes of DESIGN.md's CONTRACT table (never renamed). */
const CONTRACT = [
  'icmp-not-transposed', 'nodeport-local-access', 'node-to-service-ip', 'lb-too-many-destinations', 'no-endpoints', 'no-local-endpoint',
  'local-policy-requires-dsr', 'affinity-timeout-ignored', 'ipv6-overlay-unsupported', 'flannel-node-to-remote-pod', 'vni-mismatch',
  'snat-ports-exhausted', 'nat-reply-mismatch', 'no-route', 'mac-spoofing-disabled', 'acl-blocked', 'dns-pqdn-unresolvable',
  'host-network-unsupported', 'malformed', 'truncated', 'unsupported-linktype', 'not-ip', 'no-emulated-node',
];

describe('vfp reason table', () => {
  it("README documents every code beyond the CONTRACT table (a user meeting one in a verdict can look it up)", () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Reason codes beyond the CONTRACT table'), readme.indexOf('## Decisions'));
    const missing = REASON_TABLE.map((r) => r.code).filter((c) => !CONTRACT.includes(c) && !section.includes(`| ${c} |`));
    assert.deepEqual(missing, [], 'add a row to README "Reason codes beyond the CONTRACT table"');
  });

  it('holds every CONTRACT code, each with an id, a verdict and a sentence', () => {
    for (const code of CONTRACT) {
      const id = reasonId(code);
      assert.ok(id > 0, code);
      assert.equal(reasonCode(id), code);
      assert.ok(REASON_TABLE[id - 1].sentence.length > 20, code);
    }
    assert.equal(new Set(REASON_TABLE.map((r) => r.code)).size, REASON_TABLE.length, 'codes are unique');
  });

  it('gives the verdicts the CONTRACT implies: no-return for ICMP, ignored for not-ip, drops for limits', () => {
    const row = (code: string) => REASON_TABLE[reasonId(code) - 1];
    assert.equal(row('icmp-not-transposed').verdict, V.NO_RETURN);
    assert.equal(row('not-ip').verdict, V.IGNORED);
    assert.equal(row('no-emulated-node').verdict, V.IGNORED);
    assert.equal(row('vni-mismatch').verdict, V.DROPPED);
    assert.equal(row('vni-mismatch').pktmon, 'Virtual Subnet ID does not match');
    assert.equal(row('snat-ports-exhausted').pktmon, 'Insufficient resources');
  });

  it('encodes warnings as bits and decodes them back to codes', () => {
    const mask = warningBit(R.DNS_PQDN_UNRESOLVABLE) | warningBit(R.AFFINITY_TIMEOUT_IGNORED);
    assert.deepEqual(warningCodes(mask).sort(), ['affinity-timeout-ignored', 'dns-pqdn-unresolvable']);
    assert.equal(warningBit(R.NO_ROUTE), 0, 'a verdict reason has no warning bit');
  });
});

describe('vfp Windows profiles', () => {
  it('defaults to the page: 64 destinations, no ICMP SNAT, no node->ClusterIP, no local NodePort', () => {
    const p = resolveProfile(undefined);
    assert.equal(p.name, 'ws2022');
    assert.equal(p.maxLbDestinations, 64);
    assert.equal(p.icmpSnat, false);
    assert.equal(p.nodeToClusterIp, false);
    assert.equal(p.localNodePortAccess, false);
    assert.equal(p.snatBlockSize, 64);
  });

  it('names builds that differ: ws2019 without session affinity, ws2025 with 1024 destinations', () => {
    assert.equal(PROFILES.ws2019.sessionAffinity, false);
    assert.equal(PROFILES.ws2025.maxLbDestinations, 1024);
  });

  it('takes overrides after a colon, and refuses unknown names, keys and values with a usage error', () => {
    const p = resolveProfile('ws2022:icmpSnat=true,maxLbDestinations=128,timeouts.udp=5');
    assert.equal(p.icmpSnat, true);
    assert.equal(p.maxLbDestinations, 128);
    assert.equal(p.timeouts.udp, 5);
    assert.equal(PROFILES.ws2022.timeouts.udp, 60, 'the built-in profile is not changed');
    assert.throws(() => resolveProfile('xp'), UsageError);
    assert.throws(() => resolveProfile('ws2022:nope=1'), /unknown setting 'nope'/);
    assert.throws(() => resolveProfile('ws2022:icmpSnat=yes'), /true or false/);
  });
});

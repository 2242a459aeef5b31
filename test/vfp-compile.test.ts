import { strict as assert } from 'node:assert';
import { DIR_IN, DIR_OUT, type Layer, type Port } from '../src/vfp/objects';
import { R } from '../src/vfp/reasons';
import { selectEndpoints } from '../src/vfp/compile';
import type { AclModel } from '../src/cluster/model';
import { CLIENT, WEB0, WEB1, cluster, dataplane, ep, service } from './vfp-fixtures.test';

function layerNames(p: Port): string[] {
  return p.layers.map((l) => l.name);
}

function allRules(l: Layer): string[] {
  const out: string[] = [];
  for (const g of l.groups) {
    out.push(...g.rules.map((r) => r.name));
    if (g.byVip) for (const list of g.byVip.values()) out.push(...list.map((r) => r.name));
  }
  return out;
}

describe('vfp compiler: ports, layers, groups and rules named as HNS names them', () => {
  it('gives each Windows node a host vNIC port, an external port and one port per local pod', () => {
    const dp = dataplane(cluster());
    const win1 = dp.c.nodes[0];
    assert.equal(win1.host.kind, 'host');
    assert.equal(win1.ext.kind, 'external');
    assert.deepEqual(
      win1.pods.map((p) => p.port.name),
      ['pod/default/client-0', 'pod/default/web-1'],
    );
  });

  it('pod ports: SLB_NAT_LAYER with the ExceptionList and SNAT_TCP/UDP_OUTBOUNDNAT rules only, then VNET PA routes (overlay)', () => {
    const dp = dataplane(cluster());
    const port = dp.c.nodes[0].pods[0].port;
    assert.deepEqual(layerNames(port), ['SLB_NAT_LAYER', 'VNET']);
    const nat = port.layers[0];
    assert.equal(nat.groups[0].name, 'SLB_GROUP_NAT_IPv4_OUT');
    assert.equal(nat.groups[0].dir, DIR_OUT);
    const names = allRules(nat);
    assert.ok(names.some((n) => /^SNAT_TCP_OUTBOUNDNAT_\w+$/.test(n)));
    assert.ok(names.some((n) => /^SNAT_UDP_OUTBOUNDNAT_\w+$/.test(n)));
    assert.ok(!names.some((n) => n.includes('ICMP')), 'no ICMP SNAT rule on the page\'s profile');
    assert.deepEqual(
      nat.groups[0].rules.filter((r) => r.action.kind === 'pass').map((r) => r.cond.dst![0].text),
      ['10.244.0.0/16', '10.96.0.0/12', '10.127.130.0/24'],
    );
    const vnet = port.layers[1];
    assert.equal(vnet.groups[0].name, 'VNET_GROUP_PA_ROUTE_IPV4_OUT');
    const pa = vnet.groups[0].rules.map((r) => `${r.name}/${r.type}/${r.flags}`);
    assert.deepEqual(pa.sort(), ['PA_ROUTE_10_244_0_0_24/paroute/1', 'PA_ROUTE_10_244_2_0_24/paroute/1']);
  });

  it('adds SNAT_ICMP_OUTBOUNDNAT only on a profile that transposes ICMP', () => {
    const dp = dataplane(cluster(), { profile: 'future' });
    assert.ok(allRules(dp.c.nodes[0].pods[0].port.layers[0]).some((n) => n.startsWith('SNAT_ICMP_OUTBOUNDNAT_')));
  });

  it('DSR: LB_DSR / LB_DSR_IPv4_OUT on every pod port, rules LB_DSR_<id>_<mgmtIP>_<VIP>_<ext>_<int>_<proto>', () => {
    const dp = dataplane(cluster({ enableDSR: true }));
    const port = dp.c.nodes[0].pods[0].port;
    assert.deepEqual(layerNames(port), ['LB_DSR', 'SLB_NAT_LAYER', 'VNET']);
    assert.equal(port.layers[0].groups[0].name, 'LB_DSR_IPv4_OUT');
    const names = allRules(port.layers[0]);
    assert.ok(names.some((n) => /^LB_DSR_[0-9a-f]{8}_10\.127\.130\.11_10\.96\.0\.20_80_8080_6$/.test(n)), names.join(' '));
  });

  it('host vNIC: LB / LB_OUT holds LB_HOST_ rules for load balancers with a remote backend', () => {
    const dp = dataplane(cluster());
    const host = dp.c.nodes[0].host;
    assert.deepEqual(layerNames(host), ['LB', 'SLB_LB_LAYER', 'VNET']);
    assert.equal(host.layers[0].groups[0].name, 'LB_OUT');
    assert.ok(allRules(host.layers[0]).some((n) => /^LB_HOST_[0-9a-f]{8}_10\.96\.0\.20_80_8080_6$/.test(n)));
  });

  it('external port of an overlay node: VNET_GROUP_DECAP_IPV4_IN decapsulates VNI 4096 on UDP 4789', () => {
    const dp = dataplane(cluster());
    const ext = dp.c.nodes[0].ext;
    assert.equal(ext.layers[0].groups[0].name, 'VNET_GROUP_DECAP_IPV4_IN');
    assert.equal(ext.layers[0].groups[0].dir, DIR_IN);
    assert.deepEqual(ext.layers[0].groups[0].rules[0].action, { kind: 'decap', vni: 4096, port: 4789 });
  });

  it('l2bridge with flannel: L2 routes to every other node\'s pod subnet; win-bridge alone needs user routes', () => {
    const flannel = dataplane(cluster({ mode: 'l2bridge' }));
    assert.deepEqual(
      flannel.c.nodes[0].routes.map((r) => r.prefix.text).sort(),
      ['10.244.0.0/24', '10.244.2.0/24'],
    );
    const bridge = dataplane(cluster({ mode: 'l2bridge', plugin: 'win-bridge' }));
    assert.deepEqual(bridge.c.nodes[0].routes, []);
    const udr = dataplane(cluster({ mode: 'l2bridge', plugin: 'win-bridge', routes: [{ destinationPrefix: '10.244.2.0/24', needEncap: false, nextHop: '10.127.130.12' }] }));
    assert.equal(udr.c.nodes[0].routes[0].nodeName, 'win-2');
  });

  it('ACL policies become ACL_ENDPOINT_LAYER rules, Switch rules only', () => {
    const dp = dataplane(
      cluster({
        acls: [
          { action: 'Block', direction: 'Out', protocols: [6], localAddresses: [], remoteAddresses: ['198.51.100.0/24'], localPorts: [], remotePorts: [[443, 443]], priority: 200, ruleType: 'Switch' },
          { action: 'Block', direction: 'In', protocols: [], localAddresses: [], remoteAddresses: [], localPorts: [], remotePorts: [], priority: 300, ruleType: 'Host' },
        ],
      }),
    );
    const acl = dp.c.nodes[0].pods[0].port.layers[0];
    assert.equal(acl.name, 'ACL_ENDPOINT_LAYER');
    assert.deepEqual(allRules(acl), ['ACL_BLOCK_OUT_200_0']);
  });

  it("an HNS endpoint's own ACL is on that endpoint's port only; a CNI config's on every pod port", () => {
    const shared: AclModel = { action: 'Block', direction: 'Out', protocols: [6], localAddresses: [], remoteAddresses: ['198.51.100.0/24'], localPorts: [], remotePorts: [[443, 443]], priority: 200, ruleType: 'Switch' };
    const own: AclModel = { ...shared, direction: 'In', remoteAddresses: [], remotePorts: [], localPorts: [[8080, 8080]], endpoint: '10.244.1.6' };
    const dp = dataplane(cluster({ acls: [shared, own] }));
    const win1 = dp.c.nodes[0];
    const aclOf = (name: string) => allRules(win1.pods.find((p) => p.port.name === name)!.port.layers[0]);
    assert.deepEqual(aclOf('pod/default/client-0'), ['ACL_BLOCK_OUT_200_0']);
    assert.deepEqual(aclOf('pod/default/web-1'), ['ACL_BLOCK_OUT_200_0', 'ACL_BLOCK_IN_200_1']);
    assert.deepEqual(allRules(dp.c.nodes[1].pods[0].port.layers[0]), ['ACL_BLOCK_OUT_200_0'], 'not on another node');
    const stray = dataplane(cluster({ acls: [{ ...own, endpoint: '10.244.1.99' }] }));
    assert.ok(stray.c.diagnostics.some((d) => d.code === 'config-ignored' && d.message.includes('10.244.1.99')), 'an owner that is no pod is said');
    assert.ok(stray.c.nodes[0].pods.every((p) => p.port.layers[0].name !== 'ACL_ENDPOINT_LAYER'));
  });

  describe('HNS load balancers per node (kube-proxy winkernel)', () => {
    it('one per frontend: ClusterIP, NodePort (node address), externalIPs, ingress IPs', () => {
      const svc = service('default', 'shop', {
        type: 'LoadBalancer',
        clusterIP: '10.96.0.30',
        externalIPs: ['10.127.130.200'],
        ingressIPs: ['20.0.0.50'],
        ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30081 }],
        endpoints: [ep(WEB0.ip, 'win-2', 8080)],
      });
      const dp = dataplane(cluster({ services: [svc] }));
      const lbs = dp.c.nodes[0].lbs.map((l) => `${l.kind} ${l.vipText}:${l.extPort}->${l.intPort}`);
      assert.deepEqual(lbs, ['ClusterIP 10.96.0.30:80->8080', 'NodePort 10.127.130.11:30081->8080', 'ExternalIP 10.127.130.200:80->8080', 'Ingress 20.0.0.50:80->8080']);
    });

    it('no load balancer for more unique destinations than the profile allows: 64 on ws2022, 1024 on ws2025', () => {
      const endpoints = Array.from({ length: 65 }, (_, k) => ep(`10.244.2.${10 + k}`, 'win-2', 8080));
      const big = () => service('default', 'big', { clusterIP: '10.96.0.40', ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: null }], endpoints });
      const ws2022 = dataplane(cluster({ services: [big()] }));
      assert.equal(ws2022.c.nodes[0].lbs.length, 0);
      assert.equal([...ws2022.c.nodes[0].noLb.values()][0].reason, R.LB_TOO_MANY_DESTINATIONS);
      const ws2025 = dataplane(cluster({ services: [big()] }), { profile: 'ws2025' });
      assert.equal(ws2025.c.nodes[0].lbs[0].backends.length, 65);
    });

    it('no load balancer without a usable endpoint (no-endpoints)', () => {
      const dp = dataplane(cluster({ services: [service('default', 'empty', { clusterIP: '10.96.0.50', ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: null }] })] }));
      assert.equal([...dp.c.nodes[0].noLb.values()][0].reason, R.NO_ENDPOINTS);
    });

    it('externalTrafficPolicy Local with DSR: local endpoints only, DSR, none on a node without one (no-local-endpoint)', () => {
      const svc = service('default', 'local', {
        type: 'NodePort',
        clusterIP: '10.96.0.60',
        externalTrafficPolicy: 'Local',
        ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30090 }],
        endpoints: [ep(WEB0.ip, 'win-2', 8080)],
      });
      const dp = dataplane(cluster({ services: [svc], enableDSR: true }));
      const win1NodePort = [...dp.c.nodes[0].noLb.values()].find((n) => n.kind === 'NodePort');
      assert.equal(win1NodePort?.reason, R.NO_LOCAL_ENDPOINT);
      const win2 = dp.c.nodes[1].lbs.find((l) => l.kind === 'NodePort')!;
      assert.equal(win2.dsr, true);
      assert.deepEqual(
        win2.backends.map((b) => b.ipText),
        [WEB0.ip],
      );
      // kube-proxy without --enable-dsr: the same (localTrafficDSR is not gated on it)
      const noFlag = dataplane(cluster({ services: [svc] }));
      assert.equal([...noFlag.c.nodes[0].noLb.values()].find((n) => n.kind === 'NodePort')?.reason, R.NO_LOCAL_ENDPOINT);
      const noFlagLb = noFlag.c.nodes[1].lbs.find((l) => l.kind === 'NodePort')!;
      assert.deepEqual([noFlagLb.dsr, noFlagLb.warn], [true, 0]);
      assert.equal(noFlag.c.nodes[1].lbs.find((l) => l.kind === 'ClusterIP')!.dsr, false, '--enable-dsr makes the ClusterIP LB DSR, nothing else');
      // a Windows build without DSR: treated as Cluster, every endpoint, with the warning
      const noDsr = dataplane(cluster({ services: [svc], enableDSR: true }), { profile: 'ws2022:dsr=false' });
      const lb = noDsr.c.nodes[0].lbs.find((l) => l.kind === 'NodePort')!;
      assert.equal(lb.dsr, false);
      assert.notEqual(lb.warn, 0);
    });

    it('lb-too-many-destinations per built load balancer: an ETP Local NodePort LB holds only its node\'s endpoints', () => {
      // 70 endpoints: web-1 on win-1, 69 on linux-1 (kube-proxy loadbalancer.go @ 26d2859e: each LB its own endpoint list)
      const eps = [ep(WEB1.ip, 'win-1', 8080), ...Array.from({ length: 69 }, (_, i) => ep(`10.244.0.${100 + i}`, 'linux-1', 8080))];
      const svc = service('default', 'big-local', {
        type: 'NodePort',
        clusterIP: '10.96.0.61',
        externalTrafficPolicy: 'Local',
        ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30095 }],
        endpoints: eps,
      });
      const dp = dataplane(cluster({ services: [svc] }));
      const win1 = dp.c.nodes[0];
      assert.deepEqual(win1.lbs.filter((l) => l.kind === 'NodePort').map((l) => l.backends.map((x) => x.ipText)), [[WEB1.ip]]);
      assert.equal([...win1.noLb.values()].find((n) => n.kind === 'ClusterIP')?.reason, R.LB_TOO_MANY_DESTINATIONS);
      assert.equal([...dp.c.nodes[1].noLb.values()].find((n) => n.kind === 'NodePort')?.reason, R.NO_LOCAL_ENDPOINT);
      const d = dp.c.diagnostics.filter((x) => x.code === 'lb-too-many-destinations');
      assert.equal(d.length, 1, 'one diagnostic per Service, naming each refused LB');
      assert.deepEqual([d[0].severity, d[0].source], ['error', 'service default/big-local']);
      assert.match(d[0].message, /2 load balancers of it would hold more than the 64 destinations .*win-1 ClusterIP 10\.96\.0\.61:80\/TCP \(70\), win-2 ClusterIP 10\.96\.0\.61:80\/TCP \(70\)/);
      assert.ok(d[0].message.includes('hcnCreateLoadBalancer failed in Win32: The parameter is incorrect. (0x57)'));
      assert.ok(d[0].message.includes('Unable to initialize VFP LB rule: invalid number of destinations.'));
      assert.equal(dataplane(cluster({ services: [svc] }), { profile: 'ws2025' }).c.diagnostics.filter((x) => x.code === 'lb-too-many-destinations').length, 0);
      // internalTrafficPolicy Local: the ClusterIP LB holds only the local one too
      const itp = dataplane(cluster({ services: [{ ...svc, internalTrafficPolicy: 'Local' }] }));
      assert.deepEqual(itp.c.nodes[0].lbs.filter((l) => l.kind === 'ClusterIP').map((l) => l.backends.length), [1]);
      assert.equal(itp.c.diagnostics.filter((x) => x.code === 'lb-too-many-destinations').length, 0);
    });

    describe('terminating endpoints (kube-proxy looks at them only for a Service with ingress IPs)', () => {
      const term = (ip: string, node: string) => ({ ...ep(ip, node, 8080), ready: false, serving: true, terminating: true });
      const lbSvc = (endpoints: ReturnType<typeof ep>[], ingressIPs: string[]) =>
        service('default', 'draining', { type: 'LoadBalancer', clusterIP: '10.96.0.90', ingressIPs, ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30110 }], endpoints });
      const kinds = (dp: ReturnType<typeof dataplane>, n: number) => ({
        built: dp.c.nodes[n].lbs.map((l) => `${l.kind} ${l.backends.map((x) => x.ipText).join(',')}`),
        refused: [...dp.c.nodes[n].noLb.values()].map((x) => `${x.kind} ${x.reason === R.NO_ENDPOINTS ? 'no-endpoints' : x.reason}`),
      });

      it('ingress IPs, all terminating: the ClusterIP LB takes the serving ones; no NodePort or ingress LB', () => {
        const notServing = { ...ep('10.244.0.9', 'linux-1', 8080), ready: false, serving: false, terminating: true };
        const dp = dataplane(cluster({ services: [lbSvc([term(WEB0.ip, 'win-2'), term(WEB1.ip, 'win-1'), notServing], ['20.0.0.62'])] }));
        assert.deepEqual(kinds(dp, 0), { built: [`ClusterIP ${WEB0.ip},${WEB1.ip}`], refused: ['NodePort no-endpoints', 'Ingress no-endpoints'] });
        const d = dp.c.diagnostics.filter((x) => x.code === 'no-endpoints');
        assert.equal(d.length, 1);
        assert.match(d[0].message, /win-1 NodePort 10\.127\.130\.11:30110\/TCP \(all endpoints terminating\)/);
        assert.ok(!d[0].message.includes('ClusterIP 10.96.0.90'), 'the ClusterIP LB exists');
      });

      it('ingress IPs, some ready: only the ready ones, every LB built', () => {
        const dp = dataplane(cluster({ services: [lbSvc([term(WEB0.ip, 'win-2'), ep(WEB1.ip, 'win-1', 8080)], ['20.0.0.62'])] }));
        assert.deepEqual(kinds(dp, 0), { built: [`ClusterIP ${WEB1.ip}`, `NodePort ${WEB1.ip}`, `Ingress ${WEB1.ip}`], refused: [] });
      });

      it('no ingress IPs: a not-ready endpoint is skipped, so all terminating is no load balancer at all', () => {
        const dp = dataplane(cluster({ services: [lbSvc([term(WEB0.ip, 'win-2'), term(WEB1.ip, 'win-1')], [])] }));
        assert.deepEqual(kinds(dp, 0), { built: [], refused: ['ClusterIP no-endpoints', 'NodePort no-endpoints'] });
        assert.match(dp.c.diagnostics.find((x) => x.code === 'no-endpoints')!.message, /win-1 ClusterIP 10\.96\.0\.90:80\/TCP \(no ready endpoint\)/);
      });

      it('selectEndpoints as syncProxyRules reads: not-ready, not-terminating ignored for allTerminating; ETP Local looks at local ones', () => {
        const e = (ready: boolean, serving: boolean, terminating: boolean) => ({ ...ep('10.0.0.1', null, 80), ready, serving, terminating });
        const none = () => false;
        // a not-ready, not-terminating endpoint does not stop "all terminating"; it is not taken (not serving)
        assert.deepEqual(selectEndpoints([e(false, true, true), e(false, false, false)], true, false, none), { picked: [0], availableForLb: false });
        // without ingress IPs: ready only
        assert.deepEqual(selectEndpoints([e(false, true, true), e(true, true, false)], false, false, none), { picked: [1], availableForLb: true });
        // ETP Local (DSR) with ingress IPs on a node without local endpoints: both flags vacuously true, nothing filtered
        assert.deepEqual(selectEndpoints([e(true, true, false), e(false, false, false)], true, true, none), { picked: [0, 1], availableForLb: false });
        // ... and with a ready local one: the usual choice
        assert.deepEqual(selectEndpoints([e(true, true, false), e(false, false, false)], true, true, (k) => k === 0), { picked: [0], availableForLb: true });
      });
    });

    it('SourceVIP: the node\'s --source-vip on overlay, the node IP on l2bridge', () => {
      const overlay = dataplane(cluster());
      assert.equal(overlay.c.nodes[0].lbs[0].sourceVip, 0x0af40102);
      const l2 = dataplane(cluster({ mode: 'l2bridge' }));
      assert.equal(l2.c.nodes[0].lbs[0].sourceVip, 0x0a7f820b);
    });
  });

  it('rulesText lists ports, layers, groups and rules like vfpctrl /list-rule, per node', () => {
    const dp = dataplane(cluster({ enableDSR: true }));
    const text = dp.rulesText('win-1');
    for (const s of ['NODE : win-1', 'PORT : pod/default/client-0', 'LAYER : SLB_NAT_LAYER', 'GROUP : SLB_GROUP_NAT_IPv4_OUT', 'Friendly name : SNAT_TCP_OUTBOUNDNAT_', 'Flags : 1 terminating', 'LAYER : LB_DSR', 'RULE : PA_ROUTE_10_244_2_0_24', 'HNS LOAD BALANCERS']) {
      assert.ok(text.includes(s), `missing '${s}'`);
    }
    assert.ok(!text.includes('NODE : win-2'));
    assert.throws(() => dp.rulesText('linux-1'), /not an emulated Windows node/);
    void CLIENT;
  });
});

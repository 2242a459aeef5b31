/**
 * A ConfigMap key whose text is JSON by Kubernetes' content rule (first non-space character `{`:
 * kubernetes/apimachinery pkg/util/yaml/decoder.go IsJSONBuffer) is read as JSON whatever its key's name
 * (kube-proxy's `config.conf`, as the generated cluster of src/gen and bench/e2e.ts writes it): the same
 * settings as the YAML form, errors named by the key and field path, bad JSON refused (it was skipped in
 * silence as bad YAML), and the yaml package is never loaded for it (issue 12, start-up).
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { parseClusterText } from '../src/cluster';
import { throwsInput } from './io-helpers';

const NODE = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'win-1', labels: { 'kubernetes.io/os': 'windows' } }, spec: { podCIDR: '10.244.1.0/24' }, status: { addresses: [{ type: 'InternalIP', address: '10.0.0.11' }] } };
const KPC = { apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', mode: 'kernelspace', featureGates: { WinDSR: true }, winkernel: { networkName: 'cbr0', enableDSR: true } };

/** A kubectl List of the node and the kube-proxy ConfigMap whose `config.conf` is `conf`. */
function list(conf: string): string {
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-proxy-windows', namespace: 'kube-system' }, data: { 'config.conf': conf } };
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [NODE, cm] }, null, 2);
}

describe('ConfigMap keys holding JSON are read as JSON', () => {
  it('a JSON config.conf gives the same kube-proxy settings as its YAML form', () => {
    const yamlForm = 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: kernelspace\nfeatureGates: {WinDSR: true}\nwinkernel: {networkName: cbr0, enableDSR: true}\n';
    const fromJson = parseClusterText('c.json', list(`  ${JSON.stringify(KPC, null, 2)}\n`));
    const fromYaml = parseClusterText('c.json', list(yamlForm));
    assert.deepEqual(fromJson.proxy, { enableDSR: true, featureGates: { WinDSR: true, WinOverlay: true }, sourceVip: null, networkName: 'cbr0', healthzPort: 10256 });
    assert.deepEqual(fromJson.proxy, fromYaml.proxy);
  });

  it('a bad value inside it is named by the key and the field path', () => {
    const e = throwsInput(() => parseClusterText('c.json', list(JSON.stringify({ ...KPC, winkernel: { enableDSR: 'yes' } }))));
    assert.equal(e.fieldPath, 'items[1].data["config.conf"].winkernel.enableDSR');
  });

  it('JSON that does not parse is refused naming the key (it was skipped as bad YAML)', () => {
    const e = throwsInput(() => parseClusterText('c.json', list('{"kind": "KubeProxyConfiguration", "mode": kernelspace}')));
    assert.equal(e.fieldPath, 'items[1].data["config.conf"]');
    assert.match(e.message, /not valid JSON/);
  });

  it('an application ConfigMap whose YAML starts with "{" is skipped with a note, not refused', () => {
    const app = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app-settings', namespace: 'default' }, data: { 'settings.yaml': '{level: debug, retries: 3}' } };
    const text = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [NODE, app, JSON.parse(list(JSON.stringify(KPC))).items[1]] });
    const c = parseClusterText('cm.json', text);
    assert.ok(c.diagnostics.some((n) => n.code === 'config-ignored' && /ConfigMap default\/app-settings/.test(n.message)), JSON.stringify(c.diagnostics));
    assert.equal(c.proxy.enableDSR, true);
  });

  it('a .json key that is flow YAML is still refused', () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app', namespace: 'default' }, data: { 'app.json': '{level: debug}' } };
    const e = throwsInput(() => parseClusterText('cm.json', JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [NODE, cm] })));
    assert.equal(e.fieldPath, 'items[1].data["app.json"]');
    assert.match(e.message, /not valid JSON/);
  });

  it('the yaml package is not loaded for a cluster whose texts are all JSON', function () {
    this.timeout(60000);
    const cluster = path.resolve(__dirname, '..', 'src', 'cluster');
    const script = `const c = require(${JSON.stringify(cluster)}); c.parseClusterText('c.json', ${JSON.stringify(list(JSON.stringify(KPC)))});
      process.stdout.write(Object.keys(require.cache).filter((f) => /node_modules[\\\\/]yaml[\\\\/]/.test(f)).length + '\\n');`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), '0');
  });
});

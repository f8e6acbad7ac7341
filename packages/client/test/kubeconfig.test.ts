import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadKubeconfig, inClusterConfig, loadClientConfig, kubeconfigPaths } from "@skiff/client";

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), "skiff-kubeconfig-test-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const b64 = (s: string) => Buffer.from(s).toString("base64");

const basic = (server = "https://127.0.0.1:6443", extra = "") => `
apiVersion: v1
kind: Config
current-context: admin@skiff
clusters:
- name: skiff
  cluster:
    server: ${server}
    certificate-authority-data: ${b64("CA PEM")}
users:
- name: admin
  user:
    client-certificate-data: ${b64("CERT PEM")}
    client-key-data: ${b64("KEY PEM")}
contexts:
- name: admin@skiff
  context:
    cluster: skiff
    user: admin
${extra}`;

test("the current context gives server, decoded CA, client cert and key, namespace default", (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, "config"), basic());
  const c = loadKubeconfig({ kubeconfig: join(dir, "config"), env: {} });
  assert.deepEqual(c, {
    server: "https://127.0.0.1:6443",
    namespace: "default",
    ca: "CA PEM",
    cert: "CERT PEM",
    key: "KEY PEM",
  });
});

test("file paths resolve against the kubeconfig's folder; token file is read; context namespace is used", (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, "conf", "pki"), { recursive: true });
  writeFileSync(join(dir, "conf", "pki", "ca.crt"), "CA FROM FILE");
  writeFileSync(join(dir, "conf", "token"), "s3cret\n");
  writeFileSync(
    join(dir, "conf", "kubeconfig"),
    `
current-context: dev
clusters:
- name: c
  cluster: {server: "https://10.0.0.1:6443/", certificate-authority: pki/ca.crt}
users:
- name: u
  user: {tokenFile: token}
contexts:
- name: dev
  context: {cluster: c, user: u, namespace: team-a}
`,
  );
  const c = loadKubeconfig({ kubeconfig: join(dir, "conf", "kubeconfig"), env: {} });
  assert.equal(c.server, "https://10.0.0.1:6443");
  assert.equal(c.ca, "CA FROM FILE");
  assert.equal(c.token, "s3cret");
  assert.equal(c.namespace, "team-a");
  assert.equal(
    loadKubeconfig({ kubeconfig: join(dir, "conf", "kubeconfig"), namespace: "other", env: {} })
      .namespace,
    "other",
  );
});

test("$KUBECONFIG files are merged and the first to define a name wins", (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, "a"), basic("https://first:6443"));
  writeFileSync(
    join(dir, "b"),
    `
current-context: other
clusters:
- name: skiff
  cluster: {server: "https://second:6443"}
- name: extra
  cluster: {server: "https://extra:6443", insecure-skip-tls-verify: true}
users:
- name: bob
  user: {token: bobtoken}
contexts:
- name: bob@extra
  context: {cluster: extra, user: bob, namespace: bobs}
`,
  );
  const env = { KUBECONFIG: `${join(dir, "a")}:${join(dir, "missing")}::${join(dir, "b")}` };
  const c = loadKubeconfig({ env });
  assert.equal(c.server, "https://first:6443", "current-context and cluster from the first file");
  const bob = loadKubeconfig({ env, context: "bob@extra" });
  assert.deepEqual(bob, {
    server: "https://extra:6443",
    insecure: true,
    token: "bobtoken",
    namespace: "bobs",
  });
});

test("without --kubeconfig or $KUBECONFIG, ~/.kube/config is read", (t) => {
  const home = tempDir(t);
  mkdirSync(join(home, ".kube"));
  writeFileSync(join(home, ".kube", "config"), basic("https://home:6443"));
  assert.deepEqual(kubeconfigPaths({ env: { HOME: home } }).paths, [join(home, ".kube", "config")]);
  assert.equal(loadKubeconfig({ env: { HOME: home } }).server, "https://home:6443");
});

test("a missing context is a one-line error naming the file", (t) => {
  const dir = tempDir(t);
  const file = join(dir, "config");
  writeFileSync(file, basic());
  assert.throws(() => loadKubeconfig({ kubeconfig: file, context: "x", env: {} }), {
    name: "KubeconfigError",
    message: `context "x" not found in ${file}`,
  });
});

test("other broken configurations say what is wrong", (t) => {
  const dir = tempDir(t);
  const file = join(dir, "config");
  assert.throws(
    () => loadKubeconfig({ kubeconfig: file, env: {} }),
    /cannot read kubeconfig .*config/,
  );
  writeFileSync(file, "clusters: [\n");
  assert.throws(() => loadKubeconfig({ kubeconfig: file, env: {} }), /not valid YAML/);
  writeFileSync(file, basic().replace("current-context: admin@skiff", ""));
  assert.throws(() => loadKubeconfig({ kubeconfig: file, env: {} }), /no current-context/);
  writeFileSync(file, basic().replace("cluster: skiff", "cluster: gone"));
  assert.throws(
    () => loadKubeconfig({ kubeconfig: file, env: {} }),
    /cluster "gone" \(of context "admin@skiff"\) not found/,
  );
  writeFileSync(file, basic().replace(/client-key-data: .*/, ""));
  assert.throws(() => loadKubeconfig({ kubeconfig: file, env: {} }), /without a key/);
  writeFileSync(
    file,
    basic().replace(/certificate-authority-data: .*/, "certificate-authority: nope.crt"),
  );
  assert.throws(
    () => loadKubeconfig({ kubeconfig: file, env: {} }),
    /cannot read certificate-authority .*nope\.crt: ENOENT/,
  );
  assert.throws(() => loadKubeconfig({ env: { HOME: dir } }), /no kubeconfig found/);
});

test("in-cluster config reads the service account token, CA and namespace", (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, "token"), "sa-token\n");
  writeFileSync(join(dir, "ca.crt"), "SA CA");
  writeFileSync(join(dir, "namespace"), "kube-system");
  const env = { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" };
  assert.deepEqual(inClusterConfig({ dir, env }), {
    server: "https://10.96.0.1:443",
    token: "sa-token",
    ca: "SA CA",
    namespace: "kube-system",
  });
  assert.equal(
    inClusterConfig({
      dir,
      env: { KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "443" },
    }).server,
    "https://[fd00::1]:443",
  );
  assert.throws(() => inClusterConfig({ dir, env: {} }), /KUBERNETES_SERVICE_HOST/);
  // With no kubeconfig anywhere but a service host set, loadClientConfig falls back to in-cluster.
  assert.throws(
    () => loadClientConfig({ env: { HOME: dir, ...env } }),
    /cannot read service account token in \/var\/run/,
  );
});

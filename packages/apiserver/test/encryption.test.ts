// Encryption at rest on a real etcd: what etcdctl shows, what the API returns, and key
// rotation by the order of providers.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { startEtcd, startApiserver, type TestApiserver } from "@skiff/testing";

const dir = mkdtempSync(join(tmpdir(), "skiff-encryption-"));
const key = (n: number) => randomBytes(n).toString("base64");
const keys = { cbc: key(32), gcm: key(32), box: key(32) };
let etcd: Awaited<ReturnType<typeof startEtcd>>;
const running: TestApiserver[] = [];

before(async () => {
  etcd = await startEtcd();
});
after(async () => {
  for (const a of running) await a.stop();
  await etcd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** An EncryptionConfiguration for secrets (and configmaps) with these providers, in order. */
function config(name: string, providers: object[]): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: "apiserver.config.k8s.io/v1",
      kind: "EncryptionConfiguration",
      resources: [{ resources: ["secrets", "configmaps"], providers }],
    }),
  );
  return file;
}
const aescbc = { aescbc: { keys: [{ name: "key1", secret: keys.cbc }] } };
const aesgcm = { aesgcm: { keys: [{ name: "key2", secret: keys.gcm }] } };
const secretbox = { secretbox: { keys: [{ name: "key3", secret: keys.box }] } };
const identity = { identity: {} };

async function apiserverWith(file: string): Promise<TestApiserver> {
  // Each configuration gets its own apiserver on the same etcd, as a restart with new flags.
  for (const a of running.splice(0)) await a.stop();
  const a = await startApiserver({ etcdEndpoints: etcd.endpoints, encryptionProviderConfig: file });
  running.push(a);
  return a;
}

function etcdctlGet(key: string, endpoints = etcd.endpoints): Buffer {
  return execFileSync("etcdctl", [
    "--endpoints",
    endpoints.join(","),
    "get",
    key,
    "--print-value-only",
  ]);
}

const secret = (name: string, password: string) => ({
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name },
  stringData: { password },
});

async function readPassword(api: TestApiserver, name: string): Promise<string> {
  const r = await api.request("GET", `/api/v1/namespaces/default/secrets/${name}`);
  assert.equal(r.status, 200, r.text);
  return Buffer.from(r.json.data.password as string, "base64").toString();
}

test("a Secret written with aescbc is ciphertext in etcd and plain through the API", async () => {
  const api = await apiserverWith(config("cbc", [aescbc, identity]));
  const r = await api.request(
    "POST",
    "/api/v1/namespaces/default/secrets",
    secret("s1", "hunter2-cbc"),
  );
  assert.equal(r.status, 201, r.text);
  const raw = etcdctlGet("/registry/secrets/default/s1");
  assert.ok(
    raw.toString("latin1").startsWith("k8s:enc:aescbc:v1:key1:"),
    raw.toString("latin1").slice(0, 40),
  );
  assert.ok(!raw.includes("hunter2-cbc"));
  assert.ok(!raw.includes(Buffer.from("hunter2-cbc").toString("base64")));
  assert.equal(await readPassword(api, "s1"), "hunter2-cbc");
  // Lists and watches decrypt too.
  const list = await api.request("GET", "/api/v1/namespaces/default/secrets");
  assert.ok(
    (list.json.items as { metadata: { name: string } }[]).some((s) => s.metadata.name === "s1"),
  );
  // Resources not in the configuration stay plain JSON.
  await api.request("POST", "/api/v1/namespaces/default/serviceaccounts", {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: "plain" },
  });
  assert.equal(
    JSON.parse(etcdctlGet("/registry/serviceaccounts/default/plain").toString()).metadata.name,
    "plain",
  );
});

test("rotation: a new first provider writes, the old keys still read; identity reads plain data", async () => {
  // identity first: new data is plain, what aescbc wrote still reads.
  let api = await apiserverWith(config("id", [identity, aescbc]));
  assert.equal(await readPassword(api, "s1"), "hunter2-cbc");
  await api.request("POST", "/api/v1/namespaces/default/secrets", secret("old-plain", "plain-pw"));
  assert.ok(etcdctlGet("/registry/secrets/default/old-plain").includes("old-plain"));

  api = await apiserverWith(config("gcm", [aesgcm, aescbc, identity]));
  assert.equal(await readPassword(api, "s1"), "hunter2-cbc"); // written with key1
  assert.equal(await readPassword(api, "old-plain"), "plain-pw");
  await api.request("POST", "/api/v1/namespaces/default/secrets", secret("s2", "hunter2-gcm"));
  assert.ok(
    etcdctlGet("/registry/secrets/default/s2")
      .toString("latin1")
      .startsWith("k8s:enc:aesgcm:v1:key2:"),
  );
  // Rewriting an old object re-encrypts it with the new first key.
  const s1 = (await api.request("GET", "/api/v1/namespaces/default/secrets/s1")).json;
  const put = await api.request("PUT", "/api/v1/namespaces/default/secrets/s1", {
    ...s1,
    metadata: { ...s1.metadata, labels: { rotated: "yes" } },
  });
  assert.equal(put.status, 200, put.text);
  assert.ok(
    etcdctlGet("/registry/secrets/default/s1")
      .toString("latin1")
      .startsWith("k8s:enc:aesgcm:v1:key2:"),
  );

  // Data no provider can read stops the apiserver at start, naming the key.
  await assert.rejects(
    apiserverWith(config("box-only", [secretbox, aesgcm])),
    /\/registry\/secrets\/default\/old-plain: no provider of the encryption configuration reads it/,
  );
  api = await apiserverWith(config("gcm-again", [aesgcm, identity]));
  await api.request("DELETE", "/api/v1/namespaces/default/secrets/old-plain");

  api = await apiserverWith(config("box", [secretbox, aesgcm]));
  await api.request("POST", "/api/v1/namespaces/default/secrets", secret("s3", "hunter2-box"));
  const raw3 = etcdctlGet("/registry/secrets/default/s3");
  assert.ok(raw3.toString("latin1").startsWith("k8s:enc:secretbox:v1:key3:"));
  assert.ok(!raw3.includes("hunter2-box"));
  assert.equal(await readPassword(api, "s3"), "hunter2-box");
  assert.equal(await readPassword(api, "s2"), "hunter2-gcm");
});

test("a wrong EncryptionConfiguration stops the apiserver with a message naming the field", () => {
  const bad = config("bad", [{ aescbc: { keys: [{ name: "k", secret: key(7) }] } }]);
  const res = spawnSync(
    process.execPath,
    [
      new URL("../dist/main.js", import.meta.url).pathname,
      "--tls-cert-file=/dev/null",
      "--tls-private-key-file=/dev/null",
      "--etcd-servers",
      etcd.endpoints.join(","),
      "--secure-port=0",
      `--encryption-provider-config=${bad}`,
    ],
    { encoding: "utf8", timeout: 20_000 },
  );
  assert.notEqual(res.status, 0);
  assert.match(
    res.stderr,
    /resources\[0\]\.providers\[0\]\.aescbc\.keys\[0\]\.secret: aescbc needs a base64 key of 16, 24, 32 bytes, got 7/,
  );
  assert.doesNotMatch(res.stderr, /\n\s+at /);
});

test("keys rotate within a provider: the first key writes, the later keys still read", async () => {
  // Its own etcd: the data of the tests above is not this configuration's to read.
  const gcmKeys: Record<string, string> = { old: key(32), new: key(32) };
  const file = (name: string, names: string[]) =>
    config(name, [{ aesgcm: { keys: names.map((n) => ({ name: n, secret: gcmKeys[n] })) } }]);
  const api = await startApiserver({ encryptionProviderConfig: file("gcm-old", ["old"]) });
  try {
    await api.request("POST", "/api/v1/namespaces/default/secrets", secret("k1", "pw-old"));
    const raw = () => etcdctlGet("/registry/secrets/default/k1", api.etcdEndpoints);
    assert.ok(raw().toString("latin1").startsWith("k8s:enc:aesgcm:v1:old:"));
    // The new key first, the old one kept for reading.
    const other = await startApiserver({
      etcdEndpoints: api.etcdEndpoints,
      encryptionProviderConfig: file("gcm-new-old", ["new", "old"]),
    });
    try {
      assert.equal(await readPassword(other, "k1"), "pw-old");
      const k1 = (await other.request("GET", "/api/v1/namespaces/default/secrets/k1")).json;
      const put = await other.request("PUT", "/api/v1/namespaces/default/secrets/k1", {
        ...k1,
        metadata: { ...k1.metadata, labels: { rotated: "yes" } },
      });
      assert.equal(put.status, 200, put.text);
      assert.ok(raw().toString("latin1").startsWith("k8s:enc:aesgcm:v1:new:"));
      assert.equal(await readPassword(other, "k1"), "pw-old");
    } finally {
      await other.stop();
    }
  } finally {
    await api.stop();
  }
});

test("the configuration make up, compose and make deploy generate (make-certs.sh) writes Secrets with aescbc", async () => {
  const certs = join(dir, "make-certs");
  execFileSync(
    "bash",
    [new URL("../../../scripts/make-certs.sh", import.meta.url).pathname, certs],
    {
      stdio: "ignore",
    },
  );
  const api = await startApiserver({
    encryptionProviderConfig: join(certs, "encryption-config.yaml"),
  });
  try {
    await api.request("POST", "/api/v1/namespaces/default/secrets", secret("made", "pw-made"));
    const raw = etcdctlGet("/registry/secrets/default/made", api.etcdEndpoints);
    assert.ok(raw.toString("latin1").startsWith("k8s:enc:aescbc:v1:key1:"));
    assert.ok(!raw.includes("pw-made"));
    assert.equal(await readPassword(api, "made"), "pw-made");
  } finally {
    await api.stop();
  }
});

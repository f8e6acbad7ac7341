// The apiserver reaches an etcd that demands TLS client certificates (deploy's etcd does),
// with kube-apiserver's --etcd-cafile, --etcd-certfile and --etcd-keyfile.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startApiserver } from "@skiff/testing";

const dir = mkdtempSync(join(tmpdir(), "skiff-etcd-tls-"));
const sh = (cmd: string) => execFileSync("bash", ["-ec", cmd], { cwd: dir, stdio: "ignore" });
// An etcd CA of its own, a member certificate for 127.0.0.1 and a client certificate.
sh(`openssl req -x509 -newkey rsa:2048 -nodes -days 1 -keyout ca.key -out ca.crt -subj /CN=test-etcd-ca 2>/dev/null
for n in member client; do
  openssl req -newkey rsa:2048 -nodes -keyout $n.key -out $n.csr -subj /CN=$n 2>/dev/null
done
printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth,clientAuth\\n' >member.ext
printf 'extendedKeyUsage=clientAuth\\n' >client.ext
for n in member client; do
  openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -extfile $n.ext -out $n.crt 2>/dev/null
done`);

const clientPort = await freePort();
const peerPort = await freePort();
const endpoint = `https://127.0.0.1:${clientPort}`;
const etcd = spawn(
  "etcd",
  [
    "--name=tls",
    `--data-dir=${join(dir, "data")}`,
    `--listen-client-urls=${endpoint}`,
    `--advertise-client-urls=${endpoint}`,
    `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
    `--initial-cluster=tls=http://127.0.0.1:${peerPort}`,
    "--client-cert-auth",
    `--trusted-ca-file=${join(dir, "ca.crt")}`,
    `--cert-file=${join(dir, "member.crt")}`,
    `--key-file=${join(dir, "member.key")}`,
  ],
  { stdio: "ignore" },
);
after(() => {
  etcd.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

const etcdctl = (...args: string[]) =>
  spawnSync("etcdctl", [`--endpoints=${endpoint}`, "--command-timeout=3s", ...args], {
    encoding: "utf8",
    env: { ...process.env, ETCDCTL_API: "3" },
  });
const withCert = [
  `--cacert=${join(dir, "ca.crt")}`,
  `--cert=${join(dir, "client.crt")}`,
  `--key=${join(dir, "client.key")}`,
];
for (let i = 0; i < 100 && etcdctl(...withCert, "endpoint", "health").status !== 0; i++) {
  await new Promise((r) => setTimeout(r, 100));
}

test("this etcd refuses a client without a certificate", () => {
  const res = etcdctl(`--cacert=${join(dir, "ca.crt")}`, "get", "/registry", "--prefix");
  assert.notEqual(res.status, 0);
});

test("the apiserver stores and reads objects through etcd over TLS with its client certificate", async () => {
  const api = await startApiserver({
    etcdEndpoints: [endpoint],
    etcdTls: {
      caFile: join(dir, "ca.crt"),
      certFile: join(dir, "client.crt"),
      keyFile: join(dir, "client.key"),
    },
  });
  try {
    const created = await api.request("POST", "/api/v1/namespaces/default/configmaps", {
      metadata: { name: "over-tls" },
      data: { k: "v" },
    });
    assert.equal(created.status, 201, created.text);
    const got = await api.request("GET", "/api/v1/namespaces/default/configmaps/over-tls");
    assert.deepEqual(got.json.data, { k: "v" });
    const stored = etcdctl(
      ...withCert,
      "get",
      "/registry/configmaps/default/over-tls",
      "--keys-only",
    );
    assert.match(stored.stdout, /over-tls/);
  } finally {
    await api.stop();
  }
});

const main = new URL("../src/main.ts", import.meta.url).pathname;
const apiserver = (...args: string[]) =>
  spawnSync(process.execPath, ["--conditions=source", "--import", "tsx", main, ...args], {
    encoding: "utf8",
    timeout: 30_000,
  });

test("etcd TLS flags that cannot work are a one-line error naming the flag", () => {
  const common = ["--tls-cert-file=x", "--tls-private-key-file=y"];
  const cases: [string[], string][] = [
    [[`--etcd-servers=${endpoint}`], `--etcd-servers ${endpoint} is https: give --etcd-cafile`],
    [
      ["--etcd-servers=http://127.0.0.1:1", `--etcd-cafile=${join(dir, "ca.crt")}`],
      "--etcd-servers http://127.0.0.1:1 is not https",
    ],
    [
      [`--etcd-servers=${endpoint}`, `--etcd-cafile=${join(dir, "ca.crt")}`, "--etcd-certfile=c"],
      "--etcd-certfile and --etcd-keyfile go together",
    ],
    [
      [`--etcd-servers=${endpoint}`, "--etcd-cafile=/nonexistent/ca.crt"],
      "--etcd-cafile /nonexistent/ca.crt: ENOENT",
    ],
  ];
  for (const [args, message] of cases) {
    const res = apiserver(...common, ...args);
    assert.equal(res.status, 1, res.stderr);
    assert.equal(res.stderr.split("\n").filter(Boolean).length, 1, res.stderr);
    assert.ok(res.stderr.startsWith("skiff-apiserver: "), res.stderr);
    assert.ok(res.stderr.includes(message), `${res.stderr} should say ${message}`);
  }
});

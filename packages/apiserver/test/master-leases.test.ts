// With several apiservers on one etcd, the `kubernetes` Service's endpoints list every live
// one (kube-apiserver's lease reconciler): one that stops leaves at once, one that dies drops
// out when its 15 s key expires, and renewals rewrite nothing.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { eventually, freePort, startApiserver } from "@skiff/testing";

const api = await startApiserver();
after(() => api.stop());
const main = new URL("../src/main.ts", import.meta.url).pathname;

/** A second apiserver process on the same etcd, advertising `ip`. */
async function second(ip: string) {
  const port = await freePort();
  const c = (f: string) => join(api.certDir, f);
  const child = spawn(
    process.execPath,
    [
      "--conditions=source",
      "--import",
      "tsx",
      main,
      `--etcd-servers=${api.etcdEndpoints.join(",")}`,
      "--bind-address=127.0.0.1",
      `--advertise-address=${ip}`,
      `--secure-port=${port}`,
      `--tls-cert-file=${c("apiserver.crt")}`,
      `--tls-private-key-file=${c("apiserver.key")}`,
      `--client-ca-file=${c("ca.crt")}`,
    ],
    { stdio: "ignore" },
  );
  after(() => child.kill("SIGKILL"));
  return child;
}

const addresses = async (): Promise<string[]> => {
  const ep = await api.request("GET", "/api/v1/namespaces/default/endpoints/kubernetes");
  return (ep.json.subsets?.[0]?.addresses ?? []).map((a: { ip: string }) => a.ip);
};
const sliceAddresses = async (): Promise<string[]> => {
  const s = await api.request(
    "GET",
    "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes",
  );
  return s.json.endpoints.flatMap((e: { addresses: string[] }) => e.addresses);
};

test("a second apiserver joins the endpoints and leaves them when it stops", async () => {
  const child = await second("127.0.0.2");
  await eventually(async () => {
    assert.deepEqual(await addresses(), ["127.0.0.1", "127.0.0.2"]);
    assert.deepEqual(await sliceAddresses(), ["127.0.0.1", "127.0.0.2"]);
  }, 30_000);
  child.kill("SIGTERM");
  await eventually(async () => assert.deepEqual(await addresses(), ["127.0.0.1"]), 5_000);
  assert.deepEqual(await sliceAddresses(), ["127.0.0.1"]);
});

test("an apiserver that dies drops out when its key expires, and renewals write nothing", async () => {
  const child = await second("127.0.0.3");
  await eventually(
    async () => assert.deepEqual(await addresses(), ["127.0.0.1", "127.0.0.3"]),
    30_000,
  );
  child.kill("SIGKILL");
  const killed = Date.now();
  // 15 s TTL (+ up to 10 % spare of the shared etcd lease) and one 10 s renewal of the first.
  await eventually(async () => assert.deepEqual(await addresses(), ["127.0.0.1"]), 35_000);
  const tookS = (Date.now() - killed) / 1000;
  assert.ok(tookS >= 10, `dropped after ${tookS} s: not before its key could expire`);
  const rv = (await api.request("GET", "/api/v1/namespaces/default/endpoints/kubernetes")).json
    .metadata.resourceVersion;
  await new Promise((r) => setTimeout(r, 11_000)); // one more renewal of the first apiserver
  const again = (await api.request("GET", "/api/v1/namespaces/default/endpoints/kubernetes")).json
    .metadata.resourceVersion;
  assert.equal(again, rv, "a renewal with nothing changed leaves the Endpoints alone");
});

test("apiservers that share an IP start together (they share its key)", async () => {
  // Started at once, each reads the key and writes it back: all but one lose the race on the
  // first try, and must read again rather than fail to start.
  const started = await Promise.allSettled(
    [1, 2, 3].map(() => startApiserver({ etcdEndpoints: api.etcdEndpoints })),
  );
  try {
    for (const s of started) if (s.status === "rejected") throw s.reason;
    assert.deepEqual(await addresses(), ["127.0.0.1"]);
  } finally {
    for (const s of started) if (s.status === "fulfilled") await s.value.stop();
  }
});

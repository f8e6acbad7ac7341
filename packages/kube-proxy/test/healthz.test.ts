// /healthz before any sync: kube-proxy answers 503 until its rules are programmed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { get as httpGet } from "node:http";
import { RestClient } from "@skiff/client";
import { ProxyServer } from "../src/proxy.js";

function get(address: string, path: string): Promise<{ status: number; body: string }> {
  const [host, port] = address.split(":") as [string, string];
  return new Promise((resolve, reject) => {
    httpGet({ host, port: Number(port), path, agent: false }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    }).on("error", reject);
  });
}

test("healthz says 503 with a zero lastUpdated while the proxy has never synced", async () => {
  // An apiserver that refuses every connection: the caches never fill, no rule is written.
  const client = new RestClient({ server: "https://127.0.0.1:1", namespace: "default" });
  const proxy = new ProxyServer({
    client,
    metricsBindAddress: "127.0.0.1:0",
    healthzBindAddress: "127.0.0.1:0",
    exec: () => Promise.reject(new Error("no command may run before the caches sync")),
  });
  const started = proxy.start();
  try {
    while (!proxy.healthzAddress) await new Promise((r) => setTimeout(r, 20));
    const health = await get(proxy.healthzAddress, "/healthz");
    assert.equal(health.status, 503);
    const body = JSON.parse(health.body) as { lastUpdated: string; currentTime: string };
    assert.equal(body.lastUpdated, new Date(0).toISOString());
    assert.ok(Math.abs(Date.parse(body.currentTime) - Date.now()) < 10_000);
    assert.equal((await get(proxy.metricsAddress!, "/proxyMode")).body, "iptables");
  } finally {
    await proxy.stop();
    await started;
  }
});

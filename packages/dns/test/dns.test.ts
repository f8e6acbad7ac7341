// The real skiff-dns program against a real apiserver (and etcd) on loopback, asked with
// Debian's dig and with dns-packet clients. Names outside the zone go to a tiny upstream
// this test runs on loopback (it answers *.upstream.test) — never to a real server.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { createSocket } from "node:dgram";
import type { Socket } from "node:dgram";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decode, encode } from "dns-packet";
import { freePort, startApiserver } from "@skiff/testing";
import type { TestApiserver } from "@skiff/testing";
import { reverseName } from "../src/names.js";
import {
  data,
  dig,
  httpGet,
  question,
  startSkiffDns,
  stopProcess,
  tcpQuery,
  udpQuery,
} from "./clients.js";

const ns = "dnstest";
const zone = "cluster.local";
let api: TestApiserver;
let dns: ChildProcess | undefined;
let upstream: Socket;
let upstreamQueries = 0;
let port = 0;
let healthPort = 0;
let metricsPort = 0;

interface Created {
  spec: { clusterIP?: string };
  status?: Record<string, unknown>;
}

async function create(path: string, body: unknown): Promise<Created> {
  const res = await api.request("POST", path, body);
  assert.ok(res.status === 201 || res.status === 200, `${path}: ${res.status} ${res.text}`);
  return res.json as Created;
}

const svcPath = `/api/v1/namespaces/${ns}/services`;
const slicePath = `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`;

function slice(
  svc: string,
  endpoints: { ip: string; hostname?: string }[],
  ports = [{ name: "pg", port: 5432, protocol: "TCP" }],
) {
  return {
    metadata: { name: `${svc}-1`, labels: { "kubernetes.io/service-name": svc } },
    addressType: "IPv4",
    ports,
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: true },
      ...(e.hostname ? { hostname: e.hostname } : {}),
    })),
  };
}

let webIP = "";

before(async () => {
  api = await startApiserver();
  await create("/api/v1/namespaces", { metadata: { name: ns } });
  webIP = (
    await create(svcPath, {
      metadata: { name: "web" },
      spec: { ports: [{ name: "http", port: 80 }] },
    })
  ).spec.clusterIP!;
  await create(svcPath, {
    metadata: { name: "db" },
    spec: { clusterIP: "None", ports: [{ name: "pg", port: 5432 }] },
  });
  await create(
    slicePath,
    slice("db", [{ ip: "10.244.1.5", hostname: "db-0" }, { ip: "10.244.1.6" }]),
  );
  await create(svcPath, {
    metadata: { name: "ext" },
    spec: { type: "ExternalName", externalName: "www.upstream.test" },
  });
  const many = Array.from({ length: 80 }, (_, i) => ({ ip: `10.244.2.${i + 1}` }));
  await create(svcPath, {
    metadata: { name: "big" },
    spec: { clusterIP: "None", ports: [{ name: "pg", port: 5432 }] },
  });
  await create(slicePath, slice("big", many));
  const pod = await create(`/api/v1/namespaces/${ns}/pods`, {
    metadata: { name: "p" },
    spec: { containers: [{ name: "c", image: "skiff.local/busybox:1.36" }] },
  });
  pod.status = { ...pod.status, podIP: "10.244.3.4", podIPs: [{ ip: "10.244.3.4" }] };
  const st = await api.request("PUT", `/api/v1/namespaces/${ns}/pods/p/status`, pod);
  assert.equal(st.status, 200, st.text);

  // The upstream: answers A for *.upstream.test with 192.0.2.7, NXDOMAIN for the rest.
  upstream = createSocket("udp4");
  upstream.on("message", (msg, rinfo) => {
    upstreamQueries++;
    const q = decode(msg);
    const name = q.questions?.[0]?.name ?? "";
    const ours = name.endsWith("upstream.test");
    upstream.send(
      encode({
        type: "response",
        id: q.id ?? 0,
        flags: ours ? 0 : 3,
        questions: q.questions ?? [],
        answers: ours ? [{ name, type: "A", ttl: 60, data: "192.0.2.7" }] : [],
      }),
      rinfo.port,
      rinfo.address,
    );
  });
  await new Promise<void>((resolve) => upstream.bind(0, "127.0.0.1", () => resolve()));
  const dead = await freePort(); // nothing listens there: the first upstream refuses at once
  const dir = mkdtempSync(join(tmpdir(), "skiff-dns-"));
  const resolvConf = join(dir, "resolv.conf");
  writeFileSync(
    resolvConf,
    `nameserver 127.0.0.1:${dead}\nnameserver 127.0.0.1:${upstream.address().port}\n`,
  );

  [port, healthPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  dns = await startSkiffDns(
    [
      `--kubeconfig=${api.kubeconfig}`,
      "--dns-address=127.0.0.1",
      `--dns-port=${port}`,
      `--health-port=${healthPort}`,
      `--metrics-port=${metricsPort}`,
      `--resolv-conf=${resolvConf}`,
      "--ttl=15",
    ],
    healthPort,
  );
});

after(async () => {
  await stopProcess(dns);
  upstream?.close();
  await api?.stop();
});

test("a ClusterIP Service answers its ClusterIP, with the TTL flag, and a PTR back", async () => {
  const a = await dig(port, `web.${ns}.svc.${zone}`);
  assert.equal(a.status, "NOERROR");
  assert.deepEqual(data(a, "A"), [webIP]);
  assert.equal(a.answers[0]!.split(" ")[1], "15");
  assert.ok(a.flags.includes("aa"), a.stdout);
  const k = await dig(port, `kubernetes.default.svc.${zone}`);
  assert.deepEqual(data(k, "A"), ["10.96.0.1"]);
  const ptr = await dig(port, reverseName(webIP)!, "PTR");
  assert.deepEqual(data(ptr, "PTR"), [`web.${ns}.svc.${zone}.`]);
});

test("a headless Service answers each ready endpoint, and its hostnames", async () => {
  const a = await dig(port, `db.${ns}.svc.${zone}`);
  assert.deepEqual(data(a, "A").sort(), ["10.244.1.5", "10.244.1.6"]);
  assert.deepEqual(data(await dig(port, `db-0.db.${ns}.svc.${zone}`), "A"), ["10.244.1.5"]);
  const ptr = await dig(port, "5.1.244.10.in-addr.arpa", "PTR");
  assert.deepEqual(data(ptr, "PTR"), [`db-0.db.${ns}.svc.${zone}.`]);
});

test("SRV records for named ports of both kinds of Service, with the targets' addresses", async () => {
  const web = await dig(port, `_http._tcp.web.${ns}.svc.${zone}`, "SRV");
  assert.deepEqual(data(web, "SRV"), [`0 100 80 web.${ns}.svc.${zone}.`]);
  assert.deepEqual(
    web.additional.map((l) => l.split(" ")[4]),
    [webIP],
  );
  const db = await dig(port, `_pg._tcp.db.${ns}.svc.${zone}`, "SRV");
  assert.deepEqual(data(db, "SRV").sort(), [
    `0 100 5432 10-244-1-6.db.${ns}.svc.${zone}.`,
    `0 100 5432 db-0.db.${ns}.svc.${zone}.`,
  ]);
});

test("a pod record, an ExternalName CNAME, and NXDOMAIN with the SOA", async () => {
  assert.deepEqual(data(await dig(port, `10-244-3-4.${ns}.pod.${zone}`), "A"), ["10.244.3.4"]);
  const ext = await dig(port, `ext.${ns}.svc.${zone}`);
  assert.deepEqual(data(ext, "CNAME"), ["www.upstream.test."]);
  const nx = await dig(port, `nope.${ns}.svc.${zone}`);
  assert.equal(nx.status, "NXDOMAIN");
  assert.match(nx.authority[0] ?? "", /^cluster\.local\. \d+ IN SOA ns\.dns\.cluster\.local\. /);
  assert.equal((await dig(port, `10-244-3-5.${ns}.pod.${zone}`)).status, "NXDOMAIN");
});

test("a big headless answer is truncated over UDP, and dig gets it whole over TCP", async () => {
  const r = await dig(port, `big.${ns}.svc.${zone}`, "A", "+noedns");
  assert.match(r.stdout, /Truncated, retrying in TCP mode/);
  assert.equal(data(r, "A").length, 80);
  const udp = await udpQuery(port, question(`big.${ns}.svc.${zone}`));
  assert.equal(udp.flag_tc, true);
  assert.equal(udp.answers?.length, 0);
  // EDNS0: a client that offers 4096 bytes gets all 80 over UDP (80 × 45 bytes fit).
  const edns = await udpQuery(port, question(`big.${ns}.svc.${zone}`, "A", 4096));
  assert.equal(edns.flag_tc, false);
  assert.equal(edns.answers?.length, 80);
  const tcp = await tcpQuery(port, question(`big.${ns}.svc.${zone}`));
  assert.equal(tcp.answers?.length, 80);
});

test("a Service created is resolvable within 1 s; deleted, it is NXDOMAIN within 1 s", async () => {
  const name = `fresh.${ns}.svc.${zone}`;
  assert.equal((await udpQuery(port, question(name))).rcode, "NXDOMAIN");
  const created = Date.now();
  const ip = (
    await create(svcPath, { metadata: { name: "fresh" }, spec: { ports: [{ port: 80 }] } })
  ).spec.clusterIP!;
  const until = async (rcode: string, since: number): Promise<number> => {
    for (;;) {
      const r = await udpQuery(port, question(name));
      if (r.rcode === rcode) {
        if (rcode === "NOERROR")
          assert.deepEqual(
            r.answers?.map((a) => a.data),
            [ip],
          );
        return Date.now() - since;
      }
      if (Date.now() - since > 5000) throw new Error(`still not ${rcode} after 5 s`);
      await new Promise((res) => setTimeout(res, 20));
    }
  };
  const toResolve = await until("NOERROR", created);
  assert.ok(toResolve < 1000, `resolvable after ${toResolve} ms`);
  const deleted = Date.now();
  assert.equal((await api.request("DELETE", `${svcPath}/fresh`)).status, 200);
  const toGone = await until("NXDOMAIN", deleted);
  assert.ok(toGone < 1000, `NXDOMAIN after ${toGone} ms`);
});

test("names outside the zone go to the resolv.conf's nameservers, past a dead one, and are cached", async () => {
  const before = upstreamQueries;
  const started = Date.now();
  const r = await dig(port, "www.upstream.test");
  assert.equal(r.status, "NOERROR");
  assert.deepEqual(data(r, "A"), ["192.0.2.7"]);
  assert.ok(Date.now() - started < 1000, "the refusing upstream cost no timeout");
  assert.equal(upstreamQueries, before + 1);
  assert.deepEqual(data(await dig(port, "www.upstream.test"), "A"), ["192.0.2.7"]);
  assert.equal(upstreamQueries, before + 1, "the second answer came from the cache");
  assert.equal((await dig(port, "other.test")).status, "NXDOMAIN");
});

test("/health, /ready and /metrics (queries by type, responses by rcode, cache hits)", async () => {
  assert.equal((await httpGet(healthPort, "/health")).status, 200);
  assert.deepEqual(await httpGet(healthPort, "/ready"), { status: 200, body: "OK" });
  const text = (await httpGet(metricsPort, "/metrics")).body;
  const value = (re: RegExp): number => Number(re.exec(text)?.[1] ?? "NaN");
  assert.ok(value(/skiff_dns_requests_total\{proto="udp",type="A"\} (\d+)/) > 5, text);
  assert.ok(value(/skiff_dns_requests_total\{proto="tcp",type="A"\} (\d+)/) >= 1);
  assert.ok(value(/skiff_dns_requests_total\{proto="udp",type="SRV"\} (\d+)/) >= 2);
  assert.ok(value(/skiff_dns_responses_total\{rcode="NXDOMAIN"\} (\d+)/) >= 1);
  assert.ok(value(/skiff_dns_cache_hits_total\{cache="forward"\} (\d+)/) >= 1);
  assert.ok(value(/skiff_dns_request_duration_seconds_count\{proto="udp"\} (\d+)/) > 5);
});

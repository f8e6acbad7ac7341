// Checks the IPVS proxier against a real IPVS table. Needs a kernel with ip_vs (the kernel
// Skiff is developed on has none: there the script says so and exits 2).
//   sudo npx tsx --conditions=source scripts/ipvs-check.ts
// Everything happens in two network namespaces made for the purpose and deleted at the end:
// "proxy" runs the proxier (its own IPVS table, netfilter tables and kube-ipvs0), "backends"
// holds two HTTP servers behind a veth pair. The table is read back with Skiff's own
// GET_SERVICE/GET_DEST dumps (the `ipvsadm -Ln` equivalent, printed), and traffic is sent
// from inside "proxy" to the ClusterIPs and the NodePort.
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { get } from "node:http";
import {
  IpvsClient,
  IpvsProxier,
  boundAddresses,
  exec,
  virtualServerKey,
  type EndpointSlice,
  type Service,
} from "@skiff/kube-proxy";

const proxyNs = `skipvs-proxy-${process.pid}`;
const backendNs = `skipvs-be-${process.pid}`;
const nodeIP = "192.0.2.2";
const backends = { be0: "10.244.1.2", be1: "10.244.1.3" };
const sh = (...args: string[]): string => execFileSync(args[0]!, args.slice(1)).toString();

async function main(): Promise<number> {
  if (process.argv.includes("--inside")) return inside();
  spawnSync("modprobe", ["ip_vs"]); // may be built in, or absent: the lookup below decides
  const probe = await IpvsClient.open();
  if (!probe) {
    console.error(
      'ipvs-check: this kernel has no IPVS (no generic netlink family "IPVS"); run it on a kernel with ip_vs',
    );
    return 2;
  }
  probe.close();
  const servers: ChildProcess[] = [];
  try {
    sh("ip", "netns", "add", proxyNs);
    sh("ip", "netns", "add", backendNs);
    sh(
      "ip",
      "link",
      "add",
      "skipvs-a",
      "netns",
      proxyNs,
      "type",
      "veth",
      "peer",
      "skipvs-b",
      "netns",
      backendNs,
    );
    const inNs = (ns: string, ...args: string[]): string => sh("ip", "netns", "exec", ns, ...args);
    inNs(proxyNs, "ip", "addr", "add", "10.244.1.1/24", "dev", "skipvs-a");
    inNs(proxyNs, "ip", "addr", "add", `${nodeIP}/32`, "dev", "lo");
    for (const ns of [proxyNs, backendNs]) inNs(ns, "ip", "link", "set", "lo", "up");
    inNs(proxyNs, "ip", "link", "set", "skipvs-a", "up");
    for (const ip of Object.values(backends))
      inNs(backendNs, "ip", "addr", "add", `${ip}/24`, "dev", "skipvs-b");
    inNs(backendNs, "ip", "link", "set", "skipvs-b", "up");
    inNs(backendNs, "ip", "route", "add", "default", "via", "10.244.1.1");
    for (const [name, ip] of Object.entries(backends)) {
      const code = `require("http").createServer((q, r) => r.end(${JSON.stringify(name)})).listen(8080, ${JSON.stringify(ip)})`;
      servers.push(
        spawn("ip", ["netns", "exec", backendNs, process.execPath, "-e", code], {
          stdio: "inherit",
        }),
      );
    }
    const child = spawnSync(
      "ip",
      [
        "netns",
        "exec",
        proxyNs,
        process.execPath,
        "--conditions=source",
        "--import",
        "tsx",
        new URL(import.meta.url).pathname,
        "--inside",
      ],
      { stdio: "inherit" },
    );
    return child.status ?? 1;
  } finally {
    for (const s of servers) s.kill();
    spawnSync("ip", ["netns", "del", proxyNs]);
    spawnSync("ip", ["netns", "del", backendNs]);
  }
}

const service = (
  name: string,
  clusterIP: string,
  spec: Partial<Service["spec"]> = {},
): Service => ({
  metadata: { name, namespace: "check" },
  spec: { clusterIP, ports: [{ name: "http", port: 80, protocol: "TCP" }], ...spec },
});
const slice = (name: string, ips: string[]): EndpointSlice => ({
  metadata: {
    name: `${name}-1`,
    namespace: "check",
    labels: { "kubernetes.io/service-name": name },
  },
  addressType: "IPv4",
  endpoints: ips.map((ip) => ({ addresses: [ip] })),
  ports: [{ name: "http", protocol: "TCP", port: 8080 }],
});

function fetchText(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get({ host, port, path: "/", timeout: 3000, agent: false }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve(body));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
}

async function answers(host: string, port: number, n = 20): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) seen.add(await fetchText(host, port));
  return seen;
}

/** The table as `ipvsadm -Ln` would show it, read with Skiff's own dumps. */
async function listing(client: IpvsClient): Promise<string[]> {
  const lines: string[] = [];
  for (const s of await client.getServices()) {
    const dests = (await client.getDestinations(s)).map(
      (d) => `${d.address}:${d.port} ${d.forwardMethod} w${d.weight}`,
    );
    lines.push(
      `${virtualServerKey(s)} ${s.scheduler}${s.flags! & 1 ? ` persistent ${s.timeout}` : ""} -> ${dests.sort().join(", ")}`,
    );
  }
  return lines.sort();
}

async function inside(): Promise<number> {
  const client = await IpvsClient.open();
  assert.ok(client, "IPVS inside the namespace");
  const ok = (what: string): void => console.log(`ok - ${what}`);
  // Someone else's virtual server: Skiff must leave it alone.
  const foreign = { address: "203.0.113.5", protocol: "TCP" as const, port: 80, scheduler: "wrr" };
  await client.newService(foreign);
  const proxier = new IpvsProxier({
    node: { name: "node-1", addresses: [nodeIP] },
    clusterCIDR: "10.244.0.0/16",
    serviceCIDR: "10.96.0.0/12",
    exec,
  });
  const web = service("web", "10.96.0.10", {
    type: "NodePort",
    ports: [{ name: "http", port: 80, protocol: "TCP", nodePort: 30080 }],
  });
  const sticky = service("sticky", "10.96.0.11", { sessionAffinity: "ClientIP" });
  const empty = service("empty", "10.96.0.12");
  const both = Object.values(backends);
  for (const s of [web, sticky, empty]) proxier.onServiceAdd(s);
  for (const s of [slice("web", both), slice("sticky", both)]) proxier.onEndpointSliceAdd(s);
  await proxier.sync();
  const table = await listing(client);
  console.log(table.map((l) => `  ${l}`).join("\n"));
  assert.deepEqual(table, [
    "TCP/10.96.0.10:80 rr -> 10.244.1.2:8080 masq w1, 10.244.1.3:8080 masq w1",
    "TCP/10.96.0.11:80 rr persistent 10800 -> 10.244.1.2:8080 masq w1, 10.244.1.3:8080 masq w1",
    "TCP/10.96.0.12:80 rr -> ",
    "TCP/192.0.2.2:30080 rr -> 10.244.1.2:8080 masq w1, 10.244.1.3:8080 masq w1",
    "TCP/203.0.113.5:80 wrr -> ",
  ]);
  ok(
    "the table holds one virtual server per ClusterIP port and per NodePort, with the ready endpoints",
  );
  assert.deepEqual((await boundAddresses(exec)).sort(), ["10.96.0.10", "10.96.0.11", "10.96.0.12"]);
  ok("the ClusterIPs are bound to kube-ipvs0");
  await proxier.sync();
  assert.equal(proxier.lastResult?.written, 0);
  ok("a second sync writes nothing");

  assert.deepEqual([...(await answers("10.96.0.10", 80))].sort(), ["be0", "be1"]);
  ok("a ClusterIP spreads connections over both backends");
  assert.deepEqual([...(await answers(nodeIP, 30080))].sort(), ["be0", "be1"]);
  ok("the NodePort answers on the node address");
  assert.equal((await answers("10.96.0.11", 80)).size, 1);
  ok("ClientIP affinity sticks to one backend");
  await assert.rejects(fetchText("10.96.0.12", 80), /ECONNREFUSED/);
  ok("a service without endpoints refuses at once");

  proxier.onEndpointSliceUpdate(slice("web", both), slice("web", [backends.be0]));
  await proxier.sync();
  assert.equal(proxier.lastResult?.written, 2, "one real server off each web virtual server");
  assert.deepEqual([...(await answers("10.96.0.10", 80))], ["be0"]);
  ok("scaling down is followed with only the changed real servers");

  proxier.onServiceDelete(sticky);
  await proxier.sync();
  assert.ok(!(await listing(client)).some((l) => l.startsWith("TCP/10.96.0.11:80")));
  ok("a deleted service loses its virtual server");

  await proxier.cleanup();
  assert.deepEqual(await listing(client), ["TCP/203.0.113.5:80 wrr -> "]);
  assert.notEqual((await exec("ip", ["link", "show", "dev", "kube-ipvs0"])).code, 0);
  ok("cleanup removes Skiff's virtual servers and kube-ipvs0, and leaves the others");
  await client.delService(foreign);
  client.close();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error("ipvs-check failed:", err);
    process.exit(1);
  },
);

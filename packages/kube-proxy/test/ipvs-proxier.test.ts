// The IPVS proxier's sync in a network namespace of its own: kube-ipvs0, its addresses and the
// iptables rules are real; the IPVS table is an in-memory one with the kernel's answers (this
// kernel has no IPVS, hence no net.ipv4.vs.* sysctls either: those two commands are answered
// here). The netlink side of a real table is checked by scripts/ipvs-check.ts on an IPVS kernel.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { Exec } from "../src/exec.js";
import { exec, execInNetns, mustExec } from "../src/exec.js";
import type { EndpointSlice, Service } from "../src/types.js";
import type { Ipvs } from "../src/ipvs/client.js";
import type { RealServer, VirtualServer } from "../src/ipvs/netlink.js";
import { IP_VS_SVC_F_HASHED } from "../src/ipvs/netlink.js";
import { NetlinkError } from "../src/ipvs/socket.js";
import { virtualServerKey } from "../src/ipvs/desired.js";
import { boundAddresses } from "../src/ipvs/device.js";
import { IpvsProxier } from "../src/ipvs/proxier.js";

/** An IPVS table in memory that answers like the kernel (EEXIST, ENOENT, HASHED flag). */
class MemoryIpvs implements Ipvs {
  readonly table = new Map<string, { service: VirtualServer; dests: Map<string, RealServer> }>();
  readonly log: string[] = [];
  private entry(s: VirtualServer) {
    const e = this.table.get(virtualServerKey(s));
    if (!e) throw new NetlinkError(3, "no such service"); // ESRCH, as the kernel says
    return e;
  }
  async getServices(): Promise<VirtualServer[]> {
    return [...this.table.values()].map((e) => ({
      ...e.service,
      flags: (e.service.flags ?? 0) | IP_VS_SVC_F_HASHED,
    }));
  }
  async getDestinations(s: VirtualServer): Promise<RealServer[]> {
    return [...this.entry(s).dests.values()];
  }
  async newService(s: VirtualServer): Promise<void> {
    this.log.push(`newService ${virtualServerKey(s)}`);
    if (this.table.has(virtualServerKey(s))) throw new NetlinkError(17, "exists");
    this.table.set(virtualServerKey(s), { service: { ...s }, dests: new Map() });
  }
  async setService(s: VirtualServer): Promise<void> {
    this.log.push(`setService ${virtualServerKey(s)}`);
    this.entry(s).service = { ...s };
  }
  async delService(s: VirtualServer): Promise<void> {
    this.log.push(`delService ${virtualServerKey(s)}`);
    this.entry(s);
    this.table.delete(virtualServerKey(s));
  }
  async newDest(s: VirtualServer, d: RealServer): Promise<void> {
    this.log.push(`newDest ${virtualServerKey(s)} ${d.address}:${d.port}`);
    const dests = this.entry(s).dests;
    if (dests.has(`${d.address}:${d.port}`)) throw new NetlinkError(17, "exists");
    dests.set(`${d.address}:${d.port}`, { ...d });
  }
  async setDest(s: VirtualServer, d: RealServer): Promise<void> {
    this.log.push(`setDest ${virtualServerKey(s)} ${d.address}:${d.port}`);
    this.entry(s).dests.set(`${d.address}:${d.port}`, { ...d });
  }
  async delDest(s: VirtualServer, d: RealServer): Promise<void> {
    this.log.push(`delDest ${virtualServerKey(s)} ${d.address}:${d.port}`);
    if (!this.entry(s).dests.delete(`${d.address}:${d.port}`)) throw new NetlinkError(2, "none");
  }
  close(): void {}
  /** `ipvsadm -Ln` in short: one line per virtual server with its real servers. */
  listing(): string[] {
    return [...this.table.values()]
      .map((e) =>
        [
          `${virtualServerKey(e.service)} ${e.service.scheduler}${e.service.flags ? ` persistent ${e.service.timeout}` : ""}`,
          ...[...e.dests.values()].map((d) => `${d.address}:${d.port}`).sort(),
        ].join(" -> "),
      )
      .sort();
  }
}

const netns = `skipvs-${process.pid}`;
const inNetns = execInNetns(netns);
const run: Exec = (command, args, stdin) =>
  command === "sysctl" && args[1]?.startsWith("net.ipv4.vs.")
    ? Promise.resolve({ code: 0, stdout: "", stderr: "" })
    : inNetns(command, args, stdin);
const node = { name: "node-1", addresses: ["192.0.2.2"] };
const ipvs = new MemoryIpvs();
let proxier: IpvsProxier;

const svc = (name: string, clusterIP: string, spec: Partial<Service["spec"]> = {}): Service => ({
  metadata: { name, namespace: "default" },
  spec: { clusterIP, ports: [{ name: "http", port: 80, protocol: "TCP" }], ...spec },
});
const slice = (service: string, ips: string[]): EndpointSlice => ({
  metadata: {
    name: `${service}-1`,
    namespace: "default",
    labels: { "kubernetes.io/service-name": service },
  },
  addressType: "IPv4",
  endpoints: ips.map((ip) => ({ addresses: [ip], nodeName: "node-1" })),
  ports: [{ name: "http", protocol: "TCP", port: 8080 }],
});
const web = svc("web", "10.96.0.10");
const sticky = svc("sticky", "10.96.0.11", {
  sessionAffinity: "ClientIP",
  sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
});
const np = svc("np", "10.96.0.12", {
  type: "NodePort",
  ports: [{ name: "http", port: 80, protocol: "TCP", nodePort: 30080 }],
});
const webSlice = slice("web", ["10.244.1.2", "10.244.1.3"]);
const nat = async (): Promise<string> => mustExec(run, "iptables-save", ["-t", "nat"]);

before(async () => {
  await mustExec(exec, "ip", ["netns", "add", netns]);
  proxier = new IpvsProxier({
    node,
    clusterCIDR: "10.244.0.0/16",
    serviceCIDR: "10.96.0.0/12",
    exec: run,
    ipvs,
  });
  // Someone else's virtual server on this node: never Skiff's to change.
  await ipvs.newService({ address: "203.0.113.5", protocol: "TCP", port: 80, scheduler: "wrr" });
});

after(async () => {
  await exec("ip", ["netns", "del", netns]);
});

test("the first sync programs virtual servers, binds ClusterIPs to kube-ipvs0 and writes the masquerade rules", async () => {
  for (const s of [web, sticky, np]) proxier.onServiceAdd(s);
  for (const s of [webSlice, slice("sticky", ["10.244.1.4"]), slice("np", ["10.244.1.5"])])
    proxier.onEndpointSliceAdd(s);
  await proxier.sync();
  assert.deepEqual(ipvs.listing(), [
    "TCP/10.96.0.10:80 rr -> 10.244.1.2:8080 -> 10.244.1.3:8080",
    "TCP/10.96.0.11:80 rr persistent 60 -> 10.244.1.4:8080",
    "TCP/10.96.0.12:80 rr -> 10.244.1.5:8080",
    "TCP/192.0.2.2:30080 rr -> 10.244.1.5:8080",
    "TCP/203.0.113.5:80 wrr",
  ]);
  assert.deepEqual((await boundAddresses(run)).sort(), ["10.96.0.10", "10.96.0.11", "10.96.0.12"]);
  const rules = await nat();
  assert.match(
    rules,
    /-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES/,
  );
  assert.match(
    rules,
    /-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING/,
  );
  assert.match(rules, /-A KUBE-NODE-PORT -p tcp -m tcp --dport 30080 -j KUBE-MARK-MASQ/);
  assert.match(rules, /-A KUBE-LOOP-BACK -s 10\.244\.1\.2\/32 -d 10\.244\.1\.2\/32 /);
});

test("a sync with nothing changed writes no IPVS operation", async () => {
  ipvs.log.length = 0;
  await proxier.sync();
  assert.deepEqual(ipvs.log, []);
  assert.equal(proxier.lastResult?.written, 0);
});

test("scaling endpoints changes only that service's real servers", async () => {
  ipvs.log.length = 0;
  proxier.onEndpointSliceUpdate(webSlice, slice("web", ["10.244.1.3", "10.244.1.9"]));
  await proxier.sync();
  assert.deepEqual(ipvs.log, [
    "newDest TCP/10.96.0.10:80 10.244.1.9:8080",
    "delDest TCP/10.96.0.10:80 10.244.1.2:8080",
  ]);
});

test("a deleted service loses its virtual server and its address on kube-ipvs0", async () => {
  ipvs.log.length = 0;
  proxier.onServiceDelete(sticky);
  await proxier.sync();
  assert.deepEqual(ipvs.log, ["delService TCP/10.96.0.11:80"]);
  assert.deepEqual((await boundAddresses(run)).sort(), ["10.96.0.10", "10.96.0.12"]);
});

test("drift is repaired: a virtual server removed behind Skiff's back comes back", async () => {
  await ipvs.delService({ address: "10.96.0.10", protocol: "TCP", port: 80 });
  ipvs.log.length = 0;
  await proxier.sync();
  assert.deepEqual(ipvs.log, [
    "newService TCP/10.96.0.10:80",
    "newDest TCP/10.96.0.10:80 10.244.1.3:8080",
    "newDest TCP/10.96.0.10:80 10.244.1.9:8080",
  ]);
});

test("cleanup removes Skiff's virtual servers, kube-ipvs0 and every KUBE chain, and nothing else", async () => {
  await proxier.cleanup();
  assert.deepEqual(ipvs.listing(), ["TCP/203.0.113.5:80 wrr"]);
  assert.notEqual((await run("ip", ["link", "show", "dev", "kube-ipvs0"])).code, 0);
  assert.doesNotMatch(await nat(), /KUBE-/);
  assert.doesNotMatch(await mustExec(run, "iptables-save", ["-t", "filter"]), /KUBE-/);
});

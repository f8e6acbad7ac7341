// Rule generation without a kernel: exact iptables-restore lines for small fixtures.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { EndpointSlice, Service, ServicePort } from "../src/types.js";
import { buildRules, probability } from "../src/iptables/rules.js";
import type { RulesInput } from "../src/iptables/rules.js";
import { base32, endpointChain, portProtoHash, servicePortName } from "../src/iptables/chains.js";
import { staleConntrackEntries } from "../src/iptables/conntrack.js";

const node = { name: "node-a", addresses: ["192.0.2.2"] };
const options = { clusterCIDR: "10.244.0.0/16" };

function service(
  name: string,
  spec: Partial<Service["spec"]> & { ports: ServicePort[] },
  namespace = "ns1",
): Service {
  return { metadata: { name, namespace }, spec: { type: "ClusterIP", ...spec } };
}

function slice(
  svc: string,
  ports: { name?: string; port: number; protocol?: "TCP" | "UDP" | "SCTP" }[],
  endpoints: {
    ip: string;
    node?: string;
    ready?: boolean;
    serving?: boolean;
    terminating?: boolean;
  }[],
  name = `${svc}-abc`,
): EndpointSlice {
  return {
    metadata: { name, namespace: "ns1", labels: { "kubernetes.io/service-name": svc } },
    addressType: "IPv4",
    ports,
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      nodeName: e.node ?? "node-b",
      conditions: {
        ready: e.ready ?? true,
        serving: e.serving ?? e.ready ?? true,
        terminating: e.terminating ?? false,
      },
    })),
  };
}

function build(services: Service[], slices: EndpointSlice[], extra: Partial<RulesInput> = {}) {
  return buildRules({ services, endpointSlices: slices, node, options, ...extra });
}

/** The lines of one table section. */
function table(restore: string, name: "filter" | "nat"): string[] {
  const lines = restore.split("\n");
  const start = lines.indexOf(`*${name}`);
  return lines.slice(start + 1, lines.indexOf("COMMIT", start));
}

/** The rules (and declarations) naming a chain. */
function chainLines(restore: string, chain: string): string[] {
  return table(restore, "nat").filter(
    (l) => l === `:${chain} - [0:0]` || l.startsWith(`-A ${chain} `),
  );
}

const svc1 = service("svc1", {
  clusterIP: "10.96.0.41",
  ports: [{ name: "p80", port: 80, targetPort: 8080 }],
});
const svc1Slice = slice(
  "svc1",
  [{ name: "p80", port: 8080, protocol: "TCP" }],
  [{ ip: "10.244.1.1" }, { ip: "10.244.1.2" }, { ip: "10.244.2.1" }],
);

test("chain names are Kubernetes' own: prefix plus 16 chars of base32(sha256(name + protocol))", () => {
  assert.equal(
    portProtoHash(servicePortName("default", "kubernetes", "https"), "tcp"),
    "NPX46M4PTMTKRN6Y",
  );
  assert.equal(portProtoHash("kube-system/kube-dns:dns", "udp"), "TCOU7JCQXEZGVUNU");
  assert.equal(portProtoHash("ns1/svc1:p80", "tcp"), "XPGD46QRK7WJZT7O");
  assert.equal(servicePortName("ns1", "web", undefined), "ns1/web");
  assert.equal(
    endpointChain("ns1/svc1:p80", "tcp", "10.244.1.1:8080"),
    "KUBE-SEP-DLLATM2ULU52WGLN",
  );
  assert.equal(base32(Buffer.from("foobar")), "MZXW6YTBOI"); // RFC 4648 test vector, unpadded
});

test("probabilities are written as kube-proxy writes them", () => {
  assert.equal(probability(3), "0.3333333333");
  assert.equal(probability(2), "0.5000000000");
  assert.equal(probability(7), "0.1428571429");
});

test("a ClusterIP service with three endpoints gets one SVC chain choosing among three SEP chains", () => {
  const { restore } = build([svc1], [svc1Slice]);
  assert.deepEqual(chainLines(restore, "KUBE-SVC-XPGD46QRK7WJZT7O"), [
    ":KUBE-SVC-XPGD46QRK7WJZT7O - [0:0]",
    '-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 10.96.0.41 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ',
    '-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.244.1.1:8080" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-DLLATM2ULU52WGLN',
    '-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.244.1.2:8080" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-HJ4XRC6RYIVW74AV',
    '-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.244.2.1:8080" -j KUBE-SEP-HFCXZX2G2CVJSJTQ',
  ]);
  assert.deepEqual(chainLines(restore, "KUBE-SEP-DLLATM2ULU52WGLN"), [
    ":KUBE-SEP-DLLATM2ULU52WGLN - [0:0]",
    "-A KUBE-SEP-DLLATM2ULU52WGLN -m comment --comment ns1/svc1:p80 -s 10.244.1.1 -j KUBE-MARK-MASQ",
    "-A KUBE-SEP-DLLATM2ULU52WGLN -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.244.1.1:8080",
  ]);
  const services = table(restore, "nat").filter((l) => l.startsWith("-A KUBE-SERVICES"));
  assert.deepEqual(services, [
    '-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 10.96.0.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O',
    '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
  ]);
});

test("the fixed chains mark, masquerade and forward as kube-proxy's do", () => {
  const { restore } = build([], []);
  assert.deepEqual(table(restore, "nat"), [
    ":KUBE-SERVICES - [0:0]",
    ":KUBE-NODEPORTS - [0:0]",
    ":KUBE-POSTROUTING - [0:0]",
    ":KUBE-MARK-MASQ - [0:0]",
    "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN",
    "-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000",
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000",
    '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
  ]);
  assert.deepEqual(table(restore, "filter"), [
    ":KUBE-SERVICES - [0:0]",
    ":KUBE-EXTERNAL-SERVICES - [0:0]",
    ":KUBE-FORWARD - [0:0]",
    ":KUBE-NODEPORTS - [0:0]",
    ":KUBE-PROXY-FIREWALL - [0:0]",
    ":KUBE-FIREWALL - [0:0]",
    '-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
    "-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP",
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT',
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
  ]);
});

test("a service without ready endpoints is rejected in the filter table and gets no nat chains", () => {
  const svc = service("svc1", {
    type: "NodePort",
    clusterIP: "10.96.0.41",
    ports: [{ name: "p80", port: 80, nodePort: 30080 }],
  });
  const notReady = slice(
    "svc1",
    [{ name: "p80", port: 8080 }],
    [{ ip: "10.244.1.1", ready: false, serving: false }],
  );
  const { restore, state } = build([svc], [notReady]);
  assert.deepEqual(
    table(restore, "filter").filter((l) => l.includes("REJECT")),
    [
      '-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 has no endpoints" -m tcp -p tcp -d 10.96.0.41 --dport 80 -j REJECT',
      '-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns1/svc1:p80 has no endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 30080 -j REJECT',
    ],
  );
  assert.equal(table(restore, "nat").filter((l) => l.includes("XPGD46QRK7WJZT7O")).length, 0);
  assert.deepEqual(state.servicePorts.get("XPGD46QRK7WJZT7O")?.chains, []);
});

test("headless and ExternalName services are left alone", () => {
  const headless = service("db", { clusterIP: "None", ports: [{ port: 5432 }] });
  const external = service("ext", { type: "ExternalName", ports: [{ port: 80 }] });
  const { restore, state } = build(
    [headless, external],
    [slice("db", [{ port: 5432 }], [{ ip: "10.244.1.9" }])],
  );
  assert.equal(state.servicePorts.size, 0);
  assert.ok(!restore.includes("10.244.1.9"));
});

test("only ready endpoints are used, and serving terminating ones only when none is ready", () => {
  const mixed = slice(
    "svc1",
    [{ name: "p80", port: 8080 }],
    [
      { ip: "10.244.1.1" },
      { ip: "10.244.1.2", ready: false, serving: true, terminating: true },
      { ip: "10.244.1.3", ready: false, serving: false },
    ],
  );
  assert.deepEqual(build([svc1], [mixed]).state.servicePorts.get("XPGD46QRK7WJZT7O")?.endpoints, [
    "10.244.1.1:8080",
  ]);
  const draining = slice(
    "svc1",
    [{ name: "p80", port: 8080 }],
    [
      { ip: "10.244.1.2", ready: false, serving: true, terminating: true },
      { ip: "10.244.1.3", ready: false, serving: false, terminating: true },
    ],
  );
  assert.deepEqual(
    build([svc1], [draining]).state.servicePorts.get("XPGD46QRK7WJZT7O")?.endpoints,
    ["10.244.1.2:8080"],
  );
});

test("a named target port is resolved per endpoint slice", () => {
  const svc = service("web", {
    clusterIP: "10.96.0.50",
    ports: [{ name: "http", port: 80, targetPort: "http" }],
  });
  const a = slice("web", [{ name: "http", port: 8080 }], [{ ip: "10.244.1.1" }], "web-a");
  const b = slice("web", [{ name: "http", port: 9090 }], [{ ip: "10.244.2.1" }], "web-b");
  assert.deepEqual(
    build([svc], [a, b]).state.servicePorts.get(portProtoHash("ns1/web:http", "tcp"))?.endpoints,
    ["10.244.1.1:8080", "10.244.2.1:9090"],
  );
});

test("each port and protocol of a service gets its own chains", () => {
  const dns = service("dns", {
    clusterIP: "10.96.0.10",
    ports: [
      { name: "dns", port: 53, protocol: "UDP" },
      { name: "dns-tcp", port: 53, protocol: "TCP" },
      { name: "sctp", port: 9999, protocol: "SCTP" },
    ],
  });
  const s = slice(
    "dns",
    [
      { name: "dns", port: 53, protocol: "UDP" },
      { name: "dns-tcp", port: 53, protocol: "TCP" },
      { name: "sctp", port: 9999, protocol: "SCTP" },
    ],
    [{ ip: "10.244.1.5" }],
  );
  const { restore } = build([dns], [s]);
  const services = table(restore, "nat").filter(
    (l) => l.startsWith("-A KUBE-SERVICES") && l.includes("cluster IP"),
  );
  assert.deepEqual(services.sort(), [
    `-A KUBE-SERVICES -m comment --comment "ns1/dns:dns cluster IP" -m udp -p udp -d 10.96.0.10 --dport 53 -j KUBE-SVC-WBMILL6O5AC5GY22`,
    `-A KUBE-SERVICES -m comment --comment "ns1/dns:dns-tcp cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 53 -j KUBE-SVC-YBF6Q5WEAVIEZAGU`,
    `-A KUBE-SERVICES -m comment --comment "ns1/dns:sctp cluster IP" -m sctp -p sctp -d 10.96.0.10 --dport 9999 -j KUBE-SVC-${portProtoHash("ns1/dns:sctp", "sctp")}`,
  ]);
  const sep = endpointChain("ns1/dns:dns", "udp", "10.244.1.5:53");
  assert.ok(
    restore.includes(
      `-A ${sep} -m comment --comment ns1/dns:dns -m udp -p udp -j DNAT --to-destination 10.244.1.5:53`,
    ),
  );
});

test("ClientIP affinity checks each endpoint's recent list first and records the choice", () => {
  const sticky = service("svc1", {
    clusterIP: "10.96.0.41",
    sessionAffinity: "ClientIP",
    sessionAffinityConfig: { clientIP: { timeoutSeconds: 300 } },
    ports: [{ name: "p80", port: 80 }],
  });
  const two = slice(
    "svc1",
    [{ name: "p80", port: 8080 }],
    [{ ip: "10.244.1.1" }, { ip: "10.244.1.2" }],
  );
  const { restore } = build([sticky], [two]);
  assert.deepEqual(chainLines(restore, "KUBE-SVC-XPGD46QRK7WJZT7O").slice(2), [
    '-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.244.1.1:8080" -m recent --name KUBE-SEP-DLLATM2ULU52WGLN --rcheck --seconds 300 --reap -j KUBE-SEP-DLLATM2ULU52WGLN',
    '-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.244.1.2:8080" -m recent --name KUBE-SEP-HJ4XRC6RYIVW74AV --rcheck --seconds 300 --reap -j KUBE-SEP-HJ4XRC6RYIVW74AV',
    '-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.244.1.1:8080" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-DLLATM2ULU52WGLN',
    '-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.244.1.2:8080" -j KUBE-SEP-HJ4XRC6RYIVW74AV',
  ]);
  assert.ok(
    restore.includes(
      "-A KUBE-SEP-DLLATM2ULU52WGLN -m comment --comment ns1/svc1:p80 -m recent --name KUBE-SEP-DLLATM2ULU52WGLN --set -m tcp -p tcp -j DNAT --to-destination 10.244.1.1:8080",
    ),
  );
});

test("a NodePort service with Cluster policy masquerades external traffic in its EXT chain", () => {
  const np = service("svc1", {
    type: "NodePort",
    clusterIP: "10.96.0.41",
    ports: [{ name: "p80", port: 80, nodePort: 30080 }],
  });
  const { restore } = build([np], [svc1Slice]);
  assert.deepEqual(chainLines(restore, "KUBE-EXT-XPGD46QRK7WJZT7O"), [
    ":KUBE-EXT-XPGD46QRK7WJZT7O - [0:0]",
    '-A KUBE-EXT-XPGD46QRK7WJZT7O -m comment --comment "masquerade traffic for ns1/svc1:p80 external destinations" -j KUBE-MARK-MASQ',
    "-A KUBE-EXT-XPGD46QRK7WJZT7O -j KUBE-SVC-XPGD46QRK7WJZT7O",
  ]);
  assert.ok(
    table(restore, "nat").includes(
      "-A KUBE-NODEPORTS -m comment --comment ns1/svc1:p80 -m tcp -p tcp --dport 30080 -j KUBE-EXT-XPGD46QRK7WJZT7O",
    ),
  );
  const natLines = table(restore, "nat");
  assert.match(
    natLines[natLines.length - 1]!,
    /-j KUBE-NODEPORTS$/,
    "the NodePorts jump is the last rule of KUBE-SERVICES",
  );
});

test("externalTrafficPolicy Local sends outside traffic only to this node's endpoints (KUBE-SVL)", () => {
  const local = service("svc1", {
    type: "NodePort",
    clusterIP: "10.96.0.41",
    externalTrafficPolicy: "Local",
    ports: [{ name: "p80", port: 80, nodePort: 30080 }],
  });
  const s = slice(
    "svc1",
    [{ name: "p80", port: 8080 }],
    [
      { ip: "10.244.1.1", node: "node-a" },
      { ip: "10.244.2.1", node: "node-b" },
    ],
  );
  const { restore } = build([local], [s]);
  assert.deepEqual(chainLines(restore, "KUBE-EXT-XPGD46QRK7WJZT7O").slice(1), [
    '-A KUBE-EXT-XPGD46QRK7WJZT7O -m comment --comment "pod traffic for ns1/svc1:p80 external destinations" -s 10.244.0.0/16 -j KUBE-SVC-XPGD46QRK7WJZT7O',
    '-A KUBE-EXT-XPGD46QRK7WJZT7O -m comment --comment "masquerade LOCAL traffic for ns1/svc1:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ',
    '-A KUBE-EXT-XPGD46QRK7WJZT7O -m comment --comment "route LOCAL traffic for ns1/svc1:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-XPGD46QRK7WJZT7O',
    "-A KUBE-EXT-XPGD46QRK7WJZT7O -j KUBE-SVL-XPGD46QRK7WJZT7O",
  ]);
  assert.deepEqual(chainLines(restore, "KUBE-SVL-XPGD46QRK7WJZT7O").slice(1), [
    '-A KUBE-SVL-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.244.1.1:8080" -j KUBE-SEP-DLLATM2ULU52WGLN',
  ]);
  // No local endpoint: outside traffic is dropped, not sent across the cluster.
  const remoteOnly = slice(
    "svc1",
    [{ name: "p80", port: 8080 }],
    [{ ip: "10.244.2.1", node: "node-b" }],
  );
  const r2 = build([local], [remoteOnly]).restore;
  assert.ok(
    table(r2, "filter").includes(
      '-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns1/svc1:p80 has no local endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 30080 -j DROP',
    ),
  );
  assert.equal(chainLines(r2, "KUBE-SVL-XPGD46QRK7WJZT7O").length, 0);
});

test("masqueradeAll marks every packet to the ClusterIP", () => {
  const { restore } = build([svc1], [svc1Slice], { options: { ...options, masqueradeAll: true } });
  assert.equal(
    chainLines(restore, "KUBE-SVC-XPGD46QRK7WJZT7O")[1],
    '-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 10.96.0.41 --dport 80 -j KUBE-MARK-MASQ',
  );
});

test("the compact layout puts the DNAT rules in the SVC chain, with affinity lists still named KUBE-SEP", () => {
  const sticky = service("svc1", {
    clusterIP: "10.96.0.41",
    sessionAffinity: "ClientIP",
    ports: [{ name: "p80", port: 80 }],
  });
  const two = slice(
    "svc1",
    [{ name: "p80", port: 8080 }],
    [{ ip: "10.244.1.1", node: "node-a" }, { ip: "10.244.1.2" }],
  );
  const { restore, state } = build([sticky], [two], { options: { ...options, layout: "compact" } });
  // Hairpin marks only for this node's endpoints: only its pods send through its rules.
  assert.deepEqual(chainLines(restore, "KUBE-SVC-XPGD46QRK7WJZT7O").slice(2), [
    "-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment ns1/svc1:p80 -s 10.244.1.1 -j KUBE-MARK-MASQ",
    '-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.244.1.1:8080" -m recent --name KUBE-SEP-DLLATM2ULU52WGLN --rcheck --seconds 10800 --reap -m recent --name KUBE-SEP-DLLATM2ULU52WGLN --set -m tcp -p tcp -j DNAT --to-destination 10.244.1.1:8080',
    '-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.244.1.2:8080" -m recent --name KUBE-SEP-HJ4XRC6RYIVW74AV --rcheck --seconds 10800 --reap -m recent --name KUBE-SEP-HJ4XRC6RYIVW74AV --set -m tcp -p tcp -j DNAT --to-destination 10.244.1.2:8080',
    '-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.244.1.1:8080" -m statistic --mode random --probability 0.5000000000 -m recent --name KUBE-SEP-DLLATM2ULU52WGLN --set -m tcp -p tcp -j DNAT --to-destination 10.244.1.1:8080',
    '-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.244.1.2:8080" -m recent --name KUBE-SEP-HJ4XRC6RYIVW74AV --set -m tcp -p tcp -j DNAT --to-destination 10.244.1.2:8080',
  ]);
  assert.deepEqual(state.servicePorts.get("XPGD46QRK7WJZT7O")?.chains, [
    "KUBE-SVC-XPGD46QRK7WJZT7O",
  ]);
  assert.ok(!restore.includes(":KUBE-SEP-"));
});

test("large clusters switch to the compact layout and drop per-endpoint comments", () => {
  const many = slice(
    "svc1",
    [{ name: "p80", port: 8080 }],
    Array.from({ length: 5 }, (_, i) => ({ ip: `10.244.3.${i + 1}` })),
  );
  const { restore } = build([svc1], [many], {
    options: { ...options, largeClusterEndpointsThreshold: 4 },
  });
  assert.ok(!restore.includes(":KUBE-SEP-"));
  assert.ok(
    restore.includes(
      "-A KUBE-SVC-XPGD46QRK7WJZT7O -m statistic --mode random --probability 0.2000000000 -m tcp -p tcp -j DNAT --to-destination 10.244.3.1:8080",
    ),
  );
});

test("a partial sync rewrites only the changed service and deletes the chains it no longer uses", () => {
  const svc2 = service("svc2", { clusterIP: "10.96.0.42", ports: [{ name: "p80", port: 80 }] });
  const svc2Slice = slice("svc2", [{ name: "p80", port: 8080 }], [{ ip: "10.244.5.1" }]);
  const first = build([svc1, svc2], [svc1Slice, svc2Slice]);
  const svc2Hash = portProtoHash("ns1/svc2:p80", "tcp");

  // Nothing changed: no chain at all is written, not even KUBE-SERVICES (its text is the
  // kernel's already), and every rule is still counted.
  const same = build([svc1, svc2], [svc1Slice, svc2Slice], { previous: first.state });
  assert.equal(same.stats.written, 0);
  assert.equal(same.restore, "*filter\nCOMMIT\n*nat\nCOMMIT\n");
  assert.equal(same.stats.rules, first.stats.rules);

  // svc1 loses an endpoint: only svc1's chains are written, the lost SEP chain is deleted last.
  const fewer = slice(
    "svc1",
    [{ name: "p80", port: 8080 }],
    [{ ip: "10.244.1.1" }, { ip: "10.244.1.2" }],
  );
  const next = build([svc1, svc2], [fewer, svc2Slice], { previous: first.state });
  assert.equal(next.stats.written, 1);
  assert.ok(next.restore.includes(":KUBE-SVC-XPGD46QRK7WJZT7O - [0:0]"));
  assert.ok(!next.restore.includes(`:KUBE-SVC-${svc2Hash}`));
  const nat = table(next.restore, "nat");
  assert.ok(!nat.some((l) => l.startsWith("-A KUBE-SERVICES")), "its ClusterIP rule is the same");
  assert.deepEqual(nat.slice(-2), [
    ":KUBE-SEP-HFCXZX2G2CVJSJTQ - [0:0]",
    "-X KUBE-SEP-HFCXZX2G2CVJSJTQ",
  ]);

  // svc2 is deleted: KUBE-SERVICES is rewritten without its rule, then its chains go.
  const gone = build([svc1], [fewer], { previous: next.state });
  const goneNat = table(gone.restore, "nat");
  assert.ok(goneNat.includes(":KUBE-SERVICES - [0:0]"));
  assert.equal(goneNat.filter((l) => l.startsWith("-A KUBE-SERVICES")).length, 2);
  assert.ok(goneNat.indexOf(":KUBE-SERVICES - [0:0]") < goneNat.indexOf(`-X KUBE-SVC-${svc2Hash}`));
  assert.equal(gone.stats.deletedChains, 2);
});

test("rules kept from the last sync are written again when the options or the node change", () => {
  const first = build([svc1], [svc1Slice]);
  const same = build([svc1], [svc1Slice], { previous: first.state });
  assert.equal(same.stats.written, 0);
  const masqAll = buildRules({
    services: [svc1],
    endpointSlices: [svc1Slice],
    node,
    options: { ...options, masqueradeAll: true },
    previous: same.state,
  });
  assert.equal(masqAll.stats.written, 1);
  assert.match(masqAll.restore, /-d 10\.96\.0\.41 --dport 80 -j KUBE-MARK-MASQ$/m);
  // The same objects on the node that runs the endpoints: now they are local.
  const local = service("local", {
    clusterIP: "10.96.0.44",
    internalTrafficPolicy: "Local",
    ports: [{ name: "p80", port: 80 }],
  });
  const localSlice = slice("local", [{ name: "p80", port: 8080 }], [{ ip: "10.244.1.1" }]);
  const onA = build([local], [localSlice]);
  assert.equal(onA.stats.natChains, 0, "no local endpoint on node-a");
  const onB = buildRules({
    services: [local],
    endpointSlices: [localSlice],
    node: { name: "node-b", addresses: [] },
    options,
    previous: onA.state,
  });
  assert.match(onB.restore, /^:KUBE-SVL-\w{16} - \[0:0\]$/m);
});

test("a full sync rewrites every chain and deletes leftovers found in the kernel", () => {
  const first = build([svc1], [svc1Slice]);
  const existing = new Set([
    "KUBE-SERVICES",
    "DOCKER",
    "KUBE-SVC-XPGD46QRK7WJZT7O",
    "KUBE-SEP-OLDOLDOLDOLDOLD1",
    "KUBE-EXT-AAAA",
  ]);
  const { restore, stats } = build([svc1], [svc1Slice], {
    previous: first.state,
    fullSync: true,
    existingChains: existing,
  });
  assert.equal(stats.written, 1, "unchanged, but written again");
  const nat = table(restore, "nat");
  assert.deepEqual(nat.slice(-5, -1), [
    ":KUBE-EXT-AAAA - [0:0]",
    "-X KUBE-EXT-AAAA",
    ":KUBE-SEP-OLDOLDOLDOLDOLD1 - [0:0]",
    "-X KUBE-SEP-OLDOLDOLDOLDOLD1",
  ]);
  assert.ok(!restore.includes("-X DOCKER") && !restore.includes("-X KUBE-SERVICES"));
});

test("UDP conntrack entries of removed endpoints and of revived services are flushed", () => {
  const dns = service("dns", {
    clusterIP: "10.96.0.10",
    ports: [{ name: "dns", port: 53, protocol: "UDP" }],
  });
  const port = [{ name: "dns", port: 53, protocol: "UDP" as const }];
  const empty = build([dns], [slice("dns", port, [])]).state;
  const two = build(
    [dns],
    [slice("dns", port, [{ ip: "10.244.1.5" }, { ip: "10.244.1.6" }])],
  ).state;
  const one = build([dns], [slice("dns", port, [{ ip: "10.244.1.6" }])]).state;
  assert.deepEqual(staleConntrackEntries(empty, two), [
    ["-D", "-p", "udp", "--orig-dst", "10.96.0.10"],
  ]);
  assert.deepEqual(staleConntrackEntries(two, one), [
    ["-D", "-p", "udp", "--orig-dst", "10.96.0.10", "--dst-nat", "10.244.1.5"],
  ]);
  assert.deepEqual(staleConntrackEntries(one, build([], []).state), [
    ["-D", "-p", "udp", "--orig-dst", "10.96.0.10"],
  ]);
  assert.deepEqual(staleConntrackEntries(two, two), []);
  const tcp = build([svc1], [svc1Slice]).state;
  assert.deepEqual(
    staleConntrackEntries(tcp, build([svc1], []).state),
    [],
    "TCP needs no clean-up",
  );
});

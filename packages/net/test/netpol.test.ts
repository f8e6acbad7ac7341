// NetworkPolicy enforcement end to end: two "nodes" of network namespaces (topology.ts), the real
// skiff-net program in each (as system:skiff-net), a real apiserver, and real TCP/UDP traffic
// between "pods" on the same node and across nodes. Pods are namespaces whose addresses the
// test writes into Pod objects' status, as a kubelet would.
//
//   node1: client   10.244.1.2  np-a  role=client
//          stranger 10.244.1.3  np-b  role=client
//   node2: web      10.244.2.2  np-a  app=web, container port "http" = 8080
//          dns      10.244.2.3  kube-system  k8s-app=kube-dns, UDP 53; node1 DNATs 10.96.0.10:53
//                                 to it, as kube-proxy would for the cluster DNS Service
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startApiserver } from "@skiff/testing";
import type { TestApiserver } from "@skiff/testing";
import { buildTopology, eventually, sh, tsNode, whoAmI } from "./topology.js";
import type { SimNode, Topology } from "./topology.js";

const main = new URL("../src/main.ts", import.meta.url).pathname;
const tcpPorts = [80, 8080, 9000, 9001, 9002];
const dnsIP = "10.96.0.10";

let api: TestApiserver;
let topo: Topology;
let n1: SimNode, n2: SimNode;
const netns: Record<string, string> = {};
const ips = { client: "10.244.1.2", stranger: "10.244.1.3", web: "10.244.2.2", dns: "10.244.2.3" };

/** TCP servers answering each connection with the caller's address, and a UDP echo on 53. */
const servers = `
  const net = require("net"), dgram = require("dgram");
  for (const p of ${JSON.stringify(tcpPorts)})
    net.createServer((s) => s.end(s.remoteAddress)).listen(p, "0.0.0.0");
  const u = dgram.createSocket("udp4");
  u.on("message", (m, r) => u.send("answer:" + m, r.port, r.address));
  u.bind(53, "0.0.0.0");`;

/** A UDP query from `from` to ip:53; the answer, or "" after 1.5 s without one. */
async function udpQuery(from: string, ip: string): Promise<string> {
  const script = `
    const u = require("dgram").createSocket("udp4");
    const t = setTimeout(() => process.exit(0), 1500);
    u.on("message", (m) => { process.stdout.write(String(m)); clearTimeout(t); process.exit(0); });
    u.send("q", 53, ${JSON.stringify(ip)});`;
  return sh("ip", "netns", "exec", from, process.execPath, "-e", script).catch(() => "");
}

/** Whether `from` gets through to `to`'s TCP port (the server answers with the caller's IP). */
const reaches = async (from: keyof typeof ips, to: keyof typeof ips, port = 80) =>
  (await whoAmI(topo, netns[from]!, ips[to], port)) === ips[from];

/** Waits until each probe gives the expected answer (rules land within a sync). */
async function expectReach(cases: [keyof typeof ips, keyof typeof ips, number, boolean][]) {
  for (const [from, to, port, want] of cases)
    await eventually(
      `${from} → ${to}:${port} ${want ? "allowed" : "denied"}`,
      async () => (await reaches(from, to, port)) === want,
      20_000,
    );
  // And still so a moment later, all at once (a late sync must not change the verdicts).
  const now = await Promise.all(cases.map(([f, t, p]) => reaches(f, t, p)));
  assert.deepEqual(
    now,
    cases.map((c) => c[3]),
    cases.map((c) => `${c[0]}→${c[1]}:${c[2]}`).join(" "),
  );
}

const npPath = (ns: string) => `/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies`;

async function createPolicy(ns: string, name: string, spec: object): Promise<void> {
  const res = await api.request("POST", npPath(ns), {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name },
    spec,
  });
  assert.equal(res.status, 201, res.text);
}

async function deletePolicies(ns: string): Promise<void> {
  const res = await api.request("DELETE", npPath(ns));
  assert.equal(res.status, 200, res.text);
}

async function createPod(
  ns: string,
  name: string,
  node: SimNode,
  ip: string,
  labels: Record<string, string>,
  ports: object[] = [],
): Promise<void> {
  const created = await api.request("POST", `/api/v1/namespaces/${ns}/pods`, {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels },
    spec: { nodeName: node.name, containers: [{ name: "c", image: "busybox", ports }] },
  });
  assert.equal(created.status, 201, created.text);
  const status = await api.request(
    "PATCH",
    `/api/v1/namespaces/${ns}/pods/${name}/status`,
    { status: { phase: "Running", podIP: ip, podIPs: [{ ip }] } },
    { contentType: "application/merge-patch+json" },
  );
  assert.equal(status.status, 200, status.text);
}

const iptablesSave = (node: SimNode) => sh("ip", "netns", "exec", node.netns, "iptables-save");

before(async () => {
  api = await startApiserver();
  topo = await buildTopology("sknp", 2, api.port);
  [n1, n2] = topo.nodes as [SimNode, SimNode];
  netns.client = n1.pod;
  netns.web = n2.pod;
  netns.stranger = await topo.addPod(n1, 3);
  netns.dns = await topo.addPod(n2, 3);
  for (const ns of Object.values(netns)) topo.spawnIn(ns, [process.execPath, "-e", servers]);
  await sh(
    ...((
      `ip netns exec ${n1.netns} iptables -w -t nat -A PREROUTING -d ${dnsIP}/32 -p udp ` +
      `--dport 53 -j DNAT --to-destination ${ips.dns}:53`
    ).split(" ") as [string, ...string[]]),
  );
  for (const [name, labels] of [
    ["np-a", { team: "a" }],
    ["np-b", { team: "b" }],
    ["kube-system", {}],
  ] as const) {
    const res = await api.request("POST", "/api/v1/namespaces", {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name, labels },
    });
    assert.ok(res.status === 201 || res.status === 409, res.text);
  }
  for (const n of topo.nodes) {
    const res = await api.request("POST", "/api/v1/nodes", {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: n.name },
      spec: { podCIDR: n.podCIDR, podCIDRs: [n.podCIDR] },
      status: { addresses: [{ type: "InternalIP", address: n.ip }] },
    });
    assert.equal(res.status, 201, res.text);
  }
  await createPod("np-a", "client", n1, ips.client, { role: "client" });
  await createPod("np-b", "stranger", n1, ips.stranger, { role: "client" });
  await createPod("np-a", "web", n2, ips.web, { app: "web" }, [
    { name: "http", containerPort: 8080 },
  ]);
  await createPod("kube-system", "dns", n2, ips.dns, { "k8s-app": "kube-dns" }, [
    { name: "dns", containerPort: 53, protocol: "UDP" },
  ]);
  const kubeconfig = api.kubeconfigFor("system:skiff-net");
  for (const n of topo.nodes)
    topo.spawnIn(n.netns, [
      ...tsNode,
      main,
      `--kubeconfig=${kubeconfig}`,
      `--node-name=${n.name}`,
      "--backend=host-gw",
      "--resync-period=2s",
    ]);
  await eventually("pods on node1 reach pods on node2", () => reaches("client", "web"), 60_000);
});

after(async () => {
  await topo?.destroy();
  await api?.stop();
});

describe("NetworkPolicy enforcement", { timeout: 300_000 }, () => {
  test("without policies every pod reaches every pod (default allow), and DNS through the DNAT answers", async () => {
    await expectReach([
      ["client", "web", 80, true],
      ["stranger", "web", 8080, true],
      ["client", "stranger", 80, true],
      ["web", "client", 80, true],
    ]);
    assert.equal(await udpQuery(netns.client!, dnsIP), "answer:q");
    assert.doesNotMatch(await iptablesSave(n1), /SKIFF-NP/);
  });

  test("default-deny ingress isolates every pod of its namespace, on either node; replies to their own connections pass", async () => {
    await createPolicy("np-a", "deny-ingress", { podSelector: {} });
    await expectReach([
      ["client", "web", 80, false], // across nodes
      ["stranger", "web", 80, false],
      ["stranger", "client", 80, false], // same node, over the bridge
      ["client", "stranger", 80, true], // np-b is not isolated; the reply comes back
      ["web", "stranger", 80, true],
    ]);
    const saved = await iptablesSave(n2);
    assert.match(
      saved,
      /-A FORWARD -m comment --comment "skiff-net: network policies" -j SKIFF-NP-FORWARD/,
    );
    assert.match(
      saved,
      /-A SKIFF-NP-FORWARD -d 10\.244\.2\.2\/32 -m comment --comment "ingress np-a\/web" -j SKIFF-NP-I-/,
    );
  });

  test("a pod selector allows the pods of the policy's namespace only; a namespace selector (alone or ANDed) others'", async () => {
    await createPolicy("np-a", "from-clients", {
      podSelector: { matchLabels: { app: "web" } },
      ingress: [{ from: [{ podSelector: { matchLabels: { role: "client" } } }] }],
    });
    await expectReach([
      ["client", "web", 80, true],
      ["stranger", "web", 80, false], // role=client, but in np-b
    ]);
    await createPolicy("np-a", "from-b-nobody", {
      podSelector: { matchLabels: { app: "web" } },
      ingress: [
        {
          from: [
            {
              namespaceSelector: { matchLabels: { team: "b" } },
              podSelector: { matchLabels: { role: "nobody" } },
            },
          ],
        },
      ],
    });
    await expectReach([["stranger", "web", 80, false]]);
    await createPolicy("np-a", "from-b", {
      podSelector: { matchLabels: { app: "web" } },
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: "b" } } }] }],
    });
    await expectReach([
      ["stranger", "web", 80, true],
      ["client", "web", 80, true], // policies add up
      ["web", "client", 80, false], // client is still isolated by deny-ingress
    ]);
    await deletePolicies("np-a");
  });

  test("an ipBlock with except; named and numbered ports with endPort", async () => {
    await createPolicy("np-a", "block-and-ports", {
      podSelector: { matchLabels: { app: "web" } },
      ingress: [
        {
          from: [{ ipBlock: { cidr: "10.244.0.0/16", except: [`${ips.stranger}/32`] } }],
          ports: [{ port: "http" }, { port: 9000, endPort: 9001 }],
        },
      ],
    });
    await expectReach([
      ["client", "web", 8080, true], // "http" is web's 8080
      ["client", "web", 80, false],
      ["client", "web", 9000, true],
      ["client", "web", 9001, true],
      ["client", "web", 9002, false],
      ["stranger", "web", 8080, false], // excepted
    ]);
    await deletePolicies("np-a");
    await expectReach([["stranger", "web", 80, true]]);
  });

  test("default-deny egress stops everything, cluster DNS included, until egress rules allow it", async () => {
    await createPolicy("np-a", "deny-egress", {
      podSelector: { matchLabels: { role: "client" } },
      policyTypes: ["Egress"],
    });
    await expectReach([
      ["client", "web", 80, false],
      ["client", "stranger", 80, false],
      ["stranger", "client", 80, true], // ingress to client is not restricted
    ]);
    assert.equal(await udpQuery(netns.client!, dnsIP), "", "DNS is denied too");
    await createPolicy("np-a", "allow-dns", {
      podSelector: { matchLabels: { role: "client" } },
      policyTypes: ["Egress"],
      egress: [
        {
          to: [
            {
              namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
              podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
            },
          ],
          ports: [{ protocol: "UDP", port: 53 }],
        },
      ],
    });
    await eventually(
      "DNS allowed",
      async () => (await udpQuery(netns.client!, dnsIP)) !== "",
      20_000,
    );
    assert.equal(await udpQuery(netns.client!, dnsIP), "answer:q");
    await expectReach([["client", "web", 80, false]]);
    await createPolicy("np-a", "allow-web", {
      podSelector: { matchLabels: { role: "client" } },
      policyTypes: ["Egress"],
      egress: [{ to: [{ podSelector: { matchLabels: { app: "web" } } }], ports: [{ port: 80 }] }],
    });
    await expectReach([
      ["client", "web", 80, true],
      ["client", "web", 8080, false],
      ["client", "stranger", 80, false],
    ]);
  });

  test("deleting the policies restores traffic and removes every SKIFF-NP chain on both nodes", async () => {
    await deletePolicies("np-a");
    await expectReach([
      ["client", "web", 8080, true],
      ["client", "stranger", 80, true],
      ["stranger", "web", 80, true],
    ]);
    assert.equal(await udpQuery(netns.client!, dnsIP), "answer:q");
    for (const n of topo.nodes)
      await eventually(
        `${n.name} without SKIFF-NP chains`,
        async () => !/SKIFF-NP/.test(await iptablesSave(n)),
      );
  });
});

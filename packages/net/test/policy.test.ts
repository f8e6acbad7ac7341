// planPolicies as a table: Pods, Namespaces and NetworkPolicies in, this node's chains out.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Namespace, NetworkPolicy, Pod } from "@skiff/api";
import { planPolicies } from "../src/policy.js";

const pod = (
  ns: string,
  name: string,
  ip: string,
  labels: Record<string, string>,
  extra: {
    node?: string;
    ports?: { name: string; containerPort: number; protocol?: string }[];
  } = {},
): Pod => ({
  metadata: { namespace: ns, name, labels },
  spec: {
    nodeName: extra.node ?? "n1",
    containers: [{ name: "c", image: "busybox", ports: extra.ports ?? [] }],
  },
  status: { phase: "Running", podIP: ip, podIPs: [{ ip }] },
});
const namespace = (name: string, labels: Record<string, string> = {}): Namespace => ({
  metadata: { name, labels },
});
const policy = (ns: string, name: string, spec: NetworkPolicy["spec"]): NetworkPolicy => ({
  metadata: { namespace: ns, name },
  spec: { policyTypes: ["Ingress"], ...spec } as NetworkPolicy["spec"],
});

const web = pod(
  "a",
  "web",
  "10.244.1.2",
  { app: "web" },
  {
    ports: [{ name: "http", containerPort: 8080 }],
  },
);
const client = pod("a", "client", "10.244.2.2", { role: "client" }, { node: "n2" });
const other = pod("b", "other", "10.244.2.3", { role: "client" }, { node: "n2" });
const namespaces = [namespace("a", { team: "x" }), namespace("b")];

/** The allow lines of the chains, without chain names, hashes and comments. */
function allows(plan: ReturnType<typeof planPolicies>): string[] {
  return [...plan.chains.entries()]
    .filter(([name]) => /-(I|E)-/.test(name))
    .flatMap(([, rules]) => rules)
    .filter((r) => !/ -j DROP$/.test(r))
    .map((r) =>
      r
        .replace(/^-A \S+ /, "")
        .replace(/ -m comment --comment "[^"]*"/, "")
        .replace(/SKIFF-NP-B-\w+/, "BLOCK"),
    );
}

test("no policy: no chains at all (default allow)", () => {
  const plan = planPolicies({ nodeName: "n1", pods: [web, client], namespaces, policies: [] });
  assert.equal(plan.chains.size, 0);
});

test("a policy selecting a local pod isolates it; a pod on another node is not this node's", () => {
  const plan = planPolicies({
    nodeName: "n1",
    pods: [web, client, other],
    namespaces,
    policies: [policy("a", "deny", { podSelector: {} })],
  });
  assert.deepEqual(plan.ingress, ["a/web"]);
  assert.deepEqual(plan.egress, []);
  const main = plan.chains.get("SKIFF-NP-FORWARD")!;
  assert.equal(main[0], "-A SKIFF-NP-FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN");
  assert.match(
    main[1]!,
    /^-A SKIFF-NP-FORWARD -d 10\.244\.1\.2\/32 .* -j SKIFF-NP-I-[0-9A-F]{16}$/,
  );
  assert.deepEqual(allows(plan), []);
});

test("peers: pod selector (own namespace), namespace selector, both (AND), ipBlock with except", () => {
  const plan = planPolicies({
    nodeName: "n1",
    pods: [web, client, other],
    namespaces,
    policies: [
      policy("a", "p1", {
        podSelector: { matchLabels: { app: "web" } },
        ingress: [{ from: [{ podSelector: { matchLabels: { role: "client" } } }] }],
      }),
      policy("a", "p2", {
        podSelector: {},
        ingress: [
          {
            from: [
              { namespaceSelector: {}, podSelector: { matchLabels: { role: "client" } } },
              { namespaceSelector: { matchLabels: { team: "x" } } },
              { ipBlock: { cidr: "192.168.1.7/24", except: ["192.168.1.128/25"] } },
            ],
            ports: [
              { protocol: "UDP", port: 53 },
              { port: 9000, endPort: 9002, protocol: "TCP" },
            ],
          },
        ],
      }),
    ],
  });
  assert.deepEqual(allows(plan), [
    // An except chain below: the mark is cleared first and returned on last.
    "-j MARK --set-xmark 0x0/0x40000",
    "-s 10.244.2.2/32 -j RETURN",
    // p2: both selectors → the client pods of every namespace; team=x → every pod of a.
    "-s 10.244.2.2/32 -p udp -m udp --dport 53 -j RETURN",
    "-s 10.244.2.3/32 -p udp -m udp --dport 53 -j RETURN",
    "-s 10.244.1.2/32 -p udp -m udp --dport 53 -j RETURN",
    "-s 192.168.1.0/24 -p udp -m udp --dport 53 -j BLOCK",
    "-s 10.244.2.2/32 -p tcp -m tcp --dport 9000:9002 -j RETURN",
    "-s 10.244.2.3/32 -p tcp -m tcp --dport 9000:9002 -j RETURN",
    "-s 10.244.1.2/32 -p tcp -m tcp --dport 9000:9002 -j RETURN",
    "-s 192.168.1.0/24 -p tcp -m tcp --dport 9000:9002 -j BLOCK",
    "-m mark --mark 0x40000/0x40000 -j RETURN",
  ]);
  const block = [...plan.chains.entries()].find(([n]) => n.startsWith("SKIFF-NP-B-"))!;
  assert.deepEqual(
    block[1].map((r) => r.replace(/^-A \S+ /, "")),
    ["-s 192.168.1.128/25 -j RETURN", "-j MARK --set-xmark 0x40000/0x40000"],
  );
});

test("named ports resolve against the target (ingress) or each destination pod (egress)", () => {
  const db = pod(
    "a",
    "db",
    "10.244.2.9",
    { app: "db" },
    {
      node: "n2",
      ports: [{ name: "http", containerPort: 5432 }],
    },
  );
  const plan = planPolicies({
    nodeName: "n1",
    pods: [web, client, db],
    namespaces,
    policies: [
      policy("a", "in", {
        podSelector: {},
        ingress: [{ ports: [{ port: "http", protocol: "TCP" }] }],
      }),
      policy("a", "out", {
        podSelector: { matchLabels: { app: "web" } },
        policyTypes: ["Egress"],
        egress: [{ ports: [{ port: "http", protocol: "TCP" }] }],
      }),
    ],
  });
  assert.deepEqual(plan.egress, ["a/web"]);
  const lines = allows(plan);
  assert.ok(lines.includes("-p tcp -m tcp --dport 8080 -j RETURN"), lines.join("\n"));
  assert.ok(lines.includes("-d 10.244.2.9/32 -p tcp -m tcp --dport 5432 -j RETURN"));
  assert.ok(lines.includes("-d 10.244.1.2/32 -p tcp -m tcp --dport 8080 -j RETURN"));
  assert.ok(!lines.some((l) => l.includes("10.244.2.2")), "the client has no port named http");
});

test("hostNetwork and finished pods are neither targets nor peers; policies of other namespaces do not apply", () => {
  const host = { ...web, spec: { ...web.spec!, hostNetwork: true } } as Pod;
  const done = { ...client, status: { ...client.status, phase: "Succeeded" } } as Pod;
  const plan = planPolicies({
    nodeName: "n1",
    pods: [host, done],
    namespaces,
    policies: [policy("b", "deny", { podSelector: {} }), policy("a", "deny", { podSelector: {} })],
  });
  assert.equal(plan.chains.size, 0);
});

test("the restore rewrites only changed chains, puts the jump back on top, deletes stale chains", async () => {
  const { policyRestore } = await import("../src/netpol-iptables.js");
  const plan = planPolicies({
    nodeName: "n1",
    pods: [web],
    namespaces,
    policies: [policy("a", "deny", { podSelector: {} })],
  });
  const jump = '-A FORWARD -m comment --comment "skiff-net: network policies" -j SKIFF-NP-FORWARD';
  const right = { chains: new Map(plan.chains), forward: [jump, "-A FORWARD -j DOCKER-USER"] };
  assert.deepEqual(policyRestore(plan, right), { text: "", changed: [] });

  // Docker put DOCKER-USER above us, and a chain of a deleted pod is left over.
  const chains = new Map(plan.chains);
  chains.set("SKIFF-NP-I-0000000000000000", ["-A SKIFF-NP-I-0000000000000000 -j DROP"]);
  const drifted = { chains, forward: ["-A FORWARD -j DOCKER-USER", jump] };
  const { text, changed } = policyRestore(plan, drifted);
  assert.deepEqual(changed, ["FORWARD → SKIFF-NP-FORWARD", "-SKIFF-NP-I-0000000000000000"]);
  assert.deepEqual(text.split("\n"), [
    "*filter",
    ":SKIFF-NP-I-0000000000000000 - [0:0]",
    jump.replace("-A", "-D"),
    jump.replace("-A FORWARD", "-I FORWARD 1"),
    "-X SKIFF-NP-I-0000000000000000",
    "COMMIT",
    "",
  ]);

  // Nothing left to enforce: the jump and every chain go.
  const none = policyRestore({ chains: new Map(), ingress: [], egress: [] }, right);
  assert.match(none.text, /^-D FORWARD .* -j SKIFF-NP-FORWARD$/m);
  assert.match(none.text, /^-X SKIFF-NP-FORWARD$/m);
});

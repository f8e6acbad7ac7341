// networking.k8s.io/v1 NetworkPolicy on a real etcd + apiserver: defaults, validation with
// Kubernetes' field paths, discovery, and what the real kubectl prints for it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kubectlOnPath, startApiserver, type TestApiserver } from "@skiff/testing";

let api: TestApiserver;
let cacheDir: string;
before(async () => {
  api = await startApiserver();
  cacheDir = mkdtempSync(join(tmpdir(), "skiff-netpol-cache-"));
});
after(async () => {
  await api?.stop();
  rmSync(cacheDir, { recursive: true, force: true });
});

const path = "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies";
const policy = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name },
  spec,
});

async function kubectl(...args: string[]): Promise<string> {
  const r = await kubectlOnPath(args, { kubeconfig: api.kubeconfig, cacheDir });
  assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

test("policyTypes default to Ingress, plus Egress when egress rules are given; protocol to TCP", async () => {
  const ingressOnly = await api.request(
    "POST",
    path,
    policy("ingress-only", { podSelector: {}, ingress: [{ ports: [{ port: 80 }] }] }),
  );
  assert.equal(ingressOnly.status, 201, ingressOnly.text);
  assert.deepEqual(ingressOnly.json.spec.policyTypes, ["Ingress"]);
  assert.deepEqual(ingressOnly.json.spec.ingress[0].ports, [{ protocol: "TCP", port: 80 }]);

  const both = await api.request(
    "POST",
    path,
    policy("both", { podSelector: { matchLabels: { app: "web" } }, egress: [{}] }),
  );
  assert.equal(both.status, 201, both.text);
  assert.deepEqual(both.json.spec.policyTypes, ["Ingress", "Egress"]);

  const given = await api.request(
    "POST",
    path,
    policy("egress-only", { podSelector: {}, policyTypes: ["Egress"] }),
  );
  assert.deepEqual(given.json.spec.policyTypes, ["Egress"]);
});

test("bad peers, ports, ipBlocks and policyTypes are refused with their field paths", async () => {
  const res = await api.request(
    "POST",
    path,
    policy("bad", {
      podSelector: { matchExpressions: [{ key: "app", operator: "In" }] },
      policyTypes: ["Ingress", "Sideways"],
      ingress: [
        {
          from: [
            {},
            { ipBlock: { cidr: "10.0.0.0/8" }, podSelector: {} },
            { ipBlock: { cidr: "10.0.0.0/8", except: ["11.0.0.0/16", "10.0.0.0/8", "10.1/16"] } },
            { ipBlock: { cidr: "ten" } },
          ],
          ports: [
            { protocol: "ICMP", port: 80 },
            { port: 90, endPort: 80 },
            { port: "http", endPort: 90 },
            { endPort: 90 },
            { port: 70000 },
            { port: "Not_A_Name" },
          ],
        },
      ],
      egress: [{ to: [{ namespaceSelector: { matchLabels: { "bad key!": "x" } } }] }],
    }),
  );
  assert.equal(res.status, 422, res.text);
  assert.equal(res.json.reason, "Invalid");
  const causes = (res.json.details.causes as { field: string; message: string }[]).map(
    (c) => `${c.field}: ${c.message}`,
  );
  const expect = [
    "spec.podSelector.matchExpressions[0].values: Required value",
    "spec.ingress[0].from[0]: Required value: must specify a peer",
    "spec.ingress[0].from[1]: Forbidden: may not specify both ipBlock and another peer",
    'spec.ingress[0].from[2].ipBlock.except[0]: Invalid value: "11.0.0.0/16": must be a strict subset of `cidr`',
    'spec.ingress[0].from[2].ipBlock.except[1]: Invalid value: "10.0.0.0/8": must be a strict subset of `cidr`',
    'spec.ingress[0].from[2].ipBlock.except[2]: Invalid value: "10.1/16": must be a valid CIDR value',
    'spec.ingress[0].from[3].ipBlock.cidr: Invalid value: "ten": must be a valid CIDR value',
    'spec.ingress[0].ports[0].protocol: Unsupported value: "ICMP"',
    "spec.ingress[0].ports[1].endPort: Invalid value: 90: must be greater than or equal to `port`",
    "spec.ingress[0].ports[2].endPort: Invalid value: 90: may not be specified when `port` is non-numeric",
    "spec.ingress[0].ports[3].endPort: Invalid value: 90: may not be specified when `port` is not specified",
    "spec.ingress[0].ports[4].port: Invalid value: 70000: must be between 1 and 65535, inclusive",
    'spec.ingress[0].ports[5].port: Invalid value: "Not_A_Name"',
    'spec.egress[0].to[0].namespaceSelector.matchLabels: Invalid value: "bad key!"',
    'spec.policyTypes[1]: Unsupported value: "Sideways"',
  ];
  for (const e of expect)
    assert.ok(
      causes.some((c) => c.startsWith(e)),
      `expected a cause starting ${e}; got:\n${causes.join("\n")}`,
    );
  const unknown = await api.request(
    "POST",
    `${path}?fieldValidation=Strict`,
    policy("strict", { podSelector: {}, ingress: [{ fromm: [] }] }),
  );
  assert.equal(unknown.status, 400, unknown.text);
  assert.match(unknown.json.message, /unknown field "spec.ingress\[0\].fromm"/);
});

test("kubectl: discovery, the netpol short name and the NAME, POD-SELECTOR, AGE table", async () => {
  const resources = await kubectl("api-resources", "--api-group=networking.k8s.io");
  assert.match(
    resources,
    /^networkpolicies\s+netpol\s+networking\.k8s\.io\/v1\s+true\s+NetworkPolicy$/m,
  );
  await kubectl("create", "namespace", "np-table");
  const manifest = join(cacheDir, "np.yaml");
  const { writeFileSync } = await import("node:fs");
  writeFileSync(
    manifest,
    `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: np-table}
spec:
  podSelector:
    matchLabels: {app: web}
    matchExpressions: [{key: tier, operator: In, values: [front, back]}]
  ingress:
  - from: [{podSelector: {matchLabels: {role: client}}}]
    ports: [{port: http, protocol: TCP}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: np-table}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
`,
  );
  assert.match(
    await kubectl("apply", "-f", manifest),
    /networkpolicy.networking.k8s.io\/web created/,
  );
  const table = await kubectl("get", "netpol", "-n", "np-table");
  const lines = table.trim().split("\n");
  assert.match(lines[0]!, /^NAME\s+POD-SELECTOR\s+AGE$/);
  assert.match(lines[1]!, /^deny-all\s+<none>\s+\d+s$/);
  assert.match(lines[2]!, /^web\s+app=web,tier in \(back,front\)\s+\d+s$/);
  const described = await kubectl("describe", "netpol", "web", "-n", "np-table");
  assert.match(described, /PodSelector:\s+app=web,tier in \(back,front\)/);
  assert.match(
    described,
    /Allowing ingress traffic:\s+To Port: http\/TCP\s+From:\s+PodSelector: role=client/,
  );
  // Applying again changes nothing (protocol is given: a defaulted field in an atomic list
  // makes kubectl send the list again, as against Kubernetes); deleting by short name works.
  assert.match(await kubectl("apply", "-f", manifest), /web unchanged/);
  assert.match(await kubectl("delete", "netpol", "deny-all", "-n", "np-table"), /deleted/);
});

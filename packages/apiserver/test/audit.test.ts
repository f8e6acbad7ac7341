// The audit log on a real apiserver: which requests are written, at which level and stages.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startApiserver, type TestApiserver } from "@skiff/testing";
import { matchRule, parseAuditPolicy } from "../src/audit.js";

const dir = mkdtempSync(join(tmpdir(), "skiff-audit-"));
const policyFile = join(dir, "policy.yaml");
const logPath = join(dir, "audit.log");
writeFileSync(
  policyFile,
  `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: None
    nonResourceURLs: ["/healthz", "/version"]
  - level: None
    resources: [{ group: "", resources: ["events"] }]
  - level: Metadata
    resources: [{ group: "", resources: ["secrets"] }]
  - level: RequestResponse
    resources: [{ group: "", resources: ["configmaps"] }]
    namespaces: ["audited"]
  - level: Request
    verbs: ["create", "update", "patch", "delete"]
  - level: Metadata
    omitStages: [ResponseStarted]
`,
);

let api: TestApiserver;
before(async () => {
  api = await startApiserver({ auditPolicyFile: policyFile, auditLogPath: logPath });
});
after(async () => {
  await api?.stop();
  rmSync(dir, { recursive: true, force: true });
});

type Event = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The events written so far (the file is appended to as requests finish). */
async function events(until: (evs: Event[]) => boolean): Promise<Event[]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const evs = existsSync(logPath)
      ? readFileSync(logPath, "utf8")
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Event)
      : [];
    if (until(evs) || Date.now() > deadline) return evs;
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("each request is written at its rule's level, one JSON line per stage not omitted", async () => {
  await api.request("POST", "/api/v1/namespaces", {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "audited" },
  });
  const cm = await api.request("POST", "/api/v1/namespaces/audited/configmaps", {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "settings" },
    data: { color: "blue" },
  });
  assert.equal(cm.status, 201);
  const auditId = cm.headers["audit-id"];
  assert.match(String(auditId), /^[0-9a-f-]{36}$/);
  const sec = await api.request("POST", "/api/v1/namespaces/audited/secrets", {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "pw" },
    stringData: { password: "never-in-the-log" },
  });
  assert.equal(sec.status, 201);
  await api.request("GET", "/api/v1/namespaces/audited/pods");
  await api.request("GET", "/healthz");
  const missing = await api.request("GET", "/api/v1/namespaces/audited/configmaps/nope");
  assert.equal(missing.status, 404);
  const anon = await api.request("GET", "/api/v1/pods", undefined, { auth: "none" });
  assert.equal(anon.status, 401);

  const evs = await events((e) => e.some((x) => x.user?.username === "system:anonymous"));
  for (const e of evs) {
    assert.equal(e.kind, "Event");
    assert.equal(e.apiVersion, "audit.k8s.io/v1");
    assert.notEqual(e.stage, "RequestReceived"); // omitted by the policy
    assert.match(e.requestReceivedTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  }
  assert.ok(!evs.some((e) => e.requestURI === "/healthz"), "None for /healthz");
  assert.ok(!readFileSync(logPath, "utf8").includes("never-in-the-log"), "secrets at Metadata");

  const cmEv = evs.find((e) => e.auditID === auditId)!;
  assert.ok(cmEv, "the configmap create is logged under the Audit-Id it answered with");
  assert.equal(cmEv.level, "RequestResponse");
  assert.equal(cmEv.stage, "ResponseComplete");
  assert.equal(cmEv.verb, "create");
  assert.equal(cmEv.user.username, "kubernetes-admin");
  assert.ok((cmEv.user.groups as string[]).includes("system:masters"));
  // A create's URL names no object: the name comes from the body, as Kubernetes records it.
  assert.deepEqual(cmEv.objectRef, {
    resource: "configmaps",
    namespace: "audited",
    name: "settings",
    apiVersion: "v1",
  });
  assert.deepEqual(cmEv.responseStatus, { metadata: {}, code: 201 });
  assert.equal(cmEv.requestObject.data.color, "blue");
  assert.equal(cmEv.responseObject.metadata.uid, cm.json.metadata.uid);

  const secEv = evs.find((e) => e.objectRef?.resource === "secrets")!;
  assert.equal(secEv.level, "Metadata");
  assert.equal(secEv.objectRef.name, "pw", "a Metadata-level create names its object too");
  assert.equal(secEv.requestObject, undefined);

  const nsEv = evs.find((e) => e.objectRef?.resource === "namespaces" && e.verb === "create")!;
  assert.equal(nsEv.level, "Request");
  assert.equal(nsEv.requestObject.metadata.name, "audited");
  assert.equal(nsEv.responseObject, undefined);

  const listEv = evs.find((e) => e.objectRef?.resource === "pods" && e.verb === "list")!;
  assert.equal(listEv.level, "Metadata");

  const notFound = evs.find((e) => e.objectRef?.name === "nope")!;
  assert.equal(notFound.verb, "get");
  assert.equal(notFound.responseStatus.code, 404);
  assert.equal(notFound.responseStatus.reason, "NotFound");

  const anonEv = evs.find((e) => e.user?.username === "system:anonymous")!;
  assert.equal(anonEv.responseStatus.code, 401);
  assert.deepEqual(anonEv.user.groups, ["system:unauthenticated"]);
});

test("policy rules match by user, group, verb, resource, subresource and URL", () => {
  const policy = parseAuditPolicy(`apiVersion: audit.k8s.io/v1
kind: Policy
rules:
  - level: None
    users: ["system:kube-proxy"]
  - level: Request
    userGroups: ["system:nodes"]
    resources: [{ group: "", resources: ["pods/status"] }]
  - level: RequestResponse
    resources: [{ group: "apps", resources: ["deployments/*"], resourceNames: ["web"] }]
  - level: Metadata
    nonResourceURLs: ["/api*"]
`);
  const user = (name: string, groups: string[] = []) => ({ name, groups });
  const pods = (subresource?: string) => ({
    verb: "update",
    path: "/api/v1/namespaces/a/pods/p" + (subresource ? `/${subresource}` : ""),
    resource: {
      group: "",
      version: "v1",
      resource: "pods",
      namespace: "a",
      name: "p",
      subresource,
    },
  });
  assert.equal(matchRule(policy, user("system:kube-proxy"), pods())?.level, "None");
  assert.equal(
    matchRule(policy, user("system:node:n1", ["system:nodes"]), pods("status"))?.level,
    "Request",
  );
  assert.equal(matchRule(policy, user("system:node:n1", ["system:nodes"]), pods()), undefined);
  const deploy = (name: string) => ({
    verb: "get",
    path: "",
    resource: { group: "apps", version: "v1", resource: "deployments", name, subresource: "scale" },
  });
  assert.equal(matchRule(policy, user("alice"), deploy("web"))?.level, "RequestResponse");
  assert.equal(matchRule(policy, user("alice"), deploy("db")), undefined);
  assert.equal(matchRule(policy, user("alice"), { verb: "get", path: "/apis" })?.level, "Metadata");
  assert.equal(matchRule(policy, user("alice"), { verb: "get", path: "/version" }), undefined);
  assert.throws(
    () => parseAuditPolicy("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n  - level: Loud\n"),
    /rules\[0\]\.level: must be one of None, Metadata, Request, RequestResponse/,
  );
});

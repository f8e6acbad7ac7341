// Impersonation on a real etcd and apiserver, driven by the real kubectl (--as, --as-group):
// the impersonate verb on users, groups, serviceaccounts, uids and userextras decides, with
// Kubernetes' 403 messages, and the audit log records the impersonated user.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startApiserver, type TestApiserver } from "@skiff/testing";
import { runKubectl, tokenKubeconfigFor } from "./kubectl-users.js";

const dir = mkdtempSync(join(tmpdir(), "skiff-impersonation-"));
const tokenFile = join(dir, "tokens.csv");
const auditLog = join(dir, "audit.log");
const policy = join(dir, "policy.yaml");
writeFileSync(tokenFile, ["bob-token,bob,uid-bob,", "eve-token,eve,uid-eve,"].join("\n"));
writeFileSync(
  policy,
  "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n  - level: Metadata\n",
);

let api: TestApiserver;
before(async () => {
  api = await startApiserver({
    tokenAuthFile: tokenFile,
    auditPolicyFile: policy,
    auditLogPath: auditLog,
  });
  // bob may act as alice, in group devs, with uid 1234 and the extra scopes=view; nothing else.
  await admin("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: "impersonate-alice" },
    rules: [
      { apiGroups: [""], resources: ["users"], verbs: ["impersonate"], resourceNames: ["alice"] },
      { apiGroups: [""], resources: ["groups"], verbs: ["impersonate"], resourceNames: ["devs"] },
      {
        apiGroups: ["authentication.k8s.io"],
        resources: ["uids"],
        verbs: ["impersonate"],
        resourceNames: ["1234"],
      },
      {
        apiGroups: ["authentication.k8s.io"],
        resources: ["userextras/scopes"],
        verbs: ["impersonate"],
        resourceNames: ["view"],
      },
    ],
  });
  await admin("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: "bob-impersonates-alice" },
    roleRef: {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "ClusterRole",
      name: "impersonate-alice",
    },
    subjects: [{ kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "bob" }],
  });
  // devs may read pods and configmaps in default (view's rules come from the aggregation
  // controller, which does not run here).
  await admin("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: "reader" },
    rules: [
      { apiGroups: [""], resources: ["pods", "configmaps"], verbs: ["get", "list", "watch"] },
    ],
  });
  await admin("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings", {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "devs-view", namespace: "default" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "reader" },
    subjects: [{ kind: "Group", apiGroup: "rbac.authorization.k8s.io", name: "devs" }],
  });
});
after(async () => {
  await api?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function admin(method: string, path: string, body?: unknown) {
  const r = await api.request(method, path, body);
  assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${r.text}`);
  return r.json as Record<string, unknown>;
}

const kubectl = (args: string[], kubeconfig = api.kubeconfig) => runKubectl(args, kubeconfig);

const tokenKubeconfig = (token: string) => tokenKubeconfigFor(api, dir, token);

/** Waits until the apiserver's caches reflect the RBAC objects made in `before`. */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test("kubectl --as acts as the user once the impersonate verb allows it, with Kubernetes' 403 otherwise", async () => {
  const bob = tokenKubeconfig("bob-token");
  const eve = tokenKubeconfig("eve-token");
  // --raw: with discovery itself refused, kubectl's discovery client reports only "unknown".
  const refused = await kubectl(
    ["get", "--raw", "/api/v1/namespaces/default/pods", "--as=alice"],
    eve,
  );
  assert.equal(refused.code, 1);
  assert.equal(
    refused.err,
    'Error from server (Forbidden): users "alice" is forbidden: User "eve" cannot impersonate resource "users" in API group "" at the cluster scope',
  );
  await eventually(
    async () => (await kubectl(["auth", "whoami", "--as=alice", "-o", "json"], bob)).code === 0,
    "bob's impersonation binding",
  );
  const who = JSON.parse(
    (
      await kubectl(
        ["auth", "whoami", "--as=alice", "--as-group=devs", "--as-uid=1234", "-o", "json"],
        bob,
      )
    ).out,
  ) as { status: { userInfo: { username: string; uid: string; groups: string[] } } };
  assert.deepEqual(who.status.userInfo, {
    username: "alice",
    uid: "1234",
    groups: ["devs", "system:authenticated"],
  });
  // As alice alone she holds nothing; in devs she may list pods in default.
  assert.equal((await kubectl(["auth", "can-i", "list", "pods", "--as=alice"], bob)).out, "no");
  assert.equal(
    (await kubectl(["auth", "can-i", "list", "pods", "--as=alice", "--as-group=devs"], bob)).out,
    "yes",
  );
  const list = await kubectl(["get", "pods", "--as=alice", "--as-group=devs"], bob);
  assert.equal(list.code, 0, list.err);
  // A group, a uid, an extra or another user bob may not take.
  const raw = ["get", "--raw", "/api/v1/namespaces/default/pods"];
  const other = await kubectl([...raw, "--as=alice", "--as-group=admins"], bob);
  assert.equal(
    other.err,
    'Error from server (Forbidden): groups "admins" is forbidden: User "bob" cannot impersonate resource "groups" in API group "" at the cluster scope',
  );
  const uid = await kubectl([...raw, "--as=alice", "--as-uid=999"], bob);
  assert.equal(
    uid.err,
    'Error from server (Forbidden): uids.authentication.k8s.io "999" is forbidden: User "bob" cannot impersonate resource "uids" in API group "authentication.k8s.io" at the cluster scope',
  );
  const extra = await api.request("GET", "/api/v1/namespaces/default/pods", undefined, {
    auth: { token: "bob-token" },
    headers: { "Impersonate-User": "alice", "Impersonate-Extra-Scopes": "admin" },
  });
  assert.equal(extra.status, 403);
  assert.equal(
    extra.json.message,
    'userextras.authentication.k8s.io "admin" is forbidden: User "bob" cannot impersonate resource "userextras/scopes" in API group "authentication.k8s.io" at the cluster scope',
  );
  const sa = await kubectl([...raw, "--as=system:serviceaccount:default:builder"], bob);
  assert.equal(
    sa.err,
    'Error from server (Forbidden): serviceaccounts "builder" is forbidden: User "bob" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "default"',
  );
  // A group without a user is a bad request.
  const groupOnly = await api.request("GET", "/api/v1/pods", undefined, {
    auth: { token: "bob-token" },
    headers: { "Impersonate-Group": "devs" },
  });
  assert.equal(groupOnly.status, 400);
  assert.equal(
    groupOnly.json.message,
    "requested [{Group  devs    }] without impersonating a user",
  );
});

test("kubectl auth can-i --as answers for a controller's ServiceAccount, and a service account's groups come with it", async () => {
  const adminConfig = api.kubeconfig;
  const can = async (...args: string[]) =>
    (
      await kubectl(
        ["auth", "can-i", ...args, "--as=system:serviceaccount:kube-system:replicaset-controller"],
        adminConfig,
      )
    ).out;
  assert.equal(await can("create", "pods", "-n", "default"), "yes");
  assert.equal(await can("update", "replicasets.apps/status", "-n", "default"), "yes");
  assert.equal(await can("get", "secrets", "-n", "default"), "no");
  assert.equal(await can("delete", "deployments.apps", "-n", "default"), "no");
  const who = JSON.parse(
    (
      await kubectl(
        ["auth", "whoami", "-o", "json", "--as=system:serviceaccount:kube-system:job-controller"],
        adminConfig,
      )
    ).out,
  ) as { status: { userInfo: { username: string; groups: string[] } } };
  assert.deepEqual(who.status.userInfo.groups, [
    "system:serviceaccounts",
    "system:serviceaccounts:kube-system",
    "system:authenticated",
  ]);
});

test("the audit log records who impersonated whom", async () => {
  const bob = tokenKubeconfig("bob-token");
  const r = await kubectl(
    ["get", "configmaps", "-n", "default", "--as=alice", "--as-group=devs"],
    bob,
  );
  assert.equal(r.code, 0, r.err);
  let event:
    | { user: { username: string }; impersonatedUser?: { username: string; groups: string[] } }
    | undefined;
  await eventually(async () => {
    event = readFileSync(auditLog, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as typeof event & { objectRef?: { resource?: string } })
      .find((e) => e?.objectRef?.resource === "configmaps" && e.impersonatedUser);
    return event !== undefined;
  }, "the audit event");
  assert.equal(event!.user.username, "bob");
  assert.deepEqual(event!.impersonatedUser, {
    username: "alice",
    groups: ["devs", "system:authenticated"],
  });
});

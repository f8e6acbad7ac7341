// Authorization on a real etcd and apiserver (Node,RBAC, the default): attempts that must be
// refused with Kubernetes' status and message, the bootstrap policy, `kubectl auth can-i`,
// escalation prevention, the Node authorizer and NodeRestriction.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createPrivateKey, generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request as httpsRequest, Agent } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { SignJWT } from "jose";
import { startApiserver, type TestApiserver } from "@skiff/testing";
import { runKubectl, tokenKubeconfigFor } from "./kubectl-users.js";

const tokenDir = mkdtempSync(join(tmpdir(), "skiff-rbac-"));
const tokenFile = join(tokenDir, "tokens.csv");
writeFileSync(
  tokenFile,
  [
    "bob-token,bob,uid-bob,",
    'carol-token,carol,uid-carol,"devs"',
    "dave-token,dave,uid-dave,",
    'erin-token,erin,uid-erin,"auditors"',
  ].join("\n"),
);

let api: TestApiserver;
before(async () => {
  api = await startApiserver({ tokenAuthFile: tokenFile });
  // A second node's kubelet certificate, signed by the test CA.
  const d = api.certDir;
  execFileSync("bash", [
    "-c",
    `cd ${d} && openssl req -newkey rsa:2048 -nodes -keyout rbac-node2.key -out rbac-node2.csr -subj "/O=system:nodes/CN=system:node:node2" 2>/dev/null && ` +
      `openssl x509 -req -in rbac-node2.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -out rbac-node2.crt 2>/dev/null && ` +
      `openssl req -newkey rsa:2048 -nodes -keyout rbac-node1.key -out rbac-node1.csr -subj "/O=system:nodes/CN=system:node:node1" 2>/dev/null && ` +
      `openssl x509 -req -in rbac-node1.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -out rbac-node1.crt 2>/dev/null`,
  ]);
});
after(async () => {
  await api?.stop();
  rmSync(tokenDir, { recursive: true, force: true });
});

interface Reply {
  status: number;
  json: {
    message?: string;
    reason?: string;
    details?: Record<string, unknown>;
    [k: string]: unknown;
  };
  text: string;
}

/** A request as a client certificate from the test CA directory (proxy, net, rbac-node1, ...). */
function asCert(cert: string, method: string, path: string, body?: unknown): Promise<Reply> {
  const d = api.certDir;
  const agent = new Agent({
    ca: readFileSync(join(d, "ca.crt")),
    cert: readFileSync(join(d, `${cert}.crt`)),
    key: readFileSync(join(d, `${cert}.key`)),
  });
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = {};
    if (data) {
      headers["Content-Type"] = "application/json";
      headers["Content-Length"] = String(Buffer.byteLength(data));
    }
    const req = httpsRequest(`${api.url}${path}`, { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString();
        let json = {};
        try {
          json = JSON.parse(text);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, json, text });
      });
    });
    req.on("error", reject);
    if (data) req.write(data);
    req.end();
  });
}

const asToken = async (token: string, method: string, path: string, body?: unknown) =>
  (await api.request(method, path, body, { auth: { token } })) as unknown as Reply;

const admin = async (method: string, path: string, body?: unknown) => {
  const r = await api.request(method, path, body);
  assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${r.text}`);
  return r.json as Record<string, unknown>;
};

const RBAC = "/apis/rbac.authorization.k8s.io/v1";
const ref = (kind: string, name: string) => ({
  apiGroup: "rbac.authorization.k8s.io",
  kind,
  name,
});
const user = (name: string) => ({ kind: "User", apiGroup: "rbac.authorization.k8s.io", name });

/** The controllers' roles Kubernetes bootstraps, for the controllers Skiff runs. */
const CONTROLLER_ROLES = [
  "clusterrole-aggregation-controller",
  "cronjob-controller",
  "daemon-set-controller",
  "deployment-controller",
  "disruption-controller",
  "endpoint-controller",
  "endpointslice-controller",
  "generic-garbage-collector",
  "horizontal-pod-autoscaler",
  "job-controller",
  "namespace-controller",
  "node-controller",
  "persistent-volume-binder",
  "pvc-protection-controller",
  "pv-protection-controller",
  "replicaset-controller",
  "replication-controller",
  "resourcequota-controller",
  "root-ca-cert-publisher",
  "service-account-controller",
  "statefulset-controller",
  "ttl-after-finished-controller",
].map((account) => `system:controller:${account}`);

/** Waits until the apiserver's caches reflect a change (authorization reads them). */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${what}`);
}

const kubectl = (args: string[], kubeconfig = api.kubeconfig) => runKubectl(args, kubeconfig);

const tokenKubeconfig = (token: string) => tokenKubeconfigFor(api, tokenDir, token);

test("the bootstrap roles and bindings exist, carry the autoupdate annotation and come back when deleted", async () => {
  const roles = (await admin("GET", `${RBAC}/clusterroles`)) as {
    items: { metadata: { name: string; annotations?: Record<string, string> } }[];
  };
  const names = roles.items.map((r) => r.metadata.name);
  for (const n of [
    "cluster-admin",
    "admin",
    "edit",
    "view",
    "system:basic-user",
    "system:discovery",
    "system:public-info-viewer",
    "system:kube-scheduler",
    "system:kube-controller-manager",
    "system:node-proxier",
    "system:monitoring",
    "system:node",
    "system:skiff-net",
    ...CONTROLLER_ROLES,
  ])
    assert.ok(names.includes(n), `missing ClusterRole ${n}`);
  const admin_ = roles.items.find((r) => r.metadata.name === "cluster-admin")!;
  assert.equal(
    admin_.metadata.annotations?.["rbac.authorization.kubernetes.io/autoupdate"],
    "true",
  );
  const mastersBinding = [
    { kind: "Group", apiGroup: "rbac.authorization.k8s.io", name: "system:masters" },
  ];
  const crb = await admin("GET", `${RBAC}/clusterrolebindings/cluster-admin`);
  assert.deepEqual(crb.subjects, mastersBinding);
  // Each controller's role is bound to its ServiceAccount in kube-system.
  for (const role of CONTROLLER_ROLES) {
    const b = await admin("GET", `${RBAC}/clusterrolebindings/${role}`);
    assert.deepEqual(b.roleRef, ref("ClusterRole", role));
    assert.deepEqual(b.subjects, [
      {
        kind: "ServiceAccount",
        name: role.slice("system:controller:".length),
        namespace: "kube-system",
      },
    ]);
  }
  // The Roles and RoleBindings Kubernetes bootstraps in kube-system.
  const kubeSystem = `${RBAC}/namespaces/kube-system`;
  for (const name of [
    "extension-apiserver-authentication-reader",
    "system::leader-locking-kube-controller-manager",
    "system::leader-locking-kube-scheduler",
  ])
    await admin("GET", `${kubeSystem}/roles/${name}`);
  for (const name of [
    "system::extension-apiserver-authentication-reader",
    "system::leader-locking-kube-controller-manager",
    "system::leader-locking-kube-scheduler",
  ])
    await admin("GET", `${kubeSystem}/rolebindings/${name}`);

  // Deleted ones come back at the next start; an unchanged one is not rewritten.
  const deleted = [
    `${RBAC}/clusterroles/system:node-proxier`,
    `${RBAC}/clusterroles/system:controller:replicaset-controller`,
    `${RBAC}/clusterrolebindings/cluster-admin`,
    `${RBAC}/clusterrolebindings/system:controller:replicaset-controller`,
    `${kubeSystem}/roles/system::leader-locking-kube-scheduler`,
    `${kubeSystem}/rolebindings/system::leader-locking-kube-scheduler`,
  ];
  for (const path of deleted) await admin("DELETE", path);
  const gone = await api.request("GET", `${RBAC}/clusterrolebindings/cluster-admin`);
  assert.equal(gone.status, 404, gone.text);
  const before = (await admin("GET", `${RBAC}/clusterroles/cluster-admin`)).metadata as {
    resourceVersion: string;
  };
  await api.restart();
  for (const path of deleted) await admin("GET", path);
  const back = await admin("GET", `${RBAC}/clusterroles/system:node-proxier`);
  assert.ok(Array.isArray(back.rules) && back.rules.length > 0);
  assert.deepEqual(
    (await admin("GET", `${RBAC}/clusterrolebindings/cluster-admin`)).subjects,
    mastersBinding,
  );
  const after_ = (await admin("GET", `${RBAC}/clusterroles/cluster-admin`)).metadata as {
    resourceVersion: string;
  };
  assert.equal(
    after_.resourceVersion,
    before.resourceVersion,
    "an unchanged role is not rewritten",
  );
});

test("a table of attempts that must fail, each with its status and message", async () => {
  await admin("POST", "/api/v1/namespaces", {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "rbac-a" },
  });
  await admin("POST", "/api/v1/namespaces/rbac-a/secrets", {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "unused" },
    stringData: { k: "v" },
  });
  await admin("POST", "/api/v1/nodes", {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: "node2" },
  });
  await admin("POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name: "node2" },
    spec: { holderIdentity: "node2" },
  });
  // A pod's ServiceAccount that may write RoleBindings in its namespace, and two pods of it:
  // one whose token is used while it runs, one deleted after its token was issued.
  await admin("POST", "/api/v1/namespaces/rbac-a/serviceaccounts", {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: "app" },
  });
  await admin("POST", `${RBAC}/namespaces/rbac-a/roles`, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name: "binder" },
    rules: [
      { apiGroups: ["rbac.authorization.k8s.io"], resources: ["rolebindings"], verbs: ["*"] },
    ],
  });
  await admin("POST", `${RBAC}/namespaces/rbac-a/rolebindings`, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "app-binds" },
    roleRef: ref("Role", "binder"),
    subjects: [{ kind: "ServiceAccount", name: "app", namespace: "rbac-a" }],
  });
  const podToken = async (name: string) => {
    const pod = await admin("POST", "/api/v1/namespaces/rbac-a/pods", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name },
      spec: {
        serviceAccountName: "app",
        containers: [{ name: "c", image: "skiff.local/busybox:1.36" }],
      },
    });
    const uid = (pod.metadata as { uid: string }).uid;
    const r = await admin("POST", "/api/v1/namespaces/rbac-a/serviceaccounts/app/token", {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: { boundObjectRef: { apiVersion: "v1", kind: "Pod", name, uid } },
    });
    return (r.status as { token: string }).token;
  };
  const appToken = await podToken("app-pod");
  const goneToken = await podToken("gone-pod");
  await eventually(
    async () =>
      (await asToken(goneToken, "GET", `${RBAC}/namespaces/rbac-a/rolebindings`)).status === 200,
    "the app account's binding",
  );
  await admin("DELETE", "/api/v1/namespaces/rbac-a/pods/gone-pod?gracePeriodSeconds=0");
  // Tokens with the claims of the app account: expired, or signed by a key not the cluster's.
  const appUid = (
    (await admin("GET", "/api/v1/namespaces/rbac-a/serviceaccounts/app")).metadata as {
      uid: string;
    }
  ).uid;
  const now = Math.floor(Date.now() / 1000);
  const forge = (key: Parameters<SignJWT["sign"]>[0], exp: number) =>
    new SignJWT({
      "kubernetes.io": { namespace: "rbac-a", serviceaccount: { name: "app", uid: appUid } },
    })
      .setProtectedHeader({ alg: "RS256" })
      .setIssuer("https://kubernetes.default.svc.cluster.local")
      .setSubject("system:serviceaccount:rbac-a:app")
      .setAudience("https://kubernetes.default.svc.cluster.local")
      .setIssuedAt(exp - 3600)
      .setExpirationTime(exp)
      .sign(key);
  const clusterKey = createPrivateKey(readFileSync(join(api.certDir, "sa.key")));
  const rogueKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
  const expired = await forge(clusterKey, now - 60);
  const wronglySigned = await forge(rogueKey, now + 600);
  // The same claims, in date and signed by the cluster's key, are accepted: each refusal
  // below is for the one thing wrong with its token.
  assert.equal(
    (
      await asToken(
        await forge(clusterKey, now + 600),
        "GET",
        `${RBAC}/namespaces/rbac-a/rolebindings`,
      )
    ).status,
    200,
  );
  const node2 = await admin("GET", "/api/v1/nodes/node2");
  const lease2 = await admin(
    "GET",
    "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node2",
  );
  const unauthorized = { status: 401, message: "Unauthorized" };
  const cases: { who: string; run: () => Promise<Reply>; status: number; message: string }[] = [
    {
      who: "anonymous lists pods",
      run: async () =>
        (await api.request("GET", "/api/v1/pods", undefined, { auth: "none" })) as unknown as Reply,
      ...unauthorized,
    },
    {
      who: "an expired token",
      run: () => asToken(expired, "GET", "/api/v1/namespaces/rbac-a/pods"),
      ...unauthorized,
    },
    {
      who: "a malformed token",
      run: () => asToken("not-a-jwt", "GET", "/api/v1/namespaces/rbac-a/pods"),
      ...unauthorized,
    },
    {
      who: "a wrongly signed token",
      run: () => asToken(wronglySigned, "GET", "/api/v1/namespaces/rbac-a/pods"),
      ...unauthorized,
    },
    {
      who: "a deleted pod's token",
      run: () => asToken(goneToken, "GET", `${RBAC}/namespaces/rbac-a/rolebindings`),
      ...unauthorized,
    },
    {
      who: "a pod's ServiceAccount binds cluster-admin (escalation)",
      run: () =>
        asToken(appToken, "POST", `${RBAC}/namespaces/rbac-a/rolebindings`, {
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "RoleBinding",
          metadata: { name: "app-root" },
          roleRef: ref("ClusterRole", "cluster-admin"),
          subjects: [{ kind: "ServiceAccount", name: "app", namespace: "rbac-a" }],
        }),
      status: 403,
      message:
        `rolebindings.rbac.authorization.k8s.io "app-root" is forbidden: user "system:serviceaccount:rbac-a:app" (groups=["system:serviceaccounts" "system:serviceaccounts:rbac-a" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n` +
        `{APIGroups:["*"], Resources:["*"], Verbs:["*"]}\n{NonResourceURLs:["*"], Verbs:["*"]}`,
    },
    {
      who: "kube-proxy deletes a namespace",
      run: () => asCert("proxy", "DELETE", "/api/v1/namespaces/kube-system"),
      status: 403,
      message: `namespaces "kube-system" is forbidden: User "system:kube-proxy" cannot delete resource "namespaces" in API group "" in the namespace "kube-system"`,
    },
    {
      who: "a user with no roles lists pods",
      run: () => asToken("bob-token", "GET", "/api/v1/namespaces/rbac-a/pods"),
      status: 403,
      message: `pods is forbidden: User "bob" cannot list resource "pods" in API group "" in the namespace "rbac-a"`,
    },
    {
      who: "a user with no roles lists nodes",
      run: () => asToken("bob-token", "GET", "/api/v1/nodes"),
      status: 403,
      message: `nodes is forbidden: User "bob" cannot list resource "nodes" in API group "" at the cluster scope`,
    },
    {
      who: "a user with no roles reads a pod's log",
      run: () => asToken("bob-token", "GET", "/api/v1/namespaces/rbac-a/pods/p/log"),
      status: 403,
      message: `pods "p" is forbidden: User "bob" cannot get resource "pods/log" in API group "" in the namespace "rbac-a"`,
    },
    {
      who: "a user with no roles reads /metrics",
      run: () => asToken("bob-token", "GET", "/metrics"),
      status: 403,
      message: `forbidden: User "bob" cannot get path "/metrics"`,
    },
    {
      who: "a kubelet reads a Secret its pods don't use",
      run: () => asCert("rbac-node1", "GET", "/api/v1/namespaces/rbac-a/secrets/unused"),
      status: 403,
      message: `secrets "unused" is forbidden: User "system:node:node1" cannot get resource "secrets" in API group "" in the namespace "rbac-a": no relationship found between node 'node1' and this object`,
    },
    {
      who: "a kubelet lists every Secret",
      run: () => asCert("rbac-node1", "GET", "/api/v1/secrets"),
      status: 403,
      message: `secrets is forbidden: User "system:node:node1" cannot list resource "secrets" in API group "" at the cluster scope: can only read namespaced object of this type`,
    },
    {
      who: "a kubelet lists the Secrets of a namespace",
      run: () => asCert("rbac-node1", "GET", "/api/v1/namespaces/rbac-a/secrets"),
      status: 403,
      message: `secrets is forbidden: User "system:node:node1" cannot list resource "secrets" in API group "" in the namespace "rbac-a": No Object name found`,
    },
    {
      who: "a kubelet reads another node",
      run: () => asCert("rbac-node1", "GET", "/api/v1/nodes/node2"),
      status: 403,
      message: `nodes "node2" is forbidden: User "system:node:node1" cannot get resource "nodes" in API group "" at the cluster scope: node 'node1' cannot read 'node2', only its own Node object`,
    },
    {
      who: "a kubelet lists every node",
      run: () => asCert("rbac-node1", "GET", "/api/v1/nodes"),
      status: 403,
      message: `nodes is forbidden: User "system:node:node1" cannot list resource "nodes" in API group "" at the cluster scope: node 'node1' cannot read all nodes, only its own Node object`,
    },
    {
      who: "a kubelet updates another node",
      run: () => asCert("rbac-node1", "PUT", "/api/v1/nodes/node2", node2),
      status: 403,
      message: `nodes "node2" is forbidden: node "node1" is not allowed to modify node "node2"`,
    },
    {
      who: "a kubelet updates another node's status",
      run: () => asCert("rbac-node1", "PUT", "/api/v1/nodes/node2/status", node2),
      status: 403,
      message: `nodes "node2" is forbidden: node "node1" is not allowed to modify node "node2"`,
    },
    {
      who: "a kubelet deletes a node",
      run: () => asCert("rbac-node1", "DELETE", "/api/v1/nodes/node2"),
      status: 403,
      message: `nodes "node2" is forbidden: User "system:node:node1" cannot delete resource "nodes" in API group "" at the cluster scope`,
    },
    {
      who: "a kubelet renews another node's Lease",
      run: () =>
        asCert(
          "rbac-node1",
          "PUT",
          "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node2",
          lease2,
        ),
      status: 403,
      message: `leases.coordination.k8s.io "node2" is forbidden: User "system:node:node1" cannot update resource "leases" in API group "coordination.k8s.io" in the namespace "kube-node-lease": can only access node lease with the same name as the requesting node`,
    },
    {
      who: "a kubelet writes a Lease outside kube-node-lease",
      run: () =>
        asCert(
          "rbac-node1",
          "DELETE",
          "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/node1",
        ),
      status: 403,
      message: `leases.coordination.k8s.io "node1" is forbidden: User "system:node:node1" cannot delete resource "leases" in API group "coordination.k8s.io" in the namespace "kube-system": can only access leases in the "kube-node-lease" system namespace`,
    },
    {
      who: "the scheduler deletes a Deployment",
      run: () => asCert("scheduler", "DELETE", "/apis/apps/v1/namespaces/rbac-a/deployments/d"),
      status: 403,
      message: `deployments.apps "d" is forbidden: User "system:kube-scheduler" cannot delete resource "deployments" in API group "apps" in the namespace "rbac-a"`,
    },
  ];
  for (const c of cases) {
    const r = await c.run();
    assert.equal(r.status, c.status, `${c.who}: ${r.text}`);
    assert.equal(r.json.message, c.message, c.who);
    assert.equal(r.json.reason, c.status === 401 ? "Unauthorized" : "Forbidden", c.who);
  }
  const d = (await asCert("proxy", "DELETE", "/api/v1/namespaces/kube-system")).json.details;
  assert.deepEqual(d, { name: "kube-system", kind: "namespaces" });
  const d2 = (await asCert("scheduler", "DELETE", "/apis/apps/v1/namespaces/rbac-a/deployments/d"))
    .json.details;
  assert.deepEqual(d2, { name: "d", group: "apps", kind: "deployments" });
});

test("each component's identity may do its work: proxy, skiff-net, scheduler, controller-manager", async () => {
  for (const [cert, path] of [
    ["proxy", "/api/v1/services"],
    ["proxy", "/apis/discovery.k8s.io/v1/endpointslices"],
    ["net", "/api/v1/nodes"],
    ["scheduler", "/api/v1/pods"],
    ["scheduler", "/apis/policy/v1/poddisruptionbudgets"],
    ["controller-manager", "/apis/apps/v1/replicasets"],
    ["controller-manager", "/api/v1/secrets"],
  ] as const) {
    const r = await asCert(cert, "GET", path);
    assert.equal(r.status, 200, `${cert} GET ${path}: ${r.text}`);
  }
  const pod = await asCert("controller-manager", "POST", "/api/v1/namespaces/default/pods", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "cm-made" },
    spec: { containers: [{ name: "c", image: "skiff.local/busybox:1.36" }] },
  });
  assert.equal(pod.status, 201, pod.text);
  const lease = await asCert(
    "scheduler",
    "POST",
    "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases",
    {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "kube-scheduler" },
      spec: { holderIdentity: "x" },
    },
  );
  assert.equal(lease.status, 201, lease.text);
  const got = await asCert(
    "scheduler",
    "GET",
    "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler",
  );
  assert.equal(got.status, 200);
  // The aggregation controller (as the controller-manager) may write aggregated roles' rules.
  const view = await asCert("controller-manager", "GET", `${RBAC}/clusterroles/view`);
  const aggregated = await asCert("controller-manager", "PUT", `${RBAC}/clusterroles/view`, {
    ...view.json,
    rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get"] }],
  });
  assert.equal(aggregated.status, 200, aggregated.text);
  const byProxy = await asCert("proxy", "PUT", `${RBAC}/clusterroles/view`, aggregated.json);
  assert.equal(byProxy.status, 403, byProxy.text);
  const other = await asCert(
    "scheduler",
    "GET",
    "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager",
  );
  assert.equal(other.status, 403);
});

test("a user may not bind cluster-admin or write rules they do not hold; escalate and bind allow it", async () => {
  await admin("POST", "/api/v1/namespaces", {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "rbac-b" },
  });
  // carol administers rbac-b: she may write Roles and RoleBindings there and read pods.
  await admin("POST", `${RBAC}/clusterroles`, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: "rbac-test-ns-admin" },
    rules: [
      {
        apiGroups: ["rbac.authorization.k8s.io"],
        resources: ["roles", "rolebindings"],
        verbs: ["get", "list", "watch", "create", "update", "patch", "delete"],
      },
      { apiGroups: [""], resources: ["pods", "pods/log"], verbs: ["get", "list", "watch"] },
    ],
  });
  await admin("POST", `${RBAC}/namespaces/rbac-b/rolebindings`, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "carol-admin" },
    roleRef: ref("ClusterRole", "rbac-test-ns-admin"),
    subjects: [{ kind: "Group", apiGroup: "rbac.authorization.k8s.io", name: "devs" }],
  });
  await eventually(
    async () =>
      (await asToken("carol-token", "GET", "/api/v1/namespaces/rbac-b/pods")).status === 200,
    "carol's admin binding",
  );
  const escalate = await asToken("carol-token", "POST", `${RBAC}/namespaces/rbac-b/rolebindings`, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "carol-root" },
    roleRef: ref("ClusterRole", "cluster-admin"),
    subjects: [user("carol")],
  });
  assert.equal(escalate.status, 403, escalate.text);
  assert.equal(escalate.json.reason, "Forbidden");
  assert.equal(
    escalate.json.message,
    `rolebindings.rbac.authorization.k8s.io "carol-root" is forbidden: user "carol" (groups=["devs" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n` +
      `{APIGroups:["*"], Resources:["*"], Verbs:["*"]}\n{NonResourceURLs:["*"], Verbs:["*"]}`,
  );
  const role = (rules: object[]) => ({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name: "nodes-reader" },
    rules,
  });
  const tooMuch = await asToken(
    "carol-token",
    "POST",
    `${RBAC}/namespaces/rbac-b/roles`,
    role([
      { apiGroups: [""], resources: ["pods"], verbs: ["get"] },
      { apiGroups: ["rbac.authorization.k8s.io"], resources: ["roles"], verbs: ["escalate"] },
    ]),
  );
  assert.equal(tooMuch.status, 403, tooMuch.text);
  assert.match(
    tooMuch.json.message!,
    /attempting to grant RBAC permissions not currently held:\n\{APIGroups:\["rbac.authorization.k8s.io"\], Resources:\["roles"\], Verbs:\["escalate"\]\}$/,
  );
  const fine = await asToken(
    "carol-token",
    "POST",
    `${RBAC}/namespaces/rbac-b/roles`,
    role([{ apiGroups: [""], resources: ["pods", "pods/log"], verbs: ["get", "list"] }]),
  );
  assert.equal(fine.status, 201, fine.text);
  // `bind` on cluster-admin (granted by an admin) lets carol bind it without holding it.
  await admin("POST", `${RBAC}/clusterroles`, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: "rbac-test-binder" },
    rules: [
      {
        apiGroups: ["rbac.authorization.k8s.io"],
        resources: ["clusterroles"],
        verbs: ["bind"],
        resourceNames: ["edit"],
      },
    ],
  });
  await admin("POST", `${RBAC}/namespaces/rbac-b/rolebindings`, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "carol-binder" },
    roleRef: ref("ClusterRole", "rbac-test-binder"),
    subjects: [user("carol")],
  });
  await eventually(async () => {
    const r = await asToken("carol-token", "POST", `${RBAC}/namespaces/rbac-b/rolebindings`, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "dave-edit" },
      roleRef: ref("ClusterRole", "edit"),
      subjects: [user("dave")],
    });
    return r.status === 201;
  }, "carol binding edit with the bind verb");
});

test("a binding to a role that does not exist is named in the denial", async () => {
  await admin("POST", `${RBAC}/namespaces/rbac-a/rolebindings`, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "dangling" },
    roleRef: ref("Role", "gone"),
    subjects: [user("dave")],
  });
  await eventually(async () => {
    const r = await asToken("dave-token", "GET", "/api/v1/namespaces/rbac-a/secrets");
    return (
      r.status === 403 &&
      r.json.message ===
        `secrets is forbidden: User "dave" cannot list resource "secrets" in API group "" in the namespace "rbac-a": RBAC: role.rbac.authorization.k8s.io "gone" not found`
    );
  }, "the denial naming the missing role");
});

test("what a user may do follows every change of its roles and bindings, though decisions are kept between requests", async () => {
  const ns = "rbac-cache";
  await admin("POST", "/api/v1/namespaces", { metadata: { name: ns } });
  const listMaps = () => asToken("erin-token", "GET", `/api/v1/namespaces/${ns}/configmaps`);
  const allowed = async () => (await listMaps()).status === 200;
  const denied = async () => (await listMaps()).status === 403;
  // Asked twice, so that the second answer can come from what the first one kept.
  assert.equal((await listMaps()).status, 403);
  assert.equal((await listMaps()).status, 403);
  const role = (verbs: string[]) => ({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name: "maps" },
    rules: [{ apiGroups: [""], resources: ["configmaps"], verbs }],
  });
  await admin("POST", `${RBAC}/namespaces/${ns}/roles`, role(["get", "list"]));
  await admin("POST", `${RBAC}/namespaces/${ns}/rolebindings`, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "maps" },
    roleRef: ref("Role", "maps"),
    subjects: [{ kind: "Group", apiGroup: "rbac.authorization.k8s.io", name: "auditors" }],
  });
  await eventually(allowed, "the new binding to grant the list");
  assert.equal((await listMaps()).status, 200);
  // The role loses the verb: refused again.
  await admin("PUT", `${RBAC}/namespaces/${ns}/roles/maps`, role(["get"]));
  await eventually(denied, "the role's change to take the list away");
  await admin("PUT", `${RBAC}/namespaces/${ns}/roles/maps`, role(["get", "list"]));
  await eventually(allowed, "the role's change to give it back");
  // The binding goes: refused again, and stays refused.
  await admin("DELETE", `${RBAC}/namespaces/${ns}/rolebindings/maps`);
  await eventually(denied, "the binding's deletion to take the list away");
  assert.equal((await listMaps()).status, 403);
});

test("kubectl auth can-i answers for the bootstrap roles, and can-i --list lists the caller's rules", async () => {
  const can = async (args: string[], kubeconfig?: string) => {
    const r = await kubectl(["auth", "can-i", ...args], kubeconfig);
    return r.out || r.err;
  };
  const cfg = (name: string) => join(api.certDir, `${name}.kubeconfig`);
  assert.equal(await can(["delete", "namespaces"], cfg("proxy")), "no");
  assert.equal(await can(["list", "endpointslices.discovery.k8s.io"], cfg("proxy")), "yes");
  assert.equal(await can(["create", "pods", "--subresource=binding"], cfg("scheduler")), "yes");
  assert.equal(
    await can(["update", "leases/kube-scheduler", "-n", "kube-system"], cfg("scheduler")),
    "yes",
  );
  assert.equal(await can(["update", "leases/other", "-n", "kube-system"], cfg("scheduler")), "no");
  assert.equal(await can(["list", "secrets", "-A"], cfg("controller-manager")), "yes");
  assert.equal(await can(["patch", "nodes"], cfg("net")), "yes");
  assert.equal(await can(["delete", "nodes"], cfg("net")), "no");
  assert.equal(await can(["*", "*"]), "yes");
  // Each bootstrap role through a subject its bootstrap binding names (the admin asks as
  // them, kubectl --as/--as-group). admin, edit and view are aggregated: their answers are
  // in the controller-manager's aggregation test, where the aggregation controller runs.
  const bootstrapAnswers: [string, string[], string[], string][] = [
    // cluster-admin, bound to system:masters.
    ["root", ["system:masters"], ["delete", "nodes"], "yes"],
    // system:basic-user and system:discovery, bound to system:authenticated.
    [
      "erin",
      ["system:authenticated"],
      ["create", "selfsubjectaccessreviews.authorization.k8s.io"],
      "yes",
    ],
    ["erin", ["system:authenticated"], ["get", "/apis"], "yes"],
    ["erin", ["system:authenticated"], ["get", "/metrics"], "no"],
    ["erin", ["system:authenticated"], ["list", "pods", "-A"], "no"],
    // system:public-info-viewer is bound to system:unauthenticated too, who may not ask
    // can-i (that is basic-user's): its SubjectAccessReviews are below.
    // system:monitoring, bound to the group of the same name.
    ["prometheus", ["system:monitoring"], ["get", "/metrics"], "yes"],
    ["prometheus", ["system:monitoring"], ["list", "pods", "-A"], "no"],
    // system:kube-scheduler (and system:volume-scheduler).
    [
      "system:kube-scheduler",
      [],
      ["create", "pods", "--subresource=binding", "-n", "rbac-a"],
      "yes",
    ],
    ["system:kube-scheduler", [], ["update", "persistentvolumes"], "yes"],
    ["system:kube-scheduler", [], ["get", "secrets", "-n", "rbac-a"], "no"],
    // system:kube-controller-manager.
    [
      "system:kube-controller-manager",
      [],
      ["create", "serviceaccounts", "--subresource=token", "-n", "kube-system"],
      "yes",
    ],
    ["system:kube-controller-manager", [], ["list", "secrets", "-A"], "yes"],
    ["system:kube-controller-manager", [], ["impersonate", "users"], "no"],
    // system:node-proxier.
    ["system:kube-proxy", [], ["watch", "endpointslices.discovery.k8s.io", "-A"], "yes"],
    ["system:kube-proxy", [], ["delete", "namespaces"], "no"],
    // system:node: the Node authorizer (kubectl prints its reason).
    ["system:node:node1", ["system:nodes"], ["get", "nodes/node1"], "yes"],
    [
      "system:node:node1",
      ["system:nodes"],
      ["get", "nodes/node2"],
      "no - node 'node1' cannot read 'node2', only its own Node object",
    ],
    [
      "system:node:node1",
      ["system:nodes"],
      ["get", "secrets/unused", "-n", "rbac-a"],
      "no - no relationship found between node 'node1' and this object",
    ],
    // A controller's role, bound to its ServiceAccount in kube-system.
    [
      "system:serviceaccount:kube-system:deployment-controller",
      ["system:serviceaccounts"],
      ["create", "replicasets.apps", "-n", "rbac-a"],
      "yes",
    ],
    [
      "system:serviceaccount:kube-system:deployment-controller",
      ["system:serviceaccounts"],
      ["create", "pods", "-n", "rbac-a"],
      "no",
    ],
    [
      "system:serviceaccount:kube-system:namespace-controller",
      ["system:serviceaccounts"],
      ["delete", "namespaces"],
      "yes",
    ],
    // system:auth-delegator is bound to nobody by default.
    ["erin", ["system:authenticated"], ["create", "tokenreviews.authentication.k8s.io"], "no"],
  ];
  for (const [user, groups, args, answer] of bootstrapAnswers) {
    const as = [`--as=${user}`, ...groups.map((g) => `--as-group=${g}`)];
    assert.equal(
      await can([...args, ...as]),
      answer,
      `${user} ${groups.join(",")}: can-i ${args.join(" ")}`,
    );
  }
  // SubjectAccessReview answers for any user and groups, as the Kubernetes roles say.
  const sar = async (spec: object) => {
    const r = await admin("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SubjectAccessReview",
      spec,
    });
    return (r.status as { allowed: boolean }).allowed;
  };
  assert.equal(
    await sar({
      user: "x",
      groups: ["system:monitoring"],
      nonResourceAttributes: { path: "/metrics", verb: "get" },
    }),
    true,
  );
  assert.equal(
    await sar({ user: "x", groups: [], nonResourceAttributes: { path: "/metrics", verb: "get" } }),
    false,
  );
  assert.equal(
    await sar({
      user: "x",
      groups: ["system:authenticated"],
      nonResourceAttributes: { path: "/apis/apps/v1", verb: "get" },
    }),
    true,
  );
  assert.equal(
    await sar({
      user: "x",
      groups: ["system:unauthenticated"],
      nonResourceAttributes: { path: "/version", verb: "get" },
    }),
    true,
  );
  assert.equal(
    await sar({
      user: "system:anonymous",
      groups: ["system:unauthenticated"],
      nonResourceAttributes: { path: "/apis", verb: "get" },
    }),
    false,
  );
  assert.equal(
    await sar({
      user: "x",
      groups: ["system:masters"],
      resourceAttributes: { verb: "delete", resource: "nodes" },
    }),
    true,
  );
  await admin("POST", `${RBAC}/namespaces/rbac-b/rolebindings`, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "dave-reads" },
    roleRef: ref("Role", "nodes-reader"),
    subjects: [user("dave")],
  });
  const bob = tokenKubeconfig("bob-token");
  // system:basic-user and system:discovery are every authenticated user's.
  const whoami = await kubectl(
    ["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"],
    bob,
  );
  assert.equal(whoami.out, "bob", whoami.err);
  const local = await asToken(
    "bob-token",
    "POST",
    "/apis/authorization.k8s.io/v1/namespaces/rbac-a/localsubjectaccessreviews",
    {
      apiVersion: "authorization.k8s.io/v1",
      kind: "LocalSubjectAccessReview",
      spec: {
        user: "x",
        resourceAttributes: { verb: "get", resource: "pods", namespace: "rbac-a" },
      },
    },
  );
  assert.equal(local.status, 403, "creating reviews about others is admin's, not basic-user's");
  assert.equal(await can(["list", "pods"], bob), "no");
  const r = await kubectl(["auth", "can-i", "list", "pods"], bob);
  assert.equal(r.code, 1);
  const dave = tokenKubeconfig("dave-token");
  const list = await kubectl(["auth", "can-i", "--list", "-n", "rbac-b"], dave);
  assert.equal(list.code, 0, list.err);
  assert.match(list.out, /^pods\/log\s+\[\]\s+\[\]\s+\[get list\]$/m);
  assert.match(
    list.out,
    /selfsubjectaccessreviews\.authorization\.k8s\.io\s+\[\]\s+\[\]\s+\[create\]/,
  );
});

test("the aggregated view role picks up a new ClusterRole labelled aggregate-to-view", async () => {
  // The aggregation controller lives in the controller-manager; here it is the apiserver's
  // reconciler that must keep the aggregated role's selector intact.
  const view = await admin("GET", `${RBAC}/clusterroles/view`);
  assert.deepEqual(view.aggregationRule, {
    clusterRoleSelectors: [
      { matchLabels: { "rbac.authorization.k8s.io/aggregate-to-view": "true" } },
    ],
  });
});

test("a kubelet reads what its pods use, its own Node and Lease, and no one else's; NodeRestriction limits its writes", async () => {
  await admin("POST", "/api/v1/namespaces/rbac-a/secrets", {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "used" },
    stringData: { k: "v" },
  });
  await admin("POST", "/api/v1/namespaces/rbac-a/configmaps", {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "env" },
    data: { k: "v" },
  });
  await admin("POST", "/api/v1/namespaces/rbac-a/pods", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "on-node1" },
    spec: {
      nodeName: "node1",
      containers: [
        {
          name: "c",
          image: "skiff.local/busybox:1.36",
          envFrom: [{ configMapRef: { name: "env" } }],
        },
      ],
      volumes: [{ name: "s", secret: { secretName: "used" } }],
    },
  });
  await eventually(
    async () =>
      (await asCert("rbac-node1", "GET", "/api/v1/namespaces/rbac-a/secrets/used")).status === 200,
    "node1 reading its pod's secret",
  );
  assert.equal(
    (await asCert("rbac-node1", "GET", "/api/v1/namespaces/rbac-a/configmaps/env")).status,
    200,
  );
  const n2 = await asCert("rbac-node2", "GET", "/api/v1/namespaces/rbac-a/secrets/used");
  assert.equal(n2.status, 403, n2.text);
  assert.equal(
    (await asCert("rbac-node2", "GET", "/api/v1/namespaces/rbac-a/pods/on-node1")).status,
    403,
  );
  assert.equal(
    (await asCert("rbac-node1", "GET", "/api/v1/namespaces/rbac-a/pods/on-node1")).status,
    200,
  );
  assert.equal(
    (await asCert("rbac-node1", "GET", "/api/v1/pods?fieldSelector=spec.nodeName%3Dnode1")).status,
    200,
  );
  assert.equal((await asCert("rbac-node1", "GET", "/api/v1/pods")).status, 403);
  // Registration: its own Node only, and not with node-restriction labels.
  const node = (name: string, labels: Record<string, string> = {}) => ({
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels },
  });
  const other = await asCert("rbac-node1", "POST", "/api/v1/nodes", node("node2"));
  assert.equal(other.status, 403, other.text);
  assert.equal(
    other.json.message,
    `nodes "node2" is forbidden: node "node1" is not allowed to modify node "node2"`,
  );
  const labelled = await asCert(
    "rbac-node1",
    "POST",
    "/api/v1/nodes",
    node("node1", { "node-restriction.kubernetes.io/pool": "a" }),
  );
  assert.equal(labelled.status, 403, labelled.text);
  assert.match(
    labelled.json.message!,
    /is not allowed to modify labels: node-restriction.kubernetes.io\/pool$/,
  );
  assert.equal((await asCert("rbac-node1", "POST", "/api/v1/nodes", node("node1"))).status, 201);
  assert.equal((await asCert("rbac-node1", "GET", "/api/v1/nodes/node1")).status, 200);
  assert.equal((await asCert("rbac-node1", "GET", "/api/v1/nodes/node2")).status, 403);
  const lease = (name: string) => ({
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name },
    spec: { holderIdentity: name },
  });
  assert.equal(
    (
      await asCert(
        "rbac-node1",
        "POST",
        "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
        lease("node2"),
      )
    ).status,
    403,
  );
  assert.equal(
    (
      await asCert(
        "rbac-node1",
        "POST",
        "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
        lease("node1"),
      )
    ).status,
    201,
  );
  // Pods: only mirror pods bound to itself.
  const made = await asCert("rbac-node1", "POST", "/api/v1/namespaces/rbac-a/pods", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "sneaky" },
    spec: { nodeName: "node1", containers: [{ name: "c", image: "skiff.local/busybox:1.36" }] },
  });
  assert.equal(made.status, 403, made.text);
  assert.match(made.json.message!, /node "node1" can only create mirror pods$/);
});

test("--authorization-mode: AlwaysDeny has no opinion (a later mode may allow), AlwaysAllow lets every user in, system:masters passes both", async () => {
  const carol = (a: TestApiserver, path: string) =>
    a.request("GET", path, undefined, { auth: { token: "carol-token" } });
  for (const [modes, status, message] of [
    [
      ["AlwaysDeny"],
      403,
      `namespaces is forbidden: User "carol" cannot list resource "namespaces" in API group "" at the cluster scope: Everything is forbidden.`,
    ],
    [["AlwaysDeny", "RBAC"], 200, undefined],
    [["AlwaysAllow"], 200, undefined],
  ] as const) {
    const other = await startApiserver({
      etcdEndpoints: api.etcdEndpoints,
      tokenAuthFile: tokenFile,
      authorizationModes: [...modes],
    });
    try {
      // RBAC lets carol read rbac-b's pods (an earlier test's binding), not namespaces.
      const path = (modes as readonly string[]).includes("RBAC")
        ? "/api/v1/namespaces/rbac-b/pods"
        : "/api/v1/namespaces";
      const r = await carol(other, path);
      assert.equal(r.status, status, `${modes.join(",")}: ${r.text}`);
      if (message) assert.equal(r.json.message, message);
      assert.equal((await other.request("GET", "/api/v1/namespaces")).status, 200);
    } finally {
      await other.stop();
    }
  }
});

test("the real kubectl creates, applies and lists RBAC objects, with Kubernetes' columns", async () => {
  await admin("POST", "/api/v1/namespaces", {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "rbac-k" },
  });
  const ok = async (args: string[]) => {
    const r = await kubectl(args);
    assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.err}`);
    return r.out;
  };
  await ok(["create", "clusterrole", "pod-reader", "--verb=get,list", "--resource=pods,pods/log"]);
  await ok([
    "create",
    "role",
    "cm-writer",
    "-n",
    "rbac-k",
    "--verb=create",
    "--resource=configmaps",
  ]);
  await ok([
    "create",
    "rolebinding",
    "readers",
    "-n",
    "rbac-k",
    "--clusterrole=pod-reader",
    "--user=erin",
    "--group=qa",
    "--serviceaccount=rbac-k:bot",
  ]);
  const wide = await ok(["get", "rolebindings", "-n", "rbac-k", "-o", "wide"]);
  assert.match(wide, /^NAME\s+ROLE\s+AGE\s+USERS\s+GROUPS\s+SERVICEACCOUNTS$/m);
  assert.match(wide, /^readers\s+ClusterRole\/pod-reader\s+\S+\s+erin\s+qa\s+rbac-k\/bot$/m);
  const roles = await ok(["get", "roles", "-n", "rbac-k"]);
  assert.match(roles, /^NAME\s+CREATED AT$/m);
  assert.match(roles, /^cm-writer\s+\d{4}-/m);
  // A manifest without the subjects' apiGroup gets it defaulted, as Kubernetes does.
  const file = join(tokenDir, "crb.yaml");
  writeFileSync(
    file,
    `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: erin-reads}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pod-reader}
subjects: [{kind: User, name: erin}]
`,
  );
  await ok(["apply", "-f", file]);
  const crb = await admin("GET", `${RBAC}/clusterrolebindings/erin-reads`);
  assert.deepEqual(crb.subjects, [user("erin")]);
  const wrongRef = await api.request("POST", `${RBAC}/clusterrolebindings`, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: "wrong-ref" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "x" },
  });
  assert.equal(wrongRef.status, 422, wrongRef.text);
  assert.match(
    wrongRef.json.message,
    /roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"/,
  );
  const changeRef = await api.request(
    "PATCH",
    `${RBAC}/namespaces/rbac-k/rolebindings/readers`,
    {
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
    },
    { contentType: "application/merge-patch+json" },
  );
  assert.equal(changeRef.status, 422, changeRef.text);
  assert.match(changeRef.json.message, /roleRef: Invalid value: .*cannot change roleRef/);
});

test("the DNS add-on's manifest lets skiff-dns' ServiceAccount read what it serves, and nothing more", async () => {
  const manifest = readFileSync(
    new URL("../../../deploy/addons/dns.yaml", import.meta.url),
    "utf8",
  );
  const docs = parseAllDocuments(manifest).map((d) => d.toJSON() as { kind: string });
  const rbacDocs = docs.filter((d) => d.kind === "ClusterRole" || d.kind === "ClusterRoleBinding");
  assert.equal(rbacDocs.length, 2);
  for (const d of rbacDocs)
    await admin(
      "POST",
      `${RBAC}/${d.kind === "ClusterRole" ? "clusterroles" : "clusterrolebindings"}`,
      d,
    );
  const may = async (verb: string, resource: string, group = "") => {
    const r = await admin("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SubjectAccessReview",
      spec: {
        user: "system:serviceaccount:kube-system:skiff-dns",
        groups: [
          "system:serviceaccounts",
          "system:serviceaccounts:kube-system",
          "system:authenticated",
        ],
        resourceAttributes: { verb, resource, group },
      },
    });
    return (r.status as { allowed: boolean }).allowed;
  };
  await eventually(() => may("watch", "services"), "the dns binding");
  for (const [verb, resource, group] of [
    ["list", "services", ""],
    ["watch", "endpointslices", "discovery.k8s.io"],
    ["list", "pods", ""],
  ] as const)
    assert.equal(await may(verb, resource, group), true, `${verb} ${resource}`);
  assert.equal(await may("get", "secrets"), false);
  assert.equal(await may("update", "services"), false);
});

test("NodeRestriction: a kubelet gets tokens only bound to a pod of its own node, with Kubernetes' messages", async () => {
  await admin("POST", "/api/v1/namespaces", {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "rbac-tokens" },
  });
  await admin("POST", "/api/v1/namespaces/rbac-tokens/serviceaccounts", {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: "app" },
  });
  const podOn = async (name: string, node: string) =>
    (
      (await admin("POST", "/api/v1/namespaces/rbac-tokens/pods", {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name },
        spec: {
          nodeName: node,
          serviceAccountName: "app",
          containers: [{ name: "c", image: "skiff.local/busybox:1.36" }],
        },
      })) as { metadata: { uid: string } }
    ).metadata.uid;
  const uid1 = await podOn("app-1", "node1");
  const uid2 = await podOn("app-2", "node2");
  const ask = (node: string, boundObjectRef?: object) =>
    asCert(node, "POST", "/api/v1/namespaces/rbac-tokens/serviceaccounts/app/token", {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: { expirationSeconds: 600, ...(boundObjectRef ? { boundObjectRef } : {}) },
    });
  const pod = (name: string, uid?: string) => ({
    apiVersion: "v1",
    kind: "Pod",
    name,
    ...(uid ? { uid } : {}),
  });
  await eventually(
    async () => (await ask("rbac-node1", pod("app-1", uid1))).status === 201,
    "node1's token for its pod",
  );
  const refusals: [string, object | undefined, string][] = [
    ["rbac-node1", undefined, "node requested token not bound to a pod"],
    ["rbac-node1", pod("app-1"), "node requested token with a pod binding without a uid"],
    [
      "rbac-node1",
      pod("app-1", "0000"),
      "the UID in the bound object reference (0000) does not match the UID in record. The object might have been deleted and then recreated",
    ],
    [
      "rbac-node2",
      pod("app-1", uid1),
      "node requested token bound to a pod scheduled on a different node",
    ],
  ];
  for (const [node, ref, why] of refusals) {
    const r = await ask(node, ref);
    assert.equal(r.status, 403, `${node} ${JSON.stringify(ref)}: ${r.text}`);
    assert.equal(r.json.message, `serviceaccounts "app" is forbidden: ${why}`);
  }
  assert.equal((await ask("rbac-node2", pod("app-2", uid2))).status, 201);
});

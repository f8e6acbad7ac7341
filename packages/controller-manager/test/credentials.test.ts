import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { resourceInfo } from "@skiff/api";
import {
  ApiError,
  RestClient,
  loadClientConfig,
  silentLogger,
  type KubeObject,
} from "@skiff/client";
import { startApiserver, type TestApiserver } from "@skiff/testing";
import { ControllerManager } from "../src/index.js";
import { ServiceAccountClients } from "../src/credentials.js";
import { eventually, startCluster } from "./helpers.js";

let api: TestApiserver;
let admin: RestClient;
let manager: RestClient;
before(async () => {
  api = await startApiserver();
  admin = new RestClient(loadClientConfig({ kubeconfig: api.kubeconfig }));
  manager = new RestClient(
    loadClientConfig({ kubeconfig: api.kubeconfigFor("system:kube-controller-manager") }),
  );
});
after(async () => {
  admin.close();
  manager.close();
  await api.stop();
});

const whoami = async (client: RestClient) =>
  (
    (await client.request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", {
      body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
    })) as { status: { userInfo: { username: string; groups: string[] } } }
  ).status.userInfo;

test("a controller's client is its own ServiceAccount, made by the manager, with only its role", async () => {
  const accounts = new ServiceAccountClients(manager, silentLogger);
  try {
    const rs = await accounts.clientFor("replicaset-controller");
    const user = await whoami(rs);
    assert.equal(user.username, "system:serviceaccount:kube-system:replicaset-controller");
    assert.ok(user.groups.includes("system:serviceaccounts:kube-system"));
    // The account exists in kube-system, made with the manager's own credential.
    const sa = await admin
      .resource(resourceInfo("", "v1", "serviceaccounts"))
      .namespace("kube-system")
      .get("replicaset-controller");
    assert.equal(sa.metadata.name, "replicaset-controller");
    // Its role lets it create pods, and nothing about secrets.
    const pod = await rs
      .resource<KubeObject & { spec: unknown }>(resourceInfo("", "v1", "pods"))
      .namespace("default")
      .create({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "made-by-rs" },
        spec: { containers: [{ name: "c", image: "skiff.local/busybox:1.36" }] },
      });
    assert.equal(pod.metadata.name, "made-by-rs");
    await assert.rejects(
      rs
        .resource(resourceInfo("", "v1", "secrets"))
        .namespace("default")
        .list(),
      (err: unknown) =>
        err instanceof ApiError &&
        err.status.code === 403 &&
        err.status.message ===
          'secrets is forbidden: User "system:serviceaccount:kube-system:replicaset-controller" cannot list resource "secrets" in API group "" in the namespace "default"',
    );
  } finally {
    accounts.stop();
  }
});

test("the controller-manager leads as kube-system/kube-controller-manager through system::leader-locking-kube-controller-manager alone", async () => {
  const accounts = new ServiceAccountClients(manager, silentLogger);
  const token = (await accounts.clientFor("kube-controller-manager")).config.token;
  accounts.stop();
  const config = loadClientConfig({ kubeconfig: api.kubeconfig });
  const cm = new ControllerManager({
    clientConfig: { server: config.server, ca: config.ca, namespace: "default", token },
    controllers: [],
    leaseDurationSeconds: 2,
    renewDeadlineMs: 1_500,
    retryPeriodMs: 500,
    port: -1,
    logger: silentLogger,
  });
  await cm.start();
  try {
    await eventually(() => cm.isLeader(), "the manager to lead");
    const lease = (await admin.request(
      "GET",
      "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager",
    )) as { spec: { holderIdentity: string } };
    assert.equal(lease.spec.holderIdentity, cm.identity);
    const bindings = (await admin.request(
      "GET",
      "/apis/rbac.authorization.k8s.io/v1/namespaces/kube-system/rolebindings/system::leader-locking-kube-controller-manager",
    )) as { roleRef: { kind: string; name: string }; subjects: { kind: string; name: string }[] };
    assert.deepEqual(bindings.roleRef.kind, "Role");
    assert.ok(
      bindings.subjects.some(
        (s) => s.kind === "ServiceAccount" && s.name === "kube-controller-manager",
      ),
    );
  } finally {
    await cm.stop();
  }
});

test("the volume binder, as kube-system/persistent-volume-binder, makes the default local-path StorageClass", async () => {
  const c = await startCluster(["persistentvolume-binder"]);
  try {
    const classes = c.client.resource(resourceInfo("storage.k8s.io", "v1", "storageclasses"));
    const made = await eventually(
      async () => (await classes.list()).items.find((s) => s.metadata.name === "local-path"),
      "the default StorageClass",
    );
    assert.equal(
      made.metadata.annotations?.["storageclass.kubernetes.io/is-default-class"],
      "true",
    );
  } finally {
    await c.stop();
  }
});

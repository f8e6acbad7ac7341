// A pod's service account credentials end to end: ServiceAccount admission gives the pod its
// kube-api-access volume, the kubelet writes the bound token, ca.crt and namespace into it,
// and a client in the container authenticates with them — until the pod is deleted.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "@skiff/client";
import { ControllerManager } from "@skiff/controller-manager";
import { IMAGE, assignPodCIDR, startHarness, waitFor, type Harness } from "./harness.js";

/** The Skiff image (`make setup` builds it): node and skiffctl, for an in-cluster client. */
const SKIFF_IMAGE = "skiff.local/skiff:0.1.0";

let h: Harness;
let cm: ControllerManager;
const out = mkdtempSync(join(tmpdir(), "skiff-sa-out-"));

before(async () => {
  h = await startHarness({ serviceAccountAdmission: true });
  // The controllers a real cluster has for this, as their own accounts: the default
  // ServiceAccount, the kube-root-ca.crt ConfigMap, and the aggregated view role's rules.
  cm = new ControllerManager({
    kubeconfig: join(h.api.certDir, "controller-manager.kubeconfig"),
    controllers: ["serviceaccount", "root-ca-cert-publisher", "clusterrole-aggregation"],
    useServiceAccountCredentials: true,
    leaderElect: false,
    port: -1,
    logger: silentLogger,
  });
  await cm.start();
  await h.startKubelet();
  await assignPodCIDR(h);
  await waitFor("the default account, the root CA and the view role's rules", async () => {
    const account = await h.api.request(
      "GET",
      "/api/v1/namespaces/default/serviceaccounts/default",
    );
    const ca = await h.api.request("GET", "/api/v1/namespaces/default/configmaps/kube-root-ca.crt");
    const view = await h.api.request("GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles/view");
    const rules = (view.json?.rules ?? []) as { resources?: string[] }[];
    return (
      account.status === 200 &&
      ca.status === 200 &&
      rules.some((r) => r.resources?.includes("pods"))
    );
  });
});
after(async () => {
  await cm?.stop();
  await h?.cleanup();
  rmSync(out, { recursive: true, force: true });
});

const SA = "/var/run/secrets/kubernetes.io/serviceaccount";

test("a pod's container reads its token, ca.crt and namespace and is its service account to the API: 403 listing pods, then 200 once a RoleBinding grants view", async () => {
  // hostNetwork: the test apiserver listens on the host's loopback only.
  // The client: Node's https with the mounted CA and token, as client-go's in-cluster config
  // does, and skiffctl's own in-cluster configuration (no kubeconfig in the image).
  const whoamiJs = `
    const fs = require("fs");
    const d = "${SA}/";
    const req = require("https").request(
      "https://" + process.env.KUBERNETES_SERVICE_HOST + ":" + process.env.KUBERNETES_SERVICE_PORT +
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
      {
        method: "POST",
        ca: fs.readFileSync(d + "ca.crt"),
        headers: {
          Authorization: "Bearer " + fs.readFileSync(d + "token", "utf8"),
          "Content-Type": "application/json",
        },
      },
      (res) => res.pipe(fs.createWriteStream("/out/whoami")),
    );
    req.on("error", (e) => fs.writeFileSync("/out/error", String(e)));
    req.end(JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" }));`;
  const script = [
    `cp ${SA}/ca.crt /out/ca.crt; cp ${SA}/token /out/token`,
    `cat ${SA}/namespace > /out/namespace`,
    `touch ${SA}/x 2>/out/readonly || true`,
    `node -e '${whoamiJs}'`,
    // Before and after the test binds the account to the view ClusterRole.
    `skiffctl get pods -o name > /out/pods-before 2>/out/pods-before-error`,
    `until [ -f /out/granted ]; do sleep 0.2; done`,
    `skiffctl get pods -o name > /out/pods 2>/out/pods-error`,
    `sleep 3600`,
  ].join("\n");
  await h.createPod("in-cluster", {
    hostNetwork: true,
    volumes: [{ name: "out", hostPath: { path: out } }],
    containers: [
      {
        name: "client",
        image: SKIFF_IMAGE,
        command: ["sh", "-c", script],
        // The kubernetes Service's address is not routed here (no kube-proxy): the
        // container's own env wins over the service env, as in Kubernetes.
        env: [
          { name: "KUBERNETES_SERVICE_HOST", value: "127.0.0.1" },
          { name: "KUBERNETES_SERVICE_PORT", value: String(h.api.port) },
        ],
        volumeMounts: [{ name: "out", mountPath: "/out" }],
      },
    ],
  });
  const pod = await h.waitPod("in-cluster", (p) => p.status?.phase === "Running");
  assert.equal(pod.spec.serviceAccountName, "default");
  const whoami = await waitFor(
    "the pod's SelfSubjectReview",
    async () => {
      try {
        return JSON.parse(readFileSync(join(out, "whoami"), "utf8")) as {
          status: { userInfo: { username: string; groups: string[]; extra?: object } };
        };
      } catch {
        return undefined;
      }
    },
    30_000,
  ).catch((err: Error) => {
    const why = (f: string) => {
      try {
        return readFileSync(join(out, f), "utf8");
      } catch {
        return "";
      }
    };
    throw new Error(`${err.message}; ${why("error")}`, {
      cause: err,
    });
  });
  assert.equal(whoami.status.userInfo.username, "system:serviceaccount:default:default");
  assert.deepEqual(whoami.status.userInfo.groups, [
    "system:serviceaccounts",
    "system:serviceaccounts:default",
    "system:authenticated",
  ]);
  assert.equal(
    readFileSync(join(out, "ca.crt"), "utf8"),
    readFileSync(join(h.api.certDir, "ca.crt"), "utf8"),
  );
  assert.equal(readFileSync(join(out, "namespace"), "utf8"), "default");
  // RBAC: the account may not list pods until a RoleBinding says so.
  const read = (f: string) => {
    try {
      return readFileSync(join(out, f), "utf8");
    } catch {
      return "";
    }
  };
  assert.equal(
    await waitFor("skiffctl get pods, refused", async () => read("pods-before-error") || undefined),
    'Error from server (Forbidden): pods is forbidden: User "system:serviceaccount:default:default" cannot list resource "pods" in API group "" in the namespace "default"\n',
  );
  const binding = await h.api.request(
    "POST",
    "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
    {
      metadata: { name: "default-views" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
      subjects: [{ kind: "ServiceAccount", name: "default", namespace: "default" }],
    },
  );
  assert.equal(binding.status, 201, binding.text);
  writeFileSync(join(out, "granted"), "");
  assert.equal(
    await waitFor("skiffctl get pods, allowed", async () => read("pods") || undefined).catch(() =>
      read("pods-error"),
    ),
    "pod/in-cluster\n",
  );
  assert.match(readFileSync(join(out, "readonly"), "utf8"), /Read-only file system/);

  // The pod goes: the token it had stops working at once.
  const token = readFileSync(join(out, "token"), "utf8");
  assert.equal(token.split(".").length, 3);
  const asPod = () =>
    h.api.request("GET", "/api/v1/namespaces/default/pods", undefined, { auth: { token } });
  assert.equal((await asPod()).status, 200);
  await h.api.request("DELETE", "/api/v1/namespaces/default/pods/in-cluster?gracePeriodSeconds=0");
  await waitFor("pod gone", async () => (await h.getPod("in-cluster")) === undefined);
  const gone = await asPod();
  assert.equal(gone.status, 401, gone.text);
  assert.equal(gone.json.reason, "Unauthorized");
});

test("automountServiceAccountToken: false: the container has no service account directory", async () => {
  await h.createPod("no-token", {
    automountServiceAccountToken: false,
    restartPolicy: "Never",
    containers: [{ name: "c", image: IMAGE, command: ["sh", "-c", `test ! -e ${SA}`] }],
  });
  const pod = await h.waitPod(
    "no-token",
    (p) => p.status?.phase === "Succeeded" || p.status?.phase === "Failed",
  );
  assert.equal(pod.status.phase, "Succeeded", JSON.stringify(pod.status));
  assert.equal(pod.spec.volumes, undefined);
});

// Service account credentials on a real etcd and apiserver: ServiceAccount admission, tokens
// bound to pods, TokenReview, and the tokens that must not work.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createPrivateKey, generateKeyPairSync } from "node:crypto";
import { SignJWT } from "jose";
import { startApiserver, type TestApiserver } from "@skiff/testing";

let api: TestApiserver;
before(async () => {
  api = await startApiserver({ serviceAccountAdmission: true });
  // No controller-manager here: the namespace and its accounts are made by hand.
  await api.request("POST", "/api/v1/namespaces", {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "creds" },
  });
  for (const [name, automount] of [
    ["default", undefined],
    ["robot", undefined],
    ["quiet", false],
  ] as const) {
    const r = await api.request("POST", "/api/v1/namespaces/creds/serviceaccounts", {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name },
      ...(automount === undefined ? {} : { automountServiceAccountToken: automount }),
    });
    assert.equal(r.status, 201, r.text);
  }
});
after(async () => {
  await api?.stop();
});

const pod = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name },
  spec: {
    initContainers: [{ name: "init", image: "skiff.local/busybox:1.36" }],
    containers: [
      { name: "a", image: "skiff.local/busybox:1.36" },
      { name: "b", image: "skiff.local/busybox:1.36" },
    ],
    ...spec,
  },
});

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount";

test("a pod gets the default account and a kube-api-access volume in every container", async () => {
  const r = await api.request("POST", "/api/v1/namespaces/creds/pods", pod("web"));
  assert.equal(r.status, 201, r.text);
  const spec = r.json.spec as Obj;
  assert.equal(spec.serviceAccountName, "default");
  assert.equal(spec.serviceAccount, "default");
  const volumes = spec.volumes as Obj[];
  assert.equal(volumes.length, 1);
  const v = volumes[0]!;
  assert.match(v.name, /^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  assert.deepEqual(v.projected, {
    defaultMode: 420,
    sources: [
      { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
      { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
      {
        downwardAPI: {
          items: [
            { path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } },
          ],
        },
      },
    ],
  });
  for (const c of [...spec.initContainers, ...spec.containers] as Obj[]) {
    assert.deepEqual(c.volumeMounts, [{ name: v.name, readOnly: true, mountPath: MOUNT }], c.name);
  }
});

test("automountServiceAccountToken: false on the pod or on its account means no volume", async () => {
  const off = await api.request(
    "POST",
    "/api/v1/namespaces/creds/pods",
    pod("off", { automountServiceAccountToken: false }),
  );
  assert.equal(off.status, 201, off.text);
  assert.equal(off.json.spec.volumes, undefined);
  assert.equal(off.json.spec.containers[0].volumeMounts, undefined);

  const quiet = await api.request(
    "POST",
    "/api/v1/namespaces/creds/pods",
    pod("quiet", { serviceAccountName: "quiet" }),
  );
  assert.equal(quiet.status, 201, quiet.text);
  assert.equal(quiet.json.spec.volumes, undefined);

  // The pod's own word wins over its account's.
  const on = await api.request(
    "POST",
    "/api/v1/namespaces/creds/pods",
    pod("quiet-but-on", { serviceAccountName: "quiet", automountServiceAccountToken: true }),
  );
  assert.equal(on.status, 201, on.text);
  assert.equal(on.json.spec.volumes.length, 1);
});

test("a pod whose service account does not exist is refused", async () => {
  const r = await api.request(
    "POST",
    "/api/v1/namespaces/creds/pods",
    pod("ghost", { serviceAccountName: "nobody" }),
  );
  assert.equal(r.status, 403, r.text);
  assert.equal(r.json.reason, "Forbidden");
  assert.equal(
    r.json.message,
    'pods "ghost" is forbidden: error looking up service account creds/nobody: serviceaccount "nobody" not found',
  );
});

async function tokenFor(sa: string, podName?: string, expirationSeconds = 3600): Promise<string> {
  const podRef = podName
    ? (await api.request("GET", `/api/v1/namespaces/creds/pods/${podName}`)).json
    : undefined;
  const r = await api.request("POST", `/api/v1/namespaces/creds/serviceaccounts/${sa}/token`, {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenRequest",
    spec: {
      expirationSeconds,
      ...(podRef
        ? {
            boundObjectRef: {
              apiVersion: "v1",
              kind: "Pod",
              name: podName,
              uid: podRef.metadata.uid,
            },
          }
        : {}),
    },
  });
  assert.equal(r.status, 201, r.text);
  return r.json.status.token as string;
}

async function whoami(token: string): Promise<{ status: number; user?: string }> {
  const r = await api.request(
    "POST",
    "/apis/authentication.k8s.io/v1/selfsubjectreviews",
    { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
    { auth: { token } },
  );
  return { status: r.status, user: r.json?.status?.userInfo?.username };
}

async function review(token: string, audiences?: string[]): Promise<Obj> {
  const r = await api.request("POST", "/apis/authentication.k8s.io/v1/tokenreviews", {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenReview",
    spec: { token, ...(audiences ? { audiences } : {}) },
  });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.kind, "TokenReview");
  return r.json.status as Obj;
}

test("a token bound to a pod works while the pod lives, and TokenReview says whose it is", async () => {
  await api.request(
    "POST",
    "/api/v1/namespaces/creds/pods",
    pod("bound", { serviceAccountName: "robot" }),
  );
  const token = await tokenFor("robot", "bound");
  assert.deepEqual(await whoami(token), {
    status: 201,
    user: "system:serviceaccount:creds:robot",
  });
  const podUid = (await api.request("GET", "/api/v1/namespaces/creds/pods/bound")).json.metadata
    .uid as string;
  const status = await review(token);
  assert.equal(status.authenticated, true);
  assert.equal(status.user.username, "system:serviceaccount:creds:robot");
  assert.deepEqual(status.user.groups, [
    "system:serviceaccounts",
    "system:serviceaccounts:creds",
    "system:authenticated",
  ]);
  assert.deepEqual(status.user.extra["authentication.kubernetes.io/pod-name"], ["bound"]);
  assert.deepEqual(status.user.extra["authentication.kubernetes.io/pod-uid"], [podUid]);
  assert.deepEqual(status.audiences, ["https://kubernetes.default.svc.cluster.local"]);
  // A review for an audience the token was not issued for does not authenticate it.
  const vault = await review(token, ["vault"]);
  assert.equal(vault.authenticated, false);
  assert.equal(
    vault.error,
    '[invalid bearer token, token audiences ["https://kubernetes.default.svc.cluster.local"] is invalid for the target audiences ["vault"]]',
  );

  // Deleted (and re-created under the same name): the old token is dead, and TokenReview
  // says why in Kubernetes' words.
  await api.request("DELETE", "/api/v1/namespaces/creds/pods/bound?gracePeriodSeconds=0");
  assert.equal((await whoami(token)).status, 401);
  assert.deepEqual(await review(token), {
    authenticated: false,
    user: {},
    error: "[invalid bearer token, service account token has been invalidated]",
  });
  const again = (
    await api.request(
      "POST",
      "/api/v1/namespaces/creds/pods",
      pod("bound", { serviceAccountName: "robot" }),
    )
  ).json.metadata.uid as string;
  assert.equal((await whoami(token)).status, 401);
  assert.equal(
    (await review(token)).error,
    `[invalid bearer token, pod UID (${again}) does not match service account pod ref claim (${podUid})]`,
  );
});

test("expired, malformed, wrongly signed and deleted accounts' tokens get 401", async () => {
  const robotUid = (await api.request("GET", "/api/v1/namespaces/creds/serviceaccounts/robot")).json
    .metadata.uid as string;
  const claims = {
    "kubernetes.io": { namespace: "creds", serviceaccount: { name: "robot", uid: robotUid } },
  };
  const sign = (key: Parameters<SignJWT["sign"]>[0], exp: number) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: "RS256" })
      .setIssuer("https://kubernetes.default.svc.cluster.local")
      .setSubject("system:serviceaccount:creds:robot")
      .setAudience("https://kubernetes.default.svc.cluster.local")
      .setIssuedAt(exp - 7200)
      .setExpirationTime(exp)
      .sign(key);
  const saKey = createPrivateKey(readFileSync(join(api.certDir, "sa.key")));
  const now = Math.floor(Date.now() / 1000);
  // The same claims signed by the cluster's key and still valid do work: the others are
  // refused for the one thing that is wrong with each.
  const good = await sign(saKey, now + 600);
  assert.equal((await whoami(good)).status, 201);
  const rogue = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
  // TokenReview's error: Kubernetes' reason for a token of this issuer, and just "invalid
  // bearer token" for one it does not recognize as its own.
  const table: [string, string, string][] = [
    [
      "expired",
      await sign(saKey, now - 60),
      "[invalid bearer token, service account token has expired]",
    ],
    ["malformed", "not-a-jwt", "invalid bearer token"],
    [
      "tampered",
      good.slice(0, -4) + (good.endsWith("AAAA") ? "BBBB" : "AAAA"),
      "invalid bearer token",
    ],
    ["wrongly signed", await sign(rogue, now + 600), "invalid bearer token"],
  ];
  for (const [what, token, error] of table) {
    const r = await api.request("GET", "/api/v1/namespaces/creds/pods", undefined, {
      auth: { token },
    });
    assert.equal(r.status, 401, what);
    assert.equal(r.json.reason, "Unauthorized", what);
    assert.equal(r.json.message, "Unauthorized", what);
    assert.deepEqual(await review(token), { authenticated: false, user: {}, error }, what);
  }
  // An account deleted: its tokens stop.
  const unbound = await tokenFor("robot");
  assert.equal((await whoami(unbound)).status, 201);
  await api.request("DELETE", "/api/v1/namespaces/creds/serviceaccounts/robot");
  assert.equal((await whoami(unbound)).status, 401);
  assert.equal((await whoami(good)).status, 401);
  assert.equal(
    (await review(good)).error,
    '[invalid bearer token, serviceaccount "robot" not found]',
  );
});

test("TokenReview: a token is required; only create is allowed", async () => {
  const r = await api.request("POST", "/apis/authentication.k8s.io/v1/tokenreviews", {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenReview",
    spec: {},
  });
  assert.equal(r.status, 422, r.text);
  assert.match(r.json.message, /spec\.token: Required value/);
  const get = await api.request("GET", "/apis/authentication.k8s.io/v1/tokenreviews");
  assert.equal(get.status, 405, get.text);
  const disc = await api.request("GET", "/apis/authentication.k8s.io/v1");
  assert.ok(
    (disc.json.resources as Obj[]).some(
      (x) => x.name === "tokenreviews" && x.kind === "TokenReview",
    ),
  );
});

test("a token accepted before stops at its expiry, though its signature's check is kept", async () => {
  const created = await api.request("POST", "/api/v1/namespaces/creds/serviceaccounts", {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: "ticker" },
  });
  assert.equal(created.status, 201, created.text);
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({
    "kubernetes.io": {
      namespace: "creds",
      serviceaccount: { name: "ticker", uid: created.json.metadata.uid as string },
    },
  })
    .setProtectedHeader({ alg: "RS256" })
    .setIssuer("https://kubernetes.default.svc.cluster.local")
    .setSubject("system:serviceaccount:creds:ticker")
    .setAudience("https://kubernetes.default.svc.cluster.local")
    .setIssuedAt(now)
    .setExpirationTime(now + 3)
    .sign(createPrivateKey(readFileSync(join(api.certDir, "sa.key"))));
  assert.equal((await whoami(token)).status, 201);
  assert.equal((await whoami(token)).status, 201);
  await new Promise((r) => setTimeout(r, (now + 3) * 1000 - Date.now() + 200));
  assert.equal((await whoami(token)).status, 401);
  assert.equal(
    (await review(token)).error,
    "[invalid bearer token, service account token has expired]",
  );
});

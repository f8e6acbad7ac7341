// Admission webhooks with a real etcd, the real apiserver, the real kubectl and a real
// HTTPS webhook (test/webhook-server.ts, its certificate signed by its own test CA).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startApiserver, type TestApiserver } from "@skiff/testing";
import { startWebhookServer, type WebhookServer } from "./webhook-server.js";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const AR = "/apis/admissionregistration.k8s.io/v1";
let api: TestApiserver;
let hook: WebhookServer;
let cacheDir: string;

before(async () => {
  api = await startApiserver();
  hook = await startWebhookServer();
  cacheDir = mkdtempSync(join(tmpdir(), "skiff-kubectl-cache-"));
});
after(async () => {
  await hook?.stop();
  await api?.stop();
  rmSync(cacheDir, { recursive: true, force: true });
});

function kubectl(
  args: string[],
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      "kubectl",
      [`--cache-dir=${cacheDir}`, ...args],
      { env: { ...process.env, KUBECONFIG: api.kubeconfig }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
      },
    );
    if (stdin !== undefined) child.stdin!.end(stdin);
  });
}

/** A namespaceSelector for one namespace (its kubernetes.io/metadata.name label). */
const onlyIn = (ns: string) => ({
  namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns } },
});

const rules = (resources = ["configmaps"], operations = ["CREATE", "UPDATE", "DELETE"]) => [
  { operations, apiGroups: [""], apiVersions: ["v1"], resources },
];

function webhook(name: string, path: string, extra: Obj = {}): Obj {
  return {
    name,
    clientConfig: { url: `${hook.url}${path}`, caBundle: hook.caBundle },
    rules: rules(),
    sideEffects: "None",
    admissionReviewVersions: ["v1"],
    ...extra,
  };
}

/** Creates a webhook configuration and waits until admission sees it. */
async function configure(
  kind: "Validating" | "Mutating",
  name: string,
  webhooks: Obj[],
): Promise<() => Promise<void>> {
  const resource = `${kind.toLowerCase()}webhookconfigurations`;
  const r = await api.request("POST", `${AR}/${resource}`, {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: `${kind}WebhookConfiguration`,
    metadata: { name },
    webhooks,
  });
  assert.equal(r.status, 201, r.text);
  await settled(resource, r.json.metadata.resourceVersion);
  return async () => {
    const d = await api.request("DELETE", `${AR}/${resource}/${name}`);
    assert.equal(d.status, 200, d.text);
    await settled(resource, d.json.metadata.resourceVersion);
  };
}

async function settled(resource: string, rv: string): Promise<void> {
  const cache = api.server.registry(resource, "admissionregistration.k8s.io").cache;
  const deadline = Date.now() + 5000;
  while (cache.currentRevision() < Number(rv) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 10));
}

async function namespace(name: string, labels: Record<string, string> = {}): Promise<void> {
  const r = await api.request("POST", "/api/v1/namespaces", { metadata: { name, labels } });
  assert.equal(r.status, 201, r.text);
}

const configMap = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, labels },
  data: { a: "1" },
});

const createCm = (ns: string, name: string, labels: Record<string, string> = {}, query = "") =>
  api.request("POST", `/api/v1/namespaces/${ns}/configmaps${query}`, configMap(name, labels));

const reviewsFor = (path: string, name: string) =>
  hook.reviews.filter((r) => r.path === path && r.request.name === name);

test("webhook configurations are served with Kubernetes' defaults, table and discovery", async (t) => {
  t.after(async () => {
    for (const res of ["validatingwebhookconfigurations", "mutatingwebhookconfigurations"])
      await api.request("DELETE", `${AR}/${res}/defaults`);
  });
  const r = await api.request("POST", `${AR}/validatingwebhookconfigurations`, {
    metadata: { name: "defaults" },
    webhooks: [
      {
        name: "defaults.webhooks.test",
        clientConfig: { url: "https://127.0.0.1:1/x" },
        rules: rules(["no-such-resource"]),
        sideEffects: "None",
        admissionReviewVersions: ["v1"],
      },
    ],
  });
  assert.equal(r.status, 201, r.text);
  const w = r.json.webhooks[0];
  assert.equal(w.failurePolicy, "Fail");
  assert.equal(w.matchPolicy, "Equivalent");
  assert.equal(w.timeoutSeconds, 10);
  assert.deepEqual(w.namespaceSelector, {});
  assert.deepEqual(w.objectSelector, {});
  assert.equal(w.rules[0].scope, "*");
  const m = await api.request("POST", `${AR}/mutatingwebhookconfigurations`, {
    metadata: { name: "defaults" },
    webhooks: [
      {
        name: "defaults.webhooks.test",
        clientConfig: { service: { namespace: "default", name: "svc" } },
        sideEffects: "NoneOnDryRun",
        admissionReviewVersions: ["v1"],
      },
    ],
  });
  assert.equal(m.status, 201, m.text);
  assert.equal(m.json.webhooks[0].reinvocationPolicy, "Never");
  assert.equal(m.json.webhooks[0].clientConfig.service.port, 443);

  const get = await kubectl(["get", "validatingwebhookconfigurations"]);
  assert.equal(get.code, 0, get.stderr);
  assert.match(get.stdout, /^NAME\s+WEBHOOKS\s+AGE\n/);
  assert.match(get.stdout, /\ndefaults\s+1\s+\d+s\n/);
  const resources = await kubectl(["api-resources", "--api-group=admissionregistration.k8s.io"]);
  assert.equal(resources.code, 0, resources.stderr);
  assert.match(
    resources.stdout,
    /mutatingwebhookconfigurations\s+admissionregistration.k8s.io\/v1\s+false\s+MutatingWebhookConfiguration/,
  );
  assert.match(
    resources.stdout,
    /validatingwebhookconfigurations\s+admissionregistration.k8s.io\/v1\s+false\s+ValidatingWebhookConfiguration/,
  );
  const proto = await api.request(
    "GET",
    `${AR}/validatingwebhookconfigurations/defaults`,
    undefined,
    {
      accept: "application/vnd.kubernetes.protobuf",
    },
  );
  assert.equal(proto.status, 200);
  assert.match(proto.headers["content-type"] as string, /protobuf/);
});

test("kubectl apply and explain work on webhook configurations", async (t) => {
  t.after(() => api.request("DELETE", `${AR}/validatingwebhookconfigurations/applied`));
  const manifest = (timeout: number) => `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: applied
webhooks:
- name: applied.webhooks.test
  clientConfig:
    url: https://127.0.0.1:1/applied
  rules:
  - operations: ["CREATE"]
    apiGroups: [""]
    apiVersions: ["v1"]
    resources: ["no-such-resource"]
  sideEffects: None
  admissionReviewVersions: ["v1"]
  timeoutSeconds: ${timeout}
`;
  const first = await kubectl(["apply", "-f", "-"], manifest(5));
  assert.equal(first.code, 0, first.stderr);
  assert.match(
    first.stdout,
    /validatingwebhookconfiguration.admissionregistration.k8s.io\/applied created/,
  );
  const second = await kubectl(["apply", "-f", "-"], manifest(7));
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /applied configured/);
  const got = await api.request("GET", `${AR}/validatingwebhookconfigurations/applied`);
  assert.equal(got.json.webhooks.length, 1);
  assert.equal(got.json.webhooks[0].timeoutSeconds, 7);
  assert.equal(got.json.webhooks[0].failurePolicy, "Fail");
  const explain = await kubectl([
    "explain",
    "validatingwebhookconfiguration.webhooks.failurePolicy",
  ]);
  assert.equal(explain.code, 0, explain.stderr);
  assert.match(explain.stdout, /FIELD: failurePolicy <string>/);
});

test("invalid webhook configurations are refused with field paths", async () => {
  const r = await api.request("POST", `${AR}/validatingwebhookconfigurations`, {
    metadata: { name: "bad" },
    webhooks: [
      {
        name: "two.segments",
        clientConfig: { url: "http://127.0.0.1:1/x" },
        rules: [
          {
            operations: ["CREATE", "PATCH"],
            apiGroups: [""],
            apiVersions: ["v1"],
            resources: ["*/*", "pods"],
          },
        ],
        failurePolicy: "Sometimes",
        sideEffects: "Some",
        timeoutSeconds: 31,
        admissionReviewVersions: ["v2"],
        matchConditions: [{ name: "broken", expression: "object.metadata.name ==" }],
      },
      {
        name: "dup.webhooks.test",
        clientConfig: {},
        sideEffects: "None",
        admissionReviewVersions: [],
      },
      {
        name: "dup.webhooks.test",
        clientConfig: { url: "https://h/x" },
        sideEffects: "None",
        admissionReviewVersions: ["v1"],
      },
    ],
  });
  assert.equal(r.status, 422, r.text);
  assert.equal(r.json.reason, "Invalid");
  const fields = (r.json.details.causes as Obj[]).map((c) => `${c.field}: ${c.message}`);
  const has = (re: RegExp) =>
    assert.ok(
      fields.some((f) => re.test(f)),
      `${re} not in\n${fields.join("\n")}`,
    );
  has(
    /^webhooks\[0\]\.name: Invalid value: "two.segments": should be a domain with at least three segments/,
  );
  has(/^webhooks\[0\]\.clientConfig\.url: Invalid value: .*'https' is the only allowed URL scheme/);
  has(/^webhooks\[0\]\.rules\[0\]\.operations\[1\]: Unsupported value: "PATCH"/);
  has(
    /^webhooks\[0\]\.rules\[0\]\.resources\[1\]: Invalid value: "pods": if '\*\/\*' is present, must not specify other resources/,
  );
  has(
    /^webhooks\[0\]\.failurePolicy: Unsupported value: "Sometimes": supported values: "Fail", "Ignore"/,
  );
  has(
    /^webhooks\[0\]\.sideEffects: Unsupported value: "Some": supported values: "None", "NoneOnDryRun"/,
  );
  has(
    /^webhooks\[0\]\.timeoutSeconds: Invalid value: 31: the timeout value must be between 1 and 30 seconds/,
  );
  has(
    /^webhooks\[0\]\.admissionReviewVersions: Invalid value: .*must include at least one of v1, v1beta1/,
  );
  has(
    /^webhooks\[0\]\.matchConditions\[0\]\.expression: Invalid value: "object.metadata.name ==": compilation failed/,
  );
  has(/^webhooks\[1\]\.clientConfig: Required value: exactly one of url or service is required/);
  has(/^webhooks\[1\]\.admissionReviewVersions: Required value: must specify one of v1, v1beta1/);
  has(/^webhooks\[2\]\.name: Duplicate value: "dup.webhooks.test"/);
  // kubectl shows the same, through its own create.
  const k = await kubectl(
    ["create", "-f", "-"],
    JSON.stringify({
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingWebhookConfiguration",
      metadata: { name: "bad" },
      webhooks: [
        {
          name: "a.b.c",
          clientConfig: { url: "https://h/x" },
          sideEffects: "None",
          admissionReviewVersions: ["v1"],
          timeoutSeconds: 0,
        },
      ],
    }),
  );
  assert.notEqual(k.code, 0);
  assert.match(
    k.stderr,
    /The ValidatingWebhookConfiguration "bad" is invalid: webhooks\[0\].timeoutSeconds: Invalid value: 0: the timeout value must be between 1 and 30 seconds/,
  );
});

test("a validating webhook's refusal reaches kubectl in Kubernetes' words, for create, update and delete", async () => {
  await namespace("deny-ns");
  // Stored before the webhook exists, to be updated and deleted under it.
  assert.equal((await createCm("deny-ns", "old", { deny: "true" })).status, 201);
  const remove = await configure("Validating", "deny", [
    webhook("deny.webhooks.test", "/deny", {
      ...onlyIn("deny-ns"),
    }),
  ]);
  try {
    const k = await kubectl(
      ["create", "-n", "deny-ns", "-f", "-"],
      JSON.stringify(configMap("refused", { deny: "true" })),
    );
    assert.equal(k.code, 1);
    assert.match(
      k.stderr,
      /Error from server: error when creating "STDIN": admission webhook "deny.webhooks.test" denied the request: the label deny is set on CREATE/,
    );
    const raw = await createCm("deny-ns", "refused", { deny: "true" });
    assert.equal(raw.status, 403);
    assert.equal(
      raw.json.message,
      'admission webhook "deny.webhooks.test" denied the request: the label deny is set on CREATE',
    );

    const allowed = await kubectl([
      "create",
      "configmap",
      "fine",
      "-n",
      "deny-ns",
      "--from-literal=a=1",
    ]);
    assert.equal(allowed.code, 0, allowed.stderr);
    const [review] = reviewsFor("/deny", "fine");
    assert.ok(review, "the webhook saw the create");
    const q = review.request;
    assert.match(q.uid, /^[0-9a-f-]{36}$/);
    assert.deepEqual(q.kind, { group: "", version: "v1", kind: "ConfigMap" });
    assert.deepEqual(q.resource, { group: "", version: "v1", resource: "configmaps" });
    assert.deepEqual(q.requestKind, q.kind);
    assert.equal(q.namespace, "deny-ns");
    assert.equal(q.operation, "CREATE");
    assert.equal(q.userInfo.username, "kubernetes-admin");
    assert.equal(q.object.data.a, "1");
    assert.equal(q.oldObject, null);
    assert.equal(q.dryRun, false);
    assert.equal(q.options.kind, "CreateOptions");

    const label = await kubectl(["label", "configmap", "fine", "-n", "deny-ns", "deny=true"]);
    assert.equal(label.code, 1);
    assert.match(
      label.stderr,
      /admission webhook "deny.webhooks.test" denied the request: the label deny is set on UPDATE/,
    );
    const update = reviewsFor("/deny", "fine").find((r) => r.request.operation === "UPDATE")!;
    assert.equal(update.request.oldObject.metadata.name, "fine");
    assert.equal(update.request.object.metadata.labels.deny, "true");

    const del = await kubectl(["delete", "configmap", "old", "-n", "deny-ns"]);
    assert.equal(del.code, 1);
    assert.match(
      del.stderr,
      /admission webhook "deny.webhooks.test" denied the request: the label deny is set on DELETE/,
    );
    const review3 = reviewsFor("/deny", "old").find((r) => r.request.operation === "DELETE")!;
    assert.equal(review3.request.object, null);
    assert.equal(review3.request.oldObject.metadata.labels.deny, "true");
    assert.equal(review3.request.options.kind, "DeleteOptions");
    assert.equal(
      (await api.request("GET", "/api/v1/namespaces/deny-ns/configmaps/old")).status,
      200,
    );
  } finally {
    await remove();
  }
  // Without the webhook the same requests pass.
  assert.equal((await createCm("deny-ns", "refused", { deny: "true" })).status, 201);
  const metrics = await api.request("GET", "/metrics");
  assert.match(
    metrics.text,
    /apiserver_admission_webhook_admission_duration_seconds_count\{name="deny.webhooks.test",type="validating",operation="CREATE",rejected="true"\} [1-9]/,
  );
});

test("mutating webhooks patch the object before validation; IfNeeded ones are called again", async () => {
  await namespace("mutate-ns");
  const sel = onlyIn("mutate-ns");
  const removeA = await configure("Mutating", "a-first", [
    webhook("again.webhooks.test", "/mutate-again", { ...sel, reinvocationPolicy: "IfNeeded" }),
  ]);
  const removeB = await configure("Mutating", "b-second", [
    webhook("mutate.webhooks.test", "/mutate", sel),
  ]);
  const removeV = await configure("Validating", "record", [
    webhook("allow.webhooks.test", "/allow", sel),
  ]);
  try {
    const k = await kubectl([
      "create",
      "configmap",
      "patched",
      "-n",
      "mutate-ns",
      "--from-literal=a=1",
    ]);
    assert.equal(k.code, 0, k.stderr);
    const got = await api.request("GET", "/api/v1/namespaces/mutate-ns/configmaps/patched");
    assert.deepEqual(got.json.metadata.labels, { mutated: "by-webhook", second: "by-webhook" });
    // a-first ran first (second=none), b-second added `mutated`, then a-first ran again.
    const again = reviewsFor("/mutate-again", "patched");
    assert.equal(again.length, 2);
    assert.equal(again[0]!.request.object.metadata.labels, undefined);
    assert.deepEqual(again[1]!.request.object.metadata.labels, {
      mutated: "by-webhook",
      second: "none",
    });
    // The validating webhook saw the mutated object.
    const [validated] = reviewsFor("/allow", "patched");
    assert.equal(validated!.request.object.metadata.labels.mutated, "by-webhook");

    // An update is mutated too: kubectl apply of an object without the labels gets them back.
    const patch = await api.request(
      "PATCH",
      "/api/v1/namespaces/mutate-ns/configmaps/patched",
      { metadata: { labels: { mutated: null, second: null } } },
      { contentType: "application/merge-patch+json" },
    );
    assert.equal(patch.status, 200, patch.text);
    assert.equal(patch.json.metadata.labels.mutated, "by-webhook");
  } finally {
    await removeV();
    await removeB();
    await removeA();
  }
});

test("a rule on pods/status sees status writes and not the pod's own", async () => {
  await namespace("status-ns");
  const pod = await api.request("POST", "/api/v1/namespaces/status-ns/pods", {
    metadata: { name: "p", labels: { deny: "true" } },
    spec: { containers: [{ name: "c", image: "busybox:1.36" }] },
  });
  assert.equal(pod.status, 201, pod.text);
  const remove = await configure("Validating", "status", [
    webhook("status.webhooks.test", "/deny", {
      rules: rules(["pods/status"], ["UPDATE"]),
      ...onlyIn("status-ns"),
    }),
  ]);
  try {
    const merge = { contentType: "application/merge-patch+json" };
    const main = await api.request(
      "PATCH",
      "/api/v1/namespaces/status-ns/pods/p",
      { metadata: { annotations: { a: "1" } } },
      merge,
    );
    assert.equal(main.status, 200, main.text);
    const status = await api.request(
      "PATCH",
      "/api/v1/namespaces/status-ns/pods/p/status",
      { status: { message: "hello" } },
      merge,
    );
    assert.equal(status.status, 403, status.text);
    assert.match(
      status.json.message,
      /admission webhook "status.webhooks.test" denied the request/,
    );
    const [review] = reviewsFor("/deny", "p");
    assert.equal(review!.request.subResource, "status");
    assert.equal(review!.request.options.kind, "UpdateOptions");
  } finally {
    await remove();
  }
});

test("evictions, bindings and exec reach webhooks as CREATE and CONNECT of subresources", async () => {
  await namespace("sub-ns");
  const pod = await api.request("POST", "/api/v1/namespaces/sub-ns/pods", {
    metadata: { name: "p" },
    spec: { containers: [{ name: "c", image: "busybox:1.36" }] },
  });
  assert.equal(pod.status, 201, pod.text);
  const remove = await configure("Validating", "subresources", [
    webhook("subresources.webhooks.test", "/deny-all", {
      rules: [
        {
          operations: ["CREATE", "CONNECT"],
          apiGroups: [""],
          apiVersions: ["v1"],
          resources: ["pods/eviction", "pods/binding", "pods/exec"],
        },
      ],
      ...onlyIn("sub-ns"),
    }),
  ]);
  try {
    const evict = await api.request("POST", "/api/v1/namespaces/sub-ns/pods/p/eviction", {
      apiVersion: "policy/v1",
      kind: "Eviction",
      metadata: { name: "p", namespace: "sub-ns" },
    });
    assert.equal(evict.status, 403, evict.text);
    assert.equal(
      evict.json.message,
      'admission webhook "subresources.webhooks.test" denied the request: no CREATE of pods/eviction',
    );
    const bind = await api.request("POST", "/api/v1/namespaces/sub-ns/pods/p/binding", {
      apiVersion: "v1",
      kind: "Binding",
      metadata: { name: "p" },
      target: { apiVersion: "v1", kind: "Node", name: "n1" },
    });
    assert.equal(bind.status, 403, bind.text);
    const exec = await kubectl(["exec", "-n", "sub-ns", "p", "--", "ls", "/"]);
    assert.notEqual(exec.code, 0);
    assert.match(
      exec.stderr,
      /admission webhook "subresources.webhooks.test" denied the request: no CONNECT of pods\/exec/,
    );
    const execReview = hook.reviews.find((x) => x.request.operation === "CONNECT")!;
    assert.deepEqual(execReview.request.kind, { group: "", version: "v1", kind: "PodExecOptions" });
    assert.deepEqual(execReview.request.object.command, ["ls", "/"]);
    const evictReview = hook.reviews.find((x) => x.request.subResource === "eviction")!;
    assert.deepEqual(evictReview.request.kind, {
      group: "policy",
      version: "v1",
      kind: "Eviction",
    });
    // The pod is still there, unbound.
    const got = await api.request("GET", "/api/v1/namespaces/sub-ns/pods/p");
    assert.equal(got.status, 200);
    assert.equal(got.json.spec.nodeName, undefined);
  } finally {
    await remove();
  }
});

test("kubectl scale reaches webhooks on deployments/scale with the Scale object", async () => {
  await namespace("scale-ns");
  const d = await api.request("POST", "/apis/apps/v1/namespaces/scale-ns/deployments", {
    metadata: { name: "web" },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "c", image: "busybox:1.36" }] },
      },
    },
  });
  assert.equal(d.status, 201, d.text);
  const remove = await configure("Validating", "scale", [
    webhook("scale.webhooks.test", "/deny-all", {
      rules: [
        {
          operations: ["UPDATE"],
          apiGroups: ["apps"],
          apiVersions: ["v1"],
          resources: ["*/scale"],
        },
      ],
      matchConditions: [{ name: "too-many", expression: "object.spec.replicas > 3" }],
      ...onlyIn("scale-ns"),
    }),
  ]);
  try {
    const many = await kubectl(["scale", "-n", "scale-ns", "deployment/web", "--replicas=5"]);
    assert.notEqual(many.code, 0);
    assert.match(
      many.stderr,
      /admission webhook "scale.webhooks.test" denied the request: no UPDATE of deployments\/scale/,
    );
    const review = hook.reviews.find((x) => x.request.subResource === "scale")!;
    assert.deepEqual(review.request.kind, { group: "autoscaling", version: "v1", kind: "Scale" });
    assert.equal(review.request.object.spec.replicas, 5);
    assert.equal(review.request.oldObject.spec.replicas, 1);
    const few = await kubectl(["scale", "-n", "scale-ns", "deployment/web", "--replicas=3"]);
    assert.equal(few.code, 0, few.stderr);
    const got = await api.request("GET", "/apis/apps/v1/namespaces/scale-ns/deployments/web");
    assert.equal(got.json.spec.replicas, 3);
  } finally {
    await remove();
  }
  // kubectl autoscale writes autoscaling/v1, which webhooks on HPAs see as well.
  const removeHpa = await configure("Validating", "hpa", [
    webhook("hpa.webhooks.test", "/deny-all", {
      rules: [
        {
          operations: ["CREATE"],
          apiGroups: ["autoscaling"],
          apiVersions: ["*"],
          resources: ["horizontalpodautoscalers"],
        },
      ],
      ...onlyIn("scale-ns"),
    }),
  ]);
  try {
    const k = await kubectl(["autoscale", "-n", "scale-ns", "deployment/web", "--max=5"]);
    assert.notEqual(k.code, 0);
    assert.match(
      k.stderr,
      /admission webhook "hpa.webhooks.test" denied the request: no CREATE of horizontalpodautoscalers\//,
    );
  } finally {
    await removeHpa();
  }
});

test("failurePolicy: a webhook that is down fails the request under Fail and is skipped under Ignore", async () => {
  await namespace("down-ns");
  const port = await freePort(); // nothing listens there
  const down = (policy: string) => ({
    name: "down.webhooks.test",
    clientConfig: { url: `https://127.0.0.1:${port}/x`, caBundle: hook.caBundle },
    rules: rules(),
    sideEffects: "None",
    admissionReviewVersions: ["v1"],
    failurePolicy: policy,
    ...onlyIn("down-ns"),
  });
  let remove = await configure("Validating", "down", [down("Fail")]);
  try {
    const k = await kubectl(["create", "configmap", "c1", "-n", "down-ns", "--from-literal=a=1"]);
    assert.equal(k.code, 1);
    assert.match(
      k.stderr,
      /error: failed to create configmap: Internal error occurred: failed calling webhook "down.webhooks.test": failed to call webhook: Post "https:\/\/127.0.0.1:\d+\/x": dial tcp 127.0.0.1:\d+: connect: connection refused/,
    );
  } finally {
    await remove();
  }
  remove = await configure("Validating", "down", [down("Ignore")]);
  try {
    assert.equal((await createCm("down-ns", "c1")).status, 201);
  } finally {
    await remove();
  }
  // A certificate the caBundle does not vouch for is a failed call too.
  remove = await configure("Validating", "untrusted", [
    {
      ...webhook("untrusted.webhooks.test", "/allow"),
      clientConfig: { url: `${hook.url}/allow` },
      ...onlyIn("down-ns"),
    },
  ]);
  try {
    const r = await createCm("down-ns", "c2");
    assert.equal(r.status, 500);
    assert.match(
      r.json.message,
      /failed calling webhook "untrusted.webhooks.test": .*x509: certificate signed by unknown authority/,
    );
  } finally {
    await remove();
  }
});

test("timeoutSeconds bounds how long a slow webhook is waited for", async () => {
  await namespace("slow-ns");
  const slow = (policy: string) =>
    webhook("slow.webhooks.test", "/slow", {
      timeoutSeconds: 1,
      failurePolicy: policy,
      ...onlyIn("slow-ns"),
    });
  let remove = await configure("Validating", "slow", [slow("Fail")]);
  try {
    const started = Date.now();
    const r = await createCm("slow-ns", "s1");
    const took = Date.now() - started;
    assert.equal(r.status, 500, r.text);
    assert.match(
      r.json.message,
      /failed calling webhook "slow.webhooks.test": .*context deadline exceeded/,
    );
    assert.ok(took >= 900 && took < 2500, `took ${took} ms`);
  } finally {
    await remove();
  }
  remove = await configure("Validating", "slow", [slow("Ignore")]);
  try {
    const started = Date.now();
    assert.equal((await createCm("slow-ns", "s1")).status, 201);
    assert.ok(Date.now() - started < 2500);
  } finally {
    await remove();
  }
});

test("namespace and object selectors and matchConditions choose what a webhook sees", async () => {
  await namespace("watched-ns", { webhooks: "on" });
  await namespace("unwatched-ns");
  const remove = await configure("Validating", "selective", [
    webhook("by-namespace.webhooks.test", "/deny", {
      namespaceSelector: { matchLabels: { webhooks: "on" } },
    }),
    webhook("by-object.webhooks.test", "/deny", {
      objectSelector: { matchExpressions: [{ key: "watched", operator: "In", values: ["yes"] }] },
      ...onlyIn("unwatched-ns"),
    }),
    webhook("by-condition.webhooks.test", "/deny", {
      rules: rules(["configmaps"], ["*"]),
      ...onlyIn("unwatched-ns"),
      matchConditions: [
        { name: "guarded", expression: 'object.metadata.name.startsWith("guarded-")' },
        { name: "creates", expression: 'request.operation == "CREATE" && oldObject == null' },
      ],
    }),
    webhook("namespaces.webhooks.test", "/deny", {
      rules: rules(["namespaces"], ["CREATE"]),
      namespaceSelector: { matchLabels: { "deny-namespace": "yes" } },
    }),
  ]);
  try {
    const denied = (r: { status: number; json: Obj }, hookName: string) => {
      assert.equal(r.status, 403, JSON.stringify(r.json));
      assert.match(r.json.message, new RegExp(`admission webhook "${hookName}" denied`));
    };
    denied(await createCm("watched-ns", "a", { deny: "true" }), "by-namespace.webhooks.test");
    assert.equal((await createCm("unwatched-ns", "a", { deny: "true" })).status, 201);
    denied(
      await createCm("unwatched-ns", "b", { deny: "true", watched: "yes" }),
      "by-object.webhooks.test",
    );
    denied(
      await createCm("unwatched-ns", "guarded-c", { deny: "true" }),
      "by-condition.webhooks.test",
    );
    // A Namespace is judged by its own labels.
    const ns = (name: string, labels: Record<string, string>) =>
      api.request("POST", "/api/v1/namespaces", { metadata: { name, labels } });
    denied(
      await ns("ns-refused", { deny: "true", "deny-namespace": "yes" }),
      "namespaces.webhooks.test",
    );
    assert.equal((await ns("ns-allowed", { deny: "true" })).status, 201);
  } finally {
    await remove();
  }
});

test("a matchCondition that fails to evaluate follows the failure policy", async () => {
  await namespace("cel-ns");
  const broken = (failurePolicy: string) =>
    webhook("cel.webhooks.test", "/allow", {
      failurePolicy,
      matchConditions: [{ name: "missing-field", expression: "object.spec.nothing == 1" }],
      ...onlyIn("cel-ns"),
    });
  let remove = await configure("Validating", "cel", [broken("Fail")]);
  try {
    const r = await createCm("cel-ns", "x");
    assert.equal(r.status, 500, r.text);
    assert.match(
      r.json.message,
      /failed calling webhook "cel.webhooks.test": failed to evaluate match conditions: expression 'missing-field' resulted in error/,
    );
  } finally {
    await remove();
  }
  remove = await configure("Validating", "cel", [broken("Ignore")]);
  try {
    assert.equal((await createCm("cel-ns", "x")).status, 201);
    assert.equal(reviewsFor("/allow", "x").length, 0, "the webhook was skipped");
  } finally {
    await remove();
  }
});

test("dry-run requests reach webhooks marked without side effects and store nothing", async () => {
  await namespace("dry-ns");
  const remove = await configure("Mutating", "dry", [
    webhook("dry.webhooks.test", "/mutate", {
      sideEffects: "NoneOnDryRun",
      ...onlyIn("dry-ns"),
    }),
  ]);
  try {
    const k = await kubectl([
      "create",
      "configmap",
      "dry",
      "-n",
      "dry-ns",
      "--from-literal=a=1",
      "--dry-run=server",
      "-o",
      "json",
    ]);
    assert.equal(k.code, 0, k.stderr);
    assert.equal(JSON.parse(k.stdout).metadata.labels.mutated, "by-webhook");
    const [review] = reviewsFor("/mutate", "dry");
    assert.equal(review!.request.dryRun, true);
    assert.deepEqual(review!.request.options.dryRun, ["All"]);
    assert.equal(
      (await api.request("GET", "/api/v1/namespaces/dry-ns/configmaps/dry")).status,
      404,
    );
  } finally {
    await remove();
  }
});

test("webhook configurations are never sent to webhooks", async () => {
  const remove = await configure("Validating", "deny-everything", [
    webhook("everything.webhooks.test", "/deny", {
      rules: [{ operations: ["*"], apiGroups: ["*"], apiVersions: ["*"], resources: ["*/*"] }],
    }),
  ]);
  try {
    const r = await api.request("POST", `${AR}/mutatingwebhookconfigurations`, {
      metadata: { name: "labelled", labels: { deny: "true" } },
      webhooks: [],
    });
    assert.equal(r.status, 201, r.text);
    assert.equal(hook.reviews.filter((x) => x.request.name === "labelled").length, 0);
    assert.equal(
      (await api.request("DELETE", `${AR}/mutatingwebhookconfigurations/labelled`)).status,
      200,
    );
    // Everything else is: a labelled secret is refused.
    const s = await api.request("POST", "/api/v1/namespaces/default/secrets", {
      metadata: { name: "s", labels: { deny: "true" } },
    });
    assert.equal(s.status, 403);
  } finally {
    await remove();
  }
});

test("a webhook's warnings reach kubectl", async () => {
  await namespace("warn-ns");
  const remove = await configure("Validating", "warn", [
    webhook("warn.webhooks.test", "/warn", {
      ...onlyIn("warn-ns"),
    }),
  ]);
  try {
    const k = await kubectl(["create", "configmap", "w", "-n", "warn-ns", "--from-literal=a=1"]);
    assert.equal(k.code, 0, k.stderr);
    assert.match(k.stderr, /Warning: the warn webhook says hello/);
  } finally {
    await remove();
  }
});

test("a webhook behind a Service is reached through the Service's endpoints", async () => {
  await namespace("webhook-test");
  const svc = await api.request("POST", "/api/v1/namespaces/webhook-test/services", {
    metadata: { name: "wh" },
    spec: { ports: [{ name: "https", port: 443, targetPort: hook.port }] },
  });
  assert.equal(svc.status, 201, svc.text);
  const ep = await api.request("POST", "/api/v1/namespaces/webhook-test/endpoints", {
    metadata: { name: "wh" },
    subsets: [{ addresses: [{ ip: "127.0.0.1" }], ports: [{ name: "https", port: hook.port }] }],
  });
  assert.equal(ep.status, 201, ep.text);
  const through = (service: Obj) => ({
    ...webhook("service.webhooks.test", ""),
    clientConfig: { service, caBundle: hook.caBundle },
    ...onlyIn("webhook-test"),
  });
  let remove = await configure("Validating", "by-service", [
    through({ namespace: "webhook-test", name: "wh", path: "/deny" }),
  ]);
  try {
    const r = await createCm("webhook-test", "x", { deny: "true" });
    assert.equal(r.status, 403, r.text);
    assert.match(r.json.message, /admission webhook "service.webhooks.test" denied the request/);
  } finally {
    await remove();
  }
  remove = await configure("Validating", "by-service", [
    through({ namespace: "webhook-test", name: "missing", path: "/deny" }),
  ]);
  try {
    const r = await createCm("webhook-test", "y");
    assert.equal(r.status, 500);
    assert.match(
      r.json.message,
      /failed calling webhook "service.webhooks.test": failed to call webhook: service "missing" not found/,
    );
  } finally {
    await remove();
  }
});

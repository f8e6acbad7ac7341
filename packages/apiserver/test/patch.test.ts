import { test } from "node:test";
import assert from "node:assert/strict";
import { PatchError, jsonPatch, mergePatch, strategicMergePatch } from "../src/patch/index.js";

const deployment = { group: "apps", kind: "Deployment" };
const service = { group: "", kind: "Service" };
const pod = { group: "", kind: "Pod" };

function nginxDeployment() {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: "nginx",
      namespace: "default",
      labels: { app: "nginx" },
      annotations: { keep: "me" },
    },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "nginx" } },
      strategy: {
        type: "RollingUpdate",
        rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" },
      },
      template: {
        metadata: { labels: { app: "nginx" } },
        spec: {
          containers: [
            {
              name: "nginx",
              image: "nginx:1.25",
              ports: [{ containerPort: 80, protocol: "TCP" }],
              env: [
                { name: "A", value: "1" },
                { name: "B", value: "2" },
              ],
              resources: { limits: { cpu: "500m" } },
            },
            { name: "sidecar", image: "busybox" },
          ],
          tolerations: [{ key: "a", operator: "Exists" }],
        },
      },
    },
  };
}

/** Runs `fn` and returns the PatchError it throws. */
function patchError(fn: () => unknown): PatchError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof PatchError, `expected PatchError, got ${String(err)}`);
    return err;
  }
  assert.fail("expected a PatchError");
}

// --- JSON merge patch -------------------------------------------------------------------

test("a merge patch merges maps, replaces lists and deletes keys set to null", () => {
  const original = nginxDeployment();
  const before = structuredClone(original);
  const result = mergePatch(original, {
    metadata: { labels: { tier: "web", app: null } },
    spec: { replicas: 3, template: { spec: { tolerations: [] } } },
  }) as ReturnType<typeof nginxDeployment>;
  assert.deepEqual(result.metadata.labels, { tier: "web" });
  assert.equal(result.spec.replicas, 3);
  assert.deepEqual(result.spec.template.spec.tolerations, []);
  assert.equal(result.spec.template.spec.containers.length, 2);
  assert.deepEqual(original, before, "the input is not changed");
});

test("a merge patch that is not an object replaces the whole target (RFC 7386)", () => {
  assert.deepEqual(mergePatch({ a: 1 }, ["x"]), ["x"]);
  assert.deepEqual(mergePatch("text", { a: { b: null, c: 1 } }), { a: { c: 1 } });
});

// --- JSON patch -------------------------------------------------------------------------

test("a JSON patch adds, replaces, removes, moves and copies without changing its input", () => {
  const original = { spec: { replicas: 1, list: ["a", "c"] }, metadata: { labels: { x: "1" } } };
  const before = structuredClone(original);
  const result = jsonPatch(original, [
    { op: "test", path: "/spec/replicas", value: 1 },
    { op: "replace", path: "/spec/replicas", value: 4 },
    { op: "add", path: "/spec/list/1", value: "b" },
    { op: "add", path: "/spec/list/-", value: "d" },
    { op: "add", path: "/metadata/labels/a~1b", value: "slash" },
    { op: "copy", from: "/metadata/labels/x", path: "/metadata/labels/y" },
    { op: "move", from: "/metadata/labels/x", path: "/metadata/labels/z" },
    { op: "remove", path: "/spec/list/0" },
  ]);
  assert.deepEqual(result, {
    spec: { replicas: 4, list: ["b", "c", "d"] },
    metadata: { labels: { "a/b": "slash", y: "1", z: "1" } },
  });
  assert.deepEqual(original, before);
});

test("a JSON patch whose test fails is refused with 422 Invalid", () => {
  const err = patchError(() =>
    jsonPatch({ spec: { replicas: 1 } }, [{ op: "test", path: "/spec/replicas", value: 2 }]),
  );
  assert.equal(err.code, 422);
  assert.equal(err.reason, "Invalid");
  assert.match(err.message, /\/spec\/replicas/);
});

test("a JSON patch on a path that does not exist is refused with 422 Invalid", () => {
  for (const op of [
    { op: "remove", path: "/spec/nothing" },
    { op: "replace", path: "/spec/nothing", value: 1 },
    { op: "add", path: "/missing/parent", value: 1 },
    { op: "remove", path: "/spec/list/5" },
  ]) {
    const err = patchError(() => jsonPatch({ spec: { list: [1] } }, [op]));
    assert.equal(err.code, 422, JSON.stringify(op));
  }
});

test("malformed JSON patch operations are refused with 400 BadRequest naming the problem", () => {
  const cases: [unknown, RegExp][] = [
    [{ op: "add" }, /array/],
    [["add"], /not an object/],
    [[{ op: "frobnicate", path: "/a" }], /unknown op "frobnicate"/],
    [[{ op: "add", path: 3, value: 1 }], /string "path"/],
    [[{ op: "add", path: "/a" }], /"value"/],
    [[{ op: "move", path: "/a" }], /"from"/],
    [[{ op: "remove", path: "a" }], /start with "\/"/],
  ];
  for (const [ops, message] of cases) {
    const err = patchError(() => jsonPatch({ a: 1 }, ops));
    assert.equal(err.code, 400, JSON.stringify(ops));
    assert.equal(err.reason, "BadRequest");
    assert.match(err.message, message);
  }
});

// --- strategic merge patch ---------------------------------------------------------------

test("the patch kubectl apply sends to change an image keeps the container's other fields", () => {
  const original = nginxDeployment();
  const before = structuredClone(original);
  const lastApplied = '{"apiVersion":"apps/v1","kind":"Deployment"}';
  const result = strategicMergePatch(
    original,
    {
      metadata: {
        annotations: { "kubectl.kubernetes.io/last-applied-configuration": lastApplied },
      },
      spec: {
        template: {
          spec: {
            "$setElementOrder/containers": [{ name: "nginx" }, { name: "sidecar" }],
            containers: [{ image: "nginx:1.26", name: "nginx" }],
          },
        },
      },
    },
    deployment,
  ) as ReturnType<typeof nginxDeployment>;
  const [nginx, sidecar] = result.spec.template.spec.containers;
  assert.equal(nginx?.image, "nginx:1.26");
  assert.deepEqual(nginx?.ports, [{ containerPort: 80, protocol: "TCP" }]);
  assert.deepEqual(nginx?.env, before.spec.template.spec.containers[0]?.env);
  assert.deepEqual(nginx?.resources, { limits: { cpu: "500m" } });
  assert.equal(sidecar?.name, "sidecar");
  assert.equal(result.metadata.annotations.keep, "me");
  const annotations: Record<string, string> = result.metadata.annotations;
  assert.equal(annotations["kubectl.kubernetes.io/last-applied-configuration"], lastApplied);
  assert.deepEqual(original, before, "the input is not changed");
});

test("env entries are added, changed and removed by name", () => {
  const result = strategicMergePatch(
    nginxDeployment(),
    {
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: "nginx",
                env: [
                  { name: "C", value: "3" },
                  { name: "A", value: "one" },
                  { $patch: "delete", name: "B" },
                ],
              },
            ],
          },
        },
      },
    },
    deployment,
  ) as ReturnType<typeof nginxDeployment>;
  assert.deepEqual(result.spec.template.spec.containers[0]?.env, [
    { name: "A", value: "one" },
    { name: "C", value: "3" },
  ]);
});

test("$deleteFromPrimitiveList removes finalizers and $setElementOrder reorders a list the patch does not carry", () => {
  const result = strategicMergePatch(
    {
      metadata: { finalizers: ["a", "b", "c"] },
      spec: {
        template: {
          spec: { containers: [{ name: "x", env: [{ name: "A" }, { name: "B" }, { name: "C" }] }] },
        },
      },
    },
    {
      metadata: { "$deleteFromPrimitiveList/finalizers": ["b"] },
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: "x",
                "$setElementOrder/env": [{ name: "C" }, { name: "A" }],
                env: [{ name: "B", $patch: "delete" }],
              },
            ],
          },
        },
      },
    },
    deployment,
  ) as {
    metadata: { finalizers: string[] };
    spec: { template: { spec: { containers: { env: unknown[] }[] } } };
  };
  assert.deepEqual(result.metadata.finalizers, ["a", "c"]);
  assert.deepEqual(result.spec.template.spec.containers[0]?.env, [{ name: "C" }, { name: "A" }]);
});

test("an element only the server knows keeps its place among the ones $setElementOrder names", () => {
  const result = strategicMergePatch(
    { spec: { containers: [{ name: "a" }, { name: "injected" }, { name: "b" }] } },
    {
      spec: {
        "$setElementOrder/containers": [{ name: "a" }, { name: "b" }, { name: "c" }],
        containers: [{ name: "c" }],
      },
    },
    pod,
  ) as { spec: { containers: { name: string }[] } };
  assert.deepEqual(
    result.spec.containers.map((c) => c.name),
    ["a", "injected", "b", "c"],
  );
});

test("a container is removed with $patch: delete", () => {
  const result = strategicMergePatch(
    nginxDeployment(),
    { spec: { template: { spec: { containers: [{ name: "sidecar", $patch: "delete" }] } } } },
    deployment,
  ) as ReturnType<typeof nginxDeployment>;
  assert.deepEqual(
    result.spec.template.spec.containers.map((c) => c.name),
    ["nginx"],
  );
});

test("a new container is appended and tolerations (no merge key) are replaced whole", () => {
  const result = strategicMergePatch(
    nginxDeployment(),
    {
      spec: {
        template: {
          spec: {
            containers: [{ name: "logger", image: "fluentbit" }],
            tolerations: [{ key: "b", operator: "Exists" }],
          },
        },
      },
    },
    deployment,
  ) as ReturnType<typeof nginxDeployment>;
  assert.deepEqual(
    result.spec.template.spec.containers.map((c) => c.name),
    ["nginx", "sidecar", "logger"],
  );
  assert.deepEqual(result.spec.template.spec.tolerations, [{ key: "b", operator: "Exists" }]);
});

test("switching the strategy from RollingUpdate to Recreate with $retainKeys drops rollingUpdate", () => {
  const result = strategicMergePatch(
    nginxDeployment(),
    { spec: { strategy: { $retainKeys: ["type"], type: "Recreate", rollingUpdate: null } } },
    deployment,
  ) as ReturnType<typeof nginxDeployment>;
  assert.deepEqual(result.spec.strategy, { type: "Recreate" });
});

test("$retainKeys that leaves out a field the patch sets is refused with 422", () => {
  const err = patchError(() =>
    strategicMergePatch(
      nginxDeployment(),
      { spec: { strategy: { $retainKeys: ["type"], rollingUpdate: { maxSurge: 1 } } } },
      deployment,
    ),
  );
  assert.equal(err.code, 422);
});

test("$patch: replace replaces a list or a map, and $patch: delete empties a map", () => {
  const result = strategicMergePatch(
    nginxDeployment(),
    {
      metadata: { labels: { $patch: "replace", only: "this" }, annotations: { $patch: "delete" } },
      spec: {
        template: {
          spec: { containers: [{ $patch: "replace" }, { name: "solo", image: "solo:1" }] },
        },
      },
    },
    deployment,
  ) as ReturnType<typeof nginxDeployment>;
  assert.deepEqual(result.metadata.labels, { only: "this" });
  assert.deepEqual(result.metadata.annotations, {});
  assert.deepEqual(result.spec.template.spec.containers, [{ name: "solo", image: "solo:1" }]);
});

test("service ports merge by port number", () => {
  const result = strategicMergePatch(
    {
      spec: {
        selector: { app: "web" },
        ports: [
          { name: "http", port: 80, targetPort: 8080 },
          { name: "https", port: 443 },
        ],
      },
    },
    {
      spec: {
        ports: [
          { port: 80, targetPort: 9090 },
          { name: "metrics", port: 9100 },
        ],
      },
    },
    service,
  );
  assert.deepEqual(result, {
    spec: {
      selector: { app: "web" },
      ports: [
        { name: "http", port: 80, targetPort: 9090 },
        { name: "https", port: 443 },
        { name: "metrics", port: 9100 },
      ],
    },
  });
});

test("finalizers union as a set and pod conditions merge by type", () => {
  const result = strategicMergePatch(
    {
      metadata: { finalizers: ["a"] },
      status: {
        conditions: [
          { type: "Ready", status: "False" },
          { type: "PodScheduled", status: "True" },
        ],
      },
    },
    {
      metadata: { finalizers: ["b", "a"] },
      status: { conditions: [{ type: "Ready", status: "True" }] },
    },
    pod,
  );
  assert.deepEqual(result, {
    metadata: { finalizers: ["a", "b"] },
    status: {
      conditions: [
        { type: "Ready", status: "True" },
        { type: "PodScheduled", status: "True" },
      ],
    },
  });
});

test("volumes merge by name and $retainKeys switches a volume's source", () => {
  const result = strategicMergePatch(
    {
      spec: {
        volumes: [
          { name: "data", emptyDir: {} },
          { name: "cfg", configMap: { name: "c" } },
        ],
      },
    },
    {
      spec: {
        volumes: [{ name: "data", $retainKeys: ["name", "hostPath"], hostPath: { path: "/d" } }],
      },
    },
    pod,
  );
  assert.deepEqual(result, {
    spec: {
      volumes: [
        { name: "data", hostPath: { path: "/d" } },
        { name: "cfg", configMap: { name: "c" } },
      ],
    },
  });
});

test("node taints have no merge key and are replaced whole", () => {
  const result = strategicMergePatch(
    { spec: { taints: [{ key: "a", effect: "NoSchedule" }] } },
    { spec: { taints: [{ key: "b", effect: "NoSchedule" }] } },
    { group: "", kind: "Node" },
  );
  assert.deepEqual(result, { spec: { taints: [{ key: "b", effect: "NoSchedule" }] } });
});

test("malformed strategic merge patches are refused with 400", () => {
  const cases: unknown[] = [
    ["not", "an", "object"],
    { spec: { template: { spec: { containers: [{ image: "no-name" }] } } } },
    { spec: { $patch: "explode" } },
    { spec: { strategy: { $retainKeys: "type" } } },
    { metadata: { "$deleteFromPrimitiveList/finalizers": "a" } },
  ];
  for (const patch of cases) {
    const err = patchError(() => strategicMergePatch(nginxDeployment(), patch, deployment));
    assert.equal(err.code, 400, JSON.stringify(patch));
    assert.equal(err.reason, "BadRequest");
  }
});

test("a __proto__ key in a patch is an ordinary field and never reaches Object.prototype", () => {
  const evil = JSON.parse(
    '{"__proto__":{"polluted":"yes"},"spec":{"__proto__":{"polluted":"yes"}}}',
  ) as unknown;
  const results = [
    mergePatch({ spec: {} }, evil),
    strategicMergePatch({ spec: {} }, evil, deployment),
    jsonPatch({}, JSON.parse('[{"op":"add","path":"/__proto__","value":{"polluted":"yes"}}]')),
  ];
  for (const result of results) {
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf(result), Object.prototype);
    assert.ok(Object.hasOwn(result as object, "__proto__"));
  }
});

test("ServiceAccount secrets merge by name, PersistentVolumeClaim and FlowSchema conditions by type", () => {
  const sa = strategicMergePatch(
    { secrets: [{ name: "a" }, { name: "b" }] },
    { secrets: [{ name: "c" }, { name: "a", $patch: "delete" }] },
    { group: "", kind: "ServiceAccount" },
  );
  assert.deepEqual(sa, { secrets: [{ name: "b" }, { name: "c" }] });
  const conditions = {
    status: {
      conditions: [
        { type: "A", status: "True" },
        { type: "B", status: "False" },
      ],
    },
  };
  const patch = { status: { conditions: [{ type: "B", status: "True" }] } };
  const merged = {
    status: {
      conditions: [
        { type: "A", status: "True" },
        { type: "B", status: "True" },
      ],
    },
  };
  for (const kind of [
    { group: "", kind: "PersistentVolumeClaim" },
    { group: "flowcontrol.apiserver.k8s.io", kind: "FlowSchema" },
  ])
    assert.deepEqual(strategicMergePatch(conditions, patch, kind), merged, kind.kind);
  // ValidatingAdmissionPolicy's conditions (meta/v1 Condition) have no patch strategy: replaced.
  assert.deepEqual(
    strategicMergePatch(conditions, patch, {
      group: "admissionregistration.k8s.io",
      kind: "ValidatingAdmissionPolicy",
    }),
    patch,
  );
});

test("a PodDisruptionBudget's selector is replaced whole (patchStrategy replace)", () => {
  const result = strategicMergePatch(
    { spec: { minAvailable: 1, selector: { matchLabels: { app: "a", tier: "web" } } } },
    { spec: { selector: { matchLabels: { app: "b" } } } },
    { group: "policy", kind: "PodDisruptionBudget" },
  );
  assert.deepEqual(result, { spec: { minAvailable: 1, selector: { matchLabels: { app: "b" } } } });
  // A Deployment's selector has no such tag: its maps merge.
  const deployment = strategicMergePatch(
    { spec: { selector: { matchLabels: { app: "a", tier: "web" } } } },
    { spec: { selector: { matchLabels: { app: "b" } } } },
    { group: "apps", kind: "Deployment" },
  );
  assert.deepEqual(deployment, { spec: { selector: { matchLabels: { app: "b", tier: "web" } } } });
});

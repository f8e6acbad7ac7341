// The ClusterRole aggregation controller on a real apiserver: the bootstrap admin, edit and
// view roles get their rules from the aggregate-to-* roles, and view picks up a new labelled
// ClusterRole (and so does whoever is bound to view).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { resourceInfo } from "@skiff/api";
import type { KubeObject } from "@skiff/client";
import {
  aggregatedRules,
  ClusterRoleAggregationController,
} from "../src/controllers/clusterroleaggregation/index.js";
import { create, startEnv, waitFor } from "./endpoints-testenv.js";

const roles = resourceInfo("rbac.authorization.k8s.io", "v1", "clusterroles");
type Role = KubeObject & { rules?: { resources?: string[]; verbs: string[] }[] };

test("aggregatedRules: the union of the matching roles' rules, in name order, without duplicates", () => {
  const role = (name: string, labels: Record<string, string>, resources: string[]) =>
    ({
      metadata: { name, labels },
      rules: [{ apiGroups: [""], resources, verbs: ["get"] }],
    }) as KubeObject;
  const agg = {
    metadata: { name: "agg" },
    aggregationRule: { clusterRoleSelectors: [{ matchLabels: { a: "true" } }] },
  } as KubeObject;
  const rules = aggregatedRules(agg, [
    role("z", { a: "true" }, ["pods"]),
    role("b", { a: "true" }, ["services"]),
    role("c", { a: "true" }, ["pods"]),
    role("d", { a: "false" }, ["secrets"]),
  ]);
  assert.deepEqual(
    rules.map((r) => (r as { resources: string[] }).resources[0]),
    ["services", "pods"],
  );
});

test("view, edit and admin are aggregated, and view picks up a new labelled ClusterRole", async (t) => {
  const env = await startEnv();
  t.after(() => env.stop());
  env.run(new ClusterRoleAggregationController(env.ctx));
  const client = env.client.resource<Role>(roles);
  const hasResource = (r: Role | undefined, res: string, verb: string) =>
    (r?.rules ?? []).some((x) => x.resources?.includes(res) && x.verbs.includes(verb));
  await waitFor("view gets pods get", async () =>
    hasResource(await client.get("view"), "pods", "get"),
  );
  // edit includes view's rules, admin includes edit's (through aggregate-to-edit/admin labels).
  await waitFor("edit has pods create and view's pods/log", async () => {
    const edit = await client.get("edit");
    return hasResource(edit, "pods", "create") && hasResource(edit, "pods/log", "get");
  });
  await waitFor("admin has rolebindings create", async () =>
    hasResource(await client.get("admin"), "rolebindings", "create"),
  );
  const view = await client.get("view");
  assert.ok(!hasResource(view, "secrets", "get"), "view must not read secrets");

  const review = async () => {
    const r = await env.api.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SubjectAccessReview",
      spec: {
        user: "viewer",
        resourceAttributes: {
          group: "example.com",
          resource: "widgets",
          verb: "list",
          namespace: "default",
        },
      },
    });
    assert.equal(r.status, 201, r.text);
    return (r.json as { status: { allowed: boolean } }).status.allowed;
  };
  await create(env, resourceInfo("rbac.authorization.k8s.io", "v1", "rolebindings"), {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "viewer", namespace: "default" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
    subjects: [{ kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "viewer" }],
  } as KubeObject);
  assert.equal(await review(), false);
  await create(env, roles, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: {
      name: "widgets-view",
      labels: { "rbac.authorization.k8s.io/aggregate-to-view": "true" },
    },
    rules: [
      { apiGroups: ["example.com"], resources: ["widgets"], verbs: ["get", "list", "watch"] },
    ],
  } as KubeObject);
  await waitFor("view picks up widgets", async () =>
    hasResource(await client.get("view"), "widgets", "list"),
  );
  await waitFor("the viewer may list widgets", review);
  await client.delete("widgets-view");
  await waitFor(
    "view drops widgets",
    async () => !hasResource(await client.get("view"), "widgets", "list"),
  );
});

test("kubectl auth can-i answers for admin, edit and view bound in a namespace, once aggregated", async (t) => {
  const env = await startEnv();
  t.after(() => env.stop());
  env.run(new ClusterRoleAggregationController(env.ctx));
  for (const role of ["admin", "edit", "view"])
    await create(env, resourceInfo("rbac.authorization.k8s.io", "v1", "rolebindings"), {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: `${role}s`, namespace: "default" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
      subjects: [{ kind: "User", apiGroup: "rbac.authorization.k8s.io", name: `a-${role}` }],
    } as KubeObject);
  const client = env.client.resource<Role>(roles);
  await waitFor("admin aggregated from edit and view", async () =>
    ((await client.get("admin"))?.rules ?? []).some((r) => r.resources?.includes("pods/log")),
  );
  const run = promisify(execFile);
  const can = async (user: string, args: string[]) => {
    const r = await run(
      "kubectl",
      [
        "--kubeconfig",
        env.api.kubeconfig,
        "auth",
        "can-i",
        ...args,
        "-n",
        "default",
        `--as=${user}`,
      ],
      { timeout: 60_000 },
    ).catch((err: { stdout: string }) => err);
    return r.stdout.trim();
  };
  const table: [string, string[], "yes" | "no"][] = [
    ["a-view", ["list", "pods"], "yes"],
    ["a-view", ["get", "deployments.apps"], "yes"],
    ["a-view", ["get", "pods", "--subresource=log"], "yes"],
    ["a-view", ["get", "secrets"], "no"],
    ["a-view", ["create", "configmaps"], "no"],
    ["a-edit", ["create", "deployments.apps"], "yes"],
    ["a-edit", ["get", "secrets"], "yes"],
    ["a-edit", ["create", "pods", "--subresource=exec"], "yes"],
    ["a-edit", ["create", "rolebindings.rbac.authorization.k8s.io"], "no"],
    ["a-admin", ["create", "rolebindings.rbac.authorization.k8s.io"], "yes"],
    ["a-admin", ["delete", "jobs.batch"], "yes"],
    ["a-admin", ["create", "resourcequotas"], "no"],
    ["a-admin", ["list", "nodes"], "no"],
  ];
  for (const [user, args, answer] of table)
    assert.equal(await can(user, args), answer, `${user}: can-i ${args.join(" ")}`);
});

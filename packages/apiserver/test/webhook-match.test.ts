// Which webhooks a request reaches (webhooks/match.ts) and the dry-run rule for webhooks
// with side effects (webhooks/dispatch.ts), as pure decisions without a server.
import { test } from "node:test";
import assert from "node:assert/strict";
import { findResource } from "@skiff/api";
import {
  namespaceSelectorMatches,
  objectSelectorMatches,
  orderedWebhooks,
  resourceMatches,
  ruleMatches,
  type RequestAttributes,
  type Webhook,
} from "../src/webhooks/match.js";
import { WebhookAdmission, type AdmissionAttributes } from "../src/webhooks/dispatch.js";
import { ApiError } from "../src/errors.js";

const pods = findResource("", "v1", "pods")!;
const nodes = findResource("", "v1", "nodes")!;
const namespaces = findResource("", "v1", "namespaces")!;
const deployments = findResource("apps", "v1", "deployments")!;

const attrs = (over: Partial<RequestAttributes> = {}): RequestAttributes => ({
  info: pods,
  operation: "CREATE",
  namespace: "default",
  name: "p",
  ...over,
});

test("resources entries match resources and subresources as Kubernetes reads them", () => {
  const cases: [string, string, string, boolean][] = [
    ["pods", "pods", "", true],
    ["pods", "pods", "status", false],
    ["pods/status", "pods", "status", true],
    ["pods/status", "pods", "", false],
    ["pods/*", "pods", "status", true],
    ["pods/*", "pods", "", false],
    ["*", "pods", "", true],
    ["*", "pods", "status", false],
    ["*/status", "deployments", "status", true],
    ["*/status", "deployments", "scale", false],
    ["*/*", "pods", "", true],
    ["*/*", "pods", "exec", true],
    ["services", "pods", "", false],
  ];
  for (const [entry, resource, sub, want] of cases)
    assert.equal(resourceMatches(entry, resource, sub), want, `${entry} vs ${resource}/${sub}`);
});

test("rules match on operation, group, version and scope", () => {
  const rule = {
    operations: ["CREATE", "UPDATE"],
    apiGroups: [""],
    apiVersions: ["v1"],
    resources: ["pods", "nodes"],
    scope: "*",
  };
  assert.equal(ruleMatches(rule, attrs()), true);
  assert.equal(ruleMatches(rule, attrs({ operation: "DELETE" })), false);
  assert.equal(ruleMatches(rule, attrs({ info: deployments })), false);
  assert.equal(ruleMatches({ ...rule, operations: ["*"] }, attrs({ operation: "DELETE" })), true);
  assert.equal(ruleMatches({ ...rule, scope: "Namespaced" }, attrs()), true);
  assert.equal(ruleMatches({ ...rule, scope: "Cluster" }, attrs()), false);
  assert.equal(ruleMatches({ ...rule, scope: "Cluster" }, attrs({ info: nodes })), true);
  assert.equal(ruleMatches({ ...rule, scope: "Namespaced" }, attrs({ info: nodes })), false);
  const all = { operations: ["*"], apiGroups: ["*"], apiVersions: ["*"], resources: ["*/*"] };
  assert.equal(ruleMatches(all, attrs({ info: deployments, subresource: "scale" })), true);
});

test("selectors: namespaced objects by their namespace, namespaces by themselves, objects old or new", () => {
  const hook = {
    namespaceSelector: { matchLabels: { team: "a" } },
    objectSelector: { matchExpressions: [{ key: "app", operator: "Exists" }] },
  } as unknown as Webhook;
  assert.equal(namespaceSelectorMatches(hook, attrs(), { namespace: { team: "a" } }), true);
  assert.equal(namespaceSelectorMatches(hook, attrs(), { namespace: { team: "b" } }), false);
  assert.equal(namespaceSelectorMatches(hook, attrs({ info: nodes }), {}), true);
  const ns = attrs({ info: namespaces, namespace: undefined });
  assert.equal(namespaceSelectorMatches(hook, ns, { object: { team: "a" } }), true);
  assert.equal(namespaceSelectorMatches(hook, ns, { object: {} }), false);
  assert.equal(objectSelectorMatches(hook, { app: "x" }, undefined), true);
  assert.equal(objectSelectorMatches(hook, {}, { app: "x" }), true);
  assert.equal(objectSelectorMatches(hook, {}, {}), false);
});

test("configurations are called by name, their webhooks in the order listed", () => {
  const order = orderedWebhooks([
    { metadata: { name: "b" }, webhooks: [{ name: "b2" }, { name: "b1" }] },
    { metadata: { name: "a" }, webhooks: [{ name: "a1" }] },
  ]).map((w) => w.webhook.name);
  assert.deepEqual(order, ["a1", "b2", "b1"]);
});

test("a dry-run request is refused by a matching webhook with side effects, before any call", async () => {
  const admission = new WebhookAdmission({
    mutatingConfigurations: async () => [],
    validatingConfigurations: async () => [
      {
        metadata: { name: "c" },
        webhooks: [
          {
            name: "effects.example.com",
            clientConfig: { url: "https://127.0.0.1:1/" },
            rules: [{ operations: ["*"], apiGroups: ["*"], apiVersions: ["*"], resources: ["*"] }],
            sideEffects: "Unknown",
            admissionReviewVersions: ["v1"],
          },
        ],
      },
    ],
    namespaceLabels: async () => ({}),
    resolveService: async () => {
      throw new Error("unused");
    },
    log: () => {},
  });
  const a: AdmissionAttributes = {
    ...attrs(),
    dryRun: true,
    request: { user: { name: "u", groups: [] }, warnings: [] },
  };
  await assert.rejects(
    admission.validate(a, { metadata: { name: "p" } }, undefined),
    (e: unknown) =>
      e instanceof ApiError &&
      e.code === 400 &&
      e.message === 'admission webhook "effects.example.com" does not support dry run',
  );
});

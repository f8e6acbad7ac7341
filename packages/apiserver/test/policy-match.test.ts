// Which requests a ValidatingAdmissionPolicy's matchConstraints (or a binding's
// matchResources) reach: resourceRules with resourceNames, excludeResourceRules, the
// namespace selector and the object selector (new or old object), as in Kubernetes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { resourceInfo, type MatchResources } from "@skiff/api";
import { matchResources } from "../src/policy/match.js";
import type { RequestAttributes } from "../src/webhooks/match.js";

const deployments = resourceInfo("apps", "v1", "deployments");
const request = (name: string, operation: RequestAttributes["operation"] = "CREATE") => ({
  info: deployments,
  operation,
  namespace: "shop",
  name,
});
const rule = {
  apiGroups: ["apps"],
  apiVersions: ["v1"],
  operations: ["CREATE" as const, "UPDATE" as const],
  resources: ["deployments"],
};
const team = { team: "a" }; // the labels, as admission passes them

test("resourceRules with resourceNames, minus excludeResourceRules", () => {
  const m: MatchResources = {
    resourceRules: [{ ...rule, resourceNames: ["web", "api"] }],
    excludeResourceRules: [{ ...rule, resourceNames: ["api"] }],
  };
  assert.equal(matchResources(m, request("web"), { object: team }), true);
  assert.equal(matchResources(m, request("api"), { object: team }), false, "excluded");
  assert.equal(matchResources(m, request("db"), { object: team }), false, "not named");
  assert.equal(matchResources(m, request("web", "DELETE"), { oldObject: team }), false);
});

test("namespace and object selectors; a delete is judged by the old object", () => {
  const m: MatchResources = {
    resourceRules: [{ ...rule, operations: ["*"] }],
    namespaceSelector: { matchLabels: { env: "prod" } },
    objectSelector: { matchExpressions: [{ key: "team", operator: "In", values: ["a"] }] },
  };
  const prod = { env: "prod" };
  assert.equal(matchResources(m, request("web"), { namespace: prod, object: team }), true);
  assert.equal(
    matchResources(m, request("web"), { namespace: { env: "dev" }, object: team }),
    false,
  );
  assert.equal(
    matchResources(m, request("web"), { namespace: prod, object: { team: "b" } }),
    false,
  );
  assert.equal(
    matchResources(m, request("web", "DELETE"), { namespace: prod, oldObject: team }),
    true,
  );
});

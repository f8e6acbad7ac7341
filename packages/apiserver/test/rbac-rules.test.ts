// Request attributes and RBAC rule matching, without a server: the cases Kubernetes' RBAC
// is known for (subresources, `*/scale`, resourceNames, trailing `*` in URLs, escalation).
import { test } from "node:test";
import assert from "node:assert/strict";
import type { PolicyRule } from "@skiff/api";
import { requestAttributes } from "../src/authz/attributes.js";
import { ruleAllows } from "../src/authz/rbac.js";
import { uncoveredRules } from "../src/authz/escalation.js";

const user = { name: "u", groups: [] };
const at = (method: string, path: string, query = "") =>
  requestAttributes(user, method, path, new URLSearchParams(query));

test("request attributes follow Kubernetes' RequestInfo", () => {
  const pick = (a: ReturnType<typeof at>) =>
    [a.resourceRequest, a.verb, a.apiGroup, a.namespace, a.resource, a.subresource, a.name].join(
      "|",
    );
  assert.equal(pick(at("GET", "/api/v1/namespaces/a/pods")), "true|list||a|pods||");
  assert.equal(pick(at("GET", "/api/v1/pods", "watch=1")), "true|watch|||pods||");
  // The verb is what the handler does: watch=True (the Python client) is a watch, so a user
  // allowed only to list cannot watch by spelling it differently.
  for (const spelling of ["True", "TRUE", "t", "T", ""])
    assert.equal(at("GET", "/api/v1/pods", `watch=${spelling}`).verb, "watch", spelling);
  for (const spelling of ["False", "FALSE", "f", "0"])
    assert.equal(at("GET", "/api/v1/pods", `watch=${spelling}`).verb, "list", spelling);
  assert.equal(pick(at("GET", "/api/v1/namespaces/a/pods/p/log")), "true|get||a|pods|log|p");
  assert.equal(
    pick(at("DELETE", "/apis/apps/v1/namespaces/a/deployments")),
    "true|deletecollection|apps|a|deployments||",
  );
  assert.equal(
    pick(at("PUT", "/api/v1/namespaces/a/finalize")),
    "true|update||a|namespaces|finalize|a",
  );
  assert.equal(pick(at("GET", "/api/v1/namespaces/a")), "true|get||a|namespaces||a");
  assert.equal(pick(at("PATCH", "/api/v1/nodes/n/status")), "true|patch|||nodes|status|n");
  assert.equal(
    pick(at("GET", "/api/v1/nodes", "fieldSelector=metadata.name%3Dn")),
    "true|list|||nodes||n",
  );
  assert.equal(pick(at("GET", "/api/v1/nodes/n/proxy/stats/summary")), "true|get|||nodes|proxy|n");
  assert.equal(pick(at("GET", "/apis/apps/v1")), "false|get|||||");
  assert.equal(at("GET", "/healthz/etcd").path, "/healthz/etcd");
});

test("rules match verbs, groups, resources with subresources, names and URLs as RBAC does", () => {
  const rule = (r: Partial<PolicyRule>): PolicyRule => ({ verbs: ["get"], ...r });
  const allows = (r: Partial<PolicyRule>, method: string, path: string, q = "") =>
    ruleAllows(at(method, path, q), rule(r));
  const pods = { apiGroups: [""], resources: ["pods"] };
  assert.equal(allows(pods, "GET", "/api/v1/namespaces/a/pods/p"), true);
  assert.equal(
    allows(pods, "GET", "/api/v1/namespaces/a/pods/p/log"),
    false,
    "pods does not cover pods/log",
  );
  assert.equal(
    allows({ apiGroups: [""], resources: ["pods/log"] }, "GET", "/api/v1/namespaces/a/pods/p/log"),
    true,
  );
  const scale = { verbs: ["get"], apiGroups: ["*"], resources: ["*/scale"] };
  assert.equal(allows(scale, "GET", "/apis/apps/v1/namespaces/a/deployments/d/scale"), true);
  assert.equal(allows(scale, "GET", "/apis/apps/v1/namespaces/a/deployments/d"), false);
  assert.equal(
    allows({ apiGroups: ["apps"], resources: ["pods"] }, "GET", "/api/v1/namespaces/a/pods/p"),
    false,
  );
  const named = {
    apiGroups: [""],
    resources: ["configmaps"],
    resourceNames: ["c"],
    verbs: ["get", "list"],
  };
  assert.equal(allows(named, "GET", "/api/v1/namespaces/a/configmaps/c"), true);
  assert.equal(allows(named, "GET", "/api/v1/namespaces/a/configmaps/d"), false);
  assert.equal(
    allows(named, "GET", "/api/v1/namespaces/a/configmaps"),
    false,
    "a plain list names nothing",
  );
  assert.equal(
    allows(named, "GET", "/api/v1/namespaces/a/configmaps", "fieldSelector=metadata.name%3Dc"),
    true,
  );
  assert.equal(allows({ verbs: ["*"], ...pods }, "DELETE", "/api/v1/namespaces/a/pods"), true);
  assert.equal(allows({ nonResourceURLs: ["/healthz/*"] }, "GET", "/healthz/etcd"), true);
  assert.equal(allows({ nonResourceURLs: ["/healthz/*"] }, "GET", "/healthz"), false);
  assert.equal(allows({ nonResourceURLs: ["/healthz"] }, "GET", "/healthz"), true);
  assert.equal(allows({ nonResourceURLs: ["*"] }, "GET", "/anything"), true);
  assert.equal(allows({ nonResourceURLs: ["/healthz"] }, "POST", "/healthz"), false);
});

test("escalation: what the user holds must cover every verb, resource and name granted", () => {
  const held: PolicyRule[] = [
    { verbs: ["get", "list"], apiGroups: [""], resources: ["pods", "*/log"] },
    { verbs: ["get"], apiGroups: [""], resources: ["configmaps"], resourceNames: ["a"] },
    { verbs: ["get"], nonResourceURLs: ["/healthz/*"] },
  ];
  assert.deepEqual(
    uncoveredRules(held, [{ verbs: ["get"], apiGroups: [""], resources: ["pods", "pods/log"] }]),
    [],
  );
  assert.equal(
    uncoveredRules(held, [{ verbs: ["delete"], apiGroups: [""], resources: ["pods"] }]).length,
    1,
  );
  assert.deepEqual(
    uncoveredRules(held, [
      { verbs: ["get"], apiGroups: [""], resources: ["configmaps"], resourceNames: ["a"] },
    ]),
    [],
  );
  assert.equal(
    uncoveredRules(held, [{ verbs: ["get"], apiGroups: [""], resources: ["configmaps"] }]).length,
    1,
    "all configmaps is more than configmap a",
  );
  assert.deepEqual(
    uncoveredRules(held, [{ verbs: ["get"], nonResourceURLs: ["/healthz/etcd"] }]),
    [],
  );
  assert.equal(uncoveredRules(held, [{ verbs: ["get"], nonResourceURLs: ["/metrics"] }]).length, 1);
  assert.equal(
    uncoveredRules(held, [{ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }]).length,
    1,
  );
});

// The kubelet API's request attributes: which nodes subresource and verb a path needs.
import assert from "node:assert/strict";
import { test } from "node:test";
import { nodeRequestAttributes } from "../src/auth.js";

test("paths map to nodes subresources and methods to verbs, as Kubernetes' kubelet maps them", () => {
  const table: [string, string, string, string][] = [
    ["GET", "/stats/summary", "get", "stats"],
    ["GET", "/stats", "get", "stats"],
    ["GET", "/metrics/cadvisor", "get", "metrics"],
    ["GET", "/logs/syslog", "get", "log"],
    ["GET", "/spec/", "get", "spec"],
    ["POST", "/checkpoint/ns/pod/c", "create", "checkpoint"],
    ["GET", "/pods", "get", "proxy"],
    ["GET", "/healthz", "get", "proxy"],
    ["GET", "/containerLogs/ns/pod/c", "get", "proxy"],
    ["POST", "/exec/ns/pod/c", "create", "proxy"],
    ["GET", "/statsfoo", "get", "proxy"],
    ["DELETE", "/pods", "delete", "proxy"],
  ];
  for (const [method, path, verb, subresource] of table)
    assert.deepEqual(
      nodeRequestAttributes(method, path),
      { verb, subresource },
      `${method} ${path}`,
    );
});

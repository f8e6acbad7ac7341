// The audit log as the deployments run it: rotated by size (--audit-log-maxsize,
// --audit-log-maxbackup) and with the default policy of deploy/audit-policy.yaml.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startApiserver } from "@skiff/testing";
import { matchRule, parseAuditPolicy, requestAttributes } from "../src/audit.js";

const repoPolicy = new URL("../../../deploy/audit-policy.yaml", import.meta.url).pathname;

test("the audit log is rotated by size, keeping --audit-log-maxbackup files named for their time", async () => {
  const dir = mkdtempSync(join(tmpdir(), "skiff-audit-rotation-"));
  // A directory that does not exist yet: the apiserver makes it.
  const logPath = join(dir, "logs", "audit.log");
  const api = await startApiserver({
    auditPolicyFile: repoPolicy,
    auditLogPath: logPath,
    auditLogMaxSizeMB: 4 / 1024, // 4 KiB: a few dozen Metadata events
    auditLogMaxBackups: 2,
  });
  try {
    for (let i = 0; i < 150; i++) {
      const r = await api.request("GET", "/api/v1/namespaces/default/configmaps");
      assert.equal(r.status, 200);
    }
    await new Promise((r) => setTimeout(r, 300)); // the stream's last writes and renames
    const files = readdirSync(join(dir, "logs")).filter((f) => !f.startsWith("."));
    const rotated = files.filter((f) => f !== "audit.log");
    assert.ok(files.includes("audit.log"), files.join(" "));
    assert.equal(rotated.length, 2, files.join(" "));
    for (const f of rotated) {
      assert.match(f, /^audit-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}(-\d+)?\.log$/);
      const path = join(dir, "logs", f);
      assert.ok(statSync(path).size <= 4096 + 2048, `${f}: ${statSync(path).size} bytes`);
      for (const line of readFileSync(path, "utf8").trim().split("\n")) {
        const ev = JSON.parse(line) as { kind: string; level: string; stage: string };
        assert.deepEqual([ev.kind, ev.level, ev.stage], ["Event", "Metadata", "ResponseComplete"]);
      }
    }
  } finally {
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the deployments' default policy: Metadata for most, None for events, leases and health", () => {
  const policy = parseAuditPolicy(readFileSync(repoPolicy, "utf8"), repoPolicy);
  assert.deepEqual(policy.omitStages, ["RequestReceived"]);
  const level = (method: string, path: string, user = "alice") =>
    matchRule(
      policy,
      { name: user, groups: ["system:authenticated"] },
      requestAttributes(method, path, path.split("/").filter(Boolean), new URLSearchParams()),
    )?.level;
  assert.equal(level("POST", "/api/v1/namespaces/default/events"), "None");
  assert.equal(
    level("PUT", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node1"),
    "None",
  );
  for (const p of ["/healthz", "/livez", "/readyz", "/readyz/etcd", "/version", "/metrics"])
    assert.equal(level("GET", p), "None", p);
  assert.equal(level("GET", "/api/v1/namespaces/default/secrets/s"), "Metadata");
  assert.equal(
    level("POST", "/api/v1/namespaces/default/serviceaccounts/default/token"),
    "Metadata",
  );
  assert.equal(level("DELETE", "/api/v1/namespaces/demo"), "Metadata");
  assert.equal(level("GET", "/apis"), "Metadata");
});

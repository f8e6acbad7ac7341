// Pod readiness gates on a real kubelet: a running pod whose gate's condition is missing is not
// Ready; once another party sets that condition True through pods/status (here the real
// kubectl), the kubelet reports Ready and keeps the condition in the status it writes.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { IMAGE, useRunningKubelet, type Pod } from "./harness.js";

const condition = (p: Pod, type: string) =>
  (p.status?.conditions ?? []).find((c: Pod) => c.type === type);

describe("readiness gates", { timeout: 300_000 }, () => {
  const harness = useRunningKubelet();

  test("a gated pod becomes Ready only when its gate's condition is True, and the condition stays", async () => {
    const h = harness();
    await h.createPod("gated", {
      readinessGates: [{ conditionType: "example.com/load-balancer" }],
      containers: [{ name: "app", image: IMAGE, command: ["sleep", "3600"] }],
    });
    const held = await h.waitPod(
      "gated",
      (p) => p.status?.phase === "Running" && condition(p, "ContainersReady")?.status === "True",
    );
    assert.deepEqual(
      [condition(held, "Ready")?.status, condition(held, "Ready")?.reason],
      ["False", "ReadinessGatesNotReady"],
    );
    assert.match(
      (await h.kubectl(["get", "pod", "gated", "-o", "wide"])).stdout,
      /READINESS GATES\n.*\s0\/1\s*$/m,
    );

    const patched = await h.kubectl([
      "patch",
      "pod",
      "gated",
      "--subresource=status",
      "--type=json",
      "-p",
      '[{"op":"add","path":"/status/conditions/-","value":{"type":"example.com/load-balancer","status":"True"}}]',
    ]);
    assert.equal(patched.code, 0, patched.stderr);
    const ready = await h.waitPod("gated", (p) => condition(p, "Ready")?.status === "True", 30_000);
    assert.equal(condition(ready, "example.com/load-balancer")?.status, "True");
    assert.match((await h.kubectl(["get", "pod", "gated", "-o", "wide"])).stdout, /\s1\/1\s*$/m);
  });
});

// The pod's securityContext reaches its containers: runAsUser and runAsGroup apply where a
// container sets none (a container's own win), fsGroup and supplementalGroups are added to
// every container's groups — the example of Kubernetes' "Configure a Security Context for a
// Pod or Container" page, seen with `kubectl exec ... id`. Real apiserver, real Docker engine,
// the real kubectl.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { IMAGE, useRunningKubelet } from "./harness.js";

describe("the pod's securityContext", { timeout: 300_000 }, () => {
  const harness = useRunningKubelet();

  test("runAsUser, runAsGroup, fsGroup and supplementalGroups of the pod apply to its containers, a container's own user wins", async () => {
    const h = harness();
    await h.createPod("security-context-demo", {
      securityContext: {
        runAsUser: 1000,
        runAsGroup: 3000,
        fsGroup: 2000,
        supplementalGroups: [4000],
      },
      containers: [
        { name: "sec-ctx-demo", image: IMAGE, command: ["sleep", "3600"] },
        {
          name: "own-user",
          image: IMAGE,
          command: ["sleep", "3600"],
          securityContext: { runAsUser: 2000 },
        },
      ],
    });
    await h.waitPod("security-context-demo", (p) => p.status?.phase === "Running");
    const id = async (container: string, flag: string) => {
      const r = await h.kubectl([
        "exec",
        "security-context-demo",
        "-c",
        container,
        "--",
        "id",
        flag,
      ]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim();
    };
    assert.equal(await id("sec-ctx-demo", "-u"), "1000");
    assert.equal(await id("sec-ctx-demo", "-g"), "3000");
    assert.deepEqual((await id("sec-ctx-demo", "-G")).split(" ").sort(), ["2000", "3000", "4000"]);
    assert.equal(await id("own-user", "-u"), "2000");
    assert.equal(await id("own-user", "-g"), "3000", "the pod's runAsGroup still applies");
  });

  test("a pod without a securityContext runs as the image's user with its groups", async () => {
    const h = harness();
    await h.runningPod("plain", ["sleep", "3600"]);
    const r = await h.kubectl(["exec", "plain", "--", "id", "-u"]);
    assert.equal(r.stdout.trim(), "0", r.stderr);
    const groups = await h.kubectl(["exec", "plain", "--", "id", "-G"]);
    assert.doesNotMatch(groups.stdout, /\b(2000|3000|4000)\b/);
  });
});

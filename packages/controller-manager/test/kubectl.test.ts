import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { simulateKubelet, startCluster } from "./helpers.js";

const run = promisify(execFile);

test("the real kubectl rolls a deployment out, back (rollout undo) and deletes it", async () => {
  const c = await startCluster(["replicaset", "deployment", "garbagecollector"]);
  const stopKubelet = simulateKubelet(c, "default");
  // Asynchronous on purpose: the apiserver runs in this process.
  const kubectl = async (...args: string[]) =>
    (await run("kubectl", ["--kubeconfig", c.api.kubeconfig, ...args], { timeout: 60_000 })).stdout;
  try {
    await kubectl("create", "deployment", "web", "--image=nginx:1.27", "--replicas=3");
    assert.match(
      await kubectl("rollout", "status", "deployment/web", "--timeout=40s"),
      /successfully rolled out/,
    );
    await kubectl("set", "image", "deployment/web", "nginx=nginx:1.28");
    assert.match(
      await kubectl("rollout", "status", "deployment/web", "--timeout=40s"),
      /successfully rolled out/,
    );
    assert.match(await kubectl("rollout", "history", "deployment/web"), /1 .*\n2 /);
    await kubectl("rollout", "undo", "deployment/web");
    assert.match(
      await kubectl("rollout", "status", "deployment/web", "--timeout=40s"),
      /successfully rolled out/,
    );
    const rs = await kubectl(
      "get",
      "rs",
      "--no-headers",
      "-o",
      "custom-columns=REV:.metadata.annotations.deployment\\.kubernetes\\.io/revision,DESIRED:.spec.replicas",
    );
    assert.deepEqual(
      rs
        .trim()
        .split("\n")
        .map((l) => l.trim().split(/\s+/).join(" "))
        .sort(),
      ["2 0", "3 3"],
    );
    const image = await kubectl(
      "get",
      "deploy",
      "web",
      "-o",
      "jsonpath={.spec.template.spec.containers[0].image}",
    );
    assert.equal(image, "nginx:1.27");
    await kubectl("delete", "deployment", "web");
    let left = "";
    for (let i = 0; i < 100; i++) {
      left = await kubectl("get", "rs,pods", "-o", "name");
      if (left.trim() === "") break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(left.trim(), "");
  } finally {
    await stopKubelet();
    await c.stop();
  }
});
